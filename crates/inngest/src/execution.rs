//! Drives one execution request: replays memoized steps, discovers new ones, executes at most
//! one, and turns the result into the protocol's outcome.

use std::any::Any;
use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use futures::FutureExt;
use serde_json::Value;

use crate::error::RetryAt;
use crate::function::{Handler, RunInput};
use crate::protocol::{CallRequest, GeneratorOp, Opcode};
use crate::step::state::{FoundStep, RunState, StepOutcome};
use crate::{Error, Inngest, Retry, Step};

/// What the request produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The function returned (200).
    Completed(Value),
    /// Steps to report (206), with an optional `Retry-After`; `no_retry` after a final step failure.
    Steps {
        ops: Vec<GeneratorOp>,
        retry_after: Option<RetryAt>,
        no_retry: bool,
    },
    /// The function failed (500 retriable, 400 not).
    Failed(Error),
}

enum Driven {
    Returned(Result<Value, Error>),
    StepExecuted,
    StepsFound,
}

/// Which step to execute here, if any: the targeted planned step, or the only new step when
/// immediate execution is allowed.
fn choose<'a>(
    found: &'a [FoundStep],
    target: Option<&str>,
    immediate: bool,
) -> Option<&'a FoundStep> {
    match target {
        Some(target) => found.iter().find(|s| s.hash == target && s.runnable),
        None if immediate && found.len() == 1 && found[0].runnable => found.first(),
        None => None,
    }
}

/// Runs `handler` for `request`.
pub(crate) async fn execute(
    client: &Inngest,
    handler: &dyn Handler,
    request: CallRequest,
    default_max_attempts: u32,
) -> Outcome {
    let CallRequest {
        mut event,
        mut events,
        steps,
        ctx,
        ..
    } = request;
    if events.is_empty() && !event.is_null() {
        events.push(event.clone());
    }
    let middleware = client.middleware().clone();
    if let Err(error) = middleware.transform_input(&mut event, &mut events) {
        return Outcome::Failed(error);
    }
    let max_attempts = ctx.max_attempts.unwrap_or(default_max_attempts).max(1);
    let target = (!ctx.step_id.is_empty() && ctx.step_id != "step").then(|| ctx.step_id.clone());
    let immediate = target.is_none() && !ctx.disable_immediate_execution;
    let state = RunState::new(steps, ctx.stack.stack, middleware.clone());
    let input = RunInput {
        event,
        events,
        step: Step::new(state.clone(), client.clone()),
        run_id: ctx.run_id,
        fn_id: ctx.fn_id,
        attempt: ctx.attempt,
        max_attempts,
    };
    let mut run = AssertUnwindSafe(handler.call(input)).catch_unwind();

    let driven = poll_fn(|cx| loop {
        let flag = Arc::new(WakeFlag {
            woken: AtomicBool::new(false),
            task: cx.waker().clone(),
        });
        let waker = Waker::from(flag.clone());
        let mut inner_cx = std::task::Context::from_waker(&waker);
        match run.poll_unpin(&mut inner_cx) {
            Poll::Ready(Ok(result)) => return Poll::Ready(Driven::Returned(result)),
            Poll::Ready(Err(panic)) => {
                return Poll::Ready(Driven::Returned(Err(panic_error(panic))))
            }
            Poll::Pending => {}
        }
        if flag.woken.load(Ordering::Acquire) {
            continue;
        }
        if state.has_outcome() {
            return Poll::Ready(Driven::StepExecuted);
        }
        if !state.is_choosing_done() {
            if state.found_count() > 0 {
                let found = state.found_steps();
                match choose(&found, target.as_deref(), immediate) {
                    Some(step) => {
                        state.choose(&step.hash);
                        continue;
                    }
                    None => return Poll::Ready(Driven::StepsFound),
                }
            }
            if state.skip_divergence() {
                continue;
            }
        }
        return Poll::Pending;
    })
    .await;
    drop(run);

    match driven {
        Driven::Returned(Ok(mut output)) => match middleware.transform_output(&mut output) {
            Ok(()) => Outcome::Completed(output),
            Err(error) => Outcome::Failed(error),
        },
        // On the last attempt nothing is left to retry: say so, as the TypeScript SDK does.
        Driven::Returned(Err(error)) if ctx.attempt + 1 >= max_attempts => {
            Outcome::Failed(error.with_retry(Retry::Never))
        }
        Driven::Returned(Err(error)) => Outcome::Failed(error),
        Driven::StepsFound => Outcome::Steps {
            ops: state.found_steps().into_iter().map(report).collect(),
            retry_after: None,
            no_retry: false,
        },
        Driven::StepExecuted => match state.take_outcome() {
            Some(StepOutcome::Ran { step, data }) => Outcome::Steps {
                ops: vec![GeneratorOp {
                    id: step.hash,
                    op: Opcode::StepRun,
                    name: step.name,
                    display_name: step.display_name,
                    opts: step.opts,
                    data: Some(data),
                    error: None,
                }],
                retry_after: None,
                no_retry: false,
            },
            Some(StepOutcome::Failed { step, error }) => {
                let final_attempt = !error.is_retriable() || ctx.attempt + 1 >= max_attempts;
                let retry_after = match error.retry() {
                    Retry::After(at) if !final_attempt => Some(at.clone()),
                    _ => None,
                };
                let (op, data) = if final_attempt {
                    (Opcode::StepFailed, None)
                } else {
                    (Opcode::StepError, Some(Value::Null))
                };
                Outcome::Steps {
                    ops: vec![GeneratorOp {
                        id: step.hash,
                        op,
                        name: step.name,
                        display_name: step.display_name,
                        opts: step.opts,
                        data,
                        error: Some(error.into_body()),
                    }],
                    retry_after,
                    no_retry: final_attempt,
                }
            }
            None => Outcome::Failed(Error::new("step outcome missing")),
        },
    }
}

/// The op reported for a step found but not executed here.
fn report(step: FoundStep) -> GeneratorOp {
    let data = matches!(step.op, Opcode::Sleep | Opcode::WaitForEvent).then_some(Value::Null);
    GeneratorOp {
        id: step.hash,
        op: step.op,
        name: step.name,
        display_name: step.display_name,
        opts: step.opts,
        data,
        error: None,
    }
}

/// Turns a caught panic into a retriable error (the server answers JSON, never crashes).
pub(crate) fn panic_error(panic: Box<dyn Any + Send>) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned());
    Error::named("Panic", message)
}

/// Records whether the future was woken while being polled (so the driver polls again at once).
struct WakeFlag {
    woken: AtomicBool,
    task: Waker,
}

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}
