//! Types that cannot hold invalid values. Everything that comes from the command line or the
//! network is parsed into one of these (by clap's `value_parser` or by serde, through the
//! same `parse`) before it reaches a service or a repository.

mod email;
mod id;
mod money;
mod password;
mod role;
mod text;
mod time;

pub use email::Email;
pub use id::{Attendees, parse_id};
pub use money::Money;
pub use password::{Password, deserialize_for_login};
pub use role::Role;
pub use text::{Name, Notes, OptionalText, escape_controls, is_bidi_control, is_line_separator};
pub use time::{EventPeriod, Timestamp};

/// Serialises a type as its `Display` string and deserialises it through its parser, so that
/// a value arriving over the network passes the same rule as one typed on the command line.
macro_rules! string_serde {
    ($ty:ty, $parse:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                ($parse)(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_serde;

/// Property tests: every parser takes any input without panicking and accepts exactly what
/// its rule says.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn email_accepts_plain_addresses(local in "[a-z0-9][a-z0-9._+]{0,20}", host in "[a-z0-9]{1,12}", tld in "[a-z]{2,6}") {
            let s = format!("{local}@{host}.{tld}");
            let e = Email::parse(&s).unwrap();
            prop_assert_eq!(e.as_str(), s.as_str());
        }

        #[test]
        fn email_never_panics_and_needs_an_at_and_no_inner_space(s in any::<String>()) {
            if let Ok(e) = Email::parse(&s) {
                let t = e.as_str();
                prop_assert!(t.contains('@') && !t.chars().any(char::is_whitespace));
                prop_assert!(t.len() <= 254);
            }
            if !s.contains('@') {
                prop_assert!(Email::parse(&s).is_err());
            }
        }

        #[test]
        fn money_accepts_up_to_two_decimals(i in 0u64..=9_999_999_999, c in 0u32..100) {
            let s = format!("{i}.{c:02}");
            prop_assert_eq!(Money::parse(&s).unwrap().to_string(), s.clone());
            prop_assert_eq!(Money::parse(&i.to_string()).unwrap().to_string(), format!("{i}.00"));
            let three = format!("{i}.{c:02}1");
            let negative = format!("-{s}");
            prop_assert!(Money::parse(&three).is_err());
            prop_assert!(Money::parse(&negative).is_err());
        }

        #[test]
        fn money_never_panics_and_round_trips(s in any::<String>()) {
            if let Ok(m) = Money::parse(&s) {
                prop_assert_eq!(Money::parse(&m.to_string()).unwrap(), m);
                prop_assert!(m.decimal() >= rust_decimal::Decimal::ZERO);
            }
        }

        #[test]
        fn role_is_exactly_the_three_names(s in any::<String>()) {
            let want = ["MANAGEMENT", "SALES", "SUPPORT"].iter().any(|r| r.eq_ignore_ascii_case(s.trim()));
            prop_assert_eq!(Role::parse(&s).is_ok(), want);
        }

        #[test]
        fn password_policy_is_8_to_128_characters(s in any::<String>()) {
            let n = s.chars().count();
            let want = (8..=128).contains(&n) && !s.trim().is_empty();
            prop_assert_eq!(Password::parse(&s).is_ok(), want);
        }

        #[test]
        fn names_are_trimmed_non_blank_one_line(s in any::<String>()) {
            let t = s.trim();
            let want = !t.is_empty()
                && t.chars().count() <= 200
                && !t.chars().any(|c| c.is_control() || is_bidi_control(c) || is_line_separator(c));
            match Name::parse("name", &s) {
                Ok(n) => { prop_assert!(want); prop_assert_eq!(n.as_str(), t); }
                Err(_) => prop_assert!(!want),
            }
        }

        #[test]
        fn escaped_text_has_no_control_or_bidi_character(s in any::<String>()) {
            let e = escape_controls(&s);
            prop_assert!(
                !e.chars().any(|c| c.is_control() || is_bidi_control(c) || is_line_separator(c)),
                "{e:?}"
            );
        }

        #[test]
        fn ids_are_positive_integers(s in any::<String>()) {
            let want = s.parse::<i64>().is_ok_and(|n| n > 0);
            prop_assert_eq!(parse_id(&s).is_ok(), want);
        }

        #[test]
        fn timestamps_round_trip_rfc3339(secs in 0i64..4_000_000_000, off in -14i32*60..=14*60) {
            let utc = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let zone = chrono::FixedOffset::east_opt(off * 60).unwrap();
            let s = utc.with_timezone(&zone).to_rfc3339();
            prop_assert_eq!(Timestamp::parse(&s).unwrap().utc(), utc);
        }

        #[test]
        fn timestamps_never_panic(s in any::<String>()) {
            let _ = Timestamp::parse(&s);
        }

        #[test]
        fn local_minutes_parse_for_real_dates(y in 1970i32..2100, mo in 1u32..=12, d in 1u32..=28, h in 0u32..24, mi in 0u32..60) {
            let s = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}");
            // a time skipped by a clock change is refused; every other one parses
            prop_assert!(Timestamp::parse(&s).is_ok() || Timestamp::parse(&s).unwrap_err().contains("does not exist"));
        }
    }
}
