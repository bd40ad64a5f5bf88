//! The permission table: for every command that acts on data, what each role may do.
//! It is the only place where roles are compared; services state the facts (who owns the
//! client, who is assigned to the event, who the target employee is) and call `check`.
//! `docs/permissions.md` and each command's `--help` are generated from this table; the
//! end-to-end tests check it against their own copy of spec §4.

use crate::domain::Role;
use crate::error::{Error, Result};

/// What a role may do with one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Never.
    No,
    /// Always.
    Yes,
    /// Only when the caller is the client's sales contact.
    Owner,
    /// Only when the caller is the event's support contact.
    Assigned,
    /// Only on their own employee record.
    OnSelf,
    /// On any employee record but their own.
    NotSelf,
}

impl Grant {
    pub fn describe(self) -> &'static str {
        match self {
            Grant::No => "no",
            Grant::Yes => "yes",
            Grant::Owner => "if sales contact of the client",
            Grant::Assigned => "if support contact of the event",
            Grant::OnSelf => "on themself only",
            Grant::NotSelf => "not on themself",
        }
    }
}

/// The facts about the target row that the grants depend on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    /// The client's sales contact (for clients, contracts, events).
    pub owner: Option<i64>,
    /// The event's support contact.
    pub assignee: Option<i64>,
    /// The target employee (for employee commands).
    pub employee: Option<i64>,
}

macro_rules! permission_table {
    ($( $action:ident $cmd:literal => [$m:ident, $s:ident, $u:ident], )*) => {
        /// Every permission-checked command.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action { $($action),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$action),*];

            /// The command line this action is (as in the spec's table).
            pub fn command(self) -> &'static str {
                match self { $(Action::$action => $cmd),* }
            }

            /// Grants for MANAGEMENT, SALES and SUPPORT, in that order.
            pub fn grants(self) -> [Grant; 3] {
                match self { $(Action::$action => [Grant::$m, Grant::$s, Grant::$u]),* }
            }
        }
    };
}

permission_table! {
    //                                                  MANAGEMENT  SALES     SUPPORT
    ManagementOnly      "management-only"            => [Yes,       No,       No],
    EmployeeList        "employee list"              => [Yes,       Yes,      Yes],
    EmployeeShow        "employee show"              => [Yes,       Yes,      Yes],
    EmployeeCreate      "employee create"            => [Yes,       No,       No],
    EmployeeUpdate      "employee update"            => [Yes,       No,       No],
    EmployeeSetPassword "employee set-password"      => [Yes,       OnSelf,   OnSelf],
    EmployeeDeactivate  "employee deactivate"        => [NotSelf,   No,       No],
    EmployeeReactivate  "employee reactivate"        => [NotSelf,   No,       No],
    EmployeeDelete      "employee delete"            => [NotSelf,   No,       No],
    EmployeeUnlock      "employee unlock"            => [Yes,       No,       No],
    ClientList          "client list"                => [Yes,       Yes,      Yes],
    ClientListMine      "client list --mine"         => [No,        Yes,      No],
    ClientShow          "client show"                => [Yes,       Yes,      Yes],
    ClientCreate        "client create"              => [No,        Yes,      No],
    ClientUpdate        "client update"              => [Yes,       Owner,    No],
    ClientReassign      "client reassign"            => [Yes,       No,       No],
    ClientDelete        "client delete"              => [Yes,       No,       No],
    ContractList        "contract list"              => [Yes,       Yes,      Yes],
    ContractListMine    "contract list --mine"       => [No,        Yes,      No],
    ContractShow        "contract show"              => [Yes,       Yes,      Yes],
    ContractCreate      "contract create"            => [Yes,       No,       No],
    ContractUpdate      "contract update"            => [Yes,       Owner,    No],
    ContractSign        "contract sign"              => [Yes,       Owner,    No],
    ContractPay         "contract pay"               => [Yes,       Owner,    No],
    ContractDelete      "contract delete"            => [Yes,       No,       No],
    ContractPayments    "contract payments"          => [Yes,       Yes,      Yes],
    EventList           "event list"                 => [Yes,       Yes,      Yes],
    EventListMine       "event list --mine"          => [No,        Yes,      Yes],
    EventShow           "event show"                 => [Yes,       Yes,      Yes],
    EventCreate         "event create"               => [No,        Owner,    No],
    EventUpdate         "event update"               => [Yes,       No,       Assigned],
    EventAssign         "event assign"               => [Yes,       No,       No],
    EventUnassign       "event unassign"             => [Yes,       No,       No],
    EventDelete         "event delete"               => [Yes,       No,       No],
    AuditList           "audit list"                 => [Yes,       No,       No],
}

impl Action {
    pub fn grant_for(self, role: Role) -> Grant {
        let g = self.grants();
        match role {
            Role::Management => g[0],
            Role::Sales => g[1],
            Role::Support => g[2],
        }
    }
}

/// Whether `grant` allows an actor with id `actor` given `facts`.
pub fn allows(grant: Grant, actor: i64, facts: Facts) -> bool {
    match grant {
        Grant::No => false,
        Grant::Yes => true,
        Grant::Owner => facts.owner == Some(actor),
        Grant::Assigned => facts.assignee == Some(actor),
        Grant::OnSelf => facts.employee == Some(actor),
        Grant::NotSelf => facts.employee.is_some_and(|e| e != actor),
    }
}

/// Whether an employee with `role` and id `actor` may run `action` on a target described by
/// `facts`; the refusal says why (exit 4).
pub fn check(role: Role, actor: i64, action: Action, facts: Facts) -> Result<()> {
    let grant = action.grant_for(role);
    if allows(grant, actor, facts) {
        return Ok(());
    }
    let or_manager =
        if action.grant_for(Role::Management) == Grant::Yes { " or a manager" } else { "" };
    let why = match grant {
        Grant::Owner => format!("only the client's sales contact{or_manager} may do this"),
        Grant::Assigned => format!("only the event's support contact{or_manager} may do this"),
        Grant::OnSelf => "you may only do this for your own account".to_owned(),
        Grant::NotSelf => "you cannot do this to your own account".to_owned(),
        Grant::No | Grant::Yes => {
            let allowed: Vec<&str> = Role::ALL
                .into_iter()
                .filter(|r| action.grant_for(*r) != Grant::No)
                .map(Role::as_str)
                .collect();
            format!("`{}` is for {} only", action.command(), allowed.join(" and "))
        }
    };
    Err(Error::forbidden(format!("permission denied: {why}")))
}

/// Who may run `action`, in one line (`MANAGEMENT; SALES if sales contact of the client`),
/// for the command's `--help`.
pub fn who_may(action: Action) -> String {
    let parts: Vec<String> = Role::ALL
        .into_iter()
        .filter_map(|r| match action.grant_for(r) {
            Grant::No => None,
            Grant::Yes => Some(r.as_str().to_owned()),
            g => Some(format!("{} {}", r.as_str(), g.describe())),
        })
        .collect();
    parts.join("; ")
}

/// The action a command line names (`"client update"`), if it is in the table.
pub fn action_for(command: &str) -> Option<Action> {
    Action::ALL.iter().copied().find(|a| a.command() == command)
}

/// The table as Markdown, for `docs/permissions.md`.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Permissions\n\nGenerated from `src/auth/permissions.rs` (the table the guard \
         enforces); `cargo test` fails when this file is out of date. Every active employee \
         may run the read commands; `create-employee` also works without a session while \
         the employee table is empty (bootstrap, MANAGEMENT only).\n\n\
         | command | MANAGEMENT | SALES | SUPPORT |\n| --- | --- | --- | --- |\n",
    );
    for a in Action::ALL {
        let [m, sa, su] = a.grants();
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            a.command(),
            m.describe(),
            sa.describe(),
            su.describe()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_permissions_md_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/permissions.md");
        let want = markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(have == want, "docs/permissions.md is out of date: run UPDATE_DOCS=1 cargo test");
    }

    #[test]
    fn who_may_reads_the_table() {
        assert_eq!(
            who_may(Action::ClientUpdate),
            "MANAGEMENT; SALES if sales contact of the client"
        );
        assert_eq!(who_may(Action::EventList), "MANAGEMENT; SALES; SUPPORT");
        assert_eq!(action_for("contract pay"), Some(Action::ContractPay));
    }

    #[test]
    fn ownership_grants_need_the_fact() {
        assert!(allows(Grant::Owner, 1, Facts { owner: Some(1), ..Default::default() }));
        assert!(!allows(Grant::Owner, 1, Facts { owner: Some(2), ..Default::default() }));
        assert!(!allows(Grant::Owner, 1, Facts::default()));
        assert!(allows(Grant::NotSelf, 1, Facts { employee: Some(2), ..Default::default() }));
        assert!(!allows(Grant::NotSelf, 1, Facts { employee: Some(1), ..Default::default() }));
        assert!(allows(Grant::OnSelf, 1, Facts { employee: Some(1), ..Default::default() }));
    }
}
