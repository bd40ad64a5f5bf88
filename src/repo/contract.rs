//! The `contracts` table. Changes that race (sign, pay) are single guarded statements.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};

use super::Page;

use crate::error::Result;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Contract {
    pub id: i64,
    pub client_id: i64,
    pub sales_contact_id: i64,
    #[serde(serialize_with = "crate::domain::serialize_decimal")]
    pub total_amount: Decimal,
    #[serde(serialize_with = "crate::domain::serialize_decimal")]
    pub amount_due: Decimal,
    pub is_signed: bool,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates a contract for a client; its sales contact is the client's. `None`: no client.
pub async fn insert(
    db: impl PgExecutor<'_>,
    client_id: i64,
    total: Decimal,
    due: Decimal,
    signed: bool,
) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        "insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
         select id, sales_contact_id, $2, $3, $4, case when $4 then now() end
         from clients where id = $1
         returning id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at,
                   created_at, updated_at",
        client_id,
        total,
        due,
        signed
    )
    .fetch_optional(db)
    .await?)
}

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        "select id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at,
                created_at, updated_at
         from contracts where id = $1",
        id
    )
    .fetch_optional(db)
    .await?)
}

pub async fn get_for_update(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        "select id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at,
                created_at, updated_at
         from contracts where id = $1 for update",
        id
    )
    .fetch_optional(db)
    .await?)
}

#[derive(Default)]
pub struct ContractFilter {
    pub unsigned: bool,
    pub unpaid: bool,
    pub sales_contact_id: Option<i64>,
    pub client_id: Option<i64>,
}

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests).
pub fn list_query(prefix: &str, f: &ContractFilter, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at, \
         created_at, updated_at from contracts where true",
    );
    if f.unsigned {
        qb.push(" and not is_signed");
    }
    if f.unpaid {
        qb.push(" and amount_due > 0");
    }
    if let Some(id) = f.sales_contact_id {
        qb.push(" and sales_contact_id = ").push_bind(id);
    }
    if let Some(id) = f.client_id {
        qb.push(" and client_id = ").push_bind(id);
    }
    page.push(&mut qb, "id");
    qb
}

pub async fn list(
    db: &mut PgConnection,
    f: &ContractFilter,
    page: Page,
    sink: impl FnMut(Contract) -> Result<bool>,
) -> Result<()> {
    super::stream(db, list_query("", f, page), page, sink).await
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    total: Option<Decimal>,
    due: Option<Decimal>,
) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        "update contracts set
             total_amount = coalesce($2, total_amount),
             amount_due = coalesce($3, amount_due)
         where id = $1
         returning id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at,
                   created_at, updated_at",
        id,
        total,
        due
    )
    .fetch_optional(db)
    .await?)
}

/// Signs an unsigned contract; `None` when it was already signed (or does not exist).
pub async fn sign(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        "update contracts set is_signed = true, signed_at = now()
         where id = $1 and not is_signed
         returning id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at,
                   created_at, updated_at",
        id
    )
    .fetch_optional(db)
    .await?)
}

/// Lowers the amount due by `amount` if that leaves it at 0 or more; `None` otherwise.
pub async fn pay(db: impl PgExecutor<'_>, id: i64, amount: Decimal) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        "update contracts set amount_due = amount_due - $2
         where id = $1 and amount_due >= $2
         returning id, client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at,
                   created_at, updated_at",
        id,
        amount
    )
    .fetch_optional(db)
    .await?)
}

pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from contracts where id = $1", id)
        .execute(db)
        .await
        .map_err(super::still_referenced)?;
    Ok(r.rows_affected() == 1)
}
