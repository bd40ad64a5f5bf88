//! The `login_failures` table: failed logins per e-mail, for throttling.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::error::Result;

pub const MAX_FAILURES: i32 = 5;
pub const WINDOW_MINUTES: i32 = 15;

/// Counts an attempt for `email` before its password is checked, in one atomic statement
/// (a new window when the last one has passed). Returns when the e-mail may try again if
/// this attempt is over the limit: then the password must not be checked at all. Counting
/// first means parallel attempts cannot all slip through before any failure is recorded;
/// a successful login then clears the count with `reset`.
pub async fn count_attempt(db: impl PgExecutor<'_>, email: &str) -> Result<Option<DateTime<Utc>>> {
    let row = sqlx::query!(
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
    .fetch_one(db)
    .await?;
    Ok((row.failures > MAX_FAILURES).then_some(row.until))
}

pub async fn reset(db: impl PgExecutor<'_>, email: &str) -> Result<()> {
    sqlx::query!("delete from login_failures where email_key = lower($1)", email)
        .execute(db)
        .await?;
    Ok(())
}
