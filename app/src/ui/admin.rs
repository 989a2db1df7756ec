//! `/admin`: the public live order tracker — recent orders and where each step of their
//! fulfilment run stands, with no customer details — refreshed on every message of the `admin`
//! channel. The management views (inventory, products, orders, discounts, API tokens, imports)
//! join it as tabs once admin sign-in exists.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::live::{refresh_on_messages, ADMIN_CHANNEL};
use super::order_steps::{headline, latest_status, step_cards};
use super::server::{get_tracked_orders, TrackedOrder};

#[component]
pub fn AdminPage() -> impl IntoView {
    let orders = Resource::new(|| (), |()| get_tracked_orders());
    view! {
        <Title text="Admin"/>
        <header class="admin-head">
            <p class="eyebrow">"Admin"</p>
            <h1>"Live orders"</h1>
            <p class="lede">"Every order's fulfilment run as it happens. No customer details are shown here."</p>
        </header>
        // Management tabs go beside this one; they need admin sign-in, which is not built yet.
        <nav class="tabs" aria-label="Admin views">
            <A href="/admin" attr:class="tab" attr:aria-current="page">"Live orders"</A>
        </nav>
        <Suspense fallback=|| view! { <p class="muted">"Loading recent orders…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(orders) => view! { <LiveTracker orders/> }.into_any(),
                    Err(error) => {
                        view! {
                            <p class="error" role="alert">
                                "Recent orders could not be loaded: " {error.to_string()}
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
fn LiveTracker(orders: Vec<TrackedOrder>) -> impl IntoView {
    let orders = RwSignal::new(orders);
    Effect::new(move |_| {
        refresh_on_messages(ADMIN_CHANNEL, &["order"], orders, get_tracked_orders)
    });
    view! {
        <p class="live-inventory">
            <span class="live-dot" aria-hidden="true"></span>
            "LIVE · channel admin"
        </p>
        {move || {
            if orders.with(Vec::is_empty) {
                return view! {
                    <p class="card muted" data-testid="no-orders">
                        "No orders yet. They appear here the moment one is placed."
                    </p>
                }
                    .into_any();
            }
            view! {
                <ul class="tracker" data-testid="tracker">
                    <For each=move || orders.get() key=|order| order.clone() let:order>
                        <TrackedRow order/>
                    </For>
                </ul>
            }
                .into_any()
        }}
    }
}

#[component]
fn TrackedRow(order: TrackedOrder) -> impl IntoView {
    let status = headline(latest_status(&order.entries));
    let updated = order
        .entries
        .last()
        .map(|e| e.at.clone())
        .unwrap_or_default();
    let cards = step_cards(&order.entries, false);
    let (testid, href) = (
        format!("tracked-{}", order.order_id),
        format!("/orders/{}", order.order_id),
    );
    view! {
        <li class="tracked" data-testid=testid>
            <div class="tracked-head">
                <A href=href>
                    <code>{order.order_id}</code>
                </A>
                <span class="tracked-status">{status}</span>
                <span class="muted small">{format!("updated {updated} UTC")}</span>
            </div>
            <ol class="pills">
                {cards
                    .into_iter()
                    .map(|card| {
                        let state = card.state.as_str();
                        view! {
                            <li class=format!("pill {state}") data-step=card.name.clone() data-state=state title=format!("{}: {state}", card.label)>
                                {card.label.clone()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </li>
    }
}
