//! `create-employee` and the `employee` group.

use clap::{Args, Subcommand};
use serde_json::json;

use super::{Context, Paging, input, nothing_to_update, usage};
use crate::domain::{Email, Name, Password, Role};
use crate::error::{Error, Result};
use crate::output::{self, Render};
use crate::repo::employee::Employee;
use crate::service::employee::{self as svc, EmployeeUpdate, NewEmployeeInput};

#[derive(Debug, Args)]
pub struct NewEmployeeArgs {
    /// First name
    first_name: String,
    /// Last name
    last_name: String,
    /// E-mail address (unique, case-insensitive)
    email: String,
    /// Password (8 to 128 characters), or `-` to be prompted (hidden) or read it from stdin
    password: String,
    /// MANAGEMENT, SALES or SUPPORT
    #[arg(value_parser = Role::parse)]
    role: Role,
}

impl NewEmployeeArgs {
    fn parse(self) -> Result<NewEmployeeInput> {
        let password =
            if self.password == "-" { input::new_secret("New password: ")? } else { self.password };
        Ok(NewEmployeeInput {
            first_name: Name::parse("first name", &self.first_name).map_err(Error::usage)?,
            last_name: Name::parse("last name", &self.last_name).map_err(Error::usage)?,
            email: Email::parse(&self.email).map_err(Error::usage)?,
            role: self.role,
            password: Password::parse(&password).map_err(Error::usage)?,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum EmployeeCmd {
    /// List employees (active ones unless --inactive)
    #[command(after_help = "Example:\n  epicevents employee list --role SALES")]
    List {
        /// Only this role
        #[arg(long, value_parser = Role::parse)]
        role: Option<Role>,
        /// Include deactivated employees
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
        id: i64,
        /// New first name
        #[arg(long)]
        first_name: Option<String>,
        /// New last name
        #[arg(long)]
        last_name: Option<String>,
        /// New e-mail address
        #[arg(long)]
        email: Option<String>,
        /// New role
        #[arg(long, value_parser = Role::parse)]
        role: Option<Role>,
    },
    /// Set a new password (prompted, or first line of stdin): MANAGEMENT, or yourself
    #[command(
        after_help = "Example:\n  printf 'N3w-password\\n' | epicevents employee set-password 3"
    )]
    SetPassword {
        /// Employee id
        id: i64,
    },
    /// Deactivate an employee: they can no longer log in (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee deactivate 3")]
    Deactivate {
        /// Employee id
        id: i64,
    },
    /// Reactivate a deactivated employee (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee reactivate 3")]
    Reactivate {
        /// Employee id
        id: i64,
    },
    /// Delete an employee nothing refers to (MANAGEMENT)
    #[command(after_help = "Example:\n  epicevents employee delete 7 --yes")]
    Delete {
        /// Employee id
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

/// `create-employee`: no session needed while the employee table is empty.
pub async fn create_employee(args: NewEmployeeArgs, ctx: &mut Context) -> Result<()> {
    let input = args.parse()?;
    let bootstrap = svc::bootstrap_open(ctx.db().await?).await?;
    let actor = if bootstrap { None } else { Some(ctx.actor().await?) };
    let e = svc::create(ctx.db().await?, actor.as_ref(), input).await?;
    if bootstrap && !ctx.out.json {
        eprintln!(
            "Created the first employee (bootstrap). Log in with `epicevents login {}`.",
            e.email
        );
    }
    ctx.out.record(&e)
}

impl EmployeeCmd {
    pub async fn run(self, ctx: &mut Context) -> Result<()> {
        match self {
            EmployeeCmd::List { role, inactive, paging } => {
                let actor = ctx.actor().await?;
                let mut w = ctx.out.list_writer::<Employee>();
                svc::list(ctx.db().await?, &actor, role, inactive, paging.page(), |r| w.push(&r))
                    .await?;
                w.finish()
            }
            EmployeeCmd::Show { id } => {
                let actor = ctx.actor().await?;
                let e = svc::show(ctx.db().await?, &actor, id).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::Create(args) => {
                let input = args.parse()?;
                let actor = ctx.actor().await?;
                let e = svc::create(ctx.db().await?, Some(&actor), input).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::Update { id, first_name, last_name, email, role } => {
                let u = EmployeeUpdate {
                    first_name: usage(
                        first_name.map(|v| Name::parse("first name", &v)).transpose(),
                    )?,
                    last_name: usage(last_name.map(|v| Name::parse("last name", &v)).transpose())?,
                    email: usage(email.map(|v| Email::parse(&v)).transpose())?,
                    role,
                };
                if u.first_name.is_none()
                    && u.last_name.is_none()
                    && u.email.is_none()
                    && u.role.is_none()
                {
                    return Err(nothing_to_update());
                }
                let actor = ctx.actor().await?;
                let e = svc::update(ctx.db().await?, &actor, id, u).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::SetPassword { id } => {
                let actor = ctx.actor().await?;
                let pw = input::new_secret("New password: ")?;
                let pw = Password::parse(&pw).map_err(Error::usage)?;
                svc::set_password(ctx.db().await?, &actor, id, &pw).await?;
                ctx.out.done(
                    &format!("Password of employee {id} changed."),
                    json!({ "id": id, "password_changed": true }),
                )
            }
            EmployeeCmd::Deactivate { id } => {
                let actor = ctx.actor().await?;
                let e = svc::set_active(ctx.db().await?, &actor, id, false).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::Reactivate { id } => {
                let actor = ctx.actor().await?;
                let e = svc::set_active(ctx.db().await?, &actor, id, true).await?;
                ctx.out.record(&e)
            }
            EmployeeCmd::Delete { id, yes } => {
                let actor = ctx.actor().await?;
                super::confirm_delete(ctx, &actor, yes, "employee", id, svc::show).await?;
                let e = svc::delete(ctx.db().await?, &actor, id).await?;
                ctx.out.done(
                    &format!("Deleted employee {} ({}).", e.id, e.email),
                    json!({ "deleted": "employee", "id": e.id }),
                )
            }
        }
    }
}
