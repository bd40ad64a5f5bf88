//! Events: the row, the list query and the commands of the `event` group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Attendees, EventPeriod, Name, Notes, Timestamp};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub id: i64,
    pub contract_id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub name: String,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub location: String,
    pub attendees: i32,
    pub notes: Option<String>,
    pub support_contact_id: Option<i64>,
    pub support_contact_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `event list [--no-support] [--mine] [--upcoming] [--contract ID] [--client ID]
/// [--from DATE] [--to DATE] [--sort start|id]`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EventQuery {
    pub no_support: bool,
    /// SUPPORT: assigned to the caller; SALES: of the caller's clients.
    pub mine: bool,
    pub upcoming: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<i64>,
    /// Events starting at or after this instant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    /// Events starting at or before this instant (a date alone on the command line is made
    /// the last instant of that day before it is sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
    /// The order asked for; `None`: start order with `--upcoming` or `--from`, else by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<EventSort>,
}

/// The order of an event list (`--sort`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EventSort {
    /// By start, ties by id; `--after ID` goes on after that event's (start, id).
    Start,
    /// By id.
    Id,
}

impl EventQuery {
    /// The order the list comes in (spec §16).
    pub fn order(&self) -> EventSort {
        match self.sort {
            Some(s) => s,
            None if self.upcoming || self.from.is_some() => EventSort::Start,
            None => EventSort::Id,
        }
    }
}

impl super::Listing for EventQuery {
    type Row = Event;
    const ROUTE: &'static str = "/v1/events";
}

/// `event show ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventShow {
    pub id: i64,
}

/// `event create CONTRACT_ID --name … --start … --end … --location … --attendees …`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewEvent {
    pub contract_id: i64,
    pub name: Name,
    #[serde(flatten)]
    pub period: EventPeriod,
    pub location: Name,
    pub attendees: Attendees,
    /// `""` or absent: none.
    #[serde(default)]
    pub notes: Notes,
}

/// `event update ID …`: an absent field stays; `""` clears the notes. The period as it will
/// be (new start or end against the stored other one) is checked by the service.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventUpdate {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Attendees>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<Notes>,
    /// A line added to the notes, on the server, under the row's lock: two appends at once
    /// both land (spec §16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub append_notes: Option<Notes>,
}

impl EventUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.start_at.is_none()
            && self.end_at.is_none()
            && self.location.is_none()
            && self.attendees.is_none()
            && self.notes.is_none()
            && self.append_notes.is_none()
    }
}

/// `event assign ID SUPPORT_ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventAssign {
    pub id: i64,
    pub support_id: i64,
}

/// `event unassign ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventUnassign {
    pub id: i64,
}

/// `event delete ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventDelete {
    pub id: i64,
}

endpoints! {
    EventShow => Event, Get "/v1/events/{id}";
    NewEvent => Event, Post "/v1/events";
    EventUpdate => Event, Patch "/v1/events/{id}";
    EventAssign => Event, Put "/v1/events/{id}/support";
    EventUnassign => Event, Delete "/v1/events/{id}/support";
    EventDelete => Event, Delete "/v1/events/{id}";
}
