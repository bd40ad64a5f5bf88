//! End-to-end tests: the real `epicevents` binary against a real PostgreSQL, one fresh
//! database per test. All modules link into this one test binary (one server for all).

// The suite drives PostgreSQL's own programs, pseudo-terminals and Unix sockets: it runs on
// Linux and macOS. The Windows build is tested under Wine by `tests/windows/` (`.ci/run`).
#![cfg(unix)]
// Test helpers may panic: a panic is a test failure with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod clients;
mod common;
mod concurrency;
mod config;
mod contracts;
mod daily2;
mod daily_terminal;
mod embedded;
mod employee;
mod events;
mod hardening;
mod import;
// GNOME Keyring in a D-Bus session of its own: Linux only
#[cfg(target_os = "linux")]
mod keyring;
mod localtime;
mod newcomer;
mod permissions;
mod plans;
mod pooler;
mod proxy;
mod pty;
mod schema;
mod server;
mod telemetry;
mod terminal;
mod uptime;
mod workday;
