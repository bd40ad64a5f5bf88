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
    assert_eq!(
        db.scalar("select count(*) from login_failures where email_key = 'mia@example.com'"),
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
    let mut child = u.spawn(["whoami"]);
    let ended = wait_for(|| child.try_wait().unwrap().is_some());
    if !ended {
        let _ = child.kill();
    }
    assert!(ended, "whoami hung on a database that never answers");
    Run::from(child.wait_with_output().unwrap()).code(7).stderr_has("did not answer");
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
        cases: 24,
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
