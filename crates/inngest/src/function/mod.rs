//! Durable function definitions: options, a typed handler and an optional failure handler.

pub mod config;

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use config::{
    BatchEvents, Cancel, Concurrency, ConcurrencyScope, ConfigError, Debounce, FunctionOpts,
    RateLimit, Singleton, SingletonMode, Throttle, Timeouts, Trigger,
};

use crate::event::{FunctionFailed, FUNCTION_FAILED_EVENT};
use crate::{Error, Event, Step};

/// What a handler receives: the typed event(s), the step tools and the run's identity.
pub struct Context<D> {
    /// The triggering event (the first of a batch).
    pub event: Event<D>,
    /// Every event of a batch (just the trigger otherwise).
    pub events: Vec<Event<D>>,
    /// Step tools.
    pub step: Step,
    /// The run id.
    pub run_id: String,
    /// The function's full id (`<app>-<fn>`).
    pub fn_id: String,
    /// Zero-based attempt.
    pub attempt: u32,
    /// Attempts allowed in all.
    pub max_attempts: u32,
}

/// The untyped input the serve handler builds for a run.
pub(crate) struct RunInput {
    pub event: Value,
    pub events: Vec<Value>,
    pub step: Step,
    pub run_id: String,
    pub fn_id: String,
    pub attempt: u32,
    pub max_attempts: u32,
}

/// A type-erased handler.
pub(crate) trait Handler: Send + Sync {
    fn call(&self, input: RunInput) -> BoxFuture<'static, Result<Value, Error>>;
}

struct TypedHandler<D, F> {
    f: F,
    _data: PhantomData<fn(D)>,
}

impl<D, F, Fut, O> Handler for TypedHandler<D, F>
where
    D: DeserializeOwned + Send + 'static,
    F: Fn(Context<D>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Error>> + Send + 'static,
    O: Serialize,
{
    fn call(&self, input: RunInput) -> BoxFuture<'static, Result<Value, Error>> {
        let decoded = decode_event::<D>(input.event).and_then(|event| {
            let events = input
                .events
                .into_iter()
                .map(decode_event::<D>)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((event, events))
        });
        let (event, events) = match decoded {
            Ok(decoded) => decoded,
            Err(error) => return Box::pin(async move { Err(error) }),
        };
        let ctx = Context {
            event,
            events,
            step: input.step,
            run_id: input.run_id,
            fn_id: input.fn_id,
            attempt: input.attempt,
            max_attempts: input.max_attempts,
        };
        let fut = (self.f)(ctx);
        Box::pin(async move {
            let output = fut.await?;
            serde_json::to_value(output).map_err(|e| {
                Error::named(
                    "SerializationError",
                    format!("function output is not JSON: {e}"),
                )
            })
        })
    }
}

fn decode_event<D: DeserializeOwned>(event: Value) -> Result<Event<D>, Error> {
    serde_json::from_value(event).map_err(|e| {
        Error::non_retriable(format!(
            "event does not match the function's event type: {e}"
        ))
        .with_retry(crate::Retry::Never)
    })
}

/// A function ready to be served.
#[derive(Clone)]
pub struct Function {
    pub(crate) opts: FunctionOpts,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) failure: Option<Arc<dyn Handler>>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("id", &self.opts.id)
            .field("on_failure", &self.failure.is_some())
            .finish()
    }
}

impl Function {
    /// Validates `opts` and binds `handler`, whose event data type `D` is decoded from JSON.
    ///
    /// ```no_run
    /// use inngest::{Context, Error, Function, FunctionOpts, Trigger};
    /// #[derive(serde::Deserialize)]
    /// struct Signup { email: String }
    /// let f = Function::new(
    ///     FunctionOpts::new("welcome").trigger(Trigger::event("user/signed.up")),
    ///     |ctx: Context<Signup>| async move {
    ///         let n: usize = ctx.step.run("measure", || async { Ok::<_, Error>(ctx.event.data.email.len()) }).await?;
    ///         Ok::<_, Error>(n)
    ///     },
    /// ).unwrap();
    /// ```
    pub fn new<D, F, Fut, O>(opts: FunctionOpts, handler: F) -> Result<Self, ConfigError>
    where
        D: DeserializeOwned + Send + 'static,
        F: Fn(Context<D>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Error>> + Send + 'static,
        O: Serialize,
    {
        opts.validate()?;
        Ok(Self {
            opts,
            handler: Arc::new(TypedHandler {
                f: handler,
                _data: PhantomData,
            }),
            failure: None,
        })
    }

    /// Adds a handler run once when a run of this function fails for good; it is served as the
    /// function `<id>-failure`, triggered by `inngest/function.failed` for this function.
    pub fn on_failure<D, F, Fut, O>(mut self, handler: F) -> Self
    where
        D: DeserializeOwned + Send + 'static,
        F: Fn(Context<FunctionFailed<D>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, Error>> + Send + 'static,
        O: Serialize,
    {
        self.failure = Some(Arc::new(TypedHandler {
            f: handler,
            _data: PhantomData,
        }));
        self
    }

    /// The function id as configured (without the app prefix).
    pub fn id(&self) -> &str {
        &self.opts.id
    }

    /// The options.
    pub fn opts(&self) -> &FunctionOpts {
        &self.opts
    }

    /// Options of the failure function, for a function whose full id is `full_id`.
    pub(crate) fn failure_opts(&self, full_id: &str) -> FunctionOpts {
        let name = self.opts.name.as_deref().unwrap_or(&self.opts.id);
        FunctionOpts::new(format!("{}-failure", self.opts.id))
            .name(format!("{name} (failure)"))
            .trigger(
                Trigger::event(FUNCTION_FAILED_EVENT)
                    .with_if(format!("event.data.function_id == '{full_id}'")),
            )
            .retries(1)
    }
}
