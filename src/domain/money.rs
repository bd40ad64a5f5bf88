//! Amounts of money: decimals with at most two decimal places, never floats.

use rust_decimal::Decimal;
use std::fmt;

/// A non-negative amount with at most two decimals and at most ten digits before the point
/// (it must fit `numeric(12,2)`). Always carried with scale 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(Decimal);

impl Money {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let err = |why: &str| format!("invalid amount {s:?}: {why}");
        if s.is_empty() {
            return Err(err("empty"));
        }
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if s.starts_with('-') {
            return Err(err("must not be negative"));
        }
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("expected a number such as 1500 or 1500.50"));
        }
        if let Some(f) = frac {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("expected a number such as 1500 or 1500.50"));
            }
            if f.len() > 2 {
                return Err(err("at most two decimals"));
            }
        }
        if int.trim_start_matches('0').len() > 10 {
            return Err(err("too large (at most 9999999999.99)"));
        }
        let mut d: Decimal = s.parse().map_err(|_| err("not a number"))?;
        d.rescale(2);
        Ok(Money(d))
    }

    pub fn from_decimal(d: Decimal) -> Self {
        let mut d = d;
        d.rescale(2);
        Money(d)
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl serde::Serialize for Money {
    /// Always a string with two decimals (`"1500.00"`), as spec §5 wants.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// For `#[serde(serialize_with)]` on raw `Decimal` columns of `numeric(12,2)`: the driver
/// may hand back a zero without its scale, so it is rescaled here.
pub fn serialize_decimal<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Money::from_decimal(*d))
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Money;

    #[test]
    fn accepts_up_to_two_decimals() {
        assert_eq!(Money::parse("1500").unwrap().to_string(), "1500.00");
        assert_eq!(Money::parse("1500.5").unwrap().to_string(), "1500.50");
        assert_eq!(Money::parse("1500.50").unwrap().to_string(), "1500.50");
        assert_eq!(Money::parse("0").unwrap().to_string(), "0.00");
        assert_eq!(Money::parse("9999999999.99").unwrap().to_string(), "9999999999.99");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in
            ["", "-1", "1.234", "1,5", "abc", "1e3", ".5", "5.", "+5", "NaN", "12345678901", " - 1"]
        {
            assert!(Money::parse(bad).is_err(), "{bad:?}");
        }
    }
}
