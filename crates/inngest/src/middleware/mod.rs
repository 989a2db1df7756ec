//! Middleware: hooks around a run's input, each step, its output and every event send.
//! Encryption ([`encryption::EncryptionMiddleware`]) is built on them.

pub mod encryption;

use std::sync::Arc;

use serde_json::Value;

use crate::Error;

/// Hooks called by the SDK. Every method has a no-op default; implement the ones you need.
/// Hooks are synchronous and run on the request's task, so keep them cheap.
pub trait Middleware: Send + Sync + 'static {
    /// Called with the triggering event and the batch before the function runs.
    fn transform_input(&self, _event: &mut Value, _events: &mut [Value]) -> Result<(), Error> {
        Ok(())
    }

    /// Called with a memoized step's data before the function sees it.
    fn transform_memoized(&self, _data: &mut Value) -> Result<(), Error> {
        Ok(())
    }

    /// Called before a step's code runs.
    fn before_step(&self, _step_id: &str) {}

    /// Called with a step's output before it is reported to Inngest.
    fn transform_step_output(&self, _step_id: &str, _output: &mut Value) -> Result<(), Error> {
        Ok(())
    }

    /// Called with the function's return value before it is reported.
    fn transform_output(&self, _output: &mut Value) -> Result<(), Error> {
        Ok(())
    }

    /// Called with each event (as JSON) before it is sent, and with invoke payloads.
    fn transform_send_event(&self, _event: &mut Value) -> Result<(), Error> {
        Ok(())
    }
}

/// The client's middleware, applied in registration order (outputs and sends) and in reverse
/// order on the way in (input and memoized data), so that layers nest.
#[derive(Clone, Default)]
pub struct MiddlewareStack(Arc<[Arc<dyn Middleware>]>);

impl MiddlewareStack {
    pub(crate) fn new(layers: Vec<Arc<dyn Middleware>>) -> Self {
        Self(layers.into())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn transform_input(
        &self,
        event: &mut Value,
        events: &mut [Value],
    ) -> Result<(), Error> {
        self.0
            .iter()
            .rev()
            .try_for_each(|m| m.transform_input(event, events))
    }

    pub(crate) fn transform_memoized(&self, data: &mut Value) -> Result<(), Error> {
        self.0
            .iter()
            .rev()
            .try_for_each(|m| m.transform_memoized(data))
    }

    pub(crate) fn before_step(&self, step_id: &str) {
        self.0.iter().for_each(|m| m.before_step(step_id));
    }

    pub(crate) fn transform_step_output(
        &self,
        step_id: &str,
        output: &mut Value,
    ) -> Result<(), Error> {
        self.0
            .iter()
            .try_for_each(|m| m.transform_step_output(step_id, output))
    }

    pub(crate) fn transform_output(&self, output: &mut Value) -> Result<(), Error> {
        self.0.iter().try_for_each(|m| m.transform_output(output))
    }

    pub(crate) fn transform_send_event(&self, event: &mut Value) -> Result<(), Error> {
        self.0
            .iter()
            .try_for_each(|m| m.transform_send_event(event))
    }
}
