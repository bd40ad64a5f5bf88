//! Argon2id password hashing with OWASP's parameters (argon2's defaults: m=19 MiB, t=2, p=1).
//!
//! A hash takes 19 MiB and tens of milliseconds of one core. It runs on Tokio's blocking
//! threads, never on an async worker (a server goes on answering meanwhile), and at most one
//! per core at a time: a burst of logins queues instead of taking 19 MiB each at once.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use tokio::sync::Semaphore;

use crate::domain::Password;
use crate::error::{Error, Result};

static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// Runs `work` on a blocking thread once a hashing slot is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    bounded_by(&HASHING, work).await
}

async fn bounded_by<T: Send + 'static>(
    slots: &Semaphore,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let _slot =
        slots.acquire().await.map_err(|e| Error::internal("password hashing stopped", e))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal("password hashing failed", e))
}

pub async fn hash(password: &Password) -> Result<String> {
    let password = password.clone();
    bounded(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::internal("could not hash the password", anyhow::anyhow!("{e}")))
    })
    .await?
}

/// Constant-cost check: an unparsable stored hash counts as a mismatch.
pub async fn verify(password: &Password, stored_hash: &str) -> Result<bool> {
    let (password, stored_hash) = (password.clone(), stored_hash.to_owned());
    bounded(move || match PasswordHash::new(&stored_hash) {
        Ok(parsed) => {
            Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
        }
        Err(_) => false,
    })
    .await
}

/// Whether a stored hash was made with other parameters than today's (a hash copied from the
/// Python original by `db import`: argon2-cffi's m=64 MiB, t=3, p=4). Such a hash costs more
/// to check than a new one, so a successful login replaces it (spec §14); an unparsable hash
/// is left alone (it never verifies anyway).
pub fn needs_rehash(stored_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored_hash) else { return false };
    let Ok(params) = argon2::Params::try_from(&parsed) else { return false };
    let today = argon2::Params::default();
    parsed.algorithm.as_str() != argon2::Algorithm::Argon2id.as_str()
        || parsed.version != Some(argon2::Version::V0x13.into())
        || params.m_cost() != today.m_cost()
        || params.t_cost() != today.t_cost()
        || params.p_cost() != today.p_cost()
        || params.output_len().unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN)
            != today.output_len().unwrap_or(argon2::Params::DEFAULT_OUTPUT_LEN)
}

/// A valid hash of a random password, verified against when the email is unknown so that
/// an unknown email costs as much time as a wrong password.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Vq0ptxCUdr1bsIQmwfz5j+Ggd6d6oKUuc0VVuwIyEyg"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let p = Password::parse("Secret123!").unwrap();
        let h = hash(&p).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&p, &h).await.unwrap());
        assert!(!verify(&Password::parse("Secret123?").unwrap(), &h).await.unwrap());
        assert!(!verify(&p, "garbage").await.unwrap());
    }

    #[tokio::test]
    async fn only_hashes_of_other_parameters_need_a_rehash() {
        // argon2-cffi's defaults, as the Python original stored them (its "Secret123!")
        let python = "$argon2id$v=19$m=65536,t=3,p=4$SE8xpgi/USv+eCkj1IjUMg$xgO9R2c5zh92FT9rgBRxgd47py66kB36LdfzZXrASCs";
        let p = Password::parse("Secret123!").unwrap();
        assert!(verify(&p, python).await.unwrap(), "argon2 reads the parameters from the hash");
        assert!(needs_rehash(python));
        assert!(!needs_rehash(&hash(&p).await.unwrap()));
        assert!(!needs_rehash(dummy_hash()));
        assert!(!needs_rehash("garbage"));
    }

    #[tokio::test]
    async fn dummy_hash_parses() {
        assert!(PasswordHash::new(dummy_hash()).is_ok());
        // the same algorithm and cost as a real hash: an unknown e-mail costs what a known
        // one does
        let real = hash(&Password::parse("whatever-password").unwrap()).await.unwrap();
        let params = |h: &str| h.rsplitn(3, '$').nth(2).unwrap_or_default().to_owned();
        assert_eq!(params(dummy_hash()), params(&real));
        let p = Password::parse("whatever-password").unwrap();
        assert!(!verify(&p, dummy_hash()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_hashes_at_once_than_slots() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        // slots of its own: the global ones are shared with the other tests of this binary
        static SLOTS: Semaphore = Semaphore::const_new(2);
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let all: Vec<_> = (0..8)
            .map(|_| {
                tokio::spawn(bounded_by(&SLOTS, || {
                    let now = RUNNING.fetch_add(1, SeqCst) + 1;
                    MOST.fetch_max(now, SeqCst);
                    let p = Password::parse("whatever-password").unwrap();
                    let h = Argon2::default().hash_password(p.expose().as_bytes()).is_ok();
                    RUNNING.fetch_sub(1, SeqCst);
                    h
                }))
            })
            .collect();
        for h in all {
            assert!(h.await.unwrap().unwrap());
        }
        let most = MOST.load(SeqCst);
        assert!((1..=2).contains(&most), "two slots, yet {most} hashes ran at once");
        assert_eq!(SLOTS.available_permits(), 2, "every slot given back");
    }
}
