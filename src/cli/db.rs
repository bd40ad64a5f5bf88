//! `db migrate`, `db status`, `db import`, `db stop`, `db seed`, `db backup`, `db restore`: the operator's
//! commands, no session needed. They work on the database itself (`DATABASE_URL` or the
//! zero-config cluster), whatever `EPICCRM_SERVER` says.

use clap::Subcommand;
use serde_json::json;

use super::Context;
use crate::db::{self, MIGRATOR};
use crate::error::{Error, Result};

const BACKUP_EXAMPLES: &str = "Examples:
  epicevents db backup ~/backups/crm.dump
  EPICCRM_DATA_DIR=/srv/crm-copy epicevents db restore ~/backups/crm.dump";

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Apply the pending migrations (safe to run again)
    #[command(
        after_help = "Example:\n  DATABASE_URL=postgres://owner:pw@localhost/epic_crm epicevents db migrate"
    )]
    Migrate,
    /// Show where the database is and which migrations are applied
    #[command(after_help = "Examples:\n  epicevents db status\n  epicevents --json db status")]
    Status,
    /// Move a company from the Python original's database into this one (empty, migrated)
    #[command(after_help = super::import::AFTER_HELP)]
    Import(super::import::Import),
    /// Stop the local zero-config PostgreSQL server (when DATABASE_URL is not set)
    #[command(after_help = "Example:\n  epicevents db stop")]
    Stop,
    /// Fill an empty database with a large synthetic company, for benchmarks
    #[command(
        after_help = "Examples:\n  epicevents db seed --scale 1      # 100,000 clients, 1,000,000 events\n  \
                            epicevents --json db seed --scale 0.1"
    )]
    Seed {
        /// Size relative to 1,000 employees / 100,000 clients / 300,000 contracts / 1,000,000 events
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// Copy the zero-config database to FILE while it runs (PostgreSQL's custom format)
    #[command(after_help = BACKUP_EXAMPLES)]
    Backup {
        /// Where to write the backup (written whole or not at all, mode 0600)
        file: std::path::PathBuf,
    },
    /// Restore a backup of `db backup` into an empty zero-config database
    #[command(after_help = "Example:
  EPICCRM_DATA_DIR=~/crm-restored epicevents db restore crm.dump")]
    Restore {
        /// A file written by `epicevents db backup`
        file: std::path::PathBuf,
    },
}

fn local_only(ctx: &Context, what: &str) -> Result<()> {
    if ctx.settings.database_url.is_some() {
        let tool = if what == "backup" { "pg_dump --format=custom" } else { "pg_restore" };
        return Err(Error::usage(format!(
            "`db {what}` is for the zero-config database; DATABASE_URL is set"
        ))
        .with_hint(format!("use PostgreSQL's own tools for a database of your own: {tool}")));
    }
    Ok(())
}

impl DbCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            DbCmd::Migrate => {
                let n = db::migrate(ctx.database().conn_for_migration().await?).await?;
                let total = MIGRATOR.iter().count();
                let human = if n == 0 {
                    format!("The schema is up to date ({total} migrations).")
                } else {
                    format!("Applied {n} migration(s); the schema is up to date.")
                };
                ctx.out.done(&human, json!({ "applied": n, "total": total }))
            }
            DbCmd::Status => status(ctx).await,
            DbCmd::Import(c) => c.run(ctx).await,
            DbCmd::Seed { scale } => {
                let started = std::time::Instant::now();
                let s = crate::service::seed::seed(ctx.database().conn().await?, scale).await?;
                let secs = started.elapsed().as_secs_f64();
                let human = format!(
                    "Seeded {} employees, {} clients, {} contracts, {} events in {secs:.1} s.\n\
                     Every account's password: {}\n\
                     Log in as employee1@bench.example (MANAGEMENT), employee2@bench.example \
                     (SALES) or employee11@bench.example (SUPPORT).",
                    s.employees, s.clients, s.contracts, s.events, s.password
                );
                let mut v = serde_json::to_value(&s).unwrap_or_default();
                v["seconds"] = json!(secs);
                ctx.out.done(&human, v)
            }
            DbCmd::Stop => {
                if ctx.settings.database_url.is_some() {
                    return ctx.out.done(
                        "DATABASE_URL is set: there is no local server to stop.",
                        json!({ "stopped": false }),
                    );
                }
                let stopped = ctx.database().embedded()?.stop()?;
                let human = if stopped {
                    "Stopped the local PostgreSQL server."
                } else {
                    "The local PostgreSQL server was not running."
                };
                ctx.out.done(human, json!({ "stopped": stopped }))
            }
            DbCmd::Backup { file } => {
                local_only(ctx, "backup")?;
                let started = std::time::Instant::now();
                let bytes = ctx.database().embedded()?.backup(&file).await?;
                let secs = started.elapsed().as_secs_f64();
                ctx.out.done(
                    &format!(
                        "Backed up the database to {} ({:.1} MiB in {secs:.1} s).",
                        file.display(),
                        bytes as f64 / 1048576.0
                    ),
                    json!({ "file": file, "bytes": bytes, "seconds": secs }),
                )
            }
            DbCmd::Restore { file } => {
                local_only(ctx, "restore")?;
                ctx.database().embedded()?.restore(&file).await?;
                ctx.out.done(
                    &format!(
                        "Restored {}. Everyone logs in again (sessions of the old installation \
                         do not carry over).",
                        file.display()
                    ),
                    json!({ "restored": file }),
                )
            }
        }
    }
}

async fn status(ctx: &mut Context) -> Result<()> {
    // in local mode, a stopped (or never created) cluster is reported, not started
    let (location, running, created) = match &ctx.settings.database_url {
        Some(url) => (url.redacted(), None, true),
        None => {
            let c = ctx.database().embedded()?.cluster();
            (
                format!("local cluster in {}", c.root().display()),
                Some(c.is_running()),
                c.is_initialized(),
            )
        }
    };
    let applied = if running == Some(false) {
        None
    } else {
        Some(db::applied_versions(ctx.database().conn_unchecked().await?).await?)
    };
    let known = applied.is_some();
    let migrations: Vec<_> = MIGRATOR
        .iter()
        .map(|m| {
            let done = applied.as_ref().is_some_and(|a| a.contains(&m.version));
            let applied = if known { json!(done) } else { serde_json::Value::Null };
            json!({ "version": m.version, "description": m.description, "applied": applied })
        })
        .collect();
    let pending = migrations.iter().filter(|m| m["applied"] == false).count();
    let server = match running {
        None => None,
        Some(true) => Some("running"),
        Some(false) if created => Some("stopped (the next command starts it)"),
        Some(false) => Some("not created yet (the first command creates it)"),
    };
    if ctx.out.json() {
        return ctx.out.done(
            "",
            json!({ "database": location, "running": running.unwrap_or(true), "created": created,
                    "migrations": migrations, "pending": if known { json!(pending) } else { json!(null) } }),
        );
    }
    let mut s = format!("database: {location}\n");
    if let Some(server) = server {
        s.push_str(&format!("server:   {server}\n"));
    }
    match applied {
        None => s.push_str("schema:   unknown while the server is stopped\n"),
        Some(_) if pending == 0 => s.push_str("schema:   up to date\n"),
        Some(_) => s.push_str(&format!(
            "schema:   {pending} migration(s) pending: run `epicevents db migrate`\n"
        )),
    }
    for m in migrations.iter().filter(|_| known) {
        s.push_str(&format!(
            "  {} {} {}\n",
            if m["applied"] == true { "[x]" } else { "[ ]" },
            m["version"],
            m["description"].as_str().unwrap_or_default()
        ));
    }
    crate::output::emit(&s)
}
