//! Direct mode: the services over a connection of our own, to `DATABASE_URL` or to the
//! zero-config database, with the session in the local token store.

use std::sync::Arc;

use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;

use super::{LoggedIn, LoggedOut};
use crate::api::{Login, Logout, Page};
use crate::auth::Actor;
use crate::auth::jwt::Jwt;
use crate::auth::store::{Scope, TokenStore, Tokens};
use crate::config::Settings;
use crate::embedded::Embedded;
use crate::error::{Error, Kind, Result};
use crate::repo::RowSink;
use crate::service::session::{self, Access, Policy};
use crate::service::{Run, RunList};

pub type Reporter = Arc<dyn Fn(&str) + Send + Sync>;

/// The database of direct mode and of the operator's commands: `DATABASE_URL`, or the
/// zero-config cluster; one connection, made on first use.
pub struct Database {
    pub settings: Settings,
    embedded: Option<Embedded>,
    conn: Option<PgConnection>,
    notify: Reporter,
}

impl Database {
    pub fn new(settings: Settings, notify: Reporter) -> Self {
        Database { settings, embedded: None, conn: None, notify }
    }

    /// The zero-config database (when `DATABASE_URL` is not set).
    pub fn embedded(&mut self) -> Result<&Embedded> {
        if self.embedded.is_none() {
            let notify = self.notify.clone();
            let e = Embedded::new(&self.settings)?.with_reporter(move |m| notify(m));
            self.embedded = Some(e);
        }
        self.embedded.as_ref().ok_or_else(|| Error::unavailable("BUG: no embedded database"))
    }

    /// A connection to a database whose schema is current (exit 7 otherwise); the
    /// zero-config one is created, started and migrated as needed.
    pub async fn conn(&mut self) -> Result<&mut PgConnection> {
        if self.conn.is_none() {
            let conn = match &self.settings.database_url {
                Some(url) => {
                    let blame = |e| self.settings.origins.blame("DATABASE_URL", e);
                    let options = crate::db::options_from_url(url).map_err(blame)?;
                    tracing::debug!(
                        "database: {} ({})",
                        url.redacted(),
                        self.settings.origins.describe("DATABASE_URL")
                    );
                    let mut conn = crate::db::connect(&options).await.map_err(blame)?;
                    crate::db::check_schema(&mut conn).await.map_err(blame)?;
                    conn
                }
                None => {
                    let e = self.embedded()?;
                    tracing::debug!("database: the zero-config database in {}", e.dir().display());
                    e.connect().await?
                }
            };
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| Error::unavailable("BUG: no connection"))
    }

    /// The connection made so far, handed over (the server keeps it to probe the database).
    pub fn take_conn(&mut self) -> Option<PgConnection> {
        self.conn.take()
    }

    /// A connection whatever the schema's state (`db status`).
    pub async fn conn_unchecked(&mut self) -> Result<&mut PgConnection> {
        if self.conn.is_none() {
            let options = self.options_unchecked().await?;
            let conn = crate::db::connect(&options).await;
            self.conn = Some(conn.map_err(|e| self.settings.origins.blame("DATABASE_URL", e))?);
        }
        self.conn.as_mut().ok_or_else(|| Error::unavailable("BUG: no connection"))
    }

    /// A connection of its own for `db migrate` (never through a pooler).
    pub async fn conn_for_migration(&mut self) -> Result<&mut PgConnection> {
        if self.conn.is_none() {
            let options = self.options_unchecked().await?;
            let conn = crate::db::connect_for_migration(&options).await;
            self.conn = Some(conn.map_err(|e| self.settings.origins.blame("DATABASE_URL", e))?);
        }
        self.conn.as_mut().ok_or_else(|| Error::unavailable("BUG: no connection"))
    }

    async fn options_unchecked(&mut self) -> Result<PgConnectOptions> {
        match &self.settings.database_url {
            Some(url) => crate::db::options_from_url(url)
                .map_err(|e| self.settings.origins.blame("DATABASE_URL", e)),
            None => {
                let e = self.embedded()?;
                e.ensure_running().await?;
                Ok(e.options())
            }
        }
    }

    /// Where a pool should connect (the server): the schema checked (migrated first for the
    /// zero-config database, which is ours to migrate).
    pub async fn options_for_pool(&mut self) -> Result<PgConnectOptions> {
        self.conn().await?;
        match &self.settings.database_url {
            Some(url) => crate::db::options_from_url(url),
            None => Ok(self.embedded()?.options()),
        }
    }

    pub fn jwt(&mut self) -> Result<Jwt> {
        let secret = match (&self.settings.jwt_secret, &self.settings.database_url) {
            (Some(s), _) => s.clone(),
            (None, None) => self.embedded()?.jwt_secret()?,
            (None, Some(_)) => {
                return Err(Error::unavailable("EPICCRM_JWT_SECRET is not set").with_hint(
                    "set it to a random string of at least 32 bytes, e.g. `openssl rand -hex 32`",
                ));
            }
        };
        Ok(Jwt::new(secret, &self.settings))
    }

    pub fn policy(&self) -> Policy {
        Policy { max_days: self.settings.session_max_days, rotate: self.settings.rotate_refresh }
    }
}

/// No session for this database: which one it is, since each has its own (spec §16).
fn not_logged_in(scope: &Scope) -> Error {
    Error::unauthenticated(format!("not logged in to {}", scope.describe()))
        .with_hint("run `epicevents login`")
}

/// Direct mode: the services run here, the session is in the local store.
pub struct Direct {
    pub db: Database,
    store: TokenStore,
    scope: Scope,
    actor: Option<Actor>,
}

impl Direct {
    pub fn new(settings: Settings, notify: Reporter) -> Result<Self> {
        let warn = notify.clone();
        let scope = Scope::direct(&settings);
        tracing::debug!("session store: {} ({})", scope.describe(), scope.file_name());
        let store = TokenStore::new(&settings, scope.clone())?
            .with_reporter(move |w| warn(&format!("warning: {w}")));
        Ok(Direct { db: Database::new(settings, notify), store, scope, actor: None })
    }

    /// The logged-in, active employee (exit 3 otherwise). An expired access token with a
    /// valid refresh token is refreshed, one process at a time under the store's lock (the
    /// others find the fresh tokens when they get it).
    async fn actor(&mut self) -> Result<Actor> {
        if let Some(a) = &self.actor {
            return Ok(a.clone());
        }
        let policy = self.db.policy();
        // the configuration and the database first: their errors (exit 7) come before "not
        // logged in", which only a reachable CRM can usefully say
        let jwt = self.db.jwt()?;
        let conn = self.db.conn().await?;
        let tokens = self.store.load()?.ok_or_else(|| not_logged_in(&self.scope))?;
        let actor = match session::authenticate(conn, &jwt, &tokens.access, policy).await? {
            Access::Valid(a) => a,
            Access::Expired => {
                let _lock = self.store.lock()?;
                let current = self.store.load()?.ok_or_else(|| not_logged_in(&self.scope))?;
                match session::authenticate(conn, &jwt, &current.access, policy).await? {
                    Access::Valid(a) => a,
                    Access::Expired => {
                        let store = &self.store;
                        let fresh = session::refresh(conn, &jwt, &current.refresh, policy, |p| {
                            store.save(&Tokens::from(p.clone()))
                        })
                        .await?;
                        match session::authenticate(conn, &jwt, &fresh.access_token, policy).await?
                        {
                            Access::Valid(a) => a,
                            Access::Expired => {
                                return Err(Error::internal(
                                    "BUG: a fresh token had expired",
                                    anyhow::anyhow!("fresh token expired"),
                                ));
                            }
                        }
                    }
                }
            }
        };
        self.actor = Some(actor.clone());
        Ok(actor)
    }

    /// The stored session's employee, or `None` when there is no usable session.
    async fn actor_if_any(&mut self) -> Result<Option<Actor>> {
        if self.store.load().ok().flatten().is_none() {
            return Ok(None);
        }
        match self.actor().await {
            Ok(a) => Ok(Some(a)),
            Err(e) if e.kind() == Kind::Unauthenticated => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn call<R: Run>(&mut self, req: R) -> Result<R::Output> {
        let actor =
            if R::ANONYMOUS_OK { self.actor_if_any().await? } else { Some(self.actor().await?) };
        let path = req.path();
        // a write whose COMMIT was sent and whose answer was lost says how to check it
        req.run(self.db.conn().await?, actor.as_ref())
            .await
            .map_err(|e| super::with_check_hint(e, &path))
    }

    pub async fn list<Q: RunList>(
        &mut self,
        q: Q,
        page: Page,
        sink: &mut impl RowSink<Q::Row>,
    ) -> Result<()> {
        let actor = self.actor().await?;
        q.run(self.db.conn().await?, &actor, page, sink).await
    }

    pub async fn login(&mut self, req: Login) -> Result<LoggedIn> {
        let previous = self.store.load().ok().flatten();
        let policy = self.db.policy();
        let jwt = self.db.jwt()?;
        let conn = self.db.conn().await?;
        let (pair, actor) = session::login(conn, &jwt, &req, None, policy).await?;
        // the session this one replaces ends (a failed login leaves it alone)
        let replaced = match previous {
            Some(t) => session::logout(conn, &jwt, &logout_of(&t)).await.unwrap_or(false),
            None => false,
        };
        self.store.save(&Tokens::from(pair))?;
        Ok(LoggedIn { me: actor.me(), replaced })
    }

    pub async fn refresh(&mut self) -> Result<()> {
        let policy = self.db.policy();
        let jwt = self.db.jwt()?;
        let _lock = self.store.lock()?;
        let tokens = self.store.load()?.ok_or_else(|| not_logged_in(&self.scope))?;
        let conn = self.db.conn().await?;
        let store = &self.store;
        session::refresh(conn, &jwt, &tokens.refresh, policy, |p| {
            store.save(&Tokens::from(p.clone()))
        })
        .await?;
        Ok(())
    }

    /// Ends the session in the database when it can be reached, and deletes the local tokens
    /// whatever happened.
    pub async fn logout(&mut self) -> Result<LoggedOut> {
        let tokens = match self.store.load() {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(LoggedOut::NotLoggedIn),
            Err(_) => {
                self.store.clear()?;
                return Ok(LoggedOut::AlreadyEnded);
            }
        };
        let outcome = match self.db.jwt() {
            Ok(jwt) => match self.db.conn().await {
                Ok(conn) => match session::logout(conn, &jwt, &logout_of(&tokens)).await {
                    Ok(true) => LoggedOut::Ended,
                    Ok(false) => LoggedOut::AlreadyEnded,
                    Err(_) => LoggedOut::Offline,
                },
                Err(e) => {
                    tracing::debug!("logout without the database: {e}");
                    LoggedOut::Offline
                }
            },
            Err(_) => LoggedOut::Offline,
        };
        self.store.clear()?;
        Ok(outcome)
    }
}

fn logout_of(t: &Tokens) -> Logout {
    Logout { refresh_token: Some(t.refresh.clone()), access_token: Some(t.access.clone()) }
}
