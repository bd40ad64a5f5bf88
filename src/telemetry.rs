//! Sentry (spec §7): with `SENTRY_DSN` set, unexpected errors and the audited business
//! events are reported. Nothing personal goes out: no names, e-mails, amounts or free text,
//! no user, host or request data — only the action, the entity and its id, the actor's role.
//! Business events are sent by the transaction that recorded them, once it has committed
//! (`service::Tx::commit`); a command that fails or is only checked sends nothing.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use sentry::protocol::{Event, Level};
use sentry::{ClientInitGuard, ClientOptions};

use crate::config::Settings;
use crate::error::{Error, Kind, Result};

/// Options for the client, or `None` when `SENTRY_DSN` is not set.
pub fn options(settings: &Settings) -> Result<Option<ClientOptions>> {
    let Some(dsn) = &settings.sentry_dsn else { return Ok(None) };
    let dsn = dsn.expose().parse().map_err(|_| {
        Error::unavailable("SENTRY_DSN is malformed: expected https://KEY@HOST/PROJECT")
    })?;
    let mut o = ClientOptions::default();
    o.dsn = Some(dsn);
    o.release = Some(Cow::Borrowed(concat!("epicevents@", env!("CARGO_PKG_VERSION"))));
    o.environment = settings.sentry_environment.clone().map(Cow::Owned);
    o.send_default_pii = false;
    o.server_name = None;
    // the most a command waits, at its end, for its reports to leave (on a loaded machine 2 s
    // dropped some); when they go at once, it waits no longer
    o.shutdown_timeout = Duration::from_secs(5);
    o.before_send = Some(Arc::new(scrub));
    Ok(Some(o))
}

/// The last line of defence: drop every field that could carry personal data.
pub fn scrub(mut e: Event<'static>) -> Option<Event<'static>> {
    e.user = None;
    e.server_name = None;
    e.request = None;
    e.breadcrumbs = Default::default();
    e.extra.clear();
    e.contexts.clear();
    Some(e)
}

pub fn init(settings: &Settings) -> Result<Option<ClientInitGuard>> {
    Ok(options(settings)?.map(sentry::init))
}

/// Sends a business event of a committed change.
pub fn business_event(action: &str, entity: &str, entity_id: i64, actor_role: Option<&str>) {
    let mut e = Event {
        level: Level::Info,
        message: Some(action.to_owned()),
        logger: Some("epicevents.audit".into()),
        ..Default::default()
    };
    e.tags.insert("action".into(), action.to_owned());
    e.tags.insert("entity".into(), entity.to_owned());
    e.tags.insert("entity_id".into(), entity_id.to_string());
    if let Some(role) = actor_role {
        e.tags.insert("actor_role".into(), role.into());
    }
    sentry::capture_event(e);
}

/// Reports an unexpected error (exit 1) by its user-facing message only: the cause chain
/// may quote SQL values, so it stays in the local log.
pub fn report_error(err: &Error, command: &str) {
    if err.kind() != Kind::Internal {
        return;
    }
    let mut e = Event {
        level: Level::Error,
        message: Some(err.message().to_owned()),
        logger: Some("epicevents".into()),
        ..Default::default()
    };
    e.tags.insert("command".into(), command.into());
    sentry::capture_event(e);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    fn test_options() -> ClientOptions {
        let settings = Settings::from_source(&Source::from_pairs(&[])).unwrap();
        let mut s = settings;
        s.sentry_dsn = Some(crate::config::Secret::new("https://public@sentry.invalid/1"));
        options(&s).unwrap().unwrap()
    }

    #[test]
    fn business_events_carry_no_personal_data() {
        let events = sentry::test::with_captured_events_options(
            || {
                business_event("contract.pay", "contract", 7, Some("SALES"));
            },
            test_options(),
        );
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.message.as_deref(), Some("contract.pay"));
        assert_eq!(e.tags.get("entity_id").map(String::as_str), Some("7"));
        assert_eq!(e.tags.get("actor_role").map(String::as_str), Some("SALES"));
        assert!(e.user.is_none() && e.server_name.is_none() && e.request.is_none());
    }

    #[test]
    fn only_unexpected_errors_are_reported_and_scrubbed() {
        let events = sentry::test::with_captured_events_options(
            || {
                report_error(&Error::usage("bad amount"), "contract pay");
                report_error(&Error::conflict("dup"), "client create");
                report_error(
                    &Error::internal("unexpected database error", anyhow::anyhow!("secret cause")),
                    "client create",
                );
                let leaky = Event {
                    user: Some(sentry::User {
                        email: Some("ann@example.com".into()),
                        ..Default::default()
                    }),
                    server_name: Some("host".into()),
                    ..Default::default()
                };
                sentry::capture_event(leaky);
            },
            test_options(),
        );
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].message.as_deref(), Some("unexpected database error"));
        let all = format!("{events:?}");
        assert!(!all.contains("secret cause") && !all.contains("ann@example.com"), "{all}");
    }

    #[test]
    fn malformed_dsn_is_a_configuration_error() {
        let mut s = Settings::from_source(&Source::from_pairs(&[])).unwrap();
        s.sentry_dsn = Some(crate::config::Secret::new("not a dsn"));
        assert_eq!(options(&s).unwrap_err().exit_code(), 7);
    }
}
