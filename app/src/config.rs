//! Typed server settings, read once from the environment at start-up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Where the server listens unless `HOST`/`PORT` say otherwise.
const DEFAULT_HOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const DEFAULT_PORT: u16 = 3000;
/// Where `cargo run -p xtask -- build` writes the client bundle, relative to the workspace root.
const DEFAULT_SITE_ROOT: &str = "target/site";
/// The embedded SQLite database unless `DATABASE_URL` says otherwise.
const DEFAULT_DATABASE_URL: &str = "sqlite://swag-store.db?mode=rwc";
/// The Inngest app id unless `INNGEST_APP_ID` says otherwise.
const DEFAULT_APP_ID: &str = "inngest-swag-store";
/// The secret `POST /api/inventory/reset` requires.
pub const RESET_SECRET: &str = "SWAG_STORE_RESET_SECRET";

/// Who runs the durable functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorMode {
    /// The embedded executor, in this process, on this database (the default).
    Embedded,
    /// An Inngest dev server (`INNGEST_DEV`) or Inngest Cloud (`INNGEST_EVENT_KEY`), configured
    /// by the SDK's own `INNGEST_*` variables.
    External,
}

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `HOST` and `PORT`. Port 0 asks the OS for a free port (tests do this).
    pub bind_address: SocketAddr,
    /// `APP_URL`: the origin customers reach the store at, when it is not the bound address
    /// (behind a proxy or on a deployed host).
    pub app_url: Option<AppUrl>,
    /// `SITE_ROOT`: the directory holding the compiled client bundle and static assets.
    pub site_root: PathBuf,
    /// `DATABASE_URL`: SQLite file by default, Postgres when it says `postgres://`.
    pub database_url: String,
    /// `INNGEST_APP_ID`.
    pub app_id: String,
    /// Embedded unless `INNGEST_DEV` or `INNGEST_EVENT_KEY` is set.
    pub executor: ExecutorMode,
    /// `INNGEST_SIGNING_KEY`; the embedded executor makes a random one per process when unset.
    pub signing_key: Option<String>,
    /// `INNGEST_ENCRYPTION_KEY`: end-to-end encryption of PII in events and step outputs.
    pub encryption_key: Option<String>,
    /// `RESEND_API_KEY`, `RESEND_API_BASE`, `ORDER_EMAIL_FROM`: order emails.
    pub email: crate::integrations::email::EmailSettings,
    /// `GOOGLE_SERVICE_ACCOUNT_JSON`, `ORDERS_SHEET_ID`, `ORDERS_SHEET_NAME`,
    /// `GOOGLE_SHEETS_API_BASE`: the orders sheet.
    pub sheets: crate::integrations::sheets::SheetsSettings,
    /// `ORDER_OPS_SLACK_WEBHOOK_URL`: where failed orders are reported.
    pub order_ops_slack_webhook: Option<crate::integrations::Secret>,
    /// `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE`: checkout and webhooks.
    pub stripe: crate::integrations::stripe::StripeSettings,
    /// `LOW_STOCK_THRESHOLD`, `LOW_STOCK_SLACK_WEBHOOK_URL`, `LOW_STOCK_SLACK_MENTION`:
    /// low-stock alerts.
    pub low_stock: crate::functions::notify_low_inventory::LowStockSettings,
    /// `SWAG_STORE_RESET_SECRET`: guards `POST /api/inventory/reset` (off when unset).
    pub reset_secret: Option<crate::integrations::Secret>,
    /// `PAGE_CACHE_MS`: how long the catalog pages' first paint may be served from memory
    /// (`crate::page_cache`); 1 s when unset, 0 renders every request.
    pub page_cache: Option<std::time::Duration>,
    /// `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `INVENTORY_IMPORT_MODEL`: the LLM reviewer of
    /// inventory imports.
    pub openai: crate::integrations::openai::OpenAiSettings,
    /// `SWAG_STORE_API_TOKEN`, `SWAG_STORE_API_ACTOR_EMAIL`: the bearer token admin API calls
    /// may use until admin sign-in exists.
    pub api_token: crate::admin_auth::ApiTokenSettings,
}

/// A public origin such as `https://swag.example.com`: http(s), no path, kept without the
/// trailing slash so paths can be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUrl(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{key}={value:?} is not valid: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the settings through `lookup`, which maps a variable name to its value. An empty
    /// value counts as unset, as it does in most `.env` tooling.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());

        let host = match get("HOST") {
            Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
                key: "HOST",
                value,
                reason: "expected an IP address such as 127.0.0.1 or 0.0.0.0",
            })?,
            None => DEFAULT_HOST,
        };
        let port = match get("PORT") {
            Some(value) => value.trim().parse().map_err(|_| ConfigError::Invalid {
                key: "PORT",
                value,
                reason: "expected a port number from 0 to 65535",
            })?,
            None => DEFAULT_PORT,
        };
        let app_url = get("APP_URL").map(AppUrl::parse).transpose()?;
        let site_root = get("SITE_ROOT").map_or_else(|| DEFAULT_SITE_ROOT.into(), PathBuf::from);

        let executor = if get("INNGEST_DEV").is_some_and(|v| v.trim() != "0")
            || get("INNGEST_EVENT_KEY").is_some()
        {
            ExecutorMode::External
        } else {
            ExecutorMode::Embedded
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(ConfigError::Invalid {
                key: "DATABASE_URL",
                value: database_url,
                reason: "expected sqlite://path?mode=rwc or postgres://user@host/db",
            });
        }

        Ok(Self {
            bind_address: SocketAddr::new(host, port),
            app_url,
            site_root,
            database_url,
            app_id: get("INNGEST_APP_ID").unwrap_or_else(|| DEFAULT_APP_ID.to_owned()),
            executor,
            signing_key: get("INNGEST_SIGNING_KEY"),
            encryption_key: get("INNGEST_ENCRYPTION_KEY"),
            email: crate::integrations::email::EmailSettings::from_lookup(get)?,
            sheets: crate::integrations::sheets::SheetsSettings::from_lookup(get)?,
            order_ops_slack_webhook: crate::integrations::slack::webhook_url_from_lookup(
                get,
                crate::integrations::slack::ORDER_OPS_SLACK_WEBHOOK_URL,
            )?,
            stripe: crate::integrations::stripe::StripeSettings::from_lookup(get)?,
            low_stock: crate::functions::notify_low_inventory::LowStockSettings::from_lookup(get)?,
            reset_secret: get(RESET_SECRET).map(|s| crate::integrations::Secret::new(s.trim())),
            page_cache: page_cache_from(get("PAGE_CACHE_MS"))?,
            openai: crate::integrations::openai::OpenAiSettings::from_lookup(get)?,
            api_token: crate::admin_auth::ApiTokenSettings::from_lookup(get),
        })
    }
}

/// The catalog pages' cache lifetime when `PAGE_CACHE_MS` is unset: long enough to absorb a
/// burst, short enough that a missed invalidation is corrected at once by the live stream.
const DEFAULT_PAGE_CACHE: std::time::Duration = std::time::Duration::from_secs(1);

fn page_cache_from(value: Option<String>) -> Result<Option<std::time::Duration>, ConfigError> {
    let Some(value) = value else {
        return Ok(Some(DEFAULT_PAGE_CACHE));
    };
    match value.trim().parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(ms) => Ok(Some(std::time::Duration::from_millis(ms))),
        Err(_) => Err(ConfigError::Invalid {
            key: "PAGE_CACHE_MS",
            value,
            reason: "expected milliseconds, such as 1000 (0 turns the page cache off)",
        }),
    }
}

impl AppUrl {
    pub fn parse(value: String) -> Result<Self, ConfigError> {
        let invalid = |value| ConfigError::Invalid {
            key: "APP_URL",
            value,
            reason: "expected an http(s) origin such as https://swag.example.com",
        };
        let Ok(url) = url::Url::parse(value.trim()) else {
            return Err(invalid(value));
        };
        let is_origin = matches!(url.scheme(), "http" | "https")
            && url.has_host()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        if !is_origin {
            return Err(invalid(value));
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Settings::from_lookup(|key| vars.get(key).cloned())
    }

    #[test]
    fn defaults_to_localhost_3000_and_the_workspace_site_dir() {
        let settings = settings(&[]).expect("defaults are valid");
        assert_eq!(settings.bind_address, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(settings.app_url, None);
        assert_eq!(settings.site_root, PathBuf::from("target/site"));
        assert_eq!(settings.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(settings.executor, ExecutorMode::Embedded);
        assert_eq!(settings.app_id, "inngest-swag-store");
    }

    #[test]
    fn the_page_cache_lasts_a_second_unless_page_cache_ms_says_otherwise() {
        assert_eq!(
            settings(&[]).unwrap().page_cache,
            Some(std::time::Duration::from_secs(1))
        );
        assert_eq!(
            settings(&[("PAGE_CACHE_MS", "0")]).unwrap().page_cache,
            None
        );
        assert_eq!(
            settings(&[("PAGE_CACHE_MS", "1000")]).unwrap().page_cache,
            Some(std::time::Duration::from_secs(1))
        );
        assert!(matches!(
            settings(&[("PAGE_CACHE_MS", "soon")]),
            Err(ConfigError::Invalid {
                key: "PAGE_CACHE_MS",
                ..
            })
        ));
    }

    #[test]
    fn a_dev_server_or_an_event_key_switches_to_an_external_executor() {
        assert_eq!(
            settings(&[("INNGEST_DEV", "1")]).unwrap().executor,
            ExecutorMode::External
        );
        assert_eq!(
            settings(&[("INNGEST_DEV", "0")]).unwrap().executor,
            ExecutorMode::Embedded
        );
        assert_eq!(
            settings(&[("INNGEST_EVENT_KEY", "k")]).unwrap().executor,
            ExecutorMode::External
        );
    }

    #[test]
    fn rejects_an_unknown_database() {
        let error = settings(&[("DATABASE_URL", "mysql://x")]).expect_err("mysql is not supported");
        assert!(error.to_string().starts_with("DATABASE_URL="));
    }

    #[test]
    fn reads_every_variable() {
        let settings = settings(&[
            ("HOST", "0.0.0.0"),
            ("PORT", "8080"),
            ("APP_URL", "https://swag.example.com/"),
            ("SITE_ROOT", "/srv/site"),
        ])
        .expect("valid settings");
        assert_eq!(settings.bind_address, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            settings.app_url.as_ref().map(AppUrl::as_str),
            Some("https://swag.example.com")
        );
        assert_eq!(settings.site_root, PathBuf::from("/srv/site"));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let settings = settings(&[("PORT", ""), ("APP_URL", " ")]).expect("valid settings");
        assert_eq!(settings.bind_address.port(), DEFAULT_PORT);
        assert_eq!(settings.app_url, None);
    }

    #[test]
    fn rejects_a_bad_port_naming_the_variable() {
        let error = settings(&[("PORT", "80a")]).expect_err("80a is not a port");
        assert!(error.to_string().starts_with("PORT=\"80a\" is not valid"));
        assert!(settings(&[("PORT", "70000")]).is_err());
    }

    #[test]
    fn rejects_a_bad_host() {
        assert!(settings(&[("HOST", "localhost:3000")]).is_err());
    }

    #[test]
    fn reads_the_low_stock_and_reset_variables() {
        let defaults = settings(&[]).expect("defaults are valid");
        assert_eq!(defaults.low_stock.threshold, 5);
        assert_eq!(defaults.low_stock.slack_webhook, None);
        assert_eq!(defaults.reset_secret, None);
        let settings = settings(&[
            ("LOW_STOCK_THRESHOLD", "7"),
            (
                "LOW_STOCK_SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T/B/low",
            ),
            ("LOW_STOCK_SLACK_MENTION", "<!here>"),
            ("SWAG_STORE_RESET_SECRET", "s3cret"),
        ])
        .expect("valid settings");
        assert_eq!(settings.low_stock.threshold, 7);
        assert_eq!(settings.low_stock.slack_mention.as_deref(), Some("<!here>"));
        assert!(settings.low_stock.slack_webhook.is_some());
        assert_eq!(
            settings.reset_secret.as_ref().map(|s| s.expose()),
            Some("s3cret")
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
    }

    #[test]
    fn rejects_an_app_url_that_is_not_an_http_origin() {
        for value in [
            "swag.example.com",
            "ftp://swag.example.com",
            "https://",
            "https://swag.example.com/shop",
        ] {
            assert!(settings(&[("APP_URL", value)]).is_err(), "{value}");
        }
    }
}
