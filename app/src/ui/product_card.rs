//! A product in a grid: its cover (photo or coloured block), name, price and stock badge.

use leptos::prelude::*;
use leptos_router::components::A;

use super::format::{dollars, stock_badge};
use super::server::ProductCard;

/// The cover of a product: its photo, or a block in the product's cover colour.
#[component]
pub fn ProductCover(product: ProductCard) -> impl IntoView {
    let class = format!("cover cover-{}", product.cover);
    let tag = (!product.corner_tag.is_empty()).then(|| {
        view! { <span class="corner-tag">{product.corner_tag.clone()}</span> }
    });
    let art = if product.image.is_empty() {
        view! { <span class="cover-type" aria-hidden="true">{product.product_type.clone()}</span> }
            .into_any()
    } else {
        view! { <img src=product.image.clone() alt=product.name.clone() loading="lazy"/> }
            .into_any()
    };
    view! { <div class=class>{tag} {art}</div> }
}

/// A grid of products, each linking to its page; re-renders a tile when its stock changes.
#[component]
pub fn ProductGrid(#[prop(into)] products: Signal<Vec<ProductCard>>) -> impl IntoView {
    view! {
        <ul class="product-grid">
            <For each=move || products.get() key=|product| product.clone() let:product>
                <ProductTile product/>
            </For>
        </ul>
    }
    .into_any()
}

#[component]
fn ProductTile(product: ProductCard) -> impl IntoView {
    let href = format!("/products/{}", product.slug);
    let badge_class = if product.stock > 0 {
        "badge"
    } else {
        "badge sold-out"
    };
    view! {
        <li class="product-tile">
            <A href=href>
                <ProductCover product=product.clone()/>
                <div class="tile-text">
                    <h3>{product.name.clone()}</h3>
                    <p class="tagline">{product.tagline.clone()}</p>
                    <p class="tile-meta">
                        <span class="price">{dollars(product.price_cents)}</span>
                        <span class=badge_class data-testid=format!("stock-{}", product.slug)>
                            {stock_badge(product.stock)}
                        </span>
                    </p>
                </div>
            </A>
        </li>
    }
}
