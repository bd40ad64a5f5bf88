//! The `idempotency_keys` table: each `Idempotency-Key` of a write sent to a server, with the
//! request's fingerprint and the answer it got (spec §15).

use sqlx::PgConnection;

use super::UnnamedExt;
use crate::error::{Error, Result};

/// How long a key is kept (and replayed).
pub const KEEP_HOURS: i32 = 24;

/// A key seen before, as its first request left it.
pub struct Kept {
    pub fingerprint: Vec<u8>,
    pub status: i16,
    pub body: Vec<u8>,
}

struct KeptRow {
    fingerprint: Vec<u8>,
    status: Option<i16>,
    body: Option<Vec<u8>>,
}

super::positional! { KeptRow { fingerprint, status, body } }

/// Whether `key` may be written into SQL as it is: 1 to 255 letters, digits and `-_.:~+/=`
/// (a UUID, base64), never a quote or a backslash.
pub fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:~+/=".contains(&b))
}

/// The statement that opens a keyed write's transaction (spec §15), one round trip: the
/// everyday settings, the claim of `key` for `employee` (a new row, or one whose 24 hours
/// have passed, with no answer yet; a row still kept is left as it is, and locked), and the
/// savepoint the service's own transaction starts from. A request of the same key still
/// running holds the row: the claim waits for it, within the lock bound (then 55P03).
/// `key` must be [`valid_key`]; the fingerprint goes in as hex.
pub fn claim_sql(employee: i64, key: &str, fingerprint: &[u8]) -> Result<String> {
    if !valid_key(key) {
        return Err(Error::internal("BUG: an unchecked Idempotency-Key", anyhow::anyhow!("key")));
    }
    let hex: String = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "begin; {settings}; \
         insert into idempotency_keys as k (employee_id, key, fingerprint) \
         values ({employee}, '{key}', '\\x{hex}') \
         on conflict (employee_id, key) do update set \
             fingerprint = excluded.fingerprint, status = null, body = null, created_at = now() \
         where k.created_at <= now() - make_interval(hours => {KEEP_HOURS}); \
         savepoint {SAVEPOINT}",
        settings = crate::db::EVERYDAY
    ))
}

/// The savepoint a keyed write's service starts from (made again by each later transaction
/// of that service).
pub const SAVEPOINT: &str = "keyed_write";

/// What the earlier request of `key` left, if anything.
pub async fn kept(db: &mut PgConnection, employee: i64, key: &str) -> Result<Option<Kept>> {
    let row = sqlx::query_as!(
        KeptRow,
        "select fingerprint, status, body from idempotency_keys
         where employee_id = $1 and key = $2",
        employee,
        key
    )
    .unnamed()
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|r| match (r.status, r.body) {
        (Some(status), Some(body)) => Some(Kept { fingerprint: r.fingerprint, status, body }),
        _ => None,
    }))
}

/// A lock wait past its bound on the claim: the first request of the key still runs.
pub fn still_running(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03") => {
            Error::unavailable("a request with this Idempotency-Key is still running")
                .with_hint("send it again in a moment: it will get that request's answer")
                .with_source(e)
        }
        _ => e.into(),
    }
}

/// The answer of the request that claimed `key`, in its transaction. `false` when the key
/// was not claimed by it (it holds an earlier request's answer): that transaction must roll
/// back, and the earlier answer be given.
pub async fn record(
    db: &mut PgConnection,
    employee: i64,
    key: &str,
    status: i16,
    body: &[u8],
) -> Result<bool> {
    let r = sqlx::query!(
        "update idempotency_keys set status = $3, body = $4
         where employee_id = $1 and key = $2 and status is null",
        employee,
        key,
        status,
        body
    )
    .persistent(false)
    .execute(db)
    .await
    .map_err(super::on_write)?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the keys older than [`KEEP_HOURS`]; returns how many.
pub async fn expire(db: &mut PgConnection) -> Result<u64> {
    let r = sqlx::query!(
        "delete from idempotency_keys where created_at <= now() - make_interval(hours => $1)",
        KEEP_HOURS
    )
    .persistent(false)
    .execute(db)
    .await?;
    Ok(r.rows_affected())
}
