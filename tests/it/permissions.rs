//! The permission table, enumerated end to end: every action × every role × owner or not,
//! each in a fresh database, through the real binary. The expected outcome comes from the
//! table itself (`allows`), and `invoke` matches every action without a wildcard, so a new
//! action without a case here does not compile.

use std::os::unix::fs::PermissionsExt;

use chrono::Utc;
use epicevents::auth::jwt::{Jwt, TokenKind};
use epicevents::auth::permissions::{Action, Facts, allows};
use epicevents::config::{Secret, Settings, Source};
use epicevents::domain::{Password, Role};

use crate::common::*;

// Fixture ids.
const MIA: i64 = 1; // MANAGEMENT
const SAM: i64 = 2; // SALES, owner of client 1
const SUE: i64 = 3; // SUPPORT, assigned to event 1
const SID: i64 = 4; // SALES, owns nothing
const UMA: i64 = 5; // SUPPORT, assigned to nothing
const TED: i64 = 6; // SUPPORT, referenced by nothing: a target for employee commands

fn role_of(id: i64) -> Role {
    match id {
        MIA => Role::Management,
        SAM | SID => Role::Sales,
        _ => Role::Support,
    }
}

fn fixture_sql(hash: &str) -> String {
    format!(
        "insert into employees (first_name, last_name, email, role, password_hash) values
           ('Mia','M','mia@example.com','MANAGEMENT','{hash}'),
           ('Sam','S','sam@example.com','SALES','{hash}'),
           ('Sue','S','sue@example.com','SUPPORT','{hash}'),
           ('Sid','S','sid@example.com','SALES','{hash}'),
           ('Uma','U','uma@example.com','SUPPORT','{hash}'),
           ('Ted','T','ted@example.com','SUPPORT','{hash}');
         insert into clients (first_name, last_name, email, sales_contact_id) values
           ('Kevin','Casey','kevin@startup.io', 2), ('Lone','Client','lone@example.com', 2);
         insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at) values
           (1, 2, 1000, 1000, true, now()), (1, 2, 500, 500, false, null), (1, 2, 100, 100, false, null);
         insert into events (contract_id, client_id, name, start_at, end_at, location, attendees, support_contact_id)
           values (1, 1, 'Launch', '2030-06-04 18:00Z', '2030-06-04 23:00Z', 'Paris', 50, 3);"
    )
}

/// The command line of `action`, aimed at the fixture (and at `target` for employee
/// commands), with what it reads on stdin.
fn invoke(action: Action, target: i64) -> (Vec<String>, &'static str) {
    let t = target.to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let args = match action {
        Action::ManagementOnly => v(&["management-only"]),
        Action::EmployeeList => v(&["employee", "list"]),
        Action::EmployeeShow => v(&["employee", "show", &t]),
        Action::EmployeeCreate => {
            v(&["employee", "create", "New", "Person", "new@example.com", PASSWORD, "SUPPORT"])
        }
        Action::EmployeeUpdate => v(&["employee", "update", &t, "--first-name", "Changed"]),
        Action::EmployeeSetPassword => {
            return (v(&["employee", "set-password", &t]), "Another-pass-1\n");
        }
        Action::EmployeeDeactivate => v(&["employee", "deactivate", &t]),
        Action::EmployeeReactivate => v(&["employee", "reactivate", &t]),
        Action::EmployeeDelete => v(&["employee", "delete", &t, "--yes"]),
        Action::ClientList => v(&["client", "list"]),
        Action::ClientListMine => v(&["client", "list", "--mine"]),
        Action::ClientShow => v(&["client", "show", "1"]),
        Action::ClientCreate => v(&["client", "create", "New", "Client", "new-client@example.com"]),
        Action::ClientUpdate => v(&["client", "update", "1", "--phone", "0102030405"]),
        Action::ClientReassign => v(&["client", "reassign", "1", "4"]),
        Action::ClientDelete => v(&["client", "delete", "2", "--yes"]),
        Action::ContractList => v(&["contract", "list"]),
        Action::ContractListMine => v(&["contract", "list", "--mine"]),
        Action::ContractShow => v(&["contract", "show", "1"]),
        Action::ContractCreate => v(&["contract", "create", "1", "250"]),
        Action::ContractUpdate => v(&["contract", "update", "1", "--amount-due", "900"]),
        Action::ContractSign => v(&["contract", "sign", "2"]),
        Action::ContractPay => v(&["contract", "pay", "1", "100"]),
        Action::ContractDelete => v(&["contract", "delete", "3", "--yes"]),
        Action::EventList => v(&["event", "list"]),
        Action::EventListMine => v(&["event", "list", "--mine"]),
        Action::EventShow => v(&["event", "show", "1"]),
        Action::EventCreate => v(&[
            "event",
            "create",
            "1",
            "--name",
            "Gala",
            "--start",
            "2031-01-01 10:00",
            "--end",
            "2031-01-01 12:00",
            "--location",
            "Lyon",
            "--attendees",
            "10",
        ]),
        Action::EventUpdate => v(&["event", "update", "1", "--attendees", "20"]),
        Action::EventAssign => v(&["event", "assign", "1", "5"]),
        Action::EventUnassign => v(&["event", "unassign", "1"]),
        Action::EventDelete => v(&["event", "delete", "1", "--yes"]),
        Action::AuditList => v(&["audit", "list"]),
    };
    (args, "")
}

fn targets_employee(a: Action) -> bool {
    matches!(
        a,
        Action::EmployeeShow
            | Action::EmployeeUpdate
            | Action::EmployeeSetPassword
            | Action::EmployeeDeactivate
            | Action::EmployeeReactivate
            | Action::EmployeeDelete
    )
}

fn is_read(a: Action) -> bool {
    let c = a.command();
    c.ends_with(" list") || c.ends_with(" show") || c.contains("--mine") || c == "management-only"
}

struct Case {
    action: Action,
    actor: i64,
    target: i64,
}

/// Runs one case on `db`, which it first empties: each worker thread has a database of its
/// own and resets it between cases (a fresh database per case would cost far more).
fn run_case(db: &TestDb, case: &Case, hash: &str, jwt: &Jwt) -> Result<(), String> {
    let mut sql = String::from(
        "truncate employees, clients, contracts, events, sessions, refresh_tokens, audit_log \
         restart identity cascade;",
    );
    sql.push_str(&fixture_sql(hash));
    if case.action == Action::EmployeeReactivate && case.target != case.actor {
        sql.push_str(&format!(
            "update employees set is_active = false, deactivated_at = now() where id = {};",
            case.target
        ));
    }
    // a session for the actor, minted the way login does (the guard checks it all)
    let sid = uuid::Uuid::new_v4();
    sql.push_str(&format!(
        "insert into sessions (id, employee_id) values ('{sid}', {});",
        case.actor
    ));
    db.sql(&sql);
    let u = db.user();
    let (access, _) = jwt.issue(TokenKind::Access, case.actor, sid, Utc::now()).unwrap();
    let (refresh, _) = jwt.issue(TokenKind::Refresh, case.actor, sid, Utc::now()).unwrap();
    let dir = u.token_file().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        u.token_file(),
        serde_json::json!({"access": access, "refresh": refresh}).to_string(),
    )
    .unwrap();
    std::fs::set_permissions(u.token_file(), std::fs::Permissions::from_mode(0o600)).unwrap();

    let facts = Facts { owner: Some(SAM), assignee: Some(SUE), employee: Some(case.target) };
    let grant = case.action.grant_for(role_of(case.actor));
    let allowed = allows(grant, case.actor, facts);
    let (args, stdin) = invoke(case.action, case.target);
    let r = u.run_stdin(stdin, &args);
    let want = if allowed { 0 } else { 4 };
    let audit: i64 = db.scalar("select count(*) from audit_log").parse().unwrap();
    let label = format!(
        "{} by {} (id {}) on {} — grant {:?}",
        case.action.command(),
        role_of(case.actor),
        case.actor,
        case.target,
        grant
    );
    if r.code != want {
        return Err(format!("{label}: exit {} (want {want}): {}", r.code, r.stderr.trim()));
    }
    if !allowed && (audit != 0 || !r.stderr.starts_with("error: permission denied")) {
        return Err(format!("{label}: refused but audit={audit} stderr={}", r.stderr.trim()));
    }
    if allowed && !is_read(case.action) && audit != 1 {
        return Err(format!("{label}: allowed write left {audit} audit rows"));
    }
    Ok(())
}

#[test]
fn every_action_for_every_role_and_ownership() {
    let hash = epicevents::auth::password::hash(&Password::parse(PASSWORD).unwrap()).unwrap();
    let jwt = Jwt::new(
        Secret::new(JWT_SECRET),
        &Settings::from_source(&Source::from_pairs(&[])).unwrap(),
    );
    let mut cases = Vec::new();
    for &action in Action::ALL {
        for actor in [MIA, SAM, SID, SUE, UMA] {
            let targets: Vec<i64> =
                if targets_employee(action) { vec![actor, TED] } else { vec![TED] };
            for target in targets {
                cases.push(Case { action, actor, target });
            }
        }
    }
    let total = cases.len();
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let db = TestDb::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(case) = cases.get(i) else { break };
                    if let Err(e) = run_case(&db, case, &hash, &jwt) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {total} permission cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // each allowed and each refused outcome is exercised for every role that has one
    eprintln!("{total} permission cases passed");
    assert!(total >= 150, "{total}");
}
