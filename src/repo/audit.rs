//! The append-only `audit_log` table (spec §7).

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{RowSink, on_write, push_page};
use crate::api::{AuditEntry, AuditQuery, Page};
use crate::error::Result;

pub struct NewEntry<'a> {
    pub actor_id: Option<i64>,
    pub actor_name: Option<&'a str>,
    pub action: &'a str,
    /// `None` (with no id) for an entry about no row: a failed login with an unknown e-mail.
    pub entity: Option<&'a str>,
    pub entity_id: Option<i64>,
    pub changes: &'a serde_json::Value,
}

pub async fn insert(db: &mut PgConnection, e: &NewEntry<'_>) -> Result<()> {
    sqlx::query!(
        "insert into audit_log (actor_id, actor_name, action, entity, entity_id, changes)
         values ($1, $2, $3, $4, $5, $6)",
        e.actor_id,
        e.actor_name,
        e.action,
        e.entity,
        e.entity_id,
        e.changes
    )
    .persistent(false)
    .execute(db)
    .await
    .map_err(on_write)?;
    Ok(())
}

/// Newest first; `--after ID` continues with the entries before that one. The filters have
/// their indexes (`audit_log_entity_idx`, `audit_log_actor_idx`, `audit_log_since_idx`).
pub fn list_query(prefix: &str, q: &AuditQuery, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select id, at, actor_id, actor_name, action, entity, entity_id, changes \
         from audit_log where true",
    );
    if let Some(e) = q.entity {
        qb.push(" and entity = ").push_bind(e.as_str());
    }
    if let Some(id) = q.id {
        qb.push(" and entity_id = ").push_bind(id);
    }
    if let Some(actor) = q.actor {
        qb.push(" and actor_id = ").push_bind(actor);
    }
    if let Some(t) = q.since {
        qb.push(" and at >= ").push_bind(t.utc());
    }
    push_page(&mut qb, "id", true, page);
    qb
}

pub async fn list(
    db: &mut PgConnection,
    q: &AuditQuery,
    page: Page,
    sink: &mut impl RowSink<AuditEntry>,
) -> Result<()> {
    super::stream(db, list_query("", q, page), sink).await
}
