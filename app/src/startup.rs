//! Assembles the store's router and binds it: `Application::build(settings)`, then
//! `run_until_stopped()`.

use crate::bundle::{BundleError, ClientBundle, PKG_DIR};
use crate::config::Settings;
use crate::routes::{assets, health};
use crate::ui::{shell, App};
use axum::{routing::get, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use tokio::net::TcpListener;

/// The store, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    port: u16,
    local_url: String,
    public_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
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
        let options = LeptosOptions::builder()
            .output_name(bundle.output_name())
            .site_root(settings.site_root.to_string_lossy().as_ref())
            .site_pkg_dir(PKG_DIR)
            .site_addr(address)
            .build();
        Ok(Self {
            listener,
            router: router(options, &settings.site_root),
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

    /// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await
    }
}

fn router(options: LeptosOptions, site_root: &Path) -> Router {
    let pages = generate_route_list(App);
    Router::new()
        .route("/api/health", get(health::health))
        .nest_service(&format!("/{PKG_DIR}"), assets::bundle(site_root, PKG_DIR))
        .leptos_routes(&options, pages, {
            let options = options.clone();
            move || shell(options.clone())
        })
        // Other static files from the site root, else the app's 404 page.
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(assets::revalidate_unless_set())
        .with_state(options)
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
