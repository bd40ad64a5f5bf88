//! The `contracts` table, read with its client's and sales contact's names. Changes that race
//! (sign, pay) are single guarded statements.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::UnnamedExt;
use super::{RowSink, on_delete, on_write, push_page};
use crate::api::{Contract, ContractDetail, ContractQuery, Page};
use crate::domain::Money;
use crate::error::{Error, Result};

/// Creates a contract for a client; its sales contact is the client's. `None`: no client.
pub async fn insert(
    db: &mut PgConnection,
    client_id: i64,
    total: Money,
    due: Money,
    signed: bool,
) -> Result<Option<Contract>> {
    sqlx::query_as!(
        Contract,
        r#"with k as (
               insert into contracts
                   (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
               select id, sales_contact_id, $2, $3, $4, case when $4 then now() end
               from clients where id = $1
               returning *)
           select k.id, k.client_id, c.first_name || ' ' || c.last_name as "client_name!",
                  k.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  k.total_amount as "total_amount: Money", k.amount_due as "amount_due: Money",
                  k.is_signed, k.signed_at, k.created_at, k.updated_at
           from k join clients c on c.id = k.client_id join employees s on s.id = k.sales_contact_id"#,
        client_id,
        total as Money,
        due as Money,
        signed
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

pub async fn get(db: &mut PgConnection, id: i64) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        r#"select k.id, k.client_id, c.first_name || ' ' || c.last_name as "client_name!",
                  k.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  k.total_amount as "total_amount: Money", k.amount_due as "amount_due: Money",
                  k.is_signed, k.signed_at, k.created_at, k.updated_at
           from contracts k join clients c on c.id = k.client_id
                join employees s on s.id = k.sales_contact_id
           where k.id = $1"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// Locks the contract row for the rest of the transaction.
pub async fn get_for_update(db: &mut PgConnection, id: i64) -> Result<Option<Contract>> {
    Ok(sqlx::query_as!(
        Contract,
        r#"select k.id, k.client_id, c.first_name || ' ' || c.last_name as "client_name!",
                  k.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  k.total_amount as "total_amount: Money", k.amount_due as "amount_due: Money",
                  k.is_signed, k.signed_at, k.created_at, k.updated_at
           from contracts k join clients c on c.id = k.client_id
                join employees s on s.id = k.sales_contact_id
           where k.id = $1 for update of k"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests). `mine` is the
/// caller's id when the query asks for their clients' contracts only.
pub fn list_query(
    prefix: &str,
    q: &ContractQuery,
    mine: Option<i64>,
    page: Page,
) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select k.id, k.client_id, c.first_name || ' ' || c.last_name as client_name, \
         k.sales_contact_id, s.first_name || ' ' || s.last_name as sales_contact_name, \
         k.total_amount, k.amount_due, k.is_signed, k.signed_at, k.created_at, k.updated_at \
         from contracts k join clients c on c.id = k.client_id \
         join employees s on s.id = k.sales_contact_id where true",
    );
    if q.unsigned {
        qb.push(" and not k.is_signed");
    }
    if q.unpaid {
        qb.push(" and k.amount_due > 0");
    }
    if let Some(id) = mine {
        qb.push(" and k.sales_contact_id = ").push_bind(id);
    }
    if let Some(id) = q.client {
        qb.push(" and k.client_id = ").push_bind(id);
    }
    push_page(&mut qb, "k.id", false, page);
    qb
}

pub async fn list(
    db: &mut PgConnection,
    q: &ContractQuery,
    mine: Option<i64>,
    page: Page,
    sink: &mut impl RowSink<Contract>,
) -> Result<()> {
    super::stream(db, list_query("", q, mine, page), sink).await
}

pub async fn update(
    db: &mut PgConnection,
    id: i64,
    total: Option<Money>,
    due: Option<Money>,
) -> Result<Option<Contract>> {
    sqlx::query_as!(
        Contract,
        r#"with k as (
               update contracts set
                   total_amount = coalesce($2, total_amount),
                   amount_due = coalesce($3, amount_due)
               where id = $1 returning *)
           select k.id, k.client_id, c.first_name || ' ' || c.last_name as "client_name!",
                  k.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  k.total_amount as "total_amount: Money", k.amount_due as "amount_due: Money",
                  k.is_signed, k.signed_at, k.created_at, k.updated_at
           from k join clients c on c.id = k.client_id join employees s on s.id = k.sales_contact_id"#,
        id,
        total as Option<Money>,
        due as Option<Money>
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

/// Signs an unsigned contract; `None` when it was already signed (or does not exist).
pub async fn sign(db: &mut PgConnection, id: i64) -> Result<Option<Contract>> {
    sqlx::query_as!(
        Contract,
        r#"with k as (
               update contracts set is_signed = true, signed_at = now()
               where id = $1 and not is_signed returning *)
           select k.id, k.client_id, c.first_name || ' ' || c.last_name as "client_name!",
                  k.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  k.total_amount as "total_amount: Money", k.amount_due as "amount_due: Money",
                  k.is_signed, k.signed_at, k.created_at, k.updated_at
           from k join clients c on c.id = k.client_id join employees s on s.id = k.sales_contact_id"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

/// Lowers the amount due by `amount` if that leaves it at 0 or more; `None` otherwise.
pub async fn pay(db: &mut PgConnection, id: i64, amount: Money) -> Result<Option<Contract>> {
    sqlx::query_as!(
        Contract,
        r#"with k as (
               update contracts set amount_due = amount_due - $2
               where id = $1 and amount_due >= $2 returning *)
           select k.id, k.client_id, c.first_name || ' ' || c.last_name as "client_name!",
                  k.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  k.total_amount as "total_amount: Money", k.amount_due as "amount_due: Money",
                  k.is_signed, k.signed_at, k.created_at, k.updated_at
           from k join clients c on c.id = k.client_id join employees s on s.id = k.sales_contact_id"#,
        id,
        amount as Money
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

pub async fn delete(db: &mut PgConnection, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from contracts where id = $1", id)
        .persistent(false)
        .execute(db)
        .await
        .map_err(on_delete(id))?;
    Ok(r.rows_affected() == 1)
}

/// `contract show` for people: the contract and its events (in start order) in one
/// statement, as JSON in the shape of [`ContractDetail`]. `None`: no such contract.
pub async fn overview(db: &mut PgConnection, id: i64) -> Result<Option<ContractDetail>> {
    let json = sqlx::query_scalar!(
        r#"with k as (
               select k.id, k.client_id, c.first_name || ' ' || c.last_name as client_name,
                      k.sales_contact_id, s.first_name || ' ' || s.last_name as sales_contact_name,
                      k.total_amount::text as total_amount, k.amount_due::text as amount_due,
                      k.is_signed, k.signed_at, k.created_at, k.updated_at
               from contracts k join clients c on c.id = k.client_id
                    join employees s on s.id = k.sales_contact_id
               where k.id = $1)
           select json_build_object(
               'contract', (select row_to_json(k) from k),
               'events', coalesce((
                   select json_agg(e order by e.start_at, e.id) from (
                       select e.id, e.contract_id, e.client_id,
                              c.first_name || ' ' || c.last_name as client_name, e.name,
                              e.start_at, e.end_at, e.location, e.attendees, e.notes,
                              e.support_contact_id,
                              s.first_name || ' ' || s.last_name as support_contact_name,
                              e.created_at, e.updated_at
                       from events e join clients c on c.id = e.client_id
                            left join employees s on s.id = e.support_contact_id
                       where e.contract_id = $1) e), '[]')
           ) as "detail!"
           from k"#,
        id
    )
    .persistent(false)
    .fetch_optional(db)
    .await?;
    json.map(|j| {
        serde_json::from_value(j).map_err(|e| Error::internal("BUG: a contract overview's JSON", e))
    })
    .transpose()
}
