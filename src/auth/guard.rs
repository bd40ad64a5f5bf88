//! The guard every session-bound command goes through: stored tokens → verified claims →
//! the employee as the database has them now. Also login, refresh (with rotation and replay
//! detection) and logout, which are the only other places tokens are made or destroyed.

use chrono::Utc;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::jwt::{Jwt, Rejection, TokenKind};
use super::password;
use super::permissions::{Action, Facts};
use super::store::{TokenStore, Tokens};
use crate::domain::{Email, Password, Role};
use crate::error::{Error, Result};
use crate::repo;

/// The authenticated, active employee running the command.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub session: Uuid,
}

impl Actor {
    /// Checks the permission table (see `permissions.rs`) for this actor.
    pub fn authorize(&self, action: Action, facts: Facts) -> Result<()> {
        super::permissions::check(self, action, facts)
    }
}

fn login_again(msg: &str) -> Error {
    Error::unauthenticated(msg.to_owned()).with_hint("run `epicevents login`")
}

/// Verifies the credentials and opens a session; returns the stored tokens' owner.
pub async fn login(
    conn: &mut PgConnection,
    jwt: &Jwt,
    store: &TokenStore,
    email: &Email,
    password: &Password,
) -> Result<Actor> {
    // Throttled per e-mail, known or not: the attempt is counted before the password is
    // even looked at, and a success clears the count.
    if let Some(until) = repo::throttle::count_attempt(&mut *conn, email.as_str()).await? {
        return Err(Error::unauthenticated(format!(
            "too many failed logins for this account: try again after {}",
            crate::output::local(&until)
        )));
    }
    let creds = repo::employee::credentials_by_email(&mut *conn, email).await?;
    // An unknown email costs a full hash check too, and gets the same message.
    let hash = creds.as_ref().map_or(password::dummy_hash(), |c| c.password_hash.as_str());
    let ok = password::verify(password, hash);
    let creds = match creds {
        Some(c) if ok => c,
        _ => return Err(Error::unauthenticated("invalid email or password")),
    };
    repo::throttle::reset(&mut *conn, email.as_str()).await?;
    if !creds.is_active {
        return Err(Error::unauthenticated("this account is deactivated")
            .with_hint("ask a manager to reactivate it"));
    }
    let session = Uuid::new_v4();
    let now = Utc::now();
    let (access, _) = jwt.issue(TokenKind::Access, creds.id, session, now)?;
    let (refresh, rc) = jwt.issue(TokenKind::Refresh, creds.id, session, now)?;
    let mut tx = conn.begin().await?;
    repo::session::create_session(&mut *tx, session, creds.id).await?;
    repo::session::insert_refresh(&mut *tx, rc.jti, session, jwt_exp(rc.exp)).await?;
    tx.commit().await?;
    store.save(&Tokens { access, refresh })?;
    let p = repo::session::principal(&mut *conn, creds.id, session)
        .await?
        .ok_or_else(|| Error::internal("BUG: a new session vanished", anyhow::anyhow!("login")))?;
    Ok(actor_from(p, session))
}

fn actor_from(p: repo::session::Principal, session: Uuid) -> Actor {
    Actor {
        id: p.id,
        first_name: p.first_name,
        last_name: p.last_name,
        email: p.email,
        role: p.role,
        session,
    }
}

fn jwt_exp(exp: i64) -> chrono::DateTime<Utc> {
    chrono::DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now)
}

/// The employee behind the stored session. An expired access token with a valid refresh
/// token is refreshed transparently (one process at a time, under the store's lock), rotating
/// the refresh token when `rotate_refresh` (EPICCRM_JWT_ROTATE_REFRESH) says so.
pub async fn authenticate(
    conn: &mut PgConnection,
    jwt: &Jwt,
    store: &TokenStore,
    rotate_refresh: bool,
) -> Result<Actor> {
    let tokens = store.load()?.ok_or_else(|| login_again("not logged in"))?;
    let claims = match jwt.verify(TokenKind::Access, &tokens.access) {
        Ok(c) => c,
        Err(Rejection::Expired) => {
            let _lock = store.lock()?;
            // Another command may have refreshed while we waited for the lock.
            let current = store.load()?.ok_or_else(|| login_again("not logged in"))?;
            match jwt.verify(TokenKind::Access, &current.access) {
                Ok(c) => c,
                Err(Rejection::Expired) => {
                    let fresh = rotate(conn, jwt, &current.refresh, rotate_refresh, store).await?;
                    jwt.verify(TokenKind::Access, &fresh.access).map_err(|_| {
                        Error::internal(
                            "BUG: a fresh token did not verify",
                            anyhow::anyhow!("fresh token rejected"),
                        )
                    })?
                }
                Err(Rejection::Invalid) => {
                    return Err(login_again("the stored session is invalid"));
                }
            }
        }
        Err(Rejection::Invalid) => return Err(login_again("the stored session is invalid")),
    };
    let id = claims.employee_id()?;
    let p = repo::session::principal(&mut *conn, id, claims.sid)
        .await?
        .ok_or_else(|| login_again("the session is no longer valid"))?;
    if !p.is_active {
        return Err(Error::unauthenticated("this account is deactivated")
            .with_hint("ask a manager to reactivate it"));
    }
    if !p.session_live {
        return Err(login_again("the session was revoked"));
    }
    Ok(actor_from(p, claims.sid))
}

/// `refresh-token`: exchanges the stored refresh token for a new pair.
pub async fn refresh(
    conn: &mut PgConnection,
    jwt: &Jwt,
    store: &TokenStore,
    rotate_refresh: bool,
) -> Result<()> {
    let _lock = store.lock()?;
    let tokens = store.load()?.ok_or_else(|| login_again("not logged in"))?;
    rotate(conn, jwt, &tokens.refresh, rotate_refresh, store).await.map(|_| ())
}

/// Checks a refresh token against the server-side state, issues a new pair and stores it.
/// A token
/// that was already rotated out is a replay: the whole session is revoked.
async fn rotate(
    conn: &mut PgConnection,
    jwt: &Jwt,
    refresh_token: &str,
    rotate_refresh: bool,
    store: &TokenStore,
) -> Result<Tokens> {
    let claims = match jwt.verify(TokenKind::Refresh, refresh_token) {
        Ok(c) => c,
        Err(Rejection::Expired) => return Err(login_again("the session has expired")),
        Err(Rejection::Invalid) => return Err(login_again("the stored session is invalid")),
    };
    let mut tx = conn.begin().await?;
    let state = repo::session::refresh_state_for_update(&mut *tx, claims.jti)
        .await?
        .ok_or_else(|| login_again("the session is no longer valid"))?;
    if state.session_revoked {
        return Err(login_again("the session was revoked"));
    }
    if state.used {
        repo::session::revoke_session(&mut *tx, state.session_id).await?;
        tx.commit().await?;
        tracing::warn!(session = %state.session_id, "replayed refresh token; session revoked");
        return Err(login_again(
            "this refresh token was already used; the whole session has been revoked",
        ));
    }
    if !state.employee_active {
        return Err(Error::unauthenticated("this account is deactivated"));
    }
    let now = Utc::now();
    let (access, _) = jwt.issue(TokenKind::Access, state.employee_id, state.session_id, now)?;
    let refresh = if rotate_refresh {
        let (token, rc) =
            jwt.issue(TokenKind::Refresh, state.employee_id, state.session_id, now)?;
        repo::session::mark_used(&mut *tx, claims.jti).await?;
        repo::session::insert_refresh(&mut *tx, rc.jti, state.session_id, jwt_exp(rc.exp)).await?;
        token
    } else {
        refresh_token.to_owned()
    };
    // Stored before the rotation commits: if storing fails, the old token stays valid instead
    // of turning into a "replay" that would revoke the whole session on the next command.
    let tokens = Tokens { access, refresh };
    store.save(&tokens)?;
    tx.commit().await?;
    Ok(tokens)
}

/// Revokes the session server-side when the database can be reached, then deletes the
/// local tokens whatever happened. Returns whether the server-side revocation happened.
pub async fn logout(
    conn: Option<&mut PgConnection>,
    jwt: Option<&Jwt>,
    store: &TokenStore,
) -> Result<bool> {
    let tokens = store.load().ok().flatten();
    let mut revoked = false;
    if let (Some(conn), Some(jwt), Some(tokens)) = (conn, jwt, tokens.as_ref()) {
        // an expired refresh token still names its session
        let sid = jwt
            .verify(TokenKind::Refresh, &tokens.refresh)
            .map(|c| c.sid)
            .or_else(|_| jwt.verify(TokenKind::Access, &tokens.access).map(|c| c.sid));
        if let Ok(sid) = sid {
            revoked = repo::session::revoke_session(&mut *conn, sid).await.is_ok();
        }
    }
    store.clear()?;
    Ok(revoked)
}
