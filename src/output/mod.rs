//! Rendering results: aligned tables and `key: value` blocks for people, JSON (spec §5) and
//! CSV (spec §12) for programs, iCalendar for calendars (`ics.rs`). Lists stream: each row is
//! written as it arrives, so `--all` never holds a whole table. In human output every control
//! character of a stored value is shown escaped, so no value can forge a row, a line or a
//! terminal escape. A closed pipe (`| head`) ends the output quietly; it is not an error.

mod cells;
pub mod ics;

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use unicode_width::UnicodeWidthStr;

use crate::domain::escape_controls;
use crate::error::{Error, Result};
use crate::repo::RowSink;

/// How a record shows to people.
pub trait Render: Serialize + DeserializeOwned {
    /// Column headers of the list table.
    const HEADERS: &'static [&'static str];
    /// The columns aligned to the right (amounts).
    const RIGHT: &'static [usize] = &[];
    /// One table row, in the order of `HEADERS`.
    fn cells(&self) -> Vec<String>;
    /// The `key: value` block of `show`.
    fn fields(&self) -> Vec<(&'static str, String)>;
}

/// What the user asked for: `--json`, `--csv`, or tables for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Csv,
}

#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    /// Standard output is a terminal: lists cut by their limit say so, and tables fit
    /// `columns` (spec §16). Piped output is never shortened.
    pub terminal: bool,
    pub columns: Option<usize>,
}

/// The width tables must fit on a terminal: `COLUMNS` when it is a number, else the
/// terminal's own.
fn terminal_columns() -> Option<usize> {
    match std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()) {
        Some(n) if n > 0 => Some(n),
        _ => terminal_size::terminal_size_of(std::io::stdout())
            .map(|(w, _)| usize::from(w.0))
            .filter(|w| *w > 0),
    }
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

/// `Sam Sales (2)`: a contact's name with its id.
pub fn named(name: &str, id: i64) -> String {
    format!("{name} ({id})")
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
    pub fn new(format: Format) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let color =
            terminal && std::env::var_os("NO_COLOR").is_none() && crate::sys::ansi_colours(false);
        let columns = if terminal { terminal_columns() } else { None };
        Output { format, color, terminal, columns }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// One record: a JSON object, or `key: value` lines (CSV is for lists; one record in CSV
    /// is a one-row list).
    pub fn record<T: Render>(&self, v: &T) -> Result<()> {
        match self.format {
            Format::Json => emit(&(to_json(v)? + "\n")),
            Format::Csv => {
                let mut w = self.list_writer::<T>();
                w.write_row(v)?;
                w.finish()
            }
            Format::Human => {
                let fields = v.fields();
                let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                let mut s = String::new();
                for (k, val) in fields {
                    let key = format!("{k}:");
                    let val = if k == "notes" {
                        indented_lines(&val, width + 2)
                    } else {
                        escape_controls(&val).into_owned()
                    };
                    if self.color {
                        s.push_str(&format!("\x1b[1m{key:<w$}\x1b[0m {val}\n", w = width + 1));
                    } else {
                        s.push_str(&format!("{key:<w$} {val}\n", w = width + 1));
                    }
                }
                emit(&s)
            }
        }
    }

    /// A list as its rows arrive: a JSON array, CSV with a header, or an aligned table (a
    /// note on stderr when it is empty).
    pub fn list_writer<T: Render>(&self) -> ListWriter<T> {
        let out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout());
        let kind = match self.format {
            Format::Json => Kind::Json { out, scratch: Vec::new() },
            Format::Csv => Kind::Csv {
                out: Box::new(
                    csv::WriterBuilder::new()
                        .terminator(csv::Terminator::CRLF)
                        .has_headers(false)
                        .from_writer(out),
                ),
                header: false,
            },
            Format::Human => {
                Kind::Human { out, pending: Vec::new(), widths: None, columns: self.columns }
            }
        };
        let keep_id = self.terminal && T::HEADERS.first() == Some(&"ID");
        ListWriter {
            kind,
            count: 0,
            closed: false,
            last_id: None,
            keep_id,
            _row: std::marker::PhantomData,
        }
    }

    /// A titled table below a record (`client show`'s contracts, `contract show`'s events),
    /// for people: `Title (N):` and the rows aligned, indented by two spaces, or
    /// `Title: none`. Cells are escaped as in every table.
    pub fn section(
        &self,
        title: &str,
        headers: &[&str],
        right: &[usize],
        rows: &[Vec<String>],
    ) -> Result<()> {
        if rows.is_empty() {
            return emit(&format!("\n{title}: none\n"));
        }
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| escape_controls(c).into_owned()).collect())
            .collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.width());
            }
        }
        let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let mut s = format!("\n{title} ({}):\n", rows.len());
        for row in std::iter::once(&header).chain(&rows) {
            s.push_str("  ");
            s.push_str(&aligned(&widths, right, row));
        }
        emit(&s)
    }

    /// A confirmation for people, or a JSON object for programs.
    pub fn done(&self, human: &str, json: serde_json::Value) -> Result<()> {
        if self.json() { emit(&(to_json(&json)? + "\n")) } else { emit(&format!("{human}\n")) }
    }
}

/// Multi-line notes for a `key: value` block: each line under the first one indented to the
/// values' column; every other control character still escaped (spec §4, §16).
fn indented_lines(value: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let lines: Vec<String> = value.split('\n').map(|l| escape_controls(l).into_owned()).collect();
    lines.join(&format!("\n{pad}"))
}

/// Rows for people are aligned on the widths of the first `ALIGN_ROWS` rows; later rows
/// (only with `--all` or a large `--limit`) keep those widths, overflowing where longer.
const ALIGN_ROWS: usize = 1000;
const GAP: usize = 2;

enum Kind {
    Json {
        out: std::io::BufWriter<std::io::Stdout>,
        /// One row's JSON, reused from row to row.
        scratch: Vec<u8>,
    },
    Csv {
        out: Box<csv::Writer<std::io::BufWriter<std::io::Stdout>>>,
        header: bool,
    },
    Human {
        out: std::io::BufWriter<std::io::Stdout>,
        pending: Vec<Vec<String>>,
        widths: Option<Vec<usize>>,
        /// The terminal's width, which the table fits (none when piped).
        columns: Option<usize>,
    },
}

/// Streams a list to stdout; see [`Output::list_writer`].
pub struct ListWriter<T> {
    kind: Kind,
    count: usize,
    closed: bool,
    /// The last row's id (on a terminal: for the "more with --after ID" note).
    last_id: Option<i64>,
    keep_id: bool,
    _row: std::marker::PhantomData<fn(T)>,
}

fn broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// A row's pretty JSON, one level deeper (inside the list's array). A newline in pretty JSON
/// is always between tokens: strings carry theirs escaped.
fn write_indented(out: &mut impl Write, json: &[u8]) -> std::io::Result<()> {
    for (i, line) in json.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.write_all(b"\n  ")?;
        }
        out.write_all(line)?;
    }
    Ok(())
}

impl<T: Render> ListWriter<T> {
    /// Adds a row; `Ok(false)` when the reader has gone away (stop producing rows).
    pub fn write_row(&mut self, row: &T) -> Result<bool> {
        if self.closed {
            return Ok(false);
        }
        self.count += 1;
        if self.keep_id {
            self.last_id = row.cells().first().and_then(|c| c.parse().ok());
        }
        let result = match &mut self.kind {
            Kind::Json { out, scratch } => {
                scratch.clear();
                serde_json::to_writer_pretty(&mut *scratch, row)
                    .map_err(|e| Error::internal("cannot encode JSON", e))?;
                out.write_all(if self.count == 1 { b"[\n  " } else { b",\n  " })
                    .and_then(|()| write_indented(out, scratch))
            }
            Kind::Csv { out, header } => {
                let fields = crate::api::field_names::<T>();
                let write = |out: &mut csv::Writer<_>, header: &mut bool| -> csv::Result<()> {
                    if !*header {
                        out.write_record(fields)?;
                        *header = true;
                    }
                    cells::write_record(out, row)
                };
                write(out, header).map_err(csv_io)
            }
            Kind::Human { out, pending, widths, columns } => {
                let cells: Vec<String> =
                    row.cells().iter().map(|c| escape_controls(c).into_owned()).collect();
                match widths {
                    Some(w) => out.write_all(line::<T>(w, &cells, columns.is_some()).as_bytes()),
                    None => {
                        pending.push(cells);
                        if pending.len() < ALIGN_ROWS {
                            return Ok(true);
                        }
                        flush_pending::<T>(out, pending, widths, *columns)
                    }
                }
            }
        };
        self.written(result)
    }

    fn written(&mut self, result: std::io::Result<()>) -> Result<bool> {
        match result {
            Ok(()) => Ok(true),
            Err(e) if broken_pipe(&e) => {
                self.closed = true;
                Ok(false)
            }
            Err(e) => Err(Error::internal("cannot write to standard output", e)),
        }
    }

    /// How many rows were written, and the last one's id (known on a terminal only).
    pub fn shown(&self) -> (usize, Option<i64>) {
        (self.count, self.last_id)
    }

    pub fn finish(mut self) -> Result<()> {
        let result = match &mut self.kind {
            Kind::Json { out, .. } => {
                let end = if self.count == 0 { "[]\n" } else { "\n]\n" };
                out.write_all(end.as_bytes()).and_then(|()| out.flush())
            }
            Kind::Csv { out, header } => {
                let r =
                    if *header { Ok(()) } else { out.write_record(crate::api::field_names::<T>()) };
                r.map_err(csv_io).and_then(|()| out.flush())
            }
            Kind::Human { out, pending, widths, columns } => {
                if widths.is_none() && pending.is_empty() {
                    eprintln!("(no results)");
                    Ok(())
                } else {
                    let r = if widths.is_none() {
                        flush_pending::<T>(out, pending, widths, *columns)
                    } else {
                        Ok(())
                    };
                    r.and_then(|()| out.flush())
                }
            }
        };
        if self.closed {
            return Ok(());
        }
        self.written(result).map(|_| ())
    }
}

fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

impl<T: Render + Send> RowSink<T> for ListWriter<T> {
    async fn push(&mut self, row: T) -> Result<bool> {
        self.write_row(&row)
    }
}

fn flush_pending<T: Render>(
    out: &mut std::io::BufWriter<std::io::Stdout>,
    pending: &mut Vec<Vec<String>>,
    widths: &mut Option<Vec<usize>>,
    columns: Option<usize>,
) -> std::io::Result<()> {
    let mut w: Vec<usize> = T::HEADERS.iter().map(|h| h.width()).collect();
    for row in pending.iter() {
        for (w, c) in w.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    if let Some(columns) = columns {
        fit::<T>(&mut w, columns);
    }
    let header: Vec<String> = T::HEADERS.iter().map(|h| h.to_string()).collect();
    let fitted = columns.is_some();
    let mut s = line::<T>(&w, &header, fitted);
    for row in std::mem::take(pending) {
        s.push_str(&line::<T>(&w, &row, fitted));
    }
    *widths = Some(w);
    out.write_all(s.as_bytes())
}

/// The narrowest a shortened column gets: its header, and at least this much.
const MIN_SHORTENED: usize = 8;

/// Narrows the widest text columns (never the first, the id, nor a right-aligned amount) one
/// character at a time until the table fits `columns`, or none can be narrowed further.
fn fit<T: Render>(widths: &mut [usize], columns: usize) {
    let total = |w: &[usize]| w.iter().sum::<usize>() + GAP * w.len().saturating_sub(1);
    while total(widths) > columns {
        let widest = (1..widths.len())
            .filter(|i| !T::RIGHT.contains(i))
            .filter(|&i| widths[i] > T::HEADERS[i].width().max(MIN_SHORTENED))
            .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)));
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
}

/// `cell` cut to `width` columns, its end replaced by `…`, when it is wider.
fn shorten(cell: &str, width: usize) -> std::borrow::Cow<'_, str> {
    use unicode_width::UnicodeWidthChar;
    if cell.width() <= width {
        return std::borrow::Cow::Borrowed(cell);
    }
    let mut s = String::new();
    let mut used = 0;
    for ch in cell.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        s.push(ch);
    }
    s.push('…');
    std::borrow::Cow::Owned(s)
}

/// One row; on a terminal (`fitted`) its cells shortened to their column's width.
fn line<T: Render>(widths: &[usize], cells: &[String], fitted: bool) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        let c = match widths.get(i) {
            Some(&w) if fitted && i > 0 && !T::RIGHT.contains(&i) => shorten(c, w),
            _ => std::borrow::Cow::Borrowed(c.as_str()),
        };
        let c = c.as_ref();
        let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.width());
        let right = T::RIGHT.contains(&i);
        if right {
            s.extend(std::iter::repeat_n(' ', pad));
        }
        s.push_str(c);
        if i + 1 < cells.len() {
            let after = if right { 0 } else { pad };
            s.extend(std::iter::repeat_n(' ', after + GAP));
        }
    }
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
    s.push('\n');
    s
}

/// One line of a [`Output::section`] table: as [`line`], with the right-aligned columns given.
fn aligned(widths: &[usize], right: &[usize], cells: &[String]) -> String {
    let mut s = String::new();
    for (i, c) in cells.iter().enumerate() {
        let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(c.width());
        if right.contains(&i) {
            s.extend(std::iter::repeat_n(' ', pad));
        }
        s.push_str(c);
        if i + 1 < cells.len() {
            let after = if right.contains(&i) { 0 } else { pad };
            s.extend(std::iter::repeat_n(' ', after + GAP));
        }
    }
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
    s.push('\n');
    s
}
