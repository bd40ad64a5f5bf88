//! `demo`: a realistic sample in an empty database, and how to log in to it — the commands
//! written as the user can run them from where they are.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Context;
use crate::error::Result;
use crate::service::demo;

#[derive(Debug, Args)]
pub struct Demo {
    /// Lost the passwords? New ones for the demo accounts (only in a database `demo` filled;
    /// the data stays, their sessions end)
    #[arg(long)]
    pub reset: bool,
}

pub async fn run(args: Demo, ctx: &mut Context) -> Result<()> {
    let me = invocation(&ctx.program);
    let (accounts, mut s) = if args.reset {
        let accounts = demo::reset(ctx.database().conn().await?).await?;
        if ctx.out.json() {
            return ctx.out.done("", serde_json::json!({ "accounts": accounts }));
        }
        let s = format!(
            "New throwaway passwords for the {} demo accounts (shown once; their sessions have \
             ended):\n\n",
            accounts.len()
        );
        (accounts, s)
    } else {
        let summary = demo::seed(ctx.database().conn().await?).await?;
        if ctx.out.json() {
            return ctx.out.done("", serde_json::to_value(&summary).unwrap_or_default());
        }
        let s = format!(
            "Demo data created: {} employees, {} clients, {} contracts, {} events.\n\n\
             Throwaway passwords (shown once; change them with `{me} employee set-password ID`, \
             or get new ones with `{me} demo --reset`):\n\n",
            summary.accounts.len(),
            summary.clients,
            summary.contracts,
            summary.events
        );
        (summary.accounts, s)
    };
    let width = accounts.iter().map(|a| a.email.len()).max().unwrap_or(0);
    for a in &accounts {
        s.push_str(&format!("  {:<10}  {:<width$}  {}\n", a.role.as_str(), a.email, a.password));
    }
    s.push_str("\nLog in as one of them, for instance the first manager:\n\n");
    if let Some(a) = accounts.first() {
        s.push_str(&format!("  {me} login {}\n", a.email));
    }
    s.push_str(&format!("  {me} whoami\n  {me} event list --no-support\n"));
    crate::output::emit(&s)
}

/// How the user ran us, as a command they can type again from here: `epicevents` when that
/// is what their PATH finds, else the path to this binary (relative when it is below the
/// working directory, as after `cargo run`).
pub fn invocation(program: &str) -> String {
    let given = Path::new(program);
    if given.components().count() <= 1 {
        return program.to_owned();
    }
    let Ok(this) = given.canonicalize() else { return program.to_owned() };
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("epicevents")).collect::<Vec<PathBuf>>())
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.is_file());
    if on_path.and_then(|p| p.canonicalize().ok()).as_deref() == Some(this.as_path()) {
        return "epicevents".to_owned();
    }
    match std::env::current_dir()
        .ok()
        .and_then(|d| this.strip_prefix(d).ok().map(Path::to_path_buf))
    {
        Some(rel) => format!("./{}", rel.display()),
        None => this.display().to_string(),
    }
}
