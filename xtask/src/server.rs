//! The server half: builds the `ssr` binary, and runs it against the site dir.

use crate::command;
use crate::workspace::{Profile, Workspace};
use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

const PACKAGE: &str = "swag-store";

/// Returns the path of the built binary.
pub fn compile(workspace: &Workspace, profile: Profile) -> Result<PathBuf> {
    command::run(
        command::cargo()
            .current_dir(&workspace.root)
            .args([
                "build",
                "-p",
                PACKAGE,
                "--bin",
                PACKAGE,
                "--features",
                "ssr",
            ])
            .args(profile.cargo_args()),
    )?;
    Ok(binary(workspace, profile))
}

/// Runs the built server in the foreground until it stops.
pub fn run(workspace: &Workspace, profile: Profile) -> Result<()> {
    let mut server = Command::new(binary(workspace, profile));
    server
        .current_dir(&workspace.root)
        .env("SITE_ROOT", workspace.site_dir());
    hand_over(server)
}

fn binary(workspace: &Workspace, profile: Profile) -> PathBuf {
    workspace
        .target_dir
        .join(profile.dir_name())
        .join(format!("{PACKAGE}{}", std::env::consts::EXE_SUFFIX))
}

/// Replaces this process with the server, so Ctrl-C and SIGTERM reach it directly.
#[cfg(unix)]
fn hand_over(mut server: Command) -> Result<()> {
    use anyhow::Context;
    use std::os::unix::process::CommandExt;
    let error = server.exec();
    Err(error).context("could not start the server")
}

#[cfg(not(unix))]
fn hand_over(mut server: Command) -> Result<()> {
    command::run(&mut server)
}
