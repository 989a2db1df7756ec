//! The state shared by routes and server functions.

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;

use crate::durable::Durable;
use crate::realtime::Realtime;

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub realtime: Realtime,
    pub durable: Durable,
    /// Where customers reach the store (`APP_URL`, else the local URL); the `appOrigin` of events.
    pub public_url: String,
    /// Stripe: the API when `STRIPE_SECRET_KEY` is set, and the webhook secret.
    pub payments: crate::integrations::stripe::Payments,
    /// `SWAG_STORE_RESET_SECRET`: the inventory reset is off without it.
    pub reset_secret: Option<crate::integrations::Secret>,
    /// Who may call the admin API.
    pub admin_auth: std::sync::Arc<dyn crate::admin_auth::AdminAuthenticator>,
}

impl FromRef<AppState> for Realtime {
    fn from_ref(state: &AppState) -> Self {
        state.realtime.clone()
    }
}

impl FromRef<AppState> for DatabaseConnection {
    fn from_ref(state: &AppState) -> Self {
        state.db.clone()
    }
}
