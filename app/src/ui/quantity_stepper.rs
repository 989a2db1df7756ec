//! A − / + quantity picker bounded to what one checkout line accepts (1 to 99).

use super::hydrated::use_hydrated;
use leptos::prelude::*;

const MIN_QUANTITY: u32 = 1;
/// Checkout rejects a line with more than this.
const MAX_QUANTITY: u32 = 99;

/// The quantity after pressing − (`-1`) or + (`+1`): stays within 1 to 99.
fn step(quantity: u32, delta: i32) -> u32 {
    quantity
        .saturating_add_signed(delta)
        .clamp(MIN_QUANTITY, MAX_QUANTITY)
}

#[component]
pub fn QuantityStepper() -> impl IntoView {
    let quantity = RwSignal::new(MIN_QUANTITY);
    let hydrated = use_hydrated();
    let cannot_decrease = move || !hydrated.get() || quantity.get() <= MIN_QUANTITY;
    let cannot_increase = move || !hydrated.get() || quantity.get() >= MAX_QUANTITY;
    view! {
        <div class="stepper" role="group" aria-label="Quantity">
            <button
                type="button"
                aria-label="Decrease quantity"
                disabled=cannot_decrease
                on:click=move |_| quantity.update(|q| *q = step(*q, -1))
            >
                "−"
            </button>
            <output data-testid="quantity" aria-live="polite">
                {move || quantity.get()}
            </output>
            <button
                type="button"
                aria-label="Increase quantity"
                disabled=cannot_increase
                on:click=move |_| quantity.update(|q| *q = step(*q, 1))
            >
                "+"
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_by_one_within_bounds() {
        assert_eq!(step(1, 1), 2);
        assert_eq!(step(2, -1), 1);
    }

    #[test]
    fn never_leaves_one_to_ninety_nine() {
        assert_eq!(step(MIN_QUANTITY, -1), MIN_QUANTITY);
        assert_eq!(step(MAX_QUANTITY, 1), MAX_QUANTITY);
    }
}
