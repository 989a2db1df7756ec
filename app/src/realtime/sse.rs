//! `GET /api/realtime/{channel}`: the messages of one channel as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::Stream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::StreamExt;

use super::Realtime;

/// Streams `channel`'s messages (`event: <topic>`, `data: <message JSON>`).
pub async fn subscribe(
    State(realtime): State<Realtime>,
    Path(channel): Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream =
        BroadcastStream::new(realtime.subscribe()).filter_map(move |received| match received {
            Ok(message) if message.channel == channel => {
                let event = Event::default()
                    .event(message.topic.clone())
                    .json_data(&message)
                    .ok()?;
                Some(Ok(event))
            }
            Ok(_) => None,
            // A lagging browser skips what it missed; the page refetches state on reconnect.
            Err(BroadcastStreamRecvError::Lagged(_)) => None,
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
