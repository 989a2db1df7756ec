//! CEL expressions (trigger `if`, cancel and wait conditions, flow-control keys) evaluated with
//! `cel-interpreter`, compiled once and cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cel_interpreter::{Context, Program, Value as Cel};
use serde_json::Value;

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// It does not parse.
    #[error("expression `{expr}` does not parse: {message}")]
    Parse {
        /// The expression.
        expr: String,
        /// The parser's message.
        message: String,
    },
    /// It failed at run time (a missing field, a type mismatch, ...).
    #[error("expression `{expr}` failed: {message}")]
    Eval {
        /// The expression.
        expr: String,
        /// The interpreter's message.
        message: String,
    },
}

/// A cache of compiled expressions.
#[derive(Default)]
pub struct Expressions {
    compiled: Mutex<HashMap<String, Arc<Program>>>,
}

impl std::fmt::Debug for Expressions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Expressions")
    }
}

impl Expressions {
    fn program(&self, expr: &str) -> Result<Arc<Program>, ExprError> {
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(program) = compiled.get(expr) {
            return Ok(program.clone());
        }
        // The parser panics on some malformed input instead of returning an error; the
        // expression comes from outside, so contain that.
        let parsed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Program::compile(expr)));
        let program = match parsed {
            Ok(Ok(program)) => program,
            Ok(Err(e)) => {
                return Err(ExprError::Parse {
                    expr: expr.to_owned(),
                    message: e.to_string(),
                })
            }
            Err(_) => {
                return Err(ExprError::Parse {
                    expr: expr.to_owned(),
                    message: "the CEL parser rejected it".into(),
                })
            }
        };
        let program = Arc::new(program);
        compiled.insert(expr.to_owned(), program.clone());
        Ok(program)
    }

    fn eval(&self, expr: &str, vars: &[(&str, &Value)]) -> Result<Cel, ExprError> {
        let program = self.program(expr)?;
        let mut context = Context::default();
        for (name, value) in vars {
            context
                .add_variable(*name, *value)
                .map_err(|e| ExprError::Eval {
                    expr: expr.to_owned(),
                    message: e.to_string(),
                })?;
        }
        program.execute(&context).map_err(|e| ExprError::Eval {
            expr: expr.to_owned(),
            message: e.to_string(),
        })
    }

    /// Evaluates a condition. A run-time failure (such as a missing field) counts as false,
    /// as in Inngest; a parse error is an error.
    pub fn matches(&self, expr: &str, vars: &[(&str, &Value)]) -> Result<bool, ExprError> {
        match self.eval(expr, vars) {
            Ok(Cel::Bool(b)) => Ok(b),
            Ok(_) => Ok(false),
            Err(ExprError::Eval { .. }) => Ok(false),
            Err(parse) => Err(parse),
        }
    }

    /// Evaluates a key expression to a string (strings as is, other values as JSON-like text).
    pub fn key(&self, expr: &str, vars: &[(&str, &Value)]) -> Result<String, ExprError> {
        Ok(cel_to_string(&self.eval(expr, vars)?))
    }
}

fn cel_to_string(value: &Cel) -> String {
    match value {
        Cel::String(s) => s.to_string(),
        Cel::Int(i) => i.to_string(),
        Cel::UInt(u) => u.to_string(),
        Cel::Float(f) => f.to_string(),
        Cel::Bool(b) => b.to_string(),
        Cel::Null => "null".to_owned(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_conditions_over_event_and_async() {
        let exprs = Expressions::default();
        let event = json!({"name": "a/b", "data": {"id": 7, "ok": true, "k": "x"}});
        let other = json!({"name": "a/c", "data": {"id": 7}});
        assert!(exprs
            .matches("event.data.ok == true", &[("event", &event)])
            .unwrap());
        assert!(exprs
            .matches(
                "async.data.id == event.data.id",
                &[("event", &event), ("async", &other)]
            )
            .unwrap());
        assert!(!exprs
            .matches("event.data.missing == 1", &[("event", &event)])
            .unwrap());
        assert!(exprs
            .matches("event.data.id ==", &[("event", &event)])
            .is_err());
        assert_eq!(
            exprs.key("event.data.k", &[("event", &event)]).unwrap(),
            "x"
        );
        assert_eq!(
            exprs.key("event.data.id", &[("event", &event)]).unwrap(),
            "7"
        );
    }
}
