//! The `event` group.

use clap::Subcommand;
use serde_json::json;

use super::{Context, Paging, nothing_to_update, usage};
use crate::domain::{EventPeriod, Name, OptionalText, Timestamp};
use crate::error::Result;
use crate::output::{self, Render};
use crate::repo::event::{Event, EventFilter};
use crate::service::event::{self as svc, EventUpdate, NewEventInput};

fn timestamp(s: &str) -> std::result::Result<Timestamp, String> {
    Timestamp::parse(s)
}

fn attendees(s: &str) -> std::result::Result<u32, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n < 0 => Err(format!("attendees cannot be negative ({n})")),
        Ok(n) if n > i64::from(i32::MAX) => {
            Err(format!("attendees is too large (at most {})", i32::MAX))
        }
        Ok(n) => Ok(n as u32),
        Err(_) => Err(format!("invalid number of attendees {s:?} (a whole number, 0 or more)")),
    }
}

#[derive(Debug, Subcommand)]
pub enum EventCmd {
    /// List events, by id
    #[command(
        after_help = "Examples:\n  epicevents event list --no-support\n  epicevents event list --mine --upcoming"
    )]
    List {
        /// Only events without a support contact
        #[arg(long, visible_alias = "without-support")]
        no_support: bool,
        /// SUPPORT: events assigned to me; SALES: events of my clients
        #[arg(long, visible_alias = "assigned-to-me")]
        mine: bool,
        /// Only events that have not started yet
        #[arg(long)]
        upcoming: bool,
        /// Only this contract's events
        #[arg(long, value_name = "ID")]
        contract: Option<i64>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one event
    #[command(after_help = "Example:\n  epicevents event show 12")]
    Show {
        /// Event id
        id: i64,
    },
    /// Create an event for a signed contract of one of your clients (SALES)
    #[command(
        after_help = "Example:\n  epicevents event create 9 --name 'John Quick Wedding' \\\n    \
        --start '2026-06-04 13:00' --end '2026-06-05 02:00' \\\n    \
        --location '53 Rue du Château, Candé-sur-Beuvron' \\\n    \
        --attendees 75 --notes 'Wedding starts at 3PM, by the river.'"
    )]
    Create {
        /// Contract id
        contract_id: i64,
        /// Event name
        #[arg(long)]
        name: String,
        /// Start: RFC 3339 or "YYYY-MM-DD HH:MM" (local time)
        #[arg(long, value_parser = timestamp)]
        start: Timestamp,
        /// End, after the start
        #[arg(long, value_parser = timestamp)]
        end: Timestamp,
        /// Where it takes place
        #[arg(long)]
        location: String,
        /// Expected number of attendees (0 or more)
        #[arg(long, value_parser = attendees, allow_hyphen_values = true)]
        attendees: u32,
        /// Free notes
        #[arg(long)]
        notes: Option<String>,
    },
    /// Change an event (its support contact, or MANAGEMENT); `--notes ""` clears the notes
    #[command(
        after_help = "Example:\n  epicevents event update 12 --attendees 80 --notes 'Band confirmed'"
    )]
    Update {
        /// Event id
        id: i64,
        /// New name
        #[arg(long)]
        name: Option<String>,
        /// New start
        #[arg(long, value_parser = timestamp)]
        start: Option<Timestamp>,
        /// New end
        #[arg(long, value_parser = timestamp)]
        end: Option<Timestamp>,
        /// New location
        #[arg(long)]
        location: Option<String>,
        /// New number of attendees
        #[arg(long, value_parser = attendees, allow_hyphen_values = true)]
        attendees: Option<u32>,
        /// New notes
        #[arg(long)]
        notes: Option<String>,
    },
    /// Assign an active SUPPORT employee to an event (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents event assign 12 5")]
    Assign {
        /// Event id
        id: i64,
        /// Id of the SUPPORT employee
        support_id: i64,
    },
    /// Remove an event's support contact (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents event unassign 12")]
    Unassign {
        /// Event id
        id: i64,
    },
    /// Delete an event (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents event delete 12 --yes")]
    Delete {
        /// Event id
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
}

impl Render for Event {
    const HEADERS: &'static [&'static str] =
        &["ID", "NAME", "CONTRACT", "CLIENT", "START", "END", "LOCATION", "ATTENDEES", "SUPPORT"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            self.contract_id.to_string(),
            self.client_id.to_string(),
            output::local(&self.start_at),
            output::local(&self.end_at),
            self.location.clone(),
            self.attendees.to_string(),
            output::opt(&self.support_contact_id),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("name", self.name.clone()),
            ("contract_id", self.contract_id.to_string()),
            ("client_id", self.client_id.to_string()),
            ("start_at", output::local(&self.start_at)),
            ("end_at", output::local(&self.end_at)),
            ("location", self.location.clone()),
            ("attendees", self.attendees.to_string()),
            ("notes", output::opt(&self.notes)),
            ("support_contact_id", output::opt(&self.support_contact_id)),
            ("created_at", output::local(&self.created_at)),
            ("updated_at", output::local(&self.updated_at)),
        ]
    }
}

impl EventCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            EventCmd::List { no_support, mine, upcoming, contract, paging } => {
                let actor = ctx.actor().await?;
                let filter = EventFilter {
                    no_support,
                    upcoming,
                    contract_id: contract,
                    ..Default::default()
                };
                let mut w = ctx.out.list_writer::<Event>();
                svc::list(ctx.db().await?, &actor, filter, mine, paging.page(), |r| w.push(&r))
                    .await?;
                w.finish()
            }
            EventCmd::Show { id } => {
                let actor = ctx.actor().await?;
                let e = svc::show(ctx.db().await?, &actor, id).await?;
                ctx.out.record(&e)
            }
            EventCmd::Create { contract_id, name, start, end, location, attendees, notes } => {
                let input = NewEventInput {
                    name: usage(Name::parse("name", &name))?,
                    period: usage(EventPeriod::new(start, end))?,
                    location: usage(Name::parse("location", &location))?,
                    attendees,
                    notes: usage(OptionalText::parse("notes", notes.as_deref().unwrap_or("")))?,
                };
                let actor = ctx.actor().await?;
                let e = svc::create(ctx.db().await?, &actor, contract_id, input).await?;
                ctx.out.record(&e)
            }
            EventCmd::Update { id, name, start, end, location, attendees, notes } => {
                if let (Some(s), Some(e)) = (start, end) {
                    usage(EventPeriod::new(s, e))?;
                }
                let u = EventUpdate {
                    name: usage(name.map(|v| Name::parse("name", &v)).transpose())?,
                    start,
                    end,
                    location: usage(location.map(|v| Name::parse("location", &v)).transpose())?,
                    attendees,
                    notes: usage(notes.map(|v| OptionalText::parse("notes", &v)).transpose())?,
                };
                if u.is_empty() {
                    return Err(nothing_to_update());
                }
                let actor = ctx.actor().await?;
                let e = svc::update(ctx.db().await?, &actor, id, u).await?;
                ctx.out.record(&e)
            }
            EventCmd::Assign { id, support_id } => {
                let actor = ctx.actor().await?;
                let e = svc::assign(ctx.db().await?, &actor, id, Some(support_id)).await?;
                ctx.out.record(&e)
            }
            EventCmd::Unassign { id } => {
                let actor = ctx.actor().await?;
                let e = svc::assign(ctx.db().await?, &actor, id, None).await?;
                ctx.out.record(&e)
            }
            EventCmd::Delete { id, yes } => {
                let actor = ctx.actor().await?;
                super::confirm_delete(ctx, &actor, yes, "event", id, svc::show).await?;
                let e = svc::delete(ctx.db().await?, &actor, id).await?;
                ctx.out.done(
                    &format!("Deleted event {} ({}).", e.id, e.name),
                    json!({ "deleted": "event", "id": e.id }),
                )
            }
        }
    }
}
