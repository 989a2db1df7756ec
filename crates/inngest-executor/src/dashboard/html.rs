//! Server-rendered HTML pages: the recent runs and one run's steps.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, State};
use axum::response::Html;
use chrono::{TimeZone, Utc};

use crate::core::Core;
use crate::http::ApiError;
use crate::view;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2rem;color:#111}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}\
.completed{color:#137333}.failed{color:#c5221f}.cancelled{color:#777}.running,.queued{color:#1a73e8}\
pre{margin:0;white-space:pre-wrap;max-width:60rem}";

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn time(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    ))
}

/// The mount point, from the path the request arrived on (links are absolute, so the pages
/// work with or without a trailing slash under any prefix).
fn base(uri: &OriginalUri, suffix_segments: usize) -> String {
    let path = uri.0.path().trim_end_matches('/');
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.truncate(parts.len().saturating_sub(suffix_segments));
    parts.join("/")
}

pub(super) async fn index(
    State(core): State<Arc<Core>>,
    uri: OriginalUri,
) -> Result<Html<String>, ApiError> {
    let base = esc(&base(&uri, 0));
    let runs = view::recent(&core.db, 100).await?;
    let mut body = String::from("<h1>Runs</h1><table><tr><th>Run</th><th>Function</th><th>Event</th><th>Status</th><th>Created</th><th>Duration</th></tr>");
    for run in &runs {
        let duration = run
            .ended_at
            .map(|end| format!("{} ms", end - run.created_at))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td><a href=\"{base}/runs/{id}/view\">{id}</a></td><td>{f}</td><td>{e}</td><td class=\"{s}\">{s}</td><td>{c}</td><td>{duration}</td></tr>",
            id = esc(&run.id),
            f = esc(&run.function_id),
            e = esc(&run.event_name),
            s = esc(&run.status),
            c = time(run.created_at),
        );
    }
    body.push_str("</table>");
    if runs.is_empty() {
        body.push_str("<p>No runs yet.</p>");
    }
    Ok(page("Runs", &body))
}

pub(super) async fn run(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
    uri: OriginalUri,
) -> Result<Html<String>, ApiError> {
    let home = match base(&uri, 3) {
        base if base.is_empty() => "/".to_owned(),
        base => esc(&base),
    };
    let run = view::load(&core.db, &id).await?.ok_or(ApiError::NotFound)?;
    let json = |v: &serde_json::Value| esc(&serde_json::to_string_pretty(v).unwrap_or_default());
    let mut body = format!(
        "<p><a href=\"{home}\">← runs</a></p><h1>{}</h1><p>Function <b>{}</b> — <span class=\"{s}\">{s}</span></p><h2>Event</h2><pre>{}</pre>",
        esc(&run.id),
        esc(&run.function_id),
        json(&run.event),
        s = esc(&run.status),
    );
    body.push_str("<h2>Steps</h2><table><tr><th>#</th><th>Step</th><th>Op</th><th>Status</th><th>Attempts</th><th>Started</th><th>Duration</th><th>Output / error</th></tr>");
    for step in &run.steps {
        let duration = step
            .ended_at
            .map(|end| format!("{} ms", end - step.started_at))
            .unwrap_or_default();
        let detail = step
            .error
            .as_ref()
            .or(step.output.as_ref())
            .map(&json)
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{s}\">{s}</td><td>{}</td><td>{}</td><td>{duration}</td><td><pre>{detail}</pre></td></tr>",
            step.position.map(|p| p.to_string()).unwrap_or_default(),
            esc(&step.id),
            esc(&step.op),
            step.attempts,
            time(step.started_at),
            s = esc(&step.status),
        );
    }
    body.push_str("</table>");
    if let Some(output) = &run.output {
        let _ = write!(body, "<h2>Output</h2><pre>{}</pre>", json(output));
    }
    if let Some(error) = &run.error {
        let _ = write!(
            body,
            "<h2>Error</h2><pre class=\"failed\">{}</pre>",
            json(error)
        );
    }
    Ok(page(&run.id, &body))
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
