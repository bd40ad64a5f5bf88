//! Plain-text passwords on their way to argon2: never printed, never `Debug`-formatted.

use std::fmt;

/// A password that satisfies the policy: 8 to 128 characters (Unicode scalar values),
/// not only white space. Its `Debug` is redacted so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

impl Password {
    pub fn parse(input: &str) -> Result<Self, String> {
        let n = input.chars().count();
        if n < MIN_LEN {
            return Err(format!("password is too short (at least {MIN_LEN} characters)"));
        }
        if n > MAX_LEN {
            return Err(format!("password is too long (at most {MAX_LEN} characters)"));
        }
        if input.trim().is_empty() {
            return Err("password cannot be only white space".into());
        }
        Ok(Password(input.to_owned()))
    }

    /// A password as typed at login: no policy (an old password may predate it), only a
    /// bound on length so that nobody makes us hash a megabyte.
    pub fn for_login(input: &str) -> Result<Self, String> {
        if input.is_empty() || input.chars().count() > MAX_LEN * 4 {
            return Err("invalid credentials".into());
        }
        Ok(Password(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

// Serialised only to cross to the server (a request body); `Debug` stays redacted.
impl serde::Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A password arriving in a request for a new password: the policy applies.
impl<'de> serde::Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Password::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// For `#[serde(deserialize_with)]` on a password typed to log in or to prove who one is:
/// no policy, only the length bound of [`Password::for_login`].
pub fn deserialize_for_login<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Password, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    Password::for_login(&s).map_err(serde::de::Error::custom)
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn length_bounds_are_inclusive() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        // counted in characters, not bytes
        assert!(Password::parse("éééééééé").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
    }

    #[test]
    fn blank_passwords_are_refused() {
        assert!(Password::parse("          ").is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("Secret123!").unwrap();
        assert!(!format!("{p:?}").contains("Secret"));
    }
}
