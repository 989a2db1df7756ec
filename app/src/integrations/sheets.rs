//! The orders Google Sheet (one appended row per order) and the inventory sheet (read whole for
//! imports), through the generated Sheets v4 client
//! (`google-sheets4`) authorised by a service-account key (`yup-oauth2`). The API base URL is a
//! setting and the token endpoint comes from the key, so tests can point both at a local server.

use std::time::Duration;

use base64::Engine as _;
use google_sheets4::api::ValueRange;
use google_sheets4::hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use google_sheets4::hyper_util::client::legacy::connect::HttpConnector;
use google_sheets4::hyper_util::client::legacy::Client;
use google_sheets4::hyper_util::rt::TokioExecutor;
use google_sheets4::yup_oauth2::{self, ServiceAccountAuthenticator, ServiceAccountKey};
use google_sheets4::Sheets;
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::integrations::Secret;

/// Google's Sheets API unless `GOOGLE_SHEETS_API_BASE` says otherwise.
pub const DEFAULT_SHEETS_API_BASE: &str = "https://sheets.googleapis.com/";
/// The tab orders go to unless `ORDERS_SHEET_NAME` says otherwise.
pub const DEFAULT_ORDERS_SHEET_NAME: &str = "Sheet1";
/// The tab inventory is read from unless `INVENTORY_SHEET_NAME` says otherwise.
pub const DEFAULT_INVENTORY_SHEET_NAME: &str = "Inventory";
/// How long one append or read may take before the step gives up (and is retried).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `GOOGLE_SERVICE_ACCOUNT_JSON` (raw JSON or base64), `ORDERS_SHEET_ID`, `ORDERS_SHEET_NAME`
/// `INVENTORY_SHEET_ID`, `INVENTORY_SHEET_NAME` and `GOOGLE_SHEETS_API_BASE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetsSettings {
    /// The key file's JSON, decoded and checked at start-up.
    pub service_account_json: Option<Secret>,
    pub orders_sheet_id: Option<String>,
    pub orders_sheet_name: String,
    pub inventory_sheet_id: Option<String>,
    pub inventory_sheet_name: String,
    /// With a trailing slash, as the generated client expects.
    pub api_base: String,
}

impl Default for SheetsSettings {
    fn default() -> Self {
        Self {
            service_account_json: None,
            orders_sheet_id: None,
            orders_sheet_name: DEFAULT_ORDERS_SHEET_NAME.to_owned(),
            inventory_sheet_id: None,
            inventory_sheet_name: DEFAULT_INVENTORY_SHEET_NAME.to_owned(),
            api_base: DEFAULT_SHEETS_API_BASE.to_owned(),
        }
    }
}

impl SheetsSettings {
    /// Reads the Sheets variables through `get` (which treats empty values as unset).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let service_account_json = get("GOOGLE_SERVICE_ACCOUNT_JSON")
            .map(|value| decode_service_account(&value))
            .transpose()?;
        let api_base = match get("GOOGLE_SHEETS_API_BASE") {
            Some(value) => {
                crate::integrations::email::http_base_url("GOOGLE_SHEETS_API_BASE", value)? + "/"
            }
            None => DEFAULT_SHEETS_API_BASE.to_owned(),
        };
        Ok(Self {
            service_account_json,
            orders_sheet_id: get("ORDERS_SHEET_ID").map(|id| id.trim().to_owned()),
            orders_sheet_name: get("ORDERS_SHEET_NAME").map_or_else(
                || DEFAULT_ORDERS_SHEET_NAME.to_owned(),
                |n| n.trim().to_owned(),
            ),
            inventory_sheet_id: get("INVENTORY_SHEET_ID").map(|id| id.trim().to_owned()),
            inventory_sheet_name: get("INVENTORY_SHEET_NAME").map_or_else(
                || DEFAULT_INVENTORY_SHEET_NAME.to_owned(),
                |n| n.trim().to_owned(),
            ),
            api_base,
        })
    }
}

/// The key as JSON (`{…}`) or base64 of it; checked to be a service-account key. Errors never
/// echo the value.
fn decode_service_account(value: &str) -> Result<Secret, ConfigError> {
    let invalid = |reason| ConfigError::Invalid {
        key: "GOOGLE_SERVICE_ACCOUNT_JSON",
        value: "[redacted]".to_owned(),
        reason,
    };
    let trimmed = value.trim();
    let json = if trimmed.starts_with('{') {
        trimmed.to_owned()
    } else {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .map_err(|_| invalid("expected the key file's JSON, or base64 of it"))?;
        String::from_utf8(bytes).map_err(|_| invalid("the base64 does not decode to text"))?
    };
    serde_json::from_str::<ServiceAccountKey>(&json).map_err(|_| {
        invalid("not a service-account key (needs client_email, private_key and token_uri)")
    })?;
    Ok(Secret::new(json))
}

/// Why a sheet is not available, a row was not appended or the rows were not read. Never carries
/// row data or keys.
#[derive(Debug, thiserror::Error)]
pub enum SheetsError {
    #[error("the service-account key is not usable: {0}")]
    Key(String),
    #[error("no TLS root certificates for Google: {0}")]
    Tls(#[source] std::io::Error),
    #[error("the Sheets API refused the request: {0}")]
    Api(String),
    #[error("the Sheets API did not answer within {0:?}")]
    Timeout(Duration),
}

/// One order as a sheet row (the columns of the original store's sheet). Holds PII: it goes to
/// the sheet only, never to logs or step outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub order_id: String,
    pub created_at: String,
    pub email: String,
    pub name: String,
    pub items: String,
    pub total_cents: i64,
    pub currency: String,
    pub ship_address: String,
    pub ship_city: String,
    pub ship_state: String,
    pub ship_zip: String,
    pub ship_country: String,
    pub phone: String,
    pub status: String,
    pub tracking: String,
    pub notes: String,
    pub discount_code: String,
    pub discount_amount_cents: i64,
}

impl OrderRow {
    fn cells(&self) -> Vec<serde_json::Value> {
        [
            self.order_id.clone(),
            self.created_at.clone(),
            self.email.clone(),
            self.name.clone(),
            self.items.clone(),
            self.total_cents.to_string(),
            self.currency.clone(),
            self.ship_address.clone(),
            self.ship_city.clone(),
            self.ship_state.clone(),
            self.ship_zip.clone(),
            self.ship_country.clone(),
            self.phone.clone(),
            self.status.clone(),
            self.tracking.clone(),
            self.notes.clone(),
            self.discount_code.clone(),
            self.discount_amount_cents.to_string(),
        ]
        .into_iter()
        .map(serde_json::Value::String)
        .collect()
    }
}

/// Where the row landed, PII-free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppendedRow {
    /// A1 range of the new row, e.g. `Sheet1!A7:R7`.
    pub updated_range: Option<String>,
}

type Connector = HttpsConnector<HttpConnector>;

/// The orders sheet. Cheap to clone; the access token is cached and refreshed by the client.
#[derive(Clone)]
pub struct OrdersSheet {
    hub: Sheets<Connector>,
    sheet_id: String,
    sheet_name: String,
}

impl std::fmt::Debug for OrdersSheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrdersSheet")
            .field("sheet_id", &self.sheet_id)
            .field("sheet_name", &self.sheet_name)
            .finish_non_exhaustive()
    }
}

impl OrdersSheet {
    /// Connects with the configured key; `Ok(Err(reason))` when the sheet is not configured.
    pub async fn from_settings(
        settings: &SheetsSettings,
    ) -> Result<Result<Self, String>, SheetsError> {
        let (json, sheet_id) = match (&settings.service_account_json, &settings.orders_sheet_id) {
            (Some(json), Some(id)) => (json, id),
            (None, None) => {
                return Ok(Err(
                    "GOOGLE_SERVICE_ACCOUNT_JSON and ORDERS_SHEET_ID are not set".to_owned(),
                ))
            }
            (None, Some(_)) => return Ok(Err("GOOGLE_SERVICE_ACCOUNT_JSON is not set".to_owned())),
            (Some(_), None) => return Ok(Err("ORDERS_SHEET_ID is not set".to_owned())),
        };
        Ok(Ok(Self {
            hub: connect(json, &settings.api_base).await?,
            sheet_id: sheet_id.clone(),
            sheet_name: settings.orders_sheet_name.clone(),
        }))
    }

    /// Appends `row` below the sheet's table (`RAW`, inserting a row).
    pub async fn append_order(&self, row: &OrderRow) -> Result<AppendedRow, SheetsError> {
        let request = ValueRange {
            values: Some(vec![row.cells()]),
            ..Default::default()
        };
        let range = format!("{}!A:A", self.sheet_name);
        let call = self
            .hub
            .spreadsheets()
            .values_append(request, &self.sheet_id, &range)
            .value_input_option("RAW")
            .insert_data_option("INSERT_ROWS")
            .doit();
        let (_, answer) = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| SheetsError::Timeout(CALL_TIMEOUT))?
            .map_err(|e| SheetsError::Api(describe(&e)))?;
        Ok(AppendedRow {
            updated_range: answer.updates.and_then(|u| u.updated_range),
        })
    }
}

/// A Sheets client authorised by the service-account key `json`, calling `api_base`.
async fn connect(json: &Secret, api_base: &str) -> Result<Sheets<Connector>, SheetsError> {
    let key = yup_oauth2::parse_service_account_key(json.expose())
        .map_err(|_| SheetsError::Key("it is not a service-account key".to_owned()))?;
    let connector = HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(SheetsError::Tls)?
        // Google is https; plain http is for a local stand-in in tests.
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    // The token client and the API client send different body types, so they are two clients
    // over one connector.
    let token_client = Client::builder(TokioExecutor::new()).build::<_, String>(connector.clone());
    let client = Client::builder(TokioExecutor::new()).build(connector);
    let auth = ServiceAccountAuthenticator::with_client(
        key,
        yup_oauth2::CustomHyperClientBuilder::from(token_client),
    )
    .build()
    .await
    .map_err(|e| SheetsError::Key(e.kind().to_string()))?;
    let mut hub = Sheets::new(client, auth);
    hub.base_url(api_base.to_owned());
    hub.root_url(api_base.to_owned());
    Ok(hub)
}

/// The inventory sheet: its tab is read whole, as rows of cell texts, for an import.
#[derive(Clone)]
pub struct InventorySheet {
    hub: Sheets<Connector>,
    sheet_id: String,
    sheet_name: String,
}

impl std::fmt::Debug for InventorySheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventorySheet")
            .field("sheet_id", &self.sheet_id)
            .field("sheet_name", &self.sheet_name)
            .finish_non_exhaustive()
    }
}

impl InventorySheet {
    /// Connects with the configured key; `Ok(Err(reason))` when the sheet is not configured.
    pub async fn from_settings(
        settings: &SheetsSettings,
    ) -> Result<Result<Self, String>, SheetsError> {
        let (json, sheet_id) = match (&settings.service_account_json, &settings.inventory_sheet_id)
        {
            (Some(json), Some(id)) => (json, id),
            (None, None) => {
                return Ok(Err(
                    "GOOGLE_SERVICE_ACCOUNT_JSON and INVENTORY_SHEET_ID are not set".to_owned(),
                ))
            }
            (None, Some(_)) => return Ok(Err("GOOGLE_SERVICE_ACCOUNT_JSON is not set".to_owned())),
            (Some(_), None) => return Ok(Err("INVENTORY_SHEET_ID is not set".to_owned())),
        };
        Ok(Ok(Self {
            hub: connect(json, &settings.api_base).await?,
            sheet_id: sheet_id.clone(),
            sheet_name: settings.inventory_sheet_name.clone(),
        }))
    }

    /// The tab's name.
    pub fn sheet_name(&self) -> &str {
        &self.sheet_name
    }

    /// Every row of the tab, each cell as its formatted text (empty cells as `""`).
    pub async fn read_rows(&self) -> Result<Vec<Vec<String>>, SheetsError> {
        // A quoted tab name is a range covering the whole tab, whatever characters it holds.
        let range = format!("'{}'", self.sheet_name.replace('\'', "''"));
        let call = self
            .hub
            .spreadsheets()
            .values_get(&self.sheet_id, &range)
            .major_dimension("ROWS")
            .value_render_option("FORMATTED_VALUE")
            .doit();
        let (_, answer) = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| SheetsError::Timeout(CALL_TIMEOUT))?
            .map_err(|e| SheetsError::Api(describe(&e)))?;
        Ok(answer
            .values
            .unwrap_or_default()
            .into_iter()
            .map(|row| row.into_iter().map(cell_text).collect())
            .collect())
    }
}

/// A cell's text: strings as they are, numbers and booleans written out, anything else empty.
fn cell_text(cell: serde_json::Value) -> String {
    match cell {
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A short description of a client error that leaves out response bodies (they can echo the
/// row).
fn describe(error: &google_sheets4::Error) -> String {
    use google_sheets4::Error;
    match error {
        Error::Failure(response) => format!("HTTP {}", response.status()),
        Error::BadRequest(_) => "bad request".to_owned(),
        Error::MissingToken(_) | Error::MissingAPIKey => {
            "no access token (check the service account's access to the sheet)".to_owned()
        }
        Error::HttpError(e) => format!("transport error: {e}"),
        Error::Io(e) => format!("I/O error: {e}"),
        Error::JsonDecodeError(..) => "unreadable answer".to_owned(),
        Error::Cancelled => "cancelled".to_owned(),
        Error::UploadSizeLimitExceeded(..) | Error::FieldClash(_) => "invalid request".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = r#"{"type":"service_account","client_email":"bot@p.iam.gserviceaccount.com","private_key":"-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n","token_uri":"https://oauth2.googleapis.com/token"}"#;

    fn settings(vars: &[(&str, &str)]) -> Result<SheetsSettings, ConfigError> {
        let vars: HashMap<&str, String> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        SheetsSettings::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn reads_the_key_raw_or_base64() {
        assert_eq!(settings(&[]).unwrap(), SheetsSettings::default());
        let raw = settings(&[("GOOGLE_SERVICE_ACCOUNT_JSON", KEY)]).unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(KEY);
        let b64 = settings(&[("GOOGLE_SERVICE_ACCOUNT_JSON", &encoded)]).unwrap();
        assert_eq!(raw, b64);
        assert_eq!(
            raw.service_account_json.map(|s| s.expose().to_owned()),
            Some(KEY.to_owned())
        );
    }

    #[test]
    fn refuses_a_bad_key_without_echoing_it_and_normalises_the_base() {
        let error = settings(&[(
            "GOOGLE_SERVICE_ACCOUNT_JSON",
            "{\"private_key\":\"s3cret\"}",
        )])
        .expect_err("not a key");
        assert!(!error.to_string().contains("s3cret"));
        let local = settings(&[("GOOGLE_SHEETS_API_BASE", "http://127.0.0.1:9")]).unwrap();
        assert_eq!(local.api_base, "http://127.0.0.1:9/");
    }

    #[test]
    fn a_row_has_the_sheet_columns_in_order() {
        let row = OrderRow {
            order_id: "ord_1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            email: "e".into(),
            name: "n".into(),
            items: "i".into(),
            total_cents: 100,
            currency: "USD".into(),
            ship_address: "a".into(),
            ship_city: "c".into(),
            ship_state: "s".into(),
            ship_zip: "z".into(),
            ship_country: "US".into(),
            phone: "p".into(),
            status: "pending".into(),
            tracking: String::new(),
            notes: String::new(),
            discount_code: "SAVE".into(),
            discount_amount_cents: 5,
        };
        let cells = row.cells();
        assert_eq!(cells.len(), 18);
        assert_eq!(cells[0], "ord_1");
        assert_eq!(cells[5], "100");
        assert_eq!(cells[17], "5");
    }
}
