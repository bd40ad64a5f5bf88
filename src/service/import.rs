//! `db import` (spec §14): a company's data moved from the Python original's database into
//! an empty, migrated one of ours, everyone's password kept.
//!
//! The source is read in one snapshot (`repeatable read, read only`) twice: the first pass
//! checks every row with the parsers the commands use (`domain`) and the rules between rows
//! (roles of contacts, contract/client and event/contract pairs, e-mails unique whatever
//! their case), keeping in memory only what those need (ids, roles, contacts, e-mails); only
//! when nothing is refused does the second pass stream the same rows, normalised the same
//! way, into one `COPY` per table, in one transaction with the audit row. Memory stays flat
//! whatever the size of the company: rows are never held, only streamed.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{ConnectOptions, Connection, PgConnection, Row};

use crate::domain::{Attendees, Email, Money, Name, Notes, OptionalText, Role};
use crate::error::{Error, Result};
use crate::repo::import as sql;

/// The `--from` URL: PostgreSQL's own forms, or SQLAlchemy's (`postgresql+psycopg://`,
/// `postgresql+psycopg2://`, as the original's `.env` writes it). It may hold a password: its
/// `Debug` and [`SourceUrl::redacted`] never show it.
#[derive(Clone)]
pub struct SourceUrl(String);

impl SourceUrl {
    pub fn parse(input: &str) -> std::result::Result<Self, String> {
        let s = input.trim();
        let expected = "expected a PostgreSQL URL such as postgresql://user:password@host/epic_crm \
                        (SQLAlchemy's postgresql+psycopg:// and postgresql+psycopg2:// also work)";
        let Some((scheme, rest)) = s.split_once("://") else {
            return Err(format!("--from is not a URL: {expected}"));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "postgresql+psycopg" | "postgresql+psycopg2" => {}
            other => {
                let other = crate::domain::escape_controls(other);
                return Err(format!("--from has the scheme {other}://: {expected}"));
            }
        }
        let url = format!("postgresql://{rest}");
        PgConnectOptions::from_str(&url)
            .map_err(|_| format!("--from is not a valid PostgreSQL URL: {expected}"))?;
        Ok(SourceUrl(url))
    }

    pub fn redacted(&self) -> String {
        crate::config::redact_url(&self.0)
    }

    fn options(&self) -> Result<PgConnectOptions> {
        PgConnectOptions::from_str(&self.0)
            .map_err(|_| Error::usage("--from is not a valid PostgreSQL URL"))
    }
}

impl std::fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub from: SourceUrl,
    pub dry_run: bool,
    /// A contract whose sales contact is not its client's gets the client's (listed).
    pub contracts_follow_client: bool,
    /// Event times read as UTC wall-clock times and taken as times of this zone.
    pub event_times_zone: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    Employees,
    Clients,
    Contracts,
    Events,
}

impl Table {
    pub const ALL: [Table; 4] = [Table::Employees, Table::Clients, Table::Contracts, Table::Events];
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Employees => "employees",
            Table::Clients => "clients",
            Table::Contracts => "contracts",
            Table::Events => "events",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    pub read: u64,
    pub imported: u64,
    pub normalised: u64,
    pub refused: u64,
}

/// Per table, in the order they are imported.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TableCounts {
    pub employees: Counts,
    pub clients: Counts,
    pub contracts: Counts,
    pub events: Counts,
}

impl TableCounts {
    pub fn get(&self, t: Table) -> &Counts {
        match t {
            Table::Employees => &self.employees,
            Table::Clients => &self.clients,
            Table::Contracts => &self.contracts,
            Table::Events => &self.events,
        }
    }
    fn get_mut(&mut self, t: Table) -> &mut Counts {
        match t {
            Table::Employees => &mut self.employees,
            Table::Clients => &mut self.clients,
            Table::Contracts => &mut self.contracts,
            Table::Events => &mut self.events,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RowRef {
    pub table: Table,
    pub id: i64,
}

/// A row refused only because a row it depends on was.
#[derive(Clone, Debug, Serialize)]
pub struct Dependent {
    pub table: Table,
    pub id: i64,
    /// The row it points to that was refused (itself refused, or a dependent in turn).
    pub because_of: RowRef,
}

/// A rule a row of the source breaks: the row, the column (the source's name), the rule, the
/// value as stored (`None`: NULL, or not shown — a password hash), and the rows refused
/// because of it.
#[derive(Clone, Debug, Serialize)]
pub struct Refusal {
    pub table: Table,
    pub id: i64,
    pub column: &'static str,
    pub rule: String,
    pub value: Option<String>,
    pub dependents: Vec<Dependent>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Normalised {
    pub table: Table,
    pub id: i64,
    pub column: &'static str,
}

/// A value changed by an option (`--contracts-follow-client`).
#[derive(Clone, Debug, Serialize)]
pub struct Changed {
    pub table: Table,
    pub id: i64,
    pub column: &'static str,
    pub from: i64,
    pub to: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Estimated {
    pub signed_at: u64,
}

/// The next id each table hands out after the import.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NextIds {
    pub employees: i64,
    pub clients: i64,
    pub contracts: i64,
    pub events: i64,
}

/// What `db import` prints (`--json`: this, as documented in docs/import.md).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The source, its password masked.
    pub source: String,
    pub dry_run: bool,
    /// Whether the rows were written (never on a dry run or when a row is refused).
    pub imported: bool,
    pub counts: TableCounts,
    pub refused: Vec<Refusal>,
    pub normalised: Vec<Normalised>,
    pub changed: Vec<Changed>,
    pub estimated: Estimated,
    pub next_ids: NextIds,
    pub event_times_zone: Option<String>,
}

impl Report {
    /// Rows refused, every table.
    pub fn refused_rows(&self) -> u64 {
        Table::ALL.iter().map(|t| self.counts.get(*t).refused).sum()
    }
}

/// What one row breaks and what was normalised in it.
#[derive(Default)]
struct Check {
    faults: Vec<(&'static str, String, Option<String>)>,
    normalised: Vec<&'static str>,
    changed: Option<(&'static str, i64, i64)>,
}

impl Check {
    fn fault(&mut self, column: &'static str, rule: impl Into<String>, value: Option<&str>) {
        self.faults.push((column, rule.into(), value.map(str::to_owned)));
    }

    fn name(&mut self, column: &'static str, raw: &str) -> String {
        match Name::parse(column, raw) {
            Ok(n) => {
                if n.as_str() != raw {
                    self.normalised.push(column);
                }
                n.as_str().to_owned()
            }
            Err(rule) => {
                self.fault(column, rule, Some(raw));
                raw.to_owned()
            }
        }
    }

    fn optional(&mut self, column: &'static str, raw: Option<&str>) -> Option<String> {
        let raw = raw?;
        match OptionalText::parse(column, raw) {
            Ok(t) => {
                let v = t.as_deref().map(str::to_owned);
                if v.as_deref() != Some(raw) {
                    self.normalised.push(column);
                }
                v
            }
            Err(rule) => {
                self.fault(column, rule, Some(raw));
                None
            }
        }
    }

    fn email(&mut self, raw: &str) -> String {
        match Email::parse(raw) {
            Ok(e) => {
                if e.as_str() != raw {
                    self.normalised.push("email");
                }
                e.as_str().to_owned()
            }
            Err(_) => {
                self.fault(
                    "email",
                    "not a valid e-mail address (one @, a dotted domain, no spaces or controls)",
                    Some(raw),
                );
                raw.to_owned()
            }
        }
    }

    fn notes(&mut self, raw: Option<&str>) -> Option<String> {
        let raw = raw?;
        match Notes::parse("notes", raw) {
            Ok(n) => {
                let v = n.as_deref().map(str::to_owned);
                if v.as_deref() != Some(raw) {
                    self.normalised.push("notes");
                }
                v
            }
            Err(rule) => {
                self.fault("notes", rule, Some(raw));
                None
            }
        }
    }

    /// A timestamp column: finite, in the years the commands accept.
    fn instant(
        &mut self,
        column: &'static str,
        value: Option<DateTime<Utc>>,
        infinite: Option<String>,
    ) -> Option<DateTime<Utc>> {
        if let Some(text) = infinite {
            self.fault(column, format!("{column} must be a real instant"), Some(&text));
            return None;
        }
        let v = value?;
        if !(1..=9999).contains(&v.year()) {
            self.fault(column, "out of range (years 1 to 9999)", Some(&v.to_rfc3339()));
            return None;
        }
        Some(v)
    }

    fn required(
        &mut self,
        column: &'static str,
        value: Option<DateTime<Utc>>,
        infinite: Option<String>,
    ) -> DateTime<Utc> {
        let bad = infinite.is_some();
        match self.instant(column, value, infinite) {
            Some(v) => v,
            None => {
                if !bad && self.faults.iter().all(|f| f.0 != column) {
                    self.fault(column, format!("{column} cannot be empty"), None);
                }
                DateTime::<Utc>::UNIX_EPOCH
            }
        }
    }
}

fn col<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    i: usize,
) -> Result<T> {
    row.try_get(i).map_err(|e| Error::internal("cannot read a row of the source database", e))
}

/// One COPY row being made (text format).
struct Line<'b> {
    buf: &'b mut Vec<u8>,
    first: bool,
}

impl Line<'_> {
    fn text(&mut self, v: Option<&str>) {
        sql::field(self.buf, self.first, v);
        self.first = false;
    }
    fn raw(&mut self, v: &[u8]) {
        if !self.first {
            self.buf.push(b'\t');
        }
        self.first = false;
        self.buf.extend_from_slice(v);
    }
    fn int(&mut self, v: i64) {
        let mut tmp = itoa(v);
        self.raw(tmp.as_bytes_mut());
    }
    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.raw(b"\\N"),
        }
    }
    fn boolean(&mut self, v: bool) {
        self.raw(if v { b"t" } else { b"f" });
    }
    fn instant(&mut self, v: Option<DateTime<Utc>>) {
        match v {
            Some(t) => {
                let mut b = [0u8; 32];
                let n = format_instant(t, &mut b);
                self.raw(&b[..n]);
            }
            None => self.raw(b"\\N"),
        }
    }
    fn end(self) {
        self.buf.push(b'\n');
    }
}

struct Digits([u8; 20], usize);

impl Digits {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.0[self.1..]
    }
}

fn itoa(v: i64) -> Digits {
    let mut d = Digits([0; 20], 20);
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        d.1 -= 1;
        d.0[d.1] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        d.1 -= 1;
        d.0[d.1] = b'-';
    }
    d
}

/// `2026-12-01 20:35:16.338915+00`, without the formatting machinery (four per event row).
fn format_instant(t: DateTime<Utc>, b: &mut [u8; 32]) -> usize {
    fn put(b: &mut [u8], at: usize, mut v: u32, width: usize) {
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    }
    let n = t.naive_utc();
    put(b, 0, n.year().clamp(0, 9999) as u32, 4);
    b[4] = b'-';
    put(b, 5, n.month(), 2);
    b[7] = b'-';
    put(b, 8, n.day(), 2);
    b[10] = b' ';
    put(b, 11, n.hour(), 2);
    b[13] = b':';
    put(b, 14, n.minute(), 2);
    b[16] = b':';
    put(b, 17, n.second(), 2);
    b[19] = b'.';
    put(b, 20, (n.nanosecond() / 1000).min(999_999), 6);
    b[26..29].copy_from_slice(b"+00");
    29
}

/// What the checks keep between rows.
struct Importer {
    report: Report,
    /// Only in the first pass: rows are recorded (refusals, normalisations, the maps below).
    recording: bool,
    zone: Option<String>,
    follow_client: bool,
    employees: HashMap<i64, Role>,
    /// client → its sales contact
    clients: HashMap<i64, i64>,
    /// contract → its client
    contracts: HashMap<i64, i64>,
    /// refused rows of each table → the index of the refusal they come under
    refused: [HashMap<i64, usize>; 4],
    /// lower-case e-mail → the row that has it (employees, clients)
    emails: [HashMap<String, i64>; 2],
    max_id: [i64; 4],
    reactivated: serde_json::Map<String, serde_json::Value>,
}

impl Importer {
    /// Records a checked row (first pass only): refused itself, refused because of a parent
    /// (the first of `parents` found refused), or accepted with its normalisations.
    fn settle(&mut self, table: Table, id: i64, c: Check, parents: &[(Table, Option<i64>)]) {
        if !self.recording {
            return;
        }
        let t = table.index();
        self.max_id[t] = self.max_id[t].max(id);
        self.report.counts.get_mut(table).read += 1;
        if !c.faults.is_empty() {
            let root = self.report.refused.len();
            for (column, rule, value) in c.faults {
                self.report.refused.push(Refusal {
                    table,
                    id,
                    column,
                    rule,
                    value,
                    dependents: Vec::new(),
                });
            }
            self.refused[t].insert(id, root);
            self.report.counts.get_mut(table).refused += 1;
            return;
        }
        for (pt, pid) in parents {
            let Some(pid) = pid else { continue };
            if let Some(&root) = self.refused[pt.index()].get(pid) {
                self.report.refused[root].dependents.push(Dependent {
                    table,
                    id,
                    because_of: RowRef { table: *pt, id: *pid },
                });
                self.refused[t].insert(id, root);
                self.report.counts.get_mut(table).refused += 1;
                return;
            }
        }
        if !c.normalised.is_empty() {
            self.report.counts.get_mut(table).normalised += 1;
            for column in c.normalised {
                self.report.normalised.push(Normalised { table, id, column });
            }
        }
        if let Some((column, from, to)) = c.changed {
            self.report.changed.push(Changed { table, id, column, from, to });
        }
    }

    /// E-mails are unique whatever their case, within a table (spec §2).
    fn unique_email(&mut self, c: &mut Check, which: usize, table: Table, id: i64, email: &str) {
        if !self.recording || c.faults.iter().any(|f| f.0 == "email") {
            return;
        }
        let key = email.to_lowercase();
        match self.emails[which].get(&key) {
            Some(other) => c.fault(
                "email",
                format!(
                    "the same e-mail as {} {other}, but for case or spaces (e-mails are unique, \
                     whatever their case)",
                    table.as_str()
                ),
                Some(email),
            ),
            None => {
                self.emails[which].insert(key, id);
            }
        }
    }

    fn employee(&mut self, row: &PgRow, buf: &mut Vec<u8>) -> Result<()> {
        let mut c = Check::default();
        let id: i64 = col(row, 0)?;
        let first = c.name("first_name", &col::<String>(row, 1)?);
        let last = c.name("last_name", &col::<String>(row, 2)?);
        let email = c.email(&col::<String>(row, 3)?);
        self.unique_email(&mut c, 0, Table::Employees, id, &email);
        let role_text: String = col(row, 4)?;
        let role = match Role::parse(&role_text) {
            Ok(r) => Some(r),
            Err(rule) => {
                c.fault("role", rule, Some(&role_text));
                None
            }
        };
        let hash: String = col(row, 5)?;
        let phc = argon2::password_hash::phc::PasswordHash::new(&hash)
            .ok()
            .filter(|h| h.algorithm.as_str().starts_with("argon2"));
        if phc.is_none() {
            // the value is not shown: a hash is never printed (spec §5)
            c.fault(
                "password_hash",
                "not an argon2 PHC string ($argon2id$v=19$…): this employee could never log in",
                None,
            );
        }
        let active: bool = col(row, 6)?;
        let created = c.required("created_at", col(row, 7)?, col(row, 8)?);
        let deactivated = c.instant("deactivated_at", col(row, 9)?, col(row, 10)?);
        let reactivated = c.instant("reactivated_at", col(row, 11)?, col(row, 12)?);
        // `deactivated_at` follows `is_active` (spec §14): the original clears it on
        // reactivation, so only an edited database disagrees
        let deactivated = match (active, deactivated) {
            (true, None) => None,
            (true, Some(_)) => {
                c.normalised.push("deactivated_at");
                None
            }
            (false, Some(t)) => Some(t),
            (false, None) => {
                c.normalised.push("deactivated_at");
                Some(reactivated.map_or(created, |r| r.max(created)))
            }
        };
        let updated = [Some(created), deactivated, reactivated].into_iter().flatten().max();
        if self.recording {
            if let Some(r) = role {
                self.employees.insert(id, r);
            }
            if let Some(r) = reactivated {
                self.reactivated.insert(id.to_string(), serde_json::json!(r));
            }
        }
        let mut l = Line { buf, first: true };
        l.int(id);
        l.text(Some(&first));
        l.text(Some(&last));
        l.text(Some(&email));
        l.text(role.map(Role::as_str));
        l.text(Some(&hash));
        l.boolean(active);
        l.instant(Some(created));
        l.instant(updated);
        l.instant(deactivated);
        l.end();
        self.settle(Table::Employees, id, c, &[]);
        Ok(())
    }

    /// The role of employee `id`, checked against the role its column needs.
    fn contact(&self, c: &mut Check, column: &'static str, id: i64, want: Role, what: &str) {
        match self.employees.get(&id) {
            None if self.recording => c.fault(column, format!("no employee {id}"), None),
            Some(role) if *role != want => c.fault(
                column,
                format!("employee {id} is {role}, not {want}: {what}"),
                Some(&id.to_string()),
            ),
            _ => {}
        }
    }

    fn client(&mut self, row: &PgRow, buf: &mut Vec<u8>) -> Result<()> {
        let mut c = Check::default();
        let id: i64 = col(row, 0)?;
        let first = c.name("first_name", &col::<String>(row, 1)?);
        let last = c.name("last_name", &col::<String>(row, 2)?);
        let email = c.email(&col::<String>(row, 3)?);
        self.unique_email(&mut c, 1, Table::Clients, id, &email);
        let phone = c.optional("phone", col::<Option<String>>(row, 4)?.as_deref());
        let company = c.optional("company_name", col::<Option<String>>(row, 5)?.as_deref());
        let sales: i64 = col(row, 6)?;
        self.contact(
            &mut c,
            "sales_contact_id",
            sales,
            Role::Sales,
            "a client's sales contact is a SALES employee",
        );
        let created = c.required("created_at", col(row, 7)?, col(row, 8)?);
        let updated = c.instant("updated_at", col(row, 9)?, col(row, 10)?).unwrap_or(created);
        if self.recording {
            self.clients.insert(id, sales);
        }
        let mut l = Line { buf, first: true };
        l.int(id);
        l.text(Some(&first));
        l.text(Some(&last));
        l.text(Some(&email));
        l.text(phone.as_deref());
        l.text(company.as_deref());
        l.int(sales);
        l.instant(Some(created));
        l.instant(Some(updated));
        l.end();
        self.settle(Table::Clients, id, c, &[(Table::Employees, Some(sales))]);
        Ok(())
    }

    fn contract(&mut self, row: &PgRow, buf: &mut Vec<u8>) -> Result<()> {
        let mut c = Check::default();
        let id: i64 = col(row, 0)?;
        let client: i64 = col(row, 1)?;
        let mut sales: i64 = col(row, 2)?;
        match self.clients.get(&client) {
            None => c.fault("client_id", format!("no client {client}"), Some(&client.to_string())),
            Some(&owner) if owner != sales => {
                if self.follow_client {
                    c.changed = Some(("sales_contact_id", sales, owner));
                    sales = owner;
                } else {
                    c.fault(
                        "sales_contact_id",
                        format!(
                            "employee {sales} is not the sales contact of client {client} \
                             (employee {owner}): a contract's sales contact is its client's \
                             (--contracts-follow-client gives it the client's)"
                        ),
                        Some(&sales.to_string()),
                    );
                }
            }
            Some(_) => {}
        }
        let money = |c: &mut Check, column: &'static str, d: Decimal| match Money::from_decimal(d) {
            Ok(m) => Some(m),
            Err(rule) => {
                c.fault(column, format!("{column}: {rule}"), Some(&d.to_string()));
                None
            }
        };
        let total = money(&mut c, "total_amount", col(row, 3)?);
        let due = money(&mut c, "amount_due", col(row, 4)?);
        if let Some(t) = total
            && t.is_zero()
        {
            c.fault("total_amount", "total_amount must be more than 0", Some(&t.to_string()));
        }
        if let (Some(t), Some(d)) = (total, due)
            && d > t
        {
            c.fault(
                "amount_due",
                format!("amount_due must be at most the total ({t})"),
                Some(&d.to_string()),
            );
        }
        let signed: bool = col(row, 5)?;
        let created = c.required("created_at", col(row, 6)?, col(row, 7)?);
        let updated = c.instant("updated_at", col(row, 8)?, col(row, 9)?);
        let first_event: Option<DateTime<Utc>> = col(row, 10)?;
        // estimated (docs/import.md): signing is the original's last update of a signed
        // contract, unless one of its events (only created on a signed contract) came first
        let signed_at = signed.then(|| {
            let last = updated.unwrap_or(created);
            first_event.map_or(last, |e| e.min(last)).max(created)
        });
        let updated = updated.unwrap_or(created);
        if self.recording {
            self.contracts.insert(id, client);
        }
        let mut l = Line { buf, first: true };
        l.int(id);
        l.int(client);
        l.int(sales);
        l.text(Some(&total.unwrap_or(Money::ZERO).to_string()));
        l.text(Some(&due.unwrap_or(Money::ZERO).to_string()));
        l.boolean(signed);
        l.instant(signed_at);
        l.instant(Some(created));
        l.instant(Some(updated));
        l.end();
        self.settle(
            Table::Contracts,
            id,
            c,
            &[(Table::Clients, Some(client)), (Table::Employees, Some(sales))],
        );
        if self.recording && signed && !self.refused[2].contains_key(&id) {
            self.report.estimated.signed_at += 1;
        }
        Ok(())
    }

    fn event(&mut self, row: &PgRow, buf: &mut Vec<u8>) -> Result<()> {
        let mut c = Check::default();
        let id: i64 = col(row, 0)?;
        let contract: i64 = col(row, 1)?;
        let client: i64 = col(row, 2)?;
        let support: Option<i64> = col(row, 3)?;
        match self.contracts.get(&contract) {
            None if self.recording => {
                c.fault("contract_id", format!("no contract {contract}"), None);
            }
            Some(&of) if of != client => c.fault(
                "client_id",
                format!(
                    "client {client} is not the client of contract {contract} (client {of}): \
                     an event's client is its contract's"
                ),
                Some(&client.to_string()),
            ),
            _ => {}
        }
        if let Some(s) = support {
            self.contact(
                &mut c,
                "support_contact_id",
                s,
                Role::Support,
                "an event's support contact is a SUPPORT employee",
            );
        }
        let start = c.required("start_date", col(row, 4)?, col(row, 5)?);
        let end = c.required("end_date", col(row, 6)?, col(row, 7)?);
        let zone = self.zone.as_deref().unwrap_or("UTC");
        for (i, column, t) in [(18, "start_date", start), (19, "end_date", end)] {
            if !col::<bool>(row, i)? {
                c.fault(
                    column,
                    format!("this wall-clock time does not exist in {zone} (clock change)"),
                    Some(&t.to_rfc3339()),
                );
            }
        }
        if c.faults.iter().all(|f| f.0 != "start_date" && f.0 != "end_date") && start >= end {
            c.fault(
                "end_date",
                "the event must end after it starts",
                Some(&format!("{} – {}", start.to_rfc3339(), end.to_rfc3339())),
            );
        }
        let location = c.name("location", &col::<String>(row, 8)?);
        let attendees: i64 = col(row, 9)?;
        if let Err(rule) = Attendees::parse(&attendees.to_string()) {
            c.fault("attendees", rule, Some(&attendees.to_string()));
        }
        let notes = c.notes(col::<Option<String>>(row, 10)?.as_deref());
        let created = c.required("created_at", col(row, 11)?, col(row, 12)?);
        let updated = c.instant("updated_at", col(row, 13)?, col(row, 14)?).unwrap_or(created);
        let name = event_name(
            col::<Option<String>>(row, 15)?.as_deref(),
            col::<Option<String>>(row, 16)?.as_deref(),
            col::<Option<String>>(row, 17)?.as_deref(),
            &location,
        );
        let mut l = Line { buf, first: true };
        l.int(id);
        l.int(contract);
        l.int(client);
        l.text(Some(&name));
        l.instant(Some(start));
        l.instant(Some(end));
        l.text(Some(&location));
        l.int(attendees);
        l.text(notes.as_deref());
        l.opt_int(support);
        l.instant(Some(created));
        l.instant(Some(updated));
        l.end();
        self.settle(
            Table::Events,
            id,
            c,
            &[
                (Table::Contracts, Some(contract)),
                (Table::Clients, Some(client)),
                (Table::Employees, support),
            ],
        );
        Ok(())
    }
}

/// An event's name, which the original has not (docs/import.md): its client's company, or
/// its client's name without one, then its location — `Dupont SA — Salle Pleyel, Paris` —
/// cut to the 200 characters a name may have.
pub fn event_name(
    company: Option<&str>,
    first: Option<&str>,
    last: Option<&str>,
    location: &str,
) -> String {
    let company = company.map(str::trim).filter(|s| !s.is_empty());
    let who = match company {
        Some(c) => c.to_owned(),
        None => format!("{} {}", first.unwrap_or("").trim(), last.unwrap_or("").trim())
            .trim()
            .to_owned(),
    };
    let name = if who.is_empty() { location.to_owned() } else { format!("{who} — {location}") };
    if name.chars().count() <= 200 {
        return name;
    }
    let mut cut: String = name.chars().take(199).collect();
    cut.push('…');
    cut
}

/// Connects to the source: its own messages (the settings it came from is `--from`).
async fn connect_source(url: &SourceUrl) -> Result<PgConnection> {
    let options = url.options()?.application_name("epicevents-import");
    let place = crate::db::place(&options);
    let said = |e: &sqlx::Error| match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    };
    match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(Error::unavailable(format!(
            "cannot connect to the source database ({place}): {}",
            said(&e)
        ))
        .with_hint("check the URL given to --from (user, URL-encoded password, host, database)")
        .with_source(e)),
        Err(_) => Err(Error::unavailable(format!(
            "the source database did not answer within 5 seconds ({place})"
        ))),
    }
}

/// Refuses (exit 7) a source that is not the original's schema, saying why.
async fn recognise(src: &mut PgConnection) -> Result<()> {
    let not_it = |why: String| {
        Error::unavailable(format!("the source is not the Python original's database: {why}"))
            .with_hint(format!(
                "--from must point at the original's PostgreSQL database (Alembic head {})",
                sql::ALEMBIC_HEAD
            ))
    };
    let columns = sql::columns(src).await?;
    if sql::has_table(src, "_sqlx_migrations").await?
        || columns.iter().any(|(t, c)| t == "events" && c == "start_at")
    {
        return Err(not_it("it is an epicevents database already".into()));
    }
    for (table, want) in sql::ORIGINAL {
        let have: Vec<&str> =
            columns.iter().filter(|(t, _)| t == table).map(|(_, c)| c.as_str()).collect();
        if have.is_empty() {
            return Err(not_it(format!("it has no table {table}")));
        }
        if let Some(missing) = want.iter().find(|c| !have.contains(c)) {
            return Err(not_it(format!("its table {table} has no column {missing}")));
        }
    }
    if sql::role_type(src).await?.as_deref() != Some("role") {
        return Err(not_it("employees.role is not of the enum type role".into()));
    }
    if sql::has_table(src, "alembic_version").await? {
        let versions = sql::alembic_versions(src).await?;
        if versions.iter().any(|v| v != sql::ALEMBIC_HEAD) {
            return Err(Error::unavailable(format!(
                "the source database is at Alembic revision {}, not {}",
                crate::domain::escape_controls(&versions.join(", ")),
                sql::ALEMBIC_HEAD
            ))
            .with_hint("upgrade the original first (`alembic upgrade head`), then import"));
        }
    }
    Ok(())
}

fn source_rows<'q>(
    query: &'static str,
    zone: Option<&str>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let q = sqlx::query(query).persistent(false);
    if query == sql::EVENTS { q.bind(zone.map(str::to_owned)) } else { q }
}

type Each = fn(&mut Importer, &PgRow, &mut Vec<u8>) -> Result<()>;

/// The first pass: one query of the source through `each`, one row at a time.
async fn check_pass(
    src: &mut PgConnection,
    query: &'static str,
    zone: Option<&str>,
    imp: &mut Importer,
    each: Each,
) -> Result<()> {
    let mut rows = source_rows(query, zone).fetch(&mut *src);
    let mut line = Vec::with_capacity(4096);
    while let Some(row) = rows.try_next().await? {
        line.clear();
        each(imp, &row, &mut line)?;
    }
    Ok(())
}

/// The second pass: the same rows as COPY lines, in chunks of about 1 MiB, to the target.
/// Reading the source and writing the target overlap (a queue of four chunks between them,
/// so memory stays bounded): while one side waits on its socket, the other goes on.
async fn copy_pass(
    src: &mut PgConnection,
    query: &'static str,
    zone: Option<&str>,
    imp: &mut Importer,
    each: Each,
    copy: &mut sqlx::postgres::PgCopyIn<&mut PgConnection>,
) -> Result<()> {
    const CHUNK: usize = 1 << 20;
    let (queue, mut chunks) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let produce = async move {
        let mut rows = source_rows(query, zone).fetch(&mut *src);
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        while let Some(row) = rows.try_next().await? {
            each(imp, &row, &mut buf)?;
            if buf.len() >= CHUNK {
                let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + 4096));
                if queue.send(full).await.is_err() {
                    // the target side failed: its error is the one to report
                    return Ok(());
                }
            }
        }
        if !buf.is_empty() {
            let _ = queue.send(buf).await;
        }
        Ok::<(), Error>(())
    };
    let consume = async {
        while let Some(chunk) = chunks.recv().await {
            copy.send(chunk.as_slice()).await.map_err(copy_error)?;
        }
        Ok::<(), Error>(())
    };
    let (read, written) = tokio::join!(produce, consume);
    written?;
    read
}

/// A row the checks let through and the target still refused: a rule the checks miss.
fn copy_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) if db.constraint().is_some() => Error::internal(
            format!(
                "the target database refused an imported row ({}); nothing was imported",
                db.constraint().unwrap_or_default()
            ),
            e,
        ),
        _ => e.into(),
    }
}

/// Checks the source, then (unless refused or a dry run) imports it into `target`, whose
/// schema is current. The report is returned in every case the checks ran; a refusal is for
/// the caller to turn into exit 6 once the report is printed.
pub async fn import(target: &mut PgConnection, opts: &Options) -> Result<Report> {
    let mut src = connect_source(&opts.from).await?;
    let mut snap =
        src.begin_with("start transaction isolation level repeatable read, read only").await?;
    sqlx::raw_sql("set local statement_timeout = 0").execute(&mut *snap).await?;
    recognise(&mut snap).await?;
    if let Some(z) = &opts.event_times_zone
        && !sql::known_zone(&mut snap, z).await?
    {
        return Err(Error::usage(format!(
            "unknown time zone {:?} for --event-times-zone",
            crate::domain::escape_controls(z)
        ))
        .with_hint("a name of the IANA time zone database, such as Europe/Paris or UTC"));
    }

    // the target: empty, and kept so (its tables locked) until the import commits
    let mut tx = target
        .begin_with(
            "begin; set local statement_timeout = 0; set local lock_timeout = '5s'; \
             set local enable_memoize = off; set local maintenance_work_mem = '256MB'",
        )
        .await?;
    let held: Vec<String> = sql::lock_and_count(&mut tx, !opts.dry_run)
        .await?
        .into_iter()
        .filter(|(_, any)| *any)
        .map(|(t, _)| t)
        .collect();
    if !held.is_empty() {
        return Err(Error::conflict(format!(
            "the target database is not empty (it holds {}): nothing was imported",
            held.join(", ")
        ))
        .with_hint(
            "import into a new, migrated database: createdb, then `epicevents db migrate`",
        ));
    }

    let mut imp = Importer {
        report: Report {
            source: opts.from.redacted(),
            dry_run: opts.dry_run,
            imported: false,
            counts: TableCounts::default(),
            refused: Vec::new(),
            normalised: Vec::new(),
            changed: Vec::new(),
            estimated: Estimated::default(),
            next_ids: NextIds::default(),
            event_times_zone: opts.event_times_zone.clone(),
        },
        recording: true,
        zone: opts.event_times_zone.clone(),
        follow_client: opts.contracts_follow_client,
        employees: HashMap::new(),
        clients: HashMap::new(),
        contracts: HashMap::new(),
        refused: Default::default(),
        emails: Default::default(),
        max_id: [0; 4],
        reactivated: serde_json::Map::new(),
    };
    let zone = opts.event_times_zone.as_deref();
    let steps: [(Table, &'static str, &'static str, Each); 4] = [
        (Table::Employees, sql::EMPLOYEES, sql::COPY_EMPLOYEES, Importer::employee),
        (Table::Clients, sql::CLIENTS, sql::COPY_CLIENTS, Importer::client),
        (Table::Contracts, sql::CONTRACTS, sql::COPY_CONTRACTS, Importer::contract),
        (Table::Events, sql::EVENTS, sql::COPY_EVENTS, Importer::event),
    ];
    for (table, query, _, each) in steps {
        let started = std::time::Instant::now();
        check_pass(&mut snap, query, zone, &mut imp, each).await?;
        tracing::debug!(
            table = table.as_str(),
            seconds = started.elapsed().as_secs_f64(),
            "checked"
        );
        // the e-mails are only needed within their table
        if query == sql::CLIENTS {
            imp.emails = Default::default();
        }
    }
    imp.recording = false;
    imp.emails = Default::default();
    let mut positions = [0i64; 4];
    for t in Table::ALL {
        positions[t.index()] = sql::sequence_position(&mut snap, t.as_str()).await?;
    }
    let next = |t: Table| imp.max_id[t.index()].max(positions[t.index()]) + 1;
    imp.report.next_ids = NextIds {
        employees: next(Table::Employees),
        clients: next(Table::Clients),
        contracts: next(Table::Contracts),
        events: next(Table::Events),
    };
    if !imp.report.refused.is_empty() || opts.dry_run {
        if imp.report.refused.is_empty() {
            for t in Table::ALL {
                let c = imp.report.counts.get_mut(t);
                c.imported = c.read - c.refused;
            }
        }
        tx.rollback().await?;
        snap.rollback().await?;
        return Ok(imp.report);
    }

    let aside = sql::set_aside(&mut tx).await?;
    for (table, query, copy_sql, each) in steps {
        let started = std::time::Instant::now();
        let mut copy = tx.copy_in_raw(copy_sql).await?;
        copy_pass(&mut snap, query, zone, &mut imp, each, &mut copy).await?;
        let n = copy.finish().await.map_err(copy_error)?;
        imp.report.counts.get_mut(table).imported = n;
        tracing::debug!(
            table = table.as_str(),
            seconds = started.elapsed().as_secs_f64(),
            "copied"
        );
    }
    snap.rollback().await?;
    let started = std::time::Instant::now();
    sql::put_back(&mut tx, aside).await.map_err(|e| {
        Error::internal("the target database refused the imported rows; nothing was imported", e)
    })?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "keys and indexes put back");
    for t in Table::ALL {
        let after = imp.max_id[t.index()].max(positions[t.index()]);
        if after > 0 {
            sql::set_next_id(&mut tx, t.as_str(), after).await?;
        }
    }
    imp.report.imported = true;
    let r = &imp.report;
    let changes = serde_json::json!({
        "source": r.source,
        "counts": r.counts,
        "normalised": r.normalised.len(),
        "changed": r.changed.len(),
        "estimated": r.estimated,
        "next_ids": r.next_ids,
        "options": {
            "contracts_follow_client": opts.contracts_follow_client,
            "event_times_zone": opts.event_times_zone,
        },
        // the original's `reactivated_at`, which our schema has no column for
        "reactivated_at": imp.reactivated,
    });
    crate::repo::audit::insert(
        &mut tx,
        &crate::repo::audit::NewEntry {
            actor_id: None,
            actor_name: None,
            action: "database.import",
            entity: Some("database"),
            entity_id: Some(0),
            changes: &changes,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(imp.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_are_postgresql_urls() {
        for ok in [
            "postgresql+psycopg2://u:pw@h:5432/epic_crm",
            "postgresql+psycopg://u:pw@h/epic_crm",
            "postgres://u@h/d",
            "postgresql://u@h/d",
        ] {
            let u = SourceUrl::parse(ok).unwrap();
            assert!(u.0.starts_with("postgresql://"), "{ok}");
            assert!(!format!("{u:?}").contains("pw"));
        }
        for bad in ["mysql://u:pw@h/d", "epic_crm", "postgresql+asyncpg://u:pw@h/d"] {
            let e = SourceUrl::parse(bad).unwrap_err();
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn instants_are_written_as_postgresql_reads_them() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T21:35:16.338915+01:00").unwrap();
        let mut b = [0u8; 32];
        let n = format_instant(t.with_timezone(&Utc), &mut b);
        assert_eq!(std::str::from_utf8(&b[..n]).unwrap(), "2026-12-01 20:35:16.338915+00");
        assert_eq!(itoa(-120).as_bytes_mut(), b"-120");
        assert_eq!(itoa(0).as_bytes_mut(), b"0");
    }

    #[test]
    fn event_names_come_from_the_client_and_the_location() {
        assert_eq!(event_name(Some("Dupont SA"), Some("Jean"), None, "Lyon"), "Dupont SA — Lyon");
        assert_eq!(
            event_name(Some(" "), Some("Marie"), Some("Curie"), "Lyon"),
            "Marie Curie — Lyon"
        );
        let long = event_name(Some(&"x".repeat(200)), None, None, "Lyon");
        assert_eq!(long.chars().count(), 200);
        assert!(Name::parse("name", &long).is_ok());
    }
}
