//! Connecting to PostgreSQL, transactions with their timeouts, the embedded migrations and
//! the schema check every other command relies on.
//!
//! Everything here works behind a connection pooler in transaction mode (spec §11): nothing
//! is set per session (no startup `options`), every statement runs unnamed (`persistent(false)`
//! in the repositories), and the timeouts are set with `SET LOCAL` at the start of each
//! transaction, so that they hold whichever server connection the pooler lends.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Transaction};

use crate::config::DatabaseUrl;
use crate::error::{Error, MIGRATE_HINT, Result};

pub static MIGRATOR: Migrator = sqlx::migrate!();

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What every transaction sets, with its statement bound: no row held by another command is
/// waited for longer than 5 s (then exit 6, "held by another command": shorter than the
/// everyday statement bound, so that the user is told what happened), and no Memoize plan
/// nodes. For a page of 50 rows joined to their contacts, PostgreSQL 15 sizes a Memoize cache
/// from the table's estimated distinct keys and allocates it before the first row: in a fresh
/// server process (every direct-mode command has one) that took 3 ms of a 3.5 ms execution,
/// measured with `explain analyze`; without it the same page runs in 0.4 ms.
macro_rules! settings {
    ($statement_timeout:literal) => {
        concat!(
            "set local statement_timeout = '",
            $statement_timeout,
            "'; set local lock_timeout = '5s'; set local enable_memoize = off"
        )
    };
}

/// Every everyday transaction: no statement runs longer than 10 s.
const BEGIN: &str = concat!("begin; ", settings!("10s"));
/// The everyday settings, for a statement sent with them as one simple query outside any
/// explicit transaction: PostgreSQL runs such a query as one implicit transaction, to which
/// `set local` applies.
pub const EVERYDAY: &str = settings!("10s");
/// A list being streamed runs as long as its reader takes the rows (`--all | less`), within a
/// bound that suits that: 15 minutes.
const BEGIN_STREAM: &str = concat!("begin; ", settings!("15min"));

/// A transaction with the everyday timeouts.
pub async fn begin(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>> {
    Ok(conn.begin_with(BEGIN).await?)
}

/// Whether an error of a `COMMIT` leaves its outcome unknown: the connection broke (or the
/// server went away) after the statement was sent, so the commit may have happened.
pub fn commit_outcome_unknown(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
        }
        _ => false,
    }
}

/// A transaction for a streamed list.
pub async fn begin_stream(conn: &mut PgConnection) -> Result<Transaction<'_, Postgres>> {
    Ok(conn.begin_with(BEGIN_STREAM).await?)
}

pub fn options_from_url(url: &DatabaseUrl) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url.expose()).map_err(|_| {
        Error::unavailable("DATABASE_URL is malformed").with_hint(
            "expected postgres://user:password@host:port/database (URL-encode the password)",
        )
    })
}

/// Where `options` points, for messages: `host:port` or the socket directory.
pub fn place(options: &PgConnectOptions) -> String {
    match options.get_socket() {
        Some(dir) => format!("the socket in {}", dir.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
}

fn everyday(options: &PgConnectOptions) -> PgConnectOptions {
    options.clone().application_name("epicevents")
}

/// Opens a connection, bounded by `CONNECT_TIMEOUT`. A refusal says what the server (or the
/// pooler in front of it) said.
pub async fn connect(options: &PgConnectOptions) -> Result<PgConnection> {
    connect_as(&everyday(options)).await
}

async fn connect_as(options: &PgConnectOptions) -> Result<PgConnection> {
    let place = place(options);
    match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(connect_error(e, &place)),
        Err(_) => Err(Error::unavailable(format!(
            "the database did not answer within {} seconds ({place})",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// What went wrong while connecting, in the words of whoever refused.
fn connect_error(err: sqlx::Error, place: &str) -> Error {
    let mapped = match &err {
        sqlx::Error::Database(db) => {
            let said = db.message().to_owned();
            match db.code().as_deref() {
                Some("28P01" | "28000") => Error::unavailable(format!(
                    "the database refused the credentials in DATABASE_URL ({place}): {said}"
                ))
                .with_hint("check the user and the (URL-encoded) password in DATABASE_URL"),
                Some("3D000") => Error::unavailable(format!(
                    "the database named in DATABASE_URL does not exist ({place}): {said}"
                )),
                _ if said.contains("unsupported startup parameter") => Error::unavailable(format!(
                    "a connection pooler refused the connection ({place}): {said}"
                ))
                .with_hint(
                    "`db migrate` must connect to PostgreSQL directly, not through a pooler; \
                     point its DATABASE_URL at the database server itself",
                ),
                _ => Error::unavailable(format!(
                    "the database refused the connection ({place}): {said}"
                )),
            }
        }
        sqlx::Error::Io(io) => {
            Error::unavailable(format!("the database cannot be reached ({place}): {io}"))
                .with_hint("is PostgreSQL running there, and is DATABASE_URL right?")
        }
        sqlx::Error::Tls(e) => {
            Error::unavailable(format!("TLS with the database failed ({place}): {e}"))
        }
        _ => crate::error::driver_error(&err)
            .with_message(format!("the database is unavailable ({place})")),
    };
    mapped.with_source(err)
}

/// A pool for the server (`EPICCRM_DB_POOL` connections at most), connecting on demand.
/// `wait` bounds one acquisition (the server's `health::acquire` goes on waiting while the
/// pool is busy and the database answers, so that a burst queues rather than fails). Every
/// connection is pinged before it is handed over: after PostgreSQL restarts, the dead ones
/// are replaced, never given to a request (spec §15). The ping costs one round trip per
/// request (measured in `docs/performance.md`).
pub fn pool(options: &PgConnectOptions, size: u32, wait: Duration) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(wait)
        .test_before_acquire(true)
        .idle_timeout(Some(Duration::from_secs(300)))
        .connect_lazy_with(everyday(options))
}

/// The options of the server's own connections (the pool's, the health probe's).
pub fn server_options(options: &PgConnectOptions) -> PgConnectOptions {
    everyday(options)
}

fn latest_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Where the schema stands against the embedded migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    Current,
    /// Some migrations are not applied yet (none at all when the table is missing).
    Behind,
    /// The database was migrated by a newer epicevents.
    Newer,
}

/// Outside a transaction, behind a pooler, only the simple query protocol is safe: an
/// extended-protocol statement is parsed and executed in two round trips, which a pooler in
/// transaction mode may send to two different server connections. These few statements run
/// outside a transaction (the schema check of every command, the pooler detection, the
/// health check), so they are simple queries without parameters.
pub async fn simple_scalar<T>(
    conn: impl sqlx::PgExecutor<'_>,
    sql: &'static str,
) -> std::result::Result<T, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::Row;
    sqlx::raw_sql(sql).fetch_one(conn).await?.try_get(0)
}

pub async fn schema_state(conn: &mut PgConnection) -> Result<Schema> {
    let applied: Option<i64> =
        match simple_scalar(&mut *conn, "select max(version) from _sqlx_migrations where success")
            .await
        {
            Ok(v) => v,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => None,
            Err(e) => return Err(e.into()),
        };
    let latest = latest_version();
    Ok(match applied {
        Some(v) if v == latest => Schema::Current,
        Some(v) if v > latest => Schema::Newer,
        _ => Schema::Behind,
    })
}

/// Refuses to go on unless every embedded migration has been applied (exit 7).
pub async fn check_schema(conn: &mut PgConnection) -> Result<()> {
    match schema_state(conn).await? {
        Schema::Current => Ok(()),
        Schema::Newer => Err(newer_schema()),
        Schema::Behind => {
            let none = applied_versions(conn).await?.is_empty();
            let what = if none { "not migrated" } else { "outdated" };
            Err(Error::unavailable(format!("the database schema is {what}"))
                .with_hint(MIGRATE_HINT))
        }
    }
}

pub fn newer_schema() -> Error {
    Error::unavailable("the database schema is newer than this epicevents; upgrade epicevents")
}

/// Connects for `db migrate`: directly to PostgreSQL, with session settings (no statement
/// timeout: building an index on a large table may take a while). sqlx's migrator holds a
/// session-level advisory lock, which a pooler in transaction mode would hand to another
/// client's connection; PgBouncer refuses the startup `options` outright, which is how
/// it is recognised, and a backend that changes between two statements gives any other away.
pub async fn connect_for_migration(options: &PgConnectOptions) -> Result<PgConnection> {
    let options = everyday(options).options([("statement_timeout", "0")]);
    let mut conn = connect_as(&options).await?;
    let mut pids = Vec::new();
    for _ in 0..3 {
        let pid: i32 = simple_scalar(&mut conn, "select pg_backend_pid()").await?;
        pids.push(pid);
    }
    if pids.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error::unavailable(format!(
            "the connection for `db migrate` goes through a connection pooler ({})",
            place(&options)
        ))
        .with_hint(
            "migrations need a session of their own: point DATABASE_URL at PostgreSQL itself",
        ));
    }
    Ok(conn)
}

/// Applies pending migrations; returns how many were applied.
pub async fn migrate(conn: &mut PgConnection) -> Result<usize> {
    if schema_state(conn).await? == Schema::Newer {
        return Err(newer_schema());
    }
    let before = applied_versions(conn).await?.len();
    MIGRATOR.run(&mut *conn).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(db) => db.into(),
        other => Error::unavailable(format!("migration failed: {other}")),
    })?;
    let after = applied_versions(conn).await?.len();
    Ok(after.saturating_sub(before))
}

/// Versions recorded as applied (empty when the migrations table does not exist).
pub async fn applied_versions(conn: &mut PgConnection) -> Result<Vec<i64>> {
    let versions: std::result::Result<Option<Vec<i64>>, _> = simple_scalar(
        &mut *conn,
        "select array_agg(version order by version) from _sqlx_migrations where success",
    )
    .await;
    match versions {
        Ok(v) => Ok(v.unwrap_or_default()),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}
