//! Clients: owned by a SALES employee (their sales contact).

use serde_json::json;
use sqlx::PgConnection;

use super::audit::{diff, snapshot};
use super::employee::nothing_to_update;
use super::{Change, Tx};
use crate::api::{
    Client, ClientDelete, ClientDetail, ClientOverview, ClientQuery, ClientReassign, ClientShow,
    ClientUpdate, NewClient, Page,
};
use crate::auth::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::repo::client::{ClientChanges, NewClientRow};
use crate::repo::{self, RowSink, found};

fn owner(c: &Client) -> Facts {
    Facts { owner: Some(c.sales_contact_id), ..Default::default() }
}

/// The names the audit trail leaves out of a snapshot: they are resolved from ids.
pub const DERIVED: &[&str] = &["sales_contact_name"];

pub async fn create(db: &mut PgConnection, actor: &Actor, c: NewClient) -> Result<Client> {
    actor.authorize(Action::ClientCreate, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let client = repo::client::insert(
        &mut tx,
        &NewClientRow {
            first_name: &c.first_name,
            last_name: &c.last_name,
            email: &c.email,
            phone: &c.phone,
            company_name: &c.company_name,
            sales_contact_id: actor.id,
        },
    )
    .await?;
    let details = snapshot(&client, DERIVED);
    tx.audit(Some(actor), Change::Command(Action::ClientCreate), client.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(client)
}

/// `client show ID` with its contracts and their events: one statement, whatever the number
/// of contracts.
pub async fn overview(
    db: &mut PgConnection,
    actor: &Actor,
    req: ClientOverview,
) -> Result<ClientDetail> {
    actor.authorize(Action::ClientShow, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let detail = repo::client::overview(&mut tx, req.id).await?;
    tx.commit(None).await?;
    found(detail, "client", req.id)
}

pub async fn list(
    db: &mut PgConnection,
    actor: &Actor,
    q: ClientQuery,
    page: Page,
    sink: &mut impl RowSink<Client>,
) -> Result<()> {
    let action = if q.mine { Action::ClientListMine } else { Action::ClientList };
    actor.authorize(action, Facts::default())?;
    let mine = q.mine.then_some(actor.id);
    let mut tx = crate::db::begin_stream(db).await?;
    repo::client::list(&mut tx, &q, mine, page, sink).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn show(db: &mut PgConnection, actor: &Actor, req: ClientShow) -> Result<Client> {
    actor.authorize(Action::ClientShow, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let row = repo::client::get(&mut tx, req.id).await?;
    tx.commit(None).await?;
    found(row, "client", req.id)
}

pub async fn update(db: &mut PgConnection, actor: &Actor, u: ClientUpdate) -> Result<Client> {
    if u.is_empty() {
        return Err(nothing_to_update());
    }
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::client::get_for_update(&mut tx, u.id).await?, "client", u.id)?;
    actor.authorize(Action::ClientUpdate, owner(&before))?;
    let changes = ClientChanges {
        first_name: u.first_name.as_ref(),
        last_name: u.last_name.as_ref(),
        email: u.email.as_ref(),
        phone: u.phone.as_ref(),
        company_name: u.company_name.as_ref(),
    };
    let after = found(repo::client::update(&mut tx, u.id, &changes).await?, "client", u.id)?;
    let details = diff(&[
        ("first_name", json!(before.first_name), json!(after.first_name)),
        ("last_name", json!(before.last_name), json!(after.last_name)),
        ("email", json!(before.email), json!(after.email)),
        ("phone", json!(before.phone), json!(after.phone)),
        ("company_name", json!(before.company_name), json!(after.company_name)),
    ]);
    tx.audit(Some(actor), Change::Command(Action::ClientUpdate), u.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(after)
}

/// Gives the client (and its contracts) to another active SALES employee.
pub async fn reassign(db: &mut PgConnection, actor: &Actor, req: ClientReassign) -> Result<Client> {
    actor.authorize(Action::ClientReassign, Facts::default())?;
    let (id, sales_id) = (req.id, req.sales_id);
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::client::get_for_update(&mut tx, id).await?, "client", id)?;
    // locked: a concurrent deactivation waits for us, or we see it
    let target =
        found(repo::employee::get_for_update(&mut tx, sales_id).await?, "employee", sales_id)?;
    if target.role != Role::Sales || !target.is_active {
        return Err(Error::conflict(format!(
            "employee {sales_id} is not an active SALES employee"
        ))
        .with_hint("see `epicevents employee list --role SALES`"));
    }
    let after = found(repo::client::reassign(&mut tx, id, sales_id).await?, "client", id)?;
    let details =
        json!({ "sales_contact_id": { "from": before.sales_contact_id, "to": sales_id } });
    tx.audit(Some(actor), Change::Command(Action::ClientReassign), id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(after)
}

pub async fn delete(db: &mut PgConnection, actor: &Actor, req: ClientDelete) -> Result<Client> {
    let mut tx = Tx::begin(db).await?;
    let c = delete_in(&mut tx, actor, req.id).await?;
    tx.commit(Some(actor)).await?;
    Ok(c)
}

/// The delete, up to its commit: also what `Preflight::Delete` runs and rolls back.
pub async fn delete_in(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<Client> {
    actor.authorize(Action::ClientDelete, Facts::default())?;
    let before = found(repo::client::get_for_update(tx, id).await?, "client", id)?;
    repo::client::delete(tx, id).await?;
    tx.audit(Some(actor), Change::Command(Action::ClientDelete), id, snapshot(&before, DERIVED))
        .await?;
    Ok(before)
}
