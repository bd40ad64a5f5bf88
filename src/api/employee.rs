//! Employees: the row, the list query and the commands of the `employee` group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, Name, Password, Role};

/// An employee as shown to users: every column but the password hash.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Employee {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
}

impl Employee {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// `employee list [--role ROLE] [--state active|inactive|all]`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmployeeQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub state: EmployeeState,
}

/// Which employees a list shows (`--state`; `--inactive` is `--state inactive`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EmployeeState {
    /// Active employees only.
    #[default]
    Active,
    /// Deactivated employees only.
    Inactive,
    /// Everyone.
    All,
}

impl super::Listing for EmployeeQuery {
    type Row = Employee;
    const ROUTE: &'static str = "/v1/employees";
}

/// `employee show ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmployeeShow {
    pub id: i64,
}

/// `employee create` and `create-employee` (which, while there is no employee at all, needs
/// no session: the bootstrap).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewEmployee {
    pub first_name: Name,
    pub last_name: Name,
    pub email: Email,
    pub role: Role,
    pub password: Password,
}

/// `employee update ID [--first-name] [--last-name] [--email] [--role]`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmployeeUpdate {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

impl EmployeeUpdate {
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.role.is_none()
    }
}

/// `employee set-password ID`: the current password is required when it is one's own.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetPassword {
    pub id: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "current_password"
    )]
    pub current_password: Option<Password>,
    pub new_password: Password,
}

pub(super) fn current_password<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Password>, D::Error> {
    crate::domain::deserialize_for_login(d).map(Some)
}

/// `employee deactivate ID [--reassign-to SALES_ID]`: a SALES employee's clients (and their
/// contracts) can move to another active SALES in the same transaction.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Deactivate {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassign_to: Option<i64>,
}

/// `employee reactivate ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reactivate {
    pub id: i64,
}

/// `employee delete ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmployeeDelete {
    pub id: i64,
}

/// `employee unlock ID`: lifts a login lockout (spec §15).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EmployeeUnlock {
    pub id: i64,
}

/// What `employee unlock` did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Unlocked {
    pub id: i64,
    /// The account was locked out until now (else there was nothing to lift).
    pub was_locked: bool,
}

endpoints! {
    EmployeeShow => Employee, Get "/v1/employees/{id}";
    EmployeeUpdate => Employee, Patch "/v1/employees/{id}";
    SetPassword => Employee, Put "/v1/employees/{id}/password";
    Deactivate => Employee, Post "/v1/employees/{id}/deactivate";
    Reactivate => Employee, Post "/v1/employees/{id}/reactivate";
    EmployeeDelete => Employee, Delete "/v1/employees/{id}";
    EmployeeUnlock => Unlocked, Post "/v1/employees/{id}/unlock";
}

impl super::Endpoint for NewEmployee {
    type Output = Employee;
    const VERB: super::Verb = super::Verb::Post;
    const ROUTE: &'static str = "/v1/employees";
    const ANONYMOUS_OK: bool = true;
}
