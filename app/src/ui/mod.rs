//! The storefront's components and pages, rendered on the server and hydrated in the browser.
//! Pages render completely on the server (`SsrMode::Async`), so they read without JavaScript;
//! the cart, pickers and live updates start once the wasm client hydrates them.

mod admin;
mod api;
mod cart;
mod checkout;
mod format;
mod home;
mod hydrated;
mod live;
mod not_found;
mod order;
mod order_steps;
mod product;
mod product_card;
mod quantity_stepper;
mod server;

use admin::AdminPage;
use checkout::CheckoutPage;
use home::HomePage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};
use not_found::NotFound;
use order::OrderPage;
use product::ProductPage;

/// The HTML document around the app; only the server renders it.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href="/style/main.css"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let cart = cart::provide_cart();
    let units = move || cart::units(&cart.lines.read());
    view! {
        <Title formatter=|page: String| format!("{page} · Inngest Swag Store")/>
        <Router>
            <header class="site-header">
                <A href="/" attr:class="brand">"Inngest Swag Store"</A>
                <nav class="site-nav" aria-label="Store">
                    <A href="/">"Shop"</A>
                    <A href="/admin">"Live orders"</A>
                    <A href="/checkout" attr:class="cart-link">
                        "Cart "
                        <span class="cart-count" data-testid="cart-count">{units}</span>
                    </A>
                </nav>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/products/:slug") view=ProductPage ssr=SsrMode::Async/>
                    <Route path=path!("/checkout") view=CheckoutPage ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view=AdminPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"Orders are fulfilled by durable functions. Watch yours run on its order page."</p>
            </footer>
        </Router>
    }
}
