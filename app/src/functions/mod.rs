//! The store's durable functions, one file each, and what they share.

pub mod fulfill_order;
pub mod import_inventory;
pub mod import_inventory_document;
pub mod import_pipeline;
pub mod notify_low_inventory;
pub mod payments;

use std::sync::Arc;
use std::time::Duration;

use inngest::{Function, Inngest};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::integrations::email::EmailClient;
use crate::integrations::openai::ImportReviewer;
use crate::integrations::sheets::{InventorySheet, OrdersSheet, SheetsError};
use crate::integrations::slack::SlackWebhook;
use crate::integrations::stripe::{Stripe, StripeError};
use crate::realtime::Realtime;
use payments::PaymentGateway;

/// How long a call to an outside service (email, Slack) may take.
const OUTSIDE_CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// An outside service: ready, or off and why (a missing setting), so a step can skip it and say
/// so.
#[derive(Clone, Debug)]
pub enum Service<T> {
    Ready(T),
    Off { reason: String },
}

impl<T> Service<T> {
    fn from_result(result: Result<T, String>) -> Self {
        match result {
            Ok(service) => Self::Ready(service),
            Err(reason) => Self::Off { reason },
        }
    }
}

/// What the functions need from the app.
#[derive(Clone)]
pub struct FunctionDeps {
    pub db: DatabaseConnection,
    pub realtime: Realtime,
    /// This deployment's origin: the `appOrigin` its events carry and its triggers accept.
    pub app_origin: String,
    /// Stripe, unless `STRIPE_SECRET_KEY` is unset.
    pub payments: Option<Arc<dyn PaymentGateway>>,
    pub email: Service<EmailClient>,
    pub orders_sheet: Service<OrdersSheet>,
    pub ops_alerts: Service<SlackWebhook>,
    /// Low-stock alerts: threshold, Slack webhook and mention.
    pub low_stock: notify_low_inventory::LowStockAlerts,
    /// The LLM reviewer of inventory imports, unless `OPENAI_API_KEY` is unset.
    pub import_reviewer: Service<ImportReviewer>,
    /// The inventory sheet, unless `GOOGLE_SERVICE_ACCOUNT_JSON` or `INVENTORY_SHEET_ID` is
    /// unset.
    pub inventory_sheet: Service<InventorySheet>,
}

/// Why the functions' clients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    #[error("the HTTP client for outside services could not be built: {0}")]
    Http(#[source] reqwest::Error),
    #[error("the orders or inventory sheet is misconfigured: {0}")]
    Sheets(#[from] SheetsError),
    #[error("the Stripe client could not be built: {0}")]
    Stripe(#[from] StripeError),
}

impl FunctionDeps {
    /// Builds the outside-service clients the settings configure; unconfigured ones are off.
    pub async fn build(
        settings: &Settings,
        db: DatabaseConnection,
        realtime: Realtime,
        app_origin: &str,
    ) -> Result<Self, FunctionsError> {
        let http = reqwest::Client::builder()
            .timeout(OUTSIDE_CALL_TIMEOUT)
            .build()
            .map_err(FunctionsError::Http)?;
        let ops_alerts = match &settings.order_ops_slack_webhook {
            Some(url) => Service::Ready(SlackWebhook::new(http.clone(), url.clone())),
            None => Service::Off {
                reason: "ORDER_OPS_SLACK_WEBHOOK_URL is not set".to_owned(),
            },
        };
        let low_stock =
            notify_low_inventory::LowStockAlerts::new(&settings.low_stock, http.clone());
        let payments = match &settings.stripe.secret_key {
            Some(key) => {
                let stripe = Stripe::new(key, &settings.stripe.api_base)?;
                Some(Arc::new(stripe) as Arc<dyn PaymentGateway>)
            }
            None => None,
        };
        Ok(Self {
            db,
            realtime,
            app_origin: app_origin.to_owned(),
            payments,
            email: Service::from_result(EmailClient::from_settings(&settings.email, http.clone())),
            orders_sheet: Service::from_result(OrdersSheet::from_settings(&settings.sheets).await?),
            ops_alerts,
            low_stock,
            import_reviewer: Service::from_result(ImportReviewer::from_settings(
                &settings.openai,
                http,
            )),
            inventory_sheet: Service::from_result(
                InventorySheet::from_settings(&settings.sheets).await?,
            ),
        })
    }
}

/// Every function the store serves.
pub fn all(_client: Inngest, deps: FunctionDeps) -> Vec<Function> {
    vec![
        fulfill_order::function(deps.clone()),
        notify_low_inventory::function(deps.clone()),
        import_inventory_document::function(deps.clone()),
        import_inventory::function(deps),
    ]
}
