//! `audit list`: the append-only trail, newest first (MANAGEMENT).

use clap::Subcommand;

use super::Context;
use crate::api::{AuditEntry, AuditQuery};
use crate::error::Result;
use crate::output::{self, Render};

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// The latest changes, newest first (`--after ID` goes on with older ones)
    #[command(after_help = "Example:\n  epicevents audit list --limit 20")]
    List {
        #[command(flatten)]
        paging: super::Paging,
    },
}

impl Render for AuditEntry {
    const HEADERS: &'static [&'static str] = &["ID", "AT", "ACTOR", "ACTION", "ENTITY", "CHANGES"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            output::local(&self.at),
            actor(self),
            self.action.clone(),
            entity(self),
            self.changes.to_string(),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("at", output::local(&self.at)),
            ("actor", actor(self)),
            ("action", self.action.clone()),
            ("entity", entity(self)),
            ("changes", self.changes.to_string()),
        ]
    }
}

/// `client 4`, or nothing for an entry about no row.
fn entity(e: &AuditEntry) -> String {
    match (&e.entity, e.entity_id) {
        (Some(what), Some(id)) => format!("{what} {id}"),
        (Some(what), None) => what.clone(),
        _ => String::new(),
    }
}

/// `Mia Manager (1)`; the name is the one recorded with the change.
fn actor(e: &AuditEntry) -> String {
    match (&e.actor_name, e.actor_id) {
        (Some(n), Some(id)) => output::named(n, id),
        (None, Some(id)) => id.to_string(),
        _ => String::new(),
    }
}

impl AuditCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            AuditCmd::List { paging } => super::list(ctx, AuditQuery {}, paging).await,
        }
    }
}
