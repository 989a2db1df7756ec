//! The step API handed to function code: `run`, sleeps, waits, invokes, event sends, AI
//! inference, HTTP requests made by Inngest (`fetch`) and races. A step that must pause the function parks its future; the driver then
//! reports it, so user code can neither panic on it nor swallow it.

mod fetch;
mod id;
mod options;
pub(crate) mod state;

use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::Either;
use futures::FutureExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tracing::Instrument;

pub use fetch::{Fetch, FetchResponse};
pub use id::{hash_step_id, occurrence_id};
pub use options::{AiFormat, AiInfer, Invoke, SignalConflict, WaitForEvent, WaitForSignal};
use state::{FoundStep, Lookup, RunState, StepOutcome};

use crate::client::Inngest;
use crate::duration::to_time_string;
use crate::protocol::{Memo, Opcode};
use crate::{Error, Event};

/// The result of [`Step::send_event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SendEventResult {
    /// Ids of the sent events, in order.
    pub ids: Vec<String>,
}

/// The step tools of one run. Cheap to clone.
#[derive(Clone)]
pub struct Step {
    state: Arc<RunState>,
    client: Inngest,
}

impl Step {
    pub(crate) fn new(state: Arc<RunState>, client: Inngest) -> Self {
        Self { state, client }
    }

    /// Runs `f` once per run, durably: its output is memoized and replayed on later requests.
    /// An error is retried as the function's retries allow; the last attempt's error (or a
    /// non-retriable one) is returned from here on replay so the code can handle it.
    pub async fn run<T, E, F, Fut>(&self, id: &str, f: F) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned,
        E: Into<Error>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.run_durably(id, None, || async move { f().await.map_err(Into::into) })
            .await
    }

    /// Pauses the run for `duration` (the executor resumes it; no process waits).
    pub async fn sleep(&self, id: &str, duration: Duration) {
        // A sleep's memo is always null: there is nothing to hand back or to fail on.
        let _null = self
            .pause(
                id,
                Opcode::Sleep,
                json!({ "duration": to_time_string(duration) }),
            )
            .await;
    }

    /// Pauses the run until `at`.
    pub async fn sleep_until(&self, id: &str, at: DateTime<Utc>) {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let _null = self
            .pause(id, Opcode::Sleep, json!({ "duration": at }))
            .await;
    }

    /// Waits for an event; `None` when the timeout passes first.
    pub async fn wait_for_event<D: DeserializeOwned>(
        &self,
        id: &str,
        opts: WaitForEvent,
    ) -> Result<Option<Event<D>>, Error> {
        let value = self.pause(id, Opcode::WaitForEvent, opts.to_opts()).await?;
        decode_optional(value)
    }

    /// Waits for a signal; `None` when the timeout passes first.
    pub async fn wait_for_signal<D: DeserializeOwned>(
        &self,
        id: &str,
        opts: WaitForSignal,
    ) -> Result<Option<D>, Error> {
        let value = self
            .pause(id, Opcode::WaitForSignal, opts.to_opts())
            .await?;
        decode_optional(value)
    }

    /// Invokes another function and returns its output, or its error.
    pub async fn invoke<T: DeserializeOwned>(&self, id: &str, opts: Invoke) -> Result<T, Error> {
        let mut payload = json!({ "data": opts.data });
        self.state.middleware.transform_send_event(&mut payload)?;
        let mut wire = serde_json::Map::new();
        wire.insert("function_id".into(), json!(opts.function_id));
        wire.insert("payload".into(), payload);
        if let Some(timeout) = opts.timeout {
            wire.insert("timeout".into(), json!(to_time_string(timeout)));
        }
        let value = self
            .pause(id, Opcode::InvokeFunction, Value::Object(wire))
            .await?;
        decode(value)
    }

    /// Sends events durably: sent once, the ids memoized.
    pub async fn send_event<D: Serialize>(
        &self,
        id: &str,
        events: Vec<Event<D>>,
    ) -> Result<SendEventResult, Error> {
        let client = self.client.clone();
        let middleware = self.state.middleware.clone();
        let opts = json!({ "type": "step.sendEvent" });
        self.run_durably(id, Some(opts), || async move {
            let ids = client
                .send_with(&middleware, &events)
                .await
                .map_err(crate::SendError::into_step_error)?;
            Ok(SendEventResult { ids })
        })
        .await
    }

    /// Offloads an AI inference request to Inngest, which calls the model and memoizes the
    /// answer (the `AIGateway` op).
    pub async fn ai_infer<T: DeserializeOwned>(
        &self,
        id: &str,
        request: AiInfer,
    ) -> Result<T, Error> {
        let value = self.pause(id, Opcode::AIGateway, request.to_opts()).await?;
        decode(value)
    }

    /// Has Inngest make an HTTP request and memoizes the response (the `Gateway` op, as
    /// `step.fetch` of the TypeScript SDK): the function is not running while the request is
    /// in flight, and the request is made once per run. Any response is returned, error
    /// statuses included; when no response comes (connection refused, timeout), the step is
    /// retried as the function's retries allow, then this returns the error.
    ///
    /// ```no_run
    /// # async fn demo(ctx: inngest::Context<serde_json::Value>) -> Result<(), inngest::Error> {
    /// use inngest::Fetch;
    /// let request = Fetch::post("https://api.example.com/v1/orders")
    ///     .bearer_auth("secret-token")
    ///     .json(&serde_json::json!({"sku": "mug"}));
    /// let response = ctx.step.fetch("create-order", request).await?;
    /// if response.is_success() {
    ///     let order: serde_json::Value = response.json()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn fetch(&self, id: &str, request: Fetch) -> Result<FetchResponse, Error> {
        let value = self.pause(id, Opcode::Gateway, request.to_opts()).await?;
        decode(value)
    }

    /// Races two step futures; the first to complete (in the order the executor recorded) wins
    /// and the other is dropped. New steps of both are reported with `parallelMode: "race"`.
    pub async fn race<A: Future, B: Future>(&self, a: A, b: B) -> Either<A::Output, B::Output> {
        let a = RaceMember {
            state: &self.state,
            inner: Box::pin(a),
        };
        let b = RaceMember {
            state: &self.state,
            inner: Box::pin(b),
        };
        match futures::future::select(a, b).await {
            Either::Left((out, _)) => Either::Left(out),
            Either::Right((out, _)) => Either::Right(out),
        }
    }

    /// A step the executor carries out (sleep, wait, invoke, AI, fetch): returns its memoized
    /// value, or reports it and parks.
    async fn pause(&self, id: &str, op: Opcode, opts: Value) -> Result<Value, Error> {
        match self.state.lookup(id) {
            Lookup::Memoized { slot } => self.memoized(slot).await,
            Lookup::New { hash } => {
                let _recorded = self.state.found(FoundStep {
                    hash,
                    name: id.to_owned(),
                    display_name: id.to_owned(),
                    op,
                    opts: Some(opts),
                    runnable: false,
                });
                std::future::pending().await
            }
        }
    }

    async fn memoized<T: DeserializeOwned>(&self, slot: usize) -> Result<T, Error> {
        let raw = TurnWait {
            state: &self.state,
            slot: Some(slot),
        }
        .await;
        let memo = raw.as_deref().map_or(Memo::Null, Memo::from_wire);
        let json = match memo.data_json() {
            Some(json) => json,
            None => match memo {
                Memo::Error(body) => return Err(Error::from_failed_step(body)),
                _ => "null",
            },
        };
        // Without middleware the raw JSON decodes straight into `T`; with it, the hooks see the
        // value first (e.g. to decrypt it).
        if self.state.middleware.is_empty() {
            return serde_json::from_str(json).map_err(decode_error);
        }
        let mut value: Value = serde_json::from_str(json).map_err(decode_error)?;
        self.state.middleware.transform_memoized(&mut value)?;
        decode(value)
    }

    /// A step the SDK executes itself (`run`, `send_event`): its memo on replay, otherwise
    /// registered and, when chosen, executed once.
    async fn run_durably<T, Fut>(
        &self,
        id: &str,
        opts: Option<Value>,
        work: impl FnOnce() -> Fut,
    ) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned,
        Fut: Future<Output = Result<T, Error>>,
    {
        match self.state.lookup(id) {
            Lookup::Memoized { slot } => self.memoized(slot).await,
            Lookup::New { hash } => {
                let step = FoundStep {
                    hash,
                    name: id.to_owned(),
                    display_name: id.to_owned(),
                    op: Opcode::StepPlanned,
                    opts,
                    runnable: true,
                };
                self.execute_when_chosen(step, work).await
            }
        }
    }

    /// Registers a runnable step; if the driver chooses it, runs it, records the outcome and
    /// parks (the response reports it). Never returns otherwise.
    async fn execute_when_chosen<T: Serialize, Fut: Future<Output = Result<T, Error>>>(
        &self,
        step: FoundStep,
        work: impl FnOnce() -> Fut,
    ) -> Result<T, Error> {
        let step = self.state.found(step);
        poll_fn(|cx| self.state.poll_chosen(&step.hash, cx)).await;
        self.state.middleware.before_step(&step.name);
        let span = tracing::info_span!("step", step.id = %step.name, step.hash = %step.hash);
        let result = AssertUnwindSafe(work())
            .catch_unwind()
            .instrument(span)
            .await;
        let outcome = match result {
            Ok(Ok(value)) => match serde_json::to_value(&value) {
                Ok(mut data) => match self
                    .state
                    .middleware
                    .transform_step_output(&step.name, &mut data)
                {
                    Ok(()) => StepOutcome::Ran { step, data },
                    Err(error) => StepOutcome::Failed { step, error },
                },
                Err(e) => StepOutcome::Failed {
                    step,
                    error: Error::named(
                        "SerializationError",
                        format!("step output is not JSON: {e}"),
                    ),
                },
            },
            Ok(Err(error)) => StepOutcome::Failed { step, error },
            Err(panic) => StepOutcome::Failed {
                step,
                error: crate::execution::panic_error(panic),
            },
        };
        self.state.record(outcome);
        std::future::pending().await
    }
}

fn decode<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(decode_error)
}

fn decode_error(error: serde_json::Error) -> Error {
    Error::named(
        "DeserializationError",
        format!("memoized step data does not match the expected type: {error}"),
    )
}

fn decode_optional<T: DeserializeOwned>(value: Value) -> Result<Option<T>, Error> {
    if value.is_null() {
        Ok(None)
    } else {
        decode(value).map(Some)
    }
}

/// Resolves a memoized step in stack order; tells the state if dropped before its turn.
struct TurnWait<'a> {
    state: &'a RunState,
    slot: Option<usize>,
}

impl Future for TurnWait<'_> {
    type Output = Option<Box<RawValue>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(slot) = self.slot else {
            return Poll::Ready(None);
        };
        match self.state.poll_turn(slot, cx) {
            Poll::Ready(memo) => {
                self.slot = None;
                Poll::Ready(memo)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for TurnWait<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.state.abandon(slot);
        }
    }
}

/// Marks steps found while polling one side of a race.
struct RaceMember<'a, F: Future> {
    state: &'a RunState,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for RaceMember<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.state.enter_race();
        let polled = self.inner.as_mut().poll(cx);
        self.state.leave_race();
        polled
    }
}
