//! Micro-cache of the catalog pages' first paint (`PAGE_CACHE_MS`, 1 s by default, 0 turns it off): `GET /` and
//! `GET /products/{slug}` without a query are rendered once and served from memory for up to
//! the given time (plus one render: while one request re-renders an expired page, the others
//! get the expired copy), and dropped at once on any realtime message (an order step or
//! status, which is when stock moves), on every instance. These pages depend on nothing in the request (the
//! cart lives in the browser), and a hydrated page refetches its live data when its stream
//! opens, so a cached first paint is at most that old and is corrected right away. Order pages,
//! `/admin`, `/checkout` and every API route are never cached.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::broadcast::error::RecvError;

use crate::realtime::Realtime;

#[derive(Clone)]
struct Page {
    rendered_at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// The cached pages; cheap to clone.
#[derive(Clone)]
pub struct PageCache {
    inner: Arc<Inner>,
}

struct Inner {
    max_age: Duration,
    pages: RwLock<HashMap<String, Page>>,
    /// Bumped on every invalidation: a page rendered across one is not kept.
    generation: AtomicU64,
    /// Paths whose expired page one request is re-rendering; the others get the expired copy
    /// meanwhile rather than all rendering at once.
    refreshing: Mutex<HashSet<String>>,
}

enum Lookup {
    Fresh(Page),
    Expired(Page),
    Missing,
}

/// Marks a path as being re-rendered until dropped.
struct Refreshing {
    cache: PageCache,
    path: String,
}

impl Drop for Refreshing {
    fn drop(&mut self) {
        self.cache.refreshing().remove(&self.path);
    }
}

impl PageCache {
    /// A cache whose pages live `max_age` at most, emptied on every message of `realtime`.
    pub fn start(max_age: Duration, realtime: &Realtime) -> Self {
        let cache = Self {
            inner: Arc::new(Inner {
                max_age,
                pages: RwLock::new(HashMap::new()),
                generation: AtomicU64::new(0),
                refreshing: Mutex::new(HashSet::new()),
            }),
        };
        let mut messages = realtime.subscribe();
        let invalidated = cache.clone();
        tokio::spawn(async move {
            // A missed (lagged) message is a change too.
            while let Ok(_) | Err(RecvError::Lagged(_)) = messages.recv().await {
                invalidated.clear();
            }
        });
        cache
    }

    fn clear(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
        self.write().clear();
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Page>> {
        self.inner
            .pages
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn refreshing(&self) -> MutexGuard<'_, HashSet<String>> {
        self.inner
            .refreshing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lookup(&self, path: &str) -> Lookup {
        let pages = self
            .inner
            .pages
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match pages.get(path) {
            Some(page) if page.rendered_at.elapsed() < self.inner.max_age => {
                Lookup::Fresh(page.clone())
            }
            Some(page) => Lookup::Expired(page.clone()),
            None => Lookup::Missing,
        }
    }

    /// Claims the re-rendering of `path`, unless another request has.
    fn claim(&self, path: &str) -> Option<Refreshing> {
        self.refreshing()
            .insert(path.to_owned())
            .then(|| Refreshing {
                cache: self.clone(),
                path: path.to_owned(),
            })
    }
}

/// Whether `request` asks for a catalog page that depends on nothing but the catalog.
fn cacheable(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::GET
        && request.uri().query().is_none()
        && (path == "/"
            || path
                .strip_prefix("/products/")
                .is_some_and(|slug| !slug.is_empty() && !slug.contains('/')))
}

fn respond(page: Page) -> Response {
    let mut response = Response::new(Body::from(page.body));
    *response.headers_mut() = page.headers;
    response
}

/// The middleware: serves a fresh cached page, or renders and keeps a successful one.
pub async fn serve(State(cache): State<PageCache>, request: Request, next: Next) -> Response {
    if !cacheable(&request) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let _refreshing = match cache.lookup(&path) {
        Lookup::Fresh(page) => return respond(page),
        Lookup::Expired(page) => match cache.claim(&path) {
            Some(claim) => Some(claim),
            None => return respond(page),
        },
        // Dropped by an invalidation (or never rendered): render, as every request would.
        Lookup::Missing => None,
    };
    let generation = cache.inner.generation.load(Ordering::SeqCst);
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    // A page's size is bounded by the catalog's.
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%path, %error, "a page failed while rendering");
            let mut failed = Response::new(Body::empty());
            *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return failed;
        }
    };
    let page = Page {
        rendered_at: Instant::now(),
        headers: parts.headers.clone(),
        body: body.clone(),
    };
    {
        let mut pages = cache.write();
        // Only when no invalidation happened while the page was rendering.
        if cache.inner.generation.load(Ordering::SeqCst) == generation {
            pages.insert(path, page);
        }
    }
    Response::from_parts(parts, Body::from(body))
}
