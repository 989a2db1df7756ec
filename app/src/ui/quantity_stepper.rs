//! A − / + quantity picker bounded to 1 and a maximum (the variant's stock, at most what one
//! checkout line accepts).

use super::hydrated::use_hydrated;
use leptos::prelude::*;

const MIN_QUANTITY: u32 = 1;

/// The quantity after pressing − (`-1`) or + (`+1`): stays within 1 to `max` (1 when `max` is 0).
pub fn step(quantity: u32, delta: i32, max: u32) -> u32 {
    quantity
        .saturating_add_signed(delta)
        .clamp(MIN_QUANTITY, max.max(MIN_QUANTITY))
}

#[component]
pub fn QuantityStepper(
    quantity: RwSignal<u32>,
    /// The most that may be picked; the stepper is disabled at 0.
    #[prop(into)]
    max: Signal<u32>,
) -> impl IntoView {
    let hydrated = use_hydrated();
    let cannot_decrease = move || !hydrated.get() || quantity.get() <= MIN_QUANTITY;
    let cannot_increase = move || !hydrated.get() || quantity.get() >= max.get();
    view! {
        <div class="stepper" role="group" aria-label="Quantity">
            <button
                type="button"
                aria-label="Decrease quantity"
                disabled=cannot_decrease
                on:click=move |_| quantity.update(|q| *q = step(*q, -1, max.get_untracked()))
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
                on:click=move |_| quantity.update(|q| *q = step(*q, 1, max.get_untracked()))
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
        assert_eq!(step(1, 1, 99), 2);
        assert_eq!(step(2, -1, 99), 1);
    }

    #[test]
    fn never_leaves_one_to_max() {
        assert_eq!(step(MIN_QUANTITY, -1, 99), MIN_QUANTITY);
        assert_eq!(step(99, 1, 99), 99);
        assert_eq!(step(4, 1, 4), 4);
        assert_eq!(step(1, 1, 0), 1);
    }
}
