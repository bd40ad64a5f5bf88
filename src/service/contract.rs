//! Contracts: created by managers, managed by the client's sales contact and managers.

use serde_json::json;
use sqlx::{Acquire, PgConnection};

use crate::auth::guard::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::Money;
use crate::error::{Error, Result};
use crate::repo::contract::{Contract, ContractFilter};
use crate::repo::{self, Page, found};

fn owner(c: &Contract) -> Facts {
    Facts { owner: Some(c.sales_contact_id), ..Default::default() }
}

fn check_amounts(total: Money, due: Money) -> Result<()> {
    if total.is_zero() {
        return Err(Error::usage("the total amount must be above 0"));
    }
    if due > total {
        return Err(Error::usage("the amount due cannot exceed the total amount"));
    }
    Ok(())
}

pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    client_id: i64,
    total: Money,
    due: Option<Money>,
    signed: bool,
) -> Result<Contract> {
    actor.authorize(Action::ContractCreate, Facts::default())?;
    let due = due.unwrap_or(total);
    check_amounts(total, due)?;
    let mut tx = conn.begin().await?;
    let c = repo::contract::insert(&mut *tx, client_id, total.decimal(), due.decimal(), signed)
        .await?
        .ok_or_else(|| Error::not_found(format!("client {client_id} not found")))?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "contract.create",
        "contract",
        c.id,
        json!({ "client_id": client_id, "total_amount": total, "amount_due": due,
                "is_signed": c.is_signed }),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    mut filter: ContractFilter,
    mine: bool,
    page: Page,
    sink: impl FnMut(Contract) -> Result<bool>,
) -> Result<()> {
    let action = if mine { Action::ContractListMine } else { Action::ContractList };
    actor.authorize(action, Facts::default())?;
    if mine {
        filter.sales_contact_id = Some(actor.id);
    }
    repo::contract::list(conn, &filter, page, sink).await
}

pub async fn show(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Contract> {
    actor.authorize(Action::ContractShow, Facts::default())?;
    found(repo::contract::get(conn, id).await?, "contract", id)
}

pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    total: Option<Money>,
    due: Option<Money>,
) -> Result<Contract> {
    let mut tx = conn.begin().await?;
    let before = found(repo::contract::get_for_update(&mut *tx, id).await?, "contract", id)?;
    actor.authorize(Action::ContractUpdate, owner(&before))?;
    check_amounts(
        total.unwrap_or(Money::from_decimal(before.total_amount)),
        due.unwrap_or(Money::from_decimal(before.amount_due)),
    )?;
    let after = found(
        repo::contract::update(&mut *tx, id, total.map(Money::decimal), due.map(Money::decimal))
            .await?,
        "contract",
        id,
    )?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "contract.update",
        "contract",
        id,
        json!({
            "total_amount": { "from": Money::from_decimal(before.total_amount),
                              "to": Money::from_decimal(after.total_amount) },
            "amount_due": { "from": Money::from_decimal(before.amount_due),
                            "to": Money::from_decimal(after.amount_due) },
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn sign(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Contract> {
    let mut tx = conn.begin().await?;
    let before = found(repo::contract::get_for_update(&mut *tx, id).await?, "contract", id)?;
    actor.authorize(Action::ContractSign, owner(&before))?;
    let c = repo::contract::sign(&mut *tx, id)
        .await?
        .ok_or_else(|| Error::conflict(format!("contract {id} is already signed")))?;
    repo::audit::record(&mut *tx, Some(actor.id), "contract.sign", "contract", id, json!({}))
        .await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn pay(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    amount: Money,
) -> Result<Contract> {
    if amount.is_zero() {
        return Err(Error::usage("the payment must be above 0"));
    }
    let mut tx = conn.begin().await?;
    let before = found(repo::contract::get_for_update(&mut *tx, id).await?, "contract", id)?;
    actor.authorize(Action::ContractPay, owner(&before))?;
    let c = repo::contract::pay(&mut *tx, id, amount.decimal()).await?.ok_or_else(|| {
        Error::conflict(format!(
            "the payment of {amount} exceeds the amount due ({})",
            Money::from_decimal(before.amount_due)
        ))
    })?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "contract.pay",
        "contract",
        id,
        json!({
            "amount": amount,
            "amount_due": { "from": Money::from_decimal(before.amount_due),
                            "to": Money::from_decimal(c.amount_due) },
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Contract> {
    actor.authorize(Action::ContractDelete, Facts::default())?;
    let mut tx = conn.begin().await?;
    let before = found(repo::contract::get_for_update(&mut *tx, id).await?, "contract", id)?;
    repo::contract::delete(&mut *tx, id).await?;
    repo::audit::record(&mut *tx, Some(actor.id), "contract.delete", "contract", id, json!({}))
        .await?;
    tx.commit().await?;
    Ok(before)
}
