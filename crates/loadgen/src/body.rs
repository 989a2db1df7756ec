//! Benchmark execution-request bodies and the step ids each SDK computes.

use sha1::{Digest, Sha1};

/// How a server hashes `step.run` ids into the keys of the request's `steps` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashScheme {
    /// The protocol (Go and TypeScript SDKs, and ours): lowercase hex SHA-1 of the id
    /// itself on its first use (`"id"`, then `"id:1"`, `"id:2"`, ...).
    Sdk,
    /// crates.io `inngest` 0.1.1: its op counter starts at 1 before hashing, so the first
    /// use hashes `"id:1"`, and the hex is UPPERCASE.
    Official,
}

impl HashScheme {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sdk" | "protocol" => Some(Self::Sdk),
            "official" | "official-rs" => Some(Self::Official),
            _ => None,
        }
    }

    /// The id the server gives the first `step.run(user_id)` of a run.
    pub fn step_id(self, user_id: &str) -> String {
        match self {
            Self::Sdk => hex::encode(Sha1::digest(user_id.as_bytes())),
            Self::Official => hex::encode_upper(Sha1::digest(format!("{user_id}:1").as_bytes())),
        }
    }
}

/// The request the executor sends for run step N of the benchmark function: steps
/// `step-0..step-{n-1}` memoized as `{"data": i}` (in `ctx.stack.stack` order), `stepId`
/// `step`, attempt 0, immediate execution allowed. Keys are written in sorted (JCS)
/// order, as the server sends them.
pub fn request_body(n: u64, scheme: HashScheme) -> String {
    let ids: Vec<String> = (0..n)
        .map(|i| scheme.step_id(&format!("step-{i}")))
        .collect();
    let mut steps: Vec<(&str, u64)> = ids.iter().map(String::as_str).zip(0..n).collect();
    steps.sort_unstable();
    let steps = steps
        .iter()
        .map(|(id, i)| format!("\"{id}\":{{\"data\":{i}}}"))
        .collect::<Vec<_>>()
        .join(",");
    let stack = ids
        .iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(",");
    let event = format!(
        "{{\"data\":{{\"n\":{n}}},\"id\":\"01JBENCH0000000000000EVENT\",\"name\":\"bench/steps\",\"ts\":1735689600000,\"v\":\"1\"}}"
    );
    format!(
        concat!(
            "{{\"ctx\":{{\"attempt\":0,\"disable_immediate_execution\":false,\"env\":\"\",",
            "\"fn_id\":\"6f1e7a52-2f0b-4d7e-9a55-0b3c1f5c9e11\",\"max_attempts\":4,",
            "\"run_id\":\"01JBENCH00000000000000RUN0\",\"stack\":{{\"current\":{n},\"stack\":[{stack}]}},",
            "\"step_id\":\"step\",\"use_api\":false}},",
            "\"event\":{event},\"events\":[{event}],\"steps\":{{{steps}}},\"use_api\":false,\"version\":2}}"
        ),
        n = n,
        stack = stack,
        event = event,
        steps = steps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_ids_per_scheme() {
        assert_eq!(
            HashScheme::Sdk.step_id("hello"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        // inngest-rs 0.1.1 step_tool.rs test vector for ("hello", pos 1), which is what
        // its first step.run("hello") hashes
        assert_eq!(
            HashScheme::Official.step_id("hello"),
            "20A9BB9477C4AC565CF084D1614C58BBF0A523FF"
        );
    }

    #[test]
    fn body_is_json_with_memoized_steps_in_order() {
        let body = request_body(3, HashScheme::Sdk);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let stack = v["ctx"]["stack"]["stack"].as_array().unwrap();
        assert_eq!(stack.len(), 3);
        for (i, id) in stack.iter().enumerate() {
            let id = id.as_str().unwrap();
            assert_eq!(id, HashScheme::Sdk.step_id(&format!("step-{i}")));
            assert_eq!(v["steps"][id]["data"], serde_json::json!(i));
        }
        assert_eq!(v["ctx"]["stack"]["current"], 3);
        assert_eq!(v["event"]["data"]["n"], 3);
        assert_eq!(v["events"][0], v["event"]);
        assert_eq!(v["steps"].as_object().unwrap().len(), 3);

        let empty: serde_json::Value =
            serde_json::from_str(&request_body(0, HashScheme::Official)).unwrap();
        assert_eq!(empty["steps"], serde_json::json!({}));
        assert_eq!(empty["ctx"]["stack"]["stack"], serde_json::json!([]));
    }
}
