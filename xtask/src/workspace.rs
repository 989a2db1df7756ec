//! Where things are: the workspace root, cargo's target dir, and the build profile's names.

use crate::command;
use anyhow::{Context, Result};
use std::path::PathBuf;

pub struct Workspace {
    pub root: PathBuf,
    /// Cargo's target dir, wherever `CARGO_TARGET_DIR` or config put it.
    pub target_dir: PathBuf,
}

#[derive(Clone, Copy)]
pub enum Profile {
    Debug,
    Release,
}

impl Workspace {
    /// Asks cargo, so that `CARGO_TARGET_DIR` and `.cargo/config.toml` are honoured.
    pub fn locate() -> Result<Self> {
        let json = command::output(command::cargo().args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
        ]))?;
        let metadata: serde_json::Value =
            serde_json::from_str(&json).context("`cargo metadata` printed invalid JSON")?;
        let path = |key: &str| {
            metadata[key]
                .as_str()
                .map(PathBuf::from)
                .with_context(|| format!("`cargo metadata` gave no {key}"))
        };
        Ok(Self {
            root: path("workspace_root")?,
            target_dir: path("target_directory")?,
        })
    }

    /// The store's crate.
    pub fn app_dir(&self) -> PathBuf {
        self.root.join("app")
    }

    /// What the server serves; also its default `SITE_ROOT` when started from the workspace root.
    pub fn site_dir(&self) -> PathBuf {
        self.root.join("target").join("site")
    }
}

impl Profile {
    /// The extra cargo argument, if any.
    pub fn cargo_args(self) -> &'static [&'static str] {
        match self {
            Profile::Debug => &[],
            Profile::Release => &["--release"],
        }
    }

    /// The sub-directory of a target dir that cargo writes this profile's output to.
    pub fn dir_name(self) -> &'static str {
        match self {
            Profile::Debug => "debug",
            Profile::Release => "release",
        }
    }

    pub fn is_release(self) -> bool {
        matches!(self, Profile::Release)
    }
}
