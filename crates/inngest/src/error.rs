//! Errors raised by function and step code, and how they map to retries.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The JSON form of an error on the wire: `{name, message, stack?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error's kind, e.g. `Error`, `NonRetriableError`.
    pub name: String,
    /// A human-readable message.
    pub message: String,
    /// Where it came from (a source chain for Rust errors), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// When the executor may try again after an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retry {
    /// Retry with the executor's backoff while attempts remain.
    Default,
    /// Never retry (`X-Inngest-No-Retry: true`).
    Never,
    /// Retry no sooner than this (`Retry-After`).
    After(RetryAt),
}

/// A `Retry-After` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryAt {
    /// A delay from now.
    Delay(Duration),
    /// A point in time.
    Time(DateTime<Utc>),
}

impl RetryAt {
    /// The `Retry-After` header value: integer seconds, or an HTTP date.
    pub fn header_value(&self) -> String {
        match self {
            RetryAt::Delay(delay) => delay.as_secs().max(1).to_string(),
            RetryAt::Time(at) => at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        }
    }
}

/// An error returned by function or step code.
///
/// Any `std::error::Error` converts into it with `?`; [`Error::non_retriable`] and
/// [`Error::retry_after`] control retries. It deliberately does not implement
/// `std::error::Error` itself, so that the blanket conversion can exist (as with `anyhow`).
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    body: ErrorBody,
    retry: Retry,
    from_step: bool,
}

impl Error {
    /// A retriable error named `Error` with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self::named("Error", message)
    }

    /// A retriable error with a custom name.
    pub fn named(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            body: ErrorBody {
                name: name.into(),
                message: message.into(),
                stack: None,
            },
            retry: Retry::Default,
            from_step: false,
        }
    }

    /// An error that must not be retried (HTTP 400 with `X-Inngest-No-Retry: true`).
    pub fn non_retriable(message: impl Into<String>) -> Self {
        Self::named("NonRetriableError", message).with_retry(Retry::Never)
    }

    /// An error to retry no sooner than `delay` from now (`Retry-After`).
    pub fn retry_after(message: impl Into<String>, delay: Duration) -> Self {
        Self::named("RetryAfterError", message).with_retry(Retry::After(RetryAt::Delay(delay)))
    }

    /// An error to retry no sooner than `at`.
    pub fn retry_at(message: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self::named("RetryAfterError", message).with_retry(Retry::After(RetryAt::Time(at)))
    }

    /// Replaces the retry behaviour.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Attaches a stack or source chain.
    pub fn with_stack(mut self, stack: impl Into<String>) -> Self {
        self.body.stack = Some(stack.into());
        self
    }

    /// The error of a step that failed for good, as replayed from the run's memo. Left uncaught,
    /// it fails the function without further retries.
    pub(crate) fn from_failed_step(body: ErrorBody) -> Self {
        Self {
            body,
            retry: Retry::Never,
            from_step: true,
        }
    }

    /// The error's name.
    pub fn name(&self) -> &str {
        &self.body.name
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.body.message
    }

    /// The retry behaviour.
    pub fn retry(&self) -> &Retry {
        &self.retry
    }

    /// Whether this is a failed step's error replayed from the memo.
    pub fn is_step_failure(&self) -> bool {
        self.from_step
    }

    /// Whether the executor may retry.
    pub fn is_retriable(&self) -> bool {
        self.retry != Retry::Never
    }

    /// The wire form.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    pub(crate) fn into_body(self) -> ErrorBody {
        self.body
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("name", &self.body.name)
            .field("message", &self.body.message)
            .field("retry", &self.retry)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.body.name, self.body.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        let name = short_type_name::<E>();
        let mut stack = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            stack.push(format!("caused by: {cause}"));
            source = cause.source();
        }
        let converted = Self::named(name, error.to_string());
        if stack.is_empty() {
            converted
        } else {
            converted.with_stack(stack.join("\n"))
        }
    }
}

fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_errors_convert_with_their_type_name() {
        let parse: Result<i32, _> = "x".parse::<i32>();
        let error: Error = parse.unwrap_err().into();
        assert_eq!(error.name(), "ParseIntError");
        assert!(error.is_retriable());
    }

    #[test]
    fn retry_after_formats_seconds_and_dates() {
        assert_eq!(RetryAt::Delay(Duration::from_secs(30)).header_value(), "30");
        let at = DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            RetryAt::Time(at).header_value(),
            "Wed, 02 Jan 2030 03:04:05 GMT"
        );
    }
}
