//! Whether the wasm client has taken over the page. Controls that only work with it read this
//! to stay disabled until then, rather than silently ignoring early clicks.

use leptos::prelude::*;

/// `false` in the server's HTML and during hydration, `true` once effects run in the browser.
pub fn use_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    // Effects never run on the server.
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}
