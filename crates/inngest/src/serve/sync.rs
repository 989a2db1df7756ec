//! PUT: sync. In-band (signed request, signed reply with the app config) or out-of-band
//! (POST `{api}/fn/register` with the hashed signing key, fallback key on 401).

use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::introspection::{authenticated_body, capabilities};
use super::{serve_url, set, Query, ServeHandler, ServeRequest, ServeResponse};
use crate::client::{SDK_HEADER, SDK_LANGUAGE, SDK_VERSION};

#[derive(Deserialize)]
struct InBandRequest {
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct RegisterReply {
    #[serde(default)]
    modified: bool,
    #[serde(default)]
    error: Option<String>,
}

pub(super) async fn handle(
    handler: &ServeHandler,
    request: &ServeRequest,
    query: &Query,
) -> ServeResponse {
    let wants_in_band = request
        .headers
        .get("x-inngest-sync-kind")
        .and_then(|v| v.to_str().ok())
        == Some("in_band");
    if wants_in_band && handler.client().config().allow_in_band_sync {
        return in_band(handler, request);
    }
    let mut response = out_of_band(handler, request, query).await;
    set(&mut response.headers, "x-inngest-sync-kind", "out_of_band");
    response
}

fn in_band(handler: &ServeHandler, request: &ServeRequest) -> ServeResponse {
    let key = match handler.authenticate(request) {
        Ok(key) => key,
        Err(failure) => return handler.refuse(failure),
    };
    let url = serde_json::from_slice::<InBandRequest>(&request.body)
        .ok()
        .and_then(|r| r.url)
        .filter(|u| u.contains("://"))
        .unwrap_or_else(|| serve_url(handler, request));
    let config = handler.client().config();
    let mut body = json!({
        "app_id": config.app_id,
        "env": config.env,
        "framework": handler.framework.unwrap_or(""),
        "functions": handler.function_configs(&url),
        "inspection": authenticated_body(handler),
        "platform": Value::Null,
        "sdk_author": "inngest-rs-community",
        "sdk_language": SDK_LANGUAGE,
        "sdk_version": SDK_VERSION,
        "url": url,
        "capabilities": capabilities(),
    });
    if let (Some(version), Value::Object(map)) = (&config.app_version, &mut body) {
        map.insert("appVersion".into(), json!(version));
    }
    tracing::info!(functions = handler.inner.functions.len(), "in-band sync");
    let mut response = handler.reply(StatusCode::OK, &body, None);
    set(&mut response.headers, "x-inngest-sync-kind", "in_band");
    handler.sign(&mut response, key.as_ref());
    response
}

async fn out_of_band(
    handler: &ServeHandler,
    request: &ServeRequest,
    query: &Query,
) -> ServeResponse {
    let client = handler.client();
    let config = client.config();
    let url = serve_url(handler, request);
    let mut payload = json!({
        "url": url,
        "deployType": "ping",
        "appName": config.app_id,
        "sdk": SDK_HEADER,
        "v": "0.1",
        "functions": handler.function_configs(&url),
        "capabilities": capabilities(),
    });
    if let Value::Object(map) = &mut payload {
        if let Some(framework) = handler.framework {
            map.insert("framework".into(), json!(framework));
        }
        if let Some(version) = &config.app_version {
            map.insert("appVersion".into(), json!(version));
        }
    }
    let mut register_url = format!("{}/fn/register", config.api_origin);
    if let Some(deploy_id) = query.get("deployId") {
        let encoded: String = url::form_urlencoded::byte_serialize(deploy_id.as_bytes()).collect();
        register_url.push_str(&format!("?deployId={encoded}"));
    }
    let server_kind = request
        .headers
        .get("x-inngest-server-kind")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if config.signing_key.is_none() && !config.mode.is_dev() {
        return failure(
            handler,
            "no signing key configured: set INNGEST_SIGNING_KEY to sync with Inngest Cloud".into(),
        );
    }
    let body = match serde_json::to_vec(&payload) {
        Ok(body) => body,
        Err(e) => {
            return failure(
                handler,
                format!("sync payload could not be serialized: {e}"),
            )
        }
    };
    let keys: Vec<Option<String>> = match (&config.signing_key, &config.signing_key_fallback) {
        (Some(primary), Some(fallback)) => vec![Some(primary.hashed()), Some(fallback.hashed())],
        (Some(primary), None) => vec![Some(primary.hashed())],
        (None, _) => vec![None],
    };
    let mut last_error = String::new();
    for bearer in keys {
        let mut post = client
            .http()
            .post(&register_url)
            .header("content-type", "application/json")
            .header("x-inngest-sdk", SDK_HEADER)
            .header("x-inngest-sync-kind", "out_of_band")
            .body(body.clone());
        if let Some(bearer) = &bearer {
            post = post.bearer_auth(bearer);
        }
        if let Some(env) = &config.env {
            post = post.header("x-inngest-env", env);
        }
        if let Some(kind) = &server_kind {
            post = post.header("x-inngest-expected-server-kind", kind);
        }
        let response = match post.send().await {
            Ok(response) => response,
            Err(e) => return failure(handler, format!("could not reach {register_url}: {e}")),
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let reply: RegisterReply = serde_json::from_str(&text).unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            last_error = reply.error.unwrap_or_else(|| "unauthorized".into());
            continue;
        }
        if status.is_success() {
            tracing::info!(modified = reply.modified, "synced with Inngest");
            return handler.reply(
                StatusCode::OK,
                &json!({"message": "Successfully registered", "modified": reply.modified}),
                None,
            );
        }
        let message = reply
            .error
            .unwrap_or_else(|| format!("register returned {status}: {text}"));
        return failure(handler, message);
    }
    failure(
        handler,
        format!("register refused the signing key: {last_error}"),
    )
}

fn failure(handler: &ServeHandler, message: String) -> ServeResponse {
    tracing::warn!(%message, "sync failed");
    handler.reply(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"message": message, "modified": false}),
        None,
    )
}
