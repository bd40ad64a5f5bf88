//! `login`, `whoami`, `refresh-token`, `logout`, `management-only`.

use clap::Args;
use serde_json::json;

use super::{Context, input};
use crate::api::{self, ManagementOnly, Me, WhoAmI};
use crate::backend::LoggedOut;
use crate::domain::{Email, Password};
use crate::error::{Error, Result};
use crate::output::Render;

#[derive(Debug, Args)]
pub struct Login {
    /// Your e-mail address (prompted for when omitted)
    #[arg(value_parser = Email::parse)]
    email: Option<Email>,
    /// Your password: omit it (or give `-`) to be prompted (hidden), or pipe it on stdin
    password: Option<String>,
}

impl Render for Me {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "EMAIL", "ROLE"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            format!("{} {}", self.first_name, self.last_name),
            self.email.clone(),
            self.role.to_string(),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("name", format!("{} {}", self.first_name, self.last_name)),
            ("email", self.email.clone()),
            ("role", self.role.to_string()),
        ]
    }
}

/// Spec §4: a password on the command line works, but other local users can see it.
pub fn warn_password_argument() {
    eprintln!(
        "warning: a password given as an argument is visible to other users of this machine \
         (use `-` or the prompt)"
    );
}

impl Login {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        let email = match self.email {
            Some(e) => e,
            None => Email::parse(&input::line("Email: ", "EMAIL")?).map_err(Error::usage)?,
        };
        let password = match self.password.as_deref() {
            Some("-") | None => input::secret("Password: ", "the password")?,
            Some(p) => {
                warn_password_argument();
                p.to_owned()
            }
        };
        let password = Password::for_login(&password)
            .map_err(|_| Error::unauthenticated("invalid email or password"))?;
        let done = ctx.backend()?.login(api::Login { email, password }).await?;
        if done.replaced {
            eprintln!("Ended the session that was open here before.");
        }
        if ctx.out.json() {
            return ctx.out.record(&done.me);
        }
        let me = done.me;
        ctx.out.done(
            &format!(
                "Logged in as {} {} <{}> ({}).",
                me.first_name, me.last_name, me.email, me.role
            ),
            json!({}),
        )
    }
}

pub async fn whoami(ctx: &mut Context) -> Result<()> {
    let me = ctx.backend()?.call(WhoAmI {}).await?;
    ctx.out.record(&me)
}

pub async fn refresh(ctx: &mut Context) -> Result<()> {
    ctx.backend()?.refresh().await?;
    ctx.out.done("Session refreshed.", json!({ "refreshed": true }))
}

pub async fn logout(ctx: &mut Context) -> Result<()> {
    let outcome = ctx.backend()?.logout().await?;
    let human = match outcome {
        LoggedOut::NotLoggedIn => "Not logged in.",
        LoggedOut::Ended => "Logged out.",
        LoggedOut::AlreadyEnded => "Logged out (the session had already ended).",
        LoggedOut::Offline => {
            "Logged out locally (the server could not be told; the session will expire on its own)."
        }
    };
    ctx.out.done(
        human,
        json!({
            "logged_out": outcome != LoggedOut::NotLoggedIn,
            "revoked_on_server": outcome == LoggedOut::Ended,
        }),
    )
}

pub async fn management_only(ctx: &mut Context) -> Result<()> {
    let me = ctx.backend()?.call(ManagementOnly {}).await?;
    ctx.out.done(
        &format!("Access granted: {} {} is MANAGEMENT.", me.first_name, me.last_name),
        json!({ "granted": true, "role": me.role }),
    )
}
