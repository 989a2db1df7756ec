//! Benchmark server for the official Inngest Rust crate (`inngest` 0.1.1, axum 0.6).
//!
//! App `bench`, function `steps` (wire id `bench-steps`), trigger `bench/steps`: reads
//! `n = event.data.n` and runs `step.run("step-{i}")` for i in 0..=n, each returning i.
//!
//! Env: `PORT` (default 0 = any free port), `INNGEST_SIGNING_KEY` (when set, the crate
//! verifies the `X-Inngest-Signature` of every request that carries one). Serves
//! `/api/inngest` on 127.0.0.1 on a current-thread tokio runtime and prints
//! `{"port":N}` on stdout once listening.

use std::{net::SocketAddr, sync::Arc};

use axum::{routing::get, Router};
use inngest::{
    client::Inngest,
    function::{FunctionOpts, Input, ServableFn, Trigger},
    handler::Handler,
    result::Error,
    serve,
    step_tool::Step as StepTool,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize, Serialize)]
struct BenchData {
    n: u64,
}

/// step.run needs a user error type that is (de)serializable and converts into the
/// crate's `Error`; the benchmark's steps never fail.
#[derive(Debug, Deserialize, Serialize)]
struct NeverFails(String);

impl std::fmt::Display for NeverFails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NeverFails {}

impl From<NeverFails> for Error {
    fn from(e: NeverFails) -> Error {
        Error::Dev(inngest::result::DevError::Basic(e.0))
    }
}

fn steps_fn(client: &Inngest) -> ServableFn<BenchData, Error> {
    client.create_function(
        FunctionOpts::new("steps"),
        Trigger::event("bench/steps"),
        |input: Input<BenchData>, step: StepTool| async move {
            let n = input.event.data.n;
            let mut last = 0u64;
            for i in 0..=n {
                let id = format!("step-{i}");
                last = step
                    .run(&id, || async move { Ok::<u64, NeverFails>(i) })
                    .await?;
            }
            Ok::<Value, Error>(json!(last))
        },
    )
}

fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().expect("PORT must be a port number"))
        .unwrap_or(0);

    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(async move {
            let client = Inngest::new("bench");
            let mut handler = Handler::new(&client);
            handler.register_fn(steps_fn(&client));
            let state = Arc::new(handler);

            let app = Router::new()
                .route(
                    "/api/inngest",
                    get(serve::axum::introspect)
                        .put(serve::axum::register)
                        .post(serve::axum::invoke),
                )
                .with_state(state);

            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let server = axum::Server::bind(&addr).serve(app.into_make_service());
            println!("{{\"port\":{}}}", server.local_addr().port());
            server.await.expect("server error");
        });
}
