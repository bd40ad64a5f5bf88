//! Events: created by the client's sales contact on a signed contract, run by the SUPPORT
//! employee assigned to them, assigned by managers.

use serde_json::json;
use sqlx::PgConnection;

use super::audit::{diff, snapshot};
use super::employee::nothing_to_update;
use super::{Change, Tx};
use crate::api::{
    Event, EventAssign, EventDelete, EventQuery, EventShow, EventSort, EventUnassign, EventUpdate,
    NewEvent, Page,
};
use crate::auth::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::{EventPeriod, Notes, Role, Timestamp};
use crate::error::{Error, Result};
use crate::repo::event::{EventChanges, Mine, NewEventRow};
use crate::repo::{self, RowSink, found};

fn assigned(e: &Event) -> Facts {
    Facts { assignee: e.support_contact_id, ..Default::default() }
}

const DERIVED: &[&str] = &["client_name", "support_contact_name"];

pub async fn create(db: &mut PgConnection, actor: &Actor, e: NewEvent) -> Result<Event> {
    let contract_id = e.contract_id;
    let mut tx = Tx::begin(db).await?;
    // locked so that the contract cannot be deleted or change hands under us
    let contract = found(
        repo::contract::get_for_update(&mut tx, contract_id).await?,
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
        ))
        .with_hint(format!("sign it first with `epicevents contract sign {contract_id}`")));
    }
    let event = repo::event::insert(
        &mut tx,
        &NewEventRow {
            contract_id,
            client_id: contract.client_id,
            name: &e.name,
            start_at: e.period.start(),
            end_at: e.period.end(),
            location: &e.location,
            attendees: e.attendees.get(),
            notes: &e.notes,
        },
    )
    .await?;
    let details = snapshot(&event, DERIVED);
    tx.audit(Some(actor), Change::Command(Action::EventCreate), event.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(event)
}

pub async fn list(
    db: &mut PgConnection,
    actor: &Actor,
    q: EventQuery,
    page: Page,
    sink: &mut impl RowSink<Event>,
) -> Result<()> {
    let action = if q.mine { Action::EventListMine } else { Action::EventList };
    actor.authorize(action, Facts::default())?;
    let mine = match (q.mine, actor.role) {
        (true, Role::Support) => Some(Mine::Support(actor.id)),
        (true, Role::Sales) => Some(Mine::Sales(actor.id)),
        _ => None,
    };
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(Error::usage("--from is after --to: no event can start in that range"));
    }
    let mut tx = crate::db::begin_stream(db).await?;
    // in start order the cursor is the event's (start, id): an event that is gone cannot say
    // where its page ended, and an empty page would look like the end of the list
    if let (EventSort::Start, Some(after)) = (q.order(), page.after)
        && !repo::event::exists(&mut tx, after).await?
    {
        return Err(Error::not_found(format!("event {after} (the --after cursor) not found"))
            .with_hint("in start order --after takes the id of an event listed on the last page"));
    }
    repo::event::list(&mut tx, &q, mine, page, sink).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn show(db: &mut PgConnection, actor: &Actor, req: EventShow) -> Result<Event> {
    actor.authorize(Action::EventShow, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let row = repo::event::get(&mut tx, req.id).await?;
    tx.commit(None).await?;
    found(row, "event", req.id)
}

pub async fn update(db: &mut PgConnection, actor: &Actor, u: EventUpdate) -> Result<Event> {
    if u.is_empty() {
        return Err(nothing_to_update());
    }
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::event::get_for_update(&mut tx, u.id).await?, "event", u.id)?;
    actor.authorize(Action::EventUpdate, assigned(&before))?;
    // the period as it will be: a new start or end against the stored other one
    EventPeriod::new(
        u.start_at.unwrap_or(Timestamp::from_utc(before.start_at)),
        u.end_at.unwrap_or(Timestamp::from_utc(before.end_at)),
    )
    .map_err(Error::usage)?;
    if u.notes.is_some() && u.append_notes.is_some() {
        return Err(Error::usage("--notes cannot be used with --append-notes"));
    }
    // appended to the notes as they are now: the row is locked until the commit, so an
    // append that runs at the same time waits and then appends to this one's result
    let appended = match &u.append_notes {
        Some(line) => {
            Some(Notes::appended("notes", before.notes.as_deref(), line).map_err(Error::usage)?)
        }
        None => None,
    };
    let changes = EventChanges {
        name: u.name.as_ref(),
        start_at: u.start_at.map(Timestamp::utc),
        end_at: u.end_at.map(Timestamp::utc),
        location: u.location.as_ref(),
        attendees: u.attendees.map(|a| a.get()),
        notes: u.notes.as_ref().or(appended.as_ref()),
    };
    let after = found(repo::event::update(&mut tx, u.id, &changes).await?, "event", u.id)?;
    let details = diff(&[
        ("name", json!(before.name), json!(after.name)),
        ("start_at", json!(before.start_at), json!(after.start_at)),
        ("end_at", json!(before.end_at), json!(after.end_at)),
        ("location", json!(before.location), json!(after.location)),
        ("attendees", json!(before.attendees), json!(after.attendees)),
        ("notes", json!(before.notes), json!(after.notes)),
    ]);
    tx.audit(Some(actor), Change::Command(Action::EventUpdate), u.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(after)
}

pub async fn assign(db: &mut PgConnection, actor: &Actor, req: EventAssign) -> Result<Event> {
    set_support(db, actor, req.id, Some(req.support_id)).await
}

pub async fn unassign(db: &mut PgConnection, actor: &Actor, req: EventUnassign) -> Result<Event> {
    set_support(db, actor, req.id, None).await
}

/// Assigns an active SUPPORT employee, or clears the assignment (`None`).
async fn set_support(
    db: &mut PgConnection,
    actor: &Actor,
    id: i64,
    support_id: Option<i64>,
) -> Result<Event> {
    let action = if support_id.is_some() { Action::EventAssign } else { Action::EventUnassign };
    actor.authorize(action, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::event::get_for_update(&mut tx, id).await?, "event", id)?;
    if support_id.is_none() && before.support_contact_id.is_none() {
        return Err(Error::conflict(format!("event {id} has no support contact to remove")));
    }
    if let Some(sid) = support_id {
        // locked: a concurrent deactivation waits for us, or we see it
        let target = found(repo::employee::get_for_update(&mut tx, sid).await?, "employee", sid)?;
        if target.role != Role::Support || !target.is_active {
            return Err(Error::conflict(format!(
                "employee {sid} is not an active SUPPORT employee"
            ))
            .with_hint("see `epicevents employee list --role SUPPORT`"));
        }
    }
    let after = found(repo::event::assign(&mut tx, id, support_id).await?, "event", id)?;
    let details =
        json!({ "support_contact_id": { "from": before.support_contact_id, "to": support_id } });
    tx.audit(Some(actor), Change::Command(action), id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(after)
}

pub async fn delete(db: &mut PgConnection, actor: &Actor, req: EventDelete) -> Result<Event> {
    let mut tx = Tx::begin(db).await?;
    let e = delete_in(&mut tx, actor, req.id).await?;
    tx.commit(Some(actor)).await?;
    Ok(e)
}

/// The delete, up to its commit: also what `Preflight::Delete` runs and rolls back.
pub async fn delete_in(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<Event> {
    actor.authorize(Action::EventDelete, Facts::default())?;
    let before = found(repo::event::get_for_update(tx, id).await?, "event", id)?;
    repo::event::delete(tx, id).await?;
    tx.audit(Some(actor), Change::Command(Action::EventDelete), id, snapshot(&before, DERIVED))
        .await?;
    Ok(before)
}
