//! `/checkout`: the cart with editable quantities, a discount code (checked by the store and
//! dropped when the cart changes), and the button that opens a Stripe Checkout session.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::A;

use super::api::{self, DiscountQuote};
use super::cart::{self, use_cart, Cart, CartLine};
use super::format::{dollars, size_label};

/// A code the store accepted, and the cart it was accepted for.
#[derive(Debug, Clone, PartialEq)]
struct Applied {
    lines: Vec<CartLine>,
    quote: DiscountQuote,
}

#[component]
pub fn CheckoutPage() -> impl IntoView {
    let cart = use_cart();
    let applied = RwSignal::new(None::<Applied>);
    // A changed cart drops the applied code: its amount was for the old cart.
    Effect::new(move |_| {
        let lines = cart.lines.get();
        let stale = applied.with_untracked(|a| a.as_ref().is_some_and(|a| a.lines != lines));
        if stale {
            applied.set(None);
        }
    });
    view! {
        <Title text="Checkout"/>
        <h1>"Checkout"</h1>
        <noscript>
            <p class="error">"Checkout needs JavaScript: your cart lives in this browser."</p>
        </noscript>
        {move || {
            if !cart.loaded.get() {
                view! { <p class="muted">"Loading your cart…"</p> }.into_any()
            } else if cart.lines.with(Vec::is_empty) {
                view! {
                    <section class="card empty-cart">
                        <p>"Your cart is empty."</p>
                        <A href="/">"Browse the store"</A>
                    </section>
                }
                    .into_any()
            } else {
                view! {
                    <div class="checkout">
                        <CartLines cart/>
                        <Summary cart applied/>
                    </div>
                }
                    .into_any()
            }
        }}
    }
}

#[component]
fn CartLines(cart: Cart) -> impl IntoView {
    let set = move |variant_id: String, quantity: i64| {
        cart.lines
            .update(|lines| cart::set_quantity(lines, &variant_id, quantity));
    };
    view! {
        <ul class="cart-lines" aria-label="Your cart">
            <For
                each=move || cart.lines.get()
                key=|line| (line.variant_id.clone(), line.quantity)
                let:line
            >
                {
                    let quantity = line.quantity;
                    let variant_id = line.variant_id.clone();
                    let set_line = move |quantity| set(variant_id.clone(), quantity);
                    let decrease = {
                        let set_line = set_line.clone();
                        move |_: MouseEvent| set_line(quantity - 1)
                    };
                    let increase = {
                        let set_line = set_line.clone();
                        move |_: MouseEvent| set_line(quantity + 1)
                    };
                    let remove = move |_: MouseEvent| set_line(0);
                    view! {
                        <li class="cart-line" data-testid="cart-line" data-variant=line.variant_id.clone()>
                            <div>
                                <A href=format!("/products/{}", line.slug)>{line.name.clone()}</A>
                                <p class="muted">
                                    {format!("{} · {}", size_label(&line.size), line.color)}
                                </p>
                            </div>
                            <div class="stepper small" role="group" aria-label="Quantity">
                                <button
                                    type="button"
                                    aria-label="Decrease quantity"
                                    on:click=decrease
                                >
                                    "−"
                                </button>
                                <output data-testid="line-quantity">{quantity}</output>
                                <button
                                    type="button"
                                    aria-label="Increase quantity"
                                    disabled={quantity >= cart::MAX_PER_LINE}
                                    on:click=increase
                                >
                                    "+"
                                </button>
                            </div>
                            <span class="line-total">{dollars(line.unit_cents * quantity)}</span>
                            <button
                                type="button"
                                class="link-button"
                                on:click=remove
                            >
                                "Remove"
                            </button>
                        </li>
                    }
                }
            </For>
        </ul>
    }
}

#[component]
fn Summary(cart: Cart, applied: RwSignal<Option<Applied>>) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let discount_error = RwSignal::new(None::<String>);
    let checkout_error = RwSignal::new(None::<String>);
    let checking = RwSignal::new(false);
    let paying = RwSignal::new(false);

    let apply = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let entered = code.get_untracked().trim().to_owned();
        if entered.is_empty() {
            discount_error.set(Some("Enter a discount code first.".to_owned()));
            return;
        }
        let lines = cart.lines.get_untracked();
        checking.set(true);
        discount_error.set(None);
        spawn_local(async move {
            match api::validate_discount(&entered, &lines).await {
                Ok(quote) => applied.set(Some(Applied { lines, quote })),
                Err(error) => {
                    applied.set(None);
                    discount_error.set(Some(error.to_string()));
                }
            }
            checking.set(false);
        });
    };
    let pay = move |_| {
        let lines = cart.lines.get_untracked();
        let code = applied.with_untracked(|a| a.as_ref().map(|a| a.quote.discount.code.clone()));
        paying.set(true);
        checkout_error.set(None);
        spawn_local(async move {
            match api::create_checkout_session(&lines, code.as_deref()).await {
                // The button stays busy: the browser is leaving for Stripe.
                Ok(session) => {
                    cart.checked_out_as(&session.order_id);
                    if window().location().set_href(&session.url).is_err() {
                        paying.set(false);
                        checkout_error.set(Some("Could not open Stripe Checkout.".to_owned()));
                    }
                }
                Err(error) => {
                    paying.set(false);
                    checkout_error.set(Some(error.to_string()));
                }
            }
        });
    };

    let subtotal = move || cart.lines.with(|lines| cart::subtotal_cents(lines));
    view! {
        <aside class="summary card" aria-label="Order summary">
            <dl class="totals">
                <dt>"Items"</dt>
                <dd data-testid="cart-units">{move || cart.lines.with(|l| cart::units(l))}</dd>
                <dt>"Subtotal"</dt>
                <dd>{move || dollars(subtotal())}</dd>
                {move || {
                    applied
                        .get()
                        .map(|a| {
                            let discount = a.quote.discount;
                            view! {
                                <dt data-testid="applied-code">
                                    {format!("{} · {}", discount.code, discount.label)}
                                </dt>
                                <dd>{dollars(-discount.discount_cents)}</dd>
                                <dt class="total">"Total"</dt>
                                <dd class="total">{dollars(a.quote.total_after_discount_cents)}</dd>
                            }
                        })
                }}
            </dl>
            <form class="discount" on:submit=apply>
                <label for="discount-code">"Discount code"</label>
                <div class="inline">
                    <input
                        id="discount-code"
                        name="code"
                        autocomplete="off"
                        spellcheck="false"
                        bind:value=code
                    />
                    <button type="submit" class="button" disabled=move || checking.get()>
                        "APPLY"
                    </button>
                </div>
                <p class="error" role="alert" data-testid="discount-error">
                    {move || discount_error.get()}
                </p>
            </form>
            <button
                type="button"
                class="button primary wide"
                disabled=move || paying.get()
                on:click=pay
            >
                {move || if paying.get() { "OPENING STRIPE…" } else { "CREATE STRIPE SESSION" }}
            </button>
            <p class="error" role="alert" data-testid="checkout-error">
                {move || checkout_error.get()}
            </p>
            <p class="muted small">"Prices are checked again on the server before you pay."</p>
        </aside>
    }
}
