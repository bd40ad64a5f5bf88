//! The one error type that reaches `main`: a kind that knows its exit code (spec §6), a
//! one-line message for the user, an optional hint, and a cause chain kept for the log only.

use std::fmt;

/// What went wrong, as far as the exit code is concerned (spec §6). It crosses the network
/// as its snake-case name (`"not_found"`), so that a client maps it back to the same code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 1: a bug or an unexpected failure.
    Internal,
    /// 2: usage or invalid input.
    Usage,
    /// 3: not authenticated.
    Unauthenticated,
    /// 4: role or ownership does not allow it.
    Forbidden,
    /// 5: no such row.
    NotFound,
    /// 6: conflict with the current state.
    Conflict,
    /// 7: database unavailable, misconfigured, or schema not migrated.
    Unavailable,
    /// 6 (a conflict with the current state): the employee already has as many lists
    /// streaming from this server as fair use allows (spec §15); HTTP 429.
    TooManyStreams,
    /// 2 (invalid input): an `Idempotency-Key` already used for another request (spec §15);
    /// HTTP 422.
    IdempotencyMismatch,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Internal => 1,
            Kind::Usage => 2,
            Kind::Unauthenticated => 3,
            Kind::Forbidden => 4,
            Kind::NotFound => 5,
            Kind::Conflict | Kind::TooManyStreams => 6,
            Kind::Unavailable => 7,
            Kind::IdempotencyMismatch => 2,
        }
    }
}

/// An error for the user. Its `Display` is the one line printed after `error: `; the
/// `source` chain is only logged (`-v`, `RUST_LOG`), since it may hold SQL or paths.
pub struct Error {
    kind: Kind,
    message: String,
    hint: Option<String>,
    source: Option<anyhow::Error>,
    /// Told as a plain line, not as an `error:` (the user cancelled).
    plain: bool,
    /// Ctrl-C at a prompt: exit 130, as a program ended by Ctrl-C (SIGINT) exits.
    interrupted: bool,
    /// A write whose outcome is unknown: its answer was lost after it was sent (a `COMMIT`,
    /// or a request to a server), so it may have been applied.
    maybe_applied: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            source: None,
            plain: false,
            interrupted: false,
            maybe_applied: false,
        }
    }
    /// A write sent whose answer never came (exit 7): it may have been applied. The backend
    /// adds the command that shows whether it was (`contract show 9`).
    pub fn maybe_applied(what: impl fmt::Display) -> Self {
        Error {
            maybe_applied: true,
            ..Self::unavailable(format!("{what}: the change may have been applied"))
        }
    }
    pub fn is_maybe_applied(&self) -> bool {
        self.maybe_applied
    }
    /// The user answered no at a prompt (exit 2, as `gh` does): nothing was changed, and
    /// that is not an error to shout about.
    pub fn cancelled() -> Self {
        Error { plain: true, ..Self::usage("Cancelled: nothing was changed.") }
    }
    /// Ctrl-C at a prompt: cancelled, exit 130 on every system.
    pub fn interrupted() -> Self {
        Error { interrupted: true, ..Self::cancelled() }
    }
    pub fn is_plain(&self) -> bool {
        self.plain
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthenticated, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }
    /// An unexpected failure: the user sees `message`, the log gets the cause.
    pub fn internal(message: impl Into<String>, cause: impl Into<anyhow::Error>) -> Self {
        Self::new(Kind::Internal, message).with_source(cause)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_source(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.source = Some(cause.into());
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }
    pub fn exit_code(&self) -> u8 {
        if self.interrupted { 130 } else { self.kind.exit_code() }
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.source.as_ref()
    }
    /// The same error with another message (the kind, hint and cause stay).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    // The cause is summarised by its top-level message only: a full `{:?}` of a driver
    // error could print connection parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("hint", &self.hint)
            .field("cause", &self.source.as_ref().map(|e| e.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// Only what the driver itself knows (connection, timeouts, serialization failures, a schema
/// that is not there): a constraint violation is mapped by the repository statement that
/// knows what it means, and is an internal error anywhere else.
impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        driver_error(&err).with_source(err)
    }
}

pub const MIGRATE_HINT: &str = "run `epicevents db migrate`";

/// What the driver itself knows of an error, for the user.
pub fn driver_error(err: &sqlx::Error) -> Error {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                "42P01" | "42703" | "42883" => {
                    Error::unavailable("the database schema is not migrated or is outdated")
                        .with_hint(MIGRATE_HINT)
                }
                "40001" | "40P01" => {
                    Error::conflict("the record was changed at the same time; try again")
                }
                "55P03" => Error::conflict(
                    "the record is held by another command that is still running; try again",
                ),
                "57014" => Error::unavailable("the database took too long to answer"),
                "28P01" | "28000" => {
                    Error::unavailable("the database refused the credentials in DATABASE_URL")
                }
                "3D000" => Error::unavailable("the database named in DATABASE_URL does not exist"),
                "42501" => Error::unavailable("the database role lacks a privilege it needs"),
                c if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => {
                    Error::unavailable(format!("the database is unavailable: {}", db.message()))
                }
                _ => Error::new(Kind::Internal, "unexpected database error"),
            }
        }
        // only the server has a pool: every connection busy, or none could be made, until
        // the request's deadline
        sqlx::Error::PoolTimedOut => Error::unavailable(
            "no database connection came free in time: the server is busy, or the database is \
             not answering",
        ),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Error::unavailable("the database is unavailable"),
        sqlx::Error::Configuration(_) => Error::unavailable("DATABASE_URL is malformed"),
        _ => Error::new(Kind::Internal, "unexpected database error"),
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::internal("input/output error", err)
    }
}
