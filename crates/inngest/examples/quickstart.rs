//! Quick start: serve two functions with axum at http://localhost:3000/api/inngest.
//!
//! ```sh
//! INNGEST_DEV=1 cargo run -p inngest --example quickstart
//! npx inngest-cli@latest dev -u http://localhost:3000/api/inngest
//! ```
//! Then send `demo/user.signed_up` with `{"email": "ada@example.com"}` from the dev server UI.

use std::time::Duration;

use inngest::{
    Config, Context, Error, Event, Function, FunctionOpts, Inngest, ServeHandler, Trigger,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Serialize, Clone)]
struct SignedUp {
    email: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter("info,inngest=debug")
        .init();
    let client = Inngest::builder(Config::from_env("quickstart")).build();

    let welcome = Function::new(
        FunctionOpts::new("welcome")
            .name("Welcome a new user")
            .trigger(Trigger::event("demo/user.signed_up"))
            .retries(3),
        |ctx: Context<SignedUp>| async move {
            let domain: String = ctx
                .step
                .run("find-domain", || async {
                    let email = &ctx.event.data.email;
                    email
                        .split('@')
                        .nth(1)
                        .map(str::to_owned)
                        .ok_or_else(|| Error::non_retriable("no @ in email"))
                })
                .await?;
            ctx.step
                .sleep("wait-a-moment", Duration::from_secs(5))
                .await;
            let sent = ctx
                .step
                .send_event(
                    "announce",
                    vec![Event::new("demo/user.welcomed", ctx.event.data.clone())],
                )
                .await?;
            Ok::<_, Error>(serde_json::json!({ "domain": domain, "events": sent.ids }))
        },
    )?;

    let daily = Function::new(
        FunctionOpts::new("daily-report")
            .trigger(Trigger::cron("0 9 * * *").with_timezone("Europe/Paris")),
        |ctx: Context<serde_json::Value>| async move {
            let n: u32 = ctx
                .step
                .run("count", || async { Ok::<_, Error>(42) })
                .await?;
            Ok::<_, Error>(n)
        },
    )?;

    let app: axum::Router = ServeHandler::new(client, vec![welcome, daily])?.into_router();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
    tracing::info!("serving functions at http://localhost:3000/api/inngest");
    axum::serve(listener, app).await?;
    Ok(())
}
