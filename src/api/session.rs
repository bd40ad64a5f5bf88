//! Sessions (login, refresh, logout, whoami) and the checks a command makes before it
//! prompts for anything (`Preflight`).

use serde::{Deserialize, Serialize};

use crate::domain::{Email, Password, Role};

/// The employee a session belongs to, as `whoami` and `login` show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
}

/// `POST /v1/session`: e-mail and password for a new session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Login {
    pub email: Email,
    #[serde(deserialize_with = "crate::domain::deserialize_for_login")]
    pub password: Password,
}

/// An access token (20 minutes) and a refresh token (7 days), both of one login session.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenPair(<redacted>)")
    }
}

/// What a login returns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    #[serde(flatten)]
    pub tokens: TokenPair,
    pub employee: Me,
}

/// `POST /v1/session/refresh`: a refresh token for a new pair (rotated).
#[derive(Clone, Serialize, Deserialize)]
pub struct Refresh {
    pub refresh_token: String,
}

/// `POST /v1/session/logout`: ends the session the tokens belong to.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Logout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggedOut {
    /// Whether a live session was ended on the server.
    pub revoked: bool,
}

/// `whoami`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WhoAmI {}

/// `management-only`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ManagementOnly {}

/// This installation's identity, for what must stay stable across runs and clients (the
/// UIDs of the calendar feed).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstallationShow {}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Installation {
    pub id: uuid::Uuid,
}

/// The entities that can be deleted (and that `audit list --entity` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Employee,
    Client,
    Contract,
    Event,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Employee => "employee",
            Entity::Client => "client",
            Entity::Contract => "contract",
            Entity::Event => "event",
        }
    }
}

/// What a command checks before it prompts (spec §3: nobody types a password, or answers a
/// question, only to be refused). The write checks everything again in its transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Preflight {
    /// `create-employee` / `employee create`: the bootstrap, or a manager.
    CreateEmployee,
    /// `employee set-password ID`: a manager, or oneself (then the current password too,
    /// checked here when given, so that a wrong one is said before the new one is typed).
    SetPassword {
        id: i64,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            deserialize_with = "super::employee::current_password"
        )]
        current_password: Option<Password>,
    },
    /// `… delete ID`: the permission, the row, and whatever would refuse the delete.
    Delete { entity: Entity, id: i64 },
    /// `employee deactivate ID [--reassign-to ID]`: a SALES owner of clients is confirmed.
    Deactivate {
        id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reassign_to: Option<i64>,
    },
    /// `contract sign ID`: signing cannot be undone, it is confirmed.
    Sign { id: i64 },
    /// `employee update ID --role R`: changing one's own role is confirmed first.
    EmployeeUpdate {
        id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
    },
}

/// The answer: go ahead, with what the front end must know.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Clearance {
    /// `CreateEmployee`: no employee exists yet.
    #[serde(default)]
    pub bootstrap: bool,
    /// `SetPassword`: it is the caller's own password (ask for the current one).
    #[serde(default)]
    pub own: bool,
    /// A question to confirm (`Delete client 4 (kevin@startup.io)?`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// What to tell the user once the command is done (`Their 6 clients moved to …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

endpoints! {
    WhoAmI => Me, Get "/v1/me";
    ManagementOnly => Me, Get "/v1/management-only";
    InstallationShow => Installation, Get "/v1/installation";
}

impl super::Endpoint for Preflight {
    type Output = Clearance;
    const VERB: super::Verb = super::Verb::Post;
    const ROUTE: &'static str = "/v1/preflight";
    const ANONYMOUS_OK: bool = true;
}
