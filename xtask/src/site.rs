//! The site dir the server serves: the client bundle under `pkg/`, the stylesheets under
//! `style/`, the public assets at the root, and the manifest naming the current bundle.

use crate::client::Bundle;
use crate::workspace::Workspace;
use anyhow::{Context, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// Read by the server at start-up (`app/src/bundle.rs` uses the same name).
const MANIFEST_FILE: &str = "client-bundle.txt";

pub struct Site {
    root: PathBuf,
}

impl Site {
    /// Empties the site dir, so no bundle from an earlier build lingers.
    pub fn recreate(workspace: &Workspace) -> Result<Self> {
        let root = workspace.site_dir();
        if root.exists() {
            fs::remove_dir_all(&root)
                .with_context(|| format!("could not empty {}", root.display()))?;
        }
        let site = Self { root };
        fs::create_dir_all(site.pkg_dir())
            .with_context(|| format!("could not create {}", site.pkg_dir().display()))?;
        Ok(site)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn pkg_dir(&self) -> PathBuf {
        self.root.join("pkg")
    }

    /// `app/style/*.css` to `style/`, everything in `app/public/` to the root.
    pub fn copy_assets(&self, workspace: &Workspace) -> Result<()> {
        let app = workspace.app_dir();
        let style = self.root.join("style");
        fs::create_dir_all(&style)?;
        for entry in read_dir(&app.join("style"))? {
            if entry
                .extension()
                .is_some_and(|extension| extension == "css")
            {
                copy_file(&entry, &style.join(file_name(&entry)?))?;
            }
        }
        copy_tree(&app.join("public"), &self.root)
    }

    /// Written last: once the manifest names a bundle, its files are all there.
    pub fn publish(&self, bundle: &Bundle) -> Result<()> {
        let manifest = self.root.join(MANIFEST_FILE);
        fs::write(&manifest, format!("{}\n", bundle.output_name))
            .with_context(|| format!("could not write {}", manifest.display()))
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in read_dir(from)? {
        let target = to.join(file_name(&entry)?);
        if entry.is_dir() {
            fs::create_dir_all(&target)?;
            copy_tree(&entry, &target)?;
        } else {
            copy_file(&entry, &target)?;
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))?;
    let mut paths = entries
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("could not list {}", dir.display()))?;
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> Result<&std::ffi::OsStr> {
    path.file_name()
        .with_context(|| format!("{} has no file name", path.display()))
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))
}
