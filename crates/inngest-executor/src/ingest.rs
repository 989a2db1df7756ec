//! Accepting events: ids (explicit, seeded or new) so that a re-sent event is ignored, then
//! for each new event: resume matching waits, cancel matching runs, start triggered functions.

use base64::Engine;
use futures::future::BoxFuture;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseTransaction, EntityTrait, TransactionTrait};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::core::Core;
use crate::entity::event;
use crate::error::{ExecutorError, Result};
use crate::feed::Effects;
use crate::lifecycle::Ending;
use crate::store::{from_text, runs, to_text, waits};

impl Core {
    /// Accepts events in one transaction; returns their ids in order.
    pub(crate) async fn ingest(
        &self,
        events: Vec<Value>,
        seed: Option<&str>,
    ) -> Result<Vec<String>> {
        let txn = self.db.begin().await?;
        let mut fx = Effects::default();
        let ids = self.ingest_in(&txn, events, seed, &mut fx).await?;
        txn.commit().await?;
        self.publish(fx);
        Ok(ids)
    }

    /// Accepts events inside `txn`.
    pub(crate) fn ingest_in<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        events: Vec<Value>,
        seed: Option<&'a str>,
        fx: &'a mut Effects,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            let now = self.now();
            let mut normalized = Vec::with_capacity(events.len());
            for (index, event) in events.into_iter().enumerate() {
                normalized.push(normalize(event, seed, index, now)?);
            }
            let mut ids = Vec::with_capacity(normalized.len());
            for event in normalized {
                let id = event["id"].as_str().unwrap_or_default().to_owned();
                let row = event::ActiveModel {
                    id: Set(id.clone()),
                    name: Set(event["name"].as_str().unwrap_or_default().to_owned()),
                    payload: Set(to_text(&event)),
                    ts: Set(event["ts"].as_i64().unwrap_or(now)),
                    received_at: Set(now),
                };
                let inserted = event::Entity::insert(row)
                    .on_conflict(
                        OnConflict::column(event::Column::Id)
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?;
                if inserted == 1 {
                    self.dispatch(txn, &event, fx).await?;
                } else {
                    tracing::debug!(event_id = %id, "duplicate event ignored");
                }
                ids.push(id);
            }
            Ok(ids)
        })
    }

    async fn dispatch(
        &self,
        txn: &DatabaseTransaction,
        event: &Value,
        fx: &mut Effects,
    ) -> Result<()> {
        let name = event["name"].as_str().unwrap_or_default();
        for wait in waits::find(txn, waits::kind::EVENT, name).await? {
            let run_event = from_text(&wait.event);
            let matched = match &wait.expression {
                Some(expr) => self
                    .exprs
                    .matches(expr, &[("event", &run_event), ("async", event)])
                    .unwrap_or_else(|error| {
                        tracing::warn!(%error, "wait condition does not parse; it never matches");
                        false
                    }),
                None => true,
            };
            if matched {
                self.resume_wait(txn, &wait, event.clone(), false, fx)
                    .await?;
            }
        }
        for def in self.functions() {
            for cancel in def.cancel.iter().filter(|c| c.event == name) {
                for run in runs::active_of(txn, &def.id).await? {
                    if cancel
                        .timeout_ms
                        .is_some_and(|t| run.created_at + t < self.now())
                    {
                        continue;
                    }
                    let run_event = from_text(&run.event);
                    let matched = match &cancel.if_expr {
                        Some(expr) => self
                            .exprs
                            .matches(expr, &[("event", &run_event), ("async", event)])
                            .unwrap_or(false),
                        None => true,
                    };
                    if matched {
                        self.finish_run(txn, &run, Ending::Cancelled, fx).await?;
                    }
                }
            }
        }
        for def in self.functions() {
            let mut triggered = false;
            for expression in def.event_triggers(name) {
                triggered = match expression {
                    Some(expr) => self.exprs.matches(expr, &[("event", event)]).unwrap_or_else(|error| {
                        tracing::warn!(function = %def.id, %error, "trigger expression does not parse");
                        false
                    }),
                    None => true,
                };
                if triggered {
                    break;
                }
            }
            if triggered {
                self.trigger_function(txn, &def, event, fx).await?;
            }
        }
        Ok(())
    }

    /// Resumes the step waiting for signal `name` with `data`; returns the run id, if any.
    pub(crate) async fn signal(&self, name: &str, data: Value) -> Result<Option<String>> {
        let txn = self.db.begin().await?;
        let mut fx = Effects::default();
        let mut resumed = None;
        for wait in waits::find(&txn, waits::kind::SIGNAL, name).await? {
            if self
                .resume_wait(&txn, &wait, json!({ "data": data }), false, &mut fx)
                .await?
            {
                resumed = Some(wait.run_id.clone());
                break;
            }
        }
        txn.commit().await?;
        self.publish(fx);
        Ok(resumed)
    }
}

/// Fills `id` (explicit, derived from the seed, or new), `ts` and `data`.
pub(crate) fn normalize(event: Value, seed: Option<&str>, index: usize, now: i64) -> Result<Value> {
    let Value::Object(mut map) = event else {
        return Err(ExecutorError::InvalidEvent(
            "an event must be a JSON object".into(),
        ));
    };
    match map.get("name").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => {}
        _ => {
            return Err(ExecutorError::InvalidEvent(
                "`name` must be a non-empty string".into(),
            ))
        }
    }
    let explicit = map
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    let id = explicit
        .or_else(|| seed.and_then(|seed| seeded_id(seed, index)))
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    map.insert("id".into(), Value::String(id));
    if map.get("data").is_none_or(Value::is_null) {
        map.insert("data".into(), Value::Object(Map::new()));
    }
    if !map.get("ts").is_some_and(Value::is_i64) {
        map.insert("ts".into(), json!(now));
    }
    Ok(Value::Object(map))
}

/// A ULID from an `x-inngest-event-id-seed` (`<unix-ms>,<base64 entropy>`) and the event's
/// index, so that a retried send yields the same ids.
fn seeded_id(seed: &str, index: usize) -> Option<String> {
    let (millis, entropy) = seed.split_once(',')?;
    let millis: u64 = millis.trim().parse().ok()?;
    let entropy = base64::engine::general_purpose::STANDARD
        .decode(entropy.trim())
        .ok()?;
    let mut hasher = Sha256::new();
    hasher.update(&entropy);
    hasher.update(index.to_le_bytes());
    let digest = hasher.finalize();
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    Some(ulid::Ulid::from_parts(millis, u128::from_be_bytes(random)).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_give_stable_distinct_ids() {
        let seed = "1700000000000,AAECAwQFBgcICQ==";
        assert_eq!(seeded_id(seed, 0), seeded_id(seed, 0));
        assert_ne!(seeded_id(seed, 0), seeded_id(seed, 1));
        assert!(seeded_id("garbage", 0).is_none());
    }

    #[test]
    fn normalizes_events() {
        let event = normalize(json!({"name": "a/b"}), None, 0, 42).unwrap();
        assert_eq!(event["data"], json!({}));
        assert_eq!(event["ts"], json!(42));
        assert!(event["id"].as_str().is_some_and(|id| !id.is_empty()));
        let kept = normalize(json!({"name": "a/b", "id": "x", "ts": 7}), None, 0, 42).unwrap();
        assert_eq!(
            (kept["id"].as_str(), kept["ts"].as_i64()),
            (Some("x"), Some(7))
        );
        assert!(normalize(json!({"data": {}}), None, 0, 0).is_err());
        assert!(normalize(json!([1]), None, 0, 0).is_err());
    }
}
