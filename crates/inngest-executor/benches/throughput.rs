//! Throughput benchmark: N concurrent runs of a 10-step function, through the real HTTP path
//! (signed calls to an in-process SDK serve handler), on SQLite (a temp file) or Postgres
//! (`BENCH_DATABASE_URL`). Prints steps/s and p50/p99 run latency.
//!
//! `cargo bench -p inngest-executor --bench throughput` (or `scripts/bench-executor`);
//! `BENCH_RUNS` (default 500) and `BENCH_WORKERS` (default 64) tune it.

use std::time::{Duration, Instant};

use inngest::{Config, Context, Error, Function, FunctionOpts, Inngest, ServeHandler, Trigger};
use inngest_executor::{connect_with_schema, migrations::Migrator, Executor};
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use serde_json::{json, Value};

const KEY: &str = "signkey-test-8ee2262a15e8d3c42d6a840db7af3de2aab08ef632b32a37a687f24b34dba3ff";
const STEPS: u64 = 10;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ten_steps() -> Function {
    Function::new(
        FunctionOpts::new("ten-steps").trigger(Trigger::event("bench/go")),
        |ctx: Context<Value>| async move {
            let mut sum = 0u64;
            for i in 0..STEPS {
                sum += ctx
                    .step
                    .run(&format!("step-{i}"), || async move { Ok::<_, Error>(i) })
                    .await?;
            }
            Ok::<_, Error>(sum)
        },
    )
    .expect("function")
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = env_number("BENCH_RUNS", 500);
    let workers = env_number("BENCH_WORKERS", 64);
    let dir = tempfile::tempdir()?;
    let (url, schema, label) = match std::env::var("BENCH_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) => {
            let schema = format!("bench_{}", ulid::Ulid::new().to_string().to_lowercase());
            connect_with_schema(&url, None)
                .await?
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await?;
            (url, Some(schema), "postgres")
        }
        None => (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            None,
            "sqlite",
        ),
    };
    let db = connect_with_schema(&url, schema.as_deref()).await?;
    Migrator::up(&db, None).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let client = Inngest::builder(
        Config::new("bench")
            .with_cloud()
            .with_signing_key(KEY)
            .with_base_url(&base),
    )
    .build();
    let handler = ServeHandler::new(client, vec![ten_steps()])?;
    let executor = Executor::builder()
        .database(db.clone())
        .signing_key(KEY)
        .workers(workers)
        .poll_interval(Duration::from_millis(50))
        .build()
        .await?;
    let router: axum::Router = handler.into_router().merge(executor.router());
    tokio::spawn(async move { axum::serve(listener, router).await });
    executor.sync_app(&format!("{base}/api/inngest")).await?;

    let events: Vec<Value> = (0..runs)
        .map(|i| json!({"name": "bench/go", "data": {"i": i}}))
        .collect();
    // Completion is counted from the live feed, so that measuring does not load the database.
    let mut feed = executor.subscribe();
    let started = Instant::now();
    executor.send_many(&events).await?;
    let mut ended = 0;
    while ended < runs {
        match tokio::time::timeout(Duration::from_secs(60), feed.recv()).await {
            Ok(Ok(update))
                if update.kind.starts_with("run.")
                    && update.kind != "run.queued"
                    && update.kind != "run.started" =>
            {
                ended += 1
            }
            Ok(Ok(_)) => {}
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                return Err("the feed lagged; raise its capacity or lower BENCH_RUNS".into())
            }
            Ok(Err(error)) => return Err(error.into()),
            Err(_) => return Err(format!("stalled after {ended} of {runs} runs").into()),
        }
    }
    let finished = executor.runs(runs as u64 + 10).await?;
    let elapsed = started.elapsed();
    let completed = finished.iter().filter(|r| r.status == "completed").count();
    let mut latencies: Vec<i64> = finished
        .iter()
        .filter_map(|r| r.ended_at.map(|end| end - r.created_at))
        .collect();
    latencies.sort_unstable();
    let steps = completed as f64 * STEPS as f64;
    println!(
        "executor bench [{label}]: {runs} runs x {STEPS} steps, {workers} workers: {completed} completed in {:.2}s -> {:.0} steps/s, run latency p50 {} ms, p99 {} ms",
        elapsed.as_secs_f64(),
        steps / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
    executor.shutdown();
    if let Some(schema) = schema {
        db.execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
    }
    if completed < runs {
        return Err(format!("only {completed} of {runs} runs completed").into());
    }
    Ok(())
}
