//! The serve handler as an axum `Router`.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::{ServeHandler, ServeRequest};
use crate::config::DEFAULT_SERVE_PATH;

/// Largest request body accepted: the executor sends up to ~4 MB inline before switching to
/// `use_api`, so leave room above that.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

impl ServeHandler {
    /// A router serving the functions at `INNGEST_SERVE_PATH` (default `/api/inngest`).
    pub fn into_router<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let path = self
            .client()
            .config()
            .serve_path
            .clone()
            .unwrap_or_else(|| DEFAULT_SERVE_PATH.to_owned());
        self.into_router_at(&path)
    }

    /// A router serving the functions at `path`.
    pub fn into_router_at<S: Clone + Send + Sync + 'static>(self, path: &str) -> Router<S> {
        let handler = self.with_framework("axum");
        Router::new()
            .route(path, any(serve))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .with_state(handler)
    }
}

async fn serve(
    State(handler): State<ServeHandler>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = handler
        .handle(ServeRequest {
            method,
            uri,
            headers,
            body,
        })
        .await;
    (response.status, response.headers, response.body).into_response()
}
