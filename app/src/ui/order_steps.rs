//! Reads an order's timeline the way the order page and the tracker show it: where each step of
//! the fulfilment function stands, the order's status headline, and the log lines.

use super::server::TimelineEntry;

/// The fulfilment function's steps in the order they run, with their display names.
pub const FULFILMENT_STEPS: [(&str, &str); 6] = [
    ("capture-payment", "Capture payment"),
    (DISCOUNT_STEP, "Record discount"),
    ("reserve-inventory", "Reserve inventory"),
    ("send-confirmation", "Send confirmation"),
    ("record-order", "Record order"),
    ("record-to-sheet", "Record to sheet"),
];

/// Runs only for orders that used a discount code.
const DISCOUNT_STEP: &str = "record-discount-redemption";

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Complete,
    Failed,
}

impl StepState {
    fn parse(status: &str) -> Self {
        match status {
            "running" => Self::Running,
            "complete" | "completed" => Self::Complete,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }

    /// The CSS class and `data-state` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Complete => "complete",
            Self::Failed => "failed",
        }
    }
}

/// One step card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCard {
    pub name: String,
    pub label: String,
    pub state: StepState,
    /// The output of the step's latest entry, as compact JSON.
    pub detail: Option<String>,
}

/// The cards for `entries` (oldest first): the known steps in run order — the discount step only
/// when `discount_used` or it ran — then any other step the function reported. A step's state
/// is that of its latest entry.
pub fn step_cards(entries: &[TimelineEntry], discount_used: bool) -> Vec<StepCard> {
    let steps = entries.iter().filter(|e| e.kind == "step");
    let mut cards: Vec<StepCard> = FULFILMENT_STEPS
        .iter()
        .filter(|(name, _)| {
            *name != DISCOUNT_STEP || discount_used || steps.clone().any(|e| e.name == *name)
        })
        .map(|(name, label)| StepCard {
            name: (*name).to_owned(),
            label: (*label).to_owned(),
            state: StepState::Pending,
            detail: None,
        })
        .collect();
    for entry in steps {
        let index = match cards.iter().position(|c| c.name == entry.name) {
            Some(index) => index,
            None => {
                cards.push(StepCard {
                    name: entry.name.clone(),
                    label: entry.name.replace('-', " "),
                    state: StepState::Pending,
                    detail: None,
                });
                cards.len() - 1
            }
        };
        cards[index].state = StepState::parse(&entry.status);
        cards[index].detail = entry.detail.clone();
    }
    cards
}

/// The order's latest status from the timeline (`pending`, `fulfilled`, `failed`, …).
pub fn latest_status(entries: &[TimelineEntry]) -> Option<&str> {
    entries
        .iter()
        .rev()
        .find(|e| e.kind == "status")
        .map(|e| e.status.as_str())
}

/// The headline for an order status; no status yet reads as received.
pub fn headline(status: Option<&str>) -> &'static str {
    match status {
        Some("fulfilled") => "Fulfilled",
        Some("shipped") => "Shipped",
        Some("cancelled") => "Cancelled",
        Some("failed") => "Failed",
        _ => "Received",
    }
}

/// A log line: `step.reserve-inventory → complete` or `order → fulfilled`.
pub fn log_message(entry: &TimelineEntry) -> String {
    if entry.kind == "step" {
        format!("step.{} → {}", entry.name, entry.status)
    } else {
        format!("{} → {}", entry.name, entry.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, status: &str) -> TimelineEntry {
        TimelineEntry {
            kind: "step".to_owned(),
            name: name.to_owned(),
            status: status.to_owned(),
            detail: None,
            at: "12:00:00.000".to_owned(),
        }
    }

    fn states(cards: &[StepCard]) -> Vec<(&str, &str)> {
        cards
            .iter()
            .map(|c| (c.name.as_str(), c.state.as_str()))
            .collect()
    }

    #[test]
    fn every_step_is_pending_before_the_run_starts() {
        let cards = step_cards(&[], false);
        assert_eq!(cards.len(), 5, "no discount step without a discount");
        assert!(cards.iter().all(|c| c.state == StepState::Pending));
        assert_eq!(step_cards(&[], true).len(), 6);
    }

    #[test]
    fn a_step_takes_the_state_of_its_latest_entry() {
        let entries = [
            step("capture-payment", "running"),
            step("capture-payment", "complete"),
            step("reserve-inventory", "running"),
            step("reserve-inventory", "failed"),
            step("reserve-inventory", "running"),
        ];
        let cards = step_cards(&entries, false);
        assert_eq!(
            &states(&cards)[..3],
            &[
                ("capture-payment", "complete"),
                ("reserve-inventory", "running"),
                ("send-confirmation", "pending"),
            ]
        );
    }

    #[test]
    fn the_discount_step_and_unknown_steps_show_once_they_run() {
        let entries = [
            step("record-discount-redemption", "complete"),
            step("release-inventory", "running"),
        ];
        let cards = step_cards(&entries, false);
        assert_eq!(cards[1].name, "record-discount-redemption");
        assert_eq!(
            cards.last().map(|c| (c.label.as_str(), c.state)),
            Some(("release inventory", StepState::Running))
        );
    }

    #[test]
    fn the_headline_follows_the_latest_status() {
        let mut entries = vec![step("record-order", "complete")];
        assert_eq!(headline(latest_status(&entries)), "Received");
        entries.push(TimelineEntry {
            kind: "status".to_owned(),
            name: "order".to_owned(),
            status: "failed".to_owned(),
            detail: None,
            at: "12:00:01.000".to_owned(),
        });
        assert_eq!(headline(latest_status(&entries)), "Failed");
        assert_eq!(log_message(&entries[1]), "order → failed");
        assert_eq!(log_message(&entries[0]), "step.record-order → complete");
        assert_eq!(headline(Some("shipped")), "Shipped");
    }
}
