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
        Err(e) if !e.use_stderr() => {
            // --help and --version come this way, and exit 0
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let (message, hint) = clap_error(&e);
            report(&error::Error::usage(message).with_hint(hint));
            return ExitCode::from(2);
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

/// clap's usage error as one line, and a hint: clap's own tip ("a similar subcommand
/// exists") when it has one, else the usage line of the command.
fn clap_error(e: &clap::Error) -> (String, String) {
    let text = e.render().to_string();
    let (mut message, mut tips, mut usage) = (String::new(), Vec::new(), None);
    let mut in_message = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("error: ") {
            message = rest.to_owned();
            in_message = true;
        } else if let Some(tip) = t.strip_prefix("tip: ") {
            tips.push(tip.to_owned());
            in_message = false;
        } else if let Some(u) = t.strip_prefix("Usage: ") {
            usage = Some(format!("usage: {u}"));
            in_message = false;
        } else if t.is_empty() || t.starts_with("For more information") {
            in_message = false;
        } else if in_message {
            // e.g. the list of missing arguments, one per line
            message.push(' ');
            message.push_str(t);
        }
    }
    let hint = if tips.is_empty() {
        usage.unwrap_or_else(|| format!("see `{} --help`", command_path()))
    } else {
        tips.join("; ")
    };
    (message.trim_end_matches(':').to_owned(), hint)
}

/// `epicevents contract create`: the subcommands named on the command line.
fn command_path() -> String {
    let mut cmd = <cli::Cli as clap::CommandFactory>::command();
    let mut path = vec!["epicevents".to_owned()];
    for arg in std::env::args().skip(1).filter(|a| !a.starts_with('-')) {
        match cmd.find_subcommand(&arg) {
            Some(sub) => {
                path.push(sub.get_name().to_owned());
                cmd = sub.clone();
            }
            None => break,
        }
    }
    path.join(" ")
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
