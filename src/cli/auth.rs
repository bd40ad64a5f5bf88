//! `login`, `whoami`, `refresh-token`, `logout`, `management-only`.

use clap::Args;
use serde::Serialize;
use serde_json::json;

use super::{Context, input};
use crate::auth::guard::{self, Actor};
use crate::auth::permissions::{Action, Facts};
use crate::domain::{Email, Password, Role};
use crate::error::{Error, Result};
use crate::output::Render;

#[derive(Debug, Args)]
pub struct Login {
    /// Your e-mail address (prompted for when omitted)
    email: Option<String>,
    /// Your password: omit it to be prompted (hidden), or pipe it on stdin
    password: Option<String>,
}

/// Who is logged in, as `whoami` and `login` show it.
#[derive(Serialize)]
struct Me {
    id: i64,
    first_name: String,
    last_name: String,
    email: String,
    role: Role,
}

impl From<&Actor> for Me {
    fn from(a: &Actor) -> Self {
        Me {
            id: a.id,
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            email: a.email.clone(),
            role: a.role,
        }
    }
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

impl Login {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        let email = match self.email {
            Some(e) => e,
            None => input::line("Email: ", "EMAIL")?,
        };
        let email = Email::parse(&email).map_err(Error::usage)?;
        let password = match self.password {
            Some(p) => p,
            None => input::secret("Password: ")?,
        };
        let password = Password::for_login(&password)
            .map_err(|_| Error::unauthenticated("invalid email or password"))?;
        let jwt = ctx.jwt()?;
        let store = ctx.store()?;
        let conn = ctx.db().await?;
        let actor = guard::login(conn, &jwt, &store, &email, &password).await?;
        if ctx.out.json {
            ctx.out.record(&Me::from(&actor))
        } else {
            ctx.out.done(
                &format!(
                    "Logged in as {} {} <{}> ({}).",
                    actor.first_name, actor.last_name, actor.email, actor.role
                ),
                json!({}),
            )
        }
    }
}

pub async fn whoami(ctx: &mut Context) -> Result<()> {
    let actor = ctx.actor().await?;
    ctx.out.record(&Me::from(&actor))
}

pub async fn refresh(ctx: &mut Context) -> Result<()> {
    let jwt = ctx.jwt()?;
    let store = ctx.store()?;
    let rotate = ctx.settings.rotate_refresh;
    let conn = ctx.db().await?;
    guard::refresh(conn, &jwt, &store, rotate).await?;
    ctx.out.done("Session refreshed.", json!({ "refreshed": true }))
}

pub async fn logout(ctx: &mut Context) -> Result<()> {
    let store = ctx.store()?;
    // Logging out must work with the database down: local tokens go in any case.
    let jwt = ctx.jwt().ok();
    let conn = match ctx.db().await {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::debug!("logout without the database: {e}");
            None
        }
    };
    let revoked = guard::logout(conn, jwt.as_ref(), &store).await?;
    let human = if revoked {
        "Logged out."
    } else {
        "Logged out locally (the server could not be told; the session will expire on its own)."
    };
    ctx.out.done(human, json!({ "logged_out": true, "revoked_on_server": revoked }))
}

pub async fn management_only(ctx: &mut Context) -> Result<()> {
    let actor = ctx.actor().await?;
    actor.authorize(Action::ManagementOnly, Facts::default())?;
    ctx.out.done(
        &format!("Access granted: {} {} is MANAGEMENT.", actor.first_name, actor.last_name),
        json!({ "granted": true, "role": actor.role }),
    )
}
