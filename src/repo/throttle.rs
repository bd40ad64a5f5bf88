//! The `login_failures` table: failed logins per e-mail, for throttling.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::error::Result;

pub const MAX_FAILURES: i32 = 5;
pub const WINDOW_MINUTES: i32 = 15;

/// When the e-mail may try again, if it is locked out now.
pub async fn locked_until(db: impl PgExecutor<'_>, email: &str) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar!(
        r#"select window_start + make_interval(mins => $3) as "until!"
           from login_failures
           where email_key = lower($1) and failures >= $2
             and window_start > now() - make_interval(mins => $3)"#,
        email,
        MAX_FAILURES,
        WINDOW_MINUTES
    )
    .fetch_optional(db)
    .await?)
}

/// Counts a failure, starting a new window when the last one has passed.
pub async fn record_failure(db: impl PgExecutor<'_>, email: &str) -> Result<()> {
    sqlx::query!(
        "insert into login_failures (email_key, failures, window_start)
         values (lower($1), 1, now())
         on conflict (email_key) do update set
             failures = case when login_failures.window_start > now() - make_interval(mins => $2)
                             then login_failures.failures + 1 else 1 end,
             window_start = case when login_failures.window_start > now() - make_interval(mins => $2)
                                 then login_failures.window_start else now() end",
        email,
        WINDOW_MINUTES
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn reset(db: impl PgExecutor<'_>, email: &str) -> Result<()> {
    sqlx::query!("delete from login_failures where email_key = lower($1)", email)
        .execute(db)
        .await?;
    Ok(())
}
