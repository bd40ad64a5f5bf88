//! The audit trail, for managers.

use sqlx::PgConnection;

use crate::auth::guard::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::error::Result;
use crate::repo::{self, audit::AuditEntry};

pub async fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditEntry>> {
    actor.authorize(Action::AuditList, Facts::default())?;
    repo::audit::list(conn, limit, offset).await
}
