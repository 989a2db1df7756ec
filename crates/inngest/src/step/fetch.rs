//! `step.fetch`: an HTTP request that Inngest makes on the function's behalf (the `Gateway`
//! op), with the response memoized as the step's data.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::Error;

/// Options of [`crate::Step::fetch`]: the request Inngest makes.
///
/// On the wire this is the `Gateway` op's `opts`, as `step.fetch` of the TypeScript SDK
/// sends them: `{url, method, headers, body}`, header names in lower case, `body` the raw
/// request body as a string (left out when there is none).
///
/// Header values travel to the executor in the op and are stored with the run's state, as
/// with every Inngest step option; they are not shown in run views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// The URL to request.
    pub url: String,
    /// The HTTP method (`GET`, `POST`, …).
    pub method: String,
    /// Request headers, names in lower case, in the order added.
    pub headers: Vec<(String, String)>,
    /// The raw request body.
    pub body: Option<String>,
}

impl Fetch {
    /// A request with `method` to `url`.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            method: method.into().to_ascii_uppercase(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    /// A `PATCH` request.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header; a second value for the same name is appended with `, ` (as the Fetch
    /// API's `Headers` does).
    pub fn header(mut self, name: impl AsRef<str>, value: impl Into<String>) -> Self {
        let name = name.as_ref().to_ascii_lowercase();
        let value = value.into();
        match self.headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => self.headers.push((name, value)),
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_auth(self, token: impl AsRef<str>) -> Self {
        let value = format!("Bearer {}", token.as_ref());
        self.header("authorization", value)
    }

    /// Sets the raw body.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets a JSON body and `Content-Type: application/json` (unless a content type is set).
    pub fn json(mut self, body: &Value) -> Self {
        if !self.headers.iter().any(|(n, _)| n == "content-type") {
            self = self.header("content-type", "application/json");
        }
        self.body(body.to_string())
    }

    pub(crate) fn to_opts(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            headers.insert(name.clone(), json!(value));
        }
        let mut map = Map::new();
        map.insert("url".into(), json!(self.url));
        map.insert("method".into(), json!(self.method));
        map.insert("headers".into(), Value::Object(headers));
        if let Some(body) = &self.body {
            map.insert("body".into(), json!(body));
        }
        Value::Object(map)
    }
}

/// The response to a [`Fetch`], as Inngest memoizes it: whatever the server answered,
/// error statuses included (check [`FetchResponse::is_success`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// The URL requested.
    #[serde(default)]
    pub url: String,
    /// The HTTP status code.
    pub status_code: u16,
    /// Response headers; Inngest writes names in canonical form (`Content-Type`) and joins
    /// repeated values with `,`. Look them up with [`FetchResponse::header`].
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The response body as text.
    #[serde(default)]
    pub body: String,
}

impl FetchResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.body).map_err(|e| {
            Error::named(
                "DeserializationError",
                format!("the response body is not the expected JSON: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opts_have_the_typescript_shape() {
        let request = Fetch::post("https://api.example.com/v1/items")
            .header("Authorization", "Bearer t")
            .header("X-Tag", "a")
            .header("x-tag", "b")
            .json(&json!({"n": 1}));
        assert_eq!(
            request.to_opts(),
            json!({
                "url": "https://api.example.com/v1/items",
                "method": "POST",
                "headers": {"authorization": "Bearer t", "x-tag": "a, b", "content-type": "application/json"},
                "body": "{\"n\":1}",
            })
        );
        let get = Fetch::get("https://example.com/").to_opts();
        assert_eq!(
            get,
            json!({"url": "https://example.com/", "method": "GET", "headers": {}})
        );
        assert_eq!(Fetch::new("patch", "u").method, "PATCH");
    }

    #[test]
    fn responses_read_headers_case_insensitively_and_json_bodies() {
        let response: FetchResponse = serde_json::from_value(json!({
            "url": "https://x/", "status_code": 404,
            "headers": {"Content-Type": "application/json"}, "body": "{\"missing\":true}",
        }))
        .unwrap();
        assert!(!response.is_success());
        assert_eq!(response.header("content-type"), Some("application/json"));
        let body: Value = response.json().unwrap();
        assert_eq!(body, json!({"missing": true}));
        let bare: FetchResponse =
            serde_json::from_value(json!({"status_code": 204, "body": ""})).unwrap();
        assert!(bare.is_success() && bare.headers.is_empty());
    }
}
