//! Clients: owned by a SALES employee (their sales contact).

use serde_json::json;
use sqlx::{Acquire, PgConnection};

use crate::auth::guard::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::{Email, Name, OptionalText, Role};
use crate::error::{Error, Result};
use crate::repo::client::{Client, ClientChanges, ClientFilter, NewClient};
use crate::repo::{self, Page, found};

fn owner(c: &Client) -> Facts {
    Facts { owner: Some(c.sales_contact_id), ..Default::default() }
}

pub struct NewClientInput {
    pub first_name: Name,
    pub last_name: Name,
    pub email: Email,
    pub phone: OptionalText,
    pub company_name: OptionalText,
}

pub async fn create(conn: &mut PgConnection, actor: &Actor, c: NewClientInput) -> Result<Client> {
    actor.authorize(Action::ClientCreate, Facts::default())?;
    let mut tx = conn.begin().await?;
    let client = repo::client::insert(
        &mut *tx,
        &NewClient {
            first_name: c.first_name.as_str(),
            last_name: c.last_name.as_str(),
            email: c.email.as_str(),
            phone: c.phone.as_deref(),
            company_name: c.company_name.as_deref(),
            sales_contact_id: actor.id,
        },
    )
    .await?;
    repo::audit::record(&mut *tx, Some(actor.id), "client.create", "client", client.id, json!({}))
        .await?;
    tx.commit().await?;
    Ok(client)
}

pub async fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    mine: bool,
    search: Option<&str>,
    page: Page,
    sink: impl FnMut(Client) -> Result<bool>,
) -> Result<()> {
    let action = if mine { Action::ClientListMine } else { Action::ClientList };
    actor.authorize(action, Facts::default())?;
    let filter = ClientFilter { sales_contact_id: mine.then_some(actor.id), search };
    repo::client::list(conn, &filter, page, sink).await
}

pub async fn show(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Client> {
    actor.authorize(Action::ClientShow, Facts::default())?;
    found(repo::client::get(conn, id).await?, "client", id)
}

pub struct ClientUpdate {
    pub first_name: Option<Name>,
    pub last_name: Option<Name>,
    pub email: Option<Email>,
    pub phone: Option<OptionalText>,
    pub company_name: Option<OptionalText>,
}

impl ClientUpdate {
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.company_name.is_none()
    }
}

pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    u: ClientUpdate,
) -> Result<Client> {
    let mut tx = conn.begin().await?;
    let before = found(repo::client::get_for_update(&mut *tx, id).await?, "client", id)?;
    actor.authorize(Action::ClientUpdate, owner(&before))?;
    let after = found(
        repo::client::update(
            &mut *tx,
            id,
            &ClientChanges {
                first_name: u.first_name.as_ref().map(Name::as_str),
                last_name: u.last_name.as_ref().map(Name::as_str),
                email: u.email.as_ref().map(Email::as_str),
                phone: u.phone.as_ref().map(OptionalText::as_deref),
                company_name: u.company_name.as_ref().map(OptionalText::as_deref),
            },
        )
        .await?,
        "client",
        id,
    )?;
    let changes = repo::audit::changes(&[
        ("first_name", json!(before.first_name), json!(after.first_name)),
        ("last_name", json!(before.last_name), json!(after.last_name)),
        ("email", json!(before.email), json!(after.email)),
        ("phone", json!(before.phone), json!(after.phone)),
        ("company_name", json!(before.company_name), json!(after.company_name)),
    ]);
    repo::audit::record(&mut *tx, Some(actor.id), "client.update", "client", id, changes).await?;
    tx.commit().await?;
    Ok(after)
}

/// Gives the client (and its contracts) to another active SALES employee.
pub async fn reassign(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    sales_id: i64,
) -> Result<Client> {
    actor.authorize(Action::ClientReassign, Facts::default())?;
    let mut tx = conn.begin().await?;
    let before = found(repo::client::get_for_update(&mut *tx, id).await?, "client", id)?;
    // locked: a concurrent deactivation waits for us, or we see it
    let target =
        found(repo::employee::get_for_update(&mut *tx, sales_id).await?, "employee", sales_id)?;
    if target.role != Role::Sales || !target.is_active {
        return Err(Error::conflict(format!(
            "employee {sales_id} is not an active SALES employee"
        )));
    }
    let after = found(repo::client::reassign(&mut *tx, id, sales_id).await?, "client", id)?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "client.reassign",
        "client",
        id,
        json!({ "sales_contact_id": { "from": before.sales_contact_id, "to": sales_id } }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Client> {
    actor.authorize(Action::ClientDelete, Facts::default())?;
    let mut tx = conn.begin().await?;
    let before = found(repo::client::get_for_update(&mut *tx, id).await?, "client", id)?;
    repo::client::delete(&mut *tx, id).await?;
    repo::audit::record(&mut *tx, Some(actor.id), "client.delete", "client", id, json!({})).await?;
    tx.commit().await?;
    Ok(before)
}
