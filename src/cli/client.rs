//! The `client` group.

use clap::Subcommand;
use serde_json::json;

use super::employee::name;
use super::{Context, Paging, confirm_delete, id, nothing_to_update};
use crate::api::{
    Client, ClientDelete, ClientDetail, ClientOverview, ClientQuery, ClientReassign, ClientShow,
    ClientUpdate, Entity, NewClient,
};
use crate::domain::{Email, OptionalText};
use crate::error::Result;
use crate::output::{self, Format, Render};

fn optional(
    field: &'static str,
) -> impl Fn(&str) -> std::result::Result<OptionalText, String> + Clone {
    move |s| OptionalText::parse(field, s)
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// List clients, by id
    #[command(
        after_help = "Examples:\n  epicevents client list --search acme\n  epicevents client list --mine --all"
    )]
    List {
        /// Only my clients (SALES)
        #[arg(long)]
        mine: bool,
        /// Only clients whose name, e-mail or company contains TEXT (any case)
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one client
    #[command(
        after_help = "Examples:\n  epicevents client show 4\n  epicevents --json client show 4"
    )]
    Show {
        /// Client id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Create a client; you become its sales contact (SALES)
    #[command(
        after_help = "Example:\n  epicevents client create Kevin Casey kevin@startup.io \\\n    \
                            --phone '+33 6 12 34 56 78' --company 'Cool Startup LLC'"
    )]
    Create {
        /// First name
        #[arg(value_parser = name("first name"))]
        first_name: crate::domain::Name,
        /// Last name
        #[arg(value_parser = name("last name"))]
        last_name: crate::domain::Name,
        /// E-mail address (unique, case-insensitive)
        #[arg(value_parser = Email::parse)]
        email: Email,
        /// Phone number
        #[arg(long, value_parser = optional("phone"))]
        phone: Option<OptionalText>,
        /// Company name
        #[arg(long, visible_alias = "company-name", value_parser = optional("company"))]
        company: Option<OptionalText>,
    },
    /// Change a client (its sales contact, or MANAGEMENT); an empty value clears phone/company
    #[command(after_help = "Example:\n  epicevents client update 4 --phone '+33 1 23 45 67 89'")]
    Update {
        /// Client id
        #[arg(value_parser = id)]
        id: i64,
        /// New first name
        #[arg(long, value_parser = name("first name"))]
        first_name: Option<crate::domain::Name>,
        /// New last name
        #[arg(long, value_parser = name("last name"))]
        last_name: Option<crate::domain::Name>,
        /// New e-mail address
        #[arg(long, value_parser = Email::parse)]
        email: Option<Email>,
        /// New phone number ("" clears it)
        #[arg(long, value_parser = optional("phone"))]
        phone: Option<OptionalText>,
        /// New company name ("" clears it)
        #[arg(long, visible_alias = "company-name", value_parser = optional("company"))]
        company: Option<OptionalText>,
    },
    /// Give a client, and its contracts, to another SALES employee (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents client reassign 4 7")]
    Reassign {
        /// Client id
        #[arg(value_parser = id)]
        id: i64,
        /// Id of the new sales contact (an active SALES employee)
        #[arg(value_parser = id)]
        sales_id: i64,
    },
    /// Delete a client that has no contracts (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents client delete 4 --yes")]
    Delete {
        /// Client id
        #[arg(value_parser = id)]
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
}

impl Render for Client {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "EMAIL", "PHONE", "COMPANY", "SALES"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.full_name(),
            self.email.clone(),
            output::opt(&self.phone),
            output::opt(&self.company_name),
            output::named(&self.sales_contact_name, self.sales_contact_id),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("first_name", self.first_name.clone()),
            ("last_name", self.last_name.clone()),
            ("email", self.email.clone()),
            ("phone", output::opt(&self.phone)),
            ("company_name", output::opt(&self.company_name)),
            ("sales_contact", output::named(&self.sales_contact_name, self.sales_contact_id)),
            ("created_at", output::local(&self.created_at)),
            ("updated_at", output::local(&self.updated_at)),
        ]
    }
}

/// `client show` for people: the client, its contracts, each contract's events.
fn show_overview(ctx: &Context, d: &ClientDetail) -> Result<()> {
    use super::contract::{EVENT_HEADERS, EVENT_RIGHT, event_rows};
    ctx.out.record(&d.client)?;
    let contracts: Vec<Vec<String>> = d
        .contracts
        .iter()
        .map(|c| {
            let mut cells = c.cells();
            cells.remove(1); // the client: this one
            cells
        })
        .collect();
    let headers = ["ID", "SALES", "TOTAL", "DUE", "SIGNED", "CREATED"];
    ctx.out.section("Contracts", &headers, &[2, 3], &contracts)?;
    if d.events.is_empty() {
        return ctx.out.section("Events", EVENT_HEADERS, EVENT_RIGHT, &[]);
    }
    for c in &d.contracts {
        let events: Vec<_> = d.events.iter().filter(|e| e.contract_id == c.id).collect();
        if !events.is_empty() {
            let title = format!("Events of contract {}", c.id);
            ctx.out.section(&title, EVENT_HEADERS, EVENT_RIGHT, &event_rows(&events))?;
        }
    }
    Ok(())
}

impl ClientCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            ClientCmd::List { mine, search, paging } => {
                super::list(ctx, ClientQuery { mine, search }, paging).await
            }
            ClientCmd::Show { id } => {
                if ctx.out.format != Format::Human {
                    let c = ctx.backend()?.call(ClientShow { id }).await?;
                    return ctx.out.record(&c);
                }
                // for people, its contracts and their events too, in the same request
                let d = ctx.backend()?.call(ClientOverview { id }).await?;
                show_overview(ctx, &d)
            }
            ClientCmd::Create { first_name, last_name, email, phone, company } => {
                let req = NewClient {
                    first_name,
                    last_name,
                    email,
                    phone: phone.unwrap_or_else(OptionalText::none),
                    company_name: company.unwrap_or_else(OptionalText::none),
                };
                let c = ctx.backend()?.call(req).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Update { id, first_name, last_name, email, phone, company } => {
                let u =
                    ClientUpdate { id, first_name, last_name, email, phone, company_name: company };
                if u.is_empty() {
                    return Err(nothing_to_update("client update"));
                }
                let c = ctx.backend()?.call(u).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Reassign { id, sales_id } => {
                let c = ctx.backend()?.call(ClientReassign { id, sales_id }).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Delete { id, yes } => {
                confirm_delete(ctx, Entity::Client, id, yes).await?;
                let c = ctx.backend()?.call(ClientDelete { id }).await?;
                ctx.out.done(
                    &format!("Deleted client {} ({}).", c.id, c.email),
                    json!({ "deleted": "client", "id": c.id }),
                )
            }
        }
    }
}
