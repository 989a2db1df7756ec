//! Transactional email through Resend's HTTP API (`POST {base}/emails` with a bearer key), and
//! the order confirmation it sends. The base URL is a setting so tests can use a local stand-in.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::integrations::Secret;

/// Resend's API unless `RESEND_API_BASE` says otherwise.
pub const DEFAULT_RESEND_API_BASE: &str = "https://api.resend.com";

/// `RESEND_API_KEY`, `RESEND_API_BASE` and `ORDER_EMAIL_FROM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub api_key: Option<Secret>,
    /// Without a trailing slash.
    pub api_base: String,
    /// The sender, e.g. `Inngest Swag <orders@swag.example.com>`.
    pub from: Option<String>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            api_base: DEFAULT_RESEND_API_BASE.to_owned(),
            from: None,
        }
    }
}

impl EmailSettings {
    /// Reads the email variables through `get` (which treats empty values as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let api_base = match get("RESEND_API_BASE") {
            Some(value) => http_base_url("RESEND_API_BASE", value)?,
            None => DEFAULT_RESEND_API_BASE.to_owned(),
        };
        Ok(Self {
            api_key: get("RESEND_API_KEY").map(|key| Secret::new(key.trim())),
            api_base,
            from: get("ORDER_EMAIL_FROM").map(|from| from.trim().to_owned()),
        })
    }
}

/// Checks that `value` is an http(s) URL and drops any trailing slash.
pub(crate) fn http_base_url(key: &'static str, value: String) -> Result<String, ConfigError> {
    match url::Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
            Ok(value.trim().trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::Invalid {
            key,
            value,
            reason: "expected an http(s) URL",
        }),
    }
}

/// Why an email was not sent. Messages never carry the recipient or the key.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error("the email API answered HTTP {status}")]
    Rejected { status: u16 },
    #[error("the email API could not be reached: {0}")]
    Transport(#[source] reqwest::Error),
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// What the API said about a sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentEmail {
    /// The provider's message id, when it returned one.
    pub id: Option<String>,
}

#[derive(Serialize)]
struct SendRequest<'a> {
    from: &'a str,
    to: [&'a str; 1],
    subject: &'a str,
    html: &'a str,
    text: &'a str,
}

/// A Resend client. Cheap to clone.
#[derive(Clone)]
pub struct EmailClient {
    http: reqwest::Client,
    base_url: String,
    api_key: Secret,
    from: String,
}

impl std::fmt::Debug for EmailClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl EmailClient {
    /// A client, or why email is off (which settings are missing).
    pub fn from_settings(settings: &EmailSettings, http: reqwest::Client) -> Result<Self, String> {
        match (&settings.api_key, &settings.from) {
            (Some(api_key), Some(from)) => Ok(Self {
                http,
                base_url: settings.api_base.clone(),
                api_key: api_key.clone(),
                from: from.clone(),
            }),
            (None, None) => Err("RESEND_API_KEY and ORDER_EMAIL_FROM are not set".to_owned()),
            (None, Some(_)) => Err("RESEND_API_KEY is not set".to_owned()),
            (Some(_), None) => Err("ORDER_EMAIL_FROM is not set".to_owned()),
        }
    }

    /// Sends `email`. The same `idempotency_key` within a day sends at most once, so a retried
    /// step does not email the customer twice.
    pub async fn send(
        &self,
        email: &Email,
        idempotency_key: &str,
    ) -> Result<SentEmail, EmailError> {
        let response = self
            .http
            .post(format!("{}/emails", self.base_url))
            .bearer_auth(self.api_key.expose())
            .header("Idempotency-Key", idempotency_key)
            .json(&SendRequest {
                from: &self.from,
                to: [&email.to],
                subject: &email.subject,
                html: &email.html,
                text: &email.text,
            })
            .send()
            .await
            .map_err(EmailError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            // The body is not read: error bodies can echo the recipient.
            return Err(EmailError::Rejected {
                status: status.as_u16(),
            });
        }
        // A success without a readable id is still a sent email.
        let id = response
            .json::<SentEmail>()
            .await
            .ok()
            .and_then(|sent| sent.id);
        Ok(SentEmail { id })
    }
}

/// One line of a confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationLine {
    pub name: String,
    pub quantity: i64,
}

/// The order confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderConfirmation {
    pub order_id: String,
    pub lines: Vec<ConfirmationLine>,
    pub total_cents: i64,
    pub currency: String,
    /// The order's page, e.g. `https://swag.example.com/orders/ord_k3x9a0zq`.
    pub order_url: String,
}

impl OrderConfirmation {
    /// The message to `to`.
    pub fn to_email(&self, to: &str) -> Email {
        let total = format_amount(self.total_cents, &self.currency);
        let mut rows = String::new();
        let mut text_lines = String::new();
        for line in &self.lines {
            let _ = write!(
                rows,
                "<tr><td style=\"padding:6px 0;border-bottom:1px solid #e5e5e5\">{}</td>\
                 <td style=\"padding:6px 0;border-bottom:1px solid #e5e5e5;text-align:right\">× {}</td></tr>",
                escape_html(&line.name),
                line.quantity
            );
            let _ = writeln!(text_lines, "- {} × {}", line.name, line.quantity);
        }
        let order_id = escape_html(&self.order_id);
        let order_url = escape_html(&self.order_url);
        let html = format!(
            "<!doctype html><html><body style=\"margin:0;padding:32px 16px;background:#fafafa;color:#111\">\
             <div style=\"max-width:520px;margin:0 auto;font-family:ui-monospace,Menlo,monospace;font-size:14px;line-height:1.6\">\
             <p style=\"text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:#666\">Inngest Swag</p>\
             <h1 style=\"font-size:18px;font-weight:600;margin:8px 0 24px\">Order confirmed.</h1>\
             <p>Order <strong>{order_id}</strong> is in the queue. We'll let you know when it ships.</p>\
             <table style=\"width:100%;border-collapse:collapse;margin:24px 0\">{rows}\
             <tr><td style=\"padding:10px 0;font-weight:600\">Total</td>\
             <td style=\"padding:10px 0;font-weight:600;text-align:right\">{total}</td></tr></table>\
             <p><a href=\"{order_url}\" style=\"color:#111\">Track your order →</a></p>\
             </div></body></html>"
        );
        let text = format!(
            "Order confirmed.\n\nOrder {} is in the queue. We'll let you know when it ships.\n\n\
             {text_lines}Total: {total}\n\nTrack your order: {}\n",
            self.order_id, self.order_url
        );
        Email {
            to: to.to_owned(),
            subject: format!("Order confirmed — {}", self.order_id),
            html,
            text,
        }
    }
}

/// `$12.34` for USD, `12.34 EUR` otherwise.
fn format_amount(cents: i64, currency: &str) -> String {
    let cents = cents.max(0);
    let amount = format!("{}.{:02}", cents / 100, cents % 100);
    if currency.eq_ignore_ascii_case("usd") {
        format!("${amount}")
    } else {
        format!("{amount} {}", currency.to_ascii_uppercase())
    }
}

fn escape_html(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<EmailSettings, ConfigError> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        EmailSettings::from_lookup(|key| vars.get(key).map(|v| v.to_string()))
    }

    #[test]
    fn reads_the_settings_and_says_what_is_missing() {
        let off = settings(&[]).unwrap();
        assert_eq!(off, EmailSettings::default());
        let http = reqwest::Client::new();
        assert_eq!(
            EmailClient::from_settings(&off, http.clone()).unwrap_err(),
            "RESEND_API_KEY and ORDER_EMAIL_FROM are not set"
        );
        let on = settings(&[
            ("RESEND_API_KEY", "re_123"),
            ("ORDER_EMAIL_FROM", "orders@example.com"),
            ("RESEND_API_BASE", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(on.api_base, "http://127.0.0.1:9");
        assert!(!format!("{on:?}").contains("re_123"));
        assert!(EmailClient::from_settings(&on, http).is_ok());
        assert!(settings(&[("RESEND_API_BASE", "api.resend.com")]).is_err());
    }

    #[test]
    fn the_confirmation_escapes_names_and_formats_the_total() {
        let email = OrderConfirmation {
            order_id: "ord_k3x9a0zq".into(),
            lines: vec![ConfirmationLine {
                name: "<Tee> & co".into(),
                quantity: 2,
            }],
            total_cents: 6_005,
            currency: "usd".into(),
            order_url: "https://swag.example.com/orders/ord_k3x9a0zq".into(),
        }
        .to_email("ada@example.com");
        assert_eq!(email.subject, "Order confirmed — ord_k3x9a0zq");
        assert!(email.html.contains("&lt;Tee&gt; &amp; co"));
        assert!(email.html.contains("$60.05"));
        assert!(email.text.contains("- <Tee> & co × 2"));
        assert_eq!(format_amount(150, "eur"), "1.50 EUR");
    }
}
