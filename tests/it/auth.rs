//! Spec §3: login, whoami, refresh-token, logout, bootstrap, and the guard's failure paths —
//! directly, through a server, and through PgBouncer.

use std::os::unix::fs::PermissionsExt;

use chrono::{Duration, Utc};
use epicevents::auth::jwt::{Jwt, TokenKind};
use epicevents::config::{Secret, Settings, Source};
use serde_json::Value;

use crate::common::*;
// where the other modules have always found them
pub use crate::common::{jwt, write_tokens};

pub fn tokens(u: &User) -> Value {
    serde_json::from_str(&std::fs::read_to_string(u.token_file()).unwrap()).unwrap()
}

/// Replaces the stored access token by an expired one of the same session.
pub fn expire_access(u: &User) {
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

crate::in_every_mode! {
    fn bootstrap_then_login_whoami_refresh_logout() {
        let db = TestDb::new();
        let u = db.user();
        u.run(["whoami"])
            .code(3)
            .stderr_has("not logged in")
            .stderr_has("hint: run `epicevents login`");
        let r = u
            .run_stdin(
                &format!("{PASSWORD}\n"),
                ["--json", "create-employee", "Ada", "Lovelace", "ada@example.com", "-", "MANAGEMENT"],
            )
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

    fn wrong_password_and_unknown_email_get_the_same_message() {
        let (db, _m) = with_manager();
        let u = db.user();
        let wrong = u.run_stdin("nope-nope-nope\n", ["login", "mia@example.com"]).code(3);
        let unknown = u.run_stdin(&format!("{PASSWORD}\n"), ["login", "nobody@example.com"]).code(3);
        assert_eq!(wrong.stderr, unknown.stderr);
        assert_eq!(wrong.stderr, "error: invalid email or password\n");
        assert!(!u.token_file().exists());
        // the password as an argument works too (compatibility with the original), with a
        // warning that other local users can see it
        let r = u.run(["login", "mia@example.com", PASSWORD]).ok();
        assert!(r.stderr.starts_with("warning: a password given as an argument"), "{}", r.stderr);
        // invalid email syntax is a usage error
        u.run(["login", "not-an-email", PASSWORD]).code(2).stderr_has("invalid email");
        // no password on stdin and no terminal
        u.run(["login", "mia@example.com"]).code(2);
    }

    fn bootstrap_refuses_other_roles_and_needs_a_session_afterwards() {
        let db = TestDb::new();
        let u = db.user();
        u.run_stdin(&format!("{PASSWORD}\n"), ["create-employee", "Sam", "Sales", "sam@example.com", "-", "SALES"])
            .code(4)
            .stderr_has("MANAGEMENT");
        assert_eq!(db.scalar("select count(*) from employees"), "0");
        u.run_stdin(&format!("{PASSWORD}\n"), ["create-employee", "Mia", "M", "mia@example.com", "-", "MANAGEMENT"])
            .ok();
        // refused before the password is read (stdin is empty here)
        u.run(["create-employee", "Max", "M", "max@example.com", "-", "MANAGEMENT"])
            .code(3)
            .stderr_has("not logged in");
        // a bad role is a usage error, whatever the state
        u.run(["create-employee", "Max", "M", "max@example.com", PASSWORD, "BOSS"])
            .code(2)
            .stderr_has("possible values: MANAGEMENT, SALES, SUPPORT");
        assert_eq!(db.scalar("select count(*) from employees"), "1");
        // bootstrap is audited
        assert_eq!(db.scalar("select action from audit_log"), "employee.bootstrap");
    }

    fn racing_bootstraps_create_exactly_one_employee() {
        let db = TestDb::new();
        let u = db.user();
        let children: Vec<_> = (0..8)
            .map(|i| {
                u.spawn([
                    "create-employee".to_string(),
                    "Boss".into(),
                    format!("N{i}"),
                    format!("boss{i}@example.com"),
                    PASSWORD.into(),
                    "MANAGEMENT".into(),
                ])
            })
            .collect();
        let runs: Vec<Run> =
            children.into_iter().map(|c| Run::from(c.wait_with_output().unwrap())).collect();
        assert_eq!(runs.iter().filter(|r| r.code == 0).count(), 1, "{runs:?}");
        // every loser is told, in one clean line, that the bootstrap is over
        for r in runs.into_iter().filter(|r| r.code != 0) {
            r.code(3).stderr_has("not logged in");
        }
        assert_eq!(db.scalar("select count(*) from employees"), "1");
    }

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

    fn expired_access_token_is_refreshed_transparently() {
        let (_db, m) = with_manager();
        let before = tokens(&m);
        expire_access(&m);
        m.run(["whoami"]).ok().stdout_has("Mia Test");
        let after = tokens(&m);
        assert_ne!(after["refresh"], before["refresh"], "rotated during the transparent refresh");
        m.run(["whoami"]).ok();
    }

    fn an_expired_refresh_token_means_logging_in_again() {
        let (_db, m) = with_manager();
        let t = tokens(&m);
        let claims = jwt().verify(TokenKind::Refresh, t["refresh"].as_str().unwrap()).unwrap();
        let old = Utc::now() - Duration::days(30);
        let (access, _) = jwt().issue(TokenKind::Access, 1, claims.sid, old).unwrap();
        let (refresh, _) = jwt().issue(TokenKind::Refresh, 1, claims.sid, old).unwrap();
        write_tokens(&m, &access, &refresh);
        m.run(["whoami"]).code(3).stderr_has("expired").stderr_has("epicevents login");
        m.run(["refresh-token"]).code(3).stderr_has("expired");
    }

    fn parallel_commands_refreshing_at_once_do_not_log_the_user_out() {
        let (_db, m) = with_manager();
        expire_access(&m);
        let children: Vec<_> = (0..6).map(|_| m.spawn(["whoami"])).collect();
        for c in children {
            Run::from(c.wait_with_output().unwrap()).ok();
        }
        m.run(["whoami"]).ok();
    }

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

        // signed with another secret (a guessed one)
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

    fn a_deactivated_employee_cannot_refresh_a_live_session() {
        // deactivated behind the CLI's back, the session still live: the refresh itself
        // must refuse (the guard's check on the refresh path, on its own)
        let (db, m) = with_manager();
        let id = m.add_employee("Sam", "sam@example.com", "SALES");
        let s = db.user();
        s.login("sam@example.com");
        db.sql(&format!(
            "update employees set is_active = false, deactivated_at = now() where id = {id}"
        ));
        s.run(["refresh-token"]).code(3).stderr_has("deactivated");
        assert_eq!(
            db.scalar(&format!("select count(*) from sessions where employee_id = {id} and revoked_at is null")),
            "1",
            "the session itself was live"
        );
    }

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

    fn logout_without_a_session_and_logging_in_over_one() {
        let (db, m) = with_manager();
        let first = tokens(&m);
        // logging in again here ends the session stored before, and says so
        let r = m.login("mia@example.com");
        assert!(r.stderr.contains("Ended the session that was open here before"), "{}", r.stderr);
        let claims = jwt().verify(TokenKind::Refresh, first["refresh"].as_str().unwrap()).unwrap();
        assert_ne!(
            db.scalar(&format!("select revoked_at from sessions where id = '{}'", claims.sid)),
            ""
        );
        m.run(["logout"]).ok().stdout_has("Logged out.");
        let r = m.run(["logout"]).ok();
        assert_eq!(r.stdout, "Not logged in.\n");
        assert_eq!(r.stderr, "");
        // a session that ended meanwhile: the local tokens go, and it says so plainly
        m.login("mia@example.com");
        db.sql("update sessions set revoked_at = now()");
        m.run(["logout"]).ok().stdout_has("already ended");
        assert!(!m.token_file().exists());
    }

    fn secrets_never_reach_the_output() {
        let (db, m) = with_manager();
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
        // nor the server's access log
        let log = db.server_log();
        for secret in [PASSWORD, JWT_SECRET, "wrong-password", t["refresh"].as_str().unwrap(),
                       t["access"].as_str().unwrap()] {
            assert!(!log.contains(secret), "the access log holds a secret: {log}");
        }
    }
}

#[test]
fn logout_works_with_the_database_down() {
    let (_db, m) = with_manager();
    let mut offline = User::new("postgres://nobody:pw@127.0.0.1:1/none".into());
    std::fs::create_dir_all(offline.token_file().parent().unwrap()).unwrap();
    std::fs::copy(m.token_file(), offline.token_file()).unwrap();
    offline.set("EPICCRM_TOKEN_STORE", "file");
    offline.run(["logout"]).ok().stdout_has("Logged out locally");
    assert!(!offline.token_file().exists());
    offline.run(["logout"]).ok().stdout_has("Not logged in.");
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

crate::in_every_mode! {
    fn a_session_ends_after_its_maximum_age_however_often_refreshed() {
        // the default maximum age (EPICCRM_SESSION_MAX_DAYS) is 30 days
        let (db, m) = with_manager();
        // refreshed tokens never outlive the session: the refresh token's expiry is capped
        db.sql("update sessions set created_at = now() - interval '29 days 23 hours'");
        m.run(["refresh-token"]).ok();
        let t = tokens(&m);
        let claims = jwt().verify(TokenKind::Refresh, t["refresh"].as_str().unwrap()).unwrap();
        let left = claims.exp - Utc::now().timestamp();
        assert!(left <= 3600, "the refresh token outlives its session by {left} s");
        // past the maximum age: whoami (with a live access token) and refresh both refuse
        db.sql("update sessions set created_at = now() - interval '31 days'");
        m.run(["whoami"]).code(3).stderr_has("at most 30 days");
        m.run(["refresh-token"]).code(3).stderr_has("expired");
        m.login("mia@example.com");
        m.run(["whoami"]).ok();
    }
}
