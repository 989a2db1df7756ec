//! Observability for people, mounted under a prefix of the app's choosing (e.g. `/_inngest`):
//! `GET /` recent runs as HTML, `GET /runs/{id}/view` one run as HTML, `GET /runs?limit=` and
//! `GET /runs/{id}` as JSON, `GET /feed` the live feed as server-sent events.

mod html;
mod json;
mod sse;

use axum::routing::get;
use axum::Router;

use crate::Executor;

impl Executor {
    /// The observability router.
    pub fn dashboard<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/", get(html::index))
            .route("/runs", get(json::list))
            .route("/runs/{id}", get(json::one))
            .route("/runs/{id}/view", get(html::run))
            .route("/feed", get(sse::feed))
            .with_state(self.core.clone())
    }
}
