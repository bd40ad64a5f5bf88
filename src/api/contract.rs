//! Contracts: the row, the list query and the commands of the `contract` group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Money, Timestamp};

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

/// `contract pay ID AMOUNT [--on DATE]`: recorded as a payment, the amount due lowered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractPay {
    pub id: i64,
    pub amount: Money,
    /// When it was paid; absent: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_on: Option<Timestamp>,
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

/// A payment of a contract (spec §16): who recorded what, paid when.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub contract_id: i64,
    pub amount: Money,
    pub paid_on: DateTime<Utc>,
    pub recorded_by_id: i64,
    pub recorded_at: DateTime<Utc>,
}

/// `contract payments ID`: oldest first (by id).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PaymentQuery {
    pub contract_id: i64,
}

impl super::Listing for PaymentQuery {
    type Row = Payment;
    const ROUTE: &'static str = "/v1/payments";
}

/// `contract show ID` with the contract's events (one request).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractOverview {
    pub id: i64,
}

/// A contract and its events, in start order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContractDetail {
    pub contract: Contract,
    pub events: Vec<super::Event>,
}

endpoints! {
    ContractOverview => ContractDetail, Get "/v1/contracts/{id}/overview";
}
