//! `epicevents`: the Epic Events CRM. The binary's `main` only calls [`run`]; everything
//! else lives here so that tests can reach it.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod localdb;
pub mod output;
pub mod repo;
pub mod service;
pub mod telemetry;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the command and maps the outcome to an exit code (§6).
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" that exit 0; usage errors exit 2
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

fn report(e: &error::Error) {
    use std::io::IsTerminal;
    if let Some(cause) = e.cause() {
        tracing::debug!("cause: {cause:#}");
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (red, yellow, reset) =
        if color { ("\x1b[1;31m", "\x1b[1;33m", "\x1b[0m") } else { ("", "", "") };
    eprintln!("{red}error:{reset} {}", e.message());
    if let Some(hint) = e.hint() {
        eprintln!("{yellow}hint:{reset} {hint}");
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match verbose {
        0 => EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("off")),
        1 => EnvFilter::new("epicevents=debug"),
        _ => EnvFilter::new("epicevents=trace"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}
