//! Client settings: mode (dev or cloud), keys and every base URL, from code or the environment.

use crate::signing::SigningKey;

/// Where the SDK is pointed: a local dev server (no signatures required) or Inngest Cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `INNGEST_DEV` set; `origin` is the dev server's origin.
    Dev {
        /// The dev server's origin, e.g. `http://localhost:8288`.
        origin: String,
    },
    /// Inngest Cloud (the default): requests must be signed.
    Cloud,
}

impl Mode {
    /// `"dev"` or `"cloud"`, as the protocol writes it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Mode::Dev { .. } => "dev",
            Mode::Cloud => "cloud",
        }
    }

    /// Whether this is dev mode.
    pub fn is_dev(&self) -> bool {
        matches!(self, Mode::Dev { .. })
    }
}

/// Default dev server origin.
pub const DEV_SERVER_ORIGIN: &str = "http://localhost:8288";
/// Default Inngest Cloud API origin.
pub const CLOUD_API_ORIGIN: &str = "https://api.inngest.com";
/// Default Inngest Cloud event API origin.
pub const CLOUD_EVENT_API_ORIGIN: &str = "https://inn.gs";
/// Default path the serve handler is mounted on.
pub const DEFAULT_SERVE_PATH: &str = "/api/inngest";

/// Everything the client needs to know, resolved from code and the environment.
///
/// Build it with [`Config::from_env`] and adjust it with the `with_*` methods; values set in code
/// win over the environment because they are applied last.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) app_id: String,
    pub(crate) app_version: Option<String>,
    pub(crate) mode: Mode,
    pub(crate) event_key: Option<String>,
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) signing_key_fallback: Option<SigningKey>,
    pub(crate) env: Option<String>,
    pub(crate) api_origin: String,
    pub(crate) event_api_origin: String,
    pub(crate) serve_origin: Option<String>,
    pub(crate) serve_path: Option<String>,
    pub(crate) allow_in_band_sync: bool,
}

impl Config {
    /// Settings for `app_id` read from the process environment.
    pub fn from_env(app_id: impl Into<String>) -> Self {
        Self::from_lookup(app_id, |name| std::env::var(name).ok())
    }

    /// Settings for `app_id` with no environment at all: cloud mode, no keys.
    pub fn new(app_id: impl Into<String>) -> Self {
        Self::from_lookup(app_id, |_| None)
    }

    /// Settings read through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(app_id: impl Into<String>, lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mode = match var("INNGEST_DEV") {
            None => Mode::Cloud,
            Some(value) if value == "0" => Mode::Cloud,
            Some(value) if value.starts_with("http://") || value.starts_with("https://") => {
                Mode::Dev {
                    origin: value.trim_end_matches('/').to_owned(),
                }
            }
            Some(_) => Mode::Dev {
                origin: DEV_SERVER_ORIGIN.to_owned(),
            },
        };
        let base = var("INNGEST_BASE_URL").map(|v| v.trim_end_matches('/').to_owned());
        let (default_api, default_events) = match &mode {
            Mode::Dev { origin } => (origin.clone(), origin.clone()),
            Mode::Cloud => (
                CLOUD_API_ORIGIN.to_owned(),
                CLOUD_EVENT_API_ORIGIN.to_owned(),
            ),
        };
        let api_origin = var("INNGEST_API_BASE_URL")
            .or_else(|| base.clone())
            .unwrap_or(default_api);
        let event_api_origin = var("INNGEST_EVENT_API_BASE_URL")
            .or(base)
            .unwrap_or(default_events);
        Self {
            app_id: app_id.into(),
            app_version: None,
            mode,
            event_key: var("INNGEST_EVENT_KEY"),
            signing_key: var("INNGEST_SIGNING_KEY").map(SigningKey::new),
            signing_key_fallback: var("INNGEST_SIGNING_KEY_FALLBACK").map(SigningKey::new),
            env: var("INNGEST_ENV"),
            api_origin: api_origin.trim_end_matches('/').to_owned(),
            event_api_origin: event_api_origin.trim_end_matches('/').to_owned(),
            serve_origin: var("INNGEST_SERVE_ORIGIN"),
            serve_path: var("INNGEST_SERVE_PATH"),
            allow_in_band_sync: var("INNGEST_ALLOW_IN_BAND_SYNC")
                .map(|v| !matches!(v.to_ascii_lowercase().as_str(), "0" | "false"))
                .unwrap_or(true),
        }
    }

    /// Switches to dev mode against the dev server at `origin`, pointing both APIs there.
    pub fn with_dev(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into().trim_end_matches('/').to_owned();
        self.api_origin = origin.clone();
        self.event_api_origin = origin.clone();
        self.mode = Mode::Dev { origin };
        self
    }

    /// Switches to cloud mode (signatures required).
    pub fn with_cloud(mut self) -> Self {
        self.mode = Mode::Cloud;
        self
    }

    /// Sets the event key used by `send`.
    pub fn with_event_key(mut self, key: impl Into<String>) -> Self {
        self.event_key = Some(key.into());
        self
    }

    /// Sets the signing key.
    pub fn with_signing_key(mut self, key: impl Into<String>) -> Self {
        self.signing_key = Some(SigningKey::new(key));
        self
    }

    /// Sets the fallback signing key, tried wherever the primary key fails (key rotation).
    pub fn with_signing_key_fallback(mut self, key: impl Into<String>) -> Self {
        self.signing_key_fallback = Some(SigningKey::new(key));
        self
    }

    /// Sets the Inngest environment (branch), sent as `X-Inngest-Env`.
    pub fn with_env(mut self, env: impl Into<String>) -> Self {
        self.env = Some(env.into());
        self
    }

    /// Points both the API and the event API at `origin` (like `INNGEST_BASE_URL`).
    pub fn with_base_url(mut self, origin: impl Into<String>) -> Self {
        let origin = origin.into().trim_end_matches('/').to_owned();
        self.api_origin = origin.clone();
        self.event_api_origin = origin;
        self
    }

    /// Sets the API origin only (like `INNGEST_API_BASE_URL`).
    pub fn with_api_base_url(mut self, origin: impl Into<String>) -> Self {
        self.api_origin = origin.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the event API origin only (like `INNGEST_EVENT_API_BASE_URL`).
    pub fn with_event_api_base_url(mut self, origin: impl Into<String>) -> Self {
        self.event_api_origin = origin.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the public origin the functions are served from (like `INNGEST_SERVE_ORIGIN`).
    pub fn with_serve_origin(mut self, origin: impl Into<String>) -> Self {
        self.serve_origin = Some(origin.into());
        self
    }

    /// Sets the path the functions are served on (like `INNGEST_SERVE_PATH`).
    pub fn with_serve_path(mut self, path: impl Into<String>) -> Self {
        self.serve_path = Some(path.into());
        self
    }

    /// Sets the app version reported at sync.
    pub fn with_app_version(mut self, version: impl Into<String>) -> Self {
        self.app_version = Some(version.into());
        self
    }

    /// Allows or refuses in-band sync (like `INNGEST_ALLOW_IN_BAND_SYNC`).
    pub fn with_in_band_sync(mut self, allowed: bool) -> Self {
        self.allow_in_band_sync = allowed;
        self
    }

    /// The app id.
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// The mode.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The API origin.
    pub fn api_origin(&self) -> &str {
        &self.api_origin
    }

    /// The event API origin.
    pub fn event_api_origin(&self) -> &str {
        &self.event_api_origin
    }

    /// The signing key, when one is set.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.signing_key.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup("app", move |name| map.get(name).cloned())
    }

    #[test]
    fn cloud_by_default() {
        let c = config(&[]);
        assert_eq!(c.mode, Mode::Cloud);
        assert_eq!(c.api_origin, CLOUD_API_ORIGIN);
        assert_eq!(c.event_api_origin, CLOUD_EVENT_API_ORIGIN);
        assert_eq!(config(&[("INNGEST_DEV", "0")]).mode, Mode::Cloud);
    }

    #[test]
    fn dev_with_and_without_url() {
        let c = config(&[("INNGEST_DEV", "1")]);
        assert_eq!(
            c.mode,
            Mode::Dev {
                origin: DEV_SERVER_ORIGIN.into()
            }
        );
        assert_eq!(c.api_origin, DEV_SERVER_ORIGIN);
        let c = config(&[("INNGEST_DEV", "http://127.0.0.1:9999/")]);
        assert_eq!(
            c.mode,
            Mode::Dev {
                origin: "http://127.0.0.1:9999".into()
            }
        );
        assert_eq!(c.event_api_origin, "http://127.0.0.1:9999");
    }

    #[test]
    fn base_urls_layer() {
        let c = config(&[
            ("INNGEST_BASE_URL", "http://base:1"),
            ("INNGEST_EVENT_API_BASE_URL", "http://events:2/"),
        ]);
        assert_eq!(c.api_origin, "http://base:1");
        assert_eq!(c.event_api_origin, "http://events:2");
        let c = config(&[("INNGEST_API_BASE_URL", "http://api:3")]);
        assert_eq!(c.api_origin, "http://api:3");
        assert_eq!(c.event_api_origin, CLOUD_EVENT_API_ORIGIN);
    }

    #[test]
    fn in_band_sync_can_be_refused() {
        assert!(config(&[]).allow_in_band_sync);
        assert!(!config(&[("INNGEST_ALLOW_IN_BAND_SYNC", "false")]).allow_in_band_sync);
    }
}
