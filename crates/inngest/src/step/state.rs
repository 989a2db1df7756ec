//! Per-request run state shared by the step handle and the driver: the memo, stack-order
//! resolution, the steps found this request and the one step chosen to execute.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use rustc_hash::FxHashMap;
use serde_json::value::RawValue;
use serde_json::Value;

use super::id::{hash_step_id, occurrence_id};
use crate::middleware::MiddlewareStack;
use crate::protocol::Opcode;
use crate::Error;

/// A step found this request that the executor has not seen complete.
#[derive(Debug, Clone)]
pub(crate) struct FoundStep {
    pub hash: String,
    pub name: String,
    pub display_name: String,
    /// The op to report when the step is not executed here (`StepPlanned` for runnable steps).
    pub op: Opcode,
    pub opts: Option<serde_json::Value>,
    /// Whether the SDK executes this step itself (step.run, send_event).
    pub runnable: bool,
}

/// What the chosen step produced.
#[derive(Debug)]
pub(crate) enum StepOutcome {
    Ran { step: FoundStep, data: Value },
    Failed { step: FoundStep, error: Error },
}

/// A memoized step result, parsed only when the step consumes it.
struct MemoSlot {
    raw: Option<Box<RawValue>>,
    position: Option<usize>,
    abandoned: bool,
}

impl MemoSlot {
    fn pending(&self) -> bool {
        self.raw.is_some() && !self.abandoned
    }
}

struct Inner {
    index: FxHashMap<String, usize>,
    slots: Vec<MemoSlot>,
    /// Slot of each stack position (`None` for a stack entry without a memo).
    stack: Vec<Option<usize>>,
    cursor: usize,
    occurrences: FxHashMap<String, u32>,
    found: Vec<FoundStep>,
    waiting: Vec<Waker>,
    chosen: Option<String>,
    chosen_waker: Option<Waker>,
    outcome: Option<StepOutcome>,
    race_depth: u32,
}

/// Shared state of one execution request.
pub(crate) struct RunState {
    inner: Mutex<Inner>,
    pub middleware: MiddlewareStack,
}

/// How a step id resolved.
pub(crate) enum Lookup {
    /// The step completed earlier: wait for its turn in stack order, then take the memo.
    Memoized { slot: usize },
    /// The step is new this request.
    New { hash: String },
}

impl RunState {
    pub fn new(
        steps: Vec<(String, Box<RawValue>)>,
        stack: Vec<String>,
        middleware: MiddlewareStack,
    ) -> Arc<Self> {
        let mut index = FxHashMap::with_capacity_and_hasher(steps.len(), Default::default());
        let mut slots = Vec::with_capacity(steps.len());
        for (hash, raw) in steps {
            index.insert(hash, slots.len());
            slots.push(MemoSlot {
                raw: Some(raw),
                position: None,
                abandoned: false,
            });
        }
        let stack = stack
            .iter()
            .enumerate()
            .map(|(position, hash)| {
                let slot = index.get(hash).copied();
                if let Some(slot) = slot {
                    slots[slot].position.get_or_insert(position);
                }
                slot
            })
            .collect();
        let slots_len = slots.len();
        let mut inner = Inner {
            index,
            slots,
            stack,
            cursor: 0,
            occurrences: FxHashMap::with_capacity_and_hasher(slots_len + 1, Default::default()),
            found: Vec::new(),
            waiting: Vec::new(),
            chosen: None,
            chosen_waker: None,
            outcome: None,
            race_depth: 0,
        };
        inner.advance_cursor();
        Arc::new(Self {
            inner: Mutex::new(inner),
            middleware,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in user code never happens while this lock is held, so poisoning is not expected;
        // recover the guard anyway rather than propagating a second panic.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hashes the user's id (suffixing repeats) and tells whether it is memoized.
    pub fn lookup(&self, id: &str) -> Lookup {
        let mut inner = self.lock();
        let occurrence = match inner.occurrences.get_mut(id) {
            Some(count) => {
                *count += 1;
                *count
            }
            None => {
                inner.occurrences.insert(id.to_owned(), 0);
                0
            }
        };
        let hash = if occurrence == 0 {
            hash_step_id(id)
        } else {
            hash_step_id(&occurrence_id(id, occurrence))
        };
        match inner.index.get(&hash) {
            Some(&slot) => Lookup::Memoized { slot },
            None => Lookup::New { hash },
        }
    }

    /// Takes the raw memo of `slot` once every step that completed before it has been consumed.
    pub fn poll_turn(&self, slot: usize, cx: &mut Context<'_>) -> Poll<Option<Box<RawValue>>> {
        let mut inner = self.lock();
        let my_turn = inner.slots[slot]
            .position
            .is_none_or(|position| position <= inner.cursor);
        if !my_turn {
            inner.waiting.push(cx.waker().clone());
            return Poll::Pending;
        }
        let raw = inner.slots[slot].raw.take();
        inner.advance_cursor();
        inner.wake_waiting();
        drop(inner);
        Poll::Ready(raw)
    }

    /// A memoized step future was dropped before its turn (e.g. the loser of a race): let later
    /// steps through.
    pub fn abandon(&self, slot: usize) {
        let mut inner = self.lock();
        if inner.slots[slot].raw.is_some() {
            inner.slots[slot].abandoned = true;
        }
        inner.advance_cursor();
        inner.wake_waiting();
    }

    /// Records a new step and returns it as recorded (marked `parallelMode: "race"` when found
    /// inside a race), so that the op reported after running it carries the same options.
    pub fn found(&self, mut step: FoundStep) -> FoundStep {
        let mut inner = self.lock();
        if inner.race_depth > 0 {
            let opts = step.opts.get_or_insert_with(|| serde_json::json!({}));
            if let Value::Object(map) = opts {
                map.insert("parallelMode".into(), Value::from("race"));
            }
        }
        inner.found.push(step.clone());
        step
    }

    /// Polls whether `hash` was chosen to execute; parks otherwise.
    pub fn poll_chosen(&self, hash: &str, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.lock();
        if inner.chosen.as_deref() == Some(hash) && inner.outcome.is_none() {
            Poll::Ready(())
        } else {
            inner.chosen_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    pub fn record(&self, outcome: StepOutcome) {
        self.lock().outcome = Some(outcome);
    }

    pub fn enter_race(&self) {
        self.lock().race_depth += 1;
    }

    pub fn leave_race(&self) {
        let mut inner = self.lock();
        inner.race_depth = inner.race_depth.saturating_sub(1);
    }

    // Driver side.

    pub fn take_outcome(&self) -> Option<StepOutcome> {
        self.lock().outcome.take()
    }

    pub fn has_outcome(&self) -> bool {
        self.lock().outcome.is_some()
    }

    pub fn is_choosing_done(&self) -> bool {
        self.lock().chosen.is_some()
    }

    pub fn found_steps(&self) -> Vec<FoundStep> {
        self.lock().found.clone()
    }

    pub fn found_count(&self) -> usize {
        self.lock().found.len()
    }

    pub fn choose(&self, hash: &str) {
        let mut inner = self.lock();
        inner.chosen = Some(hash.to_owned());
        if let Some(waker) = inner.chosen_waker.take() {
            waker.wake();
        }
    }

    /// When memoized steps wait for stack entries that the code no longer reaches (it diverged
    /// from the recorded run), skip those entries. Returns whether anything was unblocked.
    pub fn skip_divergence(&self) -> bool {
        let mut inner = self.lock();
        if inner.waiting.is_empty() {
            return false;
        }
        let cursor = inner.cursor;
        let next_waiting = inner
            .slots
            .iter()
            .filter(|slot| slot.pending())
            .filter_map(|slot| slot.position)
            .filter(|&position| position > cursor)
            .min();
        match next_waiting {
            Some(position) => {
                tracing::warn!(
                    skipped = position - cursor,
                    "memoized steps not reached by the code; skipping them"
                );
                inner.cursor = position;
                inner.wake_waiting();
                true
            }
            None => false,
        }
    }
}

impl Inner {
    fn advance_cursor(&mut self) {
        while let Some(entry) = self.stack.get(self.cursor) {
            if entry.is_some_and(|slot| self.slots[slot].pending()) {
                break;
            }
            self.cursor += 1;
        }
    }

    fn wake_waiting(&mut self) {
        for waker in self.waiting.drain(..) {
            waker.wake();
        }
    }
}
