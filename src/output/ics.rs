//! `event list --ics`: the events as an iCalendar feed (RFC 5545), written as they arrive.
//! A writer of our own rather than a crate's: it streams (a calendar crate builds the whole
//! calendar in memory first), and the part of the RFC a feed needs is small — CRLF line
//! ends, lines folded at 75 octets, TEXT escaped, UTC times, one VEVENT per event with a UID
//! that stays the same across runs and clients (the event id and the installation's id).

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::api::Event;
use crate::error::{Error, Result};
use crate::repo::RowSink;

/// Lines longer than this many octets are folded (RFC 5545 §3.1).
const FOLD: usize = 75;

pub struct IcsWriter {
    out: std::io::BufWriter<std::io::Stdout>,
    installation: uuid::Uuid,
    closed: bool,
    /// Whether the calendar's header is out: it waits for the first event (or the end), so
    /// that a list refused before its first row leaves nothing behind in `> events.ics`.
    started: bool,
}

const HEADER: [&str; 6] = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    concat!("PRODID:-//Epic Events//epicevents ", env!("CARGO_PKG_VERSION"), "//EN"),
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    "X-WR-CALNAME:Epic Events",
];

/// TEXT as RFC 5545 §3.3.11 wants it: backslash, semicolon and comma escaped, line breaks as
/// `\n`; other control characters (which TEXT may not hold) become spaces.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            '\t' => out.push('\t'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A content line, folded: at most 75 octets per physical line (never inside a UTF-8
/// sequence), each continuation starting with a space, every line ending in CRLF.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / FOLD * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > FOLD {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

fn utc(t: &DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

impl IcsWriter {
    /// A calendar for this installation; nothing is written before its first event.
    pub fn new(installation: uuid::Uuid) -> Self {
        IcsWriter {
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            installation,
            closed: false,
            started: false,
        }
    }

    /// The VEVENT of one event.
    pub fn vevent(&self, e: &Event) -> Vec<String> {
        let mut description = format!(
            "Client: {} (client {})\nContract: {}\nSupport: {}\nAttendees: {}",
            e.client_name,
            e.client_id,
            e.contract_id,
            match (&e.support_contact_name, e.support_contact_id) {
                (Some(name), Some(id)) => format!("{name} (employee {id})"),
                _ => "none yet".to_owned(),
            },
            e.attendees
        );
        if let Some(notes) = &e.notes {
            description.push_str("\nNotes: ");
            description.push_str(notes);
        }
        vec![
            "BEGIN:VEVENT".to_owned(),
            format!("UID:event-{}@{}.epicevents", e.id, self.installation),
            format!("DTSTAMP:{}", utc(&e.updated_at)),
            format!("DTSTART:{}", utc(&e.start_at)),
            format!("DTEND:{}", utc(&e.end_at)),
            format!("SUMMARY:{}", escape_text(&e.name)),
            format!("LOCATION:{}", escape_text(&e.location)),
            format!("DESCRIPTION:{}", escape_text(&description)),
            format!("CREATED:{}", utc(&e.created_at)),
            format!("LAST-MODIFIED:{}", utc(&e.updated_at)),
            "END:VEVENT".to_owned(),
        ]
    }

    fn write<S: AsRef<str>>(&mut self, lines: &[S]) -> Result<bool> {
        if self.closed {
            return Ok(false);
        }
        let mut s = String::new();
        if !self.started {
            self.started = true;
            HEADER.iter().for_each(|l| s.push_str(&fold(l)));
        }
        for l in lines {
            s.push_str(&fold(l.as_ref()));
        }
        match self.out.write_all(s.as_bytes()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(e) => Err(Error::internal("cannot write to standard output", e)),
        }
    }

    /// Ends the calendar.
    pub fn finish(mut self) -> Result<()> {
        self.write(&["END:VCALENDAR"])?;
        match self.out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::internal("cannot write to standard output", e))
            }
            _ => Ok(()),
        }
    }
}

impl RowSink<Event> for IcsWriter {
    async fn push(&mut self, e: Event) -> Result<bool> {
        let lines = self.vevent(&e);
        self.write(&lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_as_the_rfc_says() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(escape_text("bell\u{7}"), "bell ");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        for physical in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets: {physical:?}", physical.len());
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        assert_eq!(fold("SHORT:x"), "SHORT:x\r\n");
    }
}
