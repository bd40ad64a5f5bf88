//! Clients: the row, the list query and the commands of the `client` group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, Name, OptionalText};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub sales_contact_id: i64,
    /// The sales contact's name, as the employee row has it now.
    pub sales_contact_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Client {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// `client list [--mine] [--search TEXT]`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientQuery {
    /// Only the caller's clients (SALES).
    pub mine: bool,
    /// Name, e-mail or company containing this text, in any case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

impl super::Listing for ClientQuery {
    type Row = Client;
    const ROUTE: &'static str = "/v1/clients";
}

/// `client show ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientShow {
    pub id: i64,
}

/// `client create`: the caller becomes the sales contact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewClient {
    pub first_name: Name,
    pub last_name: Name,
    pub email: Email,
    /// `""` or absent: none.
    #[serde(default)]
    pub phone: OptionalText,
    #[serde(default)]
    pub company_name: OptionalText,
}

/// `client update ID …`: an absent field stays; `""` clears the phone or the company.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientUpdate {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<OptionalText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<OptionalText>,
}

impl ClientUpdate {
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.company_name.is_none()
    }
}

/// `client reassign ID SALES_ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientReassign {
    pub id: i64,
    pub sales_id: i64,
}

/// `client delete ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientDelete {
    pub id: i64,
}

endpoints! {
    ClientShow => Client, Get "/v1/clients/{id}";
    NewClient => Client, Post "/v1/clients";
    ClientUpdate => Client, Patch "/v1/clients/{id}";
    ClientReassign => Client, Post "/v1/clients/{id}/reassign";
    ClientDelete => Client, Delete "/v1/clients/{id}";
}

/// `client show ID` with the client's contracts and their events (one request).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientOverview {
    pub id: i64,
}

/// A client, its contracts (by id) and their events (in start order).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientDetail {
    pub client: Client,
    pub contracts: Vec<super::Contract>,
    pub events: Vec<super::Event>,
}

endpoints! {
    ClientOverview => ClientDetail, Get "/v1/clients/{id}/overview";
}
