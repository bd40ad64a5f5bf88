//! Failed logins per e-mail (`login_failures`) and per client address
//! (`login_failures_by_source`, server mode), for throttling.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::UnnamedExt;
use crate::error::Result;

pub const MAX_FAILURES: i32 = 5;
pub const MAX_SOURCE_FAILURES: i32 = 30;
pub const WINDOW_MINUTES: i32 = 15;

/// Forgets counts whose window has passed, so that the tables hold at most one window's
/// worth of rows (a flood of unknown e-mails included).
pub async fn prune(db: &mut PgConnection) -> Result<()> {
    sqlx::query!(
        "delete from login_failures where window_start <= now() - make_interval(mins => $1)",
        WINDOW_MINUTES
    )
    .persistent(false)
    .execute(&mut *db)
    .await?;
    sqlx::query!(
        "delete from login_failures_by_source
         where window_start <= now() - make_interval(mins => $1)",
        WINDOW_MINUTES
    )
    .persistent(false)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Counts an attempt for `email` before its password is checked, in one atomic statement
/// (a new window when the last one has passed). Returns when the e-mail may try again if
/// this attempt is over the limit: then the password must not be checked at all. Counting
/// first means parallel attempts cannot all slip through before any failure is recorded;
/// a successful login then clears the count with `reset`.
pub async fn count_attempt(db: &mut PgConnection, email: &str) -> Result<Option<DateTime<Utc>>> {
    let (failures, until) = sqlx::query_as!(
        Window,
        r#"insert into login_failures as f (email_key, failures, window_start)
           values (lower($1), 1, now())
           on conflict (email_key) do update set
               failures = case when f.window_start > now() - make_interval(mins => $2)
                               then f.failures + 1 else 1 end,
               window_start = case when f.window_start > now() - make_interval(mins => $2)
                                   then f.window_start else now() end
           returning failures as "failures!",
                     window_start + make_interval(mins => $2) as "until!""#,
        email,
        WINDOW_MINUTES
    )
    .unnamed()
    .fetch_one(db)
    .await
    .map(|w| (w.failures, w.until))?;
    Ok((failures > MAX_FAILURES).then_some(until))
}

struct Window {
    failures: i32,
    until: DateTime<Utc>,
}

super::positional! { Window { failures, until } }

pub async fn reset(db: &mut PgConnection, email: &str) -> Result<()> {
    sqlx::query!("delete from login_failures where email_key = lower($1)", email)
        .persistent(false)
        .execute(db)
        .await?;
    Ok(())
}

/// Counts an attempt from a client address, as [`count_attempt`] does for an e-mail.
pub async fn count_source_attempt(
    db: &mut PgConnection,
    source: std::net::IpAddr,
) -> Result<Option<DateTime<Utc>>> {
    let source = source.to_string();
    let w = sqlx::query_as!(
        Window,
        r#"insert into login_failures_by_source as f (source, failures, window_start)
           values ($1, 1, now())
           on conflict (source) do update set
               failures = case when f.window_start > now() - make_interval(mins => $2)
                               then f.failures + 1 else 1 end,
               window_start = case when f.window_start > now() - make_interval(mins => $2)
                                   then f.window_start else now() end
           returning failures as "failures!",
                     window_start + make_interval(mins => $2) as "until!""#,
        source,
        WINDOW_MINUTES
    )
    .unnamed()
    .fetch_one(db)
    .await?;
    Ok((w.failures > MAX_SOURCE_FAILURES).then_some(w.until))
}

/// Takes back the attempt a successful login counted: a success does not clear the address's
/// failures (a guesser with one account of their own could otherwise reset their count).
pub async fn uncount_source_attempt(db: &mut PgConnection, source: std::net::IpAddr) -> Result<()> {
    let source = source.to_string();
    sqlx::query!(
        "update login_failures_by_source set failures = greatest(failures - 1, 0)
         where source = $1",
        source
    )
    .persistent(false)
    .execute(db)
    .await?;
    Ok(())
}
