//! The audit trail: what is recorded (named from the permission table, never by hand), and
//! its list, for managers.

use sqlx::PgConnection;

use crate::api::{AuditEntry, AuditQuery, Page};
use crate::auth::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::error::Result;
use crate::repo::{self, RowSink};

/// A change the audit trail records: a command of the permission table, or one of the two
/// changes made without a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Command(Action),
    /// The first employee, created with no session.
    Bootstrap,
    /// `demo` filled the database.
    Demo,
    /// `demo --reset` gave the demo accounts new passwords.
    DemoReset,
    /// A login, a logout, a failed login or a lockout (spec §15).
    Session(SessionEvent),
}

/// What happened to a login session, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A password was checked and found wrong.
    LoginFailed,
    /// That failure reached the limit: the account is locked out for the rest of the window.
    Lockout,
    Login,
    Logout,
}

impl Change {
    /// `client.create`, `employee.set_password`, … (from the command: `employee set-password`).
    pub fn name(self) -> String {
        match self {
            Change::Command(a) => {
                let (entity, verb) = a.command().split_once(' ').unwrap_or((a.command(), ""));
                format!("{entity}.{}", verb.replace('-', "_"))
            }
            Change::Bootstrap => "employee.bootstrap".to_owned(),
            Change::Demo => "database.demo".to_owned(),
            Change::DemoReset => "database.demo_reset".to_owned(),
            Change::Session(e) => match e {
                SessionEvent::LoginFailed => "session.login_failed",
                SessionEvent::Lockout => "session.lockout",
                SessionEvent::Login => "session.login",
                SessionEvent::Logout => "session.logout",
            }
            .to_owned(),
        }
    }

    pub fn entity(self) -> &'static str {
        match self {
            Change::Command(a) => match a.command().split(' ').next() {
                Some("employee") => "employee",
                Some("client") => "client",
                Some("contract") => "contract",
                Some("event") => "event",
                _ => "other",
            },
            Change::Bootstrap | Change::Session(_) => "employee",
            Change::Demo | Change::DemoReset => "database",
        }
    }
}

/// `{field: {"from": …, "to": …}}` for the fields whose value changed.
pub fn diff(fields: &[(&str, serde_json::Value, serde_json::Value)]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (name, from, to) in fields {
        if from != to {
            m.insert((*name).to_owned(), serde_json::json!({ "from": from, "to": to }));
        }
    }
    m.into()
}

/// A row as the audit trail keeps it when it is created or deleted: all its fields (names
/// resolved from ids are left out: the ids are the record).
pub fn snapshot(row: &impl serde::Serialize, leave_out: &[&str]) -> serde_json::Value {
    let mut v = serde_json::to_value(row).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        for k in leave_out {
            m.remove(*k);
        }
    }
    v
}

pub async fn list(
    db: &mut PgConnection,
    actor: &Actor,
    q: AuditQuery,
    page: Page,
    sink: &mut impl RowSink<AuditEntry>,
) -> Result<()> {
    actor.authorize(Action::AuditList, Facts::default())?;
    if q.id.is_some() && q.entity.is_none() {
        return Err(crate::error::Error::usage(
            "--id needs --entity (an id is of one kind of row)",
        ));
    }
    let mut tx = crate::db::begin_stream(db).await?;
    repo::audit::list(&mut tx, &q, page, sink).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_permission_table() {
        assert_eq!(Change::Command(Action::ClientCreate).name(), "client.create");
        assert_eq!(Change::Command(Action::EmployeeSetPassword).name(), "employee.set_password");
        assert_eq!(Change::Command(Action::EventUnassign).entity(), "event");
        assert_eq!(Change::Bootstrap.name(), "employee.bootstrap");
        assert_eq!(Change::Session(SessionEvent::LoginFailed).name(), "session.login_failed");
    }
}
