//! The server's non-page HTTP routes: one file per route or route group.

pub mod assets;
pub mod health;
