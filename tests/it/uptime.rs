//! Spec §15, a server that stays up for everyone: fair use of the pool, exactly-once writes
//! (`Idempotency-Key`), faults (PostgreSQL restarted, down, not answering; SIGTERM), logins
//! (parallel, lockouts lifted, audited), bad input, and `/metrics`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;
use crate::proxy::{Fault, Proxy};
use crate::server::{access_token, api, http, in_direct, login_body, server_of};

/// `count` more employees (about 300 bytes of JSON each): 30,000 make 9 MB, more than the
/// socket buffers and the server's own hold, so that a reader that stops stalls the list.
fn many_employees(db: &TestDb, count: u32) {
    db.sql(&format!(
        "insert into employees (first_name, last_name, email, role, password_hash)
         select 'Employee ' || i, repeat('x', 150), 'e' || i || '@example.com', 'SUPPORT', 'x'
         from generate_series(1, {count}) i"
    ));
}

/// Asks for every employee on a connection of its own and reads only the answer's status:
/// a reader that stops reading.
fn stalled_list(port: u16, token: &str) -> (u16, TcpStream) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(
        format!(
            "GET /v1/employees?all=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    let status = String::from_utf8_lossy(&head[9..12]).parse().unwrap();
    (status, s)
}

fn healthz(port: u16) -> u16 {
    http(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").0
}

// ---- 1. Fair use ----

#[test]
fn stalled_lists_of_one_employee_leave_the_server_to_everyone_else() {
    let (db, _m) = in_direct(with_manager);
    db.employees(&[("Sam", "sam@example.com", "SALES")]);
    many_employees(&db, 30_000);
    // the default pool (10) and the default stall bound (5 s)
    let server = server_of(&db, &[]);
    let sam = db.logged_in_at(&server.url(), 2);
    let mia = db.logged_in_at(&server.url(), 1);
    let token = access_token(&sam);
    // ten lists asked for, none read
    let (statuses, stalled): (Vec<u16>, Vec<TcpStream>) =
        (0..10).map(|_| stalled_list(server.port, &token)).unzip();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 8, "{statuses:?}");
    // everyone else is served at once, and the server stays in the load balancer
    let started = Instant::now();
    mia.run(["whoami"]).ok();
    assert!(started.elapsed() < Duration::from_secs(2), "whoami took {:?}", started.elapsed());
    assert_eq!(healthz(server.port), 200);
    // Sam is told to wait (exit 6)...
    sam.run(["employee", "list", "--limit", "1"])
        .code(6)
        .stderr_has("2 lists streaming")
        .stderr_has("hint: wait");
    // ... until his stalled readers, making no progress, lose their streams
    assert!(
        wait_for(|| sam.run(["employee", "list", "--limit", "1"]).code == 0),
        "the stalled lists were never cut: {}",
        server.log()
    );
    drop(stalled);
}

#[test]
fn a_bad_token_is_refused_without_waiting_for_a_connection() {
    let (db, _m) = in_direct(with_manager);
    many_employees(&db, 30_000);
    let server = server_of(&db, &[("EPICCRM_DB_POOL", "1"), ("EPICCRM_STREAM_IDLE_SECS", "30")]);
    let token = access_token(&db.logged_in_at(&server.url(), 1));
    // the pool's only connection, held by a list nobody reads
    let (status, stalled) = stalled_list(server.port, &token);
    assert_eq!(status, 200);
    let started = Instant::now();
    let (status, e) = api(server.port, "GET", "/v1/me", Some("not.a.token"), "");
    assert_eq!((status, e["kind"].as_str()), (401, Some("unauthenticated")), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // and the health check does not wait for the pool either
    assert_eq!(healthz(server.port), 200);
    drop(stalled);
}

// ---- 2. Exactly once ----

/// A raw request with a bearer token and an `Idempotency-Key`: status, JSON body, and
/// whether the server said it replayed a kept answer.
fn keyed(port: u16, token: &str, key: &str, path: &str, body: &str) -> (u16, Value, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Idempotency-Key: {key}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let replayed = head.to_ascii_lowercase().contains("idempotent-replayed: true");
    (status, serde_json::from_str(body).unwrap_or(Value::Null), replayed)
}

#[test]
fn a_lost_answer_is_asked_again_and_the_payment_is_made_once() {
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let proxy = Proxy::to(server.port);
    proxy.set(Fault::DropAnswer { needle: b"POST /v1/contracts/1/payments".to_vec(), times: 1 });
    let mia = c.db.logged_in_at(&proxy.url(), 1);
    let r = mia.run(["--json", "contract", "pay", "1", "100"]).ok();
    assert_eq!(r.json()["amount_due"], "900.00");
    assert_eq!(proxy.dropped(), 1, "the answer was not lost");
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "900.00");
    assert_eq!(c.db.scalar("select count(*) from audit_log where action = 'contract.pay'"), "1");
    // asked twice with one key: the second got the first's answer
    assert!(
        wait_for(|| server.log().matches("POST /v1/contracts/1/payments 200").count() == 2),
        "{}",
        server.log()
    );
    assert_eq!(c.db.scalar("select count(*) from idempotency_keys"), "1");
}

#[test]
fn an_answer_lost_for_good_says_the_payment_may_have_been_applied_and_how_to_check() {
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let proxy = Proxy::to(server.port);
    proxy.set(Fault::DropAnswer { needle: b"POST /v1/contracts/1/payments".to_vec(), times: 1000 });
    let mia = c.db.logged_in_at(&proxy.url(), 1);
    let started = Instant::now();
    mia.run(["contract", "pay", "1", "100"])
        .code(7)
        .stderr_has("may have been applied")
        .stderr_has("epicevents contract show 1");
    let took = started.elapsed();
    assert!(took > Duration::from_secs(5) && took < Duration::from_secs(30), "{took:?}");
    assert!(proxy.dropped() >= 3, "asked only {} times", proxy.dropped());
    // applied once, however often it was asked
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "900.00");
    // a create names the list to look in
    proxy.set(Fault::DropAnswer { needle: b"POST /v1/contracts ".to_vec(), times: 1000 });
    mia.run(["contract", "create", "1", "50"])
        .code(7)
        .stderr_has("may have been applied")
        .stderr_has("epicevents contract list");
}

/// `contract pay 1 100`, whose one lost answer leaves its outcome unknown to the CLI: exit 7,
/// "may have been applied" and how to check; applied once.
fn paid_once_with_its_outcome_unknown(mia: &User, db: &TestDb, proxy: &Proxy) {
    mia.run(["contract", "pay", "1", "100"])
        .code(7)
        .stderr_has("may have been applied")
        .stderr_has("epicevents contract show 1");
    assert_eq!(proxy.dropped(), 1);
    assert_eq!(db.scalar("select amount_due from contracts where id = 1"), "900.00");
}

#[test]
fn a_lost_answer_then_503s_still_says_the_payment_may_have_been_applied() {
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let proxy = Proxy::to(server.port);
    // the first attempt is applied and its answer lost; every later one meets a server whose
    // database is down (503): those changed nothing, but the first may have
    proxy.set(Fault::LoseThenUnavailable { needle: b"POST /v1/contracts/1/payments".to_vec() });
    let mia = c.db.logged_in_at(&proxy.url(), 1);
    paid_once_with_its_outcome_unknown(&mia, &c.db, &proxy);
}

#[test]
fn a_key_replays_its_first_answer_refuses_another_request_and_belongs_to_its_employee() {
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let (mia, sam) = (c.db.logged_in_at(&server.url(), 1), c.db.logged_in_at(&server.url(), 2));
    let (mia, sam) = (access_token(&mia), access_token(&sam));
    let pay = |token: &str, key: &str, amount: &str| {
        keyed(
            server.port,
            token,
            key,
            "/v1/contracts/1/payments",
            &json!({ "amount": amount }).to_string(),
        )
    };
    let (status, first, replayed) = pay(&mia, "key-1", "100");
    assert_eq!((status, replayed), (200, false), "{first}");
    // the same again: the first answer, nothing paid
    let (status, again, replayed) = pay(&mia, "key-1", "100");
    assert_eq!((status, replayed), (200, true));
    assert_eq!(again, first);
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "900.00");
    // the same key with another request
    let (status, e, _) = pay(&mia, "key-1", "200");
    assert_eq!((status, e["kind"].as_str()), (422, Some("idempotency_mismatch")), "{e}");
    // a refusal is kept and replayed too (every answer but a 5xx)
    let (status, e, _) = pay(&mia, "key-2", "5000");
    assert_eq!(status, 409, "{e}");
    let (status, _, replayed) = pay(&mia, "key-2", "5000");
    assert_eq!((status, replayed), (409, true));
    // keys are per employee: Sam's "key-1" is his own
    let (status, e, replayed) = pay(&sam, "key-1", "100");
    assert_eq!((status, replayed), (200, false), "{e}");
    assert_eq!(e["amount_due"], "800.00");
    // a bad key is a usage error
    let (status, _, _) = pay(&mia, &"k".repeat(300), "1");
    assert_eq!(status, 400);
}

#[test]
fn the_server_forgets_keys_after_24_hours() {
    let (db, _m) = in_direct(with_manager);
    db.sql(
        "insert into idempotency_keys (employee_id, key, fingerprint, status, body, created_at)
         values (1, 'old', '\\x00', 200, '\\x7b7d', now() - interval '25 hours'),
                (1, 'recent', '\\x00', 200, '\\x7b7d', now() - interval '23 hours')",
    );
    let _server = server_of(&db, &[]);
    assert!(
        wait_for(|| db.scalar("select string_agg(key, ',') from idempotency_keys") == "recent"),
        "{}",
        db.scalar("select string_agg(key, ',') from idempotency_keys")
    );
}

#[test]
fn a_direct_write_whose_commit_answer_is_lost_says_it_may_have_been_applied() {
    let c = in_direct(crm);
    let opts: sqlx::postgres::PgConnectOptions = c.db.url.parse().unwrap();
    let proxy = Proxy::to(opts.get_port());
    let mut mia = c.db.logged_in(1);
    let proxied = c.db.url.replace(&format!(":{}/", opts.get_port()), &format!(":{}/", proxy.port));
    mia.set("DATABASE_URL", &proxied);
    // another port is another place, with a session of its own (spec §16): the same one here
    let scope = epicevents::auth::store::Scope::of_database_url(&proxied);
    std::fs::copy(mia.token_file(), mia.token_file().with_file_name(scope.file_name())).unwrap();
    proxy.set(Fault::DropAnswer { needle: b"COMMIT".to_vec(), times: 1 });
    paid_once_with_its_outcome_unknown(&mia, &c.db, &proxy);
}

// ---- 3. Faults ----

/// A server on a PostgreSQL of the test's own, its manager (Mia, id 1) logged in there.
fn server_on_own_postgres() -> (OwnPostgres, ServerProc, User) {
    let pg = OwnPostgres::start();
    pg.sql(&format!(
        "insert into employees (first_name, last_name, email, role, password_hash)
         values ('Mia', 'Test', 'mia@example.com', 'MANAGEMENT', '{}')",
        password_hash()
    ));
    let server = ServerProc::start(&[
        ("DATABASE_URL".into(), pg.url.clone()),
        ("EPICCRM_JWT_SECRET".into(), JWT_SECRET.into()),
    ]);
    let u = User::of_server(&server.url());
    u.login("mia@example.com");
    (pg, server, u)
}

#[test]
fn after_postgresql_restarts_the_first_requests_succeed() {
    let (pg, _server, u) = server_on_own_postgres();
    // several connections in the pool
    let kids: Vec<_> = (0..6).map(|_| u.spawn(["whoami"])).collect();
    for k in kids {
        Run::from(k.wait_with_output().unwrap()).ok();
    }
    // "terminating connection due to administrator command" for every one of them
    pg.stop(false);
    pg.start_again();
    for i in 0..6 {
        u.run(["whoami"]).ok();
        u.run(["employee", "update", "1", "--last-name", &format!("Test{i}")]).ok();
    }
}

#[test]
fn with_the_database_down_requests_fail_within_5_seconds() {
    let (pg, server, u) = server_on_own_postgres();
    let token = access_token(&u);
    u.run(["whoami"]).ok();
    // cleanly (a throwaway cluster does not sync: stopped at once, it would lose the session)
    pg.stop(false);
    let started = Instant::now();
    let (status, e) = api(server.port, "GET", "/v1/me", Some(&token), "");
    let took = started.elapsed();
    assert_eq!((status, e["kind"].as_str()), (503, Some("unavailable")), "{e}");
    assert!(took <= Duration::from_secs(5), "{took:?}");
    let started = Instant::now();
    u.run(["whoami"]).code(7);
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    assert_eq!(healthz(server.port), 503);
    pg.start_again();
    assert!(wait_for(|| u.run(["whoami"]).code == 0), "{:?} {}", u.run(["whoami"]), server.log());
    // (a probe is good for a second)
    assert!(wait_for(|| healthz(server.port) == 200));
}

#[test]
fn with_the_database_not_answering_at_all_requests_fail_within_5_seconds() {
    let (db, _m) = in_direct(with_manager);
    let opts: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
    let proxy = Proxy::to(opts.get_port());
    let url = db.url.replace(&format!(":{}/", opts.get_port()), &format!(":{}/", proxy.port));
    let server = ServerProc::start(&[
        ("DATABASE_URL".into(), url),
        ("EPICCRM_JWT_SECRET".into(), JWT_SECRET.into()),
    ]);
    let token = access_token(&db.logged_in_at(&server.url(), 1));
    assert_eq!(api(server.port, "GET", "/v1/me", Some(&token), "").0, 200);
    proxy.set(Fault::BlackHole);
    let started = Instant::now();
    let (status, e) = api(server.port, "GET", "/v1/me", Some(&token), "");
    let took = started.elapsed();
    assert_eq!((status, e["kind"].as_str()), (503, Some("unavailable")), "{e}");
    assert!(took <= Duration::from_secs(5), "{took:?} {e} {}", server.log());
    assert_eq!(healthz(server.port), 503);
    proxy.set(Fault::None);
    assert!(wait_for(|| api(server.port, "GET", "/v1/me", Some(&token), "").0 == 200));
}

#[test]
fn sigterm_exits_within_11_seconds_even_with_a_stalled_list() {
    let (db, _m) = in_direct(with_manager);
    many_employees(&db, 30_000);
    // a stall bound longer than the drain: the stop itself must cut the stream
    let mut server = server_of(&db, &[("EPICCRM_STREAM_IDLE_SECS", "60")]);
    let token = access_token(&db.logged_in_at(&server.url(), 1));
    let (status, stalled) = stalled_list(server.port, &token);
    assert_eq!(status, 200);
    server.terminate();
    let started = Instant::now();
    assert!(wait_for(|| server.child.try_wait().unwrap().is_some()), "the server did not stop");
    let took = started.elapsed();
    assert_eq!(server.child.wait().unwrap().code(), Some(0), "{}", server.log());
    assert!(took < Duration::from_secs(11), "stopped after {took:?}");
    drop(stalled);
}

// ---- 4. Logins ----

#[test]
fn parallel_correct_logins_of_one_account_all_succeed_and_count_nothing() {
    let (db, _m) = in_direct(with_manager);
    let server = server_of(&db, &[]);
    let port = server.port;
    let answers: Vec<(u16, String)> = (0..30)
        .map(|_| std::thread::spawn(move || http(port, &login_body("mia@example.com", PASSWORD))))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let refused: Vec<&(u16, String)> = answers.iter().filter(|(s, _)| *s != 200).collect();
    assert!(refused.is_empty(), "{} of 30 refused: {refused:?}", refused.len());
    for table in ["login_failures", "login_failures_by_source"] {
        let sql = format!("select coalesce(sum(failures + pending), 0) from {table}");
        assert_eq!(db.scalar(&sql), "0", "{table}");
    }
    // directly too (counted per e-mail only), from eight terminals
    let terminals: Vec<User> = (0..8).map(|_| db.user()).collect();
    let kids: Vec<_> = terminals
        .iter()
        .map(|u| {
            let mut c = u.command(["login", "mia@example.com", PASSWORD]);
            c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for k in kids {
        let r = Run::from(k.wait_with_output().unwrap());
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
}

crate::in_every_mode! {
    fn a_manager_lifts_a_lockout_with_unlock_or_a_new_password() {
        let c = crm();
        let terminal = c.db.user();
        let lock_sam = || {
            for _ in 0..5 {
                terminal.run_stdin("wrong-password\n", ["login", "sam@example.com"]).code(3);
            }
            terminal
                .run_stdin(&format!("{PASSWORD}\n"), ["login", "sam@example.com"])
                .code(3)
                .stderr_has("too many failed logins");
        };
        lock_sam();
        c.mia.run(["employee", "unlock", "2"]).ok().stdout_has("Employee 2 unlocked");
        terminal.login("sam@example.com");
        // not locked: nothing to lift, and that is fine
        let r = c.mia.run(["--json", "employee", "unlock", "2"]).ok();
        assert_eq!(r.json(), json!({ "id": 2, "was_locked": false }));
        c.mia.run(["employee", "unlock", "2"]).ok().stdout_has("was not locked out");
        // a password set by a manager lifts it too
        lock_sam();
        c.mia.run_stdin("Brand-new-pass-1\n", ["employee", "set-password", "2"]).ok();
        terminal.run_stdin("Brand-new-pass-1\n", ["login", "sam@example.com"]).ok();
        c.sid.run(["employee", "unlock", "4"]).code(4);
        c.mia.run(["employee", "unlock", "99"]).code(5);
    }

    fn failed_logins_lockouts_logins_and_logouts_are_in_the_audit_trail() {
        let c = crm();
        let terminal = c.db.user();
        for _ in 0..5 {
            terminal.run_stdin("wrong-password\n", ["login", "sam@example.com"]).code(3);
        }
        terminal.run_stdin("wrong-password\n", ["login", "nobody@example.com"]).code(3);
        c.mia.run(["employee", "unlock", "2"]).ok();
        terminal.login("sam@example.com");
        terminal.run(["logout"]).ok();
        let rows = c.mia.run(["--json", "audit", "list"]).ok().json();
        let of = |action: &str| -> Vec<Value> {
            rows.as_array().unwrap().iter().filter(|r| r["action"] == action).cloned().collect()
        };
        let source = if mode() == Mode::Server { json!("127.0.0.1") } else { Value::Null };
        let failed = of("session.login_failed");
        assert_eq!(failed.len(), 6, "{rows}");
        let unknown: Vec<&Value> = failed.iter().filter(|r| r["entity"].is_null()).collect();
        assert_eq!(unknown.len(), 1, "{failed:?}");
        assert!(unknown[0]["entity_id"].is_null());
        for r in failed.iter().filter(|r| !r["entity"].is_null()) {
            assert_eq!((&r["entity"], &r["entity_id"]), (&json!("employee"), &json!(2)), "{r}");
            assert_eq!(r["changes"]["source"], source, "{r}");
            assert!(r["actor_id"].is_null(), "a failure is no one's act: {r}");
        }
        let lockout = of("session.lockout");
        assert_eq!(lockout.len(), 1, "{rows}");
        assert_eq!(lockout[0]["entity_id"], 2);
        let login = of("session.login");
        assert_eq!((login.len(), &login[0]["actor_id"]), (1, &json!(2)), "{rows}");
        assert_eq!(login[0]["changes"]["source"], source);
        let logout = of("session.logout");
        assert_eq!((logout.len(), &logout[0]["actor_id"]), (1, &json!(2)), "{rows}");
        assert_eq!(of("employee.unlock")[0]["changes"]["was_locked"], true);
        // and for people: the session events read as the others do
        c.mia.run(["audit", "list"]).ok().stdout_has("session.lockout").stdout_has("employee 2");
    }

    fn line_and_paragraph_separators_and_nel_are_refused_in_one_line_fields() {
        let c = crm();
        for sep in ['\u{2028}', '\u{2029}', '\u{85}'] {
            c.sam
                .run(["client", "create", &format!("Ann{sep}Lee"), "Lee", "ann@example.com"])
                .code(2)
                .stderr_has("single line");
            c.sam
                .run(["client", "update", "1", "--company", &format!("Acme{sep}Forged")])
                .code(2);
        }
        assert_eq!(c.db.scalar("select count(*) from clients"), "1");
    }
}

// ---- 5. Bad input ----

#[test]
fn a_nul_anywhere_is_a_400_with_a_json_body_never_a_500() {
    let (_db, server, token) = crate::server::manager_on_a_server();
    let get = |path: &str| {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        let (status, body) = http(server.port, req.as_bytes());
        (status, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
    };
    for path in ["/v1/clients?search=%00", "/v1/clients?search=a%00b", "/v1/events?limit=1%00"] {
        let (status, e) = get(path);
        assert_eq!((status, e["kind"].as_str()), (400, Some("usage")), "{path}: {e}");
    }
    let (status, e) = get("/v1/clients?search=%00");
    assert!(e["message"].as_str().unwrap().contains("NUL"), "{e}");
    assert_eq!(status, 400);
    for (method, path, body) in [
        (
            "POST",
            "/v1/employees",
            r#"{"first_name":"A\u0000","last_name":"B","email":"a@b.co","role":"SALES","password":"long enough pass"}"#,
        ),
        ("PATCH", "/v1/employees/1", r#"{"first_name":"Mia\u0000"}"#),
        ("POST", "/v1/preflight", r#"{"check":"delete","entity":"client\u0000","id":1}"#),
    ] {
        let (status, e) = api(server.port, method, path, Some(&token), body);
        assert_eq!((status, e["kind"].as_str()), (400, Some("usage")), "{path}: {e}");
    }
    let (status, e) =
        api(server.port, "POST", "/v1/session", None, r#"{"email":"a\u0000@b.co","password":"x"}"#);
    assert_eq!((status, e["kind"].as_str()), (400, Some("usage")), "{e}");
    // the separators through the API as well
    let (status, e) =
        api(server.port, "PATCH", "/v1/employees/1", Some(&token), r#"{"last_name":"A\u2028B"}"#);
    assert_eq!((status, e["kind"].as_str()), (400, Some("usage")), "{e}");
}

// ---- 6. Metrics ----

/// The samples of a text exposition: `name{labels}` → value (comments and `# EOF` left out).
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
            (name.to_owned(), value.parse::<f64>().unwrap_or_else(|_| panic!("value: {l}")))
        })
        .collect()
}

fn sample(all: &[(String, f64)], name: &str) -> f64 {
    all.iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no sample {name} in {all:?}"))
}

#[test]
fn metrics_are_served_on_their_own_address_in_the_prometheus_text_format() {
    let (db, _m) = in_direct(with_manager);
    let server = server_of(&db, &[("EPICCRM_METRICS_LISTEN", "127.0.0.1:0")]);
    let log = server.log();
    let addr = log
        .lines()
        .find_map(|l| l.strip_prefix("epicevents: metrics on http://"))
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no metrics address in {log}"))
        .to_owned();
    let mia = db.logged_in_at(&server.url(), 1);
    mia.run(["whoami"]).ok();
    mia.run(["employee", "show", "1"]).ok();
    mia.run(["employee", "show", "1"]).ok();
    let wrong = User::of_server(&server.url());
    wrong.run_stdin("wrong-password\n", ["login", "mia@example.com"]).code(3);
    let port: u16 = addr.rsplit_once(':').unwrap().1.parse().unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, text) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: application/openmetrics-text"),
        "{head}"
    );
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let all = samples(text);
    // by route template, never by path
    let shows = sample(
        &all,
        r#"epicevents_http_requests_total{method="GET",route="/v1/employees/{id}",status="200"}"#,
    );
    assert_eq!(shows, 2.0);
    assert!(!text.contains("/v1/employees/1\""), "a path as a label: {text}");
    assert!(
        sample(
            &all,
            r#"epicevents_http_requests_total{method="POST",route="/v1/session",status="401"}"#
        ) >= 1.0
    );
    let count = sample(
        &all,
        r#"epicevents_http_request_duration_seconds_count{method="GET",route="/v1/me"}"#,
    );
    assert_eq!(count, 1.0);
    assert!(
        all.iter().any(|(n, _)| n.starts_with("epicevents_http_request_duration_seconds_bucket{"))
    );
    let in_use = sample(&all, r#"epicevents_db_pool_connections{state="in_use"}"#);
    let idle = sample(&all, r#"epicevents_db_pool_connections{state="idle"}"#);
    assert!(in_use >= 0.0 && idle >= 1.0, "in use {in_use}, idle {idle}");
    assert_eq!(sample(&all, "epicevents_db_pool_waiting"), 0.0);
    assert_eq!(sample(&all, "epicevents_streams_open"), 0.0);
    assert_eq!(sample(&all, "epicevents_login_failures_total"), 1.0);
    assert_eq!(sample(&all, "epicevents_login_lockouts_total"), 0.0);
    // the API's own port does not serve it
    let (status, _) =
        http(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 404);
}

// ---- 5b. Any input, every endpoint ----

/// Every endpoint of the API (docs/api.md), as method and route.
const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/v1/session"),
    ("POST", "/v1/session/refresh"),
    ("POST", "/v1/session/logout"),
    ("GET", "/v1/me"),
    ("GET", "/v1/management-only"),
    ("POST", "/v1/preflight"),
    ("GET", "/v1/employees"),
    ("GET", "/v1/employees/{id}"),
    ("POST", "/v1/employees"),
    ("PATCH", "/v1/employees/{id}"),
    ("PUT", "/v1/employees/{id}/password"),
    ("POST", "/v1/employees/{id}/deactivate"),
    ("POST", "/v1/employees/{id}/reactivate"),
    ("POST", "/v1/employees/{id}/unlock"),
    ("DELETE", "/v1/employees/{id}"),
    ("GET", "/v1/clients"),
    ("GET", "/v1/clients/{id}"),
    ("GET", "/v1/clients/{id}/overview"),
    ("POST", "/v1/clients"),
    ("PATCH", "/v1/clients/{id}"),
    ("POST", "/v1/clients/{id}/reassign"),
    ("DELETE", "/v1/clients/{id}"),
    ("GET", "/v1/contracts"),
    ("GET", "/v1/contracts/{id}"),
    ("GET", "/v1/contracts/{id}/overview"),
    ("GET", "/v1/payments"),
    ("POST", "/v1/contracts"),
    ("PATCH", "/v1/contracts/{id}"),
    ("POST", "/v1/contracts/{id}/sign"),
    ("POST", "/v1/contracts/{id}/payments"),
    ("DELETE", "/v1/contracts/{id}"),
    ("GET", "/v1/events"),
    ("GET", "/v1/events/{id}"),
    ("POST", "/v1/events"),
    ("PATCH", "/v1/events/{id}"),
    ("PUT", "/v1/events/{id}/support"),
    ("DELETE", "/v1/events/{id}/support"),
    ("DELETE", "/v1/events/{id}"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/installation"),
    ("GET", "/healthz"),
];

/// The field names of the API's requests, and a few it does not know (the filters: below).
const FIELDS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "email",
    "role",
    "password",
    "current_password",
    "new_password",
    "phone",
    "company_name",
    "client_id",
    "total_amount",
    "amount_due",
    "signed",
    "amount",
    "sales_id",
    "contract_id",
    "name",
    "start_at",
    "end_at",
    "location",
    "attendees",
    "notes",
    "support_id",
    "refresh_token",
    "access_token",
    "check",
    "entity",
    "paid_on",
    "reassign_to",
    "$end",
    "__proto__",
];

/// The filters and paging of the lists' query strings.
const FILTERS: &[&str] = &[
    "limit",
    "all",
    "offset",
    "after",
    "search",
    "mine",
    "unsigned",
    "unpaid",
    "client",
    "no_support",
    "upcoming",
    "contract",
    "inactive",
    "role",
    "state",
    "from",
    "to",
    "sort",
    "contract_id",
    "entity",
    "id",
    "actor",
    "since",
];

mod inputs {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    pub fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => any::<String>(),
            3 => "[a-zA-Z0-9 @.:+-]{0,40}",
            2 => Just("\u{0}".to_owned()),
            1 => Just("a\u{0}b".to_owned()),
            1 => Just("a\u{2028}b".to_owned()),
            1 => Just("x".repeat(5000)),
            1 => Just("9999999999999.99".to_owned()),
            1 => Just("1e400".to_owned()),
            1 => Just("-0.001".to_owned()),
            1 => Just("2026-06-04T14:00:00Z".to_owned()),
            1 => Just("0001-01-01T00:00:00+14:00".to_owned()),
            1 => Just("9999-12-31T23:59:59-14:00".to_owned()),
            1 => Just("SALES".to_owned()),
            1 => Just("delete".to_owned()),
            1 => Just("client".to_owned()),
            1 => Just("ann@example.com".to_owned()),
        ]
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop_oneof![Just(0i64), Just(1), Just(2), Just(-1), Just(i64::MAX), Just(i64::MIN)]
                .prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
            Just(json!(u64::MAX)),
            text().prop_map(Value::from),
        ]
    }

    pub fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(super::FIELDS).prop_map(str::to_owned),
            1 => proptest::sample::select(super::FILTERS).prop_map(str::to_owned),
            1 => any::<String>(),
        ]
    }

    pub fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A request body: an object of known (and unknown) fields most of the time, else any
    /// JSON value, or bytes that are not JSON at all.
    pub fn body() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => proptest::collection::btree_map(key(), value(), 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect()).to_string()),
            1 => value().prop_map(|v| v.to_string()),
            1 => any::<String>(),
        ]
    }

    /// A filter's name most of the time (else any field name or any text).
    fn query_key() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => proptest::sample::select(super::FILTERS).prop_map(str::to_owned),
            1 => key(),
        ]
    }

    /// A query string: encoded pairs, and raw escapes of bytes that are not UTF-8 or NUL.
    pub fn query() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec((query_key(), text()), 0..5),
            prop_oneof![
                Just(""),
                Just("&%00=1"),
                Just("&search=%ff%fe"),
                Just("&limit=%00"),
                Just("&search=%00"),
                Just("&search=a%00b"),
            ],
        )
            .prop_map(|(pairs, raw)| serde_urlencoded::to_string(pairs).unwrap_or_default() + raw)
    }

    pub fn id() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1"),
            Just("2"),
            Just("3"),
            Just("0"),
            Just("-1"),
            Just("abc"),
            Just("%00"),
            Just("99999999999999999999"),
            Just("9223372036854775807"),
            Just("1e3"),
        ]
        .prop_map(str::to_owned)
    }

    /// No token, the manager's, or one that is not a token.
    pub fn bearer() -> impl Strategy<Value = usize> {
        prop_oneof![1 => Just(0usize), 6 => Just(1usize), 1 => Just(2usize)]
    }
}

#[test]
fn random_bodies_and_query_strings_on_every_endpoint_never_get_a_5xx() {
    use proptest::test_runner::{Config, TestRunner};
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let token = access_token(&c.db.logged_in_at(&server.url(), 1));
    let config = Config { cases: 600, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let strategy =
        (0..ENDPOINTS.len(), inputs::id(), inputs::body(), inputs::query(), inputs::bearer());
    let result = runner.run(&strategy, |(i, id, body, query, bearer)| {
        let (method, route) = ENDPOINTS[i];
        let mut path = route.replace("{id}", &id);
        if method == "GET" && !query.is_empty() {
            path = format!("{path}?{query}");
        }
        let auth = match bearer {
            1 => format!("Authorization: Bearer {token}\r\n"),
            2 => "Authorization: Bearer not.a.token\r\n".to_owned(),
            _ => String::new(),
        };
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (status, text) = http(server.port, req.as_bytes());
        proptest::prop_assert!(
            (200..500).contains(&status),
            "{method} {path} {body:?}: {status} {text}"
        );
        // an error is the API's JSON, whatever was sent
        if status >= 400 {
            let e: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            proptest::prop_assert!(e["kind"].is_string(), "{method} {path}: {status} {text}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{}", server.log());
    }
}
