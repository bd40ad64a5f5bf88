//! Row ids and counts as typed on the command line.

use std::fmt;

/// A row id: a positive integer (`not a valid id: abc` otherwise).
pub fn parse_id(input: &str) -> Result<i64, String> {
    match input.trim().parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("not a valid id: {input} (ids are whole numbers from 1)")),
    }
}

/// The expected number of attendees of an event: a whole number, 0 or more, that fits the
/// column (`integer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attendees(i32);

impl Attendees {
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim().parse::<i64>() {
            Ok(n) if n < 0 => Err(format!("attendees cannot be negative ({n})")),
            Ok(n) => i32::try_from(n)
                .map(Attendees)
                .map_err(|_| format!("attendees is too large (at most {})", i32::MAX)),
            Err(_) => {
                Err(format!("invalid number of attendees {input:?} (a whole number, 0 or more)"))
            }
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Attendees {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for Attendees {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Attendees {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Attendees::parse(&n.to_string()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive() {
        assert_eq!(parse_id("12"), Ok(12));
        for bad in ["0", "-1", "abc", "", "99999999999999999999", "1.5"] {
            assert!(parse_id(bad).unwrap_err().starts_with("not a valid id"), "{bad}");
        }
    }

    #[test]
    fn attendees_fit_the_column() {
        assert_eq!(Attendees::parse("0").unwrap().get(), 0);
        assert!(Attendees::parse("-1").is_err());
        assert!(Attendees::parse("2147483648").is_err());
        assert!(Attendees::parse("many").is_err());
    }
}
