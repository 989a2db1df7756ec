//! Slack incoming webhooks: a message (fallback text plus Block Kit blocks) posted as JSON to
//! the webhook URL. The URL is the credential, so it is kept as a [`Secret`] and never logged.

use serde::Serialize;
use serde_json::Value;

use crate::config::ConfigError;
use crate::integrations::Secret;

/// `ORDER_OPS_SLACK_WEBHOOK_URL`: where failed orders are reported.
pub const ORDER_OPS_SLACK_WEBHOOK_URL: &str = "ORDER_OPS_SLACK_WEBHOOK_URL";

/// Reads a webhook URL variable through `get`: unset is `None`; anything but an http(s) URL is
/// refused without echoing the value.
pub fn webhook_url_from_lookup(
    get: impl Fn(&str) -> Option<String>,
    key: &'static str,
) -> Result<Option<Secret>, ConfigError> {
    let Some(value) = get(key) else {
        return Ok(None);
    };
    match url::Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(Some(Secret::new(value.trim())))
        }
        _ => Err(ConfigError::Invalid {
            key,
            value: "[redacted]".to_owned(),
            reason: "expected an https:// Slack incoming-webhook URL",
        }),
    }
}

/// Why a message was not posted. Never carries the webhook URL.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack answered HTTP {status}")]
    Rejected { status: u16 },
    #[error("Slack could not be reached: {0}")]
    Transport(#[source] reqwest::Error),
}

/// A message: `text` is the notification and fallback, `blocks` the rich layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlackMessage {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// One incoming webhook. Cheap to clone.
#[derive(Clone)]
pub struct SlackWebhook {
    http: reqwest::Client,
    url: Secret,
}

impl std::fmt::Debug for SlackWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackWebhook").finish_non_exhaustive()
    }
}

impl SlackWebhook {
    pub fn new(http: reqwest::Client, url: Secret) -> Self {
        Self { http, url }
    }

    /// Posts `message`.
    pub async fn post(&self, message: &SlackMessage) -> Result<(), SlackError> {
        let response = self
            .http
            .post(self.url.expose())
            .json(message)
            .send()
            .await
            .map_err(|e| SlackError::Transport(e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SlackError::Rejected {
                status: status.as_u16(),
            })
        }
    }
}

/// A `mrkdwn` section block.
pub fn section(text: impl Into<String>) -> Value {
    serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": text.into()}})
}

/// A context block of one `mrkdwn` element.
pub fn context(text: impl Into<String>) -> Value {
    serde_json::json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text.into()}]})
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Option<Secret>, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        webhook_url_from_lookup(
            |key| vars.get(key).map(|v| v.to_string()),
            ORDER_OPS_SLACK_WEBHOOK_URL,
        )
    }

    #[test]
    fn reads_a_webhook_url_and_never_echoes_a_bad_one() {
        assert_eq!(read(&[]).unwrap(), None);
        let url = read(&[(
            ORDER_OPS_SLACK_WEBHOOK_URL,
            "https://hooks.slack.com/services/T/B/x",
        )])
        .unwrap()
        .expect("set");
        assert_eq!(url.expose(), "https://hooks.slack.com/services/T/B/x");
        let error = read(&[(ORDER_OPS_SLACK_WEBHOOK_URL, "hooks.slack.com/secret-token")])
            .expect_err("not a URL");
        assert!(!error.to_string().contains("secret-token"));
    }

    #[test]
    fn blocks_have_slacks_shape() {
        assert_eq!(section("*hi*")["text"]["type"], "mrkdwn");
        assert_eq!(context("src")["elements"][0]["text"], "src");
    }
}
