//! Fair use of a server's database connections (spec §15): what one employee can hold, so that
//! nobody can make the server slow or unavailable for the others.
//!
//! - Each employee holds at most half the pool at once, whatever they send: their further
//!   requests wait their turn (they are not refused: a script running commands in parallel
//!   only goes slower). Requests without a session (logins, refreshes) share one such half.
//! - Each employee has at most [`STREAMS_PER_EMPLOYEE`] lists streaming at once: beyond that,
//!   `429 too_many_streams`. All streams together hold at most half the pool: a list waits
//!   for a stream's turn, ordinary requests never wait for lists.
//!
//! Everything here is per server (several servers each apply it), and it is decided before
//! a connection is taken, from a token whose signature was checked, so that a request with a
//! bad token never takes a connection either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Kind};

pub const STREAMS_PER_EMPLOYEE: usize = 2;

pub struct Fair {
    /// Connections one employee (or all anonymous requests together) may hold at once.
    share: usize,
    turns: Mutex<HashMap<Option<i64>, Arc<Semaphore>>>,
    /// All streams together.
    streams: Arc<Semaphore>,
    streams_of: Arc<Mutex<HashMap<i64, usize>>>,
}

/// One of the employee's streams, given back when dropped.
pub struct StreamSlot {
    employee: i64,
    of: Arc<Mutex<HashMap<i64, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut of = self.of.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = of.get_mut(&self.employee) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                of.remove(&self.employee);
            }
        }
    }
}

impl Fair {
    /// The limits for a pool of `pool` connections (half of it each, at least one).
    pub fn new(pool: u32) -> Fair {
        let half = (pool as usize / 2).max(1);
        Fair {
            share: half,
            turns: Mutex::new(HashMap::new()),
            streams: Arc::new(Semaphore::new(half)),
            streams_of: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A turn of `employee` (`None`: a request without a session) to hold a connection,
    /// waited for while they already hold their share.
    pub async fn turn(&self, employee: Option<i64>) -> OwnedSemaphorePermit {
        let sem = {
            let mut turns = self.turns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // one entry per employee who ever sent a request: a few hundred at most
            turns.entry(employee).or_insert_with(|| Arc::new(Semaphore::new(self.share))).clone()
        };
        // the semaphore is never closed
        sem.acquire_owned().await.expect("BUG: a fair-use semaphore was closed")
    }

    /// One more stream for `employee`, or `429 too_many_streams` when they have their
    /// [`STREAMS_PER_EMPLOYEE`] already.
    pub fn stream_slot(&self, employee: i64) -> Result<StreamSlot, Error> {
        let mut of = self.streams_of.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = of.entry(employee).or_insert(0);
        if *n >= STREAMS_PER_EMPLOYEE {
            return Err(Error::new(
                Kind::TooManyStreams,
                format!("you already have {STREAMS_PER_EMPLOYEE} lists streaming from this server"),
            )
            .with_hint("wait for them to finish (or stop them), then try again"));
        }
        *n += 1;
        Ok(StreamSlot { employee, of: self.streams_of.clone() })
    }

    /// A stream's turn among all streams (half the pool).
    pub async fn stream_turn(&self) -> OwnedSemaphorePermit {
        self.streams.clone().acquire_owned().await.expect("BUG: the stream semaphore was closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_streams_per_employee_and_the_slots_come_back() {
        let f = Fair::new(10);
        let a = f.stream_slot(7).unwrap();
        let _b = f.stream_slot(7).unwrap();
        let e = f.stream_slot(7).err().unwrap();
        assert_eq!((e.kind(), e.exit_code()), (Kind::TooManyStreams, 6));
        // another employee is not concerned
        let _c = f.stream_slot(8).unwrap();
        drop(a);
        assert!(f.stream_slot(7).is_ok());
    }

    #[tokio::test]
    async fn an_employee_holds_half_the_pool_at_most() {
        let f = Fair::new(10);
        let mut mine = Vec::new();
        for _ in 0..5 {
            mine.push(f.turn(Some(1)).await);
        }
        let sixth = tokio::time::timeout(std::time::Duration::from_millis(50), f.turn(Some(1)));
        assert!(sixth.await.is_err(), "a sixth connection for one employee");
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), f.turn(Some(2)));
        assert!(other.await.is_ok(), "another employee waited");
        drop(mine);
        assert!(Fair::new(1).share == 1);
    }
}
