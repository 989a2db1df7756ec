//! `/products/{slug}`: a product with its live inventory, colour and size pickers (sold-out
//! sizes disabled), a quantity capped at the chosen variant's stock, add-to-cart, and the rest of
//! the catalog.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::cart::{self, use_cart, CartLine};
use super::format::{dollars, size_label};
use super::hydrated::use_hydrated;
use super::live::{refresh_on_messages, ADMIN_CHANNEL};
use super::not_found::NotFound;
use super::product_card::{ProductCover, ProductGrid};
use super::quantity_stepper::QuantityStepper;
use super::server::{get_product, ProductDetail, Variant};

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let detail = Resource::new(slug, get_product);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the product…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(detail)) => view! { <LiveProduct detail/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(error) => {
                        view! {
                            <p class="error" role="alert">
                                "The product could not be loaded: " {error.to_string()}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The first colour with stock (else the first colour), and its first size with stock.
fn initial_choice(detail: &ProductDetail) -> (String, Option<String>) {
    let in_stock = detail.variants.iter().find(|v| v.stock > 0);
    let color = in_stock
        .map(|v| v.color.clone())
        .or_else(|| detail.colors.first().map(|c| c.name.clone()))
        .unwrap_or_default();
    (color, in_stock.map(|v| v.size.clone()))
}

/// The product, refreshed whenever an order moves (its stock may have changed).
#[component]
fn LiveProduct(detail: ProductDetail) -> impl IntoView {
    let (initial_color, initial_size) = initial_choice(&detail);
    let slug = detail.card.slug.clone();
    let title = detail.card.name.clone();
    let detail = RwSignal::new(detail);
    Effect::new(move |_| {
        let slug = slug.clone();
        refresh_on_messages(ADMIN_CHANNEL, &["order"], detail, move || {
            let slug = slug.clone();
            async move {
                get_product(slug)
                    .await?
                    .ok_or_else(|| ServerFnError::new("the product is no longer in the catalog"))
            }
        });
    });

    let color = RwSignal::new(initial_color);
    let size = RwSignal::new(initial_size);
    let quantity = RwSignal::new(1_u32);
    let sizes = Memo::new(move |_| {
        let color = color.get();
        detail.with(|d| {
            d.variants
                .iter()
                .filter(|v| v.color == color)
                .cloned()
                .collect::<Vec<Variant>>()
        })
    });
    let chosen = Memo::new(move |_| {
        let size = size.get();
        sizes.with(|variants| {
            variants
                .iter()
                .find(|v| Some(&v.size) == size.as_ref())
                .cloned()
        })
    });
    let available = Signal::derive(move || {
        chosen.with(|v| {
            v.as_ref()
                .map_or(0, |v| v.stock.clamp(0, cart::MAX_PER_LINE)) as u32
        })
    });
    // Keeps the quantity within what is left when the size or the stock changes.
    Effect::new(move |_| {
        let max = available.get().max(1);
        if quantity.get_untracked() > max {
            quantity.set(max);
        }
    });

    let total_stock = move || detail.with(|d| d.card.stock);
    let card = move || detail.with(|d| d.card.clone());
    let others = Signal::derive(move || detail.with(|d| d.others.clone()));
    view! {
        <Title text=title/>
        <article class="product">
            <div class="product-media">{move || view! { <ProductCover product=card()/> }}</div>
            <div class="product-info">
                <p class="eyebrow">{move || detail.with(|d| d.card.product_type.clone())}</p>
                <h1>{move || detail.with(|d| d.card.name.clone())}</h1>
                <p class="price-large">{move || dollars(detail.with(|d| d.card.price_cents))}</p>
                <p class="live-inventory" data-testid="live-inventory">
                    <span class="live-dot" aria-hidden="true"></span>
                    {move || format!("LIVE INVENTORY · {} AVAILABLE", total_stock())}
                </p>
                <p class="lede">{move || detail.with(|d| d.card.tagline.clone())}</p>
                <p>{move || detail.with(|d| d.blurb.clone())}</p>
                <ColorPicker detail color size/>
                <SizePicker sizes size/>
                <AddToCart detail chosen quantity available/>
                <dl class="facts">
                    <dt>"Fabric"</dt>
                    <dd>{move || detail.with(|d| d.fabric.clone())}</dd>
                    <dt>"Fit"</dt>
                    <dd>{move || detail.with(|d| d.fit.clone())}</dd>
                </dl>
            </div>
        </article>
        <section aria-labelledby="others-heading">
            <h2 id="others-heading" class="section-title">"Other products"</h2>
            <ProductGrid products=others/>
        </section>
    }
}

#[component]
fn ColorPicker(
    detail: RwSignal<ProductDetail>,
    color: RwSignal<String>,
    size: RwSignal<Option<String>>,
) -> impl IntoView {
    let choose = move |name: String| {
        // Keep the size when the new colour has it in stock, else take its first size in stock.
        let keep = detail.with_untracked(|d| {
            let current = size.get_untracked();
            let has = |s: &String| {
                d.variants
                    .iter()
                    .any(|v| v.color == name && &v.size == s && v.stock > 0)
            };
            match current {
                Some(s) if has(&s) => Some(s),
                _ => d
                    .variants
                    .iter()
                    .find(|v| v.color == name && v.stock > 0)
                    .map(|v| v.size.clone()),
            }
        });
        size.set(keep);
        color.set(name);
    };
    view! {
        <fieldset class="picker">
            <legend>"Colour · " {move || {
                let name = color.get();
                detail.with(|d| d.colors.iter().find(|c| c.name == name).map(|c| c.label.clone()))
            }}</legend>
            <div class="chips">
                {move || {
                    detail
                        .with(|d| d.colors.clone())
                        .into_iter()
                        .map(|option| {
                            let name = option.name.clone();
                            let selected = {
                                let name = name.clone();
                                move || color.get() == name
                            };
                            let style = format!("--swatch: {}", option.hex);
                            view! {
                                <button
                                    type="button"
                                    class="chip swatch"
                                    class:selected=selected.clone()
                                    aria-pressed=move || selected().to_string()
                                    style=style
                                    on:click=move |_| choose(name.clone())
                                >
                                    {option.label}
                                </button>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </fieldset>
    }
    .into_any()
}

#[component]
fn SizePicker(sizes: Memo<Vec<Variant>>, size: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <fieldset class="picker">
            <legend>"Size"</legend>
            <div class="chips">
                {move || {
                    sizes
                        .get()
                        .into_iter()
                        .map(|variant| {
                            let value = variant.size.clone();
                            let selected = {
                                let value = value.clone();
                                move || size.get().as_ref() == Some(&value)
                            };
                            let sold_out = variant.stock <= 0;
                            let label = if sold_out {
                                format!("{} — sold out", size_label(&variant.size))
                            } else {
                                format!("{}, {} left", size_label(&variant.size), variant.stock)
                            };
                            view! {
                                <button
                                    type="button"
                                    class="chip"
                                    class:selected=selected.clone()
                                    aria-pressed=move || selected().to_string()
                                    aria-label=label
                                    data-size=variant.size.clone()
                                    disabled=sold_out
                                    on:click=move |_| size.set(Some(value.clone()))
                                >
                                    {size_label(&variant.size).to_owned()}
                                </button>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </fieldset>
    }
    .into_any()
}

#[component]
fn AddToCart(
    detail: RwSignal<ProductDetail>,
    chosen: Memo<Option<Variant>>,
    quantity: RwSignal<u32>,
    available: Signal<u32>,
) -> impl IntoView {
    let cart = use_cart();
    let hydrated = use_hydrated();
    let added = RwSignal::new(None::<String>);
    let sold_out = move || available.get() == 0;
    let add = move |_| {
        let Some(variant) = chosen.get_untracked() else {
            return;
        };
        let line = detail.with_untracked(|d| CartLine {
            product_id: d.card.id.clone(),
            variant_id: variant.id.clone(),
            slug: d.card.slug.clone(),
            name: d.card.name.clone(),
            size: variant.size.clone(),
            color: variant.color.clone(),
            unit_cents: d.card.price_cents,
            quantity: i64::from(quantity.get_untracked()),
        });
        let message = format!(
            "Added {} × {} ({}) to your cart.",
            line.quantity,
            line.name,
            size_label(&line.size)
        );
        cart.lines
            .update(|lines| cart::add(lines, line, variant.stock));
        added.set(Some(message));
    };
    view! {
        <div class="buy">
            <QuantityStepper quantity max=available/>
            <button
                type="button"
                class="button primary"
                disabled=move || !hydrated.get() || sold_out()
                on:click=add
            >
                {move || if sold_out() { "SOLD OUT" } else { "ADD TO CART" }}
            </button>
        </div>
        <p class="notice" role="status" data-testid="added">
            {move || added.get()}
        </p>
    }
    .into_any()
}
