//! The `employees` table.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::UnnamedExt;
use super::{RowSink, on_delete, on_write, push_page};
use crate::api::{Employee, EmployeeQuery, EmployeeState, Page};
use crate::domain::{Email, Name, Role};
use crate::error::Result;

pub struct NewEmployeeRow<'a> {
    pub first_name: &'a Name,
    pub last_name: &'a Name,
    pub email: &'a Email,
    pub role: Role,
    pub password_hash: &'a str,
}

pub async fn insert(db: &mut PgConnection, e: &NewEmployeeRow<'_>) -> Result<Employee> {
    sqlx::query_as!(
        Employee,
        r#"insert into employees (first_name, last_name, email, role, password_hash)
           values ($1, $2, $3, $4, $5)
           returning id, first_name, last_name, email, role as "role: Role", is_active,
                     created_at, updated_at, deactivated_at"#,
        e.first_name.as_str(),
        e.last_name.as_str(),
        e.email.as_str(),
        e.role as Role,
        e.password_hash,
    )
    .unnamed()
    .fetch_one(db)
    .await
    .map_err(on_write)
}

pub async fn get(db: &mut PgConnection, id: i64) -> Result<Option<Employee>> {
    Ok(sqlx::query_as!(
        Employee,
        r#"select id, first_name, last_name, email, role as "role: Role", is_active,
                  created_at, updated_at, deactivated_at
           from employees where id = $1"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// Locks the row for the rest of the transaction.
pub async fn get_for_update(db: &mut PgConnection, id: i64) -> Result<Option<Employee>> {
    Ok(sqlx::query_as!(
        Employee,
        r#"select id, first_name, last_name, email, role as "role: Role", is_active,
                  created_at, updated_at, deactivated_at
           from employees where id = $1 for update"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// What login needs: the hash and whether the account may log in.
pub struct Credentials {
    pub id: i64,
    pub password_hash: String,
    pub is_active: bool,
}

super::positional! { Credentials { id, password_hash, is_active } }

pub async fn credentials_by_email(
    db: &mut PgConnection,
    email: &Email,
) -> Result<Option<Credentials>> {
    Ok(sqlx::query_as!(
        Credentials,
        "select id, password_hash, is_active from employees where lower(email) = lower($1)",
        email.as_str()
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

pub async fn password_hash(db: &mut PgConnection, id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!("select password_hash from employees where id = $1", id)
        .persistent(false)
        .fetch_optional(db)
        .await?)
}

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests).
pub fn list_query(prefix: &str, q: &EmployeeQuery, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select id, first_name, last_name, email, role, is_active, created_at, updated_at, \
         deactivated_at from employees where true",
    );
    if let Some(r) = q.role {
        qb.push(" and role = ").push_bind(r.as_str());
    }
    match q.state {
        EmployeeState::Active => qb.push(" and is_active"),
        EmployeeState::Inactive => qb.push(" and not is_active"),
        EmployeeState::All => &mut qb,
    };
    push_page(&mut qb, "id", false, page);
    qb
}

pub async fn list(
    db: &mut PgConnection,
    q: &EmployeeQuery,
    page: Page,
    sink: &mut impl RowSink<Employee>,
) -> Result<()> {
    super::stream(db, list_query("", q, page), sink).await
}

pub struct EmployeeChanges<'a> {
    pub first_name: Option<&'a Name>,
    pub last_name: Option<&'a Name>,
    pub email: Option<&'a Email>,
    pub role: Option<Role>,
}

pub async fn update(
    db: &mut PgConnection,
    id: i64,
    c: &EmployeeChanges<'_>,
) -> Result<Option<Employee>> {
    sqlx::query_as!(
        Employee,
        r#"update employees set
               first_name = coalesce($2, first_name),
               last_name = coalesce($3, last_name),
               email = coalesce($4, email),
               role = coalesce($5, role)
           where id = $1
           returning id, first_name, last_name, email, role as "role: Role", is_active,
                     created_at, updated_at, deactivated_at"#,
        id,
        c.first_name.map(Name::as_str),
        c.last_name.map(Name::as_str),
        c.email.map(Email::as_str),
        c.role.map(Role::as_str),
    )
    .unnamed()
    .fetch_optional(db)
    .await
    // a role change is refused while clients or events still point at the old role
    .map_err(on_delete(id))
}

/// Replaces a hash of other parameters by one of today's (a login, spec §14), only if it is
/// still the hash that was checked: a password changed meanwhile is never overwritten.
/// Whether it was replaced.
pub async fn rehash(db: &mut PgConnection, id: i64, old: &str, new: &str) -> Result<bool> {
    let done = sqlx::query!(
        "update employees set password_hash = $3 where id = $1 and password_hash = $2",
        id,
        old,
        new
    )
    .persistent(false)
    .execute(db)
    .await
    .map_err(on_write)?;
    Ok(done.rows_affected() == 1)
}

/// Sets the password hash; the changed row, or `None` when it does not exist.
pub async fn set_password_hash(
    db: &mut PgConnection,
    id: i64,
    hash: &str,
) -> Result<Option<Employee>> {
    sqlx::query_as!(
        Employee,
        r#"update employees set password_hash = $2 where id = $1
           returning id, first_name, last_name, email, role as "role: Role", is_active,
                     created_at, updated_at, deactivated_at"#,
        id,
        hash
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

/// Sets `is_active`; `None` when the row does not exist.
pub async fn set_active(db: &mut PgConnection, id: i64, active: bool) -> Result<Option<Employee>> {
    sqlx::query_as!(
        Employee,
        r#"update employees set
               is_active = $2,
               deactivated_at = case when $2 then null else coalesce(deactivated_at, now()) end
           where id = $1
           returning id, first_name, last_name, email, role as "role: Role", is_active,
                     created_at, updated_at, deactivated_at"#,
        id,
        active
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

pub async fn delete(db: &mut PgConnection, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from employees where id = $1", id)
        .persistent(false)
        .execute(db)
        .await
        .map_err(on_delete(id))?;
    Ok(r.rows_affected() == 1)
}

pub async fn any_exists(db: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar!(r#"select exists (select 1 from employees) as "e!""#)
        .persistent(false)
        .fetch_one(db)
        .await?)
}

/// Active managers other than `id`.
pub async fn other_active_managers(db: &mut PgConnection, id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from employees
           where role = 'MANAGEMENT' and is_active and id <> $1"#,
        id
    )
    .persistent(false)
    .fetch_one(db)
    .await?)
}

/// Serialises bootstraps and changes to who manages: a transaction-level advisory lock, held
/// until the transaction ends (a session-level one would outlive it behind a pooler).
pub async fn lock_bootstrap(db: &mut PgConnection) -> Result<()> {
    sqlx::query("select pg_advisory_xact_lock(7301, 1)").persistent(false).execute(db).await?;
    Ok(())
}
