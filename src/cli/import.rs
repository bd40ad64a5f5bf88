//! `db import` (spec §14): the operator's move from the Python original, and its report —
//! a line per table for people, or the documented JSON shape (docs/import.md). Every value
//! from the source is shown escaped (spec §4): a stored control character cannot forge a
//! line of the report.

use std::fmt::Write;

use clap::Args;

use super::Context;
use crate::domain::escape_controls;
use crate::error::{Error, Result};
use crate::service::import::{self, Options, Report, SourceUrl, Table};

pub const AFTER_HELP: &str = "\
The target (DATABASE_URL, or the zero-config database) must be migrated and hold no employee,
client, contract or event. Nothing is written unless every row passes every rule; the report
lists what would be refused (exit 6). docs/import.md has the mapping and the steps of a move.

Examples:
  epicevents db import --from postgresql+psycopg://epic:pw@old-host/epic_crm --dry-run
  epicevents db import --from postgresql://epic:pw@old-host/epic_crm
  epicevents --json db import --from \"$OLD_DATABASE_URL\" --event-times-zone Europe/Paris";

/// How many entries of a long list the human report shows (`--json` has them all).
const SHOWN: usize = 50;

#[derive(Debug, Args)]
pub struct Import {
    /// The original's database: postgresql://user:password@host/db (SQLAlchemy's
    /// postgresql+psycopg:// and postgresql+psycopg2:// forms work too); only read
    #[arg(long, value_name = "URL", value_parser = SourceUrl::parse)]
    pub from: SourceUrl,
    /// Check everything and print the report, writing nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Give a contract whose sales contact is not its client's the client's (each listed)
    #[arg(long)]
    pub contracts_follow_client: bool,
    /// Take the stored event times as wall-clock times (as read in UTC) of this zone, e.g.
    /// Europe/Paris: the original stored the times it was typed as naive ones
    #[arg(long, value_name = "ZONE")]
    pub event_times_zone: Option<String>,
}

impl Import {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        let opts = Options {
            from: self.from,
            dry_run: self.dry_run,
            contracts_follow_client: self.contracts_follow_client,
            event_times_zone: self.event_times_zone,
        };
        let target = ctx.database().conn().await?;
        let report = import::import(target, &opts).await?;
        if ctx.out.json() {
            let json = serde_json::to_value(&report)
                .map_err(|e| Error::internal("cannot encode JSON", e))?;
            ctx.out.done("", json)?;
        } else {
            crate::output::emit(&human(&report))?;
        }
        let refused = report.refused_rows();
        if refused > 0 {
            return Err(Error::conflict(format!(
                "{refused} row(s) of the source break the rules: nothing was imported"
            ))
            .with_hint(
                "fix them in the original's database (the report lists each), then import again",
            ));
        }
        Ok(())
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The report for people.
pub fn human(r: &Report) -> String {
    let mut s = String::new();
    let what = if r.dry_run { " (dry run: nothing written)" } else { "" };
    let _ = writeln!(s, "Import from {}{what}", escape_controls(&r.source));
    if let Some(z) = &r.event_times_zone {
        let _ = writeln!(s, "Event times taken as wall-clock times of {}.", escape_controls(z));
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "table", "read", "imported", "normalised", "refused"
    );
    for t in Table::ALL {
        let c = r.counts.get(t);
        let _ = writeln!(
            s,
            "{:<10} {:>10} {:>10} {:>10} {:>10}",
            t.as_str(),
            c.read,
            c.imported,
            c.normalised,
            c.refused
        );
    }
    let _ = writeln!(s);
    if r.estimated.signed_at > 0 {
        let _ = writeln!(
            s,
            "signed_at estimated for {} (docs/import.md).",
            plural(r.estimated.signed_at, "signed contract", "signed contracts")
        );
    }
    if r.refused.is_empty() {
        let n = &r.next_ids;
        let _ = writeln!(
            s,
            "Next ids: employees {}, clients {}, contracts {}, events {}.",
            n.employees, n.clients, n.contracts, n.events
        );
    }
    if !r.changed.is_empty() {
        let _ = writeln!(s, "\nChanged by --contracts-follow-client ({}):", r.changed.len());
        for c in r.changed.iter().take(SHOWN) {
            let _ =
                writeln!(s, "  {} {}: {} {} -> {}", c.table.as_str(), c.id, c.column, c.from, c.to);
        }
        more(&mut s, r.changed.len());
    }
    if !r.normalised.is_empty() {
        let _ = writeln!(
            s,
            "\nNormalised ({}: spaces trimmed, empty text made empty, CRLF made LF, \
             deactivated_at made to follow is_active):",
            plural(r.normalised.len() as u64, "value", "values")
        );
        for n in r.normalised.iter().take(SHOWN) {
            let _ = writeln!(s, "  {} {}: {}", n.table.as_str(), n.id, n.column);
        }
        more(&mut s, r.normalised.len());
    }
    if !r.refused.is_empty() {
        let _ = writeln!(
            s,
            "\nRefused ({}; nothing was imported):",
            plural(r.refused_rows(), "row", "rows")
        );
        for f in r.refused.iter().take(SHOWN) {
            let value = match &f.value {
                Some(v) => format!("\"{}\"", escape_controls(v)),
                None => "(not shown)".to_owned(),
            };
            let _ = writeln!(
                s,
                "  {} {}, {}: {} — value {value}",
                f.table.as_str(),
                f.id,
                f.column,
                escape_controls(&f.rule)
            );
            if !f.dependents.is_empty() {
                let list: Vec<String> = f
                    .dependents
                    .iter()
                    .take(10)
                    .map(|d| {
                        format!(
                            "{} {} (through {} {})",
                            d.table.as_str(),
                            d.id,
                            d.because_of.table.as_str(),
                            d.because_of.id
                        )
                    })
                    .collect();
                let rest = f.dependents.len().saturating_sub(10);
                let tail = if rest > 0 { format!(" and {rest} more") } else { String::new() };
                let _ = writeln!(s, "    refused because of it: {}{tail}", list.join(", "));
            }
        }
        more(&mut s, r.refused.len());
    } else if r.imported {
        let c = &r.counts;
        let _ = writeln!(
            s,
            "\nImported {}, {}, {}, {}. Everyone logs in with the password they had.",
            plural(c.employees.imported, "employee", "employees"),
            plural(c.clients.imported, "client", "clients"),
            plural(c.contracts.imported, "contract", "contracts"),
            plural(c.events.imported, "event", "events")
        );
    } else if r.dry_run {
        let _ = writeln!(s, "\nEvery row passes: run it again without --dry-run to import.");
    }
    s
}

fn more(s: &mut String, total: usize) {
    if total > SHOWN {
        let _ = writeln!(s, "  … and {} more (--json lists them all)", total - SHOWN);
    }
}
