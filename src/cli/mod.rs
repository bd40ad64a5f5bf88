//! The command line: one module per command group, each with its clap type and a `run`.
//! The context (settings, connection, token store, current employee) is built here, once,
//! above the dispatch, and only as far as the command needs it.

mod audit;
mod auth;
mod client;
mod contract;
mod db;
mod demo;
mod employee;
mod event;
pub mod input;

use clap::{Args, Parser, Subcommand};
use sqlx::PgConnection;

use crate::auth::guard::{self, Actor};
use crate::auth::jwt::Jwt;
use crate::auth::store::TokenStore;
use crate::config::Settings;
use crate::embedded::Embedded;
use crate::error::{Error, Result};
use crate::output::Output;

const AFTER_HELP: &str = "\
Examples:
  epicevents create-employee Ada Lovelace ada@example.com - MANAGEMENT
  epicevents login ada@example.com
  epicevents whoami
  epicevents client list --search acme
  epicevents --json contract list --unpaid

Exit codes: 0 ok, 1 internal error, 2 usage or invalid input, 3 not authenticated,
4 forbidden, 5 not found, 6 conflict, 7 database unavailable or not migrated.";

/// Epic Events CRM: employees, clients, contracts and events, from a terminal.
#[derive(Debug, Parser)]
#[command(name = "epicevents", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,

    /// Log more to stderr (-v debug, -vv trace); RUST_LOG also works
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
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
    /// Employees: list, show, create, update, set-password, deactivate, reactivate, delete
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
    /// Database maintenance: migrate, status, stop (no session needed)
    #[command(subcommand)]
    Db(db::DbCmd),
    /// Fill an empty database with realistic sample data and print how to log in
    #[command(after_help = "Example (zero-config, nothing to set up):\n  epicevents demo")]
    Demo,
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
    /// Print the man page (roff)
    #[command(after_help = "Example:\n  epicevents man > epicevents.1 && man ./epicevents.1")]
    Man,
}

impl Cli {
    pub async fn run(self) -> Result<()> {
        // these need neither settings nor a database
        match &self.command {
            Command::Completions { shell } => {
                let mut buf = Vec::new();
                clap_complete::generate(
                    *shell,
                    &mut <Cli as clap::CommandFactory>::command(),
                    "epicevents",
                    &mut buf,
                );
                return crate::output::emit(&String::from_utf8_lossy(&buf));
            }
            Command::Man => {
                let mut buf = Vec::new();
                clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                    .render(&mut buf)
                    .map_err(|e| Error::internal("cannot render the man page", e))?;
                return crate::output::emit(&String::from_utf8_lossy(&buf));
            }
            _ => {}
        }
        let settings = Settings::load()?;
        let _sentry = crate::telemetry::init(&settings)?;
        let name = self.command.name();
        let mut ctx = Context::new(settings, Output::new(self.json));
        let result = self.command.run(&mut ctx).await;
        match &result {
            Ok(()) => crate::telemetry::flush_business_events(ctx.actor_role.map(|r| r.as_str())),
            Err(e) => {
                crate::telemetry::discard_business_events();
                crate::telemetry::report_error(e, name);
            }
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
            Command::Demo => "demo",
            Command::Completions { .. } => "completions",
            Command::Man => "man",
        }
    }

    async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            Command::Login(c) => c.run(ctx).await,
            Command::Whoami => auth::whoami(ctx).await,
            Command::RefreshToken => auth::refresh(ctx).await,
            Command::Logout => auth::logout(ctx).await,
            Command::CreateEmployee(c) => employee::create_employee(c, ctx).await,
            Command::ManagementOnly => auth::management_only(ctx).await,
            Command::Employee(c) => c.run(ctx).await,
            Command::Client(c) => c.run(ctx).await,
            Command::Contract(c) => c.run(ctx).await,
            Command::Event(c) => c.run(ctx).await,
            Command::Audit(c) => c.run(ctx).await,
            Command::Db(c) => c.run(ctx).await,
            Command::Demo => demo::run(ctx).await,
            Command::Completions { .. } | Command::Man => Ok(()),
        }
    }
}

/// Shared paging options of every list.
#[derive(Debug, Args, Clone, Copy)]
pub struct Paging {
    /// At most this many rows
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub limit: i64,
    /// Skip this many rows first
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub offset: i64,
    /// Every row (lifts --limit)
    #[arg(long)]
    pub all: bool,
}

impl Paging {
    pub fn page(&self) -> crate::repo::Page {
        crate::repo::Page { limit: (!self.all).then_some(self.limit), offset: self.offset }
    }
}

/// A parse failure of a domain type, as a usage error (exit 2).
pub fn usage<T>(r: std::result::Result<T, String>) -> Result<T> {
    r.map_err(Error::usage)
}

/// An update command given no field to change (exit 2).
pub fn nothing_to_update() -> Error {
    Error::usage("nothing to update: give at least one option to change")
        .with_hint("see --help for the options")
}

/// Before a delete: with `--yes`, nothing; otherwise ask on a terminal — and only about a
/// row that exists, which `show` reads first — or refuse without one.
pub async fn confirm_delete<T>(
    ctx: &mut Context,
    actor: &Actor,
    yes: bool,
    noun: &str,
    id: i64,
    show: impl AsyncFnOnce(&mut PgConnection, &Actor, i64) -> Result<T>,
) -> Result<()> {
    if !yes {
        show(ctx.db().await?, actor, id).await?;
    }
    input::confirm(yes, &format!("Delete {noun} {id}?"))
}

/// What a command may need, each part made on first use.
pub struct Context {
    pub settings: Settings,
    pub out: Output,
    conn: Option<PgConnection>,
    embedded: Option<Embedded>,
    /// The role of the authenticated employee, once known (for telemetry tags).
    pub actor_role: Option<crate::domain::Role>,
}

impl Context {
    pub fn new(settings: Settings, out: Output) -> Self {
        Context { settings, out, conn: None, embedded: None, actor_role: None }
    }

    /// The zero-config database (when `DATABASE_URL` is not set).
    pub fn embedded(&mut self) -> Result<&Embedded> {
        if self.embedded.is_none() {
            self.embedded = Some(Embedded::new(&self.settings)?);
        }
        self.embedded.as_ref().ok_or_else(|| Error::unavailable("BUG: no embedded database"))
    }

    /// A connection to a database whose schema is current (exit 7 otherwise).
    pub async fn db(&mut self) -> Result<&mut PgConnection> {
        if self.conn.is_none() {
            let conn = match &self.settings.database_url {
                Some(url) => {
                    let mut conn = crate::db::connect(&crate::db::options_from_url(url)?).await?;
                    crate::db::check_schema(&mut conn).await?;
                    conn
                }
                None => self.embedded()?.connect().await?,
            };
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| Error::unavailable("BUG: no connection"))
    }

    /// A connection whatever the schema's state (for `db migrate` and `db status`).
    pub async fn db_unchecked(&mut self) -> Result<&mut PgConnection> {
        if self.conn.is_none() {
            let options = match &self.settings.database_url {
                Some(url) => crate::db::options_from_url(url)?,
                None => {
                    let e = self.embedded()?;
                    e.ensure_running().await?;
                    e.options()
                }
            };
            self.conn = Some(crate::db::connect(&options).await?);
        }
        self.conn.as_mut().ok_or_else(|| Error::unavailable("BUG: no connection"))
    }

    pub fn jwt(&mut self) -> Result<Jwt> {
        let secret = match (&self.settings.jwt_secret, &self.settings.database_url) {
            (Some(s), _) => s.clone(),
            (None, None) => self.embedded()?.jwt_secret()?,
            (None, Some(_)) => {
                return Err(Error::unavailable("EPICCRM_JWT_SECRET is not set").with_hint(
                    "set it to a random string of at least 32 bytes, e.g. `openssl rand -hex 32`",
                ));
            }
        };
        Ok(Jwt::new(secret, &self.settings))
    }

    pub fn store(&self) -> Result<TokenStore> {
        TokenStore::new(&self.settings)
    }

    /// The logged-in, active employee (exit 3 otherwise).
    pub async fn actor(&mut self) -> Result<Actor> {
        let jwt = self.jwt()?;
        let store = self.store()?;
        let rotate = self.settings.rotate_refresh;
        let conn = self.db().await?;
        let actor = guard::authenticate(conn, &jwt, &store, rotate).await?;
        self.actor_role = Some(actor.role);
        Ok(actor)
    }
}
