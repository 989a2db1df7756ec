//! Assembles the store's router and binds it: `Application::build(settings)`, then
//! `run_until_stopped()`.

use crate::bundle::{BundleError, ClientBundle, PKG_DIR};
use crate::config::Settings;
use crate::durable::{Durable, DurableError};
use crate::functions::FunctionDeps;
use crate::page_cache::{self, PageCache};
use crate::realtime::{self, PublishError, Realtime};
use crate::routes::inventory_import;
use crate::routes::inventory_reset;
use crate::routes::{assets, health, product_images};
use crate::routes::{checkout, confirmation, discounts, stripe_webhook};
use crate::state::AppState;
use crate::ui::{shell, App};
use axum::routing::post;
use axum::{routing::get, Router};
use inngest_executor::{Clock, SystemClock};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use migration::{Migrator, MigratorTrait};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use tokio::net::TcpListener;

/// The store, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    port: u16,
    local_url: String,
    public_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("could not open the database (check DATABASE_URL): {0}")]
    Database(#[source] sea_orm::DbErr),
    #[error("could not migrate or seed the database: {0}")]
    Migrate(#[source] sea_orm::DbErr),
    #[error("could not start realtime updates: {0}")]
    Realtime(#[from] PublishError),
    #[error(transparent)]
    Durable(#[from] DurableError),
    #[error("could not set up the durable functions' clients: {0}")]
    Functions(#[from] crate::functions::FunctionsError),
    #[error("could not set up Stripe: {0}")]
    Stripe(#[from] crate::integrations::stripe::StripeError),
    #[error(
        "could not listen on {address} (is another server using the port? set PORT): {source}"
    )]
    Bind {
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
}

impl Application {
    /// Loads the client bundle and binds the listener. With port 0 the OS picks a free port;
    /// [`Application::port`] says which.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, SystemClock).await
    }

    /// Like [`Application::build`], with the embedded executor scheduling (sleeps, retries,
    /// crons) on `clock`: tests pass a manual clock to fire crons on demand.
    pub async fn build_with_clock(
        settings: Settings,
        clock: impl Clock,
    ) -> Result<Self, StartupError> {
        let bundle = ClientBundle::load(&settings.site_root)?;
        let bind_error = |source| StartupError::Bind {
            address: settings.bind_address,
            source,
        };
        let listener = TcpListener::bind(settings.bind_address)
            .await
            .map_err(bind_error)?;
        let address = listener.local_addr().map_err(bind_error)?;
        let local_url = local_url(address);
        let public_url = match &settings.app_url {
            Some(app_url) => app_url.as_str().to_owned(),
            None => local_url.clone(),
        };
        let db = inngest_executor::connect(&settings.database_url)
            .await
            .map_err(StartupError::Database)?;
        Migrator::up(&db, None)
            .await
            .map_err(StartupError::Migrate)?;
        let seeded = swag_domain::catalog::seed(&db)
            .await
            .map_err(StartupError::Migrate)?;
        tracing::info!(
            products = seeded.products,
            variants = seeded.variants,
            "catalog ready"
        );
        let realtime = Realtime::for_database(&db).await?;
        let deps =
            FunctionDeps::build(&settings, db.clone(), realtime.clone(), &public_url).await?;
        let durable = Durable::start(&settings, &db, &local_url, deps, clock).await?;
        let payments = crate::integrations::stripe::Payments::from_settings(&settings.stripe)?;
        let admin_auth =
            crate::admin_auth::BearerTokens::shared(settings.api_token.clone(), db.clone());
        let state = AppState {
            db,
            realtime,
            durable,
            public_url: public_url.clone(),
            payments,
            reset_secret: settings.reset_secret.clone(),
            admin_auth,
        };
        let options = LeptosOptions::builder()
            .output_name(bundle.output_name())
            .site_root(settings.site_root.to_string_lossy().as_ref())
            .site_pkg_dir(PKG_DIR)
            .site_addr(address)
            .build();
        Ok(Self {
            listener,
            router: router(options, &settings, state.clone()),
            state,
            port: address.port(),
            local_url,
            public_url,
        })
    }

    /// The bound port: the one the OS picked when the settings asked for port 0.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bound address as a URL a browser on this machine can open.
    pub fn local_url(&self) -> &str {
        &self.local_url
    }

    /// Where customers reach the store: `APP_URL`, or else the local URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The shared state (database, realtime hub, durable functions).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight. The embedded
    /// executor syncs the functions as soon as the server accepts connections.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        let durable = self.state.durable.clone();
        tokio::spawn(async move {
            if let Err(error) = durable.sync().await {
                tracing::error!(%error, "functions could not be synced; orders will not be fulfilled");
            }
        });
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

/// The page routes, generated once per process: generating them pauses resource loading
/// process-wide (leptos_server's `SuppressResourceLoad`), which would stall for good a page that
/// another app in the same process (tests build many) is rendering meanwhile.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn router(options: LeptosOptions, settings: &Settings, state: AppState) -> Router {
    let site_root = settings.site_root.as_path();
    let page_cache = settings
        .page_cache
        .map(|max_age| PageCache::start(max_age, &state.realtime));
    let pages = page_routes();
    let api = Router::new()
        .route("/api/health", get(health::health))
        .route(
            "/api/product-images/{id}",
            get(product_images::product_image),
        )
        .route("/api/checkout", post(checkout::checkout))
        .route("/api/discounts/validate", post(discounts::validate))
        .route("/api/webhooks/stripe", post(stripe_webhook::receive))
        .route("/api/inventory/reset", post(inventory_reset::reset))
        .route("/orders/confirmation", get(confirmation::confirm))
        .route("/api/realtime/{channel}", get(realtime::sse::subscribe))
        .route(
            "/api/admin/inventory/import",
            post(inventory_import::import).layer(inventory_import::body_limit()),
        )
        .merge(state.durable.router())
        .with_state(state.clone());
    let site = Router::new()
        .nest_service(&format!("/{PKG_DIR}"), assets::bundle(site_root, PKG_DIR))
        .leptos_routes_with_context(&options, pages, move || provide_context(state.clone()), {
            let options = options.clone();
            move || shell(options.clone())
        })
        // Other static files from the site root, else the app's 404 page.
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options);
    let site = match page_cache {
        Some(cache) => site.layer(axum::middleware::from_fn_with_state(
            cache,
            page_cache::serve,
        )),
        None => site,
    };
    site.merge(api).layer(assets::revalidate_unless_set())
}

/// A URL a browser on this machine can open, even when bound to every interface.
fn local_url(address: SocketAddr) -> String {
    let mut address = address;
    if address.ip().is_unspecified() {
        address.set_ip(Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{address}")
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_url_is_browsable_when_bound_to_every_interface() {
        assert_eq!(
            local_url("0.0.0.0:3000".parse().unwrap()),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            local_url("127.0.0.1:4000".parse().unwrap()),
            "http://127.0.0.1:4000"
        );
    }
}
