//! The `installation` table: one row, this installation's identity.

use sqlx::PgConnection;

use crate::error::Result;

pub async fn id(db: &mut PgConnection) -> Result<uuid::Uuid> {
    Ok(sqlx::query_scalar!("select id from installation").persistent(false).fetch_one(db).await?)
}

/// Whether `demo` filled this database (its audit entry, which no one can remove).
pub async fn made_by_demo(db: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"select exists(select 1 from audit_log where action = 'database.demo') as "made!""#
    )
    .persistent(false)
    .fetch_one(db)
    .await?)
}
