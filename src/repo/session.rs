//! The `sessions` and `refresh_tokens` tables: server-side state of logins and rotation.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::Result;

pub async fn create_session(db: impl PgExecutor<'_>, id: Uuid, employee_id: i64) -> Result<()> {
    sqlx::query!("insert into sessions (id, employee_id) values ($1, $2)", id, employee_id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn insert_refresh(
    db: impl PgExecutor<'_>,
    jti: Uuid,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query!(
        "insert into refresh_tokens (jti, session_id, expires_at) values ($1, $2, $3)",
        jti,
        session_id,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

pub struct RefreshState {
    pub session_id: Uuid,
    pub used: bool,
    pub session_revoked: bool,
    pub employee_id: i64,
    pub employee_active: bool,
}

/// The state of a refresh token, its row locked until the transaction ends so that two
/// rotations of one token cannot both succeed.
pub async fn refresh_state_for_update(
    db: impl PgExecutor<'_>,
    jti: Uuid,
) -> Result<Option<RefreshState>> {
    Ok(sqlx::query_as!(
        RefreshState,
        r#"select r.session_id, r.used_at is not null as "used!",
                  s.revoked_at is not null as "session_revoked!",
                  e.id as employee_id, e.is_active as employee_active
           from refresh_tokens r
           join sessions s on s.id = r.session_id
           join employees e on e.id = s.employee_id
           where r.jti = $1
           for update of r"#,
        jti
    )
    .fetch_optional(db)
    .await?)
}

pub async fn mark_used(db: impl PgExecutor<'_>, jti: Uuid) -> Result<()> {
    sqlx::query!("update refresh_tokens set used_at = now() where jti = $1", jti)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn revoke_session(db: impl PgExecutor<'_>, id: Uuid) -> Result<()> {
    sqlx::query!("update sessions set revoked_at = coalesce(revoked_at, now()) where id = $1", id)
        .execute(db)
        .await?;
    Ok(())
}

/// Revokes every live session of an employee, but `keep` (the caller's own, if any).
pub async fn revoke_all_of(
    db: impl PgExecutor<'_>,
    employee_id: i64,
    keep: Option<Uuid>,
) -> Result<()> {
    sqlx::query!(
        "update sessions set revoked_at = now()
         where employee_id = $1 and revoked_at is null and id is distinct from $2",
        employee_id,
        keep
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Removes an employee's session history (before deleting the employee).
pub async fn delete_all_of(tx: &mut sqlx::PgConnection, employee_id: i64) -> Result<()> {
    sqlx::query!(
        "delete from refresh_tokens where session_id in
             (select id from sessions where employee_id = $1)",
        employee_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("delete from sessions where employee_id = $1", employee_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// What the guard needs on every command, in one round trip: the employee as the database
/// has them now, and whether the session the token belongs to is still alive.
pub struct Principal {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub is_active: bool,
    pub session_live: bool,
}

pub async fn principal(
    db: impl PgExecutor<'_>,
    employee_id: i64,
    session_id: Uuid,
) -> Result<Option<Principal>> {
    Ok(sqlx::query_as!(
        Principal,
        r#"select e.id, e.first_name, e.last_name, e.email, e.role as "role: Role", e.is_active,
                  (s.revoked_at is null) as "session_live!"
           from employees e join sessions s on s.employee_id = e.id
           where e.id = $1 and s.id = $2"#,
        employee_id,
        session_id
    )
    .fetch_optional(db)
    .await?)
}
