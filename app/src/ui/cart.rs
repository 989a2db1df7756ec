//! The shopper's cart: lives in the browser (`localStorage`, so it survives reloads), merges
//! lines by variant, and drops a line whose quantity falls to zero. The server prices it again
//! at checkout; the prices here are for display.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The `localStorage` key holding the cart as JSON.
pub const STORAGE_KEY: &str = "swag-store-cart";
/// The `localStorage` key naming the order the cart last went to Stripe as.
const CHECKOUT_KEY: &str = "swag-store-checkout-order";
/// Checkout accepts at most this many of one variant.
pub const MAX_PER_LINE: i64 = 99;

/// One variant in the cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CartLine {
    pub product_id: String,
    pub variant_id: String,
    pub slug: String,
    pub name: String,
    pub size: String,
    pub color: String,
    pub unit_cents: i64,
    pub quantity: i64,
}

/// Adds `line`, merging with a line of the same variant; the merged quantity stays within
/// `limit` (the variant's stock) and [`MAX_PER_LINE`].
pub fn add(lines: &mut Vec<CartLine>, line: CartLine, limit: i64) {
    let limit = limit.min(MAX_PER_LINE);
    match lines.iter_mut().find(|l| l.variant_id == line.variant_id) {
        Some(existing) => existing.quantity = (existing.quantity + line.quantity).min(limit),
        None if line.quantity > 0 && limit > 0 => lines.push(CartLine {
            quantity: line.quantity.min(limit),
            ..line
        }),
        None => {}
    }
}

/// Sets a line's quantity; zero or less removes it.
pub fn set_quantity(lines: &mut Vec<CartLine>, variant_id: &str, quantity: i64) {
    if quantity <= 0 {
        lines.retain(|l| l.variant_id != variant_id);
    } else if let Some(line) = lines.iter_mut().find(|l| l.variant_id == variant_id) {
        line.quantity = quantity.min(MAX_PER_LINE);
    }
}

/// Units in the cart.
pub fn units(lines: &[CartLine]) -> i64 {
    lines.iter().map(|l| l.quantity).sum()
}

/// The display subtotal.
pub fn subtotal_cents(lines: &[CartLine]) -> i64 {
    lines.iter().map(|l| l.unit_cents * l.quantity).sum()
}

/// Reads a stored cart, skipping what is not a usable line.
fn parse(stored: &str) -> Vec<CartLine> {
    let lines: Vec<CartLine> = serde_json::from_str(stored).unwrap_or_default();
    let mut cart = Vec::new();
    for line in lines {
        add(&mut cart, line, MAX_PER_LINE);
    }
    cart
}

/// The cart shared by every page.
#[derive(Debug, Clone, Copy)]
pub struct Cart {
    pub lines: RwSignal<Vec<CartLine>>,
    /// `false` on the server and until the browser has read the stored cart.
    pub loaded: RwSignal<bool>,
}

impl Cart {
    /// Remembers that the cart went to Stripe as `order_id`.
    pub fn checked_out_as(&self, order_id: &str) {
        if let Some(storage) = storage() {
            let _saved = storage.set_item(CHECKOUT_KEY, order_id);
        }
    }

    /// Empties the cart once the order it went to Stripe as is confirmed (its page unlocked);
    /// any other order leaves it alone.
    pub fn order_confirmed(&self, order_id: &str) {
        let Some(storage) = storage() else {
            return;
        };
        if storage.get_item(CHECKOUT_KEY).ok().flatten().as_deref() == Some(order_id) {
            let _removed = storage.remove_item(CHECKOUT_KEY);
            let _cleared = storage.remove_item(STORAGE_KEY);
            self.lines.set(Vec::new());
        }
    }
}

/// Provides the cart: empty while rendering on the server, then read from and written back to
/// `localStorage` once the page runs in the browser.
pub fn provide_cart() -> Cart {
    let cart = Cart {
        lines: RwSignal::new(Vec::new()),
        loaded: RwSignal::new(false),
    };
    Effect::new(move |_| {
        let stored = storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .unwrap_or_default();
        cart.lines.set(parse(&stored));
        cart.loaded.set(true);
    });
    Effect::new(move |_| {
        let lines = cart.lines.get();
        if cart.loaded.get() {
            if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&lines)) {
                // A full or blocked storage leaves the cart working for this page view.
                let _saved = storage.set_item(STORAGE_KEY, &json);
            }
        }
    });
    provide_context(cart);
    cart
}

/// The cart [`provide_cart`] made.
pub fn use_cart() -> Cart {
    expect_context::<Cart>()
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(variant_id: &str, quantity: i64) -> CartLine {
        CartLine {
            product_id: "durable-tee".to_owned(),
            variant_id: variant_id.to_owned(),
            slug: "durable-tee".to_owned(),
            name: "Durable Tee".to_owned(),
            size: "M".to_owned(),
            color: "black".to_owned(),
            unit_cents: 3200,
            quantity,
        }
    }

    #[test]
    fn adding_the_same_variant_merges_within_stock() {
        let mut lines = Vec::new();
        add(&mut lines, line("tee-m", 2), 10);
        add(&mut lines, line("tee-l", 1), 10);
        add(&mut lines, line("tee-m", 9), 10);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].quantity, 10);
        assert_eq!(units(&lines), 11);
        assert_eq!(subtotal_cents(&lines), 11 * 3200);
    }

    #[test]
    fn nothing_is_added_beyond_zero_stock() {
        let mut lines = Vec::new();
        add(&mut lines, line("tee-m", 1), 0);
        assert!(lines.is_empty());
    }

    #[test]
    fn quantity_zero_or_less_removes_the_line() {
        let mut lines = vec![line("tee-m", 2), line("tee-l", 1)];
        set_quantity(&mut lines, "tee-m", 5);
        assert_eq!(lines[0].quantity, 5);
        set_quantity(&mut lines, "tee-m", 0);
        set_quantity(&mut lines, "tee-l", -3);
        assert!(lines.is_empty());
    }

    #[test]
    fn a_stored_cart_is_read_back_merged_and_bounded() {
        let stored =
            serde_json::to_string(&vec![line("a", 60), line("a", 60), line("b", 0)]).expect("JSON");
        let cart = parse(&stored);
        assert_eq!(cart.len(), 1);
        assert_eq!(cart[0].quantity, MAX_PER_LINE);
        assert!(parse("not json").is_empty());
    }
}
