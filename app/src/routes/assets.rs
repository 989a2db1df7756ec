//! Cache policy for everything served from the site dir: the content-hashed client bundle under
//! `/pkg` is immutable, everything else must be revalidated.

use axum::http::{header::CACHE_CONTROL, HeaderValue, Response};
use std::path::Path;
use tower_http::services::fs::ServeFileSystemResponseBody;
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

/// A year: bundle file names change whenever their content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

type BundleResponse = Response<ServeFileSystemResponseBody>;

/// Serves `{site_root}/{pkg_dir}`. Only successful responses are marked immutable, so a 404
/// during a deploy is not cached for a year.
pub fn bundle(
    site_root: &Path,
    pkg_dir: &str,
) -> SetResponseHeader<ServeDir, fn(&BundleResponse) -> Option<HeaderValue>> {
    SetResponseHeader::overriding(
        ServeDir::new(site_root.join(pkg_dir)),
        CACHE_CONTROL,
        immutable_if_found,
    )
}

fn immutable_if_found(response: &BundleResponse) -> Option<HeaderValue> {
    response
        .status()
        .is_success()
        .then(|| HeaderValue::from_static(IMMUTABLE))
}

/// For pages, API responses and the other static files: cache only with revalidation, unless
/// the handler chose a policy itself.
pub fn revalidate_unless_set() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static(REVALIDATE))
}
