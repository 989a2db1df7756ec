//! The home page. The product grid lands here next; for now it welcomes and offers the quantity
//! picker that product pages will use.

use super::quantity_stepper::QuantityStepper;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
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
        <section class="card" aria-labelledby="quantity-heading">
            <h2 id="quantity-heading">"The catalog is on its way"</h2>
            <p>"Meanwhile, pick how many tees you'd take:"</p>
            <QuantityStepper/>
        </section>
    }
}
