//! Sessions as a service: login (with throttling), authentication of an access token,
//! refresh (rotation, replay detection, the session's maximum age) and logout. Both front
//! ends use these: the CLI in direct mode with its local token store, the server for its
//! clients.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{SessionEvent, Tx, deactivated, login_again};
use crate::api::{Installation, InstallationShow, Login, ManagementOnly, Me, TokenPair, WhoAmI};
use crate::auth::jwt::{Claims, Jwt, Rejection, TokenKind};
use crate::auth::permissions::{Action, Facts};
use crate::auth::{Actor, password};
use crate::error::{Error, Result};
use crate::repo;

/// The session rules of the settings.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// A session ends this long after its login, however often it is refreshed.
    pub max_days: i64,
    /// Each refresh issues a new refresh token and retires the old one.
    pub rotate: bool,
}

fn session_end(started: DateTime<Utc>, policy: Policy) -> DateTime<Utc> {
    started + Duration::days(policy.max_days)
}

fn too_many(until: DateTime<Utc>, what: &str) -> Error {
    Error::unauthenticated(format!("too many failed logins {what}: {}", retry_in(until)))
}

/// "try again in 12 minutes": a wait, not a time of day (whose zone would be the server's).
pub fn retry_in(until: DateTime<Utc>) -> String {
    let secs = (until - Utc::now()).num_seconds().max(1);
    match (secs + 59) / 60 {
        1 => "try again in a minute".to_owned(),
        n => format!("try again in {n} minutes"),
    }
}

/// How long an attempt waits for the attempts of the same account (or address) that are
/// being checked right now, before it gives up.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the throttle's slots for checking a password of `email` (known or not), from
/// `source` when there is one (server mode): the address's first, then the e-mail's, always
/// in that order. An attempt over a limit is refused without its password being looked at;
/// one that finds the slots held by attempts being checked waits for them to end (spec §15:
/// parallel logins with the right password all succeed, and only wrong ones count).
pub async fn take_login_slots(
    conn: &mut PgConnection,
    source: Option<IpAddr>,
    email: &str,
) -> Result<()> {
    use repo::throttle::Slot;
    let started = std::time::Instant::now();
    loop {
        let mut tx = Tx::begin(&mut *conn).await?;
        repo::throttle::prune(&mut tx).await?;
        let (slot, what) = match source {
            Some(ip) => match repo::throttle::take_source_slot(&mut tx, ip).await? {
                Slot::Granted => {
                    (repo::throttle::take_slot(&mut tx, email).await?, "for this account")
                }
                other => (other, "from this address"),
            },
            None => (repo::throttle::take_slot(&mut tx, email).await?, "for this account"),
        };
        match slot {
            Slot::Granted => return tx.commit(None).await,
            // nothing taken: the refusal is not an attempt
            Slot::Locked(until) => {
                tx.rollback().await?;
                return Err(too_many(until, what));
            }
            Slot::Busy => {
                tx.rollback().await?;
                if started.elapsed() > BUSY_WAIT {
                    return Err(Error::conflict(format!(
                        "too many logins at once {what}; try again"
                    )));
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }
}

/// Gives the slots of [`take_login_slots`] back, the password checked: a failure counts, a
/// success clears the e-mail's count. Returns whether this failure locked the account out.
pub async fn finish_login_slots(
    tx: &mut PgConnection,
    source: Option<IpAddr>,
    email: &str,
    ok: bool,
) -> Result<bool> {
    if let Some(ip) = source {
        repo::throttle::finish_source(&mut *tx, ip, ok).await?;
    }
    let failures = repo::throttle::finish(tx, email, ok).await?;
    Ok(!ok && failures == repo::throttle::MAX_FAILURES)
}

/// The source address as the audit trail keeps it (`null` in direct mode, which has none).
fn source_detail(source: Option<IpAddr>) -> serde_json::Value {
    serde_json::json!({ "source": source.map(|ip| ip.to_string()) })
}

/// Verifies the credentials and opens a session. Throttled per e-mail, known or not, and per
/// client address when there is one (server mode): a slot is taken before the password is
/// even looked at. Failures, lockouts and logins go to the audit trail.
pub async fn login(
    conn: &mut PgConnection,
    jwt: &Jwt,
    req: &Login,
    source: Option<IpAddr>,
    policy: Policy,
) -> Result<(TokenPair, Actor)> {
    let email = req.email.as_str();
    take_login_slots(conn, source, email).await?;
    let mut tx = Tx::begin(conn).await?;
    let creds = repo::employee::credentials_by_email(&mut tx, &req.email).await?;
    tx.commit(None).await?;
    // The slow hash runs outside any transaction. An unknown email costs a full hash check
    // too, and gets the same message.
    let hash = creds.as_ref().map_or(password::dummy_hash(), |c| c.password_hash.as_str());
    let ok = password::verify(&req.password, hash).await?;
    let mut tx = Tx::begin(conn).await?;
    let locked_out = finish_login_slots(&mut tx, source, email, ok).await?;
    let creds = match creds {
        Some(c) if ok => c,
        other => {
            let about = other.as_ref().map(|c| (c.id, ""));
            tx.audit_session(SessionEvent::LoginFailed, about, source_detail(source)).await?;
            crate::metrics::login_failed();
            if locked_out {
                tx.audit_session(SessionEvent::Lockout, about, source_detail(source)).await?;
                crate::metrics::lockout();
            }
            tx.commit(None).await?;
            return Err(Error::unauthenticated("invalid email or password"));
        }
    };
    if !creds.is_active {
        tx.commit(None).await?;
        return Err(deactivated());
    }
    // A hash of other parameters (copied by `db import`): replaced by one of today's, so that
    // this account costs what a new one does from the next login on (spec §14). Hashed
    // outside any transaction; the guarded update (committed with the session) changes nothing
    // if the password was changed meanwhile.
    if password::needs_rehash(&creds.password_hash) {
        tx.commit(None).await?;
        let new = password::hash(&req.password).await?;
        tx = Tx::begin(conn).await?;
        repo::employee::rehash(&mut tx, creds.id, &creds.password_hash, &new).await?;
    }
    let session = Uuid::new_v4();
    let started = repo::session::create_session(&mut tx, session, creds.id).await?;
    let tokens = issue_pair(&mut tx, jwt, creds.id, session, session_end(started, policy)).await?;
    let p = repo::session::principal(&mut tx, creds.id, session, policy.max_days)
        .await?
        .ok_or_else(|| Error::internal("BUG: a new session vanished", anyhow::anyhow!("login")))?;
    let actor = actor_from(p, session);
    tx.audit_session(SessionEvent::Login, Some((actor.id, &actor.name())), source_detail(source))
        .await?;
    tx.commit(None).await?;
    Ok((tokens, actor))
}

/// A new access token and refresh token for a session, the refresh token recorded (and never
/// valid past the end of the session).
async fn issue_pair(
    tx: &mut PgConnection,
    jwt: &Jwt,
    employee_id: i64,
    session: Uuid,
    end: DateTime<Utc>,
) -> Result<TokenPair> {
    let now = Utc::now();
    let (access, _) = jwt.issue_until(TokenKind::Access, employee_id, session, now, Some(end))?;
    let (refresh, rc) =
        jwt.issue_until(TokenKind::Refresh, employee_id, session, now, Some(end))?;
    repo::session::insert_refresh(tx, rc.jti, session, jwt_exp(rc.exp)).await?;
    Ok(TokenPair { access_token: access, refresh_token: refresh })
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

fn jwt_exp(exp: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(exp, 0).unwrap_or_else(Utc::now)
}

/// What an access token is worth.
pub enum Access {
    Valid(Actor),
    /// Well signed but past its expiry: refresh, then try again.
    Expired,
}

/// The employee behind an access token: signature, audience, issuer and expiry checked, then
/// the employee and the session read from the database (roles are never taken from a token).
pub async fn authenticate(
    conn: &mut PgConnection,
    jwt: &Jwt,
    access_token: &str,
    policy: Policy,
) -> Result<Access> {
    let Some(claims) = check_token(jwt, access_token)? else { return Ok(Access::Expired) };
    actor(conn, &claims, policy).await.map(Access::Valid)
}

/// An access token's claims, checked without the database (signature, audience, issuer,
/// expiry); `None` when it has expired. The server checks this before it takes a database
/// connection, so that a request with a bad token never holds one.
pub fn check_token(jwt: &Jwt, access_token: &str) -> Result<Option<Claims>> {
    match jwt.verify(TokenKind::Access, access_token) {
        Ok(c) => Ok(Some(c)),
        Err(Rejection::Expired) => Ok(None),
        Err(Rejection::Invalid) => Err(login_again("the stored session is invalid")),
    }
}

/// The employee and session behind checked claims, from the database (see [`authenticate`]).
pub async fn actor(conn: &mut PgConnection, claims: &Claims, policy: Policy) -> Result<Actor> {
    let id = claims.employee_id()?;
    let p = repo::session::principal(conn, id, claims.sid, policy.max_days).await?;
    let p = p.ok_or_else(|| login_again("the session is no longer valid"))?;
    if !p.is_active {
        return Err(deactivated());
    }
    if p.revoked {
        return Err(login_again("the session was revoked"));
    }
    if p.expired {
        return Err(login_again(&format!(
            "the session has expired (sessions last at most {} days)",
            policy.max_days
        )));
    }
    Ok(actor_from(p, claims.sid))
}

/// Exchanges a refresh token for a new pair. A token that was already rotated out is a
/// replay: the whole session is revoked. `keep` stores the new pair before the rotation
/// commits: if storing fails, the old token stays valid instead of turning into a "replay"
/// that would revoke the whole session on the next command.
pub async fn refresh(
    conn: &mut PgConnection,
    jwt: &Jwt,
    refresh_token: &str,
    policy: Policy,
    keep: impl FnOnce(&TokenPair) -> Result<()> + Send,
) -> Result<TokenPair> {
    let claims = match jwt.verify(TokenKind::Refresh, refresh_token) {
        Ok(c) => c,
        Err(Rejection::Expired) => return Err(login_again("the session has expired")),
        Err(Rejection::Invalid) => return Err(login_again("the stored session is invalid")),
    };
    let mut tx = Tx::begin(conn).await?;
    let state = repo::session::refresh_state_for_update(&mut tx, claims.jti)
        .await?
        .ok_or_else(|| login_again("the session is no longer valid"))?;
    if state.session_revoked {
        return Err(login_again("the session was revoked"));
    }
    if state.used {
        repo::session::revoke_session(&mut tx, state.session_id).await?;
        tx.commit(None).await?;
        tracing::warn!(session = %state.session_id, "replayed refresh token; session revoked");
        return Err(login_again(
            "this refresh token was already used; the whole session has been revoked",
        ));
    }
    if !state.employee_active {
        return Err(deactivated());
    }
    let end = session_end(state.session_created_at, policy);
    if end <= Utc::now() {
        return Err(login_again(&format!(
            "the session has expired (sessions last at most {} days)",
            policy.max_days
        )));
    }
    let tokens = if policy.rotate {
        repo::session::mark_used(&mut tx, claims.jti).await?;
        issue_pair(&mut tx, jwt, state.employee_id, state.session_id, end).await?
    } else {
        let now = Utc::now();
        let (access, _) = jwt.issue_until(
            TokenKind::Access,
            state.employee_id,
            state.session_id,
            now,
            Some(end),
        )?;
        TokenPair { access_token: access, refresh_token: refresh_token.to_owned() }
    };
    keep(&tokens)?;
    tx.commit(None).await?;
    Ok(tokens)
}

/// Ends the session the tokens belong to (an expired token still names its session).
/// Returns whether a live session was ended.
pub async fn logout(
    conn: &mut PgConnection,
    jwt: &Jwt,
    tokens: &crate::api::Logout,
) -> Result<bool> {
    let sid = [
        (TokenKind::Refresh, tokens.refresh_token.as_deref()),
        (TokenKind::Access, tokens.access_token.as_deref()),
    ]
    .into_iter()
    .find_map(|(kind, t)| match jwt.verify(kind, t?) {
        Ok(c) => Some(c.sid),
        Err(Rejection::Expired) => jwt.verify_ignoring_expiry(kind, t?).map(|c| c.sid),
        Err(Rejection::Invalid) => None,
    });
    let Some(sid) = sid else { return Ok(false) };
    let mut tx = Tx::begin(conn).await?;
    let ended = repo::session::end_session(&mut tx, sid).await?;
    if let Some((id, name)) = &ended {
        tx.audit_session(SessionEvent::Logout, Some((*id, name)), serde_json::json!({})).await?;
    }
    tx.commit(None).await?;
    Ok(ended.is_some())
}

pub async fn whoami(_db: &mut PgConnection, actor: &Actor, _: WhoAmI) -> Result<Me> {
    Ok(actor.me())
}

pub async fn management_only(
    _db: &mut PgConnection,
    actor: &Actor,
    _: ManagementOnly,
) -> Result<Me> {
    actor.authorize(Action::ManagementOnly, Facts::default())?;
    Ok(actor.me())
}

pub async fn installation(
    db: &mut PgConnection,
    _actor: &Actor,
    _: InstallationShow,
) -> Result<Installation> {
    let mut tx = Tx::begin(db).await?;
    let id = repo::installation::id(&mut tx).await?;
    tx.commit(None).await?;
    Ok(Installation { id })
}
