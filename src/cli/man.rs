//! `man`: the manual (spec §16). One page with every command — its synopsis, options and
//! examples — then exit codes, environment and files; `man COMMAND…` that page for one group
//! or command; `man --dir DIR` one page per command, as `clap_mangen` writes them
//! (`epicevents.1`, `epicevents-client.1`, `epicevents-client-list.1`, …), each naming only
//! pages that are in DIR. The single page names no other page at all.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct Man {
    /// Only this command's part of the manual (e.g. `client`, `client list`)
    #[arg(value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Write one page per command into DIR (epicevents.1, epicevents-client.1, …) instead
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success"),
    ("1", "unexpected internal error"),
    ("2", "usage or invalid input (bad email, amount, date, role, empty update, …)"),
    ("3", "not authenticated: no session, expired or tampered token, bad credentials, deactivated"),
    ("4", "forbidden: role or ownership does not allow it"),
    ("5", "not found"),
    ("6", "conflict with the current state: duplicate email, unsigned contract, already signed, …"),
    ("7", "database or server unavailable, misconfigured, or schema not migrated"),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "postgres://user:password@host:port/db (password URL-encoded); unset: the zero-config local database",
    ),
    (
        "EPICCRM_SERVER",
        "a server's address (https://…, or http:// on this machine only): every command goes there",
    ),
    ("EPICCRM_DATA_DIR", "where the zero-config database lives"),
    (
        "EPICCRM_JWT_SECRET",
        "the tokens' signing key, at least 32 bytes; required with DATABASE_URL",
    ),
    ("EPICCRM_JWT_ACCESS_MINUTES", "access token lifetime (20)"),
    ("EPICCRM_JWT_REFRESH_DAYS", "refresh token lifetime (7)"),
    ("EPICCRM_JWT_ALG", "HS256, HS384 or HS512 (HS256)"),
    ("EPICCRM_JWT_ROTATE_REFRESH", "issue a new refresh token on every refresh (true)"),
    ("EPICCRM_SESSION_MAX_DAYS", "a session ends this long after its login (30)"),
    ("EPICCRM_TOKEN_STORE", "keyring, file or auto (auto)"),
    ("EPICCRM_CA_CERT", "an extra certificate authority for the server's certificate (PEM)"),
    (
        "EPICCRM_LISTEN, EPICCRM_TLS_CERT, EPICCRM_TLS_KEY, EPICCRM_DB_POOL, EPICCRM_TRUSTED_PROXIES, EPICCRM_REQUEST_TIMEOUT_SECS, EPICCRM_STREAM_IDLE_SECS, EPICCRM_METRICS_LISTEN",
        "the server's own settings (epicevents serve --help)",
    ),
    ("SENTRY_DSN, SENTRY_ENVIRONMENT", "report unexpected errors and business events"),
    ("RUST_LOG", "log filter when -v is not given (RUST_LOG=epicevents=debug is -v)"),
    ("COLUMNS", "the width tables fit on a terminal"),
    ("NO_COLOR", "no colour"),
    ("TZ", "the time zone dates are read and shown in"),
];

const FILES: &[(&str, &str)] = &[
    (
        "./.env",
        "settings read after the environment (the environment wins); `-v` says which setting came from it",
    ),
    (
        "~/.config/epiccrm/ (macOS: ~/Library/Application Support/epiccrm, Windows: %APPDATA%\\epiccrm\\config)",
        "token files, mode 0600, when the OS keyring is not used: tokens.json (the zero-config database), tokens-db-HOST_PORT_DB.json (one per database), tokens-SERVER.json (one per server)",
    ),
    (
        "~/.local/share/epiccrm/ (or EPICCRM_DATA_DIR)",
        "the zero-config database and its JWT secret",
    ),
];

/// roff text: a leading `.` or `'` and backslashes made literal.
fn esc(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') { format!("\\&{s}") } else { s }
}

/// A section rendered by clap_mangen, its `.SH` headings turned into bold paragraphs (they
/// are parts of one command's entry).
fn part(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<String> {
    let mut buf = Vec::new();
    render(&mut buf).map_err(|e| Error::internal("cannot render the manual", e))?;
    let text = String::from_utf8_lossy(&buf);
    Ok(text
        .lines()
        .map(|l| match l.strip_prefix(".SH ") {
            Some(h) => format!(".PP\n\\fB{}\\fR\n.br", h.trim_matches('"')),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n")
}

/// The entry of one command and of each command under it.
fn entries(cmd: &clap::Command, out: &mut String) -> Result<()> {
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name()).to_owned();
    let subs: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").collect();
    out.push_str(&format!(".SS \"{}\"\n", esc(&name)));
    if let Some(about) = cmd.get_about() {
        out.push_str(&format!("{}\n", esc(&about.to_string())));
    }
    // its own options only: the global ones are in the page's OPTIONS
    let own = cmd.clone().mut_args(|a| {
        let global = a.get_help_heading() == Some(super::GLOBAL_OPTIONS)
            || matches!(a.get_id().as_str(), "help" | "version");
        if global { a.hide(true) } else { a }
    });
    let man = clap_mangen::Man::new(own.clone());
    out.push_str(&part(|b| man.render_synopsis_section(b))?);
    let has_args = own.get_arguments().any(|a| !a.is_hide_set());
    if subs.is_empty() && has_args {
        out.push_str(&part(|b| man.render_options_section(b))?);
    }
    if let Some(after) = cmd.get_after_help() {
        out.push_str(".PP\n.nf\n");
        for line in after.to_string().lines() {
            out.push_str(&format!("{}\n", esc(line)));
        }
        out.push_str(".fi\n");
    }
    for sub in subs {
        entries(sub, out)?;
    }
    Ok(())
}

fn table(title: &str, rows: &[(&str, &str)], out: &mut String) {
    out.push_str(&format!(".SH \"{title}\"\n"));
    for (k, v) in rows {
        out.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", esc(k), esc(v)));
    }
}

/// The whole manual, or `path`'s part of it, as one page.
fn one_page(root: &clap::Command, path: &[String]) -> Result<String> {
    let mut cmd = root;
    for word in path {
        cmd = cmd
            .get_subcommands()
            .find(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word))
            .ok_or_else(|| {
                Error::usage(format!("no command `{}` in the manual", path.join(" ")))
                    .with_hint("`epicevents man` gives the whole manual; `epicevents --help` lists the commands")
            })?;
    }
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = String::new();
    out.push_str(&part(|b| man.render_title(b))?);
    // the NAME section as man(7) has it
    out.push_str(&format!(
        ".SH NAME\n{} \\- {}\n",
        esc(&cmd.get_bin_name().unwrap_or_else(|| cmd.get_name()).replace(' ', "-")),
        esc(&cmd.get_about().map(|a| a.to_string()).unwrap_or_default())
    ));
    out.push_str(".SH SYNOPSIS\n");
    out.push_str(&part(|b| man.render_synopsis_section(b))?.replacen(
        ".PP\n\\fBSYNOPSIS\\fR\n.br\n",
        "",
        1,
    ));
    if path.is_empty() {
        out.push_str(".SH OPTIONS\n");
        out.push_str(&part(|b| man.render_options_section(b))?.replacen(
            ".PP\n\\fBOPTIONS\\fR\n.br\n",
            "",
            1,
        ));
    }
    out.push_str(".SH COMMANDS\n");
    let subs: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").collect();
    if subs.is_empty() || !path.is_empty() {
        entries(cmd, &mut out)?;
    } else {
        for sub in subs {
            entries(sub, &mut out)?;
        }
    }
    table("EXIT STATUS", EXIT_STATUS, &mut out);
    table("ENVIRONMENT", ENVIRONMENT, &mut out);
    table("FILES", FILES, &mut out);
    out.push_str(
        ".SH \"SEE ALSO\"\n`epicevents man \\-\\-dir DIR` writes one page per command; \
         `epicevents COMMAND \\-\\-help`.\n",
    );
    Ok(out)
}

/// One page per command into `dir`; the paths written.
fn pages(root: clap::Command, dir: &Path) -> Result<Vec<PathBuf>> {
    crate::sys::create_dir(dir, false)
        .map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))?;
    fn walk(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
            walk(sub, dir, written)?;
        }
        let path = clap_mangen::Man::new(cmd.clone()).generate_to(dir).map_err(|e| {
            Error::usage(format!("cannot write the manual into {}: {e}", dir.display()))
        })?;
        written.push(path);
        Ok(())
    }
    let mut written = Vec::new();
    walk(&root, dir, &mut written)?;
    Ok(written)
}

impl Man {
    pub fn run(&self, mut root: clap::Command) -> Result<()> {
        root = root.disable_help_subcommand(true);
        root.build();
        match &self.dir {
            Some(dir) => {
                if !self.command.is_empty() {
                    return Err(Error::usage("--dir writes every page: give no COMMAND with it"));
                }
                let written = pages(root, dir)?;
                let mut out = std::io::stderr().lock();
                let _ = writeln!(out, "Wrote {} pages into {}.", written.len(), dir.display());
                Ok(())
            }
            None => crate::output::emit(&one_page(&root, &self.command)?),
        }
    }
}
