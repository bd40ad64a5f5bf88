//! The SQL of `db import` (spec §14): what is read from the Python original's database (a
//! schema this crate does not own, so plain runtime statements, never the `query!` macros),
//! and the bulk writes into ours (`COPY … from stdin`, which keeps the ids given, as
//! `overriding system value` does, in one statement per table).

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::error::Result;

/// Tables and the columns the original has at its last revision (Alembic `0d47bbb3cd0c`),
/// and by which it is recognised, with or without `alembic_version`.
pub const ORIGINAL: &[(&str, &[&str])] = &[
    (
        "employees",
        &[
            "id",
            "first_name",
            "last_name",
            "email",
            "role",
            "password_hash",
            "created_at",
            "is_active",
            "deactivated_at",
            "reactivated_at",
        ],
    ),
    (
        "clients",
        &[
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company_name",
            "sales_contact_id",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "contracts",
        &[
            "id",
            "client_id",
            "sales_contact_id",
            "total_amount",
            "amount_due",
            "is_signed",
            "created_at",
            "updated_at",
        ],
    ),
    (
        "events",
        &[
            "id",
            "contract_id",
            "client_id",
            "support_contact_id",
            "start_date",
            "end_date",
            "location",
            "attendees",
            "notes",
            "created_at",
            "updated_at",
        ],
    ),
];

/// The Alembic revision the import knows.
pub const ALEMBIC_HEAD: &str = "0d47bbb3cd0c";

/// `(table, column)` of the four tables in the `public` schema.
pub async fn columns(src: &mut PgConnection) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public'
           and table_name in ('employees', 'clients', 'contracts', 'events')",
    )
    .persistent(false)
    .fetch_all(src)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Whether `public.NAME` exists.
pub async fn has_table(src: &mut PgConnection, name: &str) -> Result<bool> {
    Ok(sqlx::query_scalar("select to_regclass('public.' || quote_ident($1)) is not null")
        .bind(name)
        .persistent(false)
        .fetch_one(src)
        .await?)
}

/// The revisions recorded in `alembic_version`.
pub async fn alembic_versions(src: &mut PgConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("select version_num::text from public.alembic_version")
        .persistent(false)
        .fetch_all(src)
        .await?)
}

/// The type of `employees.role` (`role`, the original's enum type).
pub async fn role_type(src: &mut PgConnection) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "select udt_name::text from information_schema.columns
         where table_schema = 'public' and table_name = 'employees' and column_name = 'role'",
    )
    .persistent(false)
    .fetch_optional(src)
    .await?)
}

/// Whether PostgreSQL knows the time zone `name` (`Europe/Paris`, `UTC`).
pub async fn known_zone(src: &mut PgConnection, name: &str) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists (select 1 from pg_timezone_names where name = $1)")
        .bind(name)
        .persistent(false)
        .fetch_one(src)
        .await?)
}

/// The last value handed out by the id sequence of `table` in the source (0 when it never
/// handed one out, or there is none).
pub async fn sequence_position(src: &mut PgConnection, table: &str) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar(
        "select pg_sequence_last_value(s::regclass)
         from pg_get_serial_sequence('public.' || quote_ident($1), 'id') s
         where s is not null",
    )
    .bind(table)
    .persistent(false)
    .fetch_optional(src)
    .await?
    .flatten();
    Ok(v.unwrap_or(0))
}

// A timestamp column is read twice: its value when finite (NULL otherwise), and its text
// when not (`infinity`), so that an infinite instant is reported, never decoded.
macro_rules! ts {
    ($c:literal) => {
        concat!(
            "case when isfinite(",
            $c,
            ") then ",
            $c,
            " end, case when not isfinite(",
            $c,
            ") then ",
            $c,
            "::text end"
        )
    };
}

/// Employees in id order: id, first_name, last_name, email, role, password_hash, is_active,
/// then created_at, deactivated_at, reactivated_at (two columns each, [`ts!`]).
pub const EMPLOYEES: &str = concat!(
    "select e.id::int8, e.first_name::text, e.last_name::text, e.email::text, e.role::text, \
     e.password_hash::text, e.is_active, ",
    ts!("e.created_at"),
    ", ",
    ts!("e.deactivated_at"),
    ", ",
    ts!("e.reactivated_at"),
    " from public.employees e order by e.id"
);

/// Clients in id order: id, first_name, last_name, email, phone, company_name,
/// sales_contact_id, created_at, updated_at.
pub const CLIENTS: &str = concat!(
    "select c.id::int8, c.first_name::text, c.last_name::text, c.email::text, c.phone::text, \
     c.company_name::text, c.sales_contact_id::int8, ",
    ts!("c.created_at"),
    ", ",
    ts!("c.updated_at"),
    " from public.clients c order by c.id"
);

/// Contracts in id order: id, client_id, sales_contact_id, total_amount, amount_due,
/// is_signed, created_at, updated_at, and the creation of the contract's first event (for the
/// estimate of `signed_at`: an event is only created on a signed contract).
pub const CONTRACTS: &str = concat!(
    "select k.id::int8, k.client_id::int8, k.sales_contact_id::int8, k.total_amount::numeric, \
     k.amount_due::numeric, k.is_signed, ",
    ts!("k.created_at"),
    ", ",
    ts!("k.updated_at"),
    ", f.first_event \
     from public.contracts k \
     left join (select contract_id, min(created_at) filter (where isfinite(created_at)) \
                as first_event from public.events group by contract_id) f \
       on f.contract_id = k.id \
     order by k.id"
);

/// Events in id order: id, contract_id, client_id, support_contact_id, start, end (each
/// two columns; with `$1` a zone, the stored instants read as UTC wall-clock times and taken
/// as times of that zone), then location, attendees, notes, created_at, updated_at, the name
/// parts of its client (company, first, last), and whether start and end exist in the zone
/// (a wall-clock time skipped by a clock change does not).
pub const EVENTS: &str = concat!(
    "with e as (select e.*, \
             case when $1::text is null or not isfinite(e.start_date) then e.start_date \
                  else (e.start_date at time zone 'UTC') at time zone $1::text end as start_x, \
             case when $1::text is null or not isfinite(e.end_date) then e.end_date \
                  else (e.end_date at time zone 'UTC') at time zone $1::text end as end_x \
           from public.events e) \
     select e.id::int8, e.contract_id::int8, e.client_id::int8, e.support_contact_id::int8, ",
    ts!("e.start_x"),
    ", ",
    ts!("e.end_x"),
    ", e.location::text, e.attendees::int8, e.notes::text, ",
    ts!("e.created_at"),
    ", ",
    ts!("e.updated_at"),
    ", c.company_name::text, c.first_name::text, c.last_name::text, \
     $1::text is null or not isfinite(e.start_date) \
       or (e.start_x at time zone $1::text) = (e.start_date at time zone 'UTC'), \
     $1::text is null or not isfinite(e.end_date) \
       or (e.end_x at time zone $1::text) = (e.end_date at time zone 'UTC') \
     from e left join public.clients c on c.id = e.client_id \
     order by e.id"
);

/// The columns each table is written with, in the order of its COPY rows.
pub const COPY_EMPLOYEES: &str = "copy employees (id, first_name, last_name, email, role, \
     password_hash, is_active, created_at, updated_at, deactivated_at) from stdin";
pub const COPY_CLIENTS: &str = "copy clients (id, first_name, last_name, email, phone, \
     company_name, sales_contact_id, created_at, updated_at) from stdin";
pub const COPY_CONTRACTS: &str = "copy contracts (id, client_id, sales_contact_id, total_amount, \
     amount_due, is_signed, signed_at, created_at, updated_at) from stdin";
pub const COPY_EVENTS: &str = "copy events (id, contract_id, client_id, name, start_at, end_at, \
     location, attendees, notes, support_contact_id, created_at, updated_at) from stdin";

/// The target's four tables locked against any other writer for the import (a bootstrap
/// racing it), then whether any holds a row.
pub async fn lock_and_count(db: &mut PgConnection, lock: bool) -> Result<Vec<(String, bool)>> {
    if lock {
        sqlx::query("lock table employees, clients, contracts, events in exclusive mode")
            .persistent(false)
            .execute(&mut *db)
            .await?;
    }
    let row: PgRow = sqlx::query(
        "select exists (select 1 from employees), exists (select 1 from clients),
                exists (select 1 from contracts), exists (select 1 from events)",
    )
    .persistent(false)
    .fetch_one(&mut *db)
    .await?;
    ["employees", "clients", "contracts", "events"]
        .iter()
        .enumerate()
        .map(|(i, t)| Ok(((*t).to_owned(), row.try_get::<bool, _>(i)?)))
        .collect()
}

/// What [`set_aside`] dropped, as the statements that put it back, in order.
pub struct SetAside(Vec<String>);

/// Drops, inside the import's transaction, what makes a bulk load slow row by row — the
/// foreign keys from, to and among the four tables (a trigger query per row and key), their
/// unique constraints other than primary keys, and their other indexes — and returns the
/// statements that recreate each exactly as it was (PostgreSQL's own `pg_get_constraintdef`
/// and `pg_get_indexdef`), as `pg_restore` does: data first, then indexes, then keys, each
/// validated once over the whole table. Everything is put back before the commit, and a
/// rollback puts it back anyway.
pub async fn set_aside(db: &mut PgConnection) -> Result<SetAside> {
    const TABLES: &str = "array['employees', 'clients', 'contracts', 'events']::regclass[]";
    let fks = format!(
        "select format('alter table %s drop constraint %I', conrelid::regclass, conname),
                format('alter table %s add constraint %I %s', conrelid::regclass, conname,
                       pg_get_constraintdef(oid))
         from pg_constraint
         where contype = 'f' and (conrelid = any({TABLES}) or confrelid = any({TABLES}))
         order by conrelid::regclass::text, conname"
    );
    let uniques = format!(
        "select format('alter table %s drop constraint %I', conrelid::regclass, conname),
                format('alter table %s add constraint %I %s', conrelid::regclass, conname,
                       pg_get_constraintdef(oid))
         from pg_constraint
         where contype = 'u' and conrelid = any({TABLES})
         order by conrelid::regclass::text, conname"
    );
    let indexes = format!(
        "select format('drop index %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
         from pg_index i
         where i.indrelid = any({TABLES}) and not i.indisprimary
           and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
         order by i.indexrelid::regclass::text"
    );
    let mut drops = Vec::new();
    let mut back = Vec::new();
    let mut stages: Vec<Vec<String>> = Vec::new();
    for q in [fks, uniques, indexes] {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(q)).persistent(false).fetch_all(&mut *db).await?;
        let mut stage = Vec::new();
        for r in rows {
            drops.push(r.try_get::<String, _>(0)?);
            stage.push(r.try_get::<String, _>(1)?);
        }
        stages.push(stage);
    }
    // back in the reverse order: indexes, unique constraints, then the keys that need them
    for stage in stages.into_iter().rev() {
        back.extend(stage);
    }
    if !drops.is_empty() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(drops.join(";\n"))).execute(&mut *db).await?;
    }
    Ok(SetAside(back))
}

/// Recreates what [`set_aside`] dropped (the keys validated over the imported rows).
pub async fn put_back(db: &mut PgConnection, s: SetAside) -> Result<()> {
    for statement in s.0 {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *db).await?;
    }
    Ok(())
}

/// Sets the identity sequence of `table` so that the next id is `after + 1`.
pub async fn set_next_id(db: &mut PgConnection, table: &str, after: i64) -> Result<()> {
    sqlx::query("select setval(pg_get_serial_sequence($1, 'id'), $2, true)")
        .bind(table)
        .bind(after)
        .persistent(false)
        .execute(db)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42501") => {
                crate::error::Error::unavailable(format!(
                    "the target's database role may not set the id sequence of {table}: \
                     nothing was imported"
                ))
                .with_hint(
                    "run `db import` as the database's owner (the role that runs `db migrate`)",
                )
                .with_source(e)
            }
            _ => e.into(),
        })?;
    Ok(())
}

/// Appends one COPY text-format field (tab-separated, `\N` for NULL).
pub fn field(buf: &mut Vec<u8>, first: bool, value: Option<&str>) {
    if !first {
        buf.push(b'\t');
    }
    let Some(v) = value else {
        buf.extend_from_slice(b"\\N");
        return;
    };
    for b in v.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            _ => buf.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn copy_fields_escape_what_the_format_uses() {
        let mut b = Vec::new();
        field(&mut b, true, Some("a\tb\\c\nd\re"));
        field(&mut b, false, None);
        field(&mut b, false, Some(""));
        assert_eq!(String::from_utf8(b).unwrap(), "a\\tb\\\\c\\nd\\re\t\\N\t");
    }
}
