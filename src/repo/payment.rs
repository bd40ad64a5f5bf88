//! The `payments` table (spec §16): one row per `contract pay`, never changed.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::UnnamedExt;
use super::{RowSink, on_write, push_page};
use crate::api::{Page, Payment};
use crate::domain::Money;
use crate::error::Result;

pub async fn insert(
    db: &mut PgConnection,
    contract_id: i64,
    amount: Money,
    paid_on: Option<DateTime<Utc>>,
    recorded_by_id: i64,
) -> Result<Payment> {
    sqlx::query_as!(
        Payment,
        r#"insert into payments (contract_id, amount, paid_on, recorded_by_id)
           values ($1, $2, coalesce($3, now()), $4)
           returning id, contract_id, amount as "amount: Money", paid_on, recorded_by_id,
                     recorded_at"#,
        contract_id,
        amount as Money,
        paid_on,
        recorded_by_id
    )
    .unnamed()
    .fetch_one(db)
    .await
    .map_err(on_write)
}

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests): a contract's
/// payments by id, on `payments_contract_idx`.
pub fn list_query(prefix: &str, contract_id: i64, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select id, contract_id, amount, paid_on, recorded_by_id, recorded_at \
         from payments where contract_id = ",
    )
    .push_bind(contract_id);
    push_page(&mut qb, "id", false, page);
    qb
}

pub async fn list(
    db: &mut PgConnection,
    contract_id: i64,
    page: Page,
    sink: &mut impl RowSink<Payment>,
) -> Result<()> {
    super::stream(db, list_query("", contract_id, page), sink).await
}
