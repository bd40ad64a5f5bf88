//! The `client` group.

use clap::Subcommand;
use serde_json::json;

use super::{Context, Paging, nothing_to_update, usage};
use crate::domain::{Email, Name, OptionalText};
use crate::error::Result;
use crate::output::{self, Render};
use crate::repo::client::Client;
use crate::service::client::{self as svc, ClientUpdate, NewClientInput};

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
        id: i64,
    },
    /// Create a client; you become its sales contact (SALES)
    #[command(
        after_help = "Example:\n  epicevents client create Kevin Casey kevin@startup.io \\\n    \
                            --phone '+33 6 12 34 56 78' --company 'Cool Startup LLC'"
    )]
    Create {
        /// First name
        first_name: String,
        /// Last name
        last_name: String,
        /// E-mail address (unique, case-insensitive)
        email: String,
        /// Phone number
        #[arg(long)]
        phone: Option<String>,
        /// Company name
        #[arg(long, visible_alias = "company-name")]
        company: Option<String>,
    },
    /// Change a client (its sales contact, or MANAGEMENT); an empty value clears phone/company
    #[command(after_help = "Example:\n  epicevents client update 4 --phone '+33 1 23 45 67 89'")]
    Update {
        /// Client id
        id: i64,
        /// New first name
        #[arg(long)]
        first_name: Option<String>,
        /// New last name
        #[arg(long)]
        last_name: Option<String>,
        /// New e-mail address
        #[arg(long)]
        email: Option<String>,
        /// New phone number ("" clears it)
        #[arg(long)]
        phone: Option<String>,
        /// New company name ("" clears it)
        #[arg(long, visible_alias = "company-name")]
        company: Option<String>,
    },
    /// Give a client, and its contracts, to another SALES employee (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents client reassign 4 7")]
    Reassign {
        /// Client id
        id: i64,
        /// Id of the new sales contact (an active SALES employee)
        sales_id: i64,
    },
    /// Delete a client that has no contracts (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents client delete 4 --yes")]
    Delete {
        /// Client id
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
            format!("{} {}", self.first_name, self.last_name),
            self.email.clone(),
            output::opt(&self.phone),
            output::opt(&self.company_name),
            self.sales_contact_id.to_string(),
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
            ("sales_contact_id", self.sales_contact_id.to_string()),
            ("created_at", output::local(&self.created_at)),
            ("updated_at", output::local(&self.updated_at)),
        ]
    }
}

impl ClientCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            ClientCmd::List { mine, search, paging } => {
                let actor = ctx.actor().await?;
                let search = search.as_deref().map(str::trim).filter(|s| !s.is_empty());
                let mut w = ctx.out.list_writer::<Client>();
                svc::list(ctx.db().await?, &actor, mine, search, paging.page(), |r| w.push(&r))
                    .await?;
                w.finish()
            }
            ClientCmd::Show { id } => {
                let actor = ctx.actor().await?;
                let c = svc::show(ctx.db().await?, &actor, id).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Create { first_name, last_name, email, phone, company } => {
                let input = NewClientInput {
                    first_name: usage(Name::parse("first name", &first_name))?,
                    last_name: usage(Name::parse("last name", &last_name))?,
                    email: usage(Email::parse(&email))?,
                    phone: usage(OptionalText::parse("phone", phone.as_deref().unwrap_or("")))?,
                    company_name: usage(OptionalText::parse(
                        "company",
                        company.as_deref().unwrap_or(""),
                    ))?,
                };
                let actor = ctx.actor().await?;
                let c = svc::create(ctx.db().await?, &actor, input).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Update { id, first_name, last_name, email, phone, company } => {
                let u = ClientUpdate {
                    first_name: usage(
                        first_name.map(|v| Name::parse("first name", &v)).transpose(),
                    )?,
                    last_name: usage(last_name.map(|v| Name::parse("last name", &v)).transpose())?,
                    email: usage(email.map(|v| Email::parse(&v)).transpose())?,
                    phone: usage(phone.map(|v| OptionalText::parse("phone", &v)).transpose())?,
                    company_name: usage(
                        company.map(|v| OptionalText::parse("company", &v)).transpose(),
                    )?,
                };
                if u.is_empty() {
                    return Err(nothing_to_update());
                }
                let actor = ctx.actor().await?;
                let c = svc::update(ctx.db().await?, &actor, id, u).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Reassign { id, sales_id } => {
                let actor = ctx.actor().await?;
                let c = svc::reassign(ctx.db().await?, &actor, id, sales_id).await?;
                ctx.out.record(&c)
            }
            ClientCmd::Delete { id, yes } => {
                let actor = ctx.actor().await?;
                super::confirm_delete(ctx, &actor, yes, "client", id, svc::show).await?;
                let c = svc::delete(ctx.db().await?, &actor, id).await?;
                ctx.out.done(
                    &format!("Deleted client {} ({}).", c.id, c.email),
                    json!({ "deleted": "client", "id": c.id }),
                )
            }
        }
    }
}
