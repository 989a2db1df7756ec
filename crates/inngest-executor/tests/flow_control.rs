//! Cancellation, run timeouts, concurrency, idempotency, rate limiting, debounce, batching and
//! crons.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::{Harness, APP, EVENT_KEY};
use inngest::{
    BatchEvents, Cancel, Concurrency, Context, Debounce, Error, Function, FunctionOpts, RateLimit,
    Timeouts, Trigger,
};
use inngest_executor::ManualClock;
use serde_json::{json, Value};

async fn runs_of(harness: &Harness, function: &str) -> Vec<inngest_executor::RunView> {
    let mut runs = Vec::new();
    for summary in harness.executor.runs(1000).await.unwrap() {
        if summary.function_id == format!("{APP}-{function}") {
            runs.push(harness.executor.run(&summary.id).await.unwrap().unwrap());
        }
    }
    runs
}

#[tokio::test]
async fn cancel_on_events_cancels_only_the_matching_runs() {
    let harness = Harness::start(|_| {
        vec![Function::new(
            FunctionOpts::new("cancellable")
                .trigger(Trigger::event("test/start"))
                .cancel_on(Cancel {
                    event: "test/cancel".into(),
                    if_expr: Some("async.data.id == event.data.id".into()),
                    timeout: None,
                }),
            |ctx: Context<Value>| async move {
                ctx.step.sleep("long-nap", Duration::from_secs(3600)).await;
                Ok::<_, Error>("finished")
            },
        )
        .unwrap()]
    })
    .await;
    let keep = harness.send("test/start", json!({"id": "keep"})).await;
    let drop = harness.send("test/start", json!({"id": "drop"})).await;
    harness
        .eventually("both runs sleep", || async {
            let runs = runs_of(&harness, "cancellable").await;
            runs.len() == 2
                && runs
                    .iter()
                    .all(|r| r.step("long-nap").is_some_and(|s| s.status == "sleeping"))
        })
        .await;
    harness.send("test/cancel", json!({"id": "drop"})).await;
    let cancelled = harness.finished_run("cancellable", &drop).await;
    assert_eq!(cancelled.status, "cancelled");
    let kept = harness.runs_of_event(&keep).await.remove(0);
    assert_eq!(kept.status, "running");
}

#[tokio::test]
async fn concurrency_one_runs_a_burst_of_twenty_strictly_one_at_a_time() {
    let active = Arc::new(AtomicUsize::new(0));
    let max_active = Arc::new(AtomicUsize::new(0));
    let spans: Arc<Mutex<Vec<(Instant, Instant)>>> = Arc::default();
    let (a, m, s) = (active.clone(), max_active.clone(), spans.clone());
    let st: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let harness = Harness::start(move |_| {
        vec![Function::new(
            FunctionOpts::new("serial")
                .trigger(Trigger::event("test/serial"))
                .concurrency(Concurrency::new(1)),
            move |ctx: Context<Value>| {
                let (a, m, s, st) = (a.clone(), m.clone(), s.clone(), st.clone());
                async move {
                    let a2 = a.clone();
                    let (run_id, end_run) = (ctx.run_id.clone(), ctx.run_id.clone());
                    let (starts, ends) = (st.clone(), st.clone());
                    let started = ctx
                        .step
                        .run("begin", || async move {
                            let now = a.fetch_add(1, Ordering::SeqCst) + 1;
                            m.fetch_max(now, Ordering::SeqCst);
                            starts.lock().unwrap().insert(run_id, Instant::now());
                            Ok::<_, Error>(true)
                        })
                        .await?;
                    ctx.step
                        .run("middle", || async {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            Ok::<_, Error>(())
                        })
                        .await?;
                    ctx.step
                        .run("end", || async move {
                            let begun = ends
                                .lock()
                                .unwrap()
                                .remove(&end_run)
                                .expect("begin ran first");
                            s.lock().unwrap().push((begun, Instant::now()));
                            a2.fetch_sub(1, Ordering::SeqCst);
                            Ok::<_, Error>(())
                        })
                        .await?;
                    Ok::<_, Error>(started)
                }
            },
        )
        .unwrap()]
    })
    .await;
    let burst: Vec<Value> = (0..20)
        .map(|i| json!({"name": "test/serial", "data": {"i": i}}))
        .collect();
    let response = reqwest::Client::new()
        .post(format!("{}/e/{EVENT_KEY}", harness.base))
        .json(&burst)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ids"].as_array().map(Vec::len), Some(20));
    harness
        .eventually("all twenty complete", || async {
            let runs = runs_of(&harness, "serial").await;
            runs.len() == 20 && runs.iter().all(|r| r.status == "completed")
        })
        .await;
    assert_eq!(
        max_active.load(Ordering::SeqCst),
        1,
        "two runs were active at once"
    );
    let mut spans = spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 20);
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "runs overlapped: {pair:?}");
    }
}

#[tokio::test]
async fn idempotency_keys_start_one_run_per_key() {
    let harness = Harness::start(|_| {
        vec![Function::new(
            FunctionOpts::new("once")
                .trigger(Trigger::event("test/once"))
                .idempotency("event.data.order"),
            |ctx: Context<Value>| async move { Ok::<_, Error>(ctx.event.data["order"].clone()) },
        )
        .unwrap()]
    })
    .await;
    for order in ["a", "a", "b", "a"] {
        harness.send("test/once", json!({"order": order})).await;
    }
    harness
        .eventually("two runs complete", || async {
            let runs = runs_of(&harness, "once").await;
            runs.len() == 2 && runs.iter().all(|r| r.status == "completed")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut outputs: Vec<Value> = runs_of(&harness, "once")
        .await
        .into_iter()
        .filter_map(|r| r.output)
        .collect();
    outputs.sort_by_key(|v| v.to_string());
    assert_eq!(outputs, vec![json!("a"), json!("b")]);
}

#[tokio::test]
async fn rate_limit_skips_events_over_the_limit() {
    let harness = Harness::start(|_| {
        vec![Function::new(
            FunctionOpts::new("limited")
                .trigger(Trigger::event("test/limited"))
                .rate_limit(RateLimit {
                    limit: 2,
                    period: Duration::from_secs(3600),
                    key: None,
                }),
            |_ctx: Context<Value>| async move { Ok::<_, Error>(()) },
        )
        .unwrap()]
    })
    .await;
    for i in 0..5 {
        harness.send("test/limited", json!({"i": i})).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(runs_of(&harness, "limited").await.len(), 2);
}

#[tokio::test]
async fn debounce_runs_once_with_the_last_event_after_the_quiet_period() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let harness = Harness::start_with(
        |_| {
            vec![Function::new(
                FunctionOpts::new("debounced")
                    .trigger(Trigger::event("test/debounced"))
                    .debounce(Debounce {
                        period: Duration::from_secs(5),
                        key: Some("event.data.k".into()),
                        timeout: None,
                    }),
                |ctx: Context<Value>| async move { Ok::<_, Error>(ctx.event.data["n"].clone()) },
            )
            .unwrap()]
        },
        move |b| common::fast(b).clock(timer),
    )
    .await;
    for n in 1..=3 {
        harness
            .send("test/debounced", json!({"k": "x", "n": n}))
            .await;
        clock.advance(Duration::from_secs(2));
    }
    harness.executor.wake();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        runs_of(&harness, "debounced").await.is_empty(),
        "still within the period of the last event"
    );
    clock.advance(Duration::from_secs(4));
    harness.executor.wake();
    harness
        .eventually("one run completes", || async {
            let runs = runs_of(&harness, "debounced").await;
            runs.len() == 1 && runs[0].status == "completed"
        })
        .await;
    assert_eq!(
        runs_of(&harness, "debounced").await[0].output,
        Some(json!(3))
    );
}

#[tokio::test]
async fn batches_start_when_full_or_when_the_timeout_passes() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let harness = Harness::start_with(
        |_| {
            vec![Function::new(
                FunctionOpts::new("batched")
                    .trigger(Trigger::event("test/batched"))
                    .batch_events(BatchEvents {
                        max_size: 3,
                        timeout: Duration::from_secs(5),
                        key: None,
                    }),
                |ctx: Context<Value>| async move {
                    Ok::<_, Error>(
                        ctx.events
                            .iter()
                            .map(|e| e.data["n"].clone())
                            .collect::<Vec<_>>(),
                    )
                },
            )
            .unwrap()]
        },
        move |b| common::fast(b).clock(timer),
    )
    .await;
    for n in 1..=4 {
        harness.send("test/batched", json!({"n": n})).await;
    }
    harness
        .eventually("the full batch runs", || async {
            let runs = runs_of(&harness, "batched").await;
            runs.len() == 1 && runs[0].status == "completed"
        })
        .await;
    assert_eq!(
        runs_of(&harness, "batched").await[0].output,
        Some(json!([1, 2, 3]))
    );
    clock.advance(Duration::from_secs(5));
    harness.executor.wake();
    harness
        .eventually("the partial batch runs", || async {
            let runs = runs_of(&harness, "batched").await;
            runs.len() == 2 && runs.iter().all(|r| r.status == "completed")
        })
        .await;
    let outputs: Vec<Value> = runs_of(&harness, "batched")
        .await
        .into_iter()
        .filter_map(|r| r.output)
        .collect();
    assert!(outputs.contains(&json!([4])), "{outputs:?}");
}

#[tokio::test]
async fn cron_triggers_fire_on_the_executor_clock_in_their_timezone() {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2030, 1, 15, 7, 59, 0).unwrap());
    let timer = clock.clone();
    let fired: Arc<Mutex<Vec<Value>>> = Arc::default();
    let record = fired.clone();
    let harness = Harness::start_with(
        move |_| {
            vec![Function::new(
                FunctionOpts::new("morning")
                    .trigger(Trigger::cron("0 9 * * *").with_timezone("Europe/Paris")),
                move |ctx: Context<Value>| {
                    let record = record.clone();
                    async move {
                        record
                            .lock()
                            .unwrap()
                            .push(json!({"name": ctx.event.name, "data": ctx.event.data}));
                        Ok::<_, Error>(())
                    }
                },
            )
            .unwrap()]
        },
        move |b| common::fast(b).clock(timer),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(fired.lock().unwrap().is_empty(), "not 09:00 in Paris yet");
    clock.advance(Duration::from_secs(60));
    harness.executor.wake();
    harness
        .eventually("the cron fired", || async {
            fired.lock().unwrap().len() == 1
        })
        .await;
    assert_eq!(
        fired.lock().unwrap()[0],
        json!({"name": "inngest/scheduled.timer", "data": {"cron": "TZ=Europe/Paris 0 9 * * *"}})
    );
    clock.advance(Duration::from_secs(3600));
    harness.executor.wake();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fired.lock().unwrap().len(), 1, "once a day");
    clock.advance(Duration::from_secs(23 * 3600));
    harness.executor.wake();
    harness
        .eventually("the cron fired again the next day", || async {
            fired.lock().unwrap().len() == 2
        })
        .await;
}

#[tokio::test]
async fn run_timeouts_cancel_runs_not_started_or_not_finished_in_time() {
    let clock = ManualClock::starting_now();
    let timer = clock.clone();
    let calls: Arc<Mutex<Vec<Value>>> = Arc::default();
    let record = calls.clone();
    let harness = Harness::start_with(
        move |_| {
            vec![
                Function::new(
                    FunctionOpts::new("timed")
                        .trigger(Trigger::event("test/timed"))
                        .concurrency(Concurrency::new(1))
                        .timeouts(Timeouts {
                            start: Some(Duration::from_secs(10)),
                            finish: Some(Duration::from_secs(60)),
                        }),
                    move |ctx: Context<Value>| {
                        let record = record.clone();
                        async move {
                            record.lock().unwrap().push(ctx.event.data["n"].clone());
                            ctx.step.sleep("nap", Duration::from_secs(3600)).await;
                            Ok::<_, Error>("woke")
                        }
                    },
                )
                .unwrap(),
                Function::new(
                    FunctionOpts::new("prompt")
                        .trigger(Trigger::event("test/prompt"))
                        .timeouts(Timeouts {
                            start: Some(Duration::from_secs(10)),
                            finish: Some(Duration::from_secs(60)),
                        }),
                    |_ctx: Context<Value>| async move { Ok::<_, Error>("on time") },
                )
                .unwrap(),
            ]
        },
        move |b| common::fast(b).clock(timer),
    )
    .await;
    let first = harness.send("test/timed", json!({"n": 1})).await;
    harness
        .eventually("the first run sleeps", || async {
            harness
                .runs_of_event(&first)
                .await
                .first()
                .is_some_and(|r| r.step("nap").is_some_and(|s| s.status == "sleeping"))
        })
        .await;
    // Concurrency 1: the second run cannot start while the first sleeps.
    let second = harness.send("test/timed", json!({"n": 2})).await;
    let prompt = harness.send("test/prompt", json!({})).await;
    let done = harness.finished_run("prompt", &prompt).await;
    assert_eq!(done.status, "completed");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status_of = |event: String| {
        let harness = &harness;
        async move { harness.runs_of_event(&event).await[0].clone() }
    };
    assert_eq!(status_of(second.clone()).await.status, "queued");

    // Start timeout: the queued run is cancelled; the started one is not.
    clock.advance(Duration::from_secs(11));
    harness.executor.wake();
    let cancelled = harness.finished_run("timed", &second).await;
    assert_eq!(cancelled.status, "cancelled", "{cancelled:#?}");
    assert_eq!(cancelled.started_at, None, "it never started");
    let error = cancelled.error.clone().unwrap_or_default();
    assert_eq!(error["name"], json!("RunTimedOut"));
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("timeouts.start"),
        "{error}"
    );
    assert_eq!(
        *calls.lock().unwrap(),
        vec![json!(1)],
        "the SDK never ran the second"
    );
    let running = status_of(first.clone()).await;
    assert_eq!(running.status, "running", "{running:#?}");

    // Finish timeout: 60 s after it started, the sleeping run is cancelled.
    clock.advance(Duration::from_secs(48));
    harness.executor.wake();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(status_of(first.clone()).await.status, "running", "59 s in");
    clock.advance(Duration::from_secs(2));
    harness.executor.wake();
    let cancelled = harness.finished_run("timed", &first).await;
    assert_eq!(cancelled.status, "cancelled", "{cancelled:#?}");
    let error = cancelled.error.clone().unwrap_or_default();
    assert_eq!(error["name"], json!("RunTimedOut"));
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("timeouts.finish"),
        "{error}"
    );

    // The run that finished in time keeps its result, and no timeout is left in the queue.
    clock.advance(Duration::from_secs(3600));
    harness.executor.wake();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let done = harness.finished_run("prompt", &prompt).await;
    assert_eq!(
        (done.status.as_str(), done.output),
        ("completed", Some(json!("on time")))
    );
    assert_eq!(*calls.lock().unwrap(), vec![json!(1)]);
    use sea_orm::EntityTrait;
    let left = inngest_executor::entity::queue_item::Entity::find()
        .all(harness.executor.database())
        .await
        .unwrap();
    assert!(
        left.iter().all(|i| i.kind != "run_timeout"),
        "timeouts of finished runs are gone: {left:#?}"
    );
}
