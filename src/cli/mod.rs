//! The command line: one module per command group, each with its clap type and a `run` that
//! turns arguments into a request of `api`, sends it through the backend and renders the
//! answer. The context (settings, output, the backend) is built here, once, above the
//! dispatch, and only as far as the command needs it.

mod audit;
mod auth;
mod client;
mod contract;
mod db;
mod demo;
mod employee;
mod event;
mod import;
pub mod input;
mod man;
mod serve;

use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::api::{Clearance, Entity, Page, Preflight};
use crate::auth::permissions;
use crate::backend::{Backend, Database, Direct, Remote};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::output::{Format, Output};

const AFTER_HELP: &str = "\
Examples:
  epicevents create-employee Ada Lovelace ada@example.com - MANAGEMENT
  epicevents login ada@example.com
  epicevents whoami
  epicevents client list --search acme
  epicevents --json contract list --unpaid
  epicevents --csv event list --all > events.csv

Exit codes: 0 ok, 1 internal error, 2 usage or invalid input, 3 not authenticated,
4 forbidden, 5 not found, 6 conflict, 7 database (or server) unavailable or not migrated.";

/// The heading of the options every command takes, apart from its own in `--help`.
pub const GLOBAL_OPTIONS: &str = "Global options";

/// Epic Events CRM: employees, clients, contracts and events, from a terminal.
#[derive(Debug, Parser)]
#[command(name = "epicevents", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true, help_heading = GLOBAL_OPTIONS)]
    pub json: bool,

    /// Print lists as CSV (RFC 4180, with a header row) on stdout
    #[arg(long, global = true, conflicts_with = "json", help_heading = GLOBAL_OPTIONS)]
    pub csv: bool,

    /// Log to stderr: -v where settings came from, the database or server, the time taken;
    /// -vv also each SQL statement and its time
    #[arg(short, long, global = true, action = clap::ArgAction::Count,
          help_heading = GLOBAL_OPTIONS)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and keep a session (password prompted, or read from stdin)
    #[command(after_help = "Examples:\n  epicevents login ada@example.com\n  \
                            echo \"$PASSWORD\" | epicevents login ada@example.com")]
    Login(auth::Login),
    /// Show who is logged in
    #[command(after_help = "Examples:\n  epicevents whoami\n  epicevents whoami --json")]
    Whoami,
    /// Exchange the refresh token for a new pair of tokens (the old one stops working)
    #[command(after_help = "Example:\n  epicevents refresh-token")]
    RefreshToken,
    /// End the session here and on the server
    #[command(after_help = "Example:\n  epicevents logout")]
    Logout,
    /// Create an employee (no session needed for the very first, MANAGEMENT, account)
    #[command(
        after_help = "Examples:\n  epicevents create-employee Ada Lovelace ada@example.com - MANAGEMENT\n  \
                            printf 'S3cret-pass\\n' | epicevents create-employee Bob Sale bob@example.com - SALES"
    )]
    CreateEmployee(employee::NewEmployeeArgs),
    /// Check that the logged-in employee is a manager
    #[command(after_help = "Example:\n  epicevents management-only && echo 'I am a manager'")]
    ManagementOnly,
    /// Employees: list, show, create, update, set-password, deactivate, reactivate, unlock, delete
    #[command(subcommand, visible_alias = "employees")]
    Employee(employee::EmployeeCmd),
    /// Clients: list, show, create, update, reassign, delete
    #[command(subcommand, visible_alias = "clients")]
    Client(client::ClientCmd),
    /// Contracts: list, show, create, update, sign, pay, delete
    #[command(subcommand, visible_alias = "contracts")]
    Contract(contract::ContractCmd),
    /// Events: list, show, create, update, assign, unassign, delete
    #[command(subcommand, visible_alias = "events")]
    Event(event::EventCmd),
    /// The audit trail of changes (MANAGEMENT)
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Database maintenance: migrate, status, import, stop, seed, backup, restore (no session needed)
    #[command(subcommand)]
    Db(db::DbCmd),
    /// Run the CRM as a server: users then need only its address (EPICCRM_SERVER)
    #[command(after_help = serve::AFTER_HELP)]
    Serve(serve::Serve),
    /// Fill an empty database with realistic sample data and print how to log in
    #[command(after_help = "Examples (zero-config, nothing to set up):\n  epicevents demo\n  \
                            epicevents demo --reset    # lost the passwords it printed")]
    Demo(demo::Demo),
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  epicevents completions bash > ~/.local/share/bash-completion/completions/epicevents\n  \
                            epicevents completions zsh > ~/.zfunc/_epicevents\n  \
                            epicevents completions fish > ~/.config/fish/completions/epicevents.fish"
    )]
    Completions {
        /// bash, zsh, fish, powershell or elvish
        shell: clap_complete::Shell,
    },
    /// Print the manual (roff): every command, exit codes, environment, files
    #[command(after_help = "Examples:\n  epicevents man > epicevents.1 && man ./epicevents.1\n  \
                            epicevents man client | man -l -\n  \
                            epicevents man --dir ~/.local/share/man/man1")]
    Man(man::Man),
}

/// The command line's definition: the derived one, with what it cannot say by itself added
/// — who may run each command (from the permission table), and a group's help when no
/// subcommand is given.
pub fn command() -> clap::Command {
    let cmd = <Cli as clap::CommandFactory>::command();
    let cmd = annotate(cmd, "");
    // a command where a format means nothing gets the option hidden, before clap gives each
    // command the global ones (it then keeps that copy)
    let formats: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| matches!(a.get_id().as_str(), "csv" | "json"))
        .cloned()
        .collect();
    offer_formats(cmd, "", &formats)
}

/// Commands that print no list and no record: `--csv` means nothing there.
const NO_CSV: &[&str] = &[
    "login",
    "logout",
    "refresh-token",
    "management-only",
    "serve",
    "demo",
    "completions",
    "man",
    "db",
    "employee set-password",
    "employee unlock",
    "employee delete",
    "client delete",
    "contract delete",
    "event delete",
];
/// Commands whose output is not a result (a server, a script, a manual): nor does `--json`.
const NO_JSON: &[&str] = &["serve", "completions", "man"];

/// Whether `--csv` (`"csv"`) or `--json` means something for the command at `path`
/// (`client list`), by the first word or the whole path.
pub fn offers(path: &str, format: &str) -> bool {
    let table = if format == "csv" { NO_CSV } else { NO_JSON };
    let first = path.split(' ').next().unwrap_or_default();
    !table.iter().any(|c| *c == path || *c == first)
}

/// `--csv` or `--json` given to a command where it means nothing: a usage error (exit 2).
pub fn check_formats(matches: &clap::ArgMatches) -> Result<()> {
    let mut path: Vec<&str> = Vec::new();
    let mut m = matches;
    while let Some((name, sub)) = m.subcommand() {
        path.push(name);
        m = sub;
    }
    let path = path.join(" ");
    for format in ["csv", "json"] {
        if matches.get_flag(format) && !offers(&path, format) {
            return Err(Error::usage(format!("--{format} means nothing for `{path}`"))
                .with_hint(format!("see `epicevents {path} --help`")));
        }
    }
    Ok(())
}

fn offer_formats(mut cmd: clap::Command, path: &str, formats: &[clap::Arg]) -> clap::Command {
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in names {
        let full = if path.is_empty() { name.clone() } else { format!("{path} {name}") };
        cmd = cmd.mut_subcommand(&name, |mut sub| {
            for arg in formats {
                let id = arg.get_id().as_str();
                if !offers(&full, id) && !sub.get_arguments().any(|a| a.get_id() == id) {
                    sub = sub.arg(arg.clone().hide(true));
                }
            }
            offer_formats(sub, &full, formats)
        });
    }
    cmd
}

fn annotate(mut cmd: clap::Command, path: &str) -> clap::Command {
    // no option of ours is a digit: `-1` given where a value goes is that value, which its
    // parser then judges (`not a valid id: -1`), never an unknown option
    cmd = cmd.mut_args(|a| {
        if a.get_action().takes_values() { a.allow_negative_numbers(true) } else { a }
    });
    let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    if !names.is_empty() {
        cmd = cmd.arg_required_else_help(true);
    }
    for name in names {
        let full = if path.is_empty() { name.clone() } else { format!("{path} {name}") };
        cmd = cmd.mut_subcommand(&name, |sub| {
            let sub = match who_may_run(&full) {
                Some(who) => {
                    let after = sub.get_after_help().map(|s| s.to_string()).unwrap_or_default();
                    sub.after_help(format!("Who may run it: {who}\n\n{after}"))
                }
                None => sub,
            };
            annotate(sub, &full)
        });
    }
    cmd
}

/// The permission line of a command's help, from the permission table.
fn who_may_run(command: &str) -> Option<String> {
    if command == "create-employee" {
        let managers = permissions::who_may(permissions::Action::EmployeeCreate);
        return Some(format!("{managers}; anyone while there is no employee at all (bootstrap)"));
    }
    let all = permissions::who_may(permissions::action_for(command)?);
    Some(match permissions::action_for(&format!("{command} --mine")) {
        Some(mine) => format!("{all} (with --mine: {})", permissions::who_may(mine)),
        None => all,
    })
}

impl Cli {
    /// Runs the command; `program` is how the binary was invoked.
    pub async fn run(self, program: String) -> Result<()> {
        // these need neither settings nor a database
        match &self.command {
            Command::Completions { shell } => {
                let mut buf = Vec::new();
                clap_complete::generate(*shell, &mut command(), "epicevents", &mut buf);
                return crate::output::emit(&String::from_utf8_lossy(&buf));
            }
            Command::Man(m) => return m.run(command()),
            _ => {}
        }
        let settings = Settings::load()?;
        for key in crate::config::SETTINGS {
            tracing::debug!("setting {key}: {}", settings.origins.describe(key));
        }
        let _sentry = crate::telemetry::init(&settings)?;
        let format = match (self.json, self.csv) {
            (true, _) => Format::Json,
            (_, true) => Format::Csv,
            _ => Format::Human,
        };
        let name = self.command.name();
        let mut ctx = Context::new(settings, Output::new(format), program);
        let result = self.command.run(&mut ctx).await;
        if let Err(e) = &result {
            crate::telemetry::report_error(e, name);
        }
        result
    }
}

impl Command {
    /// The subcommand's name, for error reports.
    fn name(&self) -> &'static str {
        match self {
            Command::Login(_) => "login",
            Command::Whoami => "whoami",
            Command::RefreshToken => "refresh-token",
            Command::Logout => "logout",
            Command::CreateEmployee(_) => "create-employee",
            Command::ManagementOnly => "management-only",
            Command::Employee(_) => "employee",
            Command::Client(_) => "client",
            Command::Contract(_) => "contract",
            Command::Event(_) => "event",
            Command::Audit(_) => "audit",
            Command::Db(_) => "db",
            Command::Serve(_) => "serve",
            Command::Demo(_) => "demo",
            Command::Completions { .. } => "completions",
            Command::Man(_) => "man",
        }
    }

    async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            Command::Login(c) => c.run(ctx).await,
            Command::Whoami => auth::whoami(ctx).await,
            Command::RefreshToken => auth::refresh(ctx).await,
            Command::Logout => auth::logout(ctx).await,
            Command::CreateEmployee(c) => employee::create(c, ctx, true).await,
            Command::ManagementOnly => auth::management_only(ctx).await,
            Command::Employee(c) => c.run(ctx).await,
            Command::Client(c) => c.run(ctx).await,
            Command::Contract(c) => c.run(ctx).await,
            Command::Event(c) => c.run(ctx).await,
            Command::Audit(c) => c.run(ctx).await,
            Command::Db(c) => c.run(ctx).await,
            Command::Serve(c) => c.run(ctx).await,
            Command::Demo(d) => demo::run(d, ctx).await,
            Command::Completions { .. } | Command::Man(_) => Ok(()),
        }
    }
}

/// Shared paging options of every list.
#[derive(Debug, Args, Clone, Copy)]
pub struct Paging {
    /// At most this many rows
    #[arg(long, default_value_t = crate::api::DEFAULT_LIMIT,
          value_parser = limit)]
    pub limit: i64,
    /// Skip this many rows first
    #[arg(long, default_value_t = 0, value_parser = offset)]
    pub offset: i64,
    /// Only rows after this id in the list's order (keyset paging: pass the last id you saw)
    #[arg(long, value_name = "ID", value_parser = id)]
    pub after: Option<i64>,
    /// Every row (lifts --limit)
    #[arg(long)]
    pub all: bool,
}

impl Paging {
    pub fn page(&self) -> Page {
        Page { limit: self.limit, all: self.all, offset: self.offset, after: self.after }
    }
}

/// Streams a list to the output, row by row. On a terminal, a list cut by its limit then says
/// so on stderr, with the `--after` that shows the next page (spec §16): whether there is
/// more is asked with the same query, one row after the last one shown.
pub async fn list<Q: crate::service::RunList>(ctx: &mut Context, q: Q, paging: Paging) -> Result<()>
where
    Q::Row: crate::output::Render + Send,
{
    let next = (ctx.out.terminal && !paging.all)
        .then(|| serde_json::to_value(&q).ok().and_then(|v| serde_json::from_value::<Q>(v).ok()))
        .flatten();
    let mut w = ctx.out.list_writer::<Q::Row>();
    ctx.backend()?.list(q, paging.page(), &mut w).await?;
    let (shown, last) = w.shown();
    w.finish()?;
    if let (Some(next), Some(last)) = (next, last)
        && shown as i64 == paging.limit
    {
        let page = Page { limit: 1, all: false, offset: 0, after: Some(last) };
        let mut more = Probe(false);
        ctx.backend()?.list(next, page, &mut more).await?;
        if more.0 {
            eprintln!("Showing {shown} (the limit); more with --after {last}, or all with --all.");
        }
    }
    Ok(())
}

/// Whether a list has a row at all.
struct Probe(bool);

impl<T: Send> crate::repo::RowSink<T> for Probe {
    async fn push(&mut self, _row: T) -> Result<bool> {
        self.0 = true;
        Ok(false)
    }
}

/// A row id on the command line (`not a valid id: abc`, exit 2).
pub fn id(s: &str) -> std::result::Result<i64, String> {
    crate::domain::parse_id(s)
}

fn limit(s: &str) -> std::result::Result<i64, String> {
    let max = crate::api::MAX_LIMIT;
    s.parse().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
        format!("not a valid limit: {s} (a whole number from 1 to {max}; --all for every row)")
    })
}

fn offset(s: &str) -> std::result::Result<i64, String> {
    s.parse()
        .ok()
        .filter(|n: &i64| *n >= 0)
        .ok_or_else(|| format!("not a valid offset: {s} (a whole number from 0)"))
}

/// An update command given no field to change (exit 2).
pub fn nothing_to_update(command: &str) -> Error {
    crate::service::employee::nothing_to_update()
        .with_hint(format!("see `epicevents {command} --help` for what can be changed"))
}

/// Before a delete: the permission and whatever would refuse the delete are checked first
/// (spec §3, by the preflight), then, without `--yes`, the question is asked on a terminal.
pub async fn confirm_delete(ctx: &mut Context, entity: Entity, id: i64, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let clearance: Clearance = ctx.backend()?.call(Preflight::Delete { entity, id }).await?;
    let question =
        clearance.question.unwrap_or_else(|| format!("Delete {} {id}?", entity.as_str()));
    input::confirm(&question)
}

/// What a command may need, each part made on first use.
pub struct Context {
    pub settings: Settings,
    pub out: Output,
    /// How the binary was invoked (its first argument), for commands it suggests.
    pub program: String,
    backend: Option<Backend>,
    database: Option<Database>,
}

/// Notes for the user (a first run, a warning of the token store), on stderr.
fn reporter() -> Arc<dyn Fn(&str) + Send + Sync> {
    Arc::new(|m: &str| eprintln!("{m}"))
}

impl Context {
    pub fn new(settings: Settings, out: Output, program: String) -> Self {
        Context { settings, out, program, backend: None, database: None }
    }

    /// Where commands go: the server of `EPICCRM_SERVER`, or the database directly.
    pub fn backend(&mut self) -> Result<&mut Backend> {
        if self.backend.is_none() {
            let backend = match &self.settings.server {
                Some(url) => {
                    tracing::debug!(
                        "server: {} (EPICCRM_SERVER from {})",
                        url.origin(),
                        self.settings.origins.describe("EPICCRM_SERVER")
                    );
                    Backend::Remote(Box::new(Remote::new(&self.settings, url.clone(), reporter())?))
                }
                None => Backend::Direct(Box::new(Direct::new(self.settings.clone(), reporter())?)),
            };
            self.backend = Some(backend);
        }
        self.backend.as_mut().ok_or_else(|| Error::unavailable("BUG: no backend"))
    }

    /// The database itself, for the operator's commands (`db …`, `demo`, `serve`), whatever
    /// `EPICCRM_SERVER` says.
    pub fn database(&mut self) -> &mut Database {
        self.database.get_or_insert_with(|| Database::new(self.settings.clone(), reporter()))
    }

    /// The database, handed over (to the server, which keeps it).
    pub fn take_database(&mut self) -> Database {
        self.database.take().unwrap_or_else(|| Database::new(self.settings.clone(), reporter()))
    }
}
