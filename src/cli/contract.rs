//! The `contract` group.

use clap::Subcommand;
use serde_json::json;

use super::{Context, Paging, confirm_delete, id, input, nothing_to_update};
use crate::api::{
    Contract, ContractDelete, ContractOverview, ContractPay, ContractQuery, ContractShow,
    ContractSign, ContractUpdate, Entity, Event, NewContract, Payment, PaymentQuery, Preflight,
};
use crate::domain::{Money, Timestamp};
use crate::error::Result;
use crate::output::{self, Format, Render};

#[derive(Debug, Subcommand)]
pub enum ContractCmd {
    /// List contracts, by id
    #[command(
        after_help = "Examples:\n  epicevents contract list --unsigned\n  epicevents contract list --unpaid --mine"
    )]
    List {
        /// Only contracts not signed yet
        #[arg(long)]
        unsigned: bool,
        /// Only contracts with an amount still due
        #[arg(long)]
        unpaid: bool,
        /// Only the contracts of my clients (SALES)
        #[arg(long)]
        mine: bool,
        /// Only this client's contracts
        #[arg(long, value_name = "ID", value_parser = id)]
        client: Option<i64>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one contract
    #[command(after_help = "Example:\n  epicevents contract show 9")]
    Show {
        /// Contract id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Create a contract for a client (MANAGEMENT); the amount due defaults to the total
    #[command(
        after_help = "Examples:\n  epicevents contract create 4 1500\n  epicevents contract create 4 1500.50 500 --signed"
    )]
    Create {
        /// Client id
        #[arg(value_parser = id)]
        client_id: i64,
        /// Total amount, above 0, at most two decimals (1500, 1500.5, 1500.50)
        #[arg(value_parser = Money::parse, allow_hyphen_values = true)]
        total: Money,
        /// Amount still due, from 0 to the total (defaults to the total)
        #[arg(value_parser = Money::parse, allow_hyphen_values = true)]
        amount_due: Option<Money>,
        /// The contract is already signed
        #[arg(long)]
        signed: bool,
    },
    /// Change the amounts (the client's sales contact, or MANAGEMENT)
    #[command(
        after_help = "Example:\n  epicevents contract update 9 --total 2000 --amount-due 2000"
    )]
    Update {
        /// Contract id
        #[arg(value_parser = id)]
        id: i64,
        /// New total amount
        #[arg(long, value_parser = Money::parse, allow_hyphen_values = true)]
        total: Option<Money>,
        /// New amount due
        #[arg(long, value_parser = Money::parse, allow_hyphen_values = true)]
        amount_due: Option<Money>,
    },
    /// Mark a contract as signed, once (the client's sales contact, or MANAGEMENT)
    #[command(after_help = "Examples:\n  epicevents contract sign 9\n  \
                            epicevents contract sign 9 --yes\n\n\
                            A signature cannot be undone: on a terminal it is confirmed first.")]
    Sign {
        /// Contract id
        #[arg(value_parser = id)]
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Record a payment: who paid what and when; lowers the amount due, never below 0
    #[command(after_help = "Examples:\n  epicevents contract pay 9 250.00\n  \
                            epicevents contract pay 9 250 --on 2026-06-01")]
    Pay {
        /// Contract id
        #[arg(value_parser = id)]
        id: i64,
        /// Amount paid, above 0, at most the amount due
        #[arg(value_parser = Money::parse, allow_hyphen_values = true)]
        amount: Money,
        /// When it was paid (a date alone: local midnight) [default: now]
        #[arg(long, value_name = "DATE", value_parser = Timestamp::parse_day_start)]
        on: Option<Timestamp>,
    },
    /// List a contract's payments, oldest first
    #[command(after_help = "Examples:\n  epicevents contract payments 9\n  \
                            epicevents --csv contract payments 9 --all > payments.csv")]
    Payments {
        /// Contract id
        #[arg(value_parser = id)]
        id: i64,
        #[command(flatten)]
        paging: Paging,
    },
    /// Delete a contract that has no events (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents contract delete 9 --yes")]
    Delete {
        /// Contract id
        #[arg(value_parser = id)]
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
}

impl Render for Contract {
    const HEADERS: &'static [&'static str] =
        &["ID", "CLIENT", "SALES", "TOTAL", "DUE", "SIGNED", "CREATED"];
    const RIGHT: &'static [usize] = &[3, 4];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            output::named(&self.client_name, self.client_id),
            output::named(&self.sales_contact_name, self.sales_contact_id),
            self.total_amount.to_string(),
            self.amount_due.to_string(),
            output::yes_no(self.is_signed),
            output::local(&self.created_at),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("client", output::named(&self.client_name, self.client_id)),
            ("sales_contact", output::named(&self.sales_contact_name, self.sales_contact_id)),
            ("total_amount", self.total_amount.to_string()),
            ("amount_due", self.amount_due.to_string()),
            ("signed", output::yes_no(self.is_signed)),
            ("signed_at", output::local_opt(&self.signed_at)),
            ("created_at", output::local(&self.created_at)),
            ("updated_at", output::local(&self.updated_at)),
        ]
    }
}

impl Render for Payment {
    const HEADERS: &'static [&'static str] =
        &["ID", "CONTRACT", "AMOUNT", "PAID ON", "RECORDED BY", "RECORDED AT"];
    const RIGHT: &'static [usize] = &[2];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.contract_id.to_string(),
            self.amount.to_string(),
            output::local(&self.paid_on),
            self.recorded_by_id.to_string(),
            output::local(&self.recorded_at),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("contract_id", self.contract_id.to_string()),
            ("amount", self.amount.to_string()),
            ("paid_on", output::local(&self.paid_on)),
            ("recorded_by_id", self.recorded_by_id.to_string()),
            ("recorded_at", output::local(&self.recorded_at)),
        ]
    }
}

/// The events of a `show`, below its record: the event table without the client column.
pub fn event_rows(events: &[&Event]) -> Vec<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let mut cells = e.cells();
            cells.remove(2);
            cells
        })
        .collect()
}

pub const EVENT_HEADERS: &[&str] =
    &["ID", "NAME", "START", "END", "LOCATION", "ATTENDEES", "SUPPORT"];
pub const EVENT_RIGHT: &[usize] = &[5];

impl ContractCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            ContractCmd::List { unsigned, unpaid, mine, client, paging } => {
                super::list(ctx, ContractQuery { unsigned, unpaid, mine, client }, paging).await
            }
            ContractCmd::Show { id } => {
                if ctx.out.format != Format::Human {
                    let c = ctx.backend()?.call(ContractShow { id }).await?;
                    return ctx.out.record(&c);
                }
                // for people, its events too, in the same request
                let d = ctx.backend()?.call(ContractOverview { id }).await?;
                ctx.out.record(&d.contract)?;
                let events: Vec<&Event> = d.events.iter().collect();
                ctx.out.section("Events", EVENT_HEADERS, EVENT_RIGHT, &event_rows(&events))
            }
            ContractCmd::Create { client_id, total, amount_due, signed } => {
                let req = NewContract { client_id, total_amount: total, amount_due, signed };
                let c = ctx.backend()?.call(req).await?;
                ctx.out.record(&c)
            }
            ContractCmd::Update { id, total, amount_due } => {
                if total.is_none() && amount_due.is_none() {
                    return Err(nothing_to_update("contract update"));
                }
                let c = ctx
                    .backend()?
                    .call(ContractUpdate { id, total_amount: total, amount_due })
                    .await?;
                ctx.out.record(&c)
            }
            ContractCmd::Sign { id, yes } => {
                // irreversible: asked on a terminal (after its preflight); a script goes on
                if !yes && input::interactive() {
                    let c = ctx.backend()?.call(Preflight::Sign { id }).await?;
                    if let Some(q) = c.question {
                        input::confirm(&q)?;
                    }
                }
                let c = ctx.backend()?.call(ContractSign { id }).await?;
                ctx.out.record(&c)
            }
            ContractCmd::Pay { id, amount, on } => {
                let c = ctx.backend()?.call(ContractPay { id, amount, paid_on: on }).await?;
                ctx.out.record(&c)
            }
            ContractCmd::Payments { id, paging } => {
                super::list(ctx, PaymentQuery { contract_id: id }, paging).await
            }
            ContractCmd::Delete { id, yes } => {
                confirm_delete(ctx, Entity::Contract, id, yes).await?;
                let c = ctx.backend()?.call(ContractDelete { id }).await?;
                ctx.out.done(
                    &format!("Deleted contract {}.", c.id),
                    json!({ "deleted": "contract", "id": c.id }),
                )
            }
        }
    }
}
