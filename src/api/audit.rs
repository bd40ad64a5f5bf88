//! The audit trail, for managers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    /// The actor's name when the change was made (kept after the employee is deleted).
    pub actor_name: Option<String>,
    pub action: String,
    /// `null` (and no id) for an entry about no row: a failed login with an unknown e-mail.
    pub entity: Option<String>,
    pub entity_id: Option<i64>,
    pub changes: serde_json::Value,
}

/// `audit list [--entity E [--id N]] [--actor ID] [--since DATE]`: newest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<super::Entity>,
    /// The row's id (with `entity`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Changes made by this employee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<i64>,
    /// Changes made at or after this instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<crate::domain::Timestamp>,
}

impl super::Listing for AuditQuery {
    type Row = AuditEntry;
    const ROUTE: &'static str = "/v1/audit";
}
