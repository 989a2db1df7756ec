//! `notify-low-inventory`: after every stock change of this deployment, and every morning at
//! 09:00 in Los Angeles, tells Slack about variants at or below the low-stock threshold — once
//! per drop, not once per run (the rules are in `swag_domain::low_stock`). Messages carry
//! catalog facts and stock only.
//!
//! Steps: `list-low-stock-inventory` → `dedupe-low-stock-notifications` (or
//! `resolve-low-stock-notifications` when nothing is low) → `send-slack-low-stock-notification`
//! → `record-low-stock-notifications`.
//!
//! When the rows are written: the dedupe step only *decides* (and resolves rows of restocked
//! variants, which sends nothing); the announced variants are recorded in their own step *after*
//! the Slack post succeeded. So a failing Slack call is retried, and if it fails for good nothing
//! is recorded and the next change or the morning check announces again: an alert is never
//! lost. Because each step's result is memoized, a retry of the record step does not post again,
//! and a retry of the send step happens only when the post itself failed. The function runs one
//! at a time, so two runs never decide on the same rows at once.

use chrono::Utc;
use inngest::{Concurrency, Context, Error, Event, Function, FunctionOpts, Trigger};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use swag_domain::catalog::size_label;
use swag_domain::low_stock::{self, Decision, LowStockVariant, Notice, DEFAULT_THRESHOLD};

use super::{FunctionDeps, Service};
use crate::config::ConfigError;
use crate::events::{InventoryChanged, INVENTORY_CHANGED};
use crate::integrations::slack::{self, webhook_url_from_lookup, SlackMessage, SlackWebhook};
use crate::integrations::Secret;

/// The function id.
pub const FUNCTION_ID: &str = "notify-low-inventory";
/// Attempts after the first, per step.
const RETRIES: u32 = 3;
/// The morning check: 09:00 every day…
pub const CRON_SCHEDULE: &str = "0 9 * * *";
/// …in the shop's time zone.
pub const CRON_TIMEZONE: &str = "America/Los_Angeles";
/// The event the executor sends for a cron run.
const SCHEDULED_EVENT: &str = "inngest/scheduled.timer";

/// `LOW_STOCK_THRESHOLD`: low means stock at or below it.
pub const LOW_STOCK_THRESHOLD: &str = "LOW_STOCK_THRESHOLD";
/// `LOW_STOCK_SLACK_WEBHOOK_URL`: where alerts go; alerts are skipped when unset.
pub const LOW_STOCK_SLACK_WEBHOOK_URL: &str = "LOW_STOCK_SLACK_WEBHOOK_URL";
/// `LOW_STOCK_SLACK_MENTION`: put before the alert, e.g. `<!here>` or `<@U123>`.
pub const LOW_STOCK_SLACK_MENTION: &str = "LOW_STOCK_SLACK_MENTION";

/// Step ids.
pub mod step {
    pub const LIST: &str = "list-low-stock-inventory";
    pub const DEDUPE: &str = "dedupe-low-stock-notifications";
    pub const RESOLVE: &str = "resolve-low-stock-notifications";
    pub const SEND_SLACK: &str = "send-slack-low-stock-notification";
    pub const RECORD: &str = "record-low-stock-notifications";
}

/// The low-stock settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowStockSettings {
    pub threshold: i32,
    pub slack_webhook: Option<Secret>,
    pub slack_mention: Option<String>,
}

impl Default for LowStockSettings {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            slack_webhook: None,
            slack_mention: None,
        }
    }
}

impl LowStockSettings {
    /// Reads the settings through `get` (empty values already count as unset). An invalid
    /// threshold falls back to the default with a warning rather than stopping the store.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let threshold = match get(LOW_STOCK_THRESHOLD) {
            None => DEFAULT_THRESHOLD,
            Some(value) => parse_threshold(&value).unwrap_or_else(|| {
                tracing::warn!(
                    value = %value,
                    default = DEFAULT_THRESHOLD,
                    "{LOW_STOCK_THRESHOLD} is not a whole number of 0 or more; using the default"
                );
                DEFAULT_THRESHOLD
            }),
        };
        Ok(Self {
            threshold,
            slack_webhook: webhook_url_from_lookup(&get, LOW_STOCK_SLACK_WEBHOOK_URL)?,
            slack_mention: get(LOW_STOCK_SLACK_MENTION).map(|m| m.trim().to_owned()),
        })
    }
}

fn parse_threshold(value: &str) -> Option<i32> {
    value.trim().parse::<i32>().ok().filter(|t| *t >= 0)
}

/// What the function needs: the threshold, the webhook (or why it is off) and the mention.
#[derive(Clone, Debug)]
pub struct LowStockAlerts {
    pub threshold: i32,
    pub webhook: Service<SlackWebhook>,
    pub mention: Option<String>,
}

impl LowStockAlerts {
    pub fn new(settings: &LowStockSettings, http: reqwest::Client) -> Self {
        let webhook = match &settings.slack_webhook {
            Some(url) => Service::Ready(SlackWebhook::new(http, url.clone())),
            None => Service::Off {
                reason: format!("{LOW_STOCK_SLACK_WEBHOOK_URL} is not set"),
            },
        };
        Self {
            threshold: settings.threshold,
            webhook,
            mention: settings.slack_mention.clone(),
        }
    }
}

/// The function: on this deployment's stock changes, and every morning.
pub fn function(deps: FunctionDeps) -> Function {
    // A JSON string is a valid CEL string literal, escapes included.
    let origin = Value::from(deps.app_origin.as_str());
    let opts = FunctionOpts::new(FUNCTION_ID)
        .name("Notify low inventory")
        .trigger(
            Trigger::event(INVENTORY_CHANGED).with_if(format!("event.data.appOrigin == {origin}")),
        )
        .trigger(Trigger::cron(CRON_SCHEDULE).with_timezone(CRON_TIMEZONE))
        .concurrency(Concurrency::new(1))
        .retries(RETRIES);
    Function::new(opts, move |ctx: Context<Value>| notify(ctx, deps.clone()))
        // The options are constants of this file; only a code change can make them invalid.
        .expect("notify-low-inventory's options are valid")
}

/// `send-slack-low-stock-notification`'s output.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackOutcome {
    pub sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
}

/// The run's output, PII-free.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LowStockSummary {
    pub threshold: i32,
    /// What started the run (`store/inventory.changed` or the cron).
    pub trigger: String,
    pub low_variants: usize,
    /// Variants announced in this run (or that would have been, when Slack is off).
    pub notified: Vec<String>,
    /// Variants whose notification was resolved (no longer low).
    pub resolved: Vec<String>,
    /// Whether a Slack message went out.
    pub slack_sent: bool,
    /// Why no message went out, when one was due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
}

async fn notify(ctx: Context<Value>, deps: FunctionDeps) -> Result<LowStockSummary, Error> {
    let alerts = &deps.low_stock;
    let threshold = alerts.threshold;
    let source = source_line(&ctx.event);

    let low: Vec<LowStockVariant> = ctx
        .step
        .run(step::LIST, || async {
            low_stock::list_low_stock(&deps.db, threshold)
                .await
                .map_err(transient)
        })
        .await?;
    let dedupe_step = if low.is_empty() {
        step::RESOLVE
    } else {
        step::DEDUPE
    };
    let decision: Decision = ctx
        .step
        .run(dedupe_step, || async {
            low_stock::dedupe(&deps.db, &low, threshold, Utc::now())
                .await
                .map_err(transient)
        })
        .await?;
    let mut summary = LowStockSummary {
        threshold,
        trigger: ctx.event.name.clone(),
        low_variants: low.len(),
        notified: decision
            .notify
            .iter()
            .map(|n| n.variant.variant_id.clone())
            .collect(),
        resolved: decision.resolve.clone(),
        slack_sent: false,
        skipped_reason: None,
    };
    if decision.notify.is_empty() {
        return Ok(summary);
    }

    let message = low_stock_message(
        &decision.notify,
        threshold,
        alerts.mention.as_deref(),
        &source,
    );
    let slack: SlackOutcome = ctx
        .step
        .run(step::SEND_SLACK, || async {
            match &alerts.webhook {
                Service::Ready(webhook) => {
                    webhook.post(&message).await.map_err(transient)?;
                    Ok(SlackOutcome {
                        sent: true,
                        skipped_reason: None,
                    })
                }
                Service::Off { reason } => {
                    tracing::warn!(%reason, variants = decision.notify.len(), "low-stock alert skipped");
                    Ok::<_, Error>(SlackOutcome {
                        sent: false,
                        skipped_reason: Some(reason.clone()),
                    })
                }
            }
        })
        .await?;
    // Only what was actually said is recorded: with Slack off, the rows stay as they were, so
    // configuring a webhook later announces what is low then.
    if slack.sent {
        ctx.step
            .run(step::RECORD, || async {
                low_stock::record_notified(&deps.db, &decision.notify, threshold, Utc::now())
                    .await
                    .map_err(transient)
            })
            .await?;
    }
    summary.slack_sent = slack.sent;
    summary.skipped_reason = slack.skipped_reason;
    Ok(summary)
}

/// An error worth retrying.
fn transient(error: impl std::fmt::Display) -> Error {
    Error::new(error.to_string())
}

/// Where the run came from, for the message's context line: the stock change's source and
/// reason (and its import run or order id), or the morning check.
fn source_line(event: &Event<Value>) -> String {
    if event.name == SCHEDULED_EVENT {
        return format!("Source: daily check ({CRON_SCHEDULE} {CRON_TIMEZONE})");
    }
    match serde_json::from_value::<InventoryChanged>(event.data.clone()) {
        Ok(changed) => {
            let mut line = format!("Source: {} · {}", changed.source, changed.reason);
            if let Some(run) = changed.import_run_id {
                line.push_str(&format!(" · import run {run}"));
            }
            if let Some(order) = changed.order_id {
                line.push_str(&format!(" · order {order}"));
            }
            line
        }
        Err(_) => format!("Source: {}", event.name),
    }
}

/// The alert: "{mention }Low swag inventory: N variant(s) at or below T.", a line per variant
/// and the source line; as blocks, two `mrkdwn` sections and a context block.
pub fn low_stock_message(
    notices: &[Notice],
    threshold: i32,
    mention: Option<&str>,
    source: &str,
) -> SlackMessage {
    let mention = mention
        .filter(|m| !m.is_empty())
        .map(|m| format!("{m} "))
        .unwrap_or_default();
    let headline = format!(
        "Low swag inventory: {} variant(s) at or below {threshold}.",
        notices.len()
    );
    let lines: Vec<String> = notices
        .iter()
        .map(|n| {
            let v = &n.variant;
            format!(
                "• {} {} ({}) · {}: {} left",
                v.product_name,
                size_label(&v.size),
                v.color,
                v.sku,
                v.stock
            )
        })
        .collect();
    let lines = lines.join("\n");
    SlackMessage {
        text: format!("{mention}{headline}\n{lines}\n{source}"),
        blocks: vec![
            slack::section(format!("{mention}*{headline}*")),
            slack::section(lines),
            slack::context(source),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use swag_domain::low_stock::NotifyReason;

    fn settings(vars: &[(&str, &str)]) -> LowStockSettings {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        LowStockSettings::from_lookup(|key| vars.get(key).map(|v| v.to_string())).expect("valid")
    }

    #[test]
    fn the_threshold_defaults_to_five_and_falls_back_when_invalid() {
        assert_eq!(settings(&[]).threshold, 5);
        assert_eq!(settings(&[(LOW_STOCK_THRESHOLD, " 2 ")]).threshold, 2);
        assert_eq!(settings(&[(LOW_STOCK_THRESHOLD, "0")]).threshold, 0);
        for bad in ["five", "-1", "2.5"] {
            assert_eq!(
                settings(&[(LOW_STOCK_THRESHOLD, bad)]).threshold,
                5,
                "{bad}"
            );
        }
    }

    #[test]
    fn the_message_has_the_headline_a_line_per_variant_and_the_source() {
        let notice = Notice {
            variant: LowStockVariant {
                variant_id: "cron-cap-one_size-navy".into(),
                product_id: "cron-cap".into(),
                product_name: "Cron Cap".into(),
                sku: "CAP-ONE_SIZE".into(),
                size: "ONE_SIZE".into(),
                color: "navy".into(),
                stock: 2,
            },
            reason: NotifyReason::FirstTime,
        };
        let message = low_stock_message(&[notice], 5, Some("<!here>"), "Source: reset · test");
        assert_eq!(
            message.text,
            "<!here> Low swag inventory: 1 variant(s) at or below 5.\n\
             • Cron Cap One size (navy) · CAP-ONE_SIZE: 2 left\nSource: reset · test"
        );
        assert_eq!(message.blocks.len(), 3);
        assert_eq!(message.blocks[2]["type"], "context");
        let plain = low_stock_message(&[], 5, None, "s");
        assert!(plain.text.starts_with("Low swag inventory: 0 variant(s)"));
    }
}
