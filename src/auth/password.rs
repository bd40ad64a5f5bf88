//! Argon2id password hashing with OWASP's parameters (argon2's defaults: m=19 MiB, t=2, p=1).

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};

use crate::domain::Password;
use crate::error::{Error, Result};

pub fn hash(password: &Password) -> Result<String> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("could not hash the password", anyhow::anyhow!("{e}")))
}

/// Constant-cost check: an unparsable stored hash counts as a mismatch.
pub fn verify(password: &Password, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => {
            Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
        }
        Err(_) => false,
    }
}

/// A valid hash of a random password, verified against when the email is unknown so that
/// an unknown email costs as much time as a wrong password.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Vq0ptxCUdr1bsIQmwfz5j+Ggd6d6oKUuc0VVuwIyEyg"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let p = Password::parse("Secret123!").unwrap();
        let h = hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&p, &h));
        assert!(!verify(&Password::parse("Secret123?").unwrap(), &h));
        assert!(!verify(&p, "garbage"));
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(dummy_hash()).is_ok());
        // the same algorithm and cost as a real hash: an unknown e-mail costs what a known
        // one does
        let real = hash(&Password::parse("whatever-password").unwrap()).unwrap();
        let params = |h: &str| h.rsplitn(3, '$').nth(2).unwrap_or_default().to_owned();
        assert_eq!(params(dummy_hash()), params(&real));
        assert!(!verify(&Password::parse("whatever-password").unwrap(), dummy_hash()));
    }
}
