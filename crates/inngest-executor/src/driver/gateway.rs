//! `AIGateway`: the executor performs the inference request and memoizes the JSON answer.

use serde_json::{json, Value};

use crate::core::Core;
use crate::entity::queue_item;
use crate::error::Result;
use crate::feed::Effects;
use crate::store::from_text;
use crate::store::queue::{self};
use crate::store::runs::{self, step_status};

impl Core {
    /// Performs an `AIGateway` request and memoizes the JSON answer (retried like a step).
    pub(super) async fn gateway(&self, item: &queue_item::Model, token: &str) -> Result<()> {
        let opts = from_text(&item.payload)["opts"].clone();
        let outcome = ai_request(&self.http, &opts).await;
        let Some((txn, run)) = self.begin_held(item, token).await? else {
            return Ok(());
        };
        let mut fx = Effects::default();
        let now = self.now();
        let run_id = item.run_id.clone().unwrap_or_default();
        let Some(run) = run else {
            queue::delete(&txn, &item.id).await?;
            return self.commit(txn, fx).await;
        };
        match outcome {
            Ok(answer) => {
                self.resume_step(
                    &txn,
                    &run_id,
                    &item.step_id,
                    json!({ "data": answer }),
                    false,
                    &mut fx,
                )
                .await?
            }
            Err(message) if item.attempt + 1 < run.max_attempts => {
                let error = json!({"name": "AIGatewayError", "message": message});
                runs::set_step_status(
                    &txn,
                    &run_id,
                    &item.step_id,
                    step_status::RETRYING,
                    Some(&error),
                    Some(item.attempt + 1),
                )
                .await?;
                queue::reschedule(
                    &txn,
                    &item.id,
                    item.attempt + 1,
                    now + self.backoff_ms(item.attempt),
                )
                .await?;
                return self.commit(txn, fx).await;
            }
            Err(message) => {
                let error = json!({"name": "AIGatewayError", "message": message});
                self.resume_step(
                    &txn,
                    &run_id,
                    &item.step_id,
                    json!({ "error": error }),
                    true,
                    &mut fx,
                )
                .await?;
            }
        }
        queue::delete(&txn, &item.id).await?;
        self.commit(txn, fx).await
    }
}

/// POSTs an `AIGateway` request: `opts.body` to `opts.url` with `Authorization: Bearer
/// opts.auth_key` and `opts.headers`.
pub(super) async fn ai_request(http: &reqwest::Client, opts: &Value) -> Result<Value, String> {
    let url = opts["url"].as_str().ok_or("AIGateway op without `url`")?;
    let mut request = http.post(url).json(&opts["body"]);
    if let Some(key) = opts["auth_key"].as_str().filter(|k| !k.is_empty()) {
        request = request.bearer_auth(key);
    }
    if let Some(headers) = opts["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                request = request.header(name, value);
            }
        }
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url} did not answer JSON: {e}"))
}
