//! Identifiers minted by the store: order ids (`ord_` + 8 base36) and image ids (`img_` + 18 hex).

use rand::Rng;

const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A new order id, e.g. `ord_k3x9a0zq`.
pub fn new_order_id() -> String {
    let mut rng = rand::thread_rng();
    let suffix: String = (0..8)
        .map(|_| BASE36[rng.gen_range(0..BASE36.len())] as char)
        .collect();
    format!("ord_{suffix}")
}

/// Whether `id` has the shape of an order id.
pub fn is_order_id(id: &str) -> bool {
    id.strip_prefix("ord_")
        .is_some_and(|rest| rest.len() == 8 && rest.bytes().all(|b| BASE36.contains(&b)))
}

/// A new product image id, e.g. `img_0f3a…` (18 hex digits).
pub fn new_image_id() -> String {
    let bytes: [u8; 9] = rand::random();
    format!("img_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_have_their_shape() {
        for _ in 0..100 {
            assert!(is_order_id(&new_order_id()));
        }
        assert!(!is_order_id("ord_SHOUTING"));
        assert!(!is_order_id("order_12345678"));
        let image = new_image_id();
        assert_eq!(image.len(), 4 + 18);
    }
}
