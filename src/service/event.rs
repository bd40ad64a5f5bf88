//! Events: created by the client's sales contact on a signed contract, run by the SUPPORT
//! employee assigned to them, assigned by managers.

use serde_json::json;
use sqlx::{Acquire, PgConnection};

use crate::auth::guard::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::{EventPeriod, Name, OptionalText, Role, Timestamp};
use crate::error::{Error, Result};
use crate::repo::event::{Event, EventChanges, EventFilter, NewEvent};
use crate::repo::{self, Page, found};

fn assigned(e: &Event) -> Facts {
    Facts { assignee: e.support_contact_id, ..Default::default() }
}

pub struct NewEventInput {
    pub name: Name,
    pub period: EventPeriod,
    pub location: Name,
    pub attendees: u32,
    pub notes: OptionalText,
}

fn attendees(n: u32) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::usage("attendees is too large"))
}

pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    contract_id: i64,
    e: NewEventInput,
) -> Result<Event> {
    let mut tx = conn.begin().await?;
    // locked so that the contract cannot be deleted or change hands under us
    let contract = found(
        repo::contract::get_for_update(&mut *tx, contract_id).await?,
        "contract",
        contract_id,
    )?;
    actor.authorize(
        Action::EventCreate,
        Facts { owner: Some(contract.sales_contact_id), ..Default::default() },
    )?;
    if !contract.is_signed {
        return Err(Error::conflict(format!(
            "contract {contract_id} is not signed: events need a signed contract"
        )));
    }
    let event = repo::event::insert(
        &mut *tx,
        &NewEvent {
            contract_id,
            client_id: contract.client_id,
            name: e.name.as_str(),
            start_at: e.period.start(),
            end_at: e.period.end(),
            location: e.location.as_str(),
            attendees: attendees(e.attendees)?,
            notes: e.notes.as_deref(),
        },
    )
    .await?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "event.create",
        "event",
        event.id,
        json!({ "contract_id": contract_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(event)
}

pub async fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    mut filter: EventFilter,
    mine: bool,
    page: Page,
    sink: impl FnMut(Event) -> Result<bool>,
) -> Result<()> {
    let action = if mine { Action::EventListMine } else { Action::EventList };
    actor.authorize(action, Facts::default())?;
    if mine {
        match actor.role {
            Role::Support => filter.support_contact_id = Some(actor.id),
            Role::Sales => filter.sales_contact_id = Some(actor.id),
            Role::Management => {}
        }
    }
    repo::event::list(conn, &filter, page, sink).await
}

pub async fn show(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Event> {
    actor.authorize(Action::EventShow, Facts::default())?;
    found(repo::event::get(conn, id).await?, "event", id)
}

#[derive(Default)]
pub struct EventUpdate {
    pub name: Option<Name>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub location: Option<Name>,
    pub attendees: Option<u32>,
    pub notes: Option<OptionalText>,
}

impl EventUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.start.is_none()
            && self.end.is_none()
            && self.location.is_none()
            && self.attendees.is_none()
            && self.notes.is_none()
    }
}

pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    u: EventUpdate,
) -> Result<Event> {
    let mut tx = conn.begin().await?;
    let before = found(repo::event::get_for_update(&mut *tx, id).await?, "event", id)?;
    actor.authorize(Action::EventUpdate, assigned(&before))?;
    // the period as it will be, checked here for a clear message (the database checks too)
    let start = u.start.map_or(before.start_at, Timestamp::utc);
    let end = u.end.map_or(before.end_at, Timestamp::utc);
    if start >= end {
        return Err(Error::usage("the event must end after it starts"));
    }
    let after = found(
        repo::event::update(
            &mut *tx,
            id,
            &EventChanges {
                name: u.name.as_ref().map(Name::as_str),
                start_at: u.start.map(Timestamp::utc),
                end_at: u.end.map(Timestamp::utc),
                location: u.location.as_ref().map(Name::as_str),
                attendees: u.attendees.map(attendees).transpose()?,
                notes: u.notes.as_ref().map(OptionalText::as_deref),
            },
        )
        .await?,
        "event",
        id,
    )?;
    let changes = repo::audit::changes(&[
        ("name", json!(before.name), json!(after.name)),
        ("start_at", json!(before.start_at), json!(after.start_at)),
        ("end_at", json!(before.end_at), json!(after.end_at)),
        ("location", json!(before.location), json!(after.location)),
        ("attendees", json!(before.attendees), json!(after.attendees)),
        ("notes", json!(before.notes), json!(after.notes)),
    ]);
    repo::audit::record(&mut *tx, Some(actor.id), "event.update", "event", id, changes).await?;
    tx.commit().await?;
    Ok(after)
}

/// Assigns an active SUPPORT employee, or clears the assignment (`None`).
pub async fn assign(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    support_id: Option<i64>,
) -> Result<Event> {
    let action = if support_id.is_some() { Action::EventAssign } else { Action::EventUnassign };
    actor.authorize(action, Facts::default())?;
    let mut tx = conn.begin().await?;
    let before = found(repo::event::get_for_update(&mut *tx, id).await?, "event", id)?;
    if support_id.is_none() && before.support_contact_id.is_none() {
        return Err(Error::conflict(format!("event {id} has no support contact to remove")));
    }
    if let Some(sid) = support_id {
        // locked: a concurrent deactivation waits for us, or we see it
        let target = found(repo::employee::get_for_update(&mut *tx, sid).await?, "employee", sid)?;
        if target.role != Role::Support || !target.is_active {
            return Err(Error::conflict(format!(
                "employee {sid} is not an active SUPPORT employee"
            )));
        }
    }
    let after = found(repo::event::assign(&mut *tx, id, support_id).await?, "event", id)?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        if support_id.is_some() { "event.assign" } else { "event.unassign" },
        "event",
        id,
        json!({ "support_contact_id": { "from": before.support_contact_id, "to": support_id } }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Event> {
    actor.authorize(Action::EventDelete, Facts::default())?;
    let mut tx = conn.begin().await?;
    let before = found(repo::event::get_for_update(&mut *tx, id).await?, "event", id)?;
    repo::event::delete(&mut *tx, id).await?;
    repo::audit::record(&mut *tx, Some(actor.id), "event.delete", "event", id, json!({})).await?;
    tx.commit().await?;
    Ok(before)
}
