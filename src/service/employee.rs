//! Employees: the bootstrap, and the MANAGEMENT-only administration of accounts.

use serde_json::json;
use sqlx::{Acquire, PgConnection};

use crate::auth::guard::Actor;
use crate::auth::password;
use crate::auth::permissions::{Action, Facts};
use crate::domain::{Email, Name, Password, Role};
use crate::error::{Error, Result};
use crate::repo::employee::{Employee, EmployeeChanges, NewEmployee};
use crate::repo::{self, Page, found};

pub struct NewEmployeeInput {
    pub first_name: Name,
    pub last_name: Name,
    pub email: Email,
    pub role: Role,
    pub password: Password,
}

/// Creates an employee. With no actor, this is the bootstrap: allowed only while the
/// table is empty and only for a MANAGEMENT account; racing bootstraps make exactly one.
pub async fn create(
    conn: &mut PgConnection,
    actor: Option<&Actor>,
    input: NewEmployeeInput,
) -> Result<Employee> {
    if let Some(a) = actor {
        a.authorize(Action::EmployeeCreate, Facts::default())?;
    }
    // hashing is slow: do it before taking any lock
    let hash = password::hash(&input.password)?;
    let mut tx = conn.begin().await?;
    if actor.is_none() {
        repo::employee::lock_bootstrap(&mut *tx).await?;
        if repo::employee::any_exists(&mut *tx).await? {
            return Err(Error::unauthenticated(
                "not logged in: only the very first employee can be created without a session",
            )
            .with_hint("log in as a manager with `epicevents login`"));
        }
        if input.role != Role::Management {
            return Err(Error::forbidden(
                "the first employee must have the MANAGEMENT role (bootstrap)",
            ));
        }
    }
    let e = repo::employee::insert(
        &mut *tx,
        &NewEmployee {
            first_name: &input.first_name,
            last_name: &input.last_name,
            email: &input.email,
            role: input.role,
            password_hash: &hash,
        },
    )
    .await?;
    repo::audit::record(
        &mut *tx,
        actor.map(|a| a.id),
        if actor.is_none() { "employee.bootstrap" } else { "employee.create" },
        "employee",
        e.id,
        json!({ "first_name": e.first_name, "last_name": e.last_name, "email": e.email,
                "role": e.role }),
    )
    .await?;
    tx.commit().await?;
    Ok(e)
}

/// Refuses a change that would leave no active manager: nobody could administer the CRM
/// any more, and the bootstrap only opens on an empty table. Serialised, so that two
/// managers removing each other at the same moment cannot both succeed.
async fn keep_a_manager(tx: &mut PgConnection, target: &Employee) -> Result<()> {
    if target.role != Role::Management || !target.is_active {
        return Ok(());
    }
    repo::employee::lock_bootstrap(&mut *tx).await?;
    if repo::employee::other_active_managers(&mut *tx, target.id).await? == 0 {
        return Err(Error::conflict("this is the last active manager: promote another first"));
    }
    Ok(())
}

/// Whether the employee table is still empty (bootstrap mode).
pub async fn bootstrap_open(conn: &mut PgConnection) -> Result<bool> {
    Ok(!repo::employee::any_exists(conn).await?)
}

pub async fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    role: Option<Role>,
    include_inactive: bool,
    page: Page,
    sink: impl FnMut(Employee) -> Result<bool>,
) -> Result<()> {
    actor.authorize(Action::EmployeeList, Facts::default())?;
    repo::employee::list(conn, role, include_inactive, page, sink).await
}

pub async fn show(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Employee> {
    actor.authorize(Action::EmployeeShow, Facts { employee: Some(id), ..Default::default() })?;
    found(repo::employee::get(conn, id).await?, "employee", id)
}

pub struct EmployeeUpdate {
    pub first_name: Option<Name>,
    pub last_name: Option<Name>,
    pub email: Option<Email>,
    pub role: Option<Role>,
}

pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    u: EmployeeUpdate,
) -> Result<Employee> {
    actor.authorize(Action::EmployeeUpdate, Facts { employee: Some(id), ..Default::default() })?;
    let mut tx = conn.begin().await?;
    let before = found(repo::employee::get_for_update(&mut *tx, id).await?, "employee", id)?;
    if before.role == Role::Management && u.role.is_some_and(|r| r != Role::Management) {
        keep_a_manager(&mut tx, &before).await?;
    }
    let after = found(
        repo::employee::update(
            &mut *tx,
            id,
            &EmployeeChanges {
                first_name: u.first_name.as_ref(),
                last_name: u.last_name.as_ref(),
                email: u.email.as_ref(),
                role: u.role,
            },
        )
        .await?,
        "employee",
        id,
    )?;
    let changes = repo::audit::changes(&[
        ("first_name", json!(before.first_name), json!(after.first_name)),
        ("last_name", json!(before.last_name), json!(after.last_name)),
        ("email", json!(before.email), json!(after.email)),
        ("role", json!(before.role), json!(after.role)),
    ]);
    repo::audit::record(&mut *tx, Some(actor.id), "employee.update", "employee", id, changes)
        .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn set_password(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    new: &Password,
) -> Result<()> {
    actor.authorize(
        Action::EmployeeSetPassword,
        Facts { employee: Some(id), ..Default::default() },
    )?;
    let hash = password::hash(new)?;
    let mut tx = conn.begin().await?;
    if !repo::employee::set_password_hash(&mut *tx, id, &hash).await? {
        return Err(Error::not_found(format!("employee {id} not found")));
    }
    // a new password ends the other sessions of that account (not the one making the change)
    repo::session::revoke_all_of(&mut *tx, id, Some(actor.session)).await?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "employee.set_password",
        "employee",
        id,
        json!({ "password": "changed" }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deactivates or reactivates. Deactivation also revokes every session of the employee.
pub async fn set_active(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    active: bool,
) -> Result<Employee> {
    let action = if active { Action::EmployeeReactivate } else { Action::EmployeeDeactivate };
    actor.authorize(action, Facts { employee: Some(id), ..Default::default() })?;
    let mut tx = conn.begin().await?;
    let before = found(repo::employee::get_for_update(&mut *tx, id).await?, "employee", id)?;
    if before.is_active == active {
        let state = if active { "active" } else { "deactivated" };
        return Err(Error::conflict(format!("employee {id} is already {state}")));
    }
    if !active {
        keep_a_manager(&mut tx, &before).await?;
    }
    let after = found(repo::employee::set_active(&mut *tx, id, active).await?, "employee", id)?;
    if !active {
        repo::session::revoke_all_of(&mut *tx, id, None).await?;
    }
    let name = if active { "employee.reactivate" } else { "employee.deactivate" };
    repo::audit::record(&mut *tx, Some(actor.id), name, "employee", id, json!({})).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<Employee> {
    actor.authorize(Action::EmployeeDelete, Facts { employee: Some(id), ..Default::default() })?;
    let mut tx = conn.begin().await?;
    let before = found(repo::employee::get_for_update(&mut *tx, id).await?, "employee", id)?;
    keep_a_manager(&mut tx, &before).await?;
    repo::session::delete_all_of(&mut tx, id).await?;
    repo::employee::delete(&mut *tx, id).await?;
    repo::audit::record(
        &mut *tx,
        Some(actor.id),
        "employee.delete",
        "employee",
        id,
        json!({ "email": before.email, "role": before.role }),
    )
    .await?;
    tx.commit().await?;
    Ok(before)
}
