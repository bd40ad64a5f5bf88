//! Issue "hardening": throttled logins, the least-privilege application role, timeouts,
//! and hostile input through the binary.

use proptest::prelude::*;

use crate::common::*;

#[test]
fn five_failures_lock_the_email_and_a_success_resets_the_count() {
    let (db, _m) = with_manager();
    let u = db.user();
    for _ in 0..4 {
        u.run_stdin("wrong-password\n", ["login", "mia@example.com"])
            .code(3)
            .stderr_has("invalid email or password");
    }
    // a success before the fifth failure resets the count
    u.login("mia@example.com");
    for _ in 0..5 {
        u.run_stdin("wrong-password\n", ["login", "MIA@example.com"])
            .code(3)
            .stderr_has("invalid email or password");
    }
    // locked: refused without checking the password, even the right one, saying when
    u.run_stdin(&format!("{PASSWORD}\n"), ["login", "mia@example.com"])
        .code(3)
        .stderr_has("too many failed logins")
        .stderr_has("try again in 15 minutes");
    // unknown e-mails are throttled the same way
    for _ in 0..5 {
        u.run_stdin("wrong-password\n", ["login", "ghost@example.com"])
            .code(3)
            .stderr_has("invalid email or password");
    }
    u.run_stdin("wrong-password\n", ["login", "ghost@example.com"]).code(3).stderr_has("too many");
    // the window passes
    db.sql("update login_failures set window_start = now() - interval '16 minutes'");
    u.login("mia@example.com");
    // cleared (the row itself goes with the next pruning)
    assert_eq!(
        db.scalar(
            "select coalesce(sum(failures + pending), 0) from login_failures
             where email_key = 'mia@example.com'"
        ),
        "0"
    );
}

/// The statements of docs/db-setup.sql after its `-- @grants` marker.
fn grants_sql() -> String {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/db-setup.sql")).unwrap();
    doc.split("-- @grants").nth(1).expect("marker in docs/db-setup.sql").to_owned()
}

#[test]
fn everyday_commands_run_under_the_least_privilege_application_role() {
    let c = crm();
    let role = format!("epic_app_{}", &c.db.name[2..14]);
    drop_role_at_exit(&role);
    c.db.sql(&format!(
        "create role {role} login password 'app p@ss:w/rd%';
         grant connect on database {} to {role};
         {}",
        c.db.name,
        grants_sql().replace("epic_app", &role)
    ));
    let app_url = {
        let (scheme, rest) = c.db.url.split_once("://").unwrap();
        let at = rest.find('@').unwrap();
        // spec §8: the password in DATABASE_URL is URL-encoded
        format!("{scheme}://{role}:app%20p%40ss%3Aw%2Frd%25@{}", &rest[at + 1..])
    };
    let mut sam = c.db.user();
    sam.set("DATABASE_URL", &app_url);
    sam.login("sam@example.com");
    sam.run(["client", "create", "App", "Role", "app@example.com"]).ok();
    sam.run(["contract", "pay", "1", "10"]).ok();
    sam.run(["event", "list", "--mine"]).ok();
    sam.run(["refresh-token"]).ok();
    let mut mia = c.db.user();
    mia.set("DATABASE_URL", &app_url);
    mia.login("mia@example.com");
    mia.run(["employee", "deactivate", "4"]).ok();
    mia.run(["audit", "list"]).ok();
    mia.run(["contract", "delete", "1", "--yes"]).code(6);
    // no DDL: migrations are the owner's job
    mia.run(["db", "migrate"]).code(7);
    // the audit trail is append-only by privilege (the trigger aside): INSERT and SELECT only
    let privileges = c.db.scalar(&format!(
        "select string_agg(p, ',' order by p) from unnest(array['SELECT','INSERT','UPDATE','DELETE','TRUNCATE']) p
         where has_table_privilege('{role}', 'audit_log', p)"
    ));
    assert_eq!(privileges, "INSERT,SELECT");
    // and no DDL anywhere
    assert_eq!(
        c.db.scalar(&format!("select has_schema_privilege('{role}', 'public', 'CREATE')")),
        "false"
    );
}

#[test]
fn an_unresponsive_database_is_exit_7_not_a_hang() {
    // a server that accepts the connection and never answers
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let db = TestDb::new();
    let mut u = db.user();
    u.set("DATABASE_URL", &format!("postgres://app:pw@127.0.0.1:{port}/crm"));
    // it gives up on its own (5 s connect timeout): a command that hung would be killed here
    ended_on_its_own(u.spawn(["whoami"]), "whoami hung on a database that never answers")
        .code(7)
        .stderr_has("did not answer");
}

#[test]
fn a_token_directory_others_can_enter_is_closed() {
    let (_db, m) = with_manager();
    let dir = m.token_file().parent().unwrap().to_path_buf();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    m.run(["refresh-token"]).ok();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dir).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700);
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        Just(String::new()),
        Just("'; drop table clients; --".to_owned()),
        Just("line\nbreak".to_owned()),
        Just("\u{202e}gnp.exe".to_owned()),
        Just("-".to_owned()),
        Just("--help".to_owned()),
        "[0-9.,+-]{1,16}",
    ]
}

/// What a hostile value may lead to, by its class, from the rules of spec §4 rather than
/// from the code: a value the shell would pass as an option may show help (0) or be a usage
/// error; a blank one, or one with a control or bidirectional character, is a usage error in
/// a one-line field; anything else may succeed, be invalid, conflict, or name a missing row —
/// but never an internal error (1), a session problem (3) or an unavailable database (7).
fn acceptable(args: &[String], one_line: &[usize]) -> Vec<i32> {
    if args.iter().any(|a| a.starts_with('-') && a.len() > 1) {
        return vec![0, 2];
    }
    let bad = |s: &str| {
        s.trim().is_empty()
            || s.chars().any(|c| {
                c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            })
    };
    if one_line.iter().any(|i| bad(&args[*i])) {
        return vec![2];
    }
    vec![0, 2, 5, 6]
}

/// A fresh database for each case, with Mia (MANAGEMENT), Sam (SALES), Sue (SUPPORT), Sam's
/// client 1 and its signed contract 1, and a session per employee minted directly (fast).
fn hostile_world() -> (TestDb, Vec<User>) {
    use chrono::Utc;
    use epicevents::auth::jwt::TokenKind;
    let db = TestDb::new();
    db.sql(
        "insert into employees (first_name, last_name, email, role, password_hash) values
           ('Mia','M','mia@example.com','MANAGEMENT','x'), ('Sam','S','sam@example.com','SALES','x'),
           ('Sue','S','sue@example.com','SUPPORT','x');
         insert into clients (first_name, last_name, email, sales_contact_id)
           values ('Kevin','Casey','kevin@startup.io', 2);
         insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
           values (1, 2, 1000, 1000, true, now());",
    );
    let users = (1..=3)
        .map(|id| {
            let sid = uuid::Uuid::new_v4();
            db.sql(&format!("insert into sessions (id, employee_id) values ('{sid}', {id})"));
            let u = db.user();
            let jwt = crate::auth::jwt();
            let (a, _) = jwt.issue(TokenKind::Access, id, sid, Utc::now()).unwrap();
            let (r, _) = jwt.issue(TokenKind::Refresh, id, sid, Utc::now()).unwrap();
            crate::auth::write_tokens(&u, &a, &r);
            u
        })
        .collect();
    (db, users)
}

proptest! {
    // failures are kept in tests/it/hardening.proptest-regressions and replayed first
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    /// Whatever is typed, the answer is one of the codes its class allows, and every line of
    /// stderr is an `error:`, a `hint:` or a `warning:` — each case on a fresh database.
    #[test]
    fn hostile_input_gets_a_documented_answer(
        cmd in 0usize..6, a in field(), b in field(), c in field(), d in field()
    ) {
        let (_db, users) = hostile_world();
        let (mia, sam, sue) = (&users[0], &users[1], &users[2]);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let (user, args, one_line): (&User, Vec<String>, Vec<usize>) = match cmd {
            0 => (sam, [s(&["client", "create"]), vec![a, b, c, "--phone".into(), d]].concat(), vec![2, 3, 4]),
            1 => (mia, [s(&["contract", "create", "1"]), vec![a, b]].concat(), vec![]),
            2 => (sam, [s(&["event", "create", "1", "--name"]), vec![a, "--start".into(), b, "--end".into(), c, "--location".into(), d, "--attendees".into(), "3".into()]].concat(), vec![4, 10]),
            3 => (mia, [s(&["employee", "create"]), vec![a, b, c, d, "SALES".into()]].concat(), vec![2, 3]),
            4 => (sue, [s(&["client", "list", "--search"]), vec![a]].concat(), vec![]),
            _ => (mia, [s(&["contract", "pay"]), vec![b, a]].concat(), vec![]),
        };
        if args.iter().any(|s| s.contains('\0')) {
            // the OS cannot pass a NUL inside an argument at all
            return Ok(());
        }
        let want = acceptable(&args, &one_line);
        let r = user.run(&args);
        prop_assert!(want.contains(&r.code), "exit {} (want one of {want:?}) for {args:?}: {}", r.code, r.stderr);
        if r.code != 0 {
            r.clean_failure();
        }
    }
}

#[test]
fn parallel_guesses_cannot_slip_past_the_limit() {
    let (db, _m) = with_manager();
    let u = db.user();
    let children: Vec<_> = (0..12)
        .map(|i| {
            u.command(["login", "mia@example.com", &format!("guess-number-{i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut checked = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(3));
        if String::from_utf8_lossy(&o.stderr).contains("invalid email or password") {
            checked += 1;
        }
    }
    assert!(checked <= 5, "{checked} passwords were checked");
}

// ---- Second round (issue 12) ----

/// A connection as `role` (a role made with the application's grants) to the test database.
fn app_role(c: &Crm) -> (String, String) {
    let role = format!("epic_app_{}", &c.db.name[2..14]);
    drop_role_at_exit(&role);
    c.db.sql(&format!(
        "create role {role} login password 'app-pass';
         grant connect on database {} to {role};
         {}",
        c.db.name,
        grants_sql().replace("epic_app", &role)
    ));
    let (scheme, rest) = c.db.url.split_once("://").unwrap();
    let at = rest.find('@').unwrap();
    (role.clone(), format!("{scheme}://{role}:app-pass@{}", &rest[at + 1..]))
}

#[test]
fn the_audit_trail_refuses_update_delete_and_truncate_through_a_real_connection() {
    use sqlx::Connection;
    let c = crm();
    c.mia.run(["contract", "pay", "1", "10"]).ok();
    let (_role, url) = app_role(&c);
    let before = c.db.scalar("select count(*) from audit_log");
    for (who, url) in [("the application role", url), ("the owner", c.db.url.clone())] {
        for sql in [
            "update audit_log set action = 'forged'",
            "delete from audit_log",
            "truncate audit_log",
        ] {
            let refused: sqlx::Error = c.db.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .unwrap_err()
            });
            let sqlx::Error::Database(db) = &refused else { panic!("{who}: {sql}: {refused}") };
            assert_eq!(db.code().as_deref(), Some("42501"), "{who}: {sql}: {refused}");
        }
    }
    assert_eq!(c.db.scalar("select count(*) from audit_log"), before);
    assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'forged'"), "0");
}

crate::in_every_mode! {
    fn a_deactivation_while_a_write_waits_on_a_lock_stops_it() {
        let c = crm();
        c.mia.add_employee("Max", "max@example.com", "MANAGEMENT");
        let max = c.db.logged_in(6);
        let holder = c.db.hold("select * from contracts where id = 1 for update");
        let pay = max.spawn(["contract", "pay", "1", "10"]);
        c.db.wait_for_lock_waiter();
        // lands while the payment waits (well within its 5 s lock timeout)
        c.mia.run(["employee", "deactivate", "6"]).ok();
        c.db.release(holder);
        Run::from(pay.wait_with_output().unwrap()).code(3).stderr_has("deactivated meanwhile");
        assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "1000.00");
        assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'contract.pay'"), "0");
    }
}

/// `--all` and big pages once ran with no timeout at all; a streamed list now has bounds that
/// suit streaming (15 min for the statement, 5 s for a lock): held off by a lock, it gives up.
#[test]
fn a_streamed_list_keeps_a_bound() {
    let c = crm();
    let holder = c.db.hold("lock table events in access exclusive mode");
    for args in [&["event", "list", "--all"][..], &["event", "list", "--limit", "5000"]] {
        let list = c.mia.spawn(args);
        c.db.wait_for_lock_waiter();
        ended_on_its_own(list, &format!("{args:?} waited past its lock timeout"))
            .code(6)
            .stderr_has("held by another command");
    }
    c.db.release(holder);
    c.mia.run(["event", "list", "--all"]).ok();
}

#[test]
fn a_deactivation_or_demotion_at_a_prompt_stops_the_command() {
    use crate::pty::Pty;
    let c = crm();
    c.mia.add_employee("Max", "max@example.com", "MANAGEMENT");
    let max = c.db.logged_in(6);
    let mia_hash = c.db.scalar("select password_hash from employees where id = 1");
    // Max sets Mia's password; Mia deactivates Max while he types it
    let mut t = Pty::spawn(&max, &["employee", "set-password", "1"], true);
    t.expect("New password:");
    c.mia.run(["employee", "deactivate", "6"]).ok();
    t.type_secret("New password:", "Takeover-pass-1");
    t.type_secret("Repeat the password:", "Takeover-pass-1");
    let (code, out) = t.finish();
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("deactivated meanwhile") || out.contains("revoked"), "{out:?}");
    assert_eq!(c.db.scalar("select password_hash from employees where id = 1"), mia_hash);
    // a manager demoted while the delete question is open: nothing deleted
    c.mia.run(["employee", "reactivate", "6"]).ok();
    let max = c.db.logged_in(6);
    c.sam.run(["client", "create", "Del", "Me", "del@example.com"]).ok();
    let mut t = Pty::spawn(&max, &["client", "delete", "2"], true);
    t.expect("[y/N]");
    c.mia.run(["employee", "update", "6", "--role", "SUPPORT"]).ok();
    t.answer("[y/N]", "y");
    let (code, out) = t.finish();
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("your role changed to SUPPORT meanwhile"), "{out:?}");
    c.mia.run(["client", "show", "2"]).ok();
}

#[test]
fn stored_text_cannot_forge_a_row_a_line_or_an_escape() {
    let c = crm();
    // refused at the door: control characters and bidirectional overrides in one-line fields
    c.sam
        .run(["client", "create", "Eve", "Forger", "eve@x.io", "--company", "Forged\n7 Row"])
        .code(2)
        .stderr_has("single line");
    c.sam.run(["client", "create", "Eve\u{202e}gnp", "Forger", "eve@x.io"]).code(2);
    c.sam.run(["client", "create", "Eve", "Forger", "eve@x.io", "--phone", "01\t02"]).code(2);
    // notes may hold line breaks; shown as indented lines (spec §16), they forge no field
    c.mia.run(["event", "update", "1", "--notes", "Catering at 6\nsupport_contact_id: 6"]).ok();
    let shown = c.mia.run(["event", "show", "1"]).ok().stdout;
    let lines: Vec<&str> = shown.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("notes:")).unwrap();
    assert!(lines[at].ends_with(" Catering at 6"), "{shown}");
    assert!(lines[at + 1].starts_with("  ") && lines[at + 1].ends_with(" support_contact_id: 6"));
    assert_eq!(shown.lines().filter(|l| l.starts_with("support_contact")).count(), 1, "{shown}");
    // values stored by any other means (before these rules, or by SQL) show escaped too
    c.db.sql(
        "update clients set company_name = E'Evil\\n7  Forged Row  ceo@victim.example\\u001b[31m',
                            last_name = E'Casey\\u202e'
         where id = 1",
    );
    let table = c.mia.run(["client", "list"]).ok().stdout;
    assert_eq!(table.lines().count(), 2, "one header, one row: {table}");
    assert!(table.contains("Evil\\n7  Forged Row") && !table.contains('\u{1b}'), "{table:?}");
    assert!(table.contains("Casey\\u{202e}"), "{table:?}");
    // --json keeps the value exact
    let json = c.mia.run(["--json", "client", "show", "1"]).ok().json();
    assert_eq!(json["company_name"], "Evil\n7  Forged Row  ceo@victim.example\u{1b}[31m");
}

#[test]
fn old_login_failures_are_pruned() {
    let (db, _m) = with_manager();
    db.sql(
        "insert into login_failures (email_key, failures, window_start)
         select 'ghost' || i || '@example.com', 3, now() - interval '20 minutes'
         from generate_series(1, 50) i;
         insert into login_failures (email_key, failures, window_start)
         values ('recent@example.com', 2, now() - interval '1 minute')",
    );
    db.user().run_stdin("wrong-password\n", ["login", "someone@example.com"]).code(3);
    assert_eq!(
        db.scalar("select string_agg(email_key, ',' order by email_key) from login_failures"),
        "recent@example.com,someone@example.com"
    );
}

#[test]
fn a_placeholder_or_repeated_secret_is_refused_at_start() {
    let (db, _m) = with_manager();
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    let placeholder =
        example.lines().find_map(|l| l.strip_prefix("EPICCRM_JWT_SECRET=")).unwrap().to_owned();
    for secret in [placeholder.as_str(), &"x".repeat(48)] {
        let mut u = db.user();
        u.set("EPICCRM_JWT_SECRET", secret);
        let r = u.run(["whoami"]).code(7).stderr_has("EPICCRM_JWT_SECRET");
        assert!(!r.stderr.contains(secret), "{}", r.stderr);
    }
}
