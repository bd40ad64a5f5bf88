//! `serve`: the CRM as a server (spec §10).

use clap::Args;

use super::Context;
use crate::error::Result;

pub const AFTER_HELP: &str = "\
Examples:
  epicevents serve                                  # zero-config database, 127.0.0.1:8080
  epicevents serve --listen 0.0.0.0:8443           # DATABASE_URL, EPICCRM_JWT_SECRET set
  EPICCRM_SERVER=https://crm.example.com epicevents login ada@example.com   # a user

TLS: EPICCRM_TLS_CERT and EPICCRM_TLS_KEY (PEM), or a proxy in front that terminates it.
See docs/api.md for the API and docs/deploy.md for running it for a team.";

#[derive(Debug, Args)]
pub struct Serve {
    /// Address to listen on (default: EPICCRM_LISTEN, else 127.0.0.1:8080; port 0 picks one)
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

impl Serve {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        let listen = self.listen.unwrap_or_else(|| ctx.settings.listen.clone());
        let db = ctx.take_database();
        crate::server::serve(db, &listen, |addr| eprintln!("epicevents: serving on {addr}")).await
    }
}
