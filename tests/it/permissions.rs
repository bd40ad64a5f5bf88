//! The permission table, enumerated end to end: every command × every role × owner or not,
//! through the real binary — directly, through a server and through PgBouncer. The expected
//! outcome comes from `SPEC`, a copy of spec §4's table written by hand, not from the code's
//! table: a wrong grant in `src/auth/permissions.rs` fails here.

use chrono::Utc;
use epicevents::auth::jwt::{Jwt, TokenKind};
use epicevents::config::{Secret, Settings, Source};

use crate::auth::write_tokens;
use crate::common::*;

// Fixture ids.
const MIA: i64 = 1; // MANAGEMENT
const SAM: i64 = 2; // SALES, owner of client 1
const SUE: i64 = 3; // SUPPORT, assigned to event 1
const SID: i64 = 4; // SALES, owns nothing
const UMA: i64 = 5; // SUPPORT, assigned to nothing
const TED: i64 = 6; // SUPPORT, referenced by nothing: a target for employee commands

/// Who may run a command, as spec §4 says it.
#[derive(Clone, Copy, Debug)]
enum May {
    /// yes
    Y,
    /// no
    N,
    /// the client's sales contact only
    Owner,
    /// the event's support contact only
    Assigned,
    /// on their own employee record only
    OwnRecord,
    /// on any employee record but their own
    NotOwnRecord,
}
use May::*;

/// Spec §4, by hand: command → [MANAGEMENT, SALES, SUPPORT].
const SPEC: &[(&str, [May; 3])] = &[
    ("management-only", [Y, N, N]),
    ("employee list", [Y, Y, Y]),
    ("employee show", [Y, Y, Y]),
    ("employee create", [Y, N, N]),
    ("employee update", [Y, N, N]),
    ("employee set-password", [Y, OwnRecord, OwnRecord]),
    ("employee deactivate", [NotOwnRecord, N, N]),
    ("employee reactivate", [NotOwnRecord, N, N]),
    ("employee delete", [NotOwnRecord, N, N]),
    ("employee unlock", [Y, N, N]),
    ("client list", [Y, Y, Y]),
    ("client list --mine", [N, Y, N]),
    ("client show", [Y, Y, Y]),
    ("client create", [N, Y, N]),
    ("client update", [Y, Owner, N]),
    ("client reassign", [Y, N, N]),
    ("client delete", [Y, N, N]),
    ("contract list", [Y, Y, Y]),
    ("contract list --mine", [N, Y, N]),
    ("contract show", [Y, Y, Y]),
    ("contract create", [Y, N, N]),
    ("contract update", [Y, Owner, N]),
    ("contract sign", [Y, Owner, N]),
    ("contract pay", [Y, Owner, N]),
    ("contract delete", [Y, N, N]),
    ("contract payments", [Y, Y, Y]),
    ("event list", [Y, Y, Y]),
    ("event list --mine", [N, Y, Y]),
    ("event show", [Y, Y, Y]),
    ("event create", [N, Owner, N]),
    ("event update", [Y, N, Assigned]),
    ("event assign", [Y, N, N]),
    ("event unassign", [Y, N, N]),
    ("event delete", [Y, N, N]),
    ("audit list", [Y, N, N]),
];

fn role_index(id: i64) -> usize {
    match id {
        MIA => 0,
        SAM | SID => 1,
        _ => 2,
    }
}

fn role_name(id: i64) -> &'static str {
    ["MANAGEMENT", "SALES", "SUPPORT"][role_index(id)]
}

/// What spec §4 says of `actor` running `command` on the fixture (client 1 is Sam's, event 1
/// is Sue's) and, for employee commands, on `target`.
fn expected(command: &str, actor: i64, target: i64) -> bool {
    let (_, may) = SPEC.iter().find(|(c, _)| *c == command).expect("in SPEC");
    match may[role_index(actor)] {
        Y => true,
        N => false,
        Owner => actor == SAM,
        Assigned => actor == SUE,
        OwnRecord => actor == target,
        NotOwnRecord => actor != target,
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

/// The command line of `command`, aimed at the fixture (and at `target` for employee
/// commands), with what it reads on stdin (`actor` changing their own password gives the
/// current one first).
fn invoke(command: &str, actor: i64, target: i64) -> (Vec<String>, String) {
    let t = target.to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let args = match command {
        "management-only" => v(&["management-only"]),
        "employee list" => v(&["employee", "list"]),
        "employee show" => v(&["employee", "show", &t]),
        "employee create" => {
            v(&["employee", "create", "New", "Person", "new@example.com", "-", "SUPPORT"])
        }
        "employee update" => v(&["employee", "update", &t, "--first-name", "Changed"]),
        "employee set-password" => v(&["employee", "set-password", &t]),
        "employee deactivate" => v(&["employee", "deactivate", &t]),
        "employee reactivate" => v(&["employee", "reactivate", &t]),
        "employee delete" => v(&["employee", "delete", &t, "--yes"]),
        "employee unlock" => v(&["employee", "unlock", &t]),
        "client list" => v(&["client", "list"]),
        "client list --mine" => v(&["client", "list", "--mine"]),
        "client show" => v(&["client", "show", "1"]),
        "client create" => v(&["client", "create", "New", "Client", "new-client@example.com"]),
        "client update" => v(&["client", "update", "1", "--phone", "0102030405"]),
        "client reassign" => v(&["client", "reassign", "1", "4"]),
        "client delete" => v(&["client", "delete", "2", "--yes"]),
        "contract list" => v(&["contract", "list"]),
        "contract list --mine" => v(&["contract", "list", "--mine"]),
        "contract show" => v(&["contract", "show", "1"]),
        "contract create" => v(&["contract", "create", "1", "250"]),
        "contract update" => v(&["contract", "update", "1", "--amount-due", "900"]),
        "contract sign" => v(&["contract", "sign", "2"]),
        "contract pay" => v(&["contract", "pay", "1", "100"]),
        "contract delete" => v(&["contract", "delete", "3", "--yes"]),
        "contract payments" => v(&["contract", "payments", "1"]),
        "event list" => v(&["event", "list"]),
        "event list --mine" => v(&["event", "list", "--mine"]),
        "event show" => v(&["event", "show", "1"]),
        "event create" => v(&[
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
        "event update" => v(&["event", "update", "1", "--attendees", "20"]),
        "event assign" => v(&["event", "assign", "1", "5"]),
        "event unassign" => v(&["event", "unassign", "1"]),
        "event delete" => v(&["event", "delete", "1", "--yes"]),
        "audit list" => v(&["audit", "list"]),
        other => panic!("no command line for {other}"),
    };
    let stdin = match command {
        "employee create" => "Another-pass-1\n".to_owned(),
        "employee set-password" if actor == target => format!("{PASSWORD}\nAnother-pass-1\n"),
        "employee set-password" => "Another-pass-1\n".to_owned(),
        _ => String::new(),
    };
    (args, stdin)
}

fn targets_employee(command: &str) -> bool {
    command.starts_with("employee ") && !matches!(command, "employee list" | "employee create")
}

fn is_read(command: &str) -> bool {
    command.ends_with(" list")
        || command.ends_with(" show")
        || command == "contract payments"
        || command.contains("--mine")
        || command == "management-only"
}

struct Case {
    command: &'static str,
    actor: i64,
    target: i64,
}

/// Runs one case on `db`, which it first empties: each worker thread has a database of its
/// own and resets it between cases (a fresh database per case would cost far more).
fn run_case(db: &DbSession, u: &User, case: &Case, hash: &str, jwt: &Jwt) -> Result<(), String> {
    let mut sql = String::from(
        "truncate employees, clients, contracts, events, sessions, refresh_tokens, login_failures \
         restart identity cascade;",
    );
    sql.push_str(&fixture_sql(hash));
    if case.command == "employee reactivate" && case.target != case.actor {
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
    let audit_before: i64 = db.scalar("select count(*) from audit_log").parse().unwrap();
    db.sql(&sql);
    let (access, _) = jwt.issue(TokenKind::Access, case.actor, sid, Utc::now()).unwrap();
    let (refresh, _) = jwt.issue(TokenKind::Refresh, case.actor, sid, Utc::now()).unwrap();
    write_tokens(u, &access, &refresh);

    let allowed = expected(case.command, case.actor, case.target);
    let (args, stdin) = invoke(case.command, case.actor, case.target);
    let r = u.run_stdin(&stdin, &args);
    let want = if allowed { 0 } else { 4 };
    let audit: i64 =
        db.scalar("select count(*) from audit_log").parse::<i64>().unwrap() - audit_before;
    let label = format!(
        "{} by {} (id {}) on {}",
        case.command,
        role_name(case.actor),
        case.actor,
        case.target
    );
    if r.code != want {
        return Err(format!("{label}: exit {} (want {want}): {}", r.code, r.stderr.trim()));
    }
    if !allowed {
        // refused before anything is asked or written, in one clean line
        let lines: Vec<&str> = r.stderr.lines().collect();
        if audit != 0 || lines.len() != 1 || !lines[0].starts_with("error: permission denied") {
            return Err(format!("{label}: refused but audit={audit} stderr={}", r.stderr.trim()));
        }
    }
    if allowed && !is_read(case.command) && audit != 1 {
        return Err(format!("{label}: allowed write left {audit} audit rows"));
    }
    Ok(())
}

/// The code's table names the same commands as the copy of the spec (a new command must be
/// added to both).
#[test]
fn the_spec_copy_and_the_code_name_the_same_commands() {
    let code: Vec<&str> =
        epicevents::auth::permissions::Action::ALL.iter().map(|a| a.command()).collect();
    let spec: Vec<&str> = SPEC.iter().map(|(c, _)| *c).collect();
    assert_eq!(code, spec);
}

fn enumerate() {
    let hash = password_hash().to_owned();
    let jwt = Jwt::new(
        Secret::new(JWT_SECRET),
        &Settings::from_source(&Source::from_pairs(&[])).unwrap(),
    );
    let mut cases = Vec::new();
    for (command, _) in SPEC {
        for actor in [MIA, SAM, SID, SUE, UMA] {
            let targets: Vec<i64> =
                if targets_employee(command) { vec![actor, TED] } else { vec![TED] };
            for target in targets {
                cases.push(Case { command, actor, target });
            }
        }
    }
    let total = cases.len();
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let m = mode();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                in_mode(m, || {
                    let db = TestDb::new();
                    let (session, u) = (db.session(), db.user());
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(case) = cases.get(i) else { break };
                        if let Err(e) = run_case(&session, &u, case, &hash, &jwt) {
                            failures.lock().unwrap().push(e);
                        }
                    }
                })
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
    assert_eq!(total, 210);
}

crate::in_every_mode! {
    fn every_command_for_every_role_and_ownership() {
        enumerate();
    }
}

/// The refusals nothing else covers, by hand.
#[test]
fn refusals_covered_nowhere_else() {
    let c = crm();
    c.sam.run(["event", "unassign", "1"]).code(4).stderr_has("MANAGEMENT only");
    c.sue.run(["event", "unassign", "1"]).code(4);
    c.sue.run(["contract", "update", "1", "--total", "2000"]).code(4);
    c.sue.run(["client", "reassign", "1", "4"]).code(4).stderr_has("MANAGEMENT only");
    c.mia.run(["employee", "deactivate", "4"]).ok();
    c.sam.run(["employee", "reactivate", "4"]).code(4).stderr_has("MANAGEMENT only");
    assert_eq!(c.db.scalar("select is_active from employees where id = 4"), "false");
}
