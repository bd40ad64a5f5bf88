//! Exactly-once writes through a server (spec §15). A write that carries an
//! `Idempotency-Key` runs in one transaction with its key: the statement that opens it claims
//! the key (a request of the same key still running is waited for), the service runs inside
//! it — its own [`Tx`] is a part of it, from a savepoint — and the answer the client is sent
//! is recorded beside the key before the one commit. The answer kept is therefore exactly
//! what was committed: a change that committed always has its answer kept, and an answer is
//! never kept for a change that did not commit. A 5xx is never kept (nothing was committed:
//! the client may try again).
//!
//! A repeat finds the key holding an answer when it comes to record its own: it rolls back
//! everything it did and gives the first answer (or 422, for another request). The common
//! case, a new key, costs one round trip more than the same write without a key (the
//! answer's); the claim and the savepoint travel with the `BEGIN`.

use std::cell::RefCell;

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

use super::{BusinessEvent, Run, Tx};
use crate::auth::Actor;
use crate::error::{Error, Kind, Result};
use crate::repo;

/// An answer as sent: HTTP status and JSON body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// What a keyed write came to.
pub enum Keyed {
    /// Run now; its answer kept (unless a 5xx).
    Answered(Answer),
    /// The key was used before for this very request: its first answer, nothing run.
    Replayed(Answer),
}

/// The fingerprint of a request: method, path and body, as sent.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().to_vec()
}

/// The same key sent with another request (422, exit 2).
pub fn mismatch() -> Error {
    Error::new(
        Kind::IdempotencyMismatch,
        "this Idempotency-Key was already used for another request",
    )
    .with_hint("send a new key with each new request")
}

/// What the transactions of a keyed write's service did, kept for the write's own commit.
#[derive(Default)]
pub(super) struct Nesting {
    /// Transactions begun so far (the first starts from the savepoint the claim made).
    begun: u32,
    /// The last one committed (or rolled back): nothing of it to undo on an error after it.
    settled: bool,
    /// Business events of the committed ones, reported once the write commits.
    events: Vec<BusinessEvent>,
}

tokio::task_local! {
    static NESTING: RefCell<Nesting>;
}

/// Whether a transaction begun now is a part of a keyed write's.
pub(super) fn nested(conn: &PgConnection) -> bool {
    conn.is_in_transaction() && NESTING.try_with(|_| ()).is_ok()
}

/// A transaction of the service begins: from the claim's savepoint for the first, from a new
/// one for the next.
pub(super) async fn begin_part(conn: &mut PgConnection) -> Result<()> {
    let first = NESTING.with(|n| {
        let mut n = n.borrow_mut();
        n.begun += 1;
        n.settled = false;
        n.begun == 1
    });
    if !first {
        savepoint(conn, "savepoint").await?;
    }
    Ok(())
}

async fn savepoint(conn: &mut PgConnection, verb: &str) -> Result<()> {
    let sql = format!("{verb} {}", repo::idempotency::SAVEPOINT);
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

/// A transaction of the service committed: its events wait for the write's commit.
pub(super) fn commit_part(events: Vec<BusinessEvent>) {
    NESTING.with(|n| {
        let mut n = n.borrow_mut();
        n.settled = true;
        n.events.extend(events);
    });
}

/// A transaction of the service rolled back, now.
pub(super) async fn rollback_part(conn: &mut PgConnection) -> Result<()> {
    savepoint(conn, "rollback to savepoint").await?;
    NESTING.with(|n| n.borrow_mut().settled = true);
    Ok(())
}

/// Runs `req` as `actor` under `key` (a [`repo::idempotency::valid_key`]); `answer` turns the
/// service's result into what the client is sent.
pub async fn keyed<R: Run>(
    conn: &mut PgConnection,
    actor: &Actor,
    key: &str,
    fingerprint: &[u8],
    req: R,
    answer: impl FnOnce(Result<R::Output>) -> Answer,
) -> Result<Keyed> {
    let claim = repo::idempotency::claim_sql(actor.id, key, fingerprint)?;
    let mut tx = conn
        .begin_with(sqlx::AssertSqlSafe(claim))
        .await
        .map_err(repo::idempotency::still_running)?;
    let (out, nesting) = NESTING
        .scope(RefCell::new(Nesting::default()), async {
            let out = req.run(&mut tx, Some(actor)).await;
            (out, NESTING.with(|n| std::mem::take(&mut *n.borrow_mut())))
        })
        .await;
    let failed = out.is_err();
    let a = answer(out);
    if a.status >= 500 {
        // dropped: rolled back, key and all
        return Ok(Keyed::Answered(a));
    }
    if failed && !nesting.settled {
        // what the failing part did goes; what committed before it stays, as it would alone
        savepoint(&mut tx, "rollback to savepoint").await?;
    }
    let status = i16::try_from(a.status).unwrap_or(i16::MAX);
    if !repo::idempotency::record(&mut tx, actor.id, key, status, &a.body).await? {
        // a repeat: what it did goes, the first answer stays
        tx.rollback().await?;
        let mut read = Tx::begin(conn).await?;
        let kept = repo::idempotency::kept(&mut read, actor.id, key).await?;
        read.commit(None).await?;
        let kept = kept.ok_or_else(|| {
            Error::unavailable("a request with this Idempotency-Key is still running")
        })?;
        if kept.fingerprint != fingerprint {
            return Err(mismatch());
        }
        let status = u16::try_from(kept.status).unwrap_or(500);
        return Ok(Keyed::Replayed(Answer { status, body: kept.body }));
    }
    // the author was checked again by the service's own commit, inside this transaction
    match tx.commit().await {
        Ok(()) => {}
        Err(e) if crate::db::commit_outcome_unknown(&e) => {
            return Err(Error::maybe_applied("the database connection broke while committing")
                .with_source(e));
        }
        Err(e) => return Err(e.into()),
    }
    super::report(nesting.events);
    Ok(Keyed::Answered(a))
}
