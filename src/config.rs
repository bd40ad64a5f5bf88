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

/// The placeholder of `.env.example`: long enough, and public.
pub const PLACEHOLDER_SECRET: &str = "CHANGE_ME_TO_A_LONG_RANDOM_STRING_OF_32_BYTES_OR_MORE";

/// Why a JWT secret is unfit, if it is: too short, the documented placeholder, or one
/// character repeated.
pub fn weak_secret(s: &str) -> Option<String> {
    if s.len() < MIN_JWT_SECRET_BYTES {
        return Some(format!("must be at least {MIN_JWT_SECRET_BYTES} bytes long"));
    }
    if s.contains("CHANGE_ME") {
        return Some(
            "is the placeholder of .env.example; generate one with `openssl rand -hex 32`".into(),
        );
    }
    let mut chars = s.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Some("is one character repeated; generate one with `openssl rand -hex 32`".into());
    }
    None
}

/// Where a client finds the server (`EPICCRM_SERVER`): `http(s)://host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl ServerUrl {
    /// Parses and checks an address: `https://`, or `http://` to a loopback host only (tokens
    /// would cross the network in clear): that refusal is a usage error (exit 2).
    pub fn parse(input: &str) -> Result<Self> {
        let bad = || {
            malformed("EPICCRM_SERVER", "expected https://host[:port] (or http:// on this machine)")
        };
        let s = input.trim().trim_end_matches('/');
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (h.to_owned(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p.parse::<u16>().map_err(|_| bad())?)),
                None => (rest.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let url = ServerUrl { https, port: port.unwrap_or(if https { 443 } else { 80 }), host };
        if !https && !url.is_loopback() {
            return Err(Error::usage(format!(
                "refusing {}: tokens would cross the network in clear",
                url.origin()
            ))
            .with_hint(format!("use https://{rest}")));
        }
        Ok(url)
    }

    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// `host:port` (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `https://host:port`: what tokens are stored under.
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.https { "https" } else { "http" }, self.authority())
    }
}

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
    /// A login session ends this many days after the login, however often it is refreshed.
    pub session_max_days: i64,
    /// Client mode (spec §10): every command goes through this server.
    pub server: Option<ServerUrl>,
    /// An extra certificate authority the client trusts (a server with its own CA).
    pub ca_cert: Option<PathBuf>,
    /// Server mode: where `serve` listens, its pool, its TLS files.
    pub listen: String,
    pub db_pool: u32,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` is believed (login throttling per client address).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The deadline of a request, in seconds (a streamed list goes on while rows flow).
    pub request_timeout_secs: u64,
    /// How long a streamed list waits for a client that does not read, in seconds.
    pub stream_idle_secs: u64,
    /// Server mode: where `GET /metrics` is served (spec §15), if anywhere.
    pub metrics_listen: Option<String>,
    /// Where each setting came from (spec §16: errors and `-v` say so).
    pub origins: Origins,
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

/// Where one setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The process environment.
    Env,
    /// The `.env` file of the working directory (this path).
    DotEnv(PathBuf),
}

/// Every setting the binary reads, for `-v` (where each came from).
pub const SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "EPICCRM_SERVER",
    "EPICCRM_DATA_DIR",
    "EPICCRM_JWT_SECRET",
    "EPICCRM_JWT_ACCESS_MINUTES",
    "EPICCRM_JWT_REFRESH_DAYS",
    "EPICCRM_JWT_ALG",
    "EPICCRM_JWT_ROTATE_REFRESH",
    "EPICCRM_TOKEN_STORE",
    "EPICCRM_SESSION_MAX_DAYS",
    "EPICCRM_CA_CERT",
    "EPICCRM_LISTEN",
    "EPICCRM_DB_POOL",
    "EPICCRM_TLS_CERT",
    "EPICCRM_TLS_KEY",
    "EPICCRM_TRUSTED_PROXIES",
    "EPICCRM_REQUEST_TIMEOUT_SECS",
    "EPICCRM_STREAM_IDLE_SECS",
    "EPICCRM_METRICS_LISTEN",
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
];

/// Where each setting that is set came from (a setting not in it has its default).
#[derive(Clone, Debug, Default)]
pub struct Origins(Vec<(&'static str, Origin)>);

impl Origins {
    pub fn of(&self, key: &str) -> Option<&Origin> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, o)| o)
    }

    /// `DATABASE_URL from ./.env` when the `.env` file gave it; the bare name otherwise.
    pub fn named(&self, key: &str) -> String {
        match self.of(key) {
            Some(Origin::DotEnv(_)) => format!("{key} from ./.env"),
            _ => key.to_owned(),
        }
    }

    /// `the environment`, `/path/.env`, or `default`: for `-v`.
    pub fn describe(&self, key: &str) -> String {
        match self.of(key) {
            Some(Origin::Env) => "the environment".to_owned(),
            Some(Origin::DotEnv(path)) => path.display().to_string(),
            None => "default".to_owned(),
        }
    }

    /// An error about `key`'s value, saying where it came from when that was `.env`.
    pub fn blame(&self, key: &str, e: Error) -> Error {
        if !matches!(self.of(key), Some(Origin::DotEnv(_))) {
            return e;
        }
        let message = if e.message().contains(key) {
            e.message().replacen(key, &self.named(key), 1)
        } else {
            format!("{} ({})", e.message(), self.named(key))
        };
        e.with_message(message)
    }
}

/// Where settings come from: the environment, then the `.env` file's pairs.
pub struct Source {
    dotenv: HashMap<String, String>,
    dotenv_path: PathBuf,
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
        let dotenv_path = std::path::absolute(".env").unwrap_or_else(|_| PathBuf::from(".env"));
        Ok(Source { dotenv, dotenv_path })
    }

    /// Only the given pairs (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Source {
            dotenv: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            dotenv_path: PathBuf::from(".env"),
        }
    }

    /// Where `key`'s value comes from, when it is set.
    pub fn origin(&self, key: &str) -> Option<Origin> {
        let set = |v: &str| !v.trim().is_empty();
        match std::env::var(key) {
            Ok(v) if set(&v) => Some(Origin::Env),
            Ok(_) => None,
            Err(_) => self
                .dotenv
                .get(key)
                .filter(|v| set(v))
                .map(|_| Origin::DotEnv(self.dotenv_path.clone())),
        }
    }

    fn origins(&self) -> Origins {
        Origins(SETTINGS.iter().filter_map(|k| self.origin(k).map(|o| (*k, o))).collect())
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
        let origins = src.origins();
        Self::read(src, origins.clone()).map_err(|e| {
            // the setting the error names, blamed on its source
            match SETTINGS.iter().find(|k| e.message().starts_with(**k)) {
                Some(key) => origins.blame(key, e),
                None => e,
            }
        })
    }

    fn read(src: &Source, origins: Origins) -> Result<Self> {
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
            Some(s) => match weak_secret(&s) {
                Some(why) => return Err(malformed("EPICCRM_JWT_SECRET", &why)),
                None => Some(Secret::new(s)),
            },
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
        let session_max_days = int("EPICCRM_SESSION_MAX_DAYS", 30, 3650)?;
        let server = src.get("EPICCRM_SERVER").map(|s| ServerUrl::parse(&s)).transpose()?;
        let db_pool = int("EPICCRM_DB_POOL", 10, 1000)? as u32;
        let request_timeout_secs = int("EPICCRM_REQUEST_TIMEOUT_SECS", 30, 3600)? as u64;
        // spec §15: a client that makes no read progress for 5 seconds loses its stream
        let stream_idle_secs = int("EPICCRM_STREAM_IDLE_SECS", 5, 3600)? as u64;
        let trusted_proxies = match src.get("EPICCRM_TRUSTED_PROXIES") {
            None => vec![],
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| {
                    malformed(
                        "EPICCRM_TRUSTED_PROXIES",
                        "expected IP addresses separated by commas",
                    )
                })?,
        };
        let listen = src.get("EPICCRM_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        Ok(Settings {
            origins,
            session_max_days,
            server,
            ca_cert: src.get("EPICCRM_CA_CERT").map(PathBuf::from),
            listen,
            db_pool,
            tls_cert: src.get("EPICCRM_TLS_CERT").map(PathBuf::from),
            tls_key: src.get("EPICCRM_TLS_KEY").map(PathBuf::from),
            trusted_proxies,
            request_timeout_secs,
            stream_idle_secs,
            metrics_listen: src.get("EPICCRM_METRICS_LISTEN"),
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
    fn weak_secrets_are_refused() {
        assert!(weak_secret("short").is_some());
        assert!(weak_secret(&"a".repeat(40)).is_some());
        assert!(weak_secret(PLACEHOLDER_SECRET).is_some());
        assert!(weak_secret("0123456789abcdef0123456789abcdef").is_none());
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
        assert!(example.contains(&format!("EPICCRM_JWT_SECRET={PLACEHOLDER_SECRET}")));
    }

    #[test]
    fn server_addresses_need_https_off_this_machine() {
        let u = ServerUrl::parse("https://crm.example.com").unwrap();
        assert_eq!(u.origin(), "https://crm.example.com:443");
        assert_eq!(ServerUrl::parse("http://127.0.0.1:8080/").unwrap().port, 8080);
        assert!(ServerUrl::parse("http://localhost").unwrap().is_loopback());
        assert!(ServerUrl::parse("http://[::1]:9000").unwrap().is_loopback());
        let e = ServerUrl::parse("http://crm.example.com").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.hint(), Some("use https://crm.example.com"));
        for bad in ["crm.example.com", "ftp://x", "https://", "https://a/b", "https://a:x"] {
            assert_eq!(ServerUrl::parse(bad).unwrap_err().exit_code(), 7, "{bad}");
        }
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert_eq!(format!("{:?}", Secret::new("x".repeat(40))), "<redacted>");
    }
}
