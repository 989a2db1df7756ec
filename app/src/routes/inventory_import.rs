//! `POST /api/admin/inventory/import`: takes an inventory document (multipart `file` or `text`,
//! `sourceName`, optional `mode`) from an admin and sends
//! `admin/inventory.document_import.requested` with an id hashed from the mode and the text, so
//! a double submit imports once. Answers 202 with the event id.

use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use inngest::Event;
use serde_json::json;
use swag_domain::inventory_import::ImportMode;

use crate::admin_auth::AdminActor;
use crate::events::{
    document_import_id, InventoryDocumentImportRequested, INVENTORY_DOCUMENT_IMPORT_REQUESTED,
};
use crate::state::AppState;

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 256_000;
/// The request body limit: room for the document plus the other fields and multipart framing,
/// so an oversized document is reported as such rather than cut off.
const BODY_LIMIT: usize = 2 * MAX_DOCUMENT_BYTES;

/// The route's body limit layer.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(BODY_LIMIT)
}

/// Why a document was not accepted. Nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum ImportRequestError {
    #[error("the request is not a readable multipart form: {0}")]
    Form(String),
    #[error("the document is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    #[error("the document is empty; send a `file` or `text` field")]
    Empty,
    #[error("the document is not UTF-8 text")]
    NotText,
    #[error("mode must be receive_shipment or audit_count")]
    InvalidMode,
    #[error("the import could not be queued: {0}")]
    Queue(String),
}

impl IntoResponse for ImportRequestError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Self::Form(_) => (StatusCode::BAD_REQUEST, "INVALID_FORM"),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "DOCUMENT_TOO_LARGE"),
            Self::Empty => (StatusCode::BAD_REQUEST, "EMPTY_DOCUMENT"),
            Self::NotText => (StatusCode::BAD_REQUEST, "NOT_TEXT"),
            Self::InvalidMode => (StatusCode::BAD_REQUEST, "INVALID_MODE"),
            Self::Queue(_) => (StatusCode::SERVICE_UNAVAILABLE, "QUEUE_UNAVAILABLE"),
        };
        (
            status,
            Json(json!({"error": self.to_string(), "code": code})),
        )
            .into_response()
    }
}

impl From<MultipartError> for ImportRequestError {
    fn from(error: MultipartError) -> Self {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::TooLarge
        } else {
            Self::Form(error.body_text())
        }
    }
}

/// The form's fields.
#[derive(Default)]
struct ImportForm {
    document: Option<Vec<u8>>,
    content_type: Option<String>,
    source_name: Option<String>,
    mode: Option<String>,
}

async fn read_form(mut multipart: Multipart) -> Result<ImportForm, ImportRequestError> {
    let mut form = ImportForm::default();
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or_default() {
            "file" => {
                form.content_type = field.content_type().map(str::to_owned);
                if form.source_name.is_none() {
                    form.source_name = field.file_name().map(str::to_owned);
                }
                form.document = Some(field.bytes().await?.to_vec());
            }
            "text" => {
                let text = field.bytes().await?.to_vec();
                if form.document.as_ref().is_none_or(|d| d.is_empty()) {
                    form.content_type = Some("text/plain".to_owned());
                    form.document = Some(text);
                }
            }
            "sourceName" => form.source_name = Some(field.text().await?),
            "mode" => form.mode = Some(field.text().await?),
            _ => {}
        }
        if form
            .document
            .as_ref()
            .is_some_and(|d| d.len() > MAX_DOCUMENT_BYTES)
        {
            return Err(ImportRequestError::TooLarge);
        }
    }
    Ok(form)
}

pub async fn import(
    State(state): State<AppState>,
    actor: AdminActor,
    multipart: Multipart,
) -> Result<(StatusCode, Json<serde_json::Value>), ImportRequestError> {
    let form = read_form(multipart).await?;
    let bytes = form.document.unwrap_or_default();
    let text = String::from_utf8(bytes).map_err(|_| ImportRequestError::NotText)?;
    if text.trim().is_empty() {
        return Err(ImportRequestError::Empty);
    }
    let mode = match form
        .mode
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(mode) => ImportMode::parse(mode).ok_or(ImportRequestError::InvalidMode)?,
        None => ImportMode::ReceiveShipment,
    };
    let id = document_import_id(mode, &text);
    let data = InventoryDocumentImportRequested {
        app_origin: state.public_url.clone(),
        actor_email: actor.email,
        source_name: form
            .source_name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "pasted text".to_owned()),
        content_type: form.content_type.unwrap_or_else(|| "text/plain".to_owned()),
        document_text: text,
        mode,
    };
    state
        .durable
        .client()
        .send(&[Event::new(INVENTORY_DOCUMENT_IMPORT_REQUESTED, data).with_id(id.clone())])
        .await
        .map_err(|error| ImportRequestError::Queue(error.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"ok": true, "eventId": id, "mode": mode})),
    ))
}
