//! Business rules, one module per entity, shared by both front ends (the CLI in direct mode
//! and the server). A service takes the actor and a request of `api`, opens the transaction
//! ([`Tx`]), reads (and locks) the target row, states the facts the permission table needs,
//! checks it through the actor, writes with guarded statements, records the audit row, and
//! commits — after checking once more, inside the transaction, that its author is still
//! active, still in the role they acted with and still logged in (spec §3).
//!
//! [`Run`] and [`RunList`] tie each request type to its service function: the one table
//! both front ends dispatch through.

pub mod audit;
pub mod client;
pub mod contract;
pub mod demo;
pub mod employee;
pub mod event;
pub mod idempotency;
pub mod import;
pub mod preflight;
pub mod seed;
pub mod session;

use std::ops::{Deref, DerefMut};

use sqlx::{PgConnection, Postgres, Transaction};

use crate::api::{self, Endpoint, Listing, Page};
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::repo::{self, RowSink};

pub use audit::{Change, SessionEvent};

/// The transaction of a command: the everyday timeouts, the audit rows it records, and the
/// re-check of its author at commit. Dropped without `commit`, it rolls back and reports
/// nothing.
pub struct Tx<'c> {
    inner: Inner<'c>,
    events: Vec<BusinessEvent>,
}

/// What the audit trail also tells Sentry once committed: action, entity, id, actor's role.
pub(crate) type BusinessEvent = (String, &'static str, i64, Option<&'static str>);

enum Inner<'c> {
    /// A transaction of its own.
    Own(Transaction<'c, Postgres>),
    /// A part of a keyed write's transaction ([`idempotency`]), from a savepoint: its commit
    /// is the write's.
    Part(&'c mut PgConnection),
}

impl<'c> Tx<'c> {
    pub async fn begin(conn: &'c mut PgConnection) -> Result<Tx<'c>> {
        if idempotency::nested(conn) {
            idempotency::begin_part(conn).await?;
            return Ok(Tx { inner: Inner::Part(conn), events: Vec::new() });
        }
        Ok(Tx { inner: Inner::Own(crate::db::begin(conn).await?), events: Vec::new() })
    }

    /// Records a change in the audit trail, in this transaction.
    pub async fn audit(
        &mut self,
        actor: Option<&Actor>,
        change: Change,
        entity_id: i64,
        details: serde_json::Value,
    ) -> Result<()> {
        let action = change.name();
        let name = actor.map(Actor::name);
        repo::audit::insert(
            self,
            &repo::audit::NewEntry {
                actor_id: actor.map(|a| a.id),
                actor_name: name.as_deref(),
                action: &action,
                entity: Some(change.entity()),
                entity_id: Some(entity_id),
                changes: &details,
            },
        )
        .await?;
        self.events.push((action, change.entity(), entity_id, actor.map(|a| a.role.as_str())));
        Ok(())
    }

    /// Records a session event (spec §15) about the employee `about` (id and name; `None` for
    /// an unknown e-mail, which makes an entry about no row). A login or a logout is the
    /// employee's own act; a failure or a lockout is no one's.
    pub async fn audit_session(
        &mut self,
        event: SessionEvent,
        about: Option<(i64, &str)>,
        details: serde_json::Value,
    ) -> Result<()> {
        let change = Change::Session(event);
        let acted = matches!(event, SessionEvent::Login | SessionEvent::Logout);
        let actor = about.filter(|_| acted);
        repo::audit::insert(
            self,
            &repo::audit::NewEntry {
                actor_id: actor.map(|a| a.0),
                actor_name: actor.map(|a| a.1),
                action: &change.name(),
                entity: about.map(|_| change.entity()),
                entity_id: about.map(|a| a.0),
                changes: &details,
            },
        )
        .await
    }

    /// Rolls back now (rather than when the connection is next used): the locks it holds go.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            Inner::Own(t) => Ok(t.rollback().await?),
            Inner::Part(conn) => idempotency::rollback_part(conn).await,
        }
    }

    /// Checks the author again (when there is one), commits, then reports the business events.
    pub async fn commit(mut self, actor: Option<&Actor>) -> Result<()> {
        if let Some(a) = actor {
            recheck(&mut self, a).await?;
        }
        let t = match self.inner {
            Inner::Own(t) => t,
            Inner::Part(_) => {
                idempotency::commit_part(self.events);
                return Ok(());
            }
        };
        match t.commit().await {
            Ok(()) => {}
            // the answer to COMMIT was lost: the change may or may not be there (spec §15)
            Err(e) if crate::db::commit_outcome_unknown(&e) => {
                return Err(Error::maybe_applied("the database connection broke while committing")
                    .with_source(e));
            }
            Err(e) => return Err(e.into()),
        }
        report(self.events);
        Ok(())
    }
}

/// The business events of a committed change, to Sentry.
fn report(events: Vec<BusinessEvent>) {
    for (action, entity, id, role) in events {
        crate::telemetry::business_event(&action, entity, id, role);
    }
}

impl Deref for Tx<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        match &self.inner {
            Inner::Own(t) => t,
            Inner::Part(c) => c,
        }
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match &mut self.inner {
            Inner::Own(t) => t,
            Inner::Part(c) => c,
        }
    }
}

fn login_again(msg: &str) -> Error {
    Error::unauthenticated(msg.to_owned()).with_hint("run `epicevents login`")
}

pub fn deactivated() -> Error {
    Error::unauthenticated("this account is deactivated")
        .with_hint("ask a manager to reactivate it")
}

/// The author of a write, as the database has them now, locked `FOR SHARE` until the commit:
/// a deactivation, a role change or a logout that landed while the command waited (at a
/// prompt, on a lock) stops it, and one that comes later waits for the commit.
async fn recheck(tx: &mut PgConnection, actor: &Actor) -> Result<()> {
    let p = repo::session::principal_for_share(tx, actor.id, actor.session)
        .await?
        .ok_or_else(|| login_again("the session is no longer valid"))?;
    if !p.is_active {
        return Err(deactivated().with_message("this account was deactivated meanwhile"));
    }
    if p.revoked {
        return Err(login_again("the session was revoked meanwhile"));
    }
    if p.role != actor.role {
        return Err(Error::forbidden(format!(
            "permission denied: your role changed to {} meanwhile",
            p.role
        )));
    }
    Ok(())
}

/// A command of the API, run by its service function.
pub trait Run: Endpoint {
    /// `actor` is `None` only for the endpoints that allow it (`ANONYMOUS_OK`).
    fn run(
        self,
        db: &mut PgConnection,
        actor: Option<&Actor>,
    ) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// A list of the API, streamed by its service function.
pub trait RunList: Listing {
    fn run(
        self,
        db: &mut PgConnection,
        actor: &Actor,
        page: Page,
        sink: &mut impl RowSink<Self::Row>,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The actor of a command that needs one.
pub fn need(actor: Option<&Actor>) -> Result<&Actor> {
    actor.ok_or_else(|| login_again("not logged in"))
}

macro_rules! run {
    ($($req:ty => $f:path,)*) => {
        $(impl Run for $req {
            async fn run(self, db: &mut PgConnection, actor: Option<&Actor>) -> Result<Self::Output> {
                $f(db, need(actor)?, self).await
            }
        })*
    };
}

run! {
    api::WhoAmI => session::whoami,
    api::ManagementOnly => session::management_only,
    api::InstallationShow => session::installation,
    api::EmployeeShow => employee::show,
    api::EmployeeUpdate => employee::update,
    api::SetPassword => employee::set_password,
    api::Deactivate => employee::deactivate,
    api::Reactivate => employee::reactivate,
    api::EmployeeDelete => employee::delete,
    api::EmployeeUnlock => employee::unlock,
    api::ClientShow => client::show,
    api::NewClient => client::create,
    api::ClientUpdate => client::update,
    api::ClientReassign => client::reassign,
    api::ClientDelete => client::delete,
    api::ContractShow => contract::show,
    api::ContractOverview => contract::overview,
    api::ClientOverview => client::overview,
    api::NewContract => contract::create,
    api::ContractUpdate => contract::update,
    api::ContractSign => contract::sign,
    api::ContractPay => contract::pay,
    api::ContractDelete => contract::delete,
    api::EventShow => event::show,
    api::NewEvent => event::create,
    api::EventUpdate => event::update,
    api::EventAssign => event::assign,
    api::EventUnassign => event::unassign,
    api::EventDelete => event::delete,
}

impl Run for api::NewEmployee {
    async fn run(self, db: &mut PgConnection, actor: Option<&Actor>) -> Result<api::Employee> {
        employee::create(db, actor, self).await
    }
}

impl Run for api::Preflight {
    async fn run(self, db: &mut PgConnection, actor: Option<&Actor>) -> Result<api::Clearance> {
        preflight::check(db, actor, self).await
    }
}

macro_rules! run_list {
    ($($req:ty => $f:path,)*) => {
        $(impl RunList for $req {
            async fn run(
                self,
                db: &mut PgConnection,
                actor: &Actor,
                page: Page,
                sink: &mut impl RowSink<Self::Row>,
            ) -> Result<()> {
                $f(db, actor, self, page, sink).await
            }
        })*
    };
}

run_list! {
    api::EmployeeQuery => employee::list,
    api::ClientQuery => client::list,
    api::ContractQuery => contract::list,
    api::EventQuery => event::list,
    api::AuditQuery => audit::list,
    api::PaymentQuery => contract::payments,
}
