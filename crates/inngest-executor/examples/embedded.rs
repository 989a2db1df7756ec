//! A store-like app that runs its durable functions with the embedded executor: the SDK's serve
//! handler at `/api/inngest`, the executor's endpoints and dashboard at `/_inngest`.
//!
//! `cargo run -p inngest-executor --example embedded` then open http://127.0.0.1:3000/_inngest
//! (`PORT` and `DATABASE_URL` override the defaults).

use std::time::Duration;

use inngest::{Config, Context, Error, Function, FunctionOpts, Inngest, ServeHandler, Trigger};
use inngest_executor::Executor;
use serde_json::{json, Value};

const SIGNING_KEY: &str = "signkey-dev-0123456789abcdef0123456789abcdef";

fn fulfill() -> Result<Function, inngest::ConfigError> {
    Function::new(
        FunctionOpts::new("fulfill-order")
            .trigger(Trigger::event("shop/order.placed"))
            .retries(3),
        |ctx: Context<Value>| async move {
            let charged: Value = ctx
                .step
                .run("charge", || async {
                    Ok::<_, Error>(json!({"status": "charged"}))
                })
                .await?;
            ctx.step.sleep("cool-off", Duration::from_secs(1)).await;
            let shipped: String = ctx
                .step
                .run("ship", || async { Ok::<_, Error>("label-123".to_owned()) })
                .await?;
            Ok::<_, Error>(
                json!({ "order": ctx.event.data["id"], "charge": charged, "label": shipped }),
            )
        },
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let database =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://embedded.db?mode=rwc".into());
    let base = format!("http://127.0.0.1:{port}");
    let client = Inngest::builder(
        Config::new("shop")
            .with_cloud()
            .with_signing_key(SIGNING_KEY)
            .with_event_key("local")
            .with_base_url(format!("{base}/_inngest")),
    )
    .build();
    let handler = ServeHandler::new(client.clone(), vec![fulfill()?])?;
    let executor = Executor::builder()
        .database(inngest_executor::connect_and_migrate(&database).await?)
        .signing_key(SIGNING_KEY)
        .event_key("local")
        .build()
        .await?;
    let app: axum::Router = handler
        .into_router()
        .nest("/_inngest", executor.router().merge(executor.dashboard()));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    executor.sync_app(&format!("{base}/api/inngest")).await?;
    let id = client
        .send_one(&inngest::Event::new(
            "shop/order.placed",
            json!({"id": "o-1"}),
        ))
        .await?;
    println!("sent event {id}; runs at {base}/_inngest (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    executor.shutdown();
    Ok(())
}
