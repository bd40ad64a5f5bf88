//! `epicevents`: the Epic Events CRM. The binary's `main` only calls [`run`]; everything
//! else lives here so that tests can reach it.
//!
//! Layers, from the outside in: `cli` (arguments, prompts, rendering) and `server` (HTTP)
//! are the two front ends; both reach the CRM through `api` requests run by `service`
//! (business rules, transactions, the permission table of `auth`), which reads and writes
//! through `repo` (SQL). `backend` is the CLI's seam: the services here, or a server.

pub mod api;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod localdb;
pub mod metrics;
pub mod output;
pub mod repo;
pub mod server;
pub mod service;
pub mod sys;
pub mod telemetry;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::FromArgMatches;

/// Parses `args` (the program's name first), runs the command and maps the outcome to an
/// exit code (spec §6).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| "epicevents".to_owned());
    let matches = match cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => return clap_failure(&e, &args),
    };
    if let Err(e) = cli::check_formats(&matches) {
        report(&e);
        return ExitCode::from(e.exit_code());
    }
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return clap_failure(&e, &args),
    };
    init_logging(cli.verbose);
    let serving = matches!(cli.command, cli::Command::Serve(_));
    let runtime = if serving {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let started = std::time::Instant::now();
    let outcome = runtime.block_on(cli.run(program));
    tracing::debug!("took {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    // a server's connections may still be draining: do not wait for them past this point
    runtime.shutdown_background();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(e.exit_code())
        }
    }
}

/// A command-line error as one line and a hint, written from clap's error kind and context
/// (never from its rendered text); help and version go to stdout with exit 0, and a group
/// given no subcommand shows its help (exit 2).
fn clap_failure(e: &clap::Error, args: &[OsString]) -> ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(2);
        }
        _ => {}
    }
    let text = |k: ContextKind| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(" ")),
        Some(ContextValue::StyledStr(s)) => Some(s.to_string()),
        Some(ContextValue::StyledStrs(v)) => {
            Some(v.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))
        }
        Some(ContextValue::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    // clap suggests aliases too (`evnt` → 'events', 'event'): name each command once
    let similar = |k: ContextKind, what: &str| {
        let suggested: Vec<String> = match e.get(k) {
            Some(ContextValue::String(s)) => vec![s.clone()],
            Some(ContextValue::Strings(v)) => v.clone(),
            _ => Vec::new(),
        };
        let tree = cli::command();
        let mut quoted: Vec<String> = Vec::new();
        for s in suggested {
            let name = format!("'{}'", alias_of(&tree, &s).unwrap_or(s));
            if !quoted.contains(&name) {
                quoted.push(name);
            }
        }
        match quoted.len() {
            0 => None,
            1 => Some(format!("a similar {what} exists: {}", quoted[0])),
            _ => Some(format!("similar {what}s exist: {}", quoted.join(", "))),
        }
    };
    let arg = text(ContextKind::InvalidArg).unwrap_or_default();
    let usage = text(ContextKind::Usage).map(|u| u.trim().trim_start_matches("Usage: ").to_owned());
    let see_help = format!("see `{} --help`", command_path(args));
    let (message, hint) = match e.kind() {
        ErrorKind::InvalidSubcommand => (
            format!(
                "unrecognized subcommand '{}'",
                text(ContextKind::InvalidSubcommand).unwrap_or_default()
            ),
            similar(ContextKind::SuggestedSubcommand, "subcommand").unwrap_or(see_help),
        ),
        ErrorKind::UnknownArgument => (
            format!("unexpected argument '{arg}'"),
            similar(ContextKind::SuggestedArg, "argument").unwrap_or(see_help),
        ),
        ErrorKind::InvalidValue => (
            format!(
                "invalid value '{}' for {arg}",
                text(ContextKind::InvalidValue).unwrap_or_default()
            ),
            text(ContextKind::ValidValue)
                .map(|v| format!("possible values: {}", v.replace(' ', ", ")))
                .unwrap_or(see_help),
        ),
        // our own parsers' messages (`not a valid id: abc`, `invalid amount …`)
        ErrorKind::ValueValidation => (
            std::error::Error::source(e)
                .map_or_else(|| format!("invalid value for {arg}"), |s| s.to_string()),
            see_help,
        ),
        ErrorKind::MissingRequiredArgument => (
            format!("missing required arguments: {arg}"),
            usage.map(|u| format!("usage: {u}")).unwrap_or(see_help),
        ),
        ErrorKind::ArgumentConflict => (
            format!(
                "{arg} cannot be used with {}",
                text(ContextKind::PriorArg).unwrap_or_else(|| "another option".into())
            ),
            see_help,
        ),
        kind => (kind.as_str().unwrap_or("invalid usage").to_owned(), see_help),
    };
    report(&error::Error::usage(message).with_hint(hint));
    ExitCode::from(2)
}

/// The name of the subcommand `word` is an alias of, anywhere under `cmd`.
fn alias_of(cmd: &clap::Command, word: &str) -> Option<String> {
    cmd.get_subcommands().find_map(|sub| {
        if sub.get_all_aliases().any(|a| a == word) {
            Some(sub.get_name().to_owned())
        } else {
            alias_of(sub, word)
        }
    })
}

/// `epicevents contract create`: the subcommands named on the command line.
fn command_path(args: &[OsString]) -> String {
    let mut cmd = cli::command();
    let mut path = vec!["epicevents".to_owned()];
    for arg in args.iter().skip(1).map(|a| a.to_string_lossy()).filter(|a| !a.starts_with('-')) {
        match cmd.find_subcommand(arg.as_ref()) {
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
    // one line each, whatever the message quotes (an argument may hold a line break)
    let message = domain::escape_controls(e.message());
    if e.is_plain() {
        eprintln!("{message}");
        return;
    }
    let color = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none()
        && sys::ansi_colours(true);
    let (red, yellow, reset) =
        if color { ("\x1b[1;31m", "\x1b[1;33m", "\x1b[0m") } else { ("", "", "") };
    eprintln!("{red}error:{reset} {message}");
    if let Some(hint) = e.hint() {
        eprintln!("{yellow}hint:{reset} {}", domain::escape_controls(hint));
    }
}

/// `-v`: this crate's debug events (where each setting came from, the database or server,
/// the time taken); `-vv`: also its trace events and every SQL statement with its time
/// (sqlx's own statement log, `sqlx::query`, which holds the statement but never its bound
/// values). Without `-v`, `RUST_LOG` decides (`RUST_LOG=epicevents=debug` is `-v`).
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match verbose {
        0 => match std::env::var("RUST_LOG") {
            Ok(v) if !v.trim().is_empty() => EnvFilter::new(v),
            _ => EnvFilter::new("off"),
        },
        1 => EnvFilter::new("epicevents=debug"),
        _ => EnvFilter::new("epicevents=trace,sqlx::query=debug"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}
