//! E-mail addresses, compared case-insensitively (the database indexes `lower(email)`).

use std::fmt;
use std::str::FromStr;

/// A syntactically plausible e-mail address: `local@domain.tld`, no spaces, at most 254
/// characters, no control or bidirectional-override character. Stored as typed (trimmed);
/// uniqueness is case-insensitive in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let err = || format!("invalid email address: {s:?}");
        if s.is_empty()
            || s.len() > 254
            || s.chars().any(|c| c.is_whitespace() || c.is_control() || super::is_bidi_control(c))
        {
            return Err(err());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(err)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(err());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels.iter().any(|l| {
                l.is_empty()
                    || l.starts_with('-')
                    || l.ends_with('-')
                    || l.contains(['(', ')', ','])
            })
        {
            return Err(err());
        }
        Ok(Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Email::parse(s)
    }
}

super::string_serde!(Email, Email::parse);

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.co", "first.last+tag@example.com", "Émile@société.fr", " x@y.io "] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Email::parse(" x@y.io ").unwrap().as_str(), "x@y.io");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "not-an-email",
            "@example.com",
            "a@",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@c.com",
            "a@b\n.com",
            "a@@b.com",
            "a@-b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@b.com", "a".repeat(65))).is_err());
    }
}
