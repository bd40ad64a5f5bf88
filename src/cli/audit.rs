//! `audit list`: the append-only trail, newest first (MANAGEMENT).

use clap::Subcommand;

use super::Context;
use crate::error::Result;
use crate::output::{self, Render};
use crate::repo::audit::AuditEntry;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// The latest changes, newest first
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
            output::opt(&self.actor_id),
            self.action.clone(),
            format!("{} {}", self.entity, self.entity_id),
            self.changes.to_string(),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("at", output::local(&self.at)),
            ("actor_id", output::opt(&self.actor_id)),
            ("action", self.action.clone()),
            ("entity", format!("{} {}", self.entity, self.entity_id)),
            ("changes", self.changes.to_string()),
        ]
    }
}

impl AuditCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            AuditCmd::List { paging } => {
                let actor = ctx.actor().await?;
                let mut w = ctx.out.list_writer::<AuditEntry>();
                let page = paging.page();
                crate::service::audit::list(ctx.db().await?, &actor, page, |r| w.push(&r)).await?;
                w.finish()
            }
        }
    }
}
