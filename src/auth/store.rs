//! Where the access and refresh tokens live between commands: the OS keyring (service
//! `epiccrm-cli`) or a file readable only by its owner. `EPICCRM_TOKEN_STORE` picks one;
//! `auto` uses the file when one is already there, else tries the keyring and falls back to
//! the file. On Linux the keyring is the Secret Service (GNOME Keyring, KWallet), which keeps
//! secrets on disk across reboots; kernel keyrings (keyutils) do not, so they are not used.
//! Every keyring call runs on its own thread and is abandoned after `KEYRING_TIMEOUT`, so a
//! locked or absent keyring never hangs the CLI.
//!
//! Sessions are kept per place (spec §10, §16): one per server origin, and in direct mode one
//! per database — `DATABASE_URL`'s host, port and database, or the zero-config data directory
//! — so that logging in to one never ends the session of another. The default zero-config
//! database keeps the names of the first releases (`tokens.json`, keyring user `session`). What the store has to say to the user (a file whose mode
//! it fixed) goes to the front end's reporter, not to the terminal directly.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Settings, TokenStoreKind};
use crate::error::{Error, Result};
use crate::sys;

pub const KEYRING_SERVICE: &str = "epiccrm-cli";
const KEYRING_USER: &str = "session";
const KEYRING_TIMEOUT: Duration = Duration::from_secs(2);
const FILE_NAME: &str = "tokens.json";

/// The pair of tokens of one login. `Debug` shows neither.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl From<crate::api::TokenPair> for Tokens {
    fn from(p: crate::api::TokenPair) -> Self {
        Tokens { access: p.access_token, refresh: p.refresh_token }
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(<redacted>)")
    }
}

/// Whose session: a database's (direct mode) or a server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The default zero-config database (no `EPICCRM_DATA_DIR`, no `DATABASE_URL`).
    Direct,
    /// `postgres://host:port/database` (no user, no password) or `dir:/path/to/data-dir`
    Database(String),
    /// `https://host:port`
    Server(String),
}

/// A file name's part for `key`: letters, digits and dots kept, the rest `_`; a key too long
/// for a file name is shortened and made unique by its hash.
fn slug(key: &str) -> String {
    let s: String =
        key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    if s.len() <= 120 {
        return s;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(key.as_bytes());
    let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", &s[..100])
}

impl Scope {
    /// The scope of direct mode for these settings.
    pub fn direct(settings: &Settings) -> Scope {
        match (&settings.database_url, &settings.data_dir) {
            (Some(url), _) => Scope::of_database_url(url.expose()),
            (None, Some(dir)) => {
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                Scope::Database(format!("dir:{}", dir.display()))
            }
            (None, None) => Scope::Direct,
        }
    }

    /// A `DATABASE_URL`'s session: its host (or socket directory), port and database; the
    /// user and password are not part of it (a password change keeps the session).
    pub fn of_database_url(url: &str) -> Scope {
        use std::str::FromStr;
        match sqlx::postgres::PgConnectOptions::from_str(url) {
            Ok(o) => {
                let host = match o.get_socket() {
                    Some(dir) => dir.display().to_string(),
                    None => o.get_host().to_owned(),
                };
                let db = o.get_database().unwrap_or_else(|| o.get_username());
                Scope::Database(format!("postgres://{host}:{}/{db}", o.get_port()))
            }
            // unparsable: the connection will say so; keep it apart from every other
            Err(_) => Scope::Database(format!("url:{}", crate::config::redact_url(url))),
        }
    }

    /// The keyring user of this scope's session.
    pub fn account(&self) -> String {
        match self {
            Scope::Direct => KEYRING_USER.to_owned(),
            Scope::Database(key) => format!("database:{key}"),
            Scope::Server(origin) => format!("server:{origin}"),
        }
    }

    /// The token file's name of this scope (in the per-user configuration directory).
    pub fn file_name(&self) -> String {
        match self {
            Scope::Direct => FILE_NAME.to_owned(),
            Scope::Database(key) => format!("tokens-db-{}.json", slug(key)),
            Scope::Server(origin) => format!("tokens-{}.json", slug(origin)),
        }
    }

    fn lock_name(&self) -> String {
        match self {
            Scope::Direct => "session.lock".to_owned(),
            Scope::Database(key) => format!("session-db-{}.lock", slug(key)),
            Scope::Server(origin) => format!("session-{}.lock", slug(origin)),
        }
    }

    /// For messages: `the database postgres://host:5432/crm`, `the server https://…`.
    pub fn describe(&self) -> String {
        match self {
            Scope::Direct => "the zero-config database".to_owned(),
            Scope::Database(key) => match key.strip_prefix("dir:") {
                Some(dir) => format!("the zero-config database in {dir}"),
                None => format!("the database {key}"),
            },
            Scope::Server(origin) => format!("the server {origin}"),
        }
    }
}

type Reporter = Box<dyn Fn(&str) + Send + Sync>;

pub struct TokenStore {
    kind: TokenStoreKind,
    dir: PathBuf,
    /// Keyring user, file and lock names for this scope.
    account: String,
    file_name: String,
    lock_name: String,
    warn: Reporter,
}

fn garbage() -> Error {
    Error::unauthenticated("the stored session is unreadable").with_hint("run `epicevents login`")
}

impl TokenStore {
    pub fn new(settings: &Settings, scope: Scope) -> Result<Self> {
        let dir = directories::ProjectDirs::from("", "", "epiccrm")
            .map(|d| d.config_dir().to_path_buf())
            .ok_or_else(|| {
                Error::unavailable("cannot find a home directory for the token file (set HOME)")
            })?;
        let (account, file_name, lock_name) =
            (scope.account(), scope.file_name(), scope.lock_name());
        Ok(TokenStore {
            kind: settings.token_store,
            dir,
            account,
            file_name,
            lock_name,
            warn: Box::new(|w| tracing::warn!("{w}")),
        })
    }

    /// Where the store's warnings go (the CLI prints them as `warning: …`).
    pub fn with_reporter(mut self, warn: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warn = Box::new(warn);
        self
    }

    pub fn file_path(&self) -> PathBuf {
        self.dir.join(&self.file_name)
    }

    pub fn load(&self) -> Result<Option<Tokens>> {
        let raw = match self.kind {
            TokenStoreKind::File => self.read_file()?,
            TokenStoreKind::Keyring => keyring::get(&self.account)?,
            TokenStoreKind::Auto => match self.read_file()? {
                Some(raw) => Some(raw),
                None => keyring::get(&self.account).unwrap_or(None),
            },
        };
        match raw {
            None => Ok(None),
            Some(raw) => serde_json::from_str(&raw).map(Some).map_err(|_| garbage()),
        }
    }

    pub fn save(&self, tokens: &Tokens) -> Result<()> {
        let raw = serde_json::to_string(tokens)
            .map_err(|e| Error::internal("could not encode the session", e))?;
        match self.kind {
            TokenStoreKind::File => self.write_file(&raw),
            TokenStoreKind::Keyring => keyring::set(&self.account, &raw),
            TokenStoreKind::Auto => match keyring::set(&self.account, &raw) {
                Ok(()) => self.remove_file(),
                Err(e) => {
                    tracing::debug!("keyring unavailable, using the token file: {e}");
                    self.write_file(&raw)
                }
            },
        }
    }

    pub fn clear(&self) -> Result<()> {
        match self.kind {
            TokenStoreKind::File => self.remove_file(),
            TokenStoreKind::Keyring => keyring::delete(&self.account, false),
            TokenStoreKind::Auto => {
                self.remove_file()?;
                // no keyring at all is fine (nothing can be stored there); one that answers
                // with an error, or not at all, may still hold the tokens
                if let Err(e) = keyring::delete(&self.account, true) {
                    (self.warn)(&format!(
                        "the OS keyring could not be cleared ({e}); tokens may remain there"
                    ));
                }
                Ok(())
            }
        }
    }

    /// An exclusive lock on this user's session, held while the returned file is open:
    /// concurrent commands refresh one at a time instead of racing to rotate one token.
    pub fn lock(&self) -> Result<File> {
        self.ensure_dir()?;
        let f = sys::open_private(
            &self.dir.join(&self.lock_name),
            OpenOptions::new().create(true).truncate(false).write(true),
        )
        .map_err(|e| Error::internal("cannot open the session lock file", e))?;
        f.lock().map_err(|e| Error::internal("cannot lock the session", e))?;
        Ok(f)
    }

    /// The token directory, private to its owner: made 0700, closed again with a warning if
    /// someone opened it, and refused if it is a symbolic link.
    fn ensure_dir(&self) -> Result<()> {
        sys::create_dir(&self.dir, true)
            .map_err(|e| Error::internal("cannot create the token directory", e))?;
        let meta = fs::symlink_metadata(&self.dir)
            .map_err(|e| Error::internal("cannot inspect the token directory", e))?;
        if meta.file_type().is_symlink() {
            return Err(Error::unauthenticated(format!(
                "the token directory {} is a symbolic link; refusing to use it",
                self.dir.display()
            )));
        }
        if !sys::is_private(&meta) {
            (self.warn)(&format!(
                "{} was open to others; its mode is now 0700",
                self.dir.display()
            ));
            sys::make_private_dir(&self.dir)
                .map_err(|e| Error::internal("cannot fix the token directory's mode", e))?;
        }
        Ok(())
    }

    fn read_file(&self) -> Result<Option<String>> {
        let path = self.file_path();
        let f = match sys::open_private(&path, OpenOptions::new().read(true)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if sys::is_link_refused(&e) => {
                return Err(Error::unauthenticated(format!(
                    "the token file {} is a symbolic link; refusing to follow it",
                    path.display()
                ))
                .with_hint("remove it and run `epicevents login`"));
            }
            Err(e) => return Err(Error::internal("cannot read the token file", e)),
        };
        let meta = f.metadata().map_err(|e| Error::internal("cannot read the token file", e))?;
        if !sys::is_private(&meta) {
            (self.warn)(&format!(
                "{} was readable by others; its mode is now 0600 (log in again if you think it \
                 leaked)",
                path.display()
            ));
            sys::make_private_file(&f)
                .map_err(|e| Error::internal("cannot fix the token file's mode", e))?;
        }
        let mut s = String::new();
        if f.take(64 * 1024).read_to_string(&mut s).is_err() {
            return Err(garbage());
        }
        Ok(Some(s))
    }

    fn write_file(&self, raw: &str) -> Result<()> {
        self.ensure_dir()?;
        let tmp = self.dir.join(format!(".{}.{}", self.file_name, std::process::id()));
        let write = |path: &Path| -> std::io::Result<()> {
            let _ = fs::remove_file(path);
            // created 0600 from the start: no window in which another user could open it
            let mut f = sys::open_private(path, OpenOptions::new().write(true).create_new(true))?;
            f.write_all(raw.as_bytes())?;
            f.sync_all()
        };
        write(&tmp).and_then(|()| fs::rename(&tmp, self.file_path())).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::internal("cannot write the token file", e)
        })
    }

    fn remove_file(&self) -> Result<()> {
        match fs::remove_file(self.file_path()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::internal("cannot remove the token file", e)),
        }
    }
}

/// The OS keyring, each call bounded in time.
mod keyring {
    use super::*;

    fn with_timeout<T: Send + 'static>(
        f: impl FnOnce() -> std::result::Result<T, keyring_core::Error> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let _ = tx.send(f());
            })
            .map_err(|e| Error::internal("cannot start the keyring thread", e))?;
        match rx.recv_timeout(KEYRING_TIMEOUT) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::debug!("keyring: {e}");
                Err(Error::unavailable("the OS keyring is not available")
                    .with_hint("set EPICCRM_TOKEN_STORE=file (or auto) to keep tokens in a file"))
            }
            Err(_) => Err(Error::unavailable("the OS keyring did not answer in time")
                .with_hint("set EPICCRM_TOKEN_STORE=file (or auto) to keep tokens in a file")),
        }
    }

    fn entry(account: &str) -> std::result::Result<keyring_core::Entry, keyring_core::Error> {
        sys::keyring_entry(KEYRING_SERVICE, account)
    }

    pub fn get(account: &str) -> Result<Option<String>> {
        let account = account.to_owned();
        // bytes, not a "password": Credential Manager would store a password as UTF-16,
        // twice the size, against its 2,560-byte limit
        with_timeout(move || match entry(&account)?.get_secret() {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    pub fn set(account: &str, raw: &str) -> Result<()> {
        let (account, raw) = (account.to_owned(), raw.to_owned());
        with_timeout(move || entry(&account)?.set_secret(raw.as_bytes()))
    }

    /// Deletes the stored session. With `no_service_is_fine`, a machine with no keyring
    /// service at all is not an error either (nothing can be stored there).
    pub fn delete(account: &str, no_service_is_fine: bool) -> Result<()> {
        let account = account.to_owned();
        with_timeout(move || match entry(&account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(keyring_core::Error::PlatformFailure(_) | keyring_core::Error::NoDefaultStore)
                if no_service_is_fine =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One session per database: its host, port and database name, not who connects.
    #[test]
    fn a_database_scope_is_its_host_port_and_name() {
        let a = Scope::of_database_url("postgres://app:pw1@db.example.com:5433/crm");
        assert_eq!(a, Scope::Database("postgres://db.example.com:5433/crm".into()));
        assert_eq!(a, Scope::of_database_url("postgres://other:pw2@db.example.com:5433/crm"));
        assert_ne!(a, Scope::of_database_url("postgres://app:pw1@db.example.com:5433/crm2"));
        assert_ne!(a, Scope::of_database_url("postgres://app:pw1@db.example.com/crm"));
        assert!(!a.file_name().contains("pw1") && !a.account().contains("pw1"));
        assert_eq!(a.file_name(), "tokens-db-postgres___db.example.com_5433_crm.json");
        let dirs = |d: &str| {
            let s = Settings::from_source(&Source::from_pairs(&[("EPICCRM_DATA_DIR", d)])).unwrap();
            Scope::direct(&s)
        };
        assert_ne!(dirs("/srv/crm-a"), dirs("/srv/crm-b"));
        assert_eq!(
            Scope::direct(&Settings::from_source(&Source::from_pairs(&[])).unwrap()),
            Scope::Direct
        );
        // a long path still makes a file name of a sane length, and a distinct one
        let long = format!("/srv/{}", "x".repeat(300));
        assert!(dirs(&long).file_name().len() < 160);
        assert_ne!(dirs(&long).file_name(), dirs(&format!("{long}y")).file_name());
    }
    use crate::auth::jwt::{Jwt, TokenKind};
    use crate::config::{Secret, Source};

    /// Windows Credential Manager keeps at most 2,560 bytes per credential
    /// (CRED_MAX_CREDENTIAL_BLOB_SIZE); the Wine tests check the stored blob itself.
    #[test]
    fn the_largest_session_fits_a_windows_credential_blob() {
        let settings = Settings::from_source(&Source::from_pairs(&[
            ("EPICCRM_JWT_ALG", "HS512"),
            ("EPICCRM_JWT_ACCESS_MINUTES", "1440"),
            ("EPICCRM_JWT_REFRESH_DAYS", "365"),
        ]))
        .unwrap();
        let jwt = Jwt::new(Secret::new("k".repeat(64)), &settings);
        let (sid, now) = (uuid::Uuid::new_v4(), chrono::Utc::now());
        let (access, _) = jwt.issue(TokenKind::Access, i64::MAX, sid, now).unwrap();
        let (refresh, _) = jwt.issue(TokenKind::Refresh, i64::MAX, sid, now).unwrap();
        let stored = serde_json::to_string(&Tokens { access, refresh }).unwrap();
        // kept as UTF-8 bytes (set_secret): as a "password" it would be UTF-16, twice as long
        assert!(stored.len() * 2 <= 2560, "{} bytes", stored.len());
    }
}
