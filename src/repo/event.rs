//! The `events` table.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};

use super::Page;

use crate::error::Result;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub contract_id: i64,
    pub client_id: i64,
    pub name: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub location: String,
    pub attendees: i32,
    pub notes: Option<String>,
    pub support_contact_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewEvent<'a> {
    pub contract_id: i64,
    pub client_id: i64,
    pub name: &'a str,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub location: &'a str,
    pub attendees: i32,
    pub notes: Option<&'a str>,
}

pub async fn insert(db: impl PgExecutor<'_>, e: &NewEvent<'_>) -> Result<Event> {
    Ok(sqlx::query_as!(
        Event,
        "insert into events (contract_id, client_id, name, start_at, end_at, location, attendees, notes)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning id, contract_id, client_id, name, start_at, end_at, location, attendees, notes,
                   support_contact_id, created_at, updated_at",
        e.contract_id,
        e.client_id,
        e.name,
        e.start_at,
        e.end_at,
        e.location,
        e.attendees,
        e.notes
    )
    .fetch_one(db)
    .await?)
}

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Event>> {
    Ok(sqlx::query_as!(
        Event,
        "select id, contract_id, client_id, name, start_at, end_at, location, attendees, notes,
                support_contact_id, created_at, updated_at
         from events where id = $1",
        id
    )
    .fetch_optional(db)
    .await?)
}

/// The event, locked, with its client's sales contact (the owner for permissions).
pub async fn get_for_update(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Event>> {
    Ok(sqlx::query_as!(
        Event,
        "select id, contract_id, client_id, name, start_at, end_at, location, attendees, notes,
                support_contact_id, created_at, updated_at
         from events where id = $1 for update",
        id
    )
    .fetch_optional(db)
    .await?)
}

#[derive(Default)]
pub struct EventFilter {
    pub no_support: bool,
    pub support_contact_id: Option<i64>,
    /// Events of the clients of this sales contact.
    pub sales_contact_id: Option<i64>,
    pub upcoming: bool,
    pub contract_id: Option<i64>,
}

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests).
pub fn list_query(prefix: &str, f: &EventFilter, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select id, contract_id, client_id, name, start_at, end_at, location, attendees, notes, \
         support_contact_id, created_at, updated_at from events where ",
    );
    match f.sales_contact_id {
        // The events of a salesperson's clients: pick the page's ids first from
        // events_client_idx alone (an index-only scan), then read just those rows.
        Some(id) => {
            qb.push(
                "id in (select id from events where client_id = any (array(\
                 select c.id from clients c where c.sales_contact_id = ",
            )
            .push_bind(id)
            .push("))");
            push_filters(&mut qb, f);
            page.push(&mut qb, "id");
            qb.push(") order by id");
        }
        None => {
            qb.push("true");
            push_filters(&mut qb, f);
            page.push(&mut qb, "id");
        }
    }
    qb
}

fn push_filters(qb: &mut QueryBuilder<Postgres>, f: &EventFilter) {
    if f.no_support {
        qb.push(" and support_contact_id is null");
    }
    if let Some(id) = f.support_contact_id {
        qb.push(" and support_contact_id = ").push_bind(id);
    }
    if f.upcoming {
        qb.push(" and start_at >= now()");
    }
    if let Some(id) = f.contract_id {
        qb.push(" and contract_id = ").push_bind(id);
    }
}

pub async fn list(
    db: &mut PgConnection,
    f: &EventFilter,
    page: Page,
    sink: impl FnMut(Event) -> Result<bool>,
) -> Result<()> {
    super::stream(db, list_query("", f, page), page, sink).await
}

#[derive(Default)]
pub struct EventChanges<'a> {
    pub name: Option<&'a str>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub location: Option<&'a str>,
    pub attendees: Option<i32>,
    /// `Some(None)` clears the notes.
    pub notes: Option<Option<&'a str>>,
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    c: &EventChanges<'_>,
) -> Result<Option<Event>> {
    Ok(sqlx::query_as!(
        Event,
        "update events set
             name = coalesce($2, name),
             start_at = coalesce($3, start_at),
             end_at = coalesce($4, end_at),
             location = coalesce($5, location),
             attendees = coalesce($6, attendees),
             notes = case when $7 then $8 else notes end
         where id = $1
         returning id, contract_id, client_id, name, start_at, end_at, location, attendees, notes,
                   support_contact_id, created_at, updated_at",
        id,
        c.name,
        c.start_at,
        c.end_at,
        c.location,
        c.attendees,
        c.notes.is_some(),
        c.notes.flatten()
    )
    .fetch_optional(db)
    .await?)
}

/// Sets or clears the support contact.
pub async fn assign(
    db: impl PgExecutor<'_>,
    id: i64,
    support_contact_id: Option<i64>,
) -> Result<Option<Event>> {
    Ok(sqlx::query_as!(
        Event,
        "update events set support_contact_id = $2 where id = $1
         returning id, contract_id, client_id, name, start_at, end_at, location, attendees, notes,
                   support_contact_id, created_at, updated_at",
        id,
        support_contact_id
    )
    .fetch_optional(db)
    .await?)
}

pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from events where id = $1", id)
        .execute(db)
        .await
        .map_err(super::still_referenced)?;
    Ok(r.rows_affected() == 1)
}
