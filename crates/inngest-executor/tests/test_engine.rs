//! The test engine: one function of an in-process SDK app, run over real HTTP with mocks,
//! skipped sleeps and fed events.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inngest::{
    Config, Context, Error, Event, Function, FunctionOpts, Inngest, ServeHandler, Trigger,
    WaitForEvent,
};
use inngest_executor::testing::TestEngine;
use serde_json::{json, Value};

const KEY: &str = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";

fn handler(functions: Vec<Function>) -> ServeHandler {
    let client = Inngest::builder(Config::new("shop").with_cloud().with_signing_key(KEY)).build();
    ServeHandler::new(client, functions).unwrap()
}

fn checkout(charges: Arc<AtomicUsize>, flaky: Arc<AtomicUsize>) -> Function {
    Function::new(FunctionOpts::new("checkout").trigger(Trigger::event("shop/checkout")), move |ctx: Context<Value>| {
        let (charges, flaky) = (charges.clone(), flaky.clone());
        async move {
            let charge: Result<Value, Error> = ctx
                .step
                .run("charge", || async move {
                    charges.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Error>(json!({"status": "charged"}))
                })
                .await;
            let charge = charge.unwrap_or_else(|e| json!({"status": "declined", "why": e.message()}));
            ctx.step.sleep("cool-off", Duration::from_secs(86_400)).await;
            let receipt: String = ctx
                .step
                .run("receipt", || async move {
                    if flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                        return Err(Error::new("mail server busy"));
                    }
                    Ok::<_, Error>("sent".to_owned())
                })
                .await?;
            Ok::<_, Error>(json!({ "order": ctx.event.data["order"], "charge": charge, "receipt": receipt }))
        }
    })
    .unwrap()
}

#[tokio::test]
async fn mocks_steps_skips_sleeps_and_fast_forwards_retries() {
    let charges = Arc::new(AtomicUsize::new(0));
    let flaky = Arc::new(AtomicUsize::new(0));
    let engine = TestEngine::serve(handler(vec![checkout(charges.clone(), flaky.clone())]))
        .await
        .unwrap();
    let run = engine
        .function("checkout")
        .event(json!({"name": "shop/checkout", "data": {"order": "o-1"}}))
        .mock_step("charge", json!({"status": "mocked"}))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status, "completed", "{run:#?}");
    assert_eq!(
        run.output,
        Some(json!({"order": "o-1", "charge": {"status": "mocked"}, "receipt": "sent"}))
    );
    assert_eq!(
        charges.load(Ordering::SeqCst),
        0,
        "a mocked step never runs"
    );
    assert_eq!(
        flaky.load(Ordering::SeqCst),
        2,
        "the failed attempt was retried"
    );
    assert_eq!(
        run.step_output("charge"),
        Some(&json!({"status": "mocked"}))
    );
    assert_eq!(
        run.step("cool-off").map(|s| s.status.as_str()),
        Some("completed")
    );
    assert_eq!(run.step("receipt").map(|s| s.attempts), Some(2));

    let declined = engine
        .function("shop-checkout")
        .event(json!({"name": "shop/checkout", "data": {"order": "o-2"}}))
        .mock_step_error("charge", "CardError", "insufficient funds")
        .run()
        .await
        .unwrap();
    assert_eq!(
        declined.output.as_ref().map(|o| o["charge"].clone()),
        Some(json!({"status": "declined", "why": "insufficient funds"}))
    );
}

#[tokio::test]
async fn a_run_pauses_on_a_wait_until_the_test_sends_the_event() {
    let approval = Function::new(
        FunctionOpts::new("approval").trigger(Trigger::event("shop/refund")),
        |ctx: Context<Value>| async move {
            let wait = WaitForEvent::new("shop/refund.approved", Duration::from_secs(3600))
                .with_if("async.data.id == event.data.id");
            let approved: Option<Event<Value>> = ctx.step.wait_for_event("approve", wait).await?;
            Ok::<_, Error>(approved.map(|e| e.data["by"].clone()))
        },
    )
    .unwrap();
    let engine = TestEngine::serve(handler(vec![approval])).await.unwrap();
    let paused = engine
        .function("approval")
        .event(json!({"name": "shop/refund", "data": {"id": 9}}))
        .run()
        .await
        .unwrap();
    assert_eq!(paused.status, "running");
    assert_eq!(
        paused.step("approve").map(|s| s.status.as_str()),
        Some("waiting")
    );
    engine
        .send(json!({"name": "shop/refund.approved", "data": {"id": 9, "by": "ops"}}))
        .await
        .unwrap();
    let run = engine.settle(&paused.id, true).await.unwrap();
    assert_eq!(run.output, Some(json!("ops")));

    let timed_out = engine
        .function("approval")
        .event(json!({"name": "shop/refund", "data": {"id": 10}}))
        .run()
        .await
        .unwrap();
    engine.advance(Duration::from_secs(3601));
    let run = engine.settle(&timed_out.id, true).await.unwrap();
    assert_eq!(run.status, "completed");
    assert_eq!(run.output, Some(Value::Null));
}
