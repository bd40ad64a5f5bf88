//! The request and response of every command: what the services take and return, what the
//! server and its client send each other, and what the CLI renders. Made of domain types and
//! ids only, so that a request that deserialises is a valid one (the domain parsers run in
//! `Deserialize`), whichever front end it came through.
//!
//! Conventions, the same for the four entities: a query struct for lists (`ClientQuery`,
//! with the shared [`Page`]), `NewX` to create, `XUpdate` to change, and one small struct per
//! other command (`ClientReassign`, `ContractPay`, …). Each implements [`Endpoint`] (one
//! response) or [`Listing`] (a stream of rows), which also says where it lives in the HTTP
//! API (`docs/api.md`).

/// `Endpoint` for each request: its response, method and route.
macro_rules! endpoints {
    ($($req:ty => $out:ty, $verb:ident $route:literal;)*) => {
        $(impl $crate::api::Endpoint for $req {
            type Output = $out;
            const VERB: $crate::api::Verb = $crate::api::Verb::$verb;
            const ROUTE: &'static str = $route;
        })*
    };
}

mod audit;
mod client;
mod contract;
mod employee;
mod event;
mod session;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use audit::{AuditEntry, AuditQuery};
pub use client::{
    Client, ClientDelete, ClientDetail, ClientOverview, ClientQuery, ClientReassign, ClientShow,
    ClientUpdate, NewClient,
};
pub use contract::{
    Contract, ContractDelete, ContractDetail, ContractOverview, ContractPay, ContractQuery,
    ContractShow, ContractSign, ContractUpdate, NewContract, Payment, PaymentQuery,
};
pub use employee::{
    Deactivate, Employee, EmployeeDelete, EmployeeQuery, EmployeeShow, EmployeeState,
    EmployeeUnlock, EmployeeUpdate, NewEmployee, Reactivate, SetPassword, Unlocked,
};
pub use event::{
    Event, EventAssign, EventDelete, EventQuery, EventShow, EventSort, EventUnassign, EventUpdate,
    NewEvent,
};
pub use session::{
    Clearance, Entity, Installation, InstallationShow, LoggedOut, Login, Logout, ManagementOnly,
    Me, Preflight, Refresh, Session, TokenPair, WhoAmI,
};

use crate::error::{Error, Kind};

/// The HTTP method of an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
    /// Whether the request travels as a JSON body (else only in the path).
    pub fn has_body(self) -> bool {
        matches!(self, Verb::Post | Verb::Put | Verb::Patch)
    }
}

/// A command with one response.
pub trait Endpoint: Serialize + DeserializeOwned + Send + Sync + 'static {
    type Output: Serialize + DeserializeOwned + Send + 'static;
    const VERB: Verb;
    /// The route, with `{field}` for the fields that travel in the path (`/v1/clients/{id}`).
    const ROUTE: &'static str;
    /// Runs without a session when there is none (the bootstrap of `create-employee`).
    const ANONYMOUS_OK: bool = false;

    /// The route with this request's values in it.
    fn path(&self) -> String {
        fill_route(Self::ROUTE, &serde_json::to_value(self).unwrap_or_default())
    }
}

/// Whether a request is a write for the `Idempotency-Key` protocol (spec §15): every `POST`,
/// `PUT`, `PATCH` and `DELETE` under `/v1` but the session endpoints and the preflight check
/// (which changes nothing the user asked for, and which a command sends before its write).
pub fn is_write(verb: Verb, route: &str) -> bool {
    verb != Verb::Get
        && route.starts_with("/v1/")
        && !route.starts_with("/v1/session")
        && route != <Preflight as Endpoint>::ROUTE
}

/// The command that shows whether a write whose answer was lost was applied (spec §15): `show`
/// of the row its path names (`/v1/contracts/9/payments`: `epicevents contract show 9`), or
/// the list for a create (`/v1/clients`: `epicevents client list`).
pub fn check_command(path: &str) -> String {
    let mut parts = path.trim_start_matches("/v1/").split('/');
    let noun = parts.next().unwrap_or("");
    let singular = noun.strip_suffix('s').unwrap_or(noun);
    match parts.next() {
        Some(id) if id.parse::<i64>().is_ok() => format!("epicevents {singular} show {id}"),
        _ => format!("epicevents {singular} list"),
    }
}

/// A command that lists rows, streamed. Its filters travel as the query string, with the
/// [`Page`].
pub trait Listing: Serialize + DeserializeOwned + Send + Sync + 'static {
    type Row: Serialize + DeserializeOwned + Send + Unpin + 'static;
    const ROUTE: &'static str;
}

fn fill_route(route: &str, values: &serde_json::Value) -> String {
    let mut out = String::with_capacity(route.len() + 8);
    let mut rest = route;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let key = &rest[open + 1..close];
        match &values[key] {
            serde_json::Value::Number(n) => out.push_str(&n.to_string()),
            serde_json::Value::String(s) => out.push_str(s),
            _ => {}
        }
        rest = rest.get(close + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Which rows of a list. Lists are ordered by id; `--after ID` starts after that id (keyset
/// paging, as fast on the millionth row as on the first), `--offset` skips rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Page {
    pub limit: i64,
    /// Every row (`limit` does not apply).
    pub all: bool,
    pub offset: i64,
    pub after: Option<i64>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100_000;

impl Default for Page {
    fn default() -> Self {
        Page { limit: DEFAULT_LIMIT, all: false, offset: 0, after: None }
    }
}

impl Page {
    pub fn first(limit: i64) -> Page {
        Page { limit, ..Page::default() }
    }
    pub fn all() -> Page {
        Page { all: true, ..Page::default() }
    }
    /// `None` for every row.
    pub fn limit(&self) -> Option<i64> {
        (!self.all).then_some(self.limit)
    }
    /// The bounds of spec §4, for a page that did not come through clap.
    pub fn check(&self) -> Result<(), Error> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(Error::usage(format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        if self.offset < 0 {
            return Err(Error::usage("offset cannot be negative"));
        }
        if self.after.is_some_and(|a| a < 0) {
            return Err(Error::usage("after cannot be negative"));
        }
        Ok(())
    }
}

/// An error as it crosses the network: its kind (the exit code), its one line, its hint.
/// `reason` tells a client what to do about a 401: `token_expired` means refresh and retry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApiError {
    pub kind: Kind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&Error> for ApiError {
    fn from(e: &Error) -> Self {
        ApiError {
            kind: e.kind(),
            message: e.message().to_owned(),
            hint: e.hint().map(str::to_owned),
            reason: None,
        }
    }
}

impl From<ApiError> for Error {
    fn from(a: ApiError) -> Self {
        let e = Error::new(a.kind, a.message);
        match a.hint {
            Some(h) => e.with_hint(h),
            None => e,
        }
    }
}

/// The last line of a streamed list: `{"$end":{"rows":N}}`, or `{"$error":{…}}` when the list
/// broke off after its first rows. A row is never an object with a `$` key.
#[derive(Debug, Serialize, Deserialize)]
pub enum Trailer {
    #[serde(rename = "$end")]
    End { rows: u64 },
    #[serde(rename = "$error")]
    Error(ApiError),
}

/// The names of a struct's fields in declaration order (for CSV headers), read from its
/// `Deserialize` implementation, which lists them.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> serde::Deserializer<'de> for &mut Fields {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut f = Fields(None);
    let _ = T::deserialize(&mut f);
    f.0.unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_filled_from_the_request() {
        let r = ClientReassign { id: 12, sales_id: 7 };
        assert_eq!(r.path(), "/v1/clients/12/reassign");
        assert_eq!(ClientShow { id: 3 }.path(), "/v1/clients/3");
        assert_eq!(WhoAmI {}.path(), "/v1/me");
    }

    #[test]
    fn writes_are_every_change_but_sessions_and_the_preflight() {
        assert!(is_write(ContractPay::VERB, ContractPay::ROUTE));
        assert!(is_write(Verb::Delete, "/v1/events/{id}"));
        assert!(!is_write(Verb::Get, "/v1/contracts/{id}"));
        assert!(!is_write(Verb::Post, "/v1/session"));
        assert!(!is_write(Verb::Post, "/v1/session/refresh"));
        assert!(!is_write(Preflight::VERB, Preflight::ROUTE));
    }

    #[test]
    fn a_lost_write_is_checked_with_show_or_with_the_list() {
        assert_eq!(check_command("/v1/contracts/9/payments"), "epicevents contract show 9");
        assert_eq!(check_command("/v1/employees/3"), "epicevents employee show 3");
        assert_eq!(check_command("/v1/clients"), "epicevents client list");
        assert_eq!(
            check_command(&EventAssign { id: 4, support_id: 2 }.path()),
            "epicevents event show 4"
        );
    }

    #[test]
    fn field_names_come_in_declaration_order() {
        assert_eq!(field_names::<Me>(), ["id", "first_name", "last_name", "email", "role"]);
    }

    #[test]
    fn trailers_are_tagged_with_a_dollar_key() {
        let t = serde_json::to_string(&Trailer::End { rows: 3 }).unwrap();
        assert_eq!(t, r#"{"$end":{"rows":3}}"#);
    }

    #[test]
    fn pages_default_to_fifty_and_check_their_bounds() {
        let p: Page = serde_urlencoded::from_str("").unwrap();
        assert_eq!(p, Page::default());
        let p: Page = serde_urlencoded::from_str("limit=5&after=10").unwrap();
        assert_eq!((p.limit, p.after), (5, Some(10)));
        assert!(Page { limit: 0, ..Page::default() }.check().is_err());
        assert!(Page { offset: -1, ..Page::default() }.check().is_err());
    }
}
