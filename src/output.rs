//! Rendering results: `key: value` blocks and aligned tables for people, JSON (spec §5) for
//! programs. A closed pipe (`| head`) ends the output quietly; it is not an error.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use unicode_width::UnicodeWidthStr;

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

    /// A list as its rows arrive, so `--all` never holds a whole table: a JSON array, or an
    /// aligned table (a note on stderr when it is empty).
    pub fn list_writer<T: Serialize + Render>(&self) -> ListWriter<T> {
        ListWriter {
            json: self.json,
            out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()),
            pending: Vec::new(),
            widths: None,
            count: 0,
            closed: false,
            _row: std::marker::PhantomData,
        }
    }

    /// A confirmation for people, or a JSON object for programs.
    pub fn done(&self, human: &str, json: serde_json::Value) -> Result<()> {
        if self.json { emit(&(to_json(&json)? + "\n")) } else { emit(&format!("{human}\n")) }
    }
}

/// Rows for people are aligned on the widths of the first `ALIGN_ROWS` rows; later rows
/// (only with `--all` or a large `--limit`) keep those widths, overflowing where longer.
const ALIGN_ROWS: usize = 1000;
const GAP: usize = 2;

/// Streams a list to stdout; see [`Output::list_writer`].
pub struct ListWriter<T> {
    json: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    pending: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    count: usize,
    closed: bool,
    _row: std::marker::PhantomData<T>,
}

impl<T: Serialize + Render> ListWriter<T> {
    /// Adds a row; `Ok(false)` when the reader has gone away (stop producing rows).
    pub fn push(&mut self, row: &T) -> Result<bool> {
        if self.closed {
            return Ok(false);
        }
        self.count += 1;
        if self.json {
            let item = to_json(row)?;
            let mut s = String::with_capacity(item.len() + 16);
            s.push_str(if self.count == 1 { "[\n" } else { ",\n" });
            for (i, line) in item.lines().enumerate() {
                if i > 0 {
                    s.push('\n');
                }
                s.push_str("  ");
                s.push_str(line);
            }
            return self.write(&s);
        }
        let cells = row.cells();
        if self.widths.is_some() {
            let line = self.line(&cells);
            return self.write(&line);
        }
        self.pending.push(cells);
        if self.pending.len() >= ALIGN_ROWS {
            return self.flush_pending();
        }
        Ok(true)
    }

    pub fn finish(mut self) -> Result<()> {
        if self.json {
            let end = if self.count == 0 { "[]\n" } else { "\n]\n" };
            self.write(end)?;
        } else if self.widths.is_none() {
            if self.pending.is_empty() {
                eprintln!("(no results)");
                return Ok(());
            }
            self.flush_pending()?;
        }
        match self.out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::internal("cannot write to standard output", e))
            }
            _ => Ok(()),
        }
    }

    fn flush_pending(&mut self) -> Result<bool> {
        let mut widths: Vec<usize> = T::HEADERS.iter().map(|h| h.width()).collect();
        for row in &self.pending {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.width());
            }
        }
        self.widths = Some(widths);
        let header: Vec<String> = T::HEADERS.iter().map(|h| h.to_string()).collect();
        let mut s = self.line(&header);
        for row in std::mem::take(&mut self.pending) {
            s.push_str(&self.line(&row));
        }
        self.write(&s)
    }

    fn line(&self, cells: &[String]) -> String {
        let widths = self.widths.as_deref().unwrap_or_default();
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            s.push_str(c);
            if i + 1 < cells.len() {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.width()) + GAP;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let trimmed = s.trim_end().len();
        s.truncate(trimmed);
        s.push('\n');
        s
    }

    fn write(&mut self, s: &str) -> Result<bool> {
        match self.out.write_all(s.as_bytes()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(e) => Err(Error::internal("cannot write to standard output", e)),
        }
    }
}
