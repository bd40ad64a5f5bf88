//! `create-employee` and the `employee` group.

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, Paging, confirm_delete, id, input, nothing_to_update};
use crate::api::{
    Clearance, Deactivate, Employee, EmployeeDelete, EmployeeQuery, EmployeeShow, EmployeeState,
    EmployeeUnlock, EmployeeUpdate, Entity, NewEmployee, Preflight, Reactivate, SetPassword,
};
use crate::domain::{Email, Name, Password, Role};
use crate::error::{Error, Result};
use crate::output::{self, Render};

/// A name argument, checked by the domain's rule.
pub fn name(field: &'static str) -> impl Fn(&str) -> std::result::Result<Name, String> + Clone {
    move |s| Name::parse(field, s)
}

#[derive(Debug, Args)]
pub struct NewEmployeeArgs {
    /// First name
    #[arg(value_parser = name("first name"))]
    first_name: Name,
    /// Last name
    #[arg(value_parser = name("last name"))]
    last_name: Name,
    /// E-mail address (unique, case-insensitive)
    #[arg(value_parser = Email::parse)]
    email: Email,
    /// Password (8 to 128 characters), or `-` to be prompted (hidden) or read it from stdin
    password: String,
    /// MANAGEMENT, SALES or SUPPORT
    #[arg(value_enum, ignore_case = true)]
    role: Role,
}

fn policy(p: &str) -> Result<()> {
    Password::parse(p).map(drop).map_err(Error::usage)
}

/// `create-employee` (the bootstrap allowed) and `employee create` (a manager's): who may is
/// checked before the password is asked for.
pub async fn create(args: NewEmployeeArgs, ctx: &mut Context, bootstrap: bool) -> Result<()> {
    let clearance: Clearance = ctx.backend()?.call(Preflight::CreateEmployee).await?;
    if clearance.bootstrap && !bootstrap {
        return Err(Error::unauthenticated("not logged in")
            .with_hint("the very first employee is created with `epicevents create-employee`"));
    }
    let password = if args.password == "-" {
        input::new_secret("New password: ", policy)?
    } else {
        super::auth::warn_password_argument();
        args.password
    };
    let req = NewEmployee {
        first_name: args.first_name,
        last_name: args.last_name,
        email: args.email,
        role: args.role,
        password: Password::parse(&password).map_err(Error::usage)?,
    };
    let e = ctx.backend()?.call(req).await?;
    if clearance.bootstrap && !ctx.out.json() {
        eprintln!(
            "Created the first employee (bootstrap). Log in with `epicevents login {}`.",
            e.email
        );
    }
    ctx.out.record(&e)
}

#[derive(Debug, Subcommand)]
pub enum EmployeeCmd {
    /// List employees (active ones unless --state says otherwise)
    #[command(after_help = "Examples:\n  epicevents employee list --role SALES\n  \
                      epicevents employee list --state all")]
    List {
        /// Only this role
        #[arg(long, value_enum, ignore_case = true)]
        role: Option<Role>,
        /// Which employees: active, inactive (deactivated) or all
        #[arg(long, value_enum, ignore_case = true, default_value_t = EmployeeState::Active,
              conflicts_with = "inactive")]
        state: EmployeeState,
        /// Only deactivated employees (same as --state inactive)
        #[arg(long)]
        inactive: bool,
        #[command(flatten)]
        paging: Paging,
    },
    /// Show one employee
    #[command(
        after_help = "Examples:\n  epicevents employee show 3\n  epicevents --json employee show 3"
    )]
    Show {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Create an employee (MANAGEMENT)
    #[command(
        after_help = "Example:\n  epicevents employee create Bob Sale bob@example.com - SALES"
    )]
    Create(NewEmployeeArgs),
    /// Change an employee's name, e-mail or role (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee update 3 --role MANAGEMENT")]
    Update {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
        /// New first name
        #[arg(long, value_parser = name("first name"))]
        first_name: Option<Name>,
        /// New last name
        #[arg(long, value_parser = name("last name"))]
        last_name: Option<Name>,
        /// New e-mail address
        #[arg(long, value_parser = Email::parse)]
        email: Option<Email>,
        /// New role
        #[arg(long, value_enum, ignore_case = true)]
        role: Option<Role>,
        /// Do not ask for confirmation (changing your own role asks)
        #[arg(long, short)]
        yes: bool,
    },
    /// Set a new password: yours (the current one is asked first), or anyone's (MANAGEMENT)
    #[command(after_help = "Examples:\n  epicevents employee set-password 3\n  \
                            printf '%s\\n%s\\n' \"$CURRENT\" \"$NEW\" | epicevents employee set-password 3")]
    SetPassword {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Deactivate an employee: they can no longer log in (MANAGEMENT)
    #[command(after_help = "Examples:\n  epicevents employee deactivate 3\n  \
                            epicevents employee deactivate 2 --reassign-to 4 --yes\n\n\
                            A SALES employee who owns clients is confirmed on a terminal; \
                            without a terminal, --yes is needed (else exit 2, nothing changed).")]
    Deactivate {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
        /// Move their clients (and the clients' contracts) to this active SALES employee,
        /// in the same transaction
        #[arg(long, value_name = "SALES_ID", value_parser = id)]
        reassign_to: Option<i64>,
        /// Do not ask for confirmation (deactivating the owner of clients asks)
        #[arg(long, short)]
        yes: bool,
    },
    /// Reactivate a deactivated employee (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee reactivate 3")]
    Reactivate {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Lift a login lockout (too many failed logins) before its 15 minutes pass (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee unlock 3")]
    Unlock {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
    },
    /// Delete an employee nothing refers to (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee delete 7 --yes")]
    Delete {
        /// Employee id
        #[arg(value_parser = id)]
        id: i64,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
}

impl Render for Employee {
    const HEADERS: &'static [&'static str] = &["ID", "NAME", "EMAIL", "ROLE", "ACTIVE"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.full_name(),
            self.email.clone(),
            self.role.to_string(),
            output::yes_no(self.is_active),
        ]
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("id", self.id.to_string()),
            ("first_name", self.first_name.clone()),
            ("last_name", self.last_name.clone()),
            ("email", self.email.clone()),
            ("role", self.role.to_string()),
            ("active", output::yes_no(self.is_active)),
            ("created_at", output::local(&self.created_at)),
            ("updated_at", output::local(&self.updated_at)),
            ("deactivated_at", output::local_opt(&self.deactivated_at)),
        ]
    }
}

impl EmployeeCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            EmployeeCmd::List { role, state, inactive, paging } => {
                let state = if inactive { EmployeeState::Inactive } else { state };
                super::list(ctx, EmployeeQuery { role, state }, paging).await
            }
            EmployeeCmd::Show { id } => {
                let e = ctx.backend()?.call(EmployeeShow { id }).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::Create(args) => create(args, ctx, false).await,
            EmployeeCmd::Update { id, first_name, last_name, email, role, yes } => {
                let u = EmployeeUpdate { id, first_name, last_name, email, role };
                if u.is_empty() {
                    return Err(nothing_to_update("employee update"));
                }
                if role.is_some() && !yes {
                    let c = ctx.backend()?.call(Preflight::EmployeeUpdate { id, role }).await?;
                    if let Some(q) = c.question {
                        input::confirm(&q)?;
                    }
                }
                let e = ctx.backend()?.call(u).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::SetPassword { id } => {
                let c = ctx
                    .backend()?
                    .call(Preflight::SetPassword { id, current_password: None })
                    .await?;
                let current = if c.own {
                    let p = input::secret("Current password: ", "the current password")?;
                    let p = Password::for_login(&p)
                        .map_err(|_| Error::unauthenticated("the current password is wrong"))?;
                    // a wrong one is said now, not after the new one is typed twice
                    let check = Preflight::SetPassword { id, current_password: Some(p.clone()) };
                    ctx.backend()?.call(check).await?;
                    Some(p)
                } else {
                    None
                };
                let new = input::new_secret("New password: ", policy)?;
                let new_password = Password::parse(&new).map_err(Error::usage)?;
                ctx.backend()?
                    .call(SetPassword { id, current_password: current, new_password })
                    .await?;
                ctx.out.done(
                    &format!("Password of employee {id} changed."),
                    json!({ "id": id, "password_changed": true }),
                )
            }
            EmployeeCmd::Deactivate { id, reassign_to, yes } => {
                // checked first (permission, state, target); a SALES owner of clients asks
                let c = ctx.backend()?.call(Preflight::Deactivate { id, reassign_to }).await?;
                if let (Some(q), false) = (&c.question, yes) {
                    input::confirm(q)?;
                }
                let e = ctx.backend()?.call(Deactivate { id, reassign_to }).await?;
                if let (Some(note), false) = (&c.note, ctx.out.json()) {
                    eprintln!("{note}");
                }
                ctx.out.record(&e)
            }
            EmployeeCmd::Reactivate { id } => {
                let e = ctx.backend()?.call(Reactivate { id }).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::Unlock { id } => {
                let u = ctx.backend()?.call(EmployeeUnlock { id }).await?;
                let what = if u.was_locked {
                    format!("Employee {id} unlocked: they may log in again.")
                } else {
                    format!("Employee {id} was not locked out.")
                };
                ctx.out.done(&what, json!({ "id": u.id, "was_locked": u.was_locked }))
            }
            EmployeeCmd::Delete { id, yes } => {
                confirm_delete(ctx, Entity::Employee, id, yes).await?;
                let e = ctx.backend()?.call(EmployeeDelete { id }).await?;
                ctx.out.done(
                    &format!("Deleted employee {} ({}).", e.id, e.email),
                    json!({ "deleted": "employee", "id": e.id }),
                )
            }
        }
    }
}
