//! The `installation` table: one row, this installation's identity.

use sqlx::PgConnection;

use crate::error::Result;

pub async fn id(db: &mut PgConnection) -> Result<uuid::Uuid> {
    Ok(sqlx::query_scalar!("select id from installation").persistent(false).fetch_one(db).await?)
}
