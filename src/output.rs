//! Rendering results: `key: value` blocks and aligned tables for people, JSON (spec §5) for
//! programs. A closed pipe (`| head`) ends the output quietly; it is not an error.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use comfy_table::{Table, presets};
use serde::Serialize;

use crate::error::{Error, Result};

/// How a record shows to people.
pub trait Render {
    /// Column headers of the list table.
    const HEADERS: &'static [&'static str];
    /// One table row, in the order of `HEADERS`.
    fn cells(&self) -> Vec<String>;
    /// The `key: value` block of `show`.
    fn fields(&self) -> Vec<(&'static str, String)>;
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub json: bool,
    pub color: bool,
}

/// Local time, to the minute, for people.
pub fn local(t: &DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
}

pub fn local_opt(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(local).unwrap_or_default()
}

pub fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Writes to stdout; a reader that went away is not an error.
pub fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::internal("cannot write to standard output", e)),
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::internal("cannot encode JSON", e))
}

impl Output {
    pub fn new(json: bool) -> Self {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Output { json, color }
    }

    /// One record: JSON object, or `key: value` lines.
    pub fn record<T: Serialize + Render>(&self, v: &T) -> Result<()> {
        if self.json {
            return emit(&(to_json(v)? + "\n"));
        }
        let fields = v.fields();
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut s = String::new();
        for (k, val) in fields {
            let key = format!("{k}:");
            if self.color {
                s.push_str(&format!("\x1b[1m{key:<w$}\x1b[0m {val}\n", w = width + 1));
            } else {
                s.push_str(&format!("{key:<w$} {val}\n", w = width + 1));
            }
        }
        emit(&s)
    }

    /// A list: JSON array, or an aligned table (a note on stderr when it is empty).
    pub fn list<T: Serialize + Render>(&self, rows: &[T]) -> Result<()> {
        if self.json {
            return emit(&(to_json(rows)? + "\n"));
        }
        if rows.is_empty() {
            eprintln!("(no results)");
            return Ok(());
        }
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        table.set_header(T::HEADERS.iter().copied());
        for r in rows {
            table.add_row(r.cells());
        }
        let mut s = String::new();
        for line in table.to_string().lines() {
            // the preset pads every column on both sides; the first column needs no indent
            s.push_str(line.strip_prefix(' ').unwrap_or(line).trim_end());
            s.push('\n');
        }
        emit(&s)
    }

    /// A confirmation for people, or a JSON object for programs.
    pub fn done(&self, human: &str, json: serde_json::Value) -> Result<()> {
        if self.json { emit(&(to_json(&json)? + "\n")) } else { emit(&format!("{human}\n")) }
    }
}
