//! How amounts, stock and sizes read on the pages.

/// `3200` → `$32.00` (the store sells in US dollars).
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}${}.{:02}", cents / 100, cents % 100)
}

/// The grid's badge: `N IN STOCK` or `SOLD OUT`.
pub fn stock_badge(stock: i64) -> String {
    if stock > 0 {
        format!("{stock} IN STOCK")
    } else {
        "SOLD OUT".to_owned()
    }
}

/// How a size is shown on a chip.
pub fn size_label(size: &str) -> &str {
    if size == "ONE_SIZE" {
        "One size"
    } else {
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dollars_with_two_decimals() {
        assert_eq!(dollars(3200), "$32.00");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(-1250), "-$12.50");
    }

    #[test]
    fn badges_stock_or_sold_out() {
        assert_eq!(stock_badge(120), "120 IN STOCK");
        assert_eq!(stock_badge(0), "SOLD OUT");
        assert_eq!(size_label("ONE_SIZE"), "One size");
        assert_eq!(size_label("XL"), "XL");
    }
}
