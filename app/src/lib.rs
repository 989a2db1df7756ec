//! The swag store: Leptos pages shared by the server and the browser, plus the server's settings,
//! start-up and HTTP routes (feature `ssr`) and the browser's hydration entry point (feature
//! `hydrate`).

#[cfg(feature = "ssr")]
pub mod admin_auth;
#[cfg(feature = "ssr")]
pub mod bundle;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod durable;
#[cfg(feature = "ssr")]
pub mod events;
#[cfg(feature = "ssr")]
pub mod functions;
#[cfg(feature = "ssr")]
pub mod integrations;
#[cfg(feature = "ssr")]
pub mod page_cache;
#[cfg(feature = "ssr")]
pub mod progress;
#[cfg(feature = "ssr")]
pub mod realtime;
#[cfg(feature = "ssr")]
mod routes;
#[cfg(feature = "ssr")]
pub mod startup;
#[cfg(feature = "ssr")]
pub mod state;
pub mod ui;

/// Called by the generated JS glue once the wasm module has loaded: attaches the app's
/// behaviour to the server-rendered HTML already in the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(ui::App);
}
