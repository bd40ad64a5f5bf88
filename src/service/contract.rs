//! Contracts: created by managers, managed by the client's sales contact and managers.

use serde_json::json;
use sqlx::PgConnection;

use super::audit::{diff, snapshot};
use super::employee::nothing_to_update;
use super::{Change, Tx};
use crate::api::{
    Contract, ContractDelete, ContractDetail, ContractOverview, ContractPay, ContractQuery,
    ContractShow, ContractSign, ContractUpdate, NewContract, Page, Payment, PaymentQuery,
};
use crate::auth::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::{Money, Timestamp};
use crate::error::{Error, Result};
use crate::repo::{self, RowSink, found};

fn owner(c: &Contract) -> Facts {
    Facts { owner: Some(c.sales_contact_id), ..Default::default() }
}

const DERIVED: &[&str] = &["client_name", "sales_contact_name"];

/// The amounts rule of spec §2: a total above 0, and an amount due between 0 (by
/// construction of `Money`) and the total.
fn check_amounts(total: Money, due: Money) -> Result<()> {
    if total.is_zero() {
        return Err(Error::usage("the total amount must be above 0"));
    }
    if due > total {
        return Err(Error::usage("the amount due cannot exceed the total amount"));
    }
    Ok(())
}

pub async fn create(db: &mut PgConnection, actor: &Actor, req: NewContract) -> Result<Contract> {
    actor.authorize(Action::ContractCreate, Facts::default())?;
    let due = req.amount_due.unwrap_or(req.total_amount);
    check_amounts(req.total_amount, due)?;
    let mut tx = Tx::begin(db).await?;
    let c = repo::contract::insert(&mut tx, req.client_id, req.total_amount, due, req.signed)
        .await?
        .ok_or_else(|| Error::not_found(format!("client {} not found", req.client_id)))?;
    let details = snapshot(&c, DERIVED);
    tx.audit(Some(actor), Change::Command(Action::ContractCreate), c.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(c)
}

pub async fn list(
    db: &mut PgConnection,
    actor: &Actor,
    q: ContractQuery,
    page: Page,
    sink: &mut impl RowSink<Contract>,
) -> Result<()> {
    let action = if q.mine { Action::ContractListMine } else { Action::ContractList };
    actor.authorize(action, Facts::default())?;
    let mine = q.mine.then_some(actor.id);
    let mut tx = crate::db::begin_stream(db).await?;
    repo::contract::list(&mut tx, &q, mine, page, sink).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn show(db: &mut PgConnection, actor: &Actor, req: ContractShow) -> Result<Contract> {
    actor.authorize(Action::ContractShow, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let row = repo::contract::get(&mut tx, req.id).await?;
    tx.commit(None).await?;
    found(row, "contract", req.id)
}

/// `contract payments ID`: the contract's payments, oldest first (all roles).
pub async fn payments(
    db: &mut PgConnection,
    actor: &Actor,
    q: PaymentQuery,
    page: Page,
    sink: &mut impl RowSink<Payment>,
) -> Result<()> {
    actor.authorize(Action::ContractPayments, Facts::default())?;
    let mut tx = crate::db::begin_stream(db).await?;
    found(repo::contract::get(&mut tx, q.contract_id).await?, "contract", q.contract_id)?;
    repo::payment::list(&mut tx, q.contract_id, page, sink).await?;
    tx.commit().await?;
    Ok(())
}

/// `contract show ID` with its events: one statement.
pub async fn overview(
    db: &mut PgConnection,
    actor: &Actor,
    req: ContractOverview,
) -> Result<ContractDetail> {
    actor.authorize(Action::ContractShow, Facts::default())?;
    let mut tx = Tx::begin(db).await?;
    let detail = repo::contract::overview(&mut tx, req.id).await?;
    tx.commit(None).await?;
    found(detail, "contract", req.id)
}

pub async fn update(db: &mut PgConnection, actor: &Actor, u: ContractUpdate) -> Result<Contract> {
    if u.total_amount.is_none() && u.amount_due.is_none() {
        return Err(nothing_to_update());
    }
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::contract::get_for_update(&mut tx, u.id).await?, "contract", u.id)?;
    actor.authorize(Action::ContractUpdate, owner(&before))?;
    check_amounts(
        u.total_amount.unwrap_or(before.total_amount),
        u.amount_due.unwrap_or(before.amount_due),
    )?;
    let after = found(
        repo::contract::update(&mut tx, u.id, u.total_amount, u.amount_due).await?,
        "contract",
        u.id,
    )?;
    let details = diff(&[
        ("total_amount", json!(before.total_amount), json!(after.total_amount)),
        ("amount_due", json!(before.amount_due), json!(after.amount_due)),
    ]);
    tx.audit(Some(actor), Change::Command(Action::ContractUpdate), u.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(after)
}

pub async fn sign(db: &mut PgConnection, actor: &Actor, req: ContractSign) -> Result<Contract> {
    let id = req.id;
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::contract::get_for_update(&mut tx, id).await?, "contract", id)?;
    actor.authorize(Action::ContractSign, owner(&before))?;
    let c = repo::contract::sign(&mut tx, id)
        .await?
        .ok_or_else(|| Error::conflict(format!("contract {id} is already signed")))?;
    tx.audit(Some(actor), Change::Command(Action::ContractSign), id, json!({})).await?;
    tx.commit(Some(actor)).await?;
    Ok(c)
}

pub async fn pay(db: &mut PgConnection, actor: &Actor, req: ContractPay) -> Result<Contract> {
    let (id, amount) = (req.id, req.amount);
    if amount.is_zero() {
        return Err(Error::usage("the payment must be above 0"));
    }
    let paid_on = req.paid_on.map(Timestamp::utc);
    if paid_on.is_some_and(|t| t > chrono::Utc::now()) {
        return Err(Error::usage("a payment cannot be recorded as paid in the future"));
    }
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::contract::get_for_update(&mut tx, id).await?, "contract", id)?;
    actor.authorize(Action::ContractPay, owner(&before))?;
    let c = repo::contract::pay(&mut tx, id, amount).await?.ok_or_else(|| {
        Error::conflict(format!(
            "the payment of {amount} exceeds the amount due ({})",
            before.amount_due
        ))
    })?;
    // the record, in the same transaction as the balance it explains
    let p = repo::payment::insert(&mut tx, id, amount, paid_on, actor.id).await?;
    let details = json!({
        "amount": amount,
        "amount_due": { "from": before.amount_due, "to": c.amount_due },
        "payment_id": p.id,
        "paid_on": p.paid_on,
    });
    tx.audit(Some(actor), Change::Command(Action::ContractPay), id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(c)
}

pub async fn delete(db: &mut PgConnection, actor: &Actor, req: ContractDelete) -> Result<Contract> {
    let mut tx = Tx::begin(db).await?;
    let c = delete_in(&mut tx, actor, req.id).await?;
    tx.commit(Some(actor)).await?;
    Ok(c)
}

/// The delete, up to its commit: also what `Preflight::Delete` runs and rolls back.
pub async fn delete_in(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<Contract> {
    actor.authorize(Action::ContractDelete, Facts::default())?;
    let before = found(repo::contract::get_for_update(tx, id).await?, "contract", id)?;
    repo::contract::delete(tx, id).await?;
    let details = snapshot(&before, DERIVED);
    tx.audit(Some(actor), Change::Command(Action::ContractDelete), id, details).await?;
    Ok(before)
}
