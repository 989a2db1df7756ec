//! The benchmark's server: app `bench`, function `steps` running `step-{i}` for i in
//! 0..=event.data.n, each returning i. Cloud mode (signatures verified) on a single-threaded
//! runtime; prints `{"port":N}` once listening. Used by `scripts/bench-sdk`.

use inngest::{Config, Context, Error, Function, FunctionOpts, Inngest, ServeHandler, Trigger};
use serde::Deserialize;

#[derive(Deserialize)]
struct Steps {
    n: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
    let client = Inngest::builder(Config::from_env("bench").with_cloud()).build();
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
    )?;
    let app: axum::Router = ServeHandler::new(client, vec![steps])?.into_router();
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("{{\"port\":{}}}", listener.local_addr()?.port());
    axum::serve(listener, app).await?;
    Ok(())
}
