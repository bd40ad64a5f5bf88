//! The append-only `audit_log` table (spec §7).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};

use super::Page;

use crate::error::Result;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub changes: serde_json::Value,
}

/// `{field: {"from": …, "to": …}}` for the fields whose value changed.
pub fn changes(fields: &[(&str, serde_json::Value, serde_json::Value)]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (name, from, to) in fields {
        if from != to {
            m.insert((*name).to_owned(), serde_json::json!({ "from": from, "to": to }));
        }
    }
    m.into()
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

/// Newest first.
pub fn list_query(prefix: &str, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push("select id, at, actor_id, action, entity, entity_id, changes from audit_log");
    page.push(&mut qb, "id desc");
    qb
}

pub async fn list(
    db: &mut PgConnection,
    page: Page,
    sink: impl FnMut(AuditEntry) -> Result<bool>,
) -> Result<()> {
    super::stream(db, list_query("", page), page, sink).await
}
