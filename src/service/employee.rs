//! Employees: the bootstrap, and the MANAGEMENT-only administration of accounts.

use serde_json::json;
use sqlx::PgConnection;

use super::audit::{diff, snapshot};
use super::{Change, Tx};
use crate::api::{
    Deactivate, Employee, EmployeeDelete, EmployeeQuery, EmployeeShow, EmployeeUnlock,
    EmployeeUpdate, NewEmployee, Page, Reactivate, SetPassword, Unlocked,
};
use crate::auth::permissions::{Action, Facts};
use crate::auth::{Actor, password};
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::repo::employee::{EmployeeChanges, NewEmployeeRow};
use crate::repo::{self, RowSink, found};

fn target(id: i64) -> Facts {
    Facts { employee: Some(id), ..Default::default() }
}

/// Whether the employee table is still empty (bootstrap mode).
pub async fn bootstrap_open(db: &mut PgConnection) -> Result<bool> {
    let mut tx = Tx::begin(db).await?;
    let any = repo::employee::any_exists(&mut tx).await?;
    tx.commit(None).await?;
    Ok(!any)
}

pub fn not_logged_in_after_bootstrap() -> Error {
    Error::unauthenticated(
        "not logged in: only the very first employee can be created without a session",
    )
    .with_hint("log in as a manager with `epicevents login`")
}

/// Creates an employee. With no actor, this is the bootstrap: allowed only while the table
/// is empty and only for a MANAGEMENT account; racing bootstraps make exactly one.
pub async fn create(
    db: &mut PgConnection,
    actor: Option<&Actor>,
    req: NewEmployee,
) -> Result<Employee> {
    match actor {
        Some(a) => a.authorize(Action::EmployeeCreate, Facts::default())?,
        // without a session, refused before the (slow, deliberately costly) hash unless the
        // bootstrap is open: anonymous requests cannot make the server hash for nothing
        None => {
            if !bootstrap_open(&mut *db).await? {
                return Err(not_logged_in_after_bootstrap());
            }
            if req.role != Role::Management {
                return Err(Error::forbidden(
                    "the first employee must have the MANAGEMENT role (bootstrap)",
                ));
            }
        }
    }
    // hashing is slow: do it before taking any lock
    let hash = password::hash(&req.password).await?;
    let mut tx = Tx::begin(db).await?;
    if actor.is_none() {
        // checked again under the lock: of two racing bootstraps, one creates the employee
        repo::employee::lock_bootstrap(&mut tx).await?;
        if repo::employee::any_exists(&mut tx).await? {
            return Err(not_logged_in_after_bootstrap());
        }
    }
    let e = repo::employee::insert(
        &mut tx,
        &NewEmployeeRow {
            first_name: &req.first_name,
            last_name: &req.last_name,
            email: &req.email,
            role: req.role,
            password_hash: &hash,
        },
    )
    .await?;
    let change =
        if actor.is_none() { Change::Bootstrap } else { Change::Command(Action::EmployeeCreate) };
    tx.audit(actor, change, e.id, snapshot(&e, &[])).await?;
    tx.commit(actor).await?;
    Ok(e)
}

/// Refuses a change that would leave no active manager: nobody could administer the CRM
/// any more, and the bootstrap only opens on an empty table. Serialised, so that two
/// managers removing each other at the same moment cannot both succeed.
async fn keep_a_manager(tx: &mut PgConnection, target: &Employee) -> Result<()> {
    if target.role != Role::Management || !target.is_active {
        return Ok(());
    }
    repo::employee::lock_bootstrap(tx).await?;
    if repo::employee::other_active_managers(tx, target.id).await? == 0 {
        return Err(Error::conflict("this is the last active manager: promote another first")
            .with_hint("promote someone with `epicevents employee update ID --role MANAGEMENT`"));
    }
    Ok(())
}

pub async fn list(
    db: &mut PgConnection,
    actor: &Actor,
    q: EmployeeQuery,
    page: Page,
    sink: &mut impl RowSink<Employee>,
) -> Result<()> {
    actor.authorize(Action::EmployeeList, Facts::default())?;
    let mut tx = crate::db::begin_stream(db).await?;
    repo::employee::list(&mut tx, &q, page, sink).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn show(db: &mut PgConnection, actor: &Actor, req: EmployeeShow) -> Result<Employee> {
    actor.authorize(Action::EmployeeShow, target(req.id))?;
    let mut tx = Tx::begin(db).await?;
    let row = repo::employee::get(&mut tx, req.id).await?;
    tx.commit(None).await?;
    found(row, "employee", req.id)
}

pub async fn update(db: &mut PgConnection, actor: &Actor, u: EmployeeUpdate) -> Result<Employee> {
    if u.is_empty() {
        return Err(nothing_to_update());
    }
    actor.authorize(Action::EmployeeUpdate, target(u.id))?;
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::employee::get_for_update(&mut tx, u.id).await?, "employee", u.id)?;
    if before.role == Role::Management && u.role.is_some_and(|r| r != Role::Management) {
        keep_a_manager(&mut tx, &before).await?;
    }
    let changes = EmployeeChanges {
        first_name: u.first_name.as_ref(),
        last_name: u.last_name.as_ref(),
        email: u.email.as_ref(),
        role: u.role,
    };
    let after = found(repo::employee::update(&mut tx, u.id, &changes).await?, "employee", u.id)?;
    let details = diff(&[
        ("first_name", json!(before.first_name), json!(after.first_name)),
        ("last_name", json!(before.last_name), json!(after.last_name)),
        ("email", json!(before.email), json!(after.email)),
        ("role", json!(before.role), json!(after.role)),
    ]);
    tx.audit(Some(actor), Change::Command(Action::EmployeeUpdate), u.id, details).await?;
    // changing one's own role must not trip the re-check at commit
    let acting =
        Actor { role: if u.id == actor.id { after.role } else { actor.role }, ..actor.clone() };
    tx.commit(Some(&acting)).await?;
    Ok(after)
}

/// An update with no field to change (exit 2).
pub fn nothing_to_update() -> Error {
    Error::usage("nothing to update: give at least one option to change")
}

/// A new password: a manager for anyone (the new one only), anyone for themself (the current
/// one first, throttled like a login). Every other session of the account ends.
pub async fn set_password(
    db: &mut PgConnection,
    actor: &Actor,
    req: SetPassword,
) -> Result<Employee> {
    actor.authorize(Action::EmployeeSetPassword, target(req.id))?;
    let own = req.id == actor.id;
    if own {
        let current = req.current_password.as_ref().ok_or_else(|| {
            Error::usage("changing your own password needs your current password")
        })?;
        check_current_password(db, actor, current).await?;
    }
    let hash = password::hash(&req.new_password).await?;
    let mut tx = Tx::begin(db).await?;
    let e = found(
        repo::employee::set_password_hash(&mut tx, req.id, &hash).await?,
        "employee",
        req.id,
    )?;
    // a changed password ends the account's other sessions; the caller's own goes on
    let keep = own.then_some(actor.session);
    repo::session::revoke_all_of(&mut tx, req.id, keep).await?;
    // and lifts a login lockout (spec §15): the new password is not what was being guessed
    repo::throttle::reset(&mut tx, &e.email).await?;
    tx.audit(
        Some(actor),
        Change::Command(Action::EmployeeSetPassword),
        req.id,
        json!({ "own": own }),
    )
    .await?;
    tx.commit(Some(actor)).await?;
    Ok(e)
}

/// The actor's current password, checked as a login would be: throttled per e-mail (a
/// stolen session cannot guess it freely), a success clearing the count.
pub async fn check_current_password(
    db: &mut PgConnection,
    actor: &Actor,
    current: &crate::domain::Password,
) -> Result<()> {
    super::session::take_login_slots(&mut *db, None, &actor.email).await?;
    let mut tx = Tx::begin(&mut *db).await?;
    let hash = repo::employee::password_hash(&mut tx, actor.id).await?;
    tx.commit(None).await?;
    let ok = password::verify(current, hash.as_deref().unwrap_or(password::dummy_hash())).await?;
    let mut tx = Tx::begin(db).await?;
    if super::session::finish_login_slots(&mut tx, None, &actor.email, ok).await? {
        let about = Some((actor.id, ""));
        tx.audit_session(super::SessionEvent::Lockout, about, json!({ "source": null })).await?;
        crate::metrics::lockout();
    }
    tx.commit(None).await?;
    if !ok {
        return Err(Error::unauthenticated("the current password is wrong"));
    }
    Ok(())
}

/// Lifts a login lockout (MANAGEMENT; also when there is none, spec §15).
pub async fn unlock(db: &mut PgConnection, actor: &Actor, req: EmployeeUnlock) -> Result<Unlocked> {
    actor.authorize(Action::EmployeeUnlock, target(req.id))?;
    let mut tx = Tx::begin(db).await?;
    let e = found(repo::employee::get(&mut tx, req.id).await?, "employee", req.id)?;
    let was_locked = repo::throttle::reset(&mut tx, &e.email).await?;
    let details = json!({ "was_locked": was_locked });
    tx.audit(Some(actor), Change::Command(Action::EmployeeUnlock), req.id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(Unlocked { id: req.id, was_locked })
}

pub async fn deactivate(db: &mut PgConnection, actor: &Actor, req: Deactivate) -> Result<Employee> {
    set_active(db, actor, req.id, false, req.reassign_to).await
}

pub async fn reactivate(db: &mut PgConnection, actor: &Actor, req: Reactivate) -> Result<Employee> {
    set_active(db, actor, req.id, true, None).await
}

/// What a deactivation will do, checked before the CLI asks (`Preflight::Deactivate`): the
/// permission, the employee, that they are active and not the last manager, the target of
/// `--reassign-to`, and how many clients they own.
pub async fn deactivation_check(
    db: &mut PgConnection,
    actor: &Actor,
    id: i64,
    reassign_to: Option<i64>,
) -> Result<(Employee, i64, Option<Employee>)> {
    actor.authorize(Action::EmployeeDeactivate, target(id))?;
    let mut tx = Tx::begin(db).await?;
    let e = found(repo::employee::get(&mut tx, id).await?, "employee", id)?;
    if !e.is_active {
        return Err(Error::conflict(format!("employee {id} is already deactivated")));
    }
    keep_a_manager(&mut tx, &e).await?;
    let owned = repo::client::count_of_owner(&mut tx, id).await?;
    let to = match reassign_to {
        Some(to) => Some(reassign_target(&mut tx, actor, &e, to, false).await?),
        None => None,
    };
    // read only: dropped, nothing recorded
    drop(tx);
    Ok((e, owned, to))
}

/// The employee `--reassign-to` names: another active SALES (locked when `lock`: a
/// concurrent deactivation of them waits for us, or we see it).
async fn reassign_target(
    tx: &mut PgConnection,
    actor: &Actor,
    from: &Employee,
    to: i64,
    lock: bool,
) -> Result<Employee> {
    actor.authorize(Action::ClientReassign, Facts::default())?;
    if from.role != Role::Sales {
        return Err(Error::usage(format!(
            "--reassign-to is for SALES employees: employee {} is {}",
            from.id, from.role
        )));
    }
    if to == from.id {
        return Err(Error::usage("--reassign-to names the employee being deactivated"));
    }
    let row = if lock {
        repo::employee::get_for_update(tx, to).await?
    } else {
        repo::employee::get(tx, to).await?
    };
    let target = found(row, "employee", to)?;
    if target.role != Role::Sales || !target.is_active {
        return Err(Error::conflict(format!("employee {to} is not an active SALES employee"))
            .with_hint("see `epicevents employee list --role SALES`"));
    }
    Ok(target)
}

async fn set_active(
    db: &mut PgConnection,
    actor: &Actor,
    id: i64,
    active: bool,
    reassign_to: Option<i64>,
) -> Result<Employee> {
    let action = if active { Action::EmployeeReactivate } else { Action::EmployeeDeactivate };
    actor.authorize(action, target(id))?;
    let mut tx = Tx::begin(db).await?;
    let before = found(repo::employee::get_for_update(&mut tx, id).await?, "employee", id)?;
    if before.is_active == active {
        let state = if active { "active" } else { "deactivated" };
        return Err(Error::conflict(format!("employee {id} is already {state}")));
    }
    if !active {
        keep_a_manager(&mut tx, &before).await?;
    }
    // their clients move first, while they are still an active SALES (the clients' check)
    let mut details = json!({});
    if let Some(to) = reassign_to {
        let target = reassign_target(&mut tx, actor, &before, to, true).await?;
        let moved = repo::client::reassign_all(&mut tx, id, target.id).await?;
        for client in &moved {
            let change = json!({ "sales_contact_id": { "from": id, "to": target.id } });
            tx.audit(Some(actor), Change::Command(Action::ClientReassign), *client, change).await?;
        }
        details = json!({ "clients_reassigned_to": target.id, "clients": moved });
    }
    let after = found(repo::employee::set_active(&mut tx, id, active).await?, "employee", id)?;
    if !active {
        repo::session::revoke_all_of(&mut tx, id, None).await?;
    }
    tx.audit(Some(actor), Change::Command(action), id, details).await?;
    tx.commit(Some(actor)).await?;
    Ok(after)
}

pub async fn delete(db: &mut PgConnection, actor: &Actor, req: EmployeeDelete) -> Result<Employee> {
    let mut tx = Tx::begin(db).await?;
    let e = delete_in(&mut tx, actor, req.id).await?;
    tx.commit(Some(actor)).await?;
    Ok(e)
}

/// The delete, up to its commit: also what `Preflight::Delete` runs and rolls back.
pub async fn delete_in(tx: &mut Tx<'_>, actor: &Actor, id: i64) -> Result<Employee> {
    actor.authorize(Action::EmployeeDelete, target(id))?;
    let before = found(repo::employee::get_for_update(tx, id).await?, "employee", id)?;
    keep_a_manager(tx, &before).await?;
    repo::session::delete_all_of(tx, id).await?;
    repo::employee::delete(tx, id).await?;
    tx.audit(Some(actor), Change::Command(Action::EmployeeDelete), id, snapshot(&before, &[]))
        .await?;
    Ok(before)
}
