//! Access and refresh tokens. Both carry the employee id (`sub`), the session they descend
//! from (`sid`), a unique id (`jti`), `iat` and `exp`; they differ by `aud` so that one can
//! never pass for the other. The role is deliberately absent: it is read from the database.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{JwtAlg, Secret, Settings};
use crate::error::{Error, Result};

const ISSUER: &str = "epicevents";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn audience(self) -> &'static str {
        match self {
            TokenKind::Access => "epiccrm:access",
            TokenKind::Refresh => "epiccrm:refresh",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: Uuid,
    pub jti: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub aud: String,
    pub iss: String,
}

impl Claims {
    pub fn employee_id(&self) -> Result<i64> {
        self.sub.parse().map_err(|_| Error::unauthenticated("the stored session is invalid"))
    }
}

/// Signs and checks tokens with the configured secret and algorithm.
pub struct Jwt {
    secret: Secret,
    alg: Algorithm,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt").field("alg", &self.alg).finish_non_exhaustive()
    }
}

/// Why a token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
    Expired,
    Invalid,
}

impl Jwt {
    pub fn new(secret: Secret, settings: &Settings) -> Self {
        Jwt {
            secret,
            alg: match settings.jwt_alg {
                JwtAlg::HS256 => Algorithm::HS256,
                JwtAlg::HS384 => Algorithm::HS384,
                JwtAlg::HS512 => Algorithm::HS512,
            },
            access_ttl: Duration::minutes(settings.access_minutes),
            refresh_ttl: Duration::days(settings.refresh_days),
        }
    }

    /// Signs a token of `kind` issued at `now`, valid for its configured lifetime.
    pub fn issue(
        &self,
        kind: TokenKind,
        employee_id: i64,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(String, Claims)> {
        self.issue_until(kind, employee_id, session, now, None)
    }

    /// Like [`Jwt::issue`], but never valid past `not_after` (the end of the session).
    pub fn issue_until(
        &self,
        kind: TokenKind,
        employee_id: i64,
        session: Uuid,
        now: DateTime<Utc>,
        not_after: Option<DateTime<Utc>>,
    ) -> Result<(String, Claims)> {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let exp = match not_after {
            Some(end) => (now + ttl).min(end),
            None => now + ttl,
        };
        let claims = Claims {
            sub: employee_id.to_string(),
            sid: session,
            jti: Uuid::new_v4(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
            aud: kind.audience().into(),
            iss: ISSUER.into(),
        };
        let token = jsonwebtoken::encode(
            &Header::new(self.alg),
            &claims,
            &EncodingKey::from_secret(self.secret.expose().as_bytes()),
        )
        .map_err(|e| Error::internal("could not sign a token", e))?;
        Ok((token, claims))
    }

    pub fn verify(&self, kind: TokenKind, token: &str) -> Result<Claims, Rejection> {
        self.verify_with(kind, token, true)
    }

    /// The claims of a well-signed token, expired or not (to end the session it names).
    pub fn verify_ignoring_expiry(&self, kind: TokenKind, token: &str) -> Option<Claims> {
        self.verify_with(kind, token, false).ok()
    }

    fn verify_with(
        &self,
        kind: TokenKind,
        token: &str,
        check_exp: bool,
    ) -> Result<Claims, Rejection> {
        let mut v = Validation::new(self.alg);
        v.validate_exp = check_exp;
        v.set_audience(&[kind.audience()]);
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        v.leeway = 0;
        match jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(self.secret.expose().as_bytes()),
            &v,
        ) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(Rejection::Expired),
            Err(_) => Err(Rejection::Invalid),
        }
    }
}

/// The expiry a token claims, read without checking its signature: what a client that does
/// not hold the secret uses to refresh before the server would refuse the token anyway.
pub fn unverified_expiry(token: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct Exp {
        exp: i64,
    }
    jsonwebtoken::dangerous::insecure_decode_claims::<Exp>(token).ok().map(|e| e.exp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn jwt() -> Jwt {
        let settings = Settings::from_source(&Source::from_pairs(&[])).unwrap();
        Jwt::new(Secret::new("k".repeat(32)), &settings)
    }

    #[test]
    fn round_trip_and_audience_separation() {
        let j = jwt();
        let sid = Uuid::new_v4();
        let (access, claims) = j.issue(TokenKind::Access, 7, sid, Utc::now()).unwrap();
        let back = j.verify(TokenKind::Access, &access).unwrap();
        assert_eq!(back.employee_id().unwrap(), 7);
        assert_eq!(back.jti, claims.jti);
        assert_eq!(j.verify(TokenKind::Refresh, &access).unwrap_err(), Rejection::Invalid);
    }

    #[test]
    fn a_token_can_end_with_its_session_and_says_when() {
        let j = jwt();
        let now = Utc::now();
        let end = now + Duration::hours(1);
        let (t, c) = j.issue_until(TokenKind::Refresh, 7, Uuid::new_v4(), now, Some(end)).unwrap();
        assert_eq!(c.exp, end.timestamp());
        assert_eq!(unverified_expiry(&t), Some(end.timestamp()));
        assert_eq!(unverified_expiry("garbage"), None);
    }

    #[test]
    fn expired_and_tampered_tokens_are_rejected() {
        let j = jwt();
        let old = Utc::now() - Duration::hours(2);
        let (t, _) = j.issue(TokenKind::Access, 1, Uuid::new_v4(), old).unwrap();
        assert_eq!(j.verify(TokenKind::Access, &t).unwrap_err(), Rejection::Expired);

        let (t, _) = j.issue(TokenKind::Access, 1, Uuid::new_v4(), Utc::now()).unwrap();
        let mut tampered = t.clone();
        tampered.insert(tampered.len() - 3, 'A');
        assert_eq!(j.verify(TokenKind::Access, &tampered).unwrap_err(), Rejection::Invalid);
        assert_eq!(j.verify(TokenKind::Access, "garbage").unwrap_err(), Rejection::Invalid);

        let other = Jwt::new(
            Secret::new("z".repeat(32)),
            &Settings::from_source(&Source::from_pairs(&[])).unwrap(),
        );
        assert_eq!(other.verify(TokenKind::Access, &t).unwrap_err(), Rejection::Invalid);
    }
}
