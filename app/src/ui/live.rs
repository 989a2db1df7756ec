//! Live pages: a page listens to a realtime channel (server-sent events from
//! `/api/realtime/{channel}`) and fetches its state again whenever the channel says something
//! changed, and on every (re)connect, so nothing published while it was offline is missed. The
//! server stays the one source of truth; messages only say "look again".

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::wasm_bindgen::closure::Closure;
use web_sys::wasm_bindgen::JsCast;
use web_sys::{Event, EventSource};

/// The channel of order and stock changes across the store (`crate::realtime::ADMIN_CHANNEL`).
pub const ADMIN_CHANNEL: &str = "admin";

/// The channel of one order's progress (`crate::realtime::order_channel`).
pub fn order_channel(order_id: &str) -> String {
    format!("order:{order_id}")
}

/// Keeps `state` fresh from `fetch` while the calling component lives: fetches on connect and
/// on every message of `topics` on `channel`. Call it from an effect (browser only).
pub fn refresh_on_messages<T, F, Fut>(
    channel: &str,
    topics: &'static [&'static str],
    state: RwSignal<T>,
    fetch: F,
) where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, ServerFnError>> + 'static,
{
    let url = format!("/api/realtime/{}", encode_segment(channel));
    let source = match EventSource::new(&url) {
        Ok(source) => source,
        Err(error) => {
            leptos::logging::warn!("live updates unavailable for {channel}: {error:?}");
            return;
        }
    };
    let refresher = Rc::new(Refresher {
        busy: Cell::new(false),
        again: Cell::new(false),
        state,
        fetch,
    });
    let on_event = Closure::<dyn Fn(Event)>::new(move |_: Event| refresher.clone().refresh());
    let listener = on_event.as_ref().unchecked_ref();
    for event in topics.iter().copied().chain(["open"]) {
        if let Err(error) = source.add_event_listener_with_callback(event, listener) {
            leptos::logging::warn!("could not listen for {event} on {channel}: {error:?}");
        }
    }
    // Dropped, and so closed, when the component's owner is cleaned up.
    StoredValue::new_local(Subscription {
        source,
        _on_event: on_event,
    });
}

/// An open `EventSource` and the callback it calls.
struct Subscription {
    source: EventSource,
    _on_event: Closure<dyn Fn(Event)>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// Runs one fetch at a time; messages arriving meanwhile cause exactly one more.
struct Refresher<T: Send + Sync + 'static, F> {
    busy: Cell<bool>,
    again: Cell<bool>,
    state: RwSignal<T>,
    fetch: F,
}

impl<T, F, Fut> Refresher<T, F>
where
    T: Send + Sync + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, ServerFnError>> + 'static,
{
    fn refresh(self: Rc<Self>) {
        if self.busy.replace(true) {
            self.again.set(true);
            return;
        }
        spawn_local(async move {
            loop {
                self.again.set(false);
                match (self.fetch)().await {
                    Ok(fresh) => {
                        // `Some` gives the value back: the page went while the fetch was out.
                        if self.state.try_set(fresh).is_some() {
                            break;
                        }
                    }
                    Err(error) => leptos::logging::warn!("live refresh failed: {error}"),
                }
                if !self.again.get() {
                    break;
                }
            }
            self.busy.set(false);
        });
    }
}

/// Percent-encodes what a path segment cannot hold (channel names are ids and `:`).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::encode_segment;

    #[test]
    fn channel_names_stay_readable_and_safe_in_a_path() {
        assert_eq!(encode_segment("order:ord_ab12cd34"), "order:ord_ab12cd34");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
