//! The page for any path or product the store does not know; the server sends it with status 404.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"We couldn't find that page. It may have sold out of existence."</p>
            <A href="/">"Back to the store"</A>
        </section>
    }
}
