//! `demo`: a realistic sample in an empty database, and how to log in to it.

use super::Context;
use crate::error::Result;
use crate::service::demo;

pub async fn run(ctx: &mut Context) -> Result<()> {
    let summary = demo::seed(ctx.db().await?).await?;
    if ctx.out.json {
        return ctx.out.done("", serde_json::to_value(&summary).unwrap_or_default());
    }
    let mut s = format!(
        "Demo data created: {} employees, {} clients, {} contracts, {} events.\n\n\
         Throwaway passwords (shown once; change them with `epicevents employee set-password ID`):\n\n",
        summary.accounts.len(),
        summary.clients,
        summary.contracts,
        summary.events
    );
    let width = summary.accounts.iter().map(|a| a.email.len()).max().unwrap_or(0);
    for a in &summary.accounts {
        s.push_str(&format!("  {:<10}  {:<width$}  {}\n", a.role.as_str(), a.email, a.password));
    }
    s.push_str("\nLog in as one of them, for instance the first manager:\n\n");
    if let Some(a) = summary.accounts.first() {
        s.push_str(&format!("  epicevents login {}\n", a.email));
    }
    s.push_str("  epicevents whoami\n  epicevents event list --no-support\n");
    crate::output::emit(&s)
}
