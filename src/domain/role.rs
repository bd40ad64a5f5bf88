//! The three roles of spec §1.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
// on the command line: `--role sales` as well as `--role SALES` (`ignore_case` on the args)
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Management,
    Sales,
    Support,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Management, Role::Sales, Role::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Management => "MANAGEMENT",
            Role::Sales => "SALES",
            Role::Support => "SUPPORT",
        }
    }

    /// Case-insensitive, so `sales` and `SALES` both work on the command line.
    pub fn parse(input: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(input.trim())).ok_or_else(
            || format!("invalid role {input:?} (expected MANAGEMENT, SALES or SUPPORT)"),
        )
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::parse(s)
    }
}

/// Any case over the network too, as on the command line.
impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Role::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn parses_case_insensitively_and_round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
            assert_eq!(Role::parse(&r.as_str().to_lowercase()).unwrap(), r);
        }
    }

    #[test]
    fn rejects_unknown_roles() {
        for bad in ["", "ADMIN", "manager", "SALESS", "SALES,SUPPORT"] {
            assert!(Role::parse(bad).is_err(), "{bad}");
        }
    }
}

// Stored as `text` with a check constraint; these impls let `query_as!` read and bind it.
mod sql {
    use super::Role;
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
    use sqlx::{Decode, Encode, Postgres, Type};

    impl Type<Postgres> for Role {
        fn type_info() -> PgTypeInfo {
            <&str as Type<Postgres>>::type_info()
        }
        fn compatible(ty: &PgTypeInfo) -> bool {
            <&str as Type<Postgres>>::compatible(ty)
        }
    }

    impl<'r> Decode<'r, Postgres> for Role {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let s = <&str as Decode<Postgres>>::decode(value)?;
            Ok(Role::parse(s)?)
        }
    }

    impl Encode<'_, Postgres> for Role {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <&str as Encode<Postgres>>::encode(self.as_str(), buf)
        }
    }
}
