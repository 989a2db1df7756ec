//! The store's server: reads settings from the environment and serves until stopped.

use std::process::ExitCode;
use swag_store::{config::Settings, startup::Application};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Settings from `.env.local` when present; variables already set in the environment win.
    let env_file = dotenvy::from_filename(".env.local");
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match env_file {
        Ok(path) => tracing::info!("read settings from {}", path.display()),
        Err(error) if error.not_found() => {}
        Err(error) => tracing::warn!("ignoring .env.local: {error}"),
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("swag-store: {}", with_causes(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// `error: cause: cause's cause`, as the chain of `source()`s.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(&format!(": {error}"));
        cause = error.source();
    }
    text
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let app = Application::build(settings).await?;
    // scripts/e2e waits for this line and reads the port from it.
    tracing::info!(
        "swag-store listening on {} (public URL {})",
        app.local_url(),
        app.public_url()
    );
    app.run_until_stopped().await?;
    Ok(())
}
