//! The home page: the product grid with stock badges that follow orders as they happen.

use leptos::prelude::*;
use leptos_meta::Title;

use super::live::{refresh_on_messages, ADMIN_CHANNEL};
use super::product_card::ProductGrid;
use super::server::{get_catalog, ProductCard};

#[component]
pub fn HomePage() -> impl IntoView {
    let products = Resource::new(|| (), |()| get_catalog());
    view! {
        <Title text="Home"/>
        <section class="hero">
            <p class="eyebrow">"Limited drop"</p>
            <h1>"Swag that ships through durable functions."</h1>
            <p class="lede">
                "Every order runs as a durable function you can watch step by step, "
                "from payment to the parcel leaving the shelf."
            </p>
        </section>
        <section aria-labelledby="catalog-heading">
            <h2 id="catalog-heading" class="section-title">"The catalog"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading the catalog…"</p> }>
                {move || Suspend::new(async move {
                    match products.await {
                        Ok(products) => view! { <LiveCatalog products/> }.into_any(),
                        Err(error) => {
                            view! {
                                <p class="error" role="alert">
                                    "The catalog could not be loaded: " {error.to_string()}
                                </p>
                            }
                                .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The grid, refreshed whenever an order moves (its stock may have changed).
#[component]
fn LiveCatalog(products: Vec<ProductCard>) -> impl IntoView {
    let products = RwSignal::new(products);
    Effect::new(move |_| refresh_on_messages(ADMIN_CHANNEL, &["order"], products, get_catalog));
    view! { <ProductGrid products/> }
}
