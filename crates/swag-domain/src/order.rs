//! The order status machine: pending → fulfilled/cancelled; fulfilled → shipped/cancelled;
//! shipped and cancelled are terminal; writing the same status again is allowed.

use serde::{Deserialize, Serialize};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Fulfilled,
    Shipped,
    Cancelled,
}

/// A status string the store does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown order status `{0}` (expected pending, fulfilled, shipped or cancelled)")]
pub struct UnknownStatus(pub String);

/// A move the machine forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}")]
pub struct InvalidTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 4] = [
        Self::Pending,
        Self::Fulfilled,
        Self::Shipped,
        Self::Cancelled,
    ];

    /// The database and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fulfilled => "fulfilled",
            Self::Shipped => "shipped",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a database or wire name.
    pub fn parse(value: &str) -> Result<Self, UnknownStatus> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| UnknownStatus(value.to_owned()))
    }

    /// Whether an order in this status may move to `next`.
    pub fn can_transition_to(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        self == next
            || matches!(
                (self, next),
                (Pending, Fulfilled)
                    | (Pending, Cancelled)
                    | (Fulfilled, Shipped)
                    | (Fulfilled, Cancelled)
            )
    }

    /// The statuses an admin may pick next (including staying put).
    pub fn next_choices(self) -> Vec<OrderStatus> {
        Self::ALL
            .into_iter()
            .filter(|s| self.can_transition_to(*s))
            .collect()
    }

    /// Checks a move.
    pub fn transition(self, next: OrderStatus) -> Result<OrderStatus, InvalidTransition> {
        if self.can_transition_to(next) {
            Ok(next)
        } else {
            Err(InvalidTransition {
                from: self,
                to: next,
            })
        }
    }

    /// The customer-facing headline.
    pub fn headline(self) -> &'static str {
        match self {
            Self::Pending => "Received",
            Self::Fulfilled => "Fulfilled",
            Self::Shipped => "Shipped",
            Self::Cancelled => "Cancelled",
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn transition_matrix() {
        let allowed = [
            (Pending, Pending),
            (Pending, Fulfilled),
            (Pending, Cancelled),
            (Fulfilled, Fulfilled),
            (Fulfilled, Shipped),
            (Fulfilled, Cancelled),
            (Shipped, Shipped),
            (Cancelled, Cancelled),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_transition_to(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
        assert_eq!(
            Shipped.transition(Pending),
            Err(InvalidTransition {
                from: Shipped,
                to: Pending
            })
        );
    }

    #[test]
    fn parses_only_known_names() {
        assert_eq!(OrderStatus::parse("shipped"), Ok(Shipped));
        assert!(OrderStatus::parse("Shipped").is_err());
        assert_eq!(Pending.next_choices(), vec![Pending, Fulfilled, Cancelled]);
    }
}
