//! Connecting to PostgreSQL (one connection per command: a CLI has no use for a pool),
//! the embedded migrations, and the schema check every other command relies on.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

pub static MIGRATOR: Migrator = sqlx::migrate!();

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Server-side bound on any one statement.
pub const STATEMENT_TIMEOUT_MS: u32 = 10_000;

pub fn options_from_url(url: &DatabaseUrl) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url.expose()).map_err(|_| {
        Error::unavailable("DATABASE_URL is malformed").with_hint(
            "expected postgres://user:password@host:port/database (URL-encode the password)",
        )
    })
}

/// Opens a connection, bounded by `CONNECT_TIMEOUT`.
pub async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    let options = options.clone().application_name("epicevents").options([
        ("statement_timeout", STATEMENT_TIMEOUT_MS.to_string()),
        ("lock_timeout", STATEMENT_TIMEOUT_MS.to_string()),
    ]);
    let place = match options.get_socket() {
        Some(dir) => format!("the socket in {}", dir.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => {
            let err = crate::repo::map_db_error(e);
            if err.kind() == crate::error::Kind::Unavailable && err.hint().is_none() {
                let msg = format!("{} ({place})", err.message());
                return Err(Error::unavailable(msg)
                    .with_hint("is PostgreSQL running there, and is DATABASE_URL right?"));
            }
            Err(err)
        }
        Err(_) => Err(Error::unavailable(format!(
            "the database did not answer within {} seconds ({place})",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

fn latest_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Refuses to go on unless every embedded migration has been applied (exit 7).
pub async fn check_schema(conn: &mut PgConnection) -> Result<()> {
    let applied: Option<i64> =
        match sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
            Err(e) => return Err(e.into()),
        };
    let latest = latest_version();
    match applied {
        Some(v) if v == latest => Ok(()),
        Some(v) if v > latest => Err(Error::unavailable(
            "the database schema is newer than this epicevents; upgrade epicevents",
        )),
        Some(_) => Err(Error::unavailable("the database schema is outdated")
            .with_hint("run `epicevents db migrate`")),
        None => Err(Error::unavailable("the database schema is not migrated")
            .with_hint("run `epicevents db migrate`")),
    }
}

/// Applies pending migrations; returns how many were applied.
pub async fn migrate(conn: &mut PgConnection) -> Result<usize> {
    // building an index on a large table may take longer than any everyday statement
    sqlx::query("set statement_timeout = 0").execute(&mut *conn).await?;
    let before = applied_versions(conn).await?.len();
    MIGRATOR.run(&mut *conn).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(db) => crate::repo::map_db_error(db),
        other => Error::unavailable(format!("migration failed: {other}")),
    })?;
    let after = applied_versions(conn).await?.len();
    Ok(after.saturating_sub(before))
}

/// Versions recorded as applied (empty when the migrations table does not exist).
pub async fn applied_versions(conn: &mut PgConnection) -> Result<Vec<i64>> {
    match sqlx::query_scalar("select version from _sqlx_migrations where success order by version")
        .fetch_all(&mut *conn)
        .await
    {
        Ok(v) => Ok(v),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}
