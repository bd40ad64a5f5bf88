//! The one seam between the command line and the CRM: a backend runs a request of `api`
//! either through the services over PostgreSQL (direct mode, [`Direct`]) or through a server
//! (`EPICCRM_SERVER`, [`Remote`]). Everything above it — arguments, prompts, output — is the
//! same in both modes.

mod direct;
mod remote;

pub use direct::{Database, Direct};
pub use remote::Remote;

use crate::api::{Login, Me, Page};
use crate::error::Result;
use crate::repo::RowSink;
use crate::service::{Run, RunList};

pub enum Backend {
    Direct(Box<Direct>),
    Remote(Box<Remote>),
}

/// A write whose outcome is unknown gets the command that shows whether it was applied
/// (spec §15); any other error is left as it is.
fn with_check_hint(e: crate::error::Error, path: &str) -> crate::error::Error {
    if e.is_maybe_applied() {
        e.with_hint(format!("check with `{}`", crate::api::check_command(path)))
    } else {
        e
    }
}

/// What `login` did.
pub struct LoggedIn {
    pub me: Me,
    /// Another session was stored here and has been ended.
    pub replaced: bool,
}

/// What `logout` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoggedOut {
    /// There was no session stored here.
    NotLoggedIn,
    /// The session was ended on the server (or database) and here.
    Ended,
    /// The session had already ended (expired or revoked); the local tokens are gone.
    AlreadyEnded,
    /// The server could not be told; the local tokens are gone all the same.
    Offline,
}

impl Backend {
    /// Runs a command as the logged-in employee (or without a session, for the endpoints
    /// that allow it and when there is none).
    pub async fn call<R: Run>(&mut self, req: R) -> Result<R::Output> {
        match self {
            Backend::Direct(d) => d.call(req).await,
            Backend::Remote(r) => r.call(req).await,
        }
    }

    /// Streams a list to `sink`.
    pub async fn list<Q: RunList>(
        &mut self,
        q: Q,
        page: Page,
        sink: &mut impl RowSink<Q::Row>,
    ) -> Result<()> {
        match self {
            Backend::Direct(d) => d.list(q, page, sink).await,
            Backend::Remote(r) => r.list(q, page, sink).await,
        }
    }

    pub async fn login(&mut self, req: Login) -> Result<LoggedIn> {
        match self {
            Backend::Direct(d) => d.login(req).await,
            Backend::Remote(r) => r.login(req).await,
        }
    }

    /// `refresh-token`: a new pair for the stored session.
    pub async fn refresh(&mut self) -> Result<()> {
        match self {
            Backend::Direct(d) => d.refresh().await,
            Backend::Remote(r) => r.refresh().await,
        }
    }

    pub async fn logout(&mut self) -> Result<LoggedOut> {
        match self {
            Backend::Direct(d) => d.logout().await,
            Backend::Remote(r) => r.logout().await,
        }
    }
}
