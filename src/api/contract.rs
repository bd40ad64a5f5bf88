//! Contracts: the row, the list query and the commands of the `contract` group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Money;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contract {
    pub id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub sales_contact_id: i64,
    pub sales_contact_name: String,
    pub total_amount: Money,
    pub amount_due: Money,
    pub is_signed: bool,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `contract list [--unsigned] [--unpaid] [--mine] [--client ID]`
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ContractQuery {
    pub unsigned: bool,
    pub unpaid: bool,
    /// Only the contracts of the caller's clients (SALES).
    pub mine: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<i64>,
}

impl super::Listing for ContractQuery {
    type Row = Contract;
    const ROUTE: &'static str = "/v1/contracts";
}

/// `contract show ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractShow {
    pub id: i64,
}

/// `contract create CLIENT_ID TOTAL [AMOUNT_DUE] [--signed]`: the amount due defaults to
/// the total.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewContract {
    pub client_id: i64,
    pub total_amount: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<Money>,
    #[serde(default)]
    pub signed: bool,
}

/// `contract update ID [--total X] [--amount-due Y]`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractUpdate {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_due: Option<Money>,
}

/// `contract sign ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractSign {
    pub id: i64,
}

/// `contract pay ID AMOUNT`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractPay {
    pub id: i64,
    pub amount: Money,
}

/// `contract delete ID`
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractDelete {
    pub id: i64,
}

endpoints! {
    ContractShow => Contract, Get "/v1/contracts/{id}";
    NewContract => Contract, Post "/v1/contracts";
    ContractUpdate => Contract, Patch "/v1/contracts/{id}";
    ContractSign => Contract, Post "/v1/contracts/{id}/sign";
    ContractPay => Contract, Post "/v1/contracts/{id}/payments";
    ContractDelete => Contract, Delete "/v1/contracts/{id}";
}
