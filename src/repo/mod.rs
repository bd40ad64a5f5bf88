//! SQL only, one module per table. Functions take a connection, usually an open transaction:
//! the service decides where a transaction begins and ends. Every statement runs unnamed
//! (`persistent(false)`): behind a pooler in transaction mode a named prepared statement
//! would outlive the transaction that made it (spec §11).
//!
//! A constraint violation becomes what it means to the user here, where the statement that
//! hit it is known: `on_write` for inserts and updates, `on_delete` for a delete (or a change
//! of a key others refer to), by constraint name. Anything else is left to
//! `From<sqlx::Error>`, which knows only the driver's errors: an unmapped constraint is an
//! internal error, never a guess.

pub mod audit;
pub mod client;
pub mod contract;
pub mod employee;
pub mod event;
pub mod idempotency;
pub mod import;
pub mod installation;
pub mod payment;
pub mod session;
pub mod throttle;

use futures_util::TryStreamExt;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow, PgStatement};
use sqlx::query::Map;
use sqlx::{Column, Decode, Execute, Executor, FromRow, IntoArguments, PgConnection, Postgres};
use sqlx::{QueryBuilder, Row, SqlStr, Type};

use crate::api::Page;
use crate::error::{Error, Kind, Result};

/// A compile-time checked query (`query_as!`) run as the unnamed statement. What `query_as!`
/// makes (sqlx's `Map`) offers no `persistent(false)` and counts as persistent whenever it
/// has arguments — a named prepared statement, which a pooler in transaction mode would
/// hand to another client's connection. `.unnamed()` says otherwise, and the rows are then
/// decoded by [`FromRow`], by position with the column names checked (see [`positional!`]).
pub struct Unnamed<Q>(Q);

pub trait UnnamedExt: Sized {
    fn unnamed(self) -> Unnamed<Self> {
        Unnamed(self)
    }
}

impl<F, A> UnnamedExt for Map<'_, Postgres, F, A> {}

impl<'q, Q: Execute<'q, Postgres>> Execute<'q, Postgres> for Unnamed<Q> {
    fn sql(self) -> SqlStr {
        self.0.sql()
    }
    fn statement(&self) -> Option<&PgStatement> {
        self.0.statement()
    }
    fn take_arguments(&mut self) -> std::result::Result<Option<PgArguments>, BoxDynError> {
        self.0.take_arguments()
    }
    fn persistent(&self) -> bool {
        false
    }
}

impl<'q, F, O, A> Unnamed<Map<'q, Postgres, F, A>>
where
    F: FnMut(PgRow) -> std::result::Result<O, sqlx::Error> + Send,
    O: for<'r> FromRow<'r, PgRow> + Send + Unpin,
    A: IntoArguments<Postgres> + Send + 'q,
{
    pub async fn fetch_optional(
        self,
        db: &mut PgConnection,
    ) -> std::result::Result<Option<O>, sqlx::Error> {
        match db.fetch_optional(self).await? {
            Some(row) => O::from_row(&row).map(Some),
            None => Ok(None),
        }
    }

    pub async fn fetch_one(self, db: &mut PgConnection) -> std::result::Result<O, sqlx::Error> {
        let row = db.fetch_one(self).await?;
        O::from_row(&row)
    }
}

/// The value of column `i`, whose name must be `name` (a type override of the macros —
/// `"role: Role"`, `"client_name!"` — does not count): a query whose columns and struct drift
/// apart fails loudly instead of filling the wrong field.
pub fn column<'r, T>(row: &'r PgRow, i: usize, name: &str) -> std::result::Result<T, sqlx::Error>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    let actual = row.columns().get(i).map(|c| c.name()).unwrap_or("");
    if !same_column(actual, name) {
        return Err(sqlx::Error::ColumnDecode {
            index: format!("{i} ({actual})"),
            source: format!("expected the column {name}").into(),
        });
    }
    row.try_get(i)
}

/// Whether the column `actual` (`role`, `role: Role`, `client_name!`) is the field `name`.
/// Byte comparisons only: this runs for every column of every row of a list.
fn same_column(actual: &str, name: &str) -> bool {
    actual
        .as_bytes()
        .strip_prefix(name.as_bytes())
        .is_some_and(|rest| matches!(rest.first(), None | Some(b':' | b'!' | b'?' | b' ')))
}

/// `FromRow` by position, in the struct's field order, each column's name checked.
macro_rules! positional {
    ($($t:path { $($f:ident),* $(,)? })*) => {
        $(impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $t {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> std::result::Result<Self, sqlx::Error> {
                let mut _i = 0usize;
                $(let $f = $crate::repo::column(row, _i, stringify!($f))?; _i += 1;)*
                Ok(Self { $($f),* })
            }
        })*
    };
}
pub(crate) use positional;

positional! {
    crate::api::Employee {
        id, first_name, last_name, email, role, is_active, created_at, updated_at, deactivated_at,
    }
    crate::api::Client {
        id, first_name, last_name, email, phone, company_name, sales_contact_id,
        sales_contact_name, created_at, updated_at,
    }
    crate::api::Contract {
        id, client_id, client_name, sales_contact_id, sales_contact_name, total_amount,
        amount_due, is_signed, signed_at, created_at, updated_at,
    }
    crate::api::Event {
        id, contract_id, client_id, client_name, name, start_at, end_at, location, attendees,
        notes, support_contact_id, support_contact_name, created_at, updated_at,
    }
    crate::api::AuditEntry { id, at, actor_id, actor_name, action, entity, entity_id, changes }
    crate::api::Payment { id, contract_id, amount, paid_on, recorded_by_id, recorded_at }
}

/// Where the rows of a list go, one at a time, as they arrive from the database.
pub trait RowSink<T>: Send {
    /// Takes a row; `Ok(false)` stops the list (its reader went away).
    fn push(&mut self, row: T) -> impl Future<Output = Result<bool>> + Send;
}

/// Appends the paging of a list ordered by `key` (ascending, or descending for lists that
/// show the newest first): `--after` as a condition on the key (keyset paging: an index
/// seek, as fast on the millionth row as on the first), then the order, limit and offset.
/// The query so far must end inside a `where`.
pub fn push_page(qb: &mut QueryBuilder<Postgres>, key: &str, descending: bool, page: Page) {
    if let Some(after) = page.after {
        qb.push(format!(" and {key} {} ", if descending { "<" } else { ">" })).push_bind(after);
    }
    qb.push(format!(" order by {key}{}", if descending { " desc" } else { "" }));
    if let Some(limit) = page.limit() {
        qb.push(" limit ").push_bind(limit);
    }
    if page.offset > 0 {
        qb.push(" offset ").push_bind(page.offset);
    }
}

/// Runs a list query and hands each row to `sink` as it arrives, so that memory does not
/// grow with the number of rows.
pub async fn stream<T>(
    db: &mut PgConnection,
    mut qb: QueryBuilder<Postgres>,
    sink: &mut impl RowSink<T>,
) -> Result<()>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let mut rows = qb.build_query_as::<T>().persistent(false).fetch(db);
    while let Some(row) = rows.try_next().await? {
        if !sink.push(row).await? {
            break;
        }
    }
    Ok(())
}

/// Every named constraint and unique index of the schema that a statement can hit, what it
/// means to the user, and a hint (empty: none). `tests/it/schema.rs` checks this list against
/// the migrated schema, both ways.
pub const CONSTRAINTS: &[(&str, Kind, &str, &str)] = &[
    (
        "employees_email_key",
        Kind::Conflict,
        "an employee with this email already exists",
        "see `epicevents employee list --state all` (a deactivated employee keeps their email)",
    ),
    (
        "clients_email_key",
        Kind::Conflict,
        "a client with this email already exists",
        "find it with `epicevents client list --search EMAIL`",
    ),
    ("employees_id_role_key", Kind::Conflict, "employee role conflict", ""),
    ("employees_role_check", Kind::Usage, "invalid role", ""),
    ("employees_first_name_check", Kind::Usage, "first name cannot be empty", ""),
    ("employees_last_name_check", Kind::Usage, "last name cannot be empty", ""),
    ("employees_email_check", Kind::Usage, "invalid email address", ""),
    (
        "employees_deactivated_at_check",
        Kind::Internal,
        "BUG: an employee's active flag and deactivation time disagree",
        "",
    ),
    ("employees_pkey", Kind::Conflict, "this employee already exists", ""),
    ("clients_first_name_check", Kind::Usage, "first name cannot be empty", ""),
    ("clients_last_name_check", Kind::Usage, "last name cannot be empty", ""),
    ("clients_email_check", Kind::Usage, "invalid email address", ""),
    (
        "clients_sales_contact_role_check",
        Kind::Internal,
        "BUG: a client's contact role is not SALES",
        "",
    ),
    ("clients_id_sales_contact_key", Kind::Conflict, "client conflict", ""),
    ("clients_pkey", Kind::Conflict, "this client already exists", ""),
    ("contracts_total_amount_check", Kind::Usage, "the total amount must be above 0", ""),
    (
        "contracts_amount_due_check",
        Kind::Usage,
        "the amount due must be between 0 and the total amount",
        "",
    ),
    (
        "contracts_signed_at_check",
        Kind::Internal,
        "BUG: a contract's signature flag and time disagree",
        "",
    ),
    ("contracts_id_client_key", Kind::Conflict, "contract conflict", ""),
    ("contracts_pkey", Kind::Conflict, "this contract already exists", ""),
    ("events_name_check", Kind::Usage, "name cannot be empty", ""),
    ("events_location_check", Kind::Usage, "location cannot be empty", ""),
    ("events_attendees_check", Kind::Usage, "attendees cannot be negative", ""),
    ("events_period_check", Kind::Usage, "the event must end after it starts", ""),
    (
        "events_support_contact_role_check",
        Kind::Internal,
        "BUG: an event's support role is not SUPPORT",
        "",
    ),
    ("events_pkey", Kind::Conflict, "this event already exists", ""),
    ("sessions_pkey", Kind::Conflict, "this session already exists", ""),
    ("refresh_tokens_pkey", Kind::Conflict, "this refresh token already exists", ""),
    ("audit_log_pkey", Kind::Internal, "BUG: an audit id was reused", ""),
    ("login_failures_pkey", Kind::Internal, "BUG: a login counter was duplicated", ""),
    ("login_failures_counts_check", Kind::Internal, "BUG: a negative login counter", ""),
    ("login_failures_by_source_pkey", Kind::Internal, "BUG: a login counter was duplicated", ""),
    ("login_failures_by_source_counts_check", Kind::Internal, "BUG: a negative login counter", ""),
    ("audit_log_entity_check", Kind::Internal, "BUG: an audit entity without its id", ""),
    ("idempotency_keys_pkey", Kind::Internal, "BUG: an idempotency key was claimed twice", ""),
    ("idempotency_keys_key_check", Kind::Usage, "an Idempotency-Key has 1 to 255 characters", ""),
    (
        "idempotency_keys_answer_check",
        Kind::Internal,
        "BUG: an idempotency key with half an answer",
        "",
    ),
    ("payments_pkey", Kind::Internal, "BUG: a payment id was reused", ""),
    ("payments_amount_check", Kind::Usage, "the payment must be above 0", ""),
    ("installation_pkey", Kind::Internal, "BUG: a second installation row", ""),
    ("installation_one_row_check", Kind::Internal, "BUG: a second installation row", ""),
];

/// The foreign keys, as a delete (or a change of a referenced key) meets them: what still
/// refers to the row, and the command that lists it (`{id}` is the row's id).
pub const REFERENCES: &[(&str, &str, &str)] = &[
    (
        "clients_sales_contact_fk",
        "the employee is the sales contact of clients (reassign them first)",
        "reassign each with `epicevents client reassign CLIENT_ID SALES_ID`",
    ),
    (
        "contracts_client_fk",
        "the client still has contracts",
        "see `epicevents contract list --client {id}`",
    ),
    (
        "contracts_sales_contact_fk",
        "the employee is still the sales contact of contracts",
        "reassign their clients with `epicevents client reassign CLIENT_ID SALES_ID`",
    ),
    (
        "events_contract_fk",
        "the contract still has events",
        "see `epicevents event list --contract {id}`",
    ),
    (
        "events_support_contact_fk",
        "the employee is the support contact of events (unassign them first)",
        "unassign each with `epicevents event unassign EVENT_ID`",
    ),
    (
        "payments_contract_fk",
        "the contract of this payment was deleted meanwhile",
        "see `epicevents contract show {id}`",
    ),
    ("sessions_employee_fk", "the employee still has sessions", "deactivate the employee instead"),
    ("refresh_tokens_session_fk", "the session still has refresh tokens", "log out instead"),
];

/// The SQLSTATE and the constraint of an integrity violation (class 23).
fn violation(err: &sqlx::Error) -> Option<(String, String)> {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code()?.into_owned();
            let name = db.constraint()?.to_owned();
            code.starts_with("23").then_some((code, name))
        }
        _ => None,
    }
}

/// For an insert or an update: a unique or check constraint by its meaning; a foreign key
/// there means a row it points to changed meanwhile (deleted, or its role changed).
pub fn on_write(err: sqlx::Error) -> Error {
    let Some((code, name)) = violation(&err) else { return err.into() };
    if code == "23503" && REFERENCES.iter().any(|(n, ..)| *n == name) {
        return Error::conflict(
            "a record this refers to was changed or removed meanwhile; try again",
        )
        .with_source(err);
    }
    match CONSTRAINTS.iter().find(|(n, ..)| *n == name) {
        Some((_, kind, msg, hint)) => {
            let e = Error::new(*kind, *msg);
            let e = if hint.is_empty() { e } else { e.with_hint(*hint) };
            e.with_source(err)
        }
        None => err.into(),
    }
}

/// For a delete of row `id` (or a change of a key others refer to): a foreign key means the
/// row is still referenced, by what, and how to see it.
pub fn on_delete(id: i64) -> impl FnOnce(sqlx::Error) -> Error {
    move |err| match violation(&err) {
        Some((code, name)) if code == "23503" => {
            match REFERENCES.iter().find(|(n, ..)| *n == name) {
                Some((_, msg, hint)) => Error::conflict(*msg)
                    .with_hint(hint.replace("{id}", &id.to_string()))
                    .with_source(err),
                None => err.into(),
            }
        }
        _ => on_write(err),
    }
}

/// `Some(row)` when the row exists, else `NotFound` with the entity's name.
pub fn found<T>(row: Option<T>, what: &str, id: i64) -> Result<T> {
    row.ok_or_else(|| Error::not_found(format!("{what} {id} not found")))
}

#[cfg(test)]
mod tests {
    use super::same_column;

    #[test]
    fn a_column_is_its_name_with_or_without_a_type_override() {
        for actual in ["role", "role: Role", "role!", "role?", "role : Role"] {
            assert!(same_column(actual, "role"), "{actual}");
        }
        for actual in ["roles", "rol", "", "x_role", "role_id: i64"] {
            assert!(!same_column(actual, "role"), "{actual}");
        }
    }
}
