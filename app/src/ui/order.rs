//! `/orders/{orderId}`: the order's fulfilment run, live — status headline, a card per step,
//! and the log — from the timeline on first render, then refreshed on every message of the
//! order's realtime channel. Works before the order row exists (the run writes it late). The
//! unlocked page of the order this browser just paid for empties its cart.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::cart::use_cart;
use super::format::dollars;
use super::live::{order_channel, refresh_on_messages};
use super::not_found::NotFound;
use super::order_steps::{headline, latest_status, log_message, step_cards, StepState};
use super::server::{get_order_progress, OrderProgress, OrderSummary};

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let order_id = move || params.read().get("id").unwrap_or_default();
    let progress = Resource::new(order_id, get_order_progress);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the order…"</p> }>
            {move || Suspend::new(async move {
                match progress.await {
                    Ok(Some(progress)) => view! { <LiveOrder progress/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(error) => {
                        view! {
                            <p class="error" role="alert">
                                "The order could not be loaded: " {error.to_string()}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveOrder(progress: OrderProgress) -> impl IntoView {
    let order_id = progress.order_id.clone();
    let channel = order_channel(&order_id);
    if progress.unlocked {
        let (cart, order_id) = (use_cart(), order_id.clone());
        Effect::new(move |_| cart.order_confirmed(&order_id));
    }
    let progress = RwSignal::new(progress);
    {
        let (order_id, channel) = (order_id.clone(), channel.clone());
        Effect::new(move |_| {
            let order_id = order_id.clone();
            refresh_on_messages(&channel, &["step", "status"], progress, move || {
                let order_id = order_id.clone();
                async move {
                    get_order_progress(order_id)
                        .await?
                        .ok_or_else(|| ServerFnError::new("not an order id"))
                }
            });
        });
    }

    let cards = Memo::new(move |_| {
        progress.with(|p| {
            let discount_used = p.order.as_ref().is_some_and(|o| o.discount_code.is_some());
            step_cards(&p.entries, discount_used)
        })
    });
    let status = Memo::new(move |_| {
        progress.with(|p| {
            latest_status(&p.entries)
                .map(str::to_owned)
                .or_else(|| p.order.as_ref().map(|o| o.status.clone()))
        })
    });
    let all_done = move || cards.with(|c| c.iter().all(|c| c.state == StepState::Complete));
    let any_failed = move || cards.with(|c| c.iter().any(|c| c.state == StepState::Failed));
    let label = move || {
        if any_failed() || status.with(|s| s.as_deref() == Some("failed")) {
            "RUN FAILED"
        } else if all_done() {
            "ALL STEPS COMPLETE"
        } else if progress.with(|p| p.entries.is_empty() && p.order.is_none()) {
            "WAITING FOR THE RUN TO START · LIVE"
        } else {
            "IN PROGRESS · LIVE"
        }
    };
    view! {
        <Title text=format!("Order {order_id}")/>
        <section class="order-hero">
            <p class="eyebrow">{label}</p>
            <h1 data-testid="order-headline">{move || headline(status.get().as_deref())}</h1>
            <p class="lede">
                "You're watching the fulfilment function run: each step is retried on its own, "
                "recorded, and shown here as it happens (channel "
                <code>{channel}</code>
                ")."
            </p>
            {move || view! { <OrderFacts order_id=order_id.clone() summary=progress.with(|p| p.order.clone())/> }}
        </section>
        <section aria-labelledby="steps-heading">
            <h2 id="steps-heading" class="section-title">
                {move || {
                    let (done, total) = cards
                        .with(|c| {
                            (c.iter().filter(|c| c.state == StepState::Complete).count(), c.len())
                        });
                    format!("Durable steps · {done} of {total}")
                }}
            </h2>
            <ol class="steps">
                {move || {
                    cards
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(index, card)| {
                            let state = card.state.as_str();
                            view! {
                                <li class=format!("step {state}") data-step=card.name.clone() data-state=state>
                                    <span class="step-number">{format!("{:02}", index + 1)}</span>
                                    <h3>{card.label}</h3>
                                    <code>{format!("step.run(\"{}\")", card.name)}</code>
                                    <span class="step-state">{state}</span>
                                    {card.detail.map(|detail| view! { <pre>{detail}</pre> })}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
        </section>
        <section aria-labelledby="log-heading">
            <h2 id="log-heading" class="section-title">"Realtime log"</h2>
            <ol class="log" data-testid="order-log">
                {move || {
                    progress
                        .with(|p| {
                            if p.entries.is_empty() {
                                return view! {
                                    <li class="waiting">"Waiting for the store/order.placed event…"</li>
                                }
                                    .into_any();
                            }
                            p.entries
                                .iter()
                                .map(|entry| {
                                    let level = if entry.status == "failed" { "ERROR" } else { "INFO" };
                                    view! {
                                        <li>
                                            <span class="log-time">{entry.at.clone()}</span>
                                            <span class=format!("log-level {}", level.to_lowercase())>{level}</span>
                                            <span>{log_message(entry)}</span>
                                        </li>
                                    }
                                })
                                .collect_view()
                                .into_any()
                        })
                }}
            </ol>
        </section>
    }
}

/// Order id, customer (masked unless unlocked), items, total, tracking.
#[component]
fn OrderFacts(order_id: String, summary: Option<OrderSummary>) -> impl IntoView {
    let Some(order) = summary else {
        return view! {
            <dl class="facts order-facts">
                <dt>"Order"</dt>
                <dd><code>{order_id}</code></dd>
                <dt>"Details"</dt>
                <dd>"Recorded once the run reaches the record-order step."</dd>
            </dl>
        }
        .into_any();
    };
    let name = match order.name {
        Some(name) => view! { <dd data-testid="order-name">{name}</dd> }.into_any(),
        None => view! {
            <dd class="muted" data-testid="order-name">
                "Hidden — open the link from your confirmation to see it"
            </dd>
        }
        .into_any(),
    };
    let total = format!(
        "{} {}",
        dollars(order.total_cents),
        order.currency.to_uppercase()
    );
    let tracking = (!order.tracking.trim().is_empty()).then(|| {
        view! {
            <dt>"Tracking"</dt>
            <dd><code>{order.tracking.clone()}</code></dd>
        }
    });
    view! {
        <dl class="facts order-facts">
            <dt>"Order"</dt>
            <dd><code>{order_id}</code></dd>
            <dt>"Email"</dt>
            <dd data-testid="order-email">{order.email}</dd>
            <dt>"Name"</dt>
            {name}
            <dt>"Items"</dt>
            <dd>{order.items}</dd>
            <dt>"Total"</dt>
            <dd>{total}</dd>
            {tracking}
        </dl>
    }
    .into_any()
}
