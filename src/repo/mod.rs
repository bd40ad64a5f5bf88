//! SQL only, one module per table. Functions take an executor (a connection or an open
//! transaction); the service decides where a transaction begins and ends. Database errors
//! become domain errors here, by constraint name.

pub mod audit;
pub mod client;
pub mod contract;
pub mod employee;
pub mod event;
pub mod session;
pub mod throttle;

use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Postgres, QueryBuilder};

use crate::error::{Error, Kind};

/// Which rows of a list: lists are ordered by id; `limit: None` is `--all`.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub limit: Option<i64>,
    pub offset: i64,
}

impl Page {
    pub fn first(limit: i64) -> Page {
        Page { limit: Some(limit), offset: 0 }
    }

    /// Appends `order by id limit … offset …` (`key` is the ordering column).
    pub fn push(self, qb: &mut QueryBuilder<Postgres>, key: &str) {
        qb.push(format!(" order by {key}"));
        if let Some(limit) = self.limit {
            qb.push(" limit ").push_bind(limit);
        }
        if self.offset > 0 {
            qb.push(" offset ").push_bind(self.offset);
        }
    }
}

/// Runs a list query and hands each row to `sink` as it arrives from the server, so that
/// memory does not grow with the number of rows. `sink` returns `false` to stop early.
pub async fn stream<T>(
    db: &mut PgConnection,
    mut qb: QueryBuilder<Postgres>,
    page: Page,
    mut sink: impl FnMut(T) -> Result<bool, Error>,
) -> Result<(), Error>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    if page.limit.is_none_or(|l| l > 1000) {
        // A long list is sent as fast as its reader takes it (`--all | less`, left open):
        // the statement timeout would cut it off halfway, so it does not apply here.
        sqlx::query("set statement_timeout = 0").execute(&mut *db).await?;
    }
    let mut rows = qb.build_query_as::<T>().fetch(db);
    while let Some(row) = rows.try_next().await? {
        if !sink(row)? {
            break;
        }
    }
    Ok(())
}

/// The user-facing meaning of each named constraint of the schema.
fn constraint_error(name: &str) -> Option<Error> {
    let (kind, msg) = match name {
        "employees_email_key" => (Kind::Conflict, "an employee with this email already exists"),
        "clients_email_key" => (Kind::Conflict, "a client with this email already exists"),
        "employees_id_role_key" => (Kind::Conflict, "employee role conflict"),
        "contracts_total_amount_check" => (Kind::Usage, "the total amount must be above 0"),
        "contracts_amount_due_check" => {
            (Kind::Usage, "the amount due must be between 0 and the total amount")
        }
        "events_period_check" => (Kind::Usage, "the event must end after it starts"),
        "events_attendees_check" => (Kind::Usage, "attendees cannot be negative"),
        "events_location_check" => (Kind::Usage, "location cannot be empty"),
        "events_name_check" => (Kind::Usage, "name cannot be empty"),
        _ => return None,
    };
    Some(Error::new(kind, msg))
}

/// What still refers to a row, by the foreign key that refused its deletion or re-keying.
fn referenced_by(name: &str) -> Option<&'static str> {
    Some(match name {
        "clients_sales_contact_fk" => {
            "the employee is the sales contact of clients (reassign them first)"
        }
        "contracts_client_fk" => "the client still has contracts",
        "contracts_sales_contact_fk" => "the employee is still the sales contact of contracts",
        "events_contract_fk" => "the contract still has events",
        "events_support_contact_fk" => {
            "the employee is the support contact of events (unassign them first)"
        }
        "sessions_employee_fk" => "the employee still has sessions",
        _ => return None,
    })
}

/// For a statement that deletes a row, or changes a key others refer to (an employee's
/// role): a foreign-key violation there means the row is still referenced, and by what.
/// Elsewhere the same violation means a row it points to changed meanwhile; only the
/// statement knows which case it is in.
pub fn still_referenced(err: sqlx::Error) -> Error {
    if let sqlx::Error::Database(db) = &err
        && db.code().as_deref() == Some("23503")
        && let Some(msg) = db.constraint().and_then(referenced_by)
    {
        return Error::conflict(msg).with_source(err);
    }
    map_db_error(err)
}

const MIGRATE_HINT: &str = "run `epicevents db migrate`";

/// Turns a driver error into what the user is told; the driver error stays as the cause.
pub fn map_db_error(err: sqlx::Error) -> Error {
    let mapped = match &err {
        sqlx::Error::RowNotFound => Error::not_found("no such record"),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if let Some(e) = db.constraint().and_then(constraint_error) {
                return e.with_source(err);
            }
            match code.as_str() {
                "42P01" | "42703" | "42883" => {
                    Error::unavailable("the database schema is not migrated or is outdated")
                        .with_hint(MIGRATE_HINT)
                }
                "23505" => Error::conflict("this record already exists"),
                // deletes map this through `still_referenced`; for a write, the row it
                // points to changed meanwhile (deleted, or its role changed)
                "23503" => Error::conflict(
                    "a record this refers to was changed or removed meanwhile; try again",
                ),
                "23514" | "22003" | "22001" | "22P02" => Error::usage("invalid value"),
                "40001" | "40P01" => {
                    Error::conflict("the record was changed at the same time; try again")
                }
                "57014" => Error::unavailable("the database took too long to answer"),
                "28P01" | "28000" => {
                    Error::unavailable("the database refused the credentials in DATABASE_URL")
                }
                "3D000" => Error::unavailable("the database named in DATABASE_URL does not exist"),
                "42501" => Error::unavailable("the database role lacks a privilege it needs"),
                c if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => {
                    Error::unavailable("the database is unavailable")
                }
                _ => Error::new(Kind::Internal, "unexpected database error"),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable("the database is unavailable"),
        sqlx::Error::Configuration(_) => Error::unavailable("DATABASE_URL is malformed"),
        _ => Error::new(Kind::Internal, "unexpected database error"),
    };
    mapped.with_source(err)
}

/// `Some(id)` when the row exists, else `NotFound` with the entity's name.
pub fn found<T>(row: Option<T>, what: &str, id: i64) -> Result<T, Error> {
    row.ok_or_else(|| Error::not_found(format!("{what} {id} not found")))
}
