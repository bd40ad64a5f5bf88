//! The `events` table, read with its client's and support contact's names.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::UnnamedExt;
use super::{RowSink, on_delete, on_write, push_page};
use crate::api::{Event, EventQuery, EventSort, Page};
use crate::domain::{Name, Notes};
use crate::error::Result;

pub struct NewEventRow<'a> {
    pub contract_id: i64,
    pub client_id: i64,
    pub name: &'a Name,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub location: &'a Name,
    pub attendees: i32,
    pub notes: &'a Notes,
}

pub async fn insert(db: &mut PgConnection, e: &NewEventRow<'_>) -> Result<Event> {
    sqlx::query_as!(
        Event,
        r#"with e as (
               insert into events
                   (contract_id, client_id, name, start_at, end_at, location, attendees, notes)
               values ($1, $2, $3, $4, $5, $6, $7, $8) returning *)
           select e.id, e.contract_id, e.client_id,
                  c.first_name || ' ' || c.last_name as "client_name!", e.name, e.start_at,
                  e.end_at, e.location, e.attendees, e.notes, e.support_contact_id,
                  s.first_name || ' ' || s.last_name as "support_contact_name?",
                  e.created_at, e.updated_at
           from e join clients c on c.id = e.client_id
                left join employees s on s.id = e.support_contact_id"#,
        e.contract_id,
        e.client_id,
        e.name.as_str(),
        e.start_at,
        e.end_at,
        e.location.as_str(),
        e.attendees,
        e.notes.as_deref()
    )
    .unnamed()
    .fetch_one(db)
    .await
    .map_err(on_write)
}

pub async fn get(db: &mut PgConnection, id: i64) -> Result<Option<Event>> {
    Ok(sqlx::query_as!(
        Event,
        r#"select e.id, e.contract_id, e.client_id,
                  c.first_name || ' ' || c.last_name as "client_name!", e.name, e.start_at,
                  e.end_at, e.location, e.attendees, e.notes, e.support_contact_id,
                  s.first_name || ' ' || s.last_name as "support_contact_name?",
                  e.created_at, e.updated_at
           from events e join clients c on c.id = e.client_id
                left join employees s on s.id = e.support_contact_id
           where e.id = $1"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// Locks the event row for the rest of the transaction.
pub async fn get_for_update(db: &mut PgConnection, id: i64) -> Result<Option<Event>> {
    Ok(sqlx::query_as!(
        Event,
        r#"select e.id, e.contract_id, e.client_id,
                  c.first_name || ' ' || c.last_name as "client_name!", e.name, e.start_at,
                  e.end_at, e.location, e.attendees, e.notes, e.support_contact_id,
                  s.first_name || ' ' || s.last_name as "support_contact_name?",
                  e.created_at, e.updated_at
           from events e join clients c on c.id = e.client_id
                left join employees s on s.id = e.support_contact_id
           where e.id = $1 for update of e"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// Whose events `--mine` means.
#[derive(Clone, Copy, Debug)]
pub enum Mine {
    /// Assigned to this SUPPORT employee.
    Support(i64),
    /// Of the clients of this SALES employee.
    Sales(i64),
}

const SELECT: &str = "select e.id, e.contract_id, e.client_id, \
    c.first_name || ' ' || c.last_name as client_name, e.name, e.start_at, e.end_at, \
    e.location, e.attendees, e.notes, e.support_contact_id, \
    s.first_name || ' ' || s.last_name as support_contact_name, e.created_at, e.updated_at \
    from events e join clients c on c.id = e.client_id \
    left join employees s on s.id = e.support_contact_id where ";

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests), in the list's
/// own order ([`EventQuery::order`]). In start order the keyset cursor of `--after ID` is
/// that event's `(start_at, id)`, read by a subquery: one index seek on
/// `events_start_at_idx` (or a filter's `(…, start_at, id)` index), however deep the page.
pub fn list_query(
    prefix: &str,
    q: &EventQuery,
    mine: Option<Mine>,
    page: Page,
) -> QueryBuilder<Postgres> {
    let order = q.order();
    let mut qb = QueryBuilder::new(prefix);
    qb.push(SELECT);
    match mine {
        // The events of a salesperson's clients: pick the page's ids first from
        // events_client_idx alone (an index-only scan), then read just those rows.
        Some(Mine::Sales(id)) => {
            qb.push(
                "e.id in (select e.id from events e where e.client_id = any (array(\
                 select c.id from clients c where c.sales_contact_id = ",
            )
            .push_bind(id)
            .push("))");
            push_filters(&mut qb, q, None);
            push_event_page(&mut qb, order, page);
            qb.push(")");
            qb.push(match order {
                EventSort::Start => " order by e.start_at, e.id",
                EventSort::Id => " order by e.id",
            });
        }
        other => {
            qb.push("true");
            push_filters(&mut qb, q, other);
            push_event_page(&mut qb, order, page);
        }
    }
    qb
}

/// [`push_page`] in either order of an event list.
fn push_event_page(qb: &mut QueryBuilder<Postgres>, order: EventSort, page: Page) {
    match order {
        EventSort::Id => push_page(qb, "e.id", false, page),
        EventSort::Start => {
            if let Some(after) = page.after {
                qb.push(
                    " and (e.start_at, e.id) > ((select a.start_at from events a where a.id = ",
                )
                .push_bind(after)
                .push("), ")
                .push_bind(after)
                .push(")");
            }
            qb.push(" order by e.start_at, e.id");
            if let Some(limit) = page.limit() {
                qb.push(" limit ").push_bind(limit);
            }
            if page.offset > 0 {
                qb.push(" offset ").push_bind(page.offset);
            }
        }
    }
}

fn push_filters(qb: &mut QueryBuilder<Postgres>, q: &EventQuery, mine: Option<Mine>) {
    if q.no_support {
        qb.push(" and e.support_contact_id is null");
    }
    if let Some(Mine::Support(id)) = mine {
        qb.push(" and e.support_contact_id = ").push_bind(id);
    }
    if q.upcoming {
        qb.push(" and e.start_at >= now()");
    }
    if let Some(id) = q.contract {
        qb.push(" and e.contract_id = ").push_bind(id);
    }
    if let Some(id) = q.client {
        qb.push(" and e.client_id = ").push_bind(id);
    }
    if let Some(t) = q.from {
        qb.push(" and e.start_at >= ").push_bind(t.utc());
    }
    if let Some(t) = q.to {
        qb.push(" and e.start_at <= ").push_bind(t.utc());
    }
}

/// Whether an event exists (the `--after` cursor of a list in start order).
pub async fn exists(db: &mut PgConnection, id: i64) -> Result<bool> {
    Ok(sqlx::query_scalar!(r#"select exists (select 1 from events where id = $1) as "e!""#, id)
        .persistent(false)
        .fetch_one(db)
        .await?)
}

pub async fn list(
    db: &mut PgConnection,
    q: &EventQuery,
    mine: Option<Mine>,
    page: Page,
    sink: &mut impl RowSink<Event>,
) -> Result<()> {
    super::stream(db, list_query("", q, mine, page), sink).await
}

pub struct EventChanges<'a> {
    pub name: Option<&'a Name>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub location: Option<&'a Name>,
    pub attendees: Option<i32>,
    /// `Some(empty notes)` clears them.
    pub notes: Option<&'a Notes>,
}

pub async fn update(db: &mut PgConnection, id: i64, c: &EventChanges<'_>) -> Result<Option<Event>> {
    sqlx::query_as!(
        Event,
        r#"with e as (
               update events set
                   name = coalesce($2, name),
                   start_at = coalesce($3, start_at),
                   end_at = coalesce($4, end_at),
                   location = coalesce($5, location),
                   attendees = coalesce($6, attendees),
                   notes = case when $7 then $8 else notes end
               where id = $1 returning *)
           select e.id, e.contract_id, e.client_id,
                  c.first_name || ' ' || c.last_name as "client_name!", e.name, e.start_at,
                  e.end_at, e.location, e.attendees, e.notes, e.support_contact_id,
                  s.first_name || ' ' || s.last_name as "support_contact_name?",
                  e.created_at, e.updated_at
           from e join clients c on c.id = e.client_id
                left join employees s on s.id = e.support_contact_id"#,
        id,
        c.name.map(Name::as_str),
        c.start_at,
        c.end_at,
        c.location.map(Name::as_str),
        c.attendees,
        c.notes.is_some(),
        c.notes.and_then(Notes::as_deref)
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

/// Sets or clears the support contact.
pub async fn assign(
    db: &mut PgConnection,
    id: i64,
    support_contact_id: Option<i64>,
) -> Result<Option<Event>> {
    sqlx::query_as!(
        Event,
        r#"with e as (update events set support_contact_id = $2 where id = $1 returning *)
           select e.id, e.contract_id, e.client_id,
                  c.first_name || ' ' || c.last_name as "client_name!", e.name, e.start_at,
                  e.end_at, e.location, e.attendees, e.notes, e.support_contact_id,
                  s.first_name || ' ' || s.last_name as "support_contact_name?",
                  e.created_at, e.updated_at
           from e join clients c on c.id = e.client_id
                left join employees s on s.id = e.support_contact_id"#,
        id,
        support_contact_id
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

pub async fn delete(db: &mut PgConnection, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from events where id = $1", id)
        .persistent(false)
        .execute(db)
        .await
        .map_err(on_delete(id))?;
    Ok(r.rows_affected() == 1)
}
