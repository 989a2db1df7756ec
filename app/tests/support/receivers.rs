//! Local stand-ins for the outside services fulfilment calls — Resend's `POST /emails`, Google's
//! token endpoint and Sheets `values:append`, a Slack incoming webhook — each recording every
//! request it gets, so tests can assert on what the store sent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use swag_store::config::Settings;
use swag_store::integrations::Secret;

/// The stand-in email API key.
pub const EMAIL_API_KEY: &str = "re_test_key";
/// The sender the tests configure.
pub const EMAIL_FROM: &str = "Swag Store <orders@swag.test>";
/// The access token the stand-in token endpoint hands out.
pub const SHEETS_TOKEN: &str = "ya29.test-token";
/// The sheet the tests configure.
pub const SHEET_ID: &str = "sheet-test-1";

/// A throwaway RSA key made for these tests only; it signs the service-account JWT that the
/// stand-in token endpoint accepts without checking.
pub const TEST_SERVICE_ACCOUNT_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCrBPRoFUFKDc0i
4UA5+0SEgoAOUa6KYMWRNEog1iAzSOY4aYf20hH6toYFkWQcp1oP7ZhS2YahuQTj
AXLc/NksrXmHOTobkN51RwL1M/L5xMW/w/hNUJu3shT+ukiI8v4gS04E6c8loJe+
5wL4uQbTva3xGzmg1tfqG4N5Ol+OMeHXisGyCi7C20Jdxj5i3hU+xvFTGGz/POYj
ZEjZ1r5Fj+6ukRr1fHGYdQPF1wggdgg3Dk4KPpxZsZxk7JxD3jqYkYYqmsHkQoV8
TjuWvaj18Wknw0BFGgihaXe1PQ0ysZIms7NyXa+C6UBwGAmfR4hWhrS+x57R36vq
zSgAUhgXAgMBAAECggEACLLkUaT/IKqqDAOkFi7rMchHhjLua1h3xCaCPMBXe/RR
zX3Eri/KPVPqZj8adgCnKpc9v70TxYcZMgjBVG9CBq0+OLwW8g8A2btGcb12NvEk
09e+egRHH2Vd/wTvqpOdjHv4GHTiFfpgrZOniYozyDJmNhTZ7g3vhpdmrRRkhuF6
X51EIQFDANJh25mkBdf6BuyijmxyfkRqd9UyG7X+gx1EAyuc6EL8z6XFQehFelzW
8eH1pObWavnCktbX7bgIfXmrHnftuxJSXFIafLc5eEmLZoFkdsYW4FXU77sKJvFS
5KdM5fjugJF0JsxJV/wLzOFi+DHtIIEzbhHtLG5yYQKBgQDRWXvLein++knn7xvf
SlIeRNjV20itKtCCPn/QSgd5PXCFgwBuJM73x0Wv+bjx0JQEdBNqKKbTAxtdmB4r
N9uuwtHsu20MgDXRzOfNefzEaLQyE5KQKwzqE+2ixgDHro8enASYiYLslPPO6+4t
csDcvJ99IeCrWcXI/OC/GMLnYQKBgQDRIOTb2zrEYKvfXieKLgLkvqtfd21hPSRW
W+Ai8PLsoYpDUIhp28hjJuIT46dBABsM9cm9Ekh4S1KViJ4nlitPFqrbbhmIxbEg
r7XGeu1/QbWAff4oizTPuinBE/IiRKBBjJbLjuag3tVTZJEQLrkkVJSOxTCS5z0G
lJUJEubKdwKBgQChGGnRr2Unp3Q9vNrG3YsJbdMp5b8sOhkPUIbMQlsz6Zpvstoe
58Y4FyjB/LlbozRzpNrXwwZ0tBxXzlnQygALoDEoKSYGC5bepf3uOSPQA/491p/e
vrIGYmVn71PkVKgfVtGWi6Kq6QggP58dbAOLGL7l7K7VTJSNUEKl6qj4oQKBgQDL
mTa2RQ1FusgZwtTD1l/Cy06UtvSqQphp6zCfU+1tKygsuO7WAL9qqKRZsL1Yrv2m
9HPfuzkKxGo2Yrd22uB3Mx5MWzhIzA7SP7686VjnF9XYrtEOL9jOk/OqofyOGDnd
Fz6IFyu5WrhdY/9GvfZJxH6NMLVFkBL9oRInr1s5qQKBgQC4YXy71VV4H+DfAQFB
4RXtTjbk+0BB+++YkYrbGtsqOLsRK4YWQyWI54yXzuiQ81wjFPXif8pIxqHkDICU
0RcyYFXgWg97/rzY0CAl6Eb75LLfoSjihUBt19QELLlxe2XwmTe59XM03SMWpE1e
0B/q/yzK0w8C9ZhXKOqw0murEw==
-----END PRIVATE KEY-----
";

/// One request a stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Inner {
    requests: Mutex<Vec<Recorded>>,
    appended_rows: AtomicUsize,
}

/// The stand-ins, on one local port.
#[derive(Clone)]
pub struct Receivers {
    pub base_url: String,
    inner: Arc<Inner>,
}

impl Receivers {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let handler_state = inner.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let inner = handler_state.clone();
                async move { respond(&inner, method, uri, headers, body) }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receivers");
        let address = listener.local_addr().expect("receivers address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base_url: format!("http://{address}"),
            inner,
        }
    }

    /// Points email, the orders sheet and ops alerts at these stand-ins.
    pub fn configure(&self, settings: &mut Settings) {
        settings.email.api_key = Some(Secret::new(EMAIL_API_KEY));
        settings.email.api_base = self.base_url.clone();
        settings.email.from = Some(EMAIL_FROM.to_owned());
        let key = json!({
            "type": "service_account",
            "project_id": "swag-test",
            "private_key_id": "test",
            "private_key": TEST_SERVICE_ACCOUNT_KEY,
            "client_email": "orders-bot@swag-test.iam.gserviceaccount.com",
            "client_id": "1",
            "auth_uri": format!("{}/auth", self.base_url),
            "token_uri": format!("{}/token", self.base_url),
        });
        settings.sheets.service_account_json = Some(Secret::new(key.to_string()));
        settings.sheets.orders_sheet_id = Some(SHEET_ID.to_owned());
        settings.sheets.orders_sheet_name = "Orders".to_owned();
        settings.sheets.api_base = format!("{}/", self.base_url);
        settings.order_ops_slack_webhook = Some(Secret::new(format!(
            "{}/slack/T000/B000/test",
            self.base_url
        )));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn matching(&self, predicate: impl Fn(&Recorded) -> bool) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| predicate(r))
            .collect()
    }

    /// Emails sent (`POST /emails`).
    pub fn emails(&self) -> Vec<Recorded> {
        self.matching(|r| r.method == Method::POST && r.path == "/emails")
    }

    /// Rows appended to the orders sheet.
    pub fn sheet_appends(&self) -> Vec<Recorded> {
        self.matching(|r| r.method == Method::POST && r.path.ends_with(":append"))
    }

    /// Access-token requests.
    pub fn token_requests(&self) -> Vec<Recorded> {
        self.matching(|r| r.path == "/token")
    }

    /// Slack messages.
    pub fn slack_messages(&self) -> Vec<Recorded> {
        self.matching(|r| r.method == Method::POST && r.path.starts_with("/slack/"))
    }
}

fn respond(inner: &Inner, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let recorded = Recorded {
        method,
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
    };
    let count = {
        let mut requests = inner.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests.push(recorded);
        requests.len()
    };
    if path == "/emails" {
        Json(json!({ "id": format!("email_{count}") })).into_response()
    } else if path == "/token" {
        Json(json!({ "access_token": SHEETS_TOKEN, "token_type": "Bearer", "expires_in": 3600 }))
            .into_response()
    } else if path.starts_with("/v4/spreadsheets/") && path.ends_with(":append") {
        let row = inner.appended_rows.fetch_add(1, Ordering::SeqCst) + 2;
        Json(json!({
            "spreadsheetId": SHEET_ID,
            "tableRange": "Orders!A1:R1",
            "updates": {
                "spreadsheetId": SHEET_ID,
                "updatedRange": format!("Orders!A{row}:R{row}"),
                "updatedRows": 1,
                "updatedColumns": 18,
                "updatedCells": 18
            }
        }))
        .into_response()
    } else if path.starts_with("/slack/") {
        (StatusCode::OK, "ok").into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
