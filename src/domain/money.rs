//! Amounts of money: decimals with at most two decimal places, never floats, never negative.

use rust_decimal::Decimal;
use std::fmt;

/// A non-negative amount with at most two decimals and at most ten digits before the point
/// (it must fit `numeric(12,2)`). Always carried with scale 2, from the command line, the
/// network and the database alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(Decimal);

const MAX_INTEGER_DIGITS: usize = 10;

impl Money {
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

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
        if int.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
            return Err(err("too large (at most 9999999999.99)"));
        }
        let d: Decimal = s.parse().map_err(|_| err("not a number"))?;
        Self::from_decimal(d).map_err(|e| err(&e))
    }

    /// A decimal as money: refused when negative or finer than a cent.
    pub fn from_decimal(d: Decimal) -> Result<Self, String> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err("must not be negative".into());
        }
        let mut d = d.normalize();
        if d.scale() > 2 {
            return Err("at most two decimals".into());
        }
        d.rescale(2);
        Ok(Money(d))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self - other`, or `None` when that would be negative.
    pub fn minus(self, other: Money) -> Option<Money> {
        (self.0 >= other.0).then(|| Money(self.0 - other.0))
    }
}

// Always a string with two decimals (`"1500.00"`), as spec §5 wants.
super::string_serde!(Money, Money::parse);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:.2}` would round away a third decimal; there is none by construction
        write!(f, "{:.2}", self.0)
    }
}

// `numeric(12,2)` in the database: bound and read as a decimal, checked on the way in.
mod sql {
    use super::Money;
    use rust_decimal::Decimal;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
    use sqlx::{Decode, Encode, Postgres, Type};

    impl Type<Postgres> for Money {
        fn type_info() -> PgTypeInfo {
            <Decimal as Type<Postgres>>::type_info()
        }
        fn compatible(ty: &PgTypeInfo) -> bool {
            <Decimal as Type<Postgres>>::compatible(ty)
        }
    }

    impl<'r> Decode<'r, Postgres> for Money {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let d = <Decimal as Decode<Postgres>>::decode(value)?;
            Ok(Money::from_decimal(d)?)
        }
    }

    impl Encode<'_, Postgres> for Money {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <Decimal as Encode<Postgres>>::encode_by_ref(&self.0, buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Money;
    use rust_decimal::Decimal;

    #[test]
    fn accepts_up_to_two_decimals() {
        assert_eq!(Money::parse("1500").unwrap().to_string(), "1500.00");
        assert_eq!(Money::parse("1500.5").unwrap().to_string(), "1500.50");
        assert_eq!(Money::parse("1500.50").unwrap().to_string(), "1500.50");
        assert_eq!(Money::parse("0").unwrap().to_string(), "0.00");
        assert_eq!(Money::ZERO.to_string(), "0.00");
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

    #[test]
    fn from_a_decimal_only_when_non_negative_and_in_cents() {
        assert!(Money::from_decimal(Decimal::new(-1, 2)).is_err());
        assert!(Money::from_decimal(Decimal::new(1001, 3)).is_err());
        assert_eq!(Money::from_decimal(Decimal::new(1000, 3)).unwrap().to_string(), "1.00");
        assert_eq!(Money::from_decimal(Decimal::ZERO).unwrap().to_string(), "0.00");
        let ten = Money::parse("10").unwrap();
        assert_eq!(ten.minus(Money::parse("2.5").unwrap()).unwrap().to_string(), "7.50");
        assert!(Money::parse("2").unwrap().minus(ten).is_none());
    }

    #[test]
    fn serialises_as_a_string_and_parses_back() {
        let m = Money::parse("12.3").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"12.30\"");
        assert_eq!(serde_json::from_str::<Money>("\"12.30\"").unwrap(), m);
        assert!(serde_json::from_str::<Money>("\"-1\"").is_err());
    }
}
