//! Failed logins per e-mail (`login_failures`) and per client address
//! (`login_failures_by_source`, server mode), for throttling.
//!
//! An attempt takes a *slot* before its password is checked, and gives it back once checked:
//! as a failure (counted) or as a success (not counted). A slot is granted only while the
//! failures and the attempts being checked together stay under the limit, so parallel
//! guesses cannot slip past it; an attempt that finds every slot taken by attempts still
//! being checked waits for them (`Slot::Busy`), so parallel correct logins never count as
//! failures. Every transaction touches the address's row before the e-mail's (and the
//! pruning skips rows others hold), so that parallel logins never deadlock.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::UnnamedExt;
use crate::error::Result;

pub const MAX_FAILURES: i32 = 5;
pub const MAX_SOURCE_FAILURES: i32 = 30;
pub const WINDOW_MINUTES: i32 = 15;
/// An attempt still "being checked" after this long belongs to a server that stopped in the
/// middle: its slot is free again.
pub const STALE_SECONDS: f64 = 60.0;

/// What an attempt may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Check the password.
    Granted,
    /// Every slot is held by attempts being checked right now: wait for them.
    Busy,
    /// The limit of failures is reached until then.
    Locked(DateTime<Utc>),
}

/// Forgets rows that hold nothing live any more (no failure in a window that has not passed,
/// no attempt being checked), so that the tables hold at most one window's worth of rows (a
/// flood of unknown e-mails included). Rows another login holds are left for later.
pub async fn prune(db: &mut PgConnection) -> Result<()> {
    sqlx::query!(
        "delete from login_failures_by_source where source in (
             select source from login_failures_by_source
             where (failures = 0 or window_start <= now() - make_interval(mins => $1))
               and (pending = 0 or pending_since <= now() - make_interval(secs => $2))
             for update skip locked)",
        WINDOW_MINUTES,
        STALE_SECONDS
    )
    .persistent(false)
    .execute(&mut *db)
    .await?;
    sqlx::query!(
        "delete from login_failures where email_key in (
             select email_key from login_failures
             where (failures = 0 or window_start <= now() - make_interval(mins => $1))
               and (pending = 0 or pending_since <= now() - make_interval(secs => $2))
             for update skip locked)",
        WINDOW_MINUTES,
        STALE_SECONDS
    )
    .persistent(false)
    .execute(&mut *db)
    .await?;
    Ok(())
}

struct Window {
    failures: i32,
    until: DateTime<Utc>,
}

super::positional! { Window { failures, until } }

/// A slot to check a password for `email` (known or not), in one statement: granted while
/// the window's failures and the attempts being checked stay under `MAX_FAILURES`.
pub async fn take_slot(db: &mut PgConnection, email: &str) -> Result<Slot> {
    let granted = sqlx::query_scalar!(
        r#"insert into login_failures as f (email_key, failures, pending, window_start, pending_since)
           values (lower($1), 0, 1, now(), now())
           on conflict (email_key) do update set
               failures = case when f.failures > 0
                                and f.window_start > now() - make_interval(mins => $2)
                               then f.failures else 0 end,
               window_start = case when f.failures > 0
                                    and f.window_start > now() - make_interval(mins => $2)
                                   then f.window_start else now() end,
               pending = case when f.pending_since > now() - make_interval(secs => $3)
                              then f.pending else 0 end + 1,
               pending_since = now()
           where (case when f.failures > 0 and f.window_start > now() - make_interval(mins => $2)
                       then f.failures else 0 end)
               + (case when f.pending_since > now() - make_interval(secs => $3)
                       then f.pending else 0 end) < $4
           returning true as "granted!""#,
        email,
        WINDOW_MINUTES,
        STALE_SECONDS,
        MAX_FAILURES
    )
    .persistent(false)
    .fetch_optional(&mut *db)
    .await?;
    if granted.is_some() {
        return Ok(Slot::Granted);
    }
    // refused: the row is ours (locked by the upsert) until the transaction ends
    let w = sqlx::query_as!(
        Window,
        r#"select failures as "failures!",
                  window_start + make_interval(mins => $2) as "until!"
           from login_failures where email_key = lower($1)"#,
        email,
        WINDOW_MINUTES
    )
    .unnamed()
    .fetch_one(db)
    .await?;
    Ok(if w.failures >= MAX_FAILURES { Slot::Locked(w.until) } else { Slot::Busy })
}

/// The slot of `email` given back, checked: a failure is counted, a success clears the
/// count. Returns the failures of the window now.
pub async fn finish(db: &mut PgConnection, email: &str, ok: bool) -> Result<i32> {
    let failures = sqlx::query_scalar!(
        "update login_failures as f set
             failures = case when $2 then 0
                             when f.failures > 0
                                  and f.window_start > now() - make_interval(mins => $3)
                             then f.failures + 1 else 1 end,
             window_start = case when $2 or (f.failures > 0
                                  and f.window_start > now() - make_interval(mins => $3))
                                 then f.window_start else now() end,
             pending = greatest(f.pending - 1, 0)
         where email_key = lower($1)
         returning failures",
        email,
        ok,
        WINDOW_MINUTES
    )
    .persistent(false)
    .fetch_optional(db)
    .await?;
    Ok(failures.unwrap_or(0))
}

/// Clears the failures of `email` (a manager's unlock or new password). Returns whether the
/// account was locked out.
pub async fn reset(db: &mut PgConnection, email: &str) -> Result<bool> {
    let locked = sqlx::query_scalar!(
        r#"with old as (
               select failures, window_start from login_failures
               where email_key = lower($1) for update
           )
           update login_failures f set failures = 0 from old
           where f.email_key = lower($1)
           returning (old.failures >= $2
                      and old.window_start > now() - make_interval(mins => $3)) as "was_locked!""#,
        email,
        MAX_FAILURES,
        WINDOW_MINUTES
    )
    .persistent(false)
    .fetch_optional(db)
    .await?;
    Ok(locked.unwrap_or(false))
}

/// A slot to check a password from a client address, as [`take_slot`] does for an e-mail
/// (`MAX_SOURCE_FAILURES`).
pub async fn take_source_slot(db: &mut PgConnection, source: std::net::IpAddr) -> Result<Slot> {
    let source = source.to_string();
    let granted = sqlx::query_scalar!(
        r#"insert into login_failures_by_source as f (source, failures, pending, window_start, pending_since)
           values ($1, 0, 1, now(), now())
           on conflict (source) do update set
               failures = case when f.failures > 0
                                and f.window_start > now() - make_interval(mins => $2)
                               then f.failures else 0 end,
               window_start = case when f.failures > 0
                                    and f.window_start > now() - make_interval(mins => $2)
                                   then f.window_start else now() end,
               pending = case when f.pending_since > now() - make_interval(secs => $3)
                              then f.pending else 0 end + 1,
               pending_since = now()
           where (case when f.failures > 0 and f.window_start > now() - make_interval(mins => $2)
                       then f.failures else 0 end)
               + (case when f.pending_since > now() - make_interval(secs => $3)
                       then f.pending else 0 end) < $4
           returning true as "granted!""#,
        source,
        WINDOW_MINUTES,
        STALE_SECONDS,
        MAX_SOURCE_FAILURES
    )
    .persistent(false)
    .fetch_optional(&mut *db)
    .await?;
    if granted.is_some() {
        return Ok(Slot::Granted);
    }
    let w = sqlx::query_as!(
        Window,
        r#"select failures as "failures!",
                  window_start + make_interval(mins => $2) as "until!"
           from login_failures_by_source where source = $1"#,
        source,
        WINDOW_MINUTES
    )
    .unnamed()
    .fetch_one(db)
    .await?;
    Ok(if w.failures >= MAX_SOURCE_FAILURES { Slot::Locked(w.until) } else { Slot::Busy })
}

/// The address's slot given back: a failure is counted; a success does not clear the
/// address's failures (a guesser with one account of their own could otherwise reset their
/// count).
pub async fn finish_source(
    db: &mut PgConnection,
    source: std::net::IpAddr,
    ok: bool,
) -> Result<()> {
    let source = source.to_string();
    sqlx::query!(
        "update login_failures_by_source as f set
             failures = case when $2 then f.failures
                             when f.failures > 0
                                  and f.window_start > now() - make_interval(mins => $3)
                             then f.failures + 1 else 1 end,
             window_start = case when $2 or (f.failures > 0
                                  and f.window_start > now() - make_interval(mins => $3))
                                 then f.window_start else now() end,
             pending = greatest(f.pending - 1, 0)
         where source = $1",
        source,
        ok,
        WINDOW_MINUTES
    )
    .persistent(false)
    .execute(db)
    .await?;
    Ok(())
}
