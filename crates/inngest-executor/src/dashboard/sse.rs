//! `GET /feed`: the live feed as server-sent events (`event: <kind>`, JSON data).

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use crate::core::Core;

pub(super) async fn feed(
    State(core): State<Arc<Core>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = BroadcastStream::new(core.feed.subscribe()).filter_map(|update| async move {
        // A slow client that lagged behind skips what it missed.
        let update = update.ok()?;
        Event::default()
            .event(update.kind)
            .json_data(&update)
            .ok()
            .map(Ok)
    });
    Sse::new(updates).keep_alive(KeepAlive::default())
}
