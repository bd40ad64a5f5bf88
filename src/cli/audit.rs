//! `audit list`: the append-only trail, newest first (MANAGEMENT).

use clap::Subcommand;

use super::Context;
use crate::api::{AuditEntry, AuditQuery, Entity};
use crate::domain::Timestamp;
use crate::error::Result;
use crate::output::{self, Render};

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// The latest changes, newest first (`--after ID` goes on with older ones)
    #[command(after_help = "Examples:\n  epicevents audit list --limit 20\n  \
                            epicevents audit list --entity contract --id 9\n  \
                            epicevents audit list --actor 2 --since 2026-06-01\n\n\
                            On a terminal CHANGES reads `field: old → new`; piped, and with \
                            --json or --csv, it is the recorded JSON.")]
    List {
        /// Only changes to this kind of row
        #[arg(long, value_enum)]
        entity: Option<Entity>,
        /// Only changes to the row with this id (with --entity)
        #[arg(long, value_name = "N", value_parser = super::id, requires = "entity")]
        id: Option<i64>,
        /// Only changes made by this employee
        #[arg(long, value_name = "ID", value_parser = super::id)]
        actor: Option<i64>,
        /// Only changes made at or after DATE (a date alone: local midnight)
        #[arg(long, value_name = "DATE", value_parser = Timestamp::parse_day_start)]
        since: Option<Timestamp>,
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
            if readable() { changes(&self.changes) } else { self.changes.to_string() },
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("at", output::local(&self.at)),
            ("actor", actor(self)),
            ("action", self.action.clone()),
            ("entity", entity(self)),
            ("changes", if readable() { changes(&self.changes) } else { self.changes.to_string() }),
        ]
    }
}

/// Whether changes are shown for people (stdout is a terminal); asked once.
fn readable() -> bool {
    static TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TERMINAL.get_or_init(|| std::io::IsTerminal::is_terminal(&std::io::stdout()))
}

/// `amount_due: 1000.00 → 900.00; amount: 100.00`: each field of a change, a `{from, to}`
/// pair as an arrow, anything else as its value.
pub fn changes(v: &serde_json::Value) -> String {
    let Some(m) = v.as_object() else { return value(v) };
    m.iter()
        .map(|(k, v)| match v.as_object() {
            Some(o) if o.len() == 2 && o.contains_key("from") && o.contains_key("to") => {
                format!("{k}: {} → {}", value(&o["from"]), value(&o["to"]))
            }
            _ => format!("{k}: {}", value(v)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A JSON value for people: text bare, null as `none`, the rest as compact JSON.
fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".to_owned(),
        other => other.to_string(),
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
            AuditCmd::List { entity, id, actor, since, paging } => {
                super::list(ctx, AuditQuery { entity, id, actor, since }, paging).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::changes;
    use serde_json::json;

    #[test]
    fn changes_read_as_arrows() {
        let v = json!({ "amount": "100.00", "amount_due": { "from": "1000.00", "to": "900.00" } });
        assert_eq!(changes(&v), "amount: 100.00; amount_due: 1000.00 → 900.00");
        assert_eq!(
            changes(&json!({ "phone": { "from": null, "to": "0102" } })),
            "phone: none → 0102"
        );
        assert_eq!(changes(&json!({})), "");
    }
}
