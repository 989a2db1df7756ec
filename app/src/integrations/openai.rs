//! The LLM reviewer of inventory imports: OpenAI's Responses API (`POST {base}/responses`) with a
//! strict JSON-schema text format, so the answer is the review's shape or is rejected. The base
//! URL is a setting, so tests (and OpenAI-compatible servers) can stand in.

use serde::Deserialize;
use serde_json::{json, Value};
use swag_domain::inventory_import::review::Findings;

use crate::config::ConfigError;
use crate::integrations::Secret;

/// OpenAI's API unless `OPENAI_BASE_URL` says otherwise.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// A small, fast model that follows strict JSON schemas, unless `INVENTORY_IMPORT_MODEL` says
/// otherwise.
pub const DEFAULT_INVENTORY_IMPORT_MODEL: &str = "gpt-4.1-mini";
/// The document is cut to this many characters in the prompt.
const DOCUMENT_MAX_CHARS: usize = 20_000;

/// `OPENAI_API_KEY`, `OPENAI_BASE_URL` and `INVENTORY_IMPORT_MODEL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiSettings {
    pub api_key: Option<Secret>,
    /// Without a trailing slash.
    pub base_url: String,
    pub model: String,
}

impl Default for OpenAiSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_OPENAI_BASE_URL.to_owned(),
            model: DEFAULT_INVENTORY_IMPORT_MODEL.to_owned(),
        }
    }
}

impl OpenAiSettings {
    /// Reads the variables through `get` (which treats empty values as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let base_url = match get("OPENAI_BASE_URL") {
            Some(value) => crate::integrations::email::http_base_url("OPENAI_BASE_URL", value)?,
            None => DEFAULT_OPENAI_BASE_URL.to_owned(),
        };
        Ok(Self {
            api_key: get("OPENAI_API_KEY").map(|key| Secret::new(key.trim())),
            base_url,
            model: get("INVENTORY_IMPORT_MODEL").map_or_else(
                || DEFAULT_INVENTORY_IMPORT_MODEL.to_owned(),
                |m| m.trim().to_owned(),
            ),
        })
    }
}

/// Why the reviewer gave no usable answer. Never carries the key.
#[derive(Debug, thiserror::Error)]
pub enum OpenAiError {
    #[error("the OpenAI API answered HTTP {status}")]
    Rejected { status: u16 },
    #[error("the OpenAI API could not be reached: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("the OpenAI answer is not a review: {0}")]
    Unparsable(String),
}

/// What the reviewer is shown.
#[derive(Debug, Clone)]
pub struct ReviewRequest<'a> {
    pub mode: &'a str,
    pub source_name: &'a str,
    pub document_text: &'a str,
    /// The parsed rows, the plan and the deterministic findings, as JSON.
    pub deterministic: Value,
}

/// The Responses API client for import reviews.
#[derive(Clone)]
pub struct ImportReviewer {
    http: reqwest::Client,
    base_url: String,
    api_key: Secret,
    model: String,
}

impl ImportReviewer {
    /// A reviewer, or why there is none (no key).
    pub fn from_settings(settings: &OpenAiSettings, http: reqwest::Client) -> Result<Self, String> {
        let api_key = settings
            .api_key
            .clone()
            .ok_or_else(|| "OPENAI_API_KEY is not set".to_owned())?;
        Ok(Self {
            http,
            base_url: settings.base_url.clone(),
            api_key,
            model: settings.model.clone(),
        })
    }

    /// Asks the model to review an import.
    pub async fn review(&self, request: &ReviewRequest<'_>) -> Result<Findings, OpenAiError> {
        let body = json!({
            "model": self.model,
            "input": [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": user_prompt(request)},
            ],
            "text": {"format": {
                "type": "json_schema",
                "name": "inventory_import_review",
                "schema": review_schema(),
                "strict": true,
            }},
        });
        let response = self
            .http
            .post(format!("{}/responses", self.base_url))
            .bearer_auth(self.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(OpenAiError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(OpenAiError::Rejected {
                status: status.as_u16(),
            });
        }
        let answer: Value = response.json().await.map_err(OpenAiError::Transport)?;
        let text = answer_text(&answer)
            .ok_or_else(|| OpenAiError::Unparsable("no output text".to_owned()))?;
        serde_json::from_str(&text).map_err(|error| OpenAiError::Unparsable(error.to_string()))
    }
}

const INSTRUCTIONS: &str = "You review inventory imports for a small merch store before they \
change stock. You get the document as uploaded and what a deterministic parser made of it. \
Report problems the parser may have missed: rows it skipped or misread, sizes or colours that \
look wrong, quantities that look like prices or totals, duplicated rows. Use severity error only \
for problems that make applying the import wrong; warning for things an admin should check; \
info for notes. `row` is the document line number, or null. List variants the document names \
that the catalog lacks in missingVariants. Set ok to false when any issue is an error.";

fn user_prompt(request: &ReviewRequest<'_>) -> String {
    let document: String = request
        .document_text
        .chars()
        .take(DOCUMENT_MAX_CHARS)
        .collect();
    format!(
        "Mode: {}\nSource: {}\n\nDocument:\n{document}\n\nParser result:\n{}",
        request.mode, request.source_name, request.deterministic
    )
}

/// The review's JSON schema; strict mode needs every property required and no others allowed.
fn review_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["ok", "summary", "issues", "missingVariants"],
        "properties": {
            "ok": {"type": "boolean"},
            "summary": {"type": "string"},
            "issues": {"type": "array", "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["severity", "message", "row"],
                "properties": {
                    "severity": {"type": "string", "enum": ["info", "warning", "error"]},
                    "message": {"type": "string"},
                    "row": {"type": ["integer", "null"]},
                },
            }},
            "missingVariants": {"type": "array", "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["product", "size", "color"],
                "properties": {
                    "product": {"type": "string"},
                    "size": {"type": "string"},
                    "color": {"type": "string"},
                },
            }},
        },
    })
}

/// The answer's text: `output_text` when present, else the `output[].content[].text` parts.
fn answer_text(answer: &Value) -> Option<String> {
    if let Some(text) = answer.get("output_text").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    #[derive(Deserialize)]
    struct Part {
        #[serde(default)]
        text: Option<String>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        content: Vec<Part>,
    }
    let items: Vec<Item> = serde_json::from_value(answer.get("output")?.clone()).ok()?;
    let text: String = items
        .into_iter()
        .flat_map(|item| item.content)
        .filter_map(|part| part.text)
        .collect();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_answer_from_output_parts_or_output_text() {
        let parts = json!({"output": [{"type": "message", "content": [
            {"type": "output_text", "text": "{\"ok\":"},
            {"type": "output_text", "text": "true}"}
        ]}]});
        assert_eq!(answer_text(&parts).as_deref(), Some("{\"ok\":true}"));
        let direct = json!({"output_text": "x", "output": []});
        assert_eq!(answer_text(&direct).as_deref(), Some("x"));
        assert_eq!(answer_text(&json!({"output": []})), None);
    }
}
