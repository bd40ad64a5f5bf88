//! Spec §10, what only server mode has: sessions shared by several servers, a graceful stop,
//! the body cap, readers too slow to read, an unreachable or confused server, addresses that
//! would send tokens in clear, TLS, the access log, throttling per client address, and what
//! a user holding only the address and their own tokens can do.

use std::io::{Read, Write};
use std::net::TcpStream;

use chrono::Utc;
use epicevents::auth::jwt::{Jwt, TokenKind};
use epicevents::config::{Secret, Settings, Source};
use sqlx::Connection;

use crate::auth::{tokens, write_tokens};
use crate::common::*;

pub(crate) fn server_of(db: &TestDb, extra: &[(&str, &str)]) -> ServerProc {
    let mut envs = vec![
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("EPICCRM_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
    ];
    envs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    ServerProc::start(&envs)
}

/// One raw HTTP/1.1 exchange: the status and the body.
pub(crate) fn http(port: u16, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

pub(crate) fn login_body(email: &str, password: &str) -> Vec<u8> {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    format!(
        "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn two_servers_on_one_database_share_sessions() {
    let (db, _m) = in_direct(with_manager);
    let (one, two) = (server_of(&db, &[]), server_of(&db, &[]));
    let a = User::of_server(&one.url());
    a.login("mia@example.com");
    // the same session presented to the other server
    let b = User::of_server(&two.url());
    let t = tokens(&a);
    write_tokens(&b, t["access"].as_str().unwrap(), t["refresh"].as_str().unwrap());
    b.run(["whoami"]).ok().stdout_has("mia@example.com");
    b.run(["logout"]).ok().stdout_has("Logged out.");
    // ended for the first server too
    a.run(["whoami"]).code(3).stderr_has("revoked");
}

/// Runs `f` in direct mode (a database the test serves itself).
pub(crate) fn in_direct<T>(f: impl FnOnce() -> T) -> T {
    let mut out = None;
    in_mode(Mode::Direct, || out = Some(f()));
    out.unwrap()
}

#[test]
fn a_request_in_flight_completes_across_sigterm() {
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let mia = c.db.logged_in_at(&server.url(), 1);
    // hold contract 1 so that a payment waits, in flight, on its lock
    let holder = c.db.hold("select * from contracts where id = 1 for update");
    let pay = mia.spawn(["contract", "pay", "1", "10"]);
    c.db.wait_for_lock_waiter();
    server.terminate();
    // no new connection is accepted
    assert!(
        wait_for(|| TcpStream::connect(("127.0.0.1", server.port)).is_err()),
        "still accepting after SIGTERM"
    );
    c.db.release(holder);
    Run::from(pay.wait_with_output().unwrap()).ok();
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "990.00");
    let mut server = server;
    assert!(wait_for(|| server.child.try_wait().unwrap().is_some()), "the server did not stop");
    assert_eq!(server.child.wait().unwrap().code(), Some(0), "{}", server.log());
    assert!(
        wait_for(|| server.log().contains("POST /v1/contracts/1/payments 200")),
        "{}",
        server.log()
    );
}

#[test]
fn oversized_bodies_are_refused_with_an_api_error() {
    let db = in_direct(TestDb::new);
    let server = server_of(&db, &[]);
    let big = "x".repeat(70 * 1024);
    let req = format!(
        "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    );
    let (status, body) = http(server.port, req.as_bytes());
    assert_eq!(status, 413, "{body}");
    let e: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(e["kind"], "usage");
    assert!(e["message"].as_str().unwrap().contains("64 KiB"), "{e}");
    // the same sent in chunks, with no length announced
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let req = format!(
        "POST /v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{chunk}"
    );
    let (status, body) = http(server.port, req.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("64 KiB"), "{body}");
    // unknown routes and methods answer in the API's words too
    let (status, body) =
        http(server.port, b"GET /v1/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 404);
    assert!(body.contains("\"kind\":\"not_found\""), "{body}");
}

#[test]
fn a_client_too_slow_to_read_does_not_keep_its_connection() {
    let (db, _m) = in_direct(with_manager);
    // about 25 MiB of JSON: more than the socket buffers and the server's own hold
    db.sql(
        "insert into employees (first_name, last_name, email, role, password_hash)
         select 'Employee ' || i, repeat('x', 150), 'e' || i || '@example.com', 'SUPPORT', 'x'
         from generate_series(1, 80000) i",
    );
    let server = server_of(&db, &[("EPICCRM_DB_POOL", "1"), ("EPICCRM_STREAM_IDLE_SECS", "1")]);
    let mia = db.logged_in_at(&server.url(), 1);
    let access = access_token(&mia);
    // asks for every employee and reads nothing
    let mut stalled = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stalled
        .write_all(
            format!(
                "GET /v1/employees?all=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {access}\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    // the pool's only connection comes back once the list gives up on its reader
    assert!(
        wait_for(|| mia.run(["whoami"]).code == 0),
        "the stalled list kept the connection: {}",
        server.log()
    );
    drop(stalled);
}

#[test]
fn a_server_that_cannot_be_reached_or_answers_nonsense_is_exit_7_naming_it() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let u = User::of_server(&format!("http://127.0.0.1:{port}"));
    write_tokens(&u, "a.b.c", "a.b.c");
    u.run(["whoami"])
        .code(7)
        .stderr_has(&format!("cannot reach the server http://127.0.0.1:{port}"))
        .stderr_has("epicevents serve");
    // something that speaks HTTP but is not the CRM
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        }
    });
    let u = User::of_server(&format!("http://127.0.0.1:{port}"));
    write_tokens(&u, "a.b.c", "a.b.c");
    u.run(["whoami"]).code(7).stderr_has("not the epicevents API");
    u.run(["client", "list"]).code(7).stderr_has(&format!("http://127.0.0.1:{port}"));
}

#[test]
fn http_off_this_machine_is_refused_before_any_connection() {
    // `.invalid` never resolves: had the client tried to connect, it would say so (exit 7)
    let u = User::of_server("http://crm.invalid:8080");
    u.run(["whoami"])
        .code(2)
        .stderr_has("tokens would cross the network in clear")
        .stderr_has("hint: use https://crm.invalid:8080");
    u.run_stdin("whatever\n", ["login", "mia@example.com"]).code(2);
}

#[test]
fn tls_with_the_servers_own_authority() {
    let (db, _m) = in_direct(with_manager);
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");
    let server = server_of(
        &db,
        &[
            ("EPICCRM_TLS_CERT", &format!("{fixtures}/server.pem")),
            ("EPICCRM_TLS_KEY", &format!("{fixtures}/server.key")),
        ],
    );
    assert!(server.log().contains("serving on https://"), "{}", server.log());
    let url = format!("https://localhost:{}", server.port);
    let mut u = User::of_server(&url);
    // an authority the client does not know: refused, with the way out
    u.run_stdin(&format!("{PASSWORD}\n"), ["login", "mia@example.com"])
        .code(7)
        .stderr_has("TLS")
        .stderr_has("EPICCRM_CA_CERT");
    u.set("EPICCRM_CA_CERT", &format!("{fixtures}/ca.pem"));
    u.login("mia@example.com");
    u.run(["whoami"]).ok().stdout_has("mia@example.com");
    u.run(["--json", "employee", "list"]).ok();
}

#[test]
fn the_access_log_has_one_line_per_request_and_nothing_secret() {
    let (db, _m) = in_direct(with_manager);
    let server = server_of(&db, &[]);
    let u = User::of_server(&server.url());
    u.run_stdin("wrong-password-here\n", ["login", "mia@example.com"]).code(3);
    u.login("mia@example.com");
    u.run_stdin(
        &format!("{PASSWORD}\nNew-secret-pass-1\nNew-secret-pass-1\n"),
        ["employee", "set-password", "1"],
    )
    .ok();
    u.run(["client", "list", "--search", "private-search-text"]).ok();
    let t = tokens(&u);
    // the log is read from the server's stderr as it comes: wait for the last request's line
    assert!(wait_for(|| server.log().contains("GET /v1/clients 200")), "{}", server.log());
    let log = server.log();
    for secret in [
        PASSWORD,
        JWT_SECRET,
        "wrong-password-here",
        "New-secret-pass-1",
        "private-search-text",
        t["access"].as_str().unwrap(),
        t["refresh"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "the access log holds {secret:?}: {log}");
    }
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" /v1/")).collect();
    assert!(lines.iter().any(|l| l.contains("POST /v1/session 401") && l.ends_with("employee=-")));
    assert!(lines.iter().any(|l| l.contains("GET /v1/clients 200") && l.ends_with("employee=1")));
    assert!(lines.iter().any(|l| l.contains("PUT /v1/employees/1/password 200")));
}

#[test]
fn health_follows_the_database() {
    let db = in_direct(TestDb::new);
    let server = server_of(&db, &[]);
    let get =
        || http(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(get().0, 200);
    // the database goes away under it
    let name = db.name.clone();
    let admin_url = db.url.rsplit_once('/').unwrap().0.to_owned() + "/postgres";
    db.block_on(async {
        let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop database {name} with (force)")))
            .execute(&mut admin)
            .await
            .unwrap();
    });
    assert!(wait_for(|| get().0 == 503), "health still says ok without its database");
}

#[test]
fn a_user_with_only_the_address_and_their_tokens_can_do_nothing_else() {
    let c = in_direct(crm);
    let server = server_of(&c.db, &[]);
    let sue = c.db.logged_in_at(&server.url(), 3);
    // re-signed with a guessed secret, claiming to be the manager of their own session
    let t = tokens(&sue);
    let sid = Jwt::new(
        Secret::new(JWT_SECRET),
        &Settings::from_source(&Source::from_pairs(&[])).unwrap(),
    )
    .verify(TokenKind::Access, t["access"].as_str().unwrap())
    .unwrap()
    .sid;
    for guess in ["changeme-changeme-changeme-changeme", "0123456789abcdef0123456789abcdef"] {
        let forged =
            Jwt::new(Secret::new(guess), &Settings::from_source(&Source::from_pairs(&[])).unwrap());
        let (access, _) = forged.issue(TokenKind::Access, 1, sid, Utc::now()).unwrap();
        write_tokens(&sue, &access, t["refresh"].as_str().unwrap());
        sue.run(["management-only"]).code(3);
        sue.run(["employee", "update", "3", "--role", "MANAGEMENT"]).code(3);
    }
    write_tokens(&sue, t["access"].as_str().unwrap(), t["refresh"].as_str().unwrap());
    sue.run(["employee", "update", "3", "--role", "MANAGEMENT"]).code(4);
    sue.run(["management-only"]).code(4);
    assert_eq!(c.db.scalar("select role from employees where id = 3"), "SUPPORT");
}

#[test]
fn logins_are_throttled_per_client_address() {
    let (db, _m) = in_direct(with_manager);
    let server = server_of(&db, &[("EPICCRM_TRUSTED_PROXIES", "127.0.0.1")]);
    let attempt = |i: usize, forwarded: &str| {
        let mut req = login_body(&format!("nobody{i}@example.com"), "wrong");
        if !forwarded.is_empty() {
            let head = format!("POST /v1/session HTTP/1.1\r\nX-Forwarded-For: {forwarded}\r\n");
            let s =
                String::from_utf8(req).unwrap().replacen("POST /v1/session HTTP/1.1\r\n", &head, 1);
            req = s.into_bytes();
        }
        http(server.port, &req)
    };
    // thirty failures from one address, each for a different e-mail
    for i in 0..30 {
        assert_eq!(attempt(i, "203.0.113.7").0, 401);
    }
    let (status, body) = attempt(99, "203.0.113.7");
    assert_eq!(status, 401);
    assert!(body.contains("from this address"), "{body}");
    // what the client itself puts in front of the proxy's entry changes nothing
    let (status, body) = attempt(101, "192.0.2.1, 203.0.113.7");
    assert!(status == 401 && body.contains("from this address"), "{body}");
    let (status, body) = attempt(102, "not-an-address, 203.0.113.7");
    assert!(status == 401 && body.contains("from this address"), "{body}");
    // another client behind the same proxy is not affected, nor is a correct login elsewhere
    let (status, body) = attempt(100, "198.51.100.4");
    assert!(status == 401 && !body.contains("from this address"), "{body}");
    let (status, _) = http(
        server.port,
        &String::from_utf8(login_body("mia@example.com", PASSWORD))
            .unwrap()
            .replacen("HTTP/1.1\r\n", "HTTP/1.1\r\nX-Forwarded-For: 198.51.100.4\r\n", 1)
            .into_bytes(),
    );
    assert_eq!(status, 200);
}

#[test]
fn sessions_are_kept_per_server() {
    let (db, _m) = in_direct(with_manager);
    db.employees(&[("Sam", "sam@example.com", "SALES")]);
    let (one, two) = (server_of(&db, &[]), server_of(&db, &[]));
    let mut u = User::of_server(&one.url());
    u.login("mia@example.com");
    u.set("EPICCRM_SERVER", &two.url());
    u.login("sam@example.com");
    u.run(["whoami"]).ok().stdout_has("sam@example.com");
    u.set("EPICCRM_SERVER", &one.url());
    u.run(["whoami"]).ok().stdout_has("mia@example.com");
    let files: Vec<String> = std::fs::read_dir(u.dir().join(".config/epiccrm"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tokens-"))
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    // the operator's commands stay local whatever EPICCRM_SERVER says
    let mut op = db.user();
    op.set("EPICCRM_SERVER", &one.url());
    op.run(["db", "status"]).ok().stdout_has("up to date");
}

#[test]
fn lists_stream_through_the_server_with_their_trailer() {
    let (_db, server, access) = manager_on_a_server();
    let (status, body) = http(
        server.port,
        format!(
            "GET /v1/employees?limit=5 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {access}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(status, 200);
    // chunked: the JSON lines are between chunk sizes; the last line is the trailer
    assert!(body.contains(r#""email":"mia@example.com""#), "{body}");
    assert!(body.contains(r#"{"$end":{"rows":1}}"#), "{body}");
}

/// A database with one manager, a server on it, and the manager's access token there.
pub(crate) fn manager_on_a_server() -> (TestDb, ServerProc, String) {
    let (db, _) = in_direct(with_manager);
    let server = server_of(&db, &[]);
    let access = access_token(&db.logged_in_at(&server.url(), 1));
    (db, server, access)
}

pub(crate) fn access_token(u: &User) -> String {
    tokens(u)["access"].as_str().unwrap().to_owned()
}

/// One JSON request with a bearer token (or none): the status and the body as JSON.
pub(crate) fn api(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = http(port, req.as_bytes());
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

#[test]
fn a_hand_written_client_is_answered_as_docs_api_says() {
    let (db, server, access) = manager_on_a_server();
    // no token: told to log in before anything is said about the body
    let (status, e) = api(server.port, "POST", "/v1/clients", None, "{not json");
    assert_eq!((status, e["kind"].as_str()), (401, Some("unauthenticated")), "{e}");
    let new_employee = |token: Option<&str>, name: &str, role: &str| {
        let body = serde_json::json!({
            "first_name": name, "last_name": "Lee", "email": format!("{name}@example.com"),
            "role": role, "password": "long enough pass",
        });
        api(server.port, "POST", "/v1/employees", token, &body.to_string())
    };
    // the one request open without a session, closed once the first manager exists
    let (status, e) = new_employee(None, "eve", "management");
    assert_eq!((status, e["kind"].as_str()), (401, Some("unauthenticated")), "{e}");
    // a role in any case, as on the command line
    let (status, e) = new_employee(Some(&access), "sam", "sales");
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["role"], "SALES", "{e}");
    // a bad field: a usage error naming it, nothing written
    let (status, e) = new_employee(Some(&access), "al", "boss");
    assert_eq!((status, e["kind"].as_str()), (400, Some("usage")), "{e}");
    assert!(e["message"].as_str().unwrap().contains("role"), "{e}");
    assert_eq!(db.scalar("select count(*) from employees where email = 'al@example.com'"), "0");
    // a client with neither phone nor company: both optional
    let access = access_token(&db.logged_in_at(&server.url(), 2));
    let (status, e) = api(
        server.port,
        "POST",
        "/v1/clients",
        Some(&access),
        r#"{"first_name":"Ann","last_name":"Bee","email":"ann@example.com"}"#,
    );
    assert_eq!(status, 200, "{e}");
    assert_eq!(e["phone"], serde_json::Value::Null, "{e}");
}
