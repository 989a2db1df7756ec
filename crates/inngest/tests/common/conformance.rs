//! The conformance app: the same functions as `tests/ts-sdk/conformance-server.mjs` (the official
//! TypeScript SDK side of the differential test), written with this crate.
//!
//! App id `conformance`, cloud mode, event key `test-event-key`; both the API and the event API
//! point at `base_url` (a local stand-in in tests). Keep this file and the `.mjs` file in step:
//! same ids, triggers, options, step ids and outputs, in the same registration order.

#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::Either;
use inngest::step::SignalConflict;
use inngest::{
    AiInfer, BatchEvents, Cancel, Concurrency, Config, Context, Debounce, Error, Event, Function,
    FunctionFailed, FunctionOpts, Inngest, Invoke, RateLimit, ServeHandler, Singleton,
    SingletonMode, Throttle, Timeouts, Trigger, WaitForEvent, WaitForSignal,
};
use serde_json::{json, Value};

/// The app id of both conformance servers.
pub const APP_ID: &str = "conformance";
/// The event key of both conformance servers.
pub const EVENT_KEY: &str = "test-event-key";

/// A cloud-mode client for the conformance app, independent of the process environment.
pub fn client(signing_key: &str, base_url: &str) -> Inngest {
    let config = Config::new(APP_ID)
        .with_cloud()
        .with_signing_key(signing_key)
        .with_event_key(EVENT_KEY)
        .with_base_url(base_url);
    Inngest::builder(config).build()
}

/// The serve handler of the conformance app.
pub fn serve_handler(signing_key: &str, base_url: &str) -> ServeHandler {
    ServeHandler::new(client(signing_key, base_url), functions())
        .expect("conformance function ids are unique")
}

fn on(event: &str) -> Trigger {
    Trigger::event(format!("test/{event}"))
}

fn opts(id: &str) -> FunctionOpts {
    FunctionOpts::new(id).trigger(on(id))
}

/// The conformance functions, in the TypeScript server's order.
pub fn functions() -> Vec<Function> {
    let hello = Function::new(opts("hello"), |ctx: Context<Value>| async move {
        let name = ctx
            .event
            .data
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("undefined")
            .to_owned();
        Ok::<_, Error>(json!({ "greeting": format!("hello {name}") }))
    });

    let sequence = Function::new(opts("sequence"), |ctx: Context<Value>| async move {
        let a: i64 = ctx
            .step
            .run("first", || async { Ok::<_, Error>(1) })
            .await?;
        let b: i64 = ctx
            .step
            .run("second", || async move { Ok::<_, Error>(a + 1) })
            .await?;
        // A repeated id: hashed as "first:1".
        let c: i64 = ctx
            .step
            .run("first", || async { Ok::<_, Error>(10) })
            .await?;
        Ok::<_, Error>(json!({ "a": a, "b": b, "c": c }))
    });

    let sleeper = Function::new(opts("sleeper"), |ctx: Context<Value>| async move {
        ctx.step.sleep("nap", Duration::from_secs(2)).await;
        let until: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().expect("valid RFC 3339");
        ctx.step.sleep_until("until", until).await;
        Ok::<_, Error>("woke")
    });

    let waiter = Function::new(opts("waiter"), |ctx: Context<Value>| async move {
        let wait = WaitForEvent::new("test/approved", Duration::from_secs(3600))
            .with_if("async.data.id == event.data.id");
        let got = ctx
            .step
            .wait_for_event::<Value>("wait-approval", wait)
            .await?;
        Ok::<_, Error>(json!({ "approved": got.is_some() }))
    });

    let invoker = Function::new(opts("invoker"), |ctx: Context<Value>| async move {
        let call = Invoke::new("conformance-hello", json!({ "name": "inv" }))
            .with_timeout(Duration::from_secs(60));
        let r: Value = ctx.step.invoke("call-hello", call).await?;
        Ok::<_, Error>(json!({ "r": r }))
    });

    let parallel = Function::new(opts("parallel"), |ctx: Context<Value>| async move {
        let (x, y) = futures::join!(
            ctx.step
                .run("left", || async { Ok::<_, Error>("L".to_owned()) }),
            ctx.step
                .run("right", || async { Ok::<_, Error>("R".to_owned()) }),
        );
        Ok::<_, Error>(format!("{}{}", x?, y?))
    });

    let racer = Function::new(opts("racer"), |ctx: Context<Value>| async move {
        let fast = ctx
            .step
            .run("fast", || async { Ok::<_, Error>("F".to_owned()) });
        let slow = ctx
            .step
            .run("slow", || async { Ok::<_, Error>("S".to_owned()) });
        let winner = match ctx.step.race(fast, slow).await {
            Either::Left(r) | Either::Right(r) => r?,
        };
        Ok::<_, Error>(winner)
    });

    let flaky = Function::new(opts("flaky").retries(2), |ctx: Context<Value>| async move {
        ctx.step
            .run("boom", || async { Err::<(), _>(Error::new("kaboom")) })
            .await?;
        Ok::<_, Error>(Value::Null)
    });

    let fatal = Function::new(opts("fatal"), |ctx: Context<Value>| async move {
        ctx.step
            .run("fatal-step", || async {
                Err::<(), _>(Error::non_retriable("no way"))
            })
            .await?;
        Ok::<_, Error>(Value::Null)
    });

    let body_error = Function::new(opts("body-error"), |_ctx: Context<Value>| async move {
        Err::<Value, _>(Error::non_retriable("bad input"))
    });

    let retry_later = Function::new(opts("retry-later"), |_ctx: Context<Value>| async move {
        Err::<Value, _>(Error::retry_after("slow down", Duration::from_secs(30)))
    });

    let plain_error = Function::new(opts("plain-error"), |_ctx: Context<Value>| async move {
        Err::<Value, _>(Error::new("plain"))
    });

    let signal = Function::new(opts("signal"), |ctx: Context<Value>| async move {
        let wait = WaitForSignal::new("sig-123", Duration::from_secs(600))
            .with_conflict(SignalConflict::Replace);
        let got = ctx
            .step
            .wait_for_signal::<Value>("wait-signal", wait)
            .await?;
        Ok::<_, Error>(got)
    });

    let sender = Function::new(opts("sender"), |ctx: Context<Value>| async move {
        let sent = ctx
            .step
            .send_event(
                "send-followup",
                vec![Event::new("test/followup", json!({ "n": 1 }))],
            )
            .await?;
        Ok::<_, Error>(sent)
    });

    let ai = Function::new(opts("ai"), |ctx: Context<Value>| async move {
        let request = AiInfer::openai(
            "gpt-4o-mini",
            "sk-test",
            json!({ "messages": [{ "role": "user", "content": "hi" }] }),
        );
        let answer: Value = ctx.step.ai_infer("summarize", request).await?;
        Ok::<_, Error>(answer)
    });

    let configured_opts = FunctionOpts::new("configured")
        .trigger(on("configured").with_if("event.data.ok == true"))
        .trigger(Trigger::cron("0 9 * * *").with_timezone("Europe/Paris"))
        .retries(5)
        .concurrency(Concurrency::new(1).with_key("event.data.k"))
        .throttle(Throttle {
            limit: 10,
            period: Duration::from_secs(60),
            key: Some("event.data.k".into()),
            burst: Some(2),
        })
        .rate_limit(RateLimit {
            limit: 100,
            period: Duration::from_secs(3600),
            key: Some("event.data.k".into()),
        })
        .idempotency("event.data.id")
        .priority("event.data.p")
        .cancel_on(Cancel {
            event: "test/cancel".into(),
            if_expr: Some("async.data.id == event.data.id".into()),
            timeout: Some(Duration::from_secs(3600)),
        })
        .timeouts(Timeouts {
            start: Some(Duration::from_secs(60)),
            finish: Some(Duration::from_secs(3600)),
        });
    let configured = Function::new(configured_opts, |ctx: Context<Value>| async move {
        let out: String = ctx
            .step
            .run("only", || async { Ok::<_, Error>("ok".to_owned()) })
            .await?;
        Ok::<_, Error>(out)
    })
    .map(|f| {
        f.on_failure(
            |_ctx: Context<FunctionFailed<Value>>| async move { Ok::<_, Error>("compensated") },
        )
    });

    let batched = Function::new(
        opts("batched").batch_events(BatchEvents {
            max_size: 10,
            timeout: Duration::from_secs(5),
            key: None,
        }),
        |ctx: Context<Value>| async move { Ok::<_, Error>(ctx.events.len()) },
    );

    let debounced = Function::new(
        opts("debounced").debounce(Debounce {
            period: Duration::from_secs(5),
            key: Some("event.data.k".into()),
            timeout: Some(Duration::from_secs(60)),
        }),
        |_ctx: Context<Value>| async move { Ok::<_, Error>("ok") },
    );

    let singleton = Function::new(
        opts("singleton-fn").singleton(Singleton {
            key: Some("event.data.k".into()),
            mode: SingletonMode::Skip,
        }),
        |_ctx: Context<Value>| async move { Ok::<_, Error>("ok") },
    );

    [
        hello,
        sequence,
        sleeper,
        waiter,
        invoker,
        parallel,
        racer,
        flaky,
        fatal,
        body_error,
        retry_later,
        plain_error,
        signal,
        sender,
        ai,
        configured,
        batched,
        debounced,
        singleton,
    ]
    .into_iter()
    .map(|f| f.expect("conformance function options are valid"))
    .collect()
}
