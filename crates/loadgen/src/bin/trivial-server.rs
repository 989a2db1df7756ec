//! The baseline for scripts/bench-store: an axum server (multi-threaded tokio, as the store
//! runs) whose one handler answers `GET /` with a fixed short HTML body. Whatever the store
//! spends beyond this is its own cost. Env `PORT` (0 = any free port); prints
//! `listening on http://127.0.0.1:PORT` once it accepts connections.

use axum::response::Html;
use axum::routing::get;
use axum::Router;

const BODY: &str = "<!doctype html><title>trivial</title><p>hello</p>";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::var("PORT") {
        Ok(value) => value.trim().parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("PORT={value:?} is not a port number"),
            )
        })?,
        Err(_) => 0,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/", get(|| async { Html(BODY) }));
    axum::serve(listener, app).await
}
