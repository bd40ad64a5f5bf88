//! Whether the database answers, apart from the pool (spec §15): `/healthz` says 503 only when
//! the database does not answer, never because the pool is busy; and a request that cannot
//! get a connection fails within 5 seconds when the database is down or not answering, not
//! at its own deadline, while one that waits for a busy pool waits on.

use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::{ConnectOptions, PgConnection, Postgres};
use tokio::sync::Mutex;

use crate::error::{Error, Result};

/// How long the pool may take to hand over (or make) a connection before we look at why.
pub const POOL_ACQUIRE: Duration = Duration::from_secs(3);
/// The bound of a probe of the database: a ping on the health connection, or making it.
const PROBE: Duration = Duration::from_secs(1);
/// A probe younger than this answers for the database (many requests waiting probe once).
const FRESH: Duration = Duration::from_secs(1);
/// What a request can wait at most when the database is down: the pool's bound and a probe.
pub const DOWN_WITHIN: Duration = Duration::from_secs(5);

/// A connection of its own (not the pool's), for probes.
pub struct Health {
    options: PgConnectOptions,
    probe: Mutex<Probe>,
}

struct Probe {
    conn: Option<PgConnection>,
    last: Option<(Instant, bool)>,
}

impl Health {
    /// `conn`, when given, is the first health connection (the one the server checked the
    /// schema with).
    pub fn new(options: PgConnectOptions, conn: Option<PgConnection>) -> Health {
        Health { options, probe: Mutex::new(Probe { conn, last: None }) }
    }

    /// Whether the database answers `select 1` now (within a second; a probe of the last
    /// second is reused).
    pub async fn answers(&self) -> bool {
        let mut p = self.probe.lock().await;
        if let Some((at, ok)) = p.last
            && at.elapsed() < FRESH
        {
            return ok;
        }
        let ok = probe(&mut p.conn, &self.options).await;
        p.last = Some((Instant::now(), ok));
        ok
    }
}

async fn ping(conn: &mut PgConnection) -> Option<bool> {
    match tokio::time::timeout(PROBE, crate::db::simple_scalar::<i32>(conn, "select 1")).await {
        Ok(Ok(_)) => Some(true),
        // a broken connection (the server restarted): make another
        Ok(Err(_)) => Some(false),
        // no answer at all: the database is not answering
        Err(_) => None,
    }
}

async fn probe(conn: &mut Option<PgConnection>, options: &PgConnectOptions) -> bool {
    if let Some(c) = conn.as_mut() {
        match ping(c).await {
            Some(true) => return true,
            Some(false) => *conn = None,
            None => {
                *conn = None;
                return false;
            }
        }
    }
    let Ok(Ok(mut fresh)) = tokio::time::timeout(PROBE, options.connect()).await else {
        return false;
    };
    let ok = ping(&mut fresh).await == Some(true);
    if ok {
        *conn = Some(fresh);
    }
    ok
}

/// A connection of the pool for a request. While every connection is busy the request waits
/// on (its deadline bounds it); when a connection cannot be made in time and the database
/// does not answer a probe either, it is a 503 within [`DOWN_WITHIN`].
pub async fn acquire(pool: &PgPool, health: &Health) -> Result<PoolConnection<Postgres>> {
    let _waiting = crate::metrics::Waiting::start();
    loop {
        match pool.acquire().await {
            Ok(c) => return Ok(c),
            Err(sqlx::Error::PoolTimedOut) => {
                let busy =
                    pool.size() >= pool.options().get_max_connections() && pool.num_idle() == 0;
                if busy || health.answers().await {
                    continue;
                }
                return Err(Error::unavailable(format!(
                    "the database did not answer within {} seconds",
                    DOWN_WITHIN.as_secs()
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
}
