//! In-process replay cost: one execution request with N memoized steps handled by the serve
//! handler (signature check, parse, replay, one step run inline, response), without HTTP.
//! Prints µs per request and the marginal cost per memoized step.
//!
//! `cargo bench -p inngest --bench replay`

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use inngest::signing::SigningKey;
use inngest::{
    Config, Context, Error, Function, FunctionOpts, Inngest, ServeHandler, ServeRequest, Trigger,
};
use serde_json::json;

const KEY: &str = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";

#[derive(serde::Deserialize)]
struct Steps {
    n: u64,
}

fn body(n: u64) -> Vec<u8> {
    let mut steps = serde_json::Map::new();
    let mut stack = Vec::new();
    for i in 0..n {
        let hash = inngest::step::hash_step_id(&format!("step-{i}"));
        steps.insert(hash.clone(), json!({ "data": i }));
        stack.push(hash);
    }
    let event = json!({"id": "e", "name": "bench/steps", "data": {"n": n}, "ts": 1});
    serde_json::to_vec(&json!({
        "ctx": {"attempt": 0, "disable_immediate_execution": false, "fn_id": "bench-steps", "max_attempts": 4,
                "run_id": "r", "stack": {"current": n, "stack": stack}, "step_id": "step", "use_api": false},
        "event": event, "events": [event], "steps": steps, "use_api": false, "version": 2
    }))
    .expect("json")
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let client = Inngest::builder(Config::new("bench").with_signing_key(KEY)).build();
    let steps = Function::new(
        FunctionOpts::new("steps").trigger(Trigger::event("bench/steps")),
        |ctx: Context<Steps>| async move {
            for i in 0..=ctx.event.data.n {
                let _: u64 = ctx
                    .step
                    .run(&format!("step-{i}"), || async move { Ok::<_, Error>(i) })
                    .await?;
            }
            Ok::<_, Error>(ctx.event.data.n)
        },
    )
    .expect("function");
    let handler = ServeHandler::new(client, vec![steps]).expect("handler");
    let key = SigningKey::new(KEY);
    let mut per_request = Vec::new();
    // REPLAY_N=1000 measures one N only (for profiling).
    let only: Option<u64> = std::env::var("REPLAY_N").ok().and_then(|n| n.parse().ok());
    let counts: Vec<u64> = only.map_or_else(|| vec![1, 10, 100, 1000], |n| vec![n]);
    for n in counts {
        let raw = Bytes::from(body(n));
        let mut headers = HeaderMap::new();
        let signature = key.sign(&raw, chrono::Utc::now().timestamp());
        headers.insert(
            "x-inngest-signature",
            HeaderValue::from_str(&signature).expect("header"),
        );
        let request = ServeRequest {
            method: Method::POST,
            uri: Uri::from_static("/api/inngest?fnId=bench-steps&stepId=step"),
            headers,
            body: raw,
        };
        let check = runtime.block_on(handler.handle(request.clone()));
        assert_eq!(
            check.status,
            206,
            "{:?}",
            String::from_utf8_lossy(&check.body)
        );
        let budget = Duration::from_millis(1500);
        let start = Instant::now();
        let mut count = 0u32;
        while start.elapsed() < budget {
            runtime.block_on(handler.handle(request.clone()));
            count += 1;
        }
        let micros = start.elapsed().as_secs_f64() * 1e6 / f64::from(count);
        println!("N={n:<5} {micros:>9.1} µs/request ({count} requests)");
        per_request.push((n, micros));
    }
    if per_request.len() < 2 {
        return;
    }
    let (n0, t0) = per_request[0];
    let (n1, t1) = per_request[per_request.len() - 1];
    println!(
        "marginal cost per memoized step: {:.3} µs",
        (t1 - t0) / (n1 - n0) as f64
    );
}
