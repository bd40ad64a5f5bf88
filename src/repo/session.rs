//! The `sessions` and `refresh_tokens` tables: server-side state of logins and rotation.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::UnnamedExt;
use super::on_write;
use crate::domain::Role;
use crate::error::Result;

pub async fn create_session(
    db: &mut PgConnection,
    id: Uuid,
    employee_id: i64,
) -> Result<DateTime<Utc>> {
    sqlx::query_scalar!(
        "insert into sessions (id, employee_id) values ($1, $2) returning created_at",
        id,
        employee_id
    )
    .persistent(false)
    .fetch_one(db)
    .await
    .map_err(on_write)
}

pub async fn insert_refresh(
    db: &mut PgConnection,
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
    .persistent(false)
    .execute(db)
    .await
    .map_err(on_write)?;
    Ok(())
}

pub struct RefreshState {
    pub session_id: Uuid,
    pub used: bool,
    pub session_revoked: bool,
    pub session_created_at: DateTime<Utc>,
    pub employee_id: i64,
    pub employee_active: bool,
}

super::positional! {
    RefreshState { session_id, used, session_revoked, session_created_at, employee_id, employee_active }
}

/// The state of a refresh token, its row locked until the transaction ends so that two
/// rotations of one token cannot both succeed.
pub async fn refresh_state_for_update(
    db: &mut PgConnection,
    jti: Uuid,
) -> Result<Option<RefreshState>> {
    Ok(sqlx::query_as!(
        RefreshState,
        r#"select r.session_id, r.used_at is not null as "used!",
                  s.revoked_at is not null as "session_revoked!",
                  s.created_at as session_created_at,
                  e.id as employee_id, e.is_active as employee_active
           from refresh_tokens r
           join sessions s on s.id = r.session_id
           join employees e on e.id = s.employee_id
           where r.jti = $1
           for update of r"#,
        jti
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

pub async fn mark_used(db: &mut PgConnection, jti: Uuid) -> Result<()> {
    sqlx::query!("update refresh_tokens set used_at = now() where jti = $1", jti)
        .persistent(false)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends a session; returns whether it was live until now.
pub async fn revoke_session(db: &mut PgConnection, id: Uuid) -> Result<bool> {
    let r = sqlx::query!(
        "update sessions set revoked_at = now() where id = $1 and revoked_at is null",
        id
    )
    .persistent(false)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Ends a session (logout); returns whose it was (id and name) when it was live until now.
pub async fn end_session(db: &mut PgConnection, id: Uuid) -> Result<Option<(i64, String)>> {
    let row = sqlx::query_as!(
        Ended,
        r#"update sessions s set revoked_at = now() from employees e
           where s.id = $1 and s.revoked_at is null and e.id = s.employee_id
           returning e.id, e.first_name || ' ' || e.last_name as "name!""#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.name)))
}

struct Ended {
    id: i64,
    name: String,
}

super::positional! { Ended { id, name } }

/// Revokes every live session of an employee, but `keep` (the caller's own, if any).
pub async fn revoke_all_of(
    db: &mut PgConnection,
    employee_id: i64,
    keep: Option<Uuid>,
) -> Result<()> {
    sqlx::query!(
        "update sessions set revoked_at = now()
         where employee_id = $1 and revoked_at is null and id is distinct from $2",
        employee_id,
        keep
    )
    .persistent(false)
    .execute(db)
    .await?;
    Ok(())
}

/// Removes an employee's session history (before deleting the employee).
pub async fn delete_all_of(db: &mut PgConnection, employee_id: i64) -> Result<()> {
    sqlx::query!(
        "delete from refresh_tokens where session_id in
             (select id from sessions where employee_id = $1)",
        employee_id
    )
    .persistent(false)
    .execute(&mut *db)
    .await?;
    sqlx::query!("delete from sessions where employee_id = $1", employee_id)
        .persistent(false)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// What the guard needs, in one round trip: the employee as the database has them now, and
/// the state of the session the token belongs to.
pub struct Principal {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub is_active: bool,
    pub revoked: bool,
    /// Older than the longest a session may last.
    pub expired: bool,
}

super::positional! { Principal { id, first_name, last_name, email, role, is_active, revoked, expired } }

pub async fn principal(
    db: &mut PgConnection,
    employee_id: i64,
    session_id: Uuid,
    max_days: i64,
) -> Result<Option<Principal>> {
    // Every command and request starts here, so it takes one round trip: the everyday
    // timeouts and the lookup in one simple query, which PostgreSQL runs as one implicit
    // transaction (a pooler in transaction mode keeps it on one server connection; an error
    // rolls it back). The simple protocol has no parameters: the values are two integers and
    // a UUID, written by their own types, so nothing else can reach the text.
    let sql = format!(
        "{everyday}; select e.id, e.first_name, e.last_name, e.email, e.role, e.is_active, \
         (s.revoked_at is not null) as revoked, \
         (s.created_at <= now() - make_interval(days => {days})) as expired \
         from employees e join sessions s on s.employee_id = e.id \
         where e.id = {employee_id} and s.id = '{session_id}'",
        everyday = crate::db::EVERYDAY,
        days = i32::try_from(max_days).unwrap_or(i32::MAX),
    );
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_optional(db).await?;
    Ok(row.as_ref().map(Principal::from_row).transpose()?)
}

/// [`principal`], with the employee row locked `FOR SHARE` until the transaction ends: a
/// write re-checks its author with it just before committing, and a deactivation or role
/// change (which locks the row `FOR UPDATE`) then waits for that commit.
/// The session's age is not looked at again: it was when the command began.
pub async fn principal_for_share(
    db: &mut PgConnection,
    employee_id: i64,
    session_id: Uuid,
) -> Result<Option<Principal>> {
    Ok(sqlx::query_as!(
        Principal,
        r#"select e.id, e.first_name, e.last_name, e.email, e.role as "role: Role", e.is_active,
                  (s.revoked_at is not null) as "revoked!", false as "expired!"
           from employees e join sessions s on s.employee_id = e.id
           where e.id = $1 and s.id = $2
           for share of e"#,
        employee_id,
        session_id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}
