//! The append-only `audit_log` table (spec §7).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgExecutor;

use crate::error::Result;

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub changes: serde_json::Value,
}

pub async fn record(
    db: impl PgExecutor<'_>,
    actor_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: i64,
    changes: serde_json::Value,
) -> Result<()> {
    sqlx::query!(
        "insert into audit_log (actor_id, action, entity, entity_id, changes)
         values ($1, $2, $3, $4, $5)",
        actor_id,
        action,
        entity,
        entity_id,
        changes
    )
    .execute(db)
    .await?;
    crate::telemetry::business_event(action, entity, entity_id);
    Ok(())
}

pub async fn list(db: impl PgExecutor<'_>, limit: i64, offset: i64) -> Result<Vec<AuditEntry>> {
    Ok(sqlx::query_as!(
        AuditEntry,
        "select id, at, actor_id, action, entity, entity_id, changes
         from audit_log order by id desc limit $1 offset $2",
        limit,
        offset
    )
    .fetch_all(db)
    .await?)
}
