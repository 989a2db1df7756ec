//! The browser half: compiles the crate's `hydrate` build to wasm and runs wasm-bindgen on it,
//! naming the output after its content so browsers can cache it for good.

use crate::command;
use crate::site::Site;
use crate::workspace::{Profile, Workspace};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The package and its library's file name (hyphens become underscores).
const PACKAGE: &str = "swag-store";
const LIBRARY_FILE: &str = "swag_store.wasm";

/// The compiled, not yet bound, wasm module.
pub struct CompiledWasm(PathBuf);

/// What wasm-bindgen wrote: `pkg/{output_name}.js` and `pkg/{output_name}_bg.wasm`.
pub struct Bundle {
    pub output_name: String,
}

pub fn compile(workspace: &Workspace, profile: Profile) -> Result<CompiledWasm> {
    ensure_target_installed()?;
    // Its own target dir: sharing the server's would rebuild the dependencies every time the
    // feature set flips between `ssr` and `hydrate`.
    let target_dir = workspace.target_dir.join("wasm");
    command::run(
        command::cargo()
            .current_dir(&workspace.root)
            .args(["build", "-p", PACKAGE, "--lib", "--target", WASM_TARGET])
            .args(["--no-default-features", "--features", "hydrate"])
            .args(profile.cargo_args())
            .arg("--target-dir")
            .arg(&target_dir),
    )?;
    Ok(CompiledWasm(
        target_dir
            .join(WASM_TARGET)
            .join(profile.dir_name())
            .join(LIBRARY_FILE),
    ))
}

/// Generates the JS glue and the final wasm (ES module for `<script type="module">`) into the
/// site's pkg dir.
pub fn bind(wasm: &CompiledWasm, site: &Site, profile: Profile) -> Result<Bundle> {
    let bytes = std::fs::read(&wasm.0)
        .with_context(|| format!("could not read the compiled client {}", wasm.0.display()))?;
    let output_name = bundle_name(&bytes);
    eprintln!("xtask: wasm-bindgen {} -> {output_name}", wasm.0.display());
    wasm_bindgen_cli_support::Bindgen::new()
        // With bytes as input, this name (not `out_name`) names the output files.
        .input_bytes(&output_name, bytes)
        .web(true)?
        .typescript(false)
        .debug(!profile.is_release())
        .generate(site.pkg_dir())
        .context("wasm-bindgen failed (is xtask's wasm-bindgen-cli-support the same version as app's wasm-bindgen?)")?;
    Ok(Bundle { output_name })
}

/// Same module in, same name out; any change to the module, a new name.
fn bundle_name(wasm: &[u8]) -> String {
    let digest = Sha256::digest(wasm);
    format!("{PACKAGE}-{}", hex::encode(&digest[..8]))
}

/// Fails with the command to run when the wasm target's standard library is missing.
fn ensure_target_installed() -> Result<()> {
    let sysroot =
        command::output(std::process::Command::new("rustc").args(["--print", "sysroot"]))?;
    let target_lib = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(WASM_TARGET);
    if !target_lib.is_dir() {
        bail!(
            "the {WASM_TARGET} target is not installed for this toolchain; install it with\n\n    \
             rustup target add {WASM_TARGET}\n\n(scripts/dev and scripts/e2e do this for you)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_names_follow_the_content() {
        let name = bundle_name(b"\0asm one");
        assert_eq!(name, bundle_name(b"\0asm one"));
        assert_ne!(name, bundle_name(b"\0asm two"));
        assert!(name.starts_with("swag-store-"));
        assert_eq!(name.len(), "swag-store-".len() + 16);
    }

    /// wasm-bindgen's schema must match between the crate and the CLI, so the two `=` pins must
    /// name the same version.
    #[test]
    fn cli_support_is_pinned_to_the_app_wasm_bindgen_version() {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let pin = |manifest: &Path, dependency: &str| {
            let text = std::fs::read_to_string(manifest).expect("manifest readable");
            text.lines()
                .find(|line| line.starts_with(&format!("{dependency} =")))
                .and_then(|line| line.split("\"=").nth(1))
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{dependency} is not pinned with = in {manifest:?}"))
        };
        assert_eq!(
            pin(&manifest_dir.join("../app/Cargo.toml"), "wasm-bindgen"),
            pin(&manifest_dir.join("Cargo.toml"), "wasm-bindgen-cli-support"),
        );
    }
}
