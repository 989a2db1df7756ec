//! Clients for the outside services the store talks to; each takes its base URL from the
//! settings so that tests can point it at a local stand-in.

use std::fmt;

pub mod email;
pub mod openai;
pub mod sheets;
pub mod slack;
pub mod stripe;

/// A credential read from the environment. Its `Debug` output never shows the value, so
/// settings and clients holding one can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_value() {
        let secret = Secret::new("sk_test_123");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(secret.expose(), "sk_test_123");
    }
}
