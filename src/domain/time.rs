//! Points in time as typed on the command line (RFC 3339, or `YYYY-MM-DD HH:MM` in the
//! local zone from `TZ`), and event periods whose start comes before their end.

use chrono::{DateTime, Datelike, Local, LocalResult, NaiveDateTime, TimeZone, Utc};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Years 1 to 9999 (UTC) only: RFC 3339, which JSON output uses, has four-digit years.
    pub fn parse(input: &str) -> Result<Self, String> {
        let t = Self::parse_any(input)?;
        if !(1..=9999).contains(&t.0.year()) {
            return Err(format!("{:?} is out of range (years 1 to 9999)", input.trim()));
        }
        Ok(t)
    }

    fn parse_any(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp(t.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
                return match Local.from_local_datetime(&naive) {
                    LocalResult::Single(t) => Ok(Timestamp(t.with_timezone(&Utc))),
                    // a time that occurs twice (clocks going back): the first of the two
                    // instants (chrono does not list them in time order)
                    LocalResult::Ambiguous(a, b) => {
                        Ok(Timestamp(a.with_timezone(&Utc).min(b.with_timezone(&Utc))))
                    }
                    LocalResult::None => {
                        Err(format!("{s:?} does not exist in the local time zone (clock change)"))
                    }
                };
            }
        }
        Err(format!(
            "invalid date {s:?} (expected RFC 3339 such as 2026-06-04T14:00:00+02:00, or \
             YYYY-MM-DD HH:MM in local time)"
        ))
    }

    /// RFC 3339 only (with its offset): what crosses the network, where "local time" would
    /// be the server's.
    pub fn parse_rfc3339(input: &str) -> Result<Self, String> {
        let t = DateTime::parse_from_rfc3339(input.trim())
            .map_err(|_| format!("invalid date {input:?} (expected RFC 3339)"))?;
        let t = Timestamp(t.with_timezone(&Utc));
        if !(1..=9999).contains(&t.0.year()) {
            return Err(format!("{input:?} is out of range (years 1 to 9999)"));
        }
        Ok(t)
    }

    /// A bound of a range of days (`--from`, `--on`): a date alone (`2026-06-04`) is that
    /// day's local midnight, anything else as [`Timestamp::parse`].
    pub fn parse_day_start(input: &str) -> Result<Self, String> {
        match day(input) {
            Some(d) => local_midnight(d),
            None => Self::parse(input),
        }
    }

    /// The end of a range of days (`--to`, inclusive): a date alone is the last instant of
    /// that day (the next local midnight less a microsecond, PostgreSQL's resolution), so
    /// that `--to 2026-06-04` includes the whole day.
    pub fn parse_day_end(input: &str) -> Result<Self, String> {
        match day(input) {
            Some(d) => {
                let next = d.succ_opt().ok_or_else(|| format!("{:?} is out of range", input))?;
                let t = local_midnight(next)?;
                Ok(Timestamp(t.0 - chrono::Duration::microseconds(1)))
            }
            None => Self::parse(input),
        }
    }

    pub fn from_utc(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

super::string_serde!(Timestamp, Timestamp::parse_rfc3339);

/// `YYYY-MM-DD` alone.
fn day(input: &str) -> Option<chrono::NaiveDate> {
    let s = input.trim();
    (s.len() == 10).then(|| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()).flatten()
}

/// The first instant of a local day (where midnight does not exist, a clock change at
/// midnight, the first instant after it).
fn local_midnight(d: chrono::NaiveDate) -> Result<Timestamp, String> {
    if !(1..=9999).contains(&d.year()) {
        return Err(format!("{d} is out of range (years 1 to 9999)"));
    }
    for minutes in [0, 30, 60, 90, 120] {
        let naive = d.and_hms_opt(0, 0, 0).map(|t| t + chrono::Duration::minutes(minutes));
        if let Some(t) = naive.and_then(|n| Local.from_local_datetime(&n).earliest()) {
            return Ok(Timestamp(t.with_timezone(&Utc)));
        }
    }
    Err(format!("{d} has no midnight in the local time zone"))
}

/// A start strictly before an end: the one place this rule is written (the database checks
/// it too, `events_period_check`). On the wire, `start_at` and `end_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct EventPeriod {
    #[serde(rename = "start_at")]
    start: Timestamp,
    #[serde(rename = "end_at")]
    end: Timestamp,
}

#[derive(serde::Deserialize)]
struct RawPeriod {
    start_at: Timestamp,
    end_at: Timestamp,
}

impl TryFrom<RawPeriod> for EventPeriod {
    type Error = String;
    fn try_from(r: RawPeriod) -> Result<Self, String> {
        EventPeriod::new(r.start_at, r.end_at)
    }
}

impl EventPeriod {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, String> {
        if start >= end {
            return Err("the event must end after it starts".into());
        }
        Ok(EventPeriod { start, end })
    }
    pub fn start(self) -> DateTime<Utc> {
        self.start.0
    }
    pub fn end(self) -> DateTime<Utc> {
        self.end.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_with_offset() {
        let t = Timestamp::parse("2026-06-04T14:00:00+02:00").unwrap();
        assert_eq!(t.utc().to_rfc3339(), "2026-06-04T12:00:00+00:00");
    }

    #[test]
    fn parses_local_minutes() {
        assert!(Timestamp::parse("2026-06-04 14:00").is_ok());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "tomorrow",
            "2026-13-01 10:00",
            "2026-02-30 10:00",
            "2026-06-04",
            "9999-12-31T20:00:00-05:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_date_alone_is_a_whole_local_day() {
        let start = Timestamp::parse_day_start("2026-06-04").unwrap();
        let end = Timestamp::parse_day_end("2026-06-04").unwrap();
        let midnight = Local.from_local_datetime(
            &chrono::NaiveDate::from_ymd_opt(2026, 6, 4).unwrap().and_hms_opt(0, 0, 0).unwrap(),
        );
        assert_eq!(start.utc(), midnight.unwrap().with_timezone(&Utc));
        assert_eq!((end.utc() - start.utc()).num_seconds(), 24 * 3600 - 1);
        // with a time, the time
        let t = Timestamp::parse_day_end("2026-06-04T10:00:00Z").unwrap();
        assert_eq!(t.utc().to_rfc3339(), "2026-06-04T10:00:00+00:00");
        for bad in ["2026-13-04", "04/06/2026", "2026-06-4x"] {
            assert!(Timestamp::parse_day_start(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn period_needs_start_before_end() {
        let a = Timestamp::parse("2026-06-04T10:00:00Z").unwrap();
        let b = Timestamp::parse("2026-06-04T12:00:00Z").unwrap();
        assert!(EventPeriod::new(a, b).is_ok());
        assert!(EventPeriod::new(b, a).is_err());
        assert!(EventPeriod::new(a, a).is_err());
    }
}
