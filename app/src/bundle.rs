//! Finds the compiled client bundle (JS glue + wasm) that `cargo run -p xtask -- build` wrote
//! into the site dir, so the HTML can reference it by its content-hashed name.

use std::io;
use std::path::{Path, PathBuf};

/// The site-root file naming the current bundle. xtask writes it last, after the bundle files
/// (`xtask/src/site.rs` uses the same name).
const MANIFEST_FILE: &str = "client-bundle.txt";
/// The site-root sub-directory holding the bundle, served at `/pkg`.
pub const PKG_DIR: &str = "pkg";

/// The bundle's output name: its files are `pkg/{name}.js` and `pkg/{name}_bg.wasm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientBundle {
    output_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "no client bundle in {site_root}: build it with `cargo run -p xtask -- build`, \
         or set SITE_ROOT to a built site dir (reading {reading})"
    )]
    NotBuilt {
        site_root: PathBuf,
        reading: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{manifest} names {name:?}, which is not a bundle name: rebuild with `cargo run -p xtask -- build`")]
    Malformed { manifest: PathBuf, name: String },
}

impl ClientBundle {
    /// Reads the manifest under `site_root` and checks the files it names are there.
    pub fn load(site_root: &Path) -> Result<Self, BundleError> {
        let not_built = |reading: PathBuf| {
            move |source| BundleError::NotBuilt {
                site_root: site_root.to_owned(),
                reading,
                source,
            }
        };
        let manifest = site_root.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&manifest).map_err(not_built(manifest.clone()))?;
        let name = text.trim();
        let is_bundle_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !is_bundle_name {
            return Err(BundleError::Malformed {
                manifest,
                name: name.to_owned(),
            });
        }
        let bundle = Self {
            output_name: name.to_owned(),
        };
        for file in [bundle.js_file(), bundle.wasm_file()] {
            let path = site_root.join(PKG_DIR).join(file);
            std::fs::metadata(&path).map_err(not_built(path.clone()))?;
        }
        Ok(bundle)
    }

    pub fn output_name(&self) -> &str {
        &self.output_name
    }

    fn js_file(&self) -> String {
        format!("{}.js", self.output_name)
    }

    /// wasm-bindgen's naming, which Leptos' hydration script expects too.
    fn wasm_file(&self) -> String {
        format!("{}_bg.wasm", self.output_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(manifest: Option<&str>, files: &[&str]) -> tempfile::TempDir {
        let site = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(site.path().join(PKG_DIR)).expect("pkg dir");
        if let Some(manifest) = manifest {
            std::fs::write(site.path().join(MANIFEST_FILE), manifest).expect("manifest");
        }
        for file in files {
            std::fs::write(site.path().join(PKG_DIR).join(file), b"").expect("bundle file");
        }
        site
    }

    #[test]
    fn loads_the_bundle_the_manifest_names() {
        let site = site_with(
            Some("swag-store-0a1b\n"),
            &["swag-store-0a1b.js", "swag-store-0a1b_bg.wasm"],
        );
        let bundle = ClientBundle::load(site.path()).expect("bundle");
        assert_eq!(bundle.output_name(), "swag-store-0a1b");
    }

    #[test]
    fn tells_how_to_build_when_there_is_no_manifest() {
        let site = site_with(None, &[]);
        let error = ClientBundle::load(site.path()).expect_err("nothing built");
        assert!(
            error.to_string().contains("cargo run -p xtask -- build"),
            "{error}"
        );
    }

    #[test]
    fn rejects_a_manifest_whose_files_are_missing() {
        let site = site_with(Some("swag-store-0a1b"), &["swag-store-0a1b.js"]);
        let error = ClientBundle::load(site.path()).expect_err("no wasm");
        assert!(
            error.to_string().contains("swag-store-0a1b_bg.wasm"),
            "{error}"
        );
    }

    #[test]
    fn rejects_a_name_that_could_escape_the_script_it_is_written_into() {
        let site = site_with(Some("x\"></script>"), &[]);
        assert!(matches!(
            ClientBundle::load(site.path()),
            Err(BundleError::Malformed { .. })
        ));
    }
}
