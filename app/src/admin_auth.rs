//! Who may use the admin API. Until admin sign-in exists, callers present a bearer API token:
//! the `SWAG_STORE_API_TOKEN` setting (compared in constant time; the actor is
//! `SWAG_STORE_API_ACTOR_EMAIL`) or an active hashed token from `api_tokens`. The check sits
//! behind [`AdminAuthenticator`], so an admin-session implementation can take its place without
//! touching the routes, which only ask for an [`AdminActor`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use swag_domain::entity::api_token;
use swag_domain::tokens;

use crate::integrations::Secret;
use crate::state::AppState;

/// Who API calls name when they use `SWAG_STORE_API_TOKEN`, unless
/// `SWAG_STORE_API_ACTOR_EMAIL` says otherwise.
pub const DEFAULT_API_ACTOR_EMAIL: &str = "api@swag-store.local";

/// `SWAG_STORE_API_TOKEN` and `SWAG_STORE_API_ACTOR_EMAIL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenSettings {
    pub token: Option<Secret>,
    pub actor_email: String,
}

impl Default for ApiTokenSettings {
    fn default() -> Self {
        Self {
            token: None,
            actor_email: DEFAULT_API_ACTOR_EMAIL.to_owned(),
        }
    }
}

impl ApiTokenSettings {
    /// Reads the variables through `get` (which treats empty values as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            token: get("SWAG_STORE_API_TOKEN").map(|t| Secret::new(t.trim())),
            actor_email: get("SWAG_STORE_API_ACTOR_EMAIL").map_or_else(
                || DEFAULT_API_ACTOR_EMAIL.to_owned(),
                |e| e.trim().to_owned(),
            ),
        }
    }
}

/// An authenticated admin caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminActor {
    pub email: String,
}

/// Why a caller is not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("an Authorization: Bearer token is required")]
    Missing,
    #[error("the token is not valid")]
    Invalid,
    #[error("tokens could not be checked")]
    Database(#[from] sea_orm::DbErr),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AuthError::Missing => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            AuthError::Invalid => (StatusCode::UNAUTHORIZED, "INVALID_TOKEN"),
            AuthError::Database(error) => {
                tracing::error!(%error, "token check failed");
                (StatusCode::SERVICE_UNAVAILABLE, "AUTH_UNAVAILABLE")
            }
        };
        let body = Json(json!({"error": self.to_string(), "code": code}));
        if status == StatusCode::UNAUTHORIZED {
            return (status, [(WWW_AUTHENTICATE, "Bearer")], body).into_response();
        }
        (status, body).into_response()
    }
}

/// A boxed future, so the trait stays object safe.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<AdminActor, AuthError>> + Send + 'a>>;

/// Decides who an admin request comes from.
pub trait AdminAuthenticator: Send + Sync {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a>;
}

/// Bearer API tokens: the configured one, then the hashed ones in the database.
pub struct BearerTokens {
    settings: ApiTokenSettings,
    db: DatabaseConnection,
}

impl BearerTokens {
    pub fn shared(
        settings: ApiTokenSettings,
        db: DatabaseConnection,
    ) -> Arc<dyn AdminAuthenticator> {
        Arc::new(Self { settings, db })
    }

    async fn check(&self, headers: &HeaderMap) -> Result<AdminActor, AuthError> {
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Missing)?;
        if let Some(expected) = &self.settings.token {
            if tokens::matches(presented, expected.expose()) {
                return Ok(AdminActor {
                    email: self.settings.actor_email.clone(),
                });
            }
        }
        let hash = tokens::hash(presented);
        let row = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(&hash))
            .filter(api_token::Column::Active.eq(true))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
            .ok_or(AuthError::Invalid)?;
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(Some(Utc::now())))
            .filter(api_token::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?;
        Ok(AdminActor {
            email: row.actor_email,
        })
    }
}

impl AdminAuthenticator for BearerTokens {
    fn authenticate<'a>(&'a self, headers: &'a HeaderMap) -> AuthFuture<'a> {
        Box::pin(self.check(headers))
    }
}

impl FromRequestParts<AppState> for AdminActor {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AuthError> {
        state.admin_auth.authenticate(&parts.headers).await
    }
}
