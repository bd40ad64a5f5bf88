//! The `event` group.

use clap::Subcommand;
use serde_json::json;

use super::employee::name;
use super::{Context, Paging, confirm_delete, id, nothing_to_update};
use crate::api::{
    Entity, Event, EventAssign, EventDelete, EventQuery, EventShow, EventSort, EventUnassign,
    EventUpdate, InstallationShow, NewEvent,
};
use crate::domain::{Attendees, EventPeriod, Name, Notes, Timestamp};
use crate::error::{Error, Result};
use crate::output::{self, Format, Render, ics::IcsWriter};

fn notes(s: &str) -> std::result::Result<Notes, String> {
    Notes::parse("notes", s)
}

/// A line for `--append-notes`: not blank (there would be nothing to add).
fn notes_line(s: &str) -> std::result::Result<Notes, String> {
    let n = Notes::parse("--append-notes", s)?;
    if n.as_deref().is_none() {
        return Err("--append-notes needs some text to add".into());
    }
    Ok(n)
}

#[derive(Debug, Subcommand)]
pub enum EventCmd {
    /// List events: by id, or by start with --upcoming or --from (--sort to choose)
    #[command(after_help = "Examples:\n  epicevents event list --no-support\n  \
                            epicevents event list --mine --upcoming\n  \
                            epicevents event list --from 2026-06-01 --to 2026-06-30\n  \
                            epicevents event list --client 4 --sort start\n  \
                            epicevents event list --mine --upcoming --ics > events.ics")]
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
        #[arg(long, value_name = "ID", value_parser = id)]
        contract: Option<i64>,
        /// Only this client's events
        #[arg(long, value_name = "ID", value_parser = id)]
        client: Option<i64>,
        /// Only events starting at or after DATE (a date alone: local midnight)
        #[arg(long, value_name = "DATE", value_parser = Timestamp::parse_day_start)]
        from: Option<Timestamp>,
        /// Only events starting at or before DATE (a date alone: that whole day)
        #[arg(long, value_name = "DATE", value_parser = Timestamp::parse_day_end)]
        to: Option<Timestamp>,
        /// Order: start (ties by id) or id [default: start with --upcoming or --from, else id]
        #[arg(long, value_enum)]
        sort: Option<EventSort>,
        /// Print the events as an iCalendar feed (RFC 5545), for a calendar application
        #[arg(long)]
        ics: bool,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one event
    #[command(after_help = "Example:\n  epicevents event show 12")]
    Show {
        /// Event id
        #[arg(value_parser = id)]
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
        #[arg(value_parser = id)]
        contract_id: i64,
        /// Event name
        #[arg(long, value_parser = name("name"))]
        name: Name,
        /// Start: RFC 3339 or "YYYY-MM-DD HH:MM" (local time)
        #[arg(long, value_parser = Timestamp::parse)]
        start: Timestamp,
        /// End, after the start
        #[arg(long, value_parser = Timestamp::parse)]
        end: Timestamp,
        /// Where it takes place
        #[arg(long, value_parser = name("location"))]
        location: Name,
        /// Expected number of attendees (0 or more)
        #[arg(long, value_parser = Attendees::parse, allow_hyphen_values = true)]
        attendees: Attendees,
        /// Free notes (several lines allowed)
        #[arg(long, value_parser = notes)]
        notes: Option<Notes>,
    },
    /// Change an event (its support contact, or MANAGEMENT); `--notes ""` clears the notes
    #[command(
        after_help = "Examples:\n  epicevents event update 12 --attendees 80 --notes 'Band confirmed'\n  \
                      epicevents event update 12 --append-notes 'Projector needed in room B.'"
    )]
    Update {
        /// Event id
        #[arg(value_parser = id)]
        id: i64,
        /// New name
        #[arg(long, value_parser = name("name"))]
        name: Option<Name>,
        /// New start
        #[arg(long, value_parser = Timestamp::parse)]
        start: Option<Timestamp>,
        /// New end
        #[arg(long, value_parser = Timestamp::parse)]
        end: Option<Timestamp>,
        /// New location
        #[arg(long, value_parser = name("location"))]
        location: Option<Name>,
        /// New number of attendees
        #[arg(long, value_parser = Attendees::parse, allow_hyphen_values = true)]
        attendees: Option<Attendees>,
        /// New notes
        #[arg(long, value_parser = notes)]
        notes: Option<Notes>,
        /// Add this as a new line at the end of the notes
        #[arg(long, value_name = "TEXT", value_parser = notes_line, conflicts_with = "notes")]
        append_notes: Option<Notes>,
    },
    /// Assign an active SUPPORT employee to an event (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents event assign 12 5")]
    Assign {
        /// Event id
        #[arg(value_parser = id)]
        id: i64,
        /// Id of the SUPPORT employee
        #[arg(value_parser = id)]
        support_id: i64,
    },
    /// Remove an event's support contact (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents event unassign 12")]
    Unassign {
        /// Event id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Delete an event (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents event delete 12 --yes")]
    Delete {
        /// Event id
        #[arg(value_parser = id)]
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
}

impl Render for Event {
    const HEADERS: &'static [&'static str] =
        &["ID", "NAME", "CLIENT", "START", "END", "LOCATION", "ATTENDEES", "SUPPORT"];
    const RIGHT: &'static [usize] = &[6];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.clone(),
            output::named(&self.client_name, self.client_id),
            output::local(&self.start_at),
            output::local(&self.end_at),
            self.location.clone(),
            self.attendees.to_string(),
            support(self),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("name", self.name.clone()),
            ("contract_id", self.contract_id.to_string()),
            ("client", output::named(&self.client_name, self.client_id)),
            ("start_at", output::local(&self.start_at)),
            ("end_at", output::local(&self.end_at)),
            ("location", self.location.clone()),
            ("attendees", self.attendees.to_string()),
            ("notes", output::opt(&self.notes)),
            ("support_contact", support(self)),
            ("created_at", output::local(&self.created_at)),
            ("updated_at", output::local(&self.updated_at)),
        ]
    }
}

fn support(e: &Event) -> String {
    match (&e.support_contact_name, e.support_contact_id) {
        (Some(n), Some(id)) => output::named(n, id),
        _ => String::new(),
    }
}

impl EventCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            EventCmd::List {
                no_support,
                mine,
                upcoming,
                contract,
                client,
                from,
                to,
                sort,
                ics,
                paging,
            } => {
                let q = EventQuery { no_support, mine, upcoming, contract, client, from, to, sort };
                if !ics {
                    return super::list(ctx, q, paging).await;
                }
                if ctx.out.format != Format::Human {
                    return Err(Error::usage("--ics cannot be used with --json or --csv"));
                }
                let installation = ctx.backend()?.call(InstallationShow {}).await?;
                let mut w = IcsWriter::new(installation.id);
                ctx.backend()?.list(q, paging.page(), &mut w).await?;
                w.finish()
            }
            EventCmd::Show { id } => {
                let e = ctx.backend()?.call(EventShow { id }).await?;
                ctx.out.record(&e)
            }
            EventCmd::Create { contract_id, name, start, end, location, attendees, notes } => {
                let req = NewEvent {
                    contract_id,
                    name,
                    period: EventPeriod::new(start, end).map_err(Error::usage)?,
                    location,
                    attendees,
                    notes: notes.unwrap_or_else(Notes::none),
                };
                let e = ctx.backend()?.call(req).await?;
                ctx.out.record(&e)
            }
            EventCmd::Update { id, name, start, end, location, attendees, notes, append_notes } => {
                let u = EventUpdate {
                    id,
                    name,
                    start_at: start,
                    end_at: end,
                    location,
                    attendees,
                    notes,
                    append_notes,
                };
                if u.is_empty() {
                    return Err(nothing_to_update("event update"));
                }
                let e = ctx.backend()?.call(u).await?;
                ctx.out.record(&e)
            }
            EventCmd::Assign { id, support_id } => {
                let e = ctx.backend()?.call(EventAssign { id, support_id }).await?;
                ctx.out.record(&e)
            }
            EventCmd::Unassign { id } => {
                let e = ctx.backend()?.call(EventUnassign { id }).await?;
                ctx.out.record(&e)
            }
            EventCmd::Delete { id, yes } => {
                confirm_delete(ctx, Entity::Event, id, yes).await?;
                let e = ctx.backend()?.call(EventDelete { id }).await?;
                ctx.out.done(
                    &format!("Deleted event {} ({}).", e.id, e.name),
                    json!({ "deleted": "event", "id": e.id }),
                )
            }
        }
    }
}
