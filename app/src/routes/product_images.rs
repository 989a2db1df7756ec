//! `GET /api/product-images/{id}`: an uploaded product photo. Image ids are never reused, so a
//! found image is cached for good; anything else is a JSON 404.

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use swag_domain::entity::product_image;

/// A year, and never revalidated: the bytes behind an id do not change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn product_image(
    State(db): State<DatabaseConnection>,
    Path(id): Path<String>,
) -> Response {
    match product_image::Entity::find_by_id(id.as_str())
        .one(&db)
        .await
    {
        Ok(Some(image)) => {
            // Only image types are served as such; anything else downloads as bytes.
            let content_type = if image.content_type.starts_with("image/") {
                image.content_type
            } else {
                "application/octet-stream".to_owned()
            };
            (
                [
                    (CONTENT_TYPE, content_type),
                    (CACHE_CONTROL, IMMUTABLE.to_owned()),
                    (X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                ],
                image.bytes,
            )
                .into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no product image {id}") })),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, image = %id, "could not read a product image");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "the image could not be read; try again" })),
            )
                .into_response()
        }
    }
}
