//! Settings (spec §8): the process environment first, then a `.env` file in the working
//! directory. Nothing is written into the environment; the `.env` values are kept aside.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A secret string: its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStoreKind {
    Auto,
    Keyring,
    File,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlg {
    HS256,
    HS384,
    HS512,
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Everything the binary reads from its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `None`: the zero-config local database (spec §9).
    pub database_url: Option<DatabaseUrl>,
    pub jwt_secret: Option<Secret>,
    pub access_minutes: i64,
    pub refresh_days: i64,
    pub jwt_alg: JwtAlg,
    pub rotate_refresh: bool,
    pub token_store: TokenStoreKind,
    pub data_dir: Option<PathBuf>,
    pub sentry_dsn: Option<Secret>,
    pub sentry_environment: Option<String>,
}

/// A connection URL whose password never shows in `Debug`.
#[derive(Clone)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
    /// The URL with its password replaced, for messages and logs.
    pub fn redacted(&self) -> String {
        redact_url(self.0.expose())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`; also masks a
/// `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end =
            out[rest_start..].find(['/', '?']).map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find("password=") {
        let start = q + "password=".len();
        let end = out[start..].find('&').map_or(out.len(), |i| start + i);
        out.replace_range(start..end, "***");
    }
    out
}

/// Where settings come from: the environment, then the `.env` file's pairs.
pub struct Source {
    dotenv: HashMap<String, String>,
}

impl Source {
    /// Reads `.env` in the working directory, if there is one. A malformed `.env` is a
    /// configuration error (exit 7), not something to skip silently.
    pub fn from_env_and_dotenv() -> Result<Self> {
        let mut dotenv = HashMap::new();
        match dotenvy::from_path_iter(".env") {
            Ok(iter) => {
                for item in iter {
                    let (k, v) = item.map_err(|e| {
                        Error::unavailable(format!("malformed .env file: {}", dotenv_error(&e)))
                    })?;
                    dotenv.insert(k, v);
                }
            }
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(Error::unavailable(format!(
                    "cannot read .env file: {}",
                    dotenv_error(&e)
                )));
            }
        }
        Ok(Source { dotenv })
    }

    /// Only the given pairs (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Source { dotenv: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    pub fn get(&self, key: &str) -> Option<String> {
        match std::env::var(key) {
            Ok(v) => Some(v),
            Err(_) => self.dotenv.get(key).cloned(),
        }
        .filter(|v| !v.trim().is_empty())
    }
}

fn dotenv_error(e: &dotenvy::Error) -> String {
    // dotenvy's line-parse error quotes the offending line, which may hold a secret
    match e {
        dotenvy::Error::LineParse(_, idx) => format!("parse error at character {idx}"),
        other => match other.to_string().split_once(':') {
            Some((head, _)) => head.to_owned(),
            None => "unreadable".to_owned(),
        },
    }
}

fn malformed(name: &str, why: &str) -> Error {
    Error::unavailable(format!("{name} is malformed: {why}"))
}

impl Settings {
    pub fn load() -> Result<Self> {
        Self::from_source(&Source::from_env_and_dotenv()?)
    }

    pub fn from_source(src: &Source) -> Result<Self> {
        let database_url = match src.get("DATABASE_URL") {
            None => None,
            Some(u) => {
                let lower = u.to_ascii_lowercase();
                if !(lower.starts_with("postgres://") || lower.starts_with("postgresql://")) {
                    return Err(malformed(
                        "DATABASE_URL",
                        "expected postgres://user:password@host:port/database",
                    ));
                }
                Some(DatabaseUrl(Secret::new(u)))
            }
        };
        let jwt_secret = match src.get("EPICCRM_JWT_SECRET") {
            None => None,
            Some(s) if s.len() < MIN_JWT_SECRET_BYTES => {
                return Err(malformed(
                    "EPICCRM_JWT_SECRET",
                    &format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"),
                ));
            }
            Some(s) => Some(Secret::new(s)),
        };
        let int = |name: &str, default: i64, max: i64| -> Result<i64> {
            match src.get(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<i64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(malformed(name, &format!("expected a whole number from 1 to {max}"))),
                },
            }
        };
        let access_minutes = int("EPICCRM_JWT_ACCESS_MINUTES", 20, 24 * 60)?;
        let refresh_days = int("EPICCRM_JWT_REFRESH_DAYS", 7, 365)?;
        let jwt_alg = match src.get("EPICCRM_JWT_ALG").as_deref().map(str::trim) {
            None => JwtAlg::HS256,
            Some(a) if a.eq_ignore_ascii_case("HS256") => JwtAlg::HS256,
            Some(a) if a.eq_ignore_ascii_case("HS384") => JwtAlg::HS384,
            Some(a) if a.eq_ignore_ascii_case("HS512") => JwtAlg::HS512,
            Some(_) => return Err(malformed("EPICCRM_JWT_ALG", "expected HS256, HS384 or HS512")),
        };
        let rotate_refresh = match src.get("EPICCRM_JWT_ROTATE_REFRESH") {
            None => true,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(malformed("EPICCRM_JWT_ROTATE_REFRESH", "expected true or false")),
            },
        };
        let token_store =
            match src.get("EPICCRM_TOKEN_STORE").map(|v| v.trim().to_ascii_lowercase()) {
                None => TokenStoreKind::Auto,
                Some(v) if v == "auto" => TokenStoreKind::Auto,
                Some(v) if v == "keyring" => TokenStoreKind::Keyring,
                Some(v) if v == "file" => TokenStoreKind::File,
                Some(_) => {
                    return Err(malformed("EPICCRM_TOKEN_STORE", "expected auto, keyring or file"));
                }
            };
        Ok(Settings {
            database_url,
            jwt_secret,
            access_minutes,
            refresh_days,
            jwt_alg,
            rotate_refresh,
            token_store,
            data_dir: src.get("EPICCRM_DATA_DIR").map(PathBuf::from),
            sentry_dsn: src.get("SENTRY_DSN").map(Secret::new),
            sentry_environment: src.get("SENTRY_ENVIRONMENT"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_url_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cr%40t@db:5432/crm"),
            "postgres://app:***@db:5432/crm"
        );
        assert_eq!(redact_url("postgres://app@db/crm"), "postgres://app@db/crm");
        assert_eq!(
            redact_url("postgres:///crm?host=/tmp&password=hunter2&x=1"),
            "postgres:///crm?host=/tmp&password=***&x=1"
        );
        let u = DatabaseUrl(Secret::new("postgres://a:hunter2@h/d"));
        assert!(!format!("{u:?}").contains("hunter2"));
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("x".repeat(40))), "<redacted>");
    }
}
