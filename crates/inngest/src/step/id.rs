//! Step ids as the server expects them: hex SHA-1 of the user's id, repeats suffixed `:n`.

use sha1::{Digest, Sha1};

/// Hashes an (already suffixed) step id.
pub fn hash_step_id(id: &str) -> String {
    crate::hex::encode(Sha1::digest(id.as_bytes()))
}

/// The id as hashed for its `occurrence`-th use (0-based): `id`, `id:1`, `id:2`, …
pub fn occurrence_id(id: &str, occurrence: u32) -> String {
    if occurrence == 0 {
        id.to_owned()
    } else {
        format!("{id}:{occurrence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_the_reference_vectors() {
        assert_eq!(
            hash_step_id("my-step-id"),
            "e7d8a2f140845095749d60246ff1110c9d01d76a"
        );
        assert_eq!(
            hash_step_id(&occurrence_id("my-step-id", 1)),
            "f47c6228c581af870aa285200cf95ec3ac59bb6a"
        );
        assert_eq!(occurrence_id("a", 2), "a:2");
    }
}
