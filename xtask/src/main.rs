//! Build tasks for the swag store, run as `cargo run -p xtask -- <task>`: compiles the wasm
//! client, binds it into the site dir with the static assets, builds the server, and runs it.

mod client;
mod command;
mod server;
mod site;
mod workspace;

use anyhow::{bail, Result};
use std::process::ExitCode;
use workspace::{Profile, Workspace};

const USAGE: &str = "\
usage: cargo run -p xtask -- <task> [--release]

tasks:
  build    build the wasm client into the site dir, copy the static assets, build the server
  serve    build, then run the server (HOST, PORT, APP_URL as for the server)";

enum Task {
    Build,
    Serve,
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(|(task, profile)| run(task, profile)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<(Task, Profile)> {
    let mut task = None;
    let mut profile = Profile::Debug;
    for arg in args {
        match arg.as_str() {
            "build" if task.is_none() => task = Some(Task::Build),
            "serve" if task.is_none() => task = Some(Task::Serve),
            "--release" => profile = Profile::Release,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unexpected argument {other:?}\n\n{USAGE}"),
        }
    }
    match task {
        Some(task) => Ok((task, profile)),
        None => bail!("no task given\n\n{USAGE}"),
    }
}

fn run(task: Task, profile: Profile) -> Result<()> {
    let workspace = Workspace::locate()?;
    build(&workspace, profile)?;
    match task {
        Task::Build => Ok(()),
        Task::Serve => server::run(&workspace, profile),
    }
}

/// The client first: a failing wasm build then leaves the previous site dir in place.
fn build(workspace: &Workspace, profile: Profile) -> Result<()> {
    let wasm = client::compile(workspace, profile)?;
    let site = site::Site::recreate(workspace)?;
    let bundle = client::bind(&wasm, &site, profile)?;
    site.copy_assets(workspace)?;
    site.publish(&bundle)?;
    let binary = server::compile(workspace, profile)?;
    println!("xtask: site dir {}", site.root().display());
    println!("xtask: server   {}", binary.display());
    Ok(())
}
