//! Durability: a separate process running the executor and the functions is SIGKILLed between
//! steps (once mid-sequence, once during a durable sleep), restarted on the same database, and
//! the run completes with every step body executed exactly once.
//!
//! The child process is this test binary itself, re-run with `CRASH_CHILD=1` so that only
//! `crash_child` does anything.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use common::{Harness, TestDb};
use inngest::{Context, Error, Function, FunctionOpts, Trigger};
use inngest_executor::entity::{run, run_step};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const EVENT_ID: &str = "crash-event-1";

/// Appends a line and syncs it, so that the parent sees every execution that happened.
fn record(log: &Path, line: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open log");
    writeln!(file, "{line}").expect("write log");
    file.sync_all().expect("sync log");
}

fn durable(log: PathBuf) -> Function {
    Function::new(
        FunctionOpts::new("durable").trigger(Trigger::event("test/durable")),
        move |ctx: Context<Value>| {
            let log = log.clone();
            async move {
                let mut done = Vec::new();
                for name in ["s1", "s2"] {
                    let log = log.clone();
                    done.push(ctx.step.run(name, || slow_step(log, name)).await?);
                }
                ctx.step.sleep("pause", Duration::from_secs(2)).await;
                for name in ["s3", "s4"] {
                    let log = log.clone();
                    done.push(ctx.step.run(name, || slow_step(log, name)).await?);
                }
                Ok::<_, Error>(done)
            }
        },
    )
    .unwrap()
}

/// Waits first, then does its side effect: a kill during the wait is "between steps".
async fn slow_step(log: PathBuf, name: &'static str) -> Result<String, Error> {
    tokio::time::sleep(Duration::from_millis(800)).await;
    record(&log, name);
    Ok(name.to_owned())
}

#[tokio::test]
async fn crash_child() {
    if std::env::var("CRASH_CHILD").is_err() {
        return;
    }
    let url = std::env::var("CRASH_DB_URL").expect("CRASH_DB_URL");
    let schema = std::env::var("CRASH_DB_SCHEMA")
        .ok()
        .filter(|s| !s.is_empty());
    let log = PathBuf::from(std::env::var("CRASH_LOG").expect("CRASH_LOG"));
    let harness = Harness::start_on(
        TestDb::existing(url, schema),
        move |_| vec![durable(log)],
        // Calls time out at 80 % of the lease: 2.4 s, well above a step's 0.8 s.
        |b| common::fast(b).lease(Duration::from_secs(3)),
    )
    .await;
    if std::env::var("CRASH_SEND").is_ok() {
        harness
            .executor
            .send(json!({"id": EVENT_ID, "name": "test/durable", "data": {}}))
            .await
            .expect("send");
    }
    // Runs until the parent kills it.
    tokio::time::sleep(Duration::from_secs(120)).await;
}

/// Kills the child when dropped, so a failing parent leaves nothing behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_child(db: &TestDb, log: &Path, send: bool) -> ChildGuard {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("CRASH_CHILD", "1")
        .env("CRASH_DB_URL", &db.url)
        .env("CRASH_DB_SCHEMA", db.schema.clone().unwrap_or_default())
        .env("CRASH_LOG", log)
        .env_remove("TEST_DATABASE_URL")
        .stdout(std::process::Stdio::null());
    if send {
        command.env("CRASH_SEND", "1");
    }
    ChildGuard(command.spawn().expect("spawn child"))
}

async fn memoized(db: &DatabaseConnection) -> u64 {
    run_step::Entity::find()
        .filter(run_step::Column::Memo.is_not_null())
        .count(db)
        .await
        .unwrap_or(0)
}

async fn sleeping(db: &DatabaseConnection) -> bool {
    run_step::Entity::find()
        .filter(run_step::Column::Name.eq("pause"))
        .filter(run_step::Column::Status.eq("sleeping"))
        .count(db)
        .await
        .unwrap_or(0)
        == 1
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_killed_process_finishes_the_run_with_each_step_executed_exactly_once() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("steps.log");
    let conn = db.connect().await;

    let child = spawn_child(&db, &log, true);
    until("s1 is memoized", || async { memoized(&conn).await == 1 }).await;
    drop(child); // SIGKILL while s2 is in flight, before its side effect
    assert_eq!(lines(&log), vec!["s1"], "killed between steps");

    let child = spawn_child(&db, &log, false);
    until("the durable sleep is pending", || async {
        memoized(&conn).await == 2 && sleeping(&conn).await
    })
    .await;
    drop(child); // SIGKILL during the sleep
    assert_eq!(lines(&log), vec!["s1", "s2"]);

    let _child = spawn_child(&db, &log, false);
    until("the run completes", || async {
        run::Entity::find()
            .filter(run::Column::Status.eq("completed"))
            .count(&conn)
            .await
            .unwrap_or(0)
            == 1
    })
    .await;
    assert_eq!(
        lines(&log),
        vec!["s1", "s2", "s3", "s4"],
        "each step executed exactly once"
    );
    let finished = run::Entity::find()
        .one(&conn)
        .await
        .unwrap()
        .expect("the run");
    assert_eq!(finished.output.as_deref(), Some(r#"["s1","s2","s3","s4"]"#));
    assert_eq!(
        run::Entity::find().count(&conn).await.unwrap(),
        1,
        "the event started one run"
    );
}
