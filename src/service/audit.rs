//! The audit trail, for managers.

use sqlx::PgConnection;

use crate::auth::guard::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::error::Result;
use crate::repo::{self, Page, audit::AuditEntry};

pub async fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    page: Page,
    sink: impl FnMut(AuditEntry) -> Result<bool>,
) -> Result<()> {
    actor.authorize(Action::AuditList, Facts::default())?;
    repo::audit::list(conn, page, sink).await
}
