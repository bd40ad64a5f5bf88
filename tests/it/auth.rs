//! Spec §3: login, whoami, refresh-token, logout, bootstrap, and the guard's failure paths.

use std::os::unix::fs::PermissionsExt;

use chrono::{Duration, Utc};
use epicevents::auth::jwt::{Jwt, TokenKind};
use epicevents::config::{Secret, Settings, Source};
use serde_json::Value;

use crate::common::*;

fn jwt() -> Jwt {
    Jwt::new(Secret::new(JWT_SECRET), &Settings::from_source(&Source::from_pairs(&[])).unwrap())
}

fn tokens(u: &User) -> Value {
    serde_json::from_str(&std::fs::read_to_string(u.token_file()).unwrap()).unwrap()
}

fn write_tokens(u: &User, access: &str, refresh: &str) {
    let raw = serde_json::json!({ "access": access, "refresh": refresh }).to_string();
    std::fs::write(u.token_file(), raw).unwrap();
    std::fs::set_permissions(u.token_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Replaces the stored access token by an expired one of the same session.
fn expire_access(u: &User) {
    let t = tokens(u);
    let refresh = t["refresh"].as_str().unwrap();
    let claims = jwt().verify(TokenKind::Refresh, refresh).unwrap();
    let (expired, _) = jwt()
        .issue(
            TokenKind::Access,
            claims.employee_id().unwrap(),
            claims.sid,
            Utc::now() - Duration::hours(1),
        )
        .unwrap();
    write_tokens(u, &expired, refresh);
}

#[test]
fn bootstrap_then_login_whoami_refresh_logout() {
    let db = TestDb::new();
    let u = db.user();
    u.run(["whoami"])
        .code(3)
        .stderr_has("not logged in")
        .stderr_has("hint: run `epicevents login`");
    let r = u
        .run([
            "--json",
            "create-employee",
            "Ada",
            "Lovelace",
            "ada@example.com",
            PASSWORD,
            "MANAGEMENT",
        ])
        .ok();
    let e = r.json();
    assert_eq!(e["id"], 1);
    assert_eq!(e["role"], "MANAGEMENT");
    assert!(e.get("password_hash").is_none() && !r.stdout.contains("argon2"));

    let r = u.run_stdin(&format!("{PASSWORD}\n"), ["login", "ADA@example.com"]).ok();
    assert_eq!(r.stdout, "Logged in as Ada Lovelace <ada@example.com> (MANAGEMENT).\n");
    let mode = std::fs::metadata(u.token_file()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "token file mode");
    let dir_mode =
        std::fs::metadata(u.token_file().parent().unwrap()).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);

    let who = u.run(["whoami", "--json"]).ok().json();
    assert_eq!(
        who,
        serde_json::json!({"id": 1, "first_name": "Ada", "last_name": "Lovelace",
        "email": "ada@example.com", "role": "MANAGEMENT"})
    );
    let human = u.run(["whoami"]).ok();
    assert_eq!(
        human.stdout,
        "id:    1\nname:  Ada Lovelace\nemail: ada@example.com\nrole:  MANAGEMENT\n"
    );

    let before = tokens(&u);
    u.run(["refresh-token"]).ok().stdout_has("Session refreshed.");
    let after = tokens(&u);
    assert_ne!(before["refresh"], after["refresh"], "refresh token rotated");
    assert_ne!(before["access"], after["access"]);
    u.run(["whoami"]).ok();

    u.run(["logout"]).ok().stdout_has("Logged out.");
    assert!(!u.token_file().exists());
    u.run(["whoami"]).code(3);
    // the old tokens are dead server-side too
    write_tokens(&u, after["access"].as_str().unwrap(), after["refresh"].as_str().unwrap());
    u.run(["whoami"]).code(3).stderr_has("revoked");
    u.run(["refresh-token"]).code(3);
}

#[test]
fn wrong_password_and_unknown_email_get_the_same_message() {
    let (db, _m) = with_manager();
    let u = db.user();
    let wrong = u.run_stdin("nope-nope-nope\n", ["login", "mia@example.com"]).code(3);
    let unknown = u.run_stdin(&format!("{PASSWORD}\n"), ["login", "nobody@example.com"]).code(3);
    assert_eq!(wrong.stderr, unknown.stderr);
    assert_eq!(wrong.stderr, "error: invalid email or password\n");
    assert!(!u.token_file().exists());
    // the password as an argument works too (compatibility with the original)
    u.run(["login", "mia@example.com", PASSWORD]).ok();
    // invalid email syntax is a usage error
    u.run(["login", "not-an-email", PASSWORD]).code(2).stderr_has("invalid email");
    // no password on stdin and no terminal
    u.run(["login", "mia@example.com"]).code(2);
}

#[test]
fn bootstrap_refuses_other_roles_and_needs_a_session_afterwards() {
    let db = TestDb::new();
    let u = db.user();
    u.run(["create-employee", "Sam", "Sales", "sam@example.com", PASSWORD, "SALES"])
        .code(4)
        .stderr_has("MANAGEMENT");
    assert_eq!(db.scalar("select count(*) from employees"), "0");
    u.run(["create-employee", "Mia", "M", "mia@example.com", PASSWORD, "MANAGEMENT"]).ok();
    u.run(["create-employee", "Max", "M", "max@example.com", PASSWORD, "MANAGEMENT"])
        .code(3)
        .stderr_has("not logged in");
    // a bad role is a usage error, whatever the state
    u.run(["create-employee", "Max", "M", "max@example.com", PASSWORD, "BOSS"]).code(2);
    assert_eq!(db.scalar("select count(*) from employees"), "1");
    // bootstrap is audited
    assert_eq!(db.scalar("select action from audit_log"), "employee.bootstrap");
}

#[test]
fn racing_bootstraps_create_exactly_one_employee() {
    let db = TestDb::new();
    let u = db.user();
    let children: Vec<_> = (0..8)
        .map(|i| {
            u.command([
                "create-employee".to_string(),
                "Boss".into(),
                format!("N{i}"),
                format!("boss{i}@example.com"),
                PASSWORD.into(),
                "MANAGEMENT".into(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 3), "{codes:?}");
    assert_eq!(db.scalar("select count(*) from employees"), "1");
}

#[test]
fn replayed_refresh_token_revokes_the_whole_session() {
    let (_db, m) = with_manager();
    let first = tokens(&m);
    m.run(["refresh-token"]).ok();
    let second = tokens(&m);
    // an attacker replays the first (rotated-out) refresh token
    write_tokens(&m, first["access"].as_str().unwrap(), first["refresh"].as_str().unwrap());
    m.run(["refresh-token"]).code(3).stderr_has("already used");
    // every token of that login is dead now, including the legitimate newer pair
    write_tokens(&m, second["access"].as_str().unwrap(), second["refresh"].as_str().unwrap());
    m.run(["whoami"]).code(3).stderr_has("revoked");
    m.run(["refresh-token"]).code(3);
    // a new login works
    m.login("mia@example.com");
    m.run(["whoami"]).ok();
}

#[test]
fn expired_access_token_is_refreshed_transparently() {
    let (_db, m) = with_manager();
    let before = tokens(&m);
    expire_access(&m);
    m.run(["whoami"]).ok().stdout_has("Mia Manager");
    let after = tokens(&m);
    assert_ne!(after["refresh"], before["refresh"], "rotated during the transparent refresh");
    m.run(["whoami"]).ok();
}

#[test]
fn parallel_commands_refreshing_at_once_do_not_log_the_user_out() {
    let (_db, m) = with_manager();
    expire_access(&m);
    let children: Vec<_> = (0..6)
        .map(|_| {
            m.command(["whoami"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    m.run(["whoami"]).ok();
}

#[test]
fn tampered_garbage_and_foreign_tokens_are_refused() {
    let (_db, m) = with_manager();
    let t = tokens(&m);
    let access = t["access"].as_str().unwrap().to_owned();
    let refresh = t["refresh"].as_str().unwrap().to_owned();

    // a payload edited to claim another id: the signature no longer matches
    let parts: Vec<&str> = access.split('.').collect();
    let mut tampered = parts[1].to_owned();
    tampered.replace_range(2..3, if &tampered[2..3] == "A" { "B" } else { "A" });
    write_tokens(&m, &format!("{}.{}.{}", parts[0], tampered, parts[2]), &refresh);
    m.run(["whoami"]).code(3).stderr_has("invalid");

    // a refresh token used as an access token
    write_tokens(&m, &refresh, &refresh);
    m.run(["whoami"]).code(3);

    // signed with another secret
    let other = Jwt::new(
        Secret::new("another-secret-another-secret-another"),
        &Settings::from_source(&Source::from_pairs(&[])).unwrap(),
    );
    let (forged, _) = other.issue(TokenKind::Access, 1, uuid::Uuid::new_v4(), Utc::now()).unwrap();
    write_tokens(&m, &forged, &refresh);
    m.run(["whoami"]).code(3);

    // garbage file
    std::fs::write(m.token_file(), "{not json").unwrap();
    m.run(["whoami"]).code(3).stderr_has("unreadable");
    std::fs::write(m.token_file(), [0xff, 0xfe, 0x00, 0x13]).unwrap();
    m.run(["whoami"]).code(3);
    std::fs::write(m.token_file(), "").unwrap();
    m.run(["whoami"]).code(3);
}

#[test]
fn token_file_that_others_can_read_is_fixed_and_symlinks_are_refused() {
    let (_db, m) = with_manager();
    std::fs::set_permissions(m.token_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = m.run(["whoami"]).ok();
    assert!(r.stderr.contains("warning:") && r.stderr.contains("0600"), "{}", r.stderr);
    let mode = std::fs::metadata(m.token_file()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let real = m.dir().join("elsewhere.json");
    std::fs::rename(m.token_file(), &real).unwrap();
    std::os::unix::fs::symlink(&real, m.token_file()).unwrap();
    m.run(["whoami"]).code(3).stderr_has("symbolic link");
}

#[test]
fn deactivated_employee_cannot_log_in_use_a_session_or_refresh() {
    let (db, m) = with_manager();
    let id = m.add_employee("Sam", "sam@example.com", "SALES");
    let s = db.user();
    s.login("sam@example.com");
    let stolen = tokens(&s);
    m.run(["employee", "deactivate", &id.to_string()]).ok();
    s.run(["whoami"]).code(3);
    write_tokens(&s, stolen["access"].as_str().unwrap(), stolen["refresh"].as_str().unwrap());
    s.run(["refresh-token"]).code(3);
    s.run_stdin(&format!("{PASSWORD}\n"), ["login", "sam@example.com"])
        .code(3)
        .stderr_has("deactivated");
    m.run(["employee", "reactivate", &id.to_string()]).ok();
    s.login("sam@example.com");
    s.run(["whoami"]).ok();
}

#[test]
fn deactivation_takes_effect_even_for_a_live_access_token() {
    let (db, m) = with_manager();
    let id = m.add_employee("Sam", "sam@example.com", "SALES");
    let s = db.user();
    s.login("sam@example.com");
    // deactivate behind the CLI's back: the guard reads the database on every command
    db.sql(&format!(
        "update employees set is_active = false, deactivated_at = now() where id = {id}"
    ));
    s.run(["whoami"]).code(3).stderr_has("deactivated");
}

#[test]
fn promotion_and_demotion_take_effect_at_once() {
    let (db, m) = with_manager();
    let id = m.add_employee("Sam", "sam@example.com", "SALES");
    let s = db.user();
    s.login("sam@example.com");
    s.run(["management-only"]).code(4).stderr_has("MANAGEMENT");
    m.run(["employee", "update", &id.to_string(), "--role", "MANAGEMENT"]).ok();
    s.run(["management-only"]).ok().stdout_has("Access granted");
    s.run(["--json", "whoami"]).ok().stdout_has("\"MANAGEMENT\"");
    m.run(["employee", "update", &id.to_string(), "--role", "support"]).ok();
    s.run(["management-only"]).code(4);
    s.run(["employee", "create", "X", "Y", "x@example.com", PASSWORD, "SALES"]).code(4);
}

#[test]
fn logout_works_with_the_database_down_and_without_a_session() {
    let (_db, m) = with_manager();
    let mut offline = User::new("postgres://nobody:pw@127.0.0.1:1/none".into());
    std::fs::create_dir_all(offline.token_file().parent().unwrap()).unwrap();
    std::fs::copy(m.token_file(), offline.token_file()).unwrap();
    offline.set("EPICCRM_TOKEN_STORE", "file");
    offline.run(["logout"]).ok().stdout_has("Logged out locally");
    assert!(!offline.token_file().exists());
    offline.run(["logout"]).ok();
}

#[test]
fn auto_store_falls_back_to_the_file_without_a_keyring() {
    let (db, _m) = with_manager();
    let mut u = db.user();
    u.set("EPICCRM_TOKEN_STORE", "auto");
    // no D-Bus session here: the keyring fails (or times out) and the file is used
    u.unset("DBUS_SESSION_BUS_ADDRESS");
    let started = std::time::Instant::now();
    u.login("mia@example.com");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(u.token_file().exists());
    u.run(["whoami"]).ok();
    u.run(["logout"]).ok();
    assert!(!u.token_file().exists());
    // forcing the keyring where there is none is a clear error, not a hang
    u.set("EPICCRM_TOKEN_STORE", "keyring");
    u.run_stdin(&format!("{PASSWORD}\n"), ["login", "mia@example.com"])
        .code(7)
        .stderr_has("keyring");
}

#[test]
fn secrets_never_reach_the_output() {
    let (_db, m) = with_manager();
    let t = tokens(&m);
    for args in [
        vec!["-vv", "whoami"],
        vec!["-vv", "refresh-token"],
        vec!["-vv", "--json", "employee", "list"],
        vec!["-vv", "login", "mia@example.com", "wrong-password"],
        vec!["-vv", "login", "mia@example.com", PASSWORD],
    ] {
        let r = m.run(&args);
        let all = format!("{}{}", r.stdout, r.stderr);
        for secret in [PASSWORD, JWT_SECRET, "test-superuser-password", "argon2id"] {
            assert!(!all.contains(secret), "{args:?} printed a secret: {all}");
        }
        assert!(!all.contains(t["refresh"].as_str().unwrap()));
        assert!(!all.contains(t["access"].as_str().unwrap()));
    }
}

#[test]
fn without_rotation_the_refresh_token_stays_and_keeps_working() {
    let (_db, mut m) = with_manager();
    m.set("EPICCRM_JWT_ROTATE_REFRESH", "false");
    let before = tokens(&m);
    m.run(["refresh-token"]).ok();
    let after = tokens(&m);
    assert_eq!(before["refresh"], after["refresh"]);
    assert_ne!(before["access"], after["access"]);
    m.run(["refresh-token"]).ok();
    m.run(["whoami"]).ok();
    // the transparent refresh follows the same setting
    expire_access(&m);
    m.run(["whoami"]).ok();
    assert_eq!(tokens(&m)["refresh"], before["refresh"]);
}
