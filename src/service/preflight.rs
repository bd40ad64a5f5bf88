//! What a command checks before it prompts (spec §3): the permission first, and for a
//! delete everything that would refuse it, by running the delete itself and rolling it back.
//! The write checks it all again in its own transaction.

use sqlx::PgConnection;

use super::{Tx, employee, need};
use crate::api::{Clearance, Entity, Preflight};
use crate::auth::Actor;
use crate::auth::permissions::{Action, Facts};
use crate::domain::Role;
use crate::error::Result;
use crate::repo::{self, found};

pub async fn check(
    db: &mut PgConnection,
    actor: Option<&Actor>,
    p: Preflight,
) -> Result<Clearance> {
    match p {
        Preflight::CreateEmployee => {
            if employee::bootstrap_open(db).await? {
                return Ok(Clearance { bootstrap: true, ..Clearance::default() });
            }
            let actor = actor.ok_or_else(employee::not_logged_in_after_bootstrap)?;
            actor.authorize(Action::EmployeeCreate, Facts::default())?;
            Ok(Clearance::default())
        }
        Preflight::SetPassword { id, current_password } => {
            let actor = need(actor)?;
            actor.authorize(
                Action::EmployeeSetPassword,
                Facts { employee: Some(id), ..Default::default() },
            )?;
            let mut tx = Tx::begin(&mut *db).await?;
            let row = repo::employee::get(&mut tx, id).await?;
            tx.commit(None).await?;
            found(row, "employee", id)?;
            let own = id == actor.id;
            if let (true, Some(current)) = (own, current_password.as_ref()) {
                employee::check_current_password(db, actor, current).await?;
            }
            Ok(Clearance { own, ..Clearance::default() })
        }
        Preflight::Delete { entity, id } => {
            let actor = need(actor)?;
            let mut tx = Tx::begin(db).await?;
            let label = match entity {
                Entity::Employee => {
                    let e = employee::delete_in(&mut tx, actor, id).await?;
                    format!("employee {id} ({} <{}>)", e.full_name(), e.email)
                }
                Entity::Client => {
                    let c = super::client::delete_in(&mut tx, actor, id).await?;
                    format!("client {id} ({} <{}>)", c.full_name(), c.email)
                }
                Entity::Contract => {
                    let c = super::contract::delete_in(&mut tx, actor, id).await?;
                    format!("contract {id} ({}, {})", c.client_name, c.total_amount)
                }
                Entity::Event => {
                    let e = super::event::delete_in(&mut tx, actor, id).await?;
                    format!("event {id} ({})", e.name)
                }
            };
            // dropped: rolled back, nothing recorded
            drop(tx);
            Ok(Clearance {
                question: Some(crate::domain::escape_controls(&format!("Delete {label}?")).into()),
                ..Clearance::default()
            })
        }
        Preflight::Deactivate { id, reassign_to } => {
            let actor = need(actor)?;
            let (e, owned, to) = employee::deactivation_check(db, actor, id, reassign_to).await?;
            let who = format!("{} ({id})", e.full_name());
            let clients =
                if owned == 1 { "1 client".to_owned() } else { format!("{owned} clients") };
            let (question, note) = match (owned, to) {
                (0, _) => (None, None),
                (_, Some(to)) => {
                    let to = format!("{} ({})", to.full_name(), to.id);
                    (
                        Some(format!("Deactivate {who} and move their {clients} to {to}?")),
                        Some(format!(
                            "Their {clients} (and those clients' contracts) moved to {to}."
                        )),
                    )
                }
                (_, None) => (
                    Some(format!(
                        "{who} is the sales contact of {clients}, who keep them. Deactivate?"
                    )),
                    Some(format!(
                        "{who} is still the sales contact of {clients}: move them with \
                         `epicevents client reassign CLIENT_ID SALES_ID`, or deactivate with \
                         --reassign-to SALES_ID next time."
                    )),
                ),
            };
            let question = question.map(|q| crate::domain::escape_controls(&q).into_owned());
            let note = note.map(|n| crate::domain::escape_controls(&n).into_owned());
            Ok(Clearance { question, note, ..Clearance::default() })
        }
        Preflight::Sign { id } => {
            let actor = need(actor)?;
            let mut tx = Tx::begin(db).await?;
            let c = found(repo::contract::get(&mut tx, id).await?, "contract", id)?;
            tx.commit(None).await?;
            actor.authorize(
                Action::ContractSign,
                Facts { owner: Some(c.sales_contact_id), ..Default::default() },
            )?;
            if c.is_signed {
                return Err(crate::error::Error::conflict(format!(
                    "contract {id} is already signed"
                )));
            }
            let q = format!(
                "Sign contract {id} ({}, {})? A signature cannot be undone.",
                c.client_name, c.total_amount
            );
            Ok(Clearance {
                question: Some(crate::domain::escape_controls(&q).into_owned()),
                ..Clearance::default()
            })
        }
        Preflight::EmployeeUpdate { id, role } => {
            let actor = need(actor)?;
            actor.authorize(
                Action::EmployeeUpdate,
                Facts { employee: Some(id), ..Default::default() },
            )?;
            let mut tx = Tx::begin(db).await?;
            let row = repo::employee::get(&mut tx, id).await?;
            tx.commit(None).await?;
            found(row, "employee", id)?;
            let question = match role {
                Some(r) if id == actor.id && r != actor.role => Some(format!(
                    "Change your own role from {} to {r}? {}",
                    actor.role,
                    if actor.role == Role::Management {
                        "You will no longer be able to manage employees."
                    } else {
                        "What you may do changes at once."
                    }
                )),
                _ => None,
            };
            Ok(Clearance { question, ..Clearance::default() })
        }
    }
}
