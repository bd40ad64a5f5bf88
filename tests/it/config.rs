//! Spec §6 and §8: configuration errors and an unmigrated schema are exit 7, naming the cause.

use crate::common::*;

#[test]
fn missing_or_malformed_settings_are_exit_7_naming_the_setting() {
    let db = TestDb::new();
    let mut u = db.user();
    u.unset("EPICCRM_JWT_SECRET");
    u.run(["whoami"]).code(7).stderr_has("EPICCRM_JWT_SECRET");
    u.set("EPICCRM_JWT_SECRET", "too-short");
    u.run(["whoami"]).code(7).stderr_has("EPICCRM_JWT_SECRET").stderr_has("32 bytes");
    u.set("EPICCRM_JWT_SECRET", JWT_SECRET);
    for (key, bad) in [
        ("EPICCRM_JWT_ACCESS_MINUTES", "soon"),
        ("EPICCRM_JWT_REFRESH_DAYS", "-1"),
        ("EPICCRM_JWT_ALG", "RS256"),
        ("EPICCRM_JWT_ROTATE_REFRESH", "maybe"),
        ("EPICCRM_TOKEN_STORE", "cloud"),
        ("DATABASE_URL", "mysql://x@y/z"),
    ] {
        let mut v = db.user();
        v.set(key, bad);
        v.run(["whoami"]).code(7).stderr_has(key);
    }
    let mut v = db.user();
    v.set("DATABASE_URL", "postgres://user:hunter2@[bad/x");
    let r = v.run(["whoami"]).code(7);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
}

#[test]
fn settings_come_from_a_dotenv_file_in_the_working_directory() {
    let (db, m) = with_manager();
    let mut u = db.user();
    u.unset("EPICCRM_JWT_SECRET").unset("DATABASE_URL");
    std::fs::write(
        u.dir().join(".env"),
        format!("# comment\nDATABASE_URL={}\nEPICCRM_JWT_SECRET={JWT_SECRET}\n", db.url),
    )
    .unwrap();
    u.login("mia@example.com");
    u.run(["whoami"]).ok().stdout_has("Mia");
    // the environment wins over .env
    u.set("EPICCRM_JWT_SECRET", "short");
    u.run(["whoami"]).code(7);
    drop(m);
}

#[test]
fn database_down_wrong_password_or_missing_database_is_exit_7() {
    let db = TestDb::new();
    let mut u = db.user();
    u.set("DATABASE_URL", "postgres://postgres:pw@127.0.0.1:1/x");
    u.run(["whoami"])
        .code(7)
        .stderr_has("the database cannot be reached (127.0.0.1:1)")
        .stderr_has("hint: is PostgreSQL running there");
    // a role that does not exist, whatever server the suite runs against
    let (scheme, rest) = db.url.split_once("://").unwrap();
    let host_db = rest.split_once('@').unwrap().1;
    u.set("DATABASE_URL", &format!("{scheme}://no_such_role_x:wrong-password@{host_db}"));
    let r = u.run(["whoami"]).code(7).stderr_has("refused the credentials");
    // what the server said is shown (the role's name), the password never
    assert!(
        r.stderr.contains("no_such_role_x") && !r.stderr.contains("wrong-password"),
        "{}",
        r.stderr
    );
    let missing = format!("{}_missing", db.url);
    u.set("DATABASE_URL", &missing);
    u.run(["whoami"]).code(7).stderr_has("does not exist");
}

#[test]
fn unmigrated_schema_is_exit_7_until_db_migrate() {
    let db = TestDb::unmigrated();
    let u = db.user();
    u.run(["whoami"])
        .code(7)
        .stderr_has("not migrated")
        .stderr_has("hint: run `epicevents db migrate`");
    u.run(["create-employee", "A", "B", "a@example.com", PASSWORD, "MANAGEMENT"]).code(7);
    u.run(["db", "status"]).ok().stdout_has("pending");
    // every migration of the repository (their number grows with the schema)
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sql")))
        .count();
    u.run(["db", "migrate"]).ok().stdout_has(&format!("Applied {migrations} migration"));
    u.run(["db", "migrate"]).ok().stdout_has("up to date");
    let st = u.run(["--json", "db", "status"]).ok().json();
    assert_eq!(st["pending"], 0);
    u.run(["create-employee", "A", "B", "a@example.com", PASSWORD, "MANAGEMENT"]).ok();
}

#[test]
fn outdated_schema_is_exit_7() {
    let db = TestDb::new();
    db.sql(
        "delete from _sqlx_migrations where version = (select max(version) from _sqlx_migrations)",
    );
    db.user().run(["whoami"]).code(7).stderr_has("outdated");
}

#[test]
fn usage_errors_are_exit_2_and_help_is_exit_0() {
    let db = TestDb::new();
    let u = db.user();
    // clap's errors are one line too, with a hint
    let r = u.run(["frobnicate"]).code(2);
    assert_eq!(r.stderr.lines().count(), 2, "{}", r.stderr);
    let r = u.run(["create-employee", "Bob"]).code(2).stderr_has("<LAST_NAME> <EMAIL>");
    assert!(r.stderr.contains("hint: usage: epicevents create-employee"), "{}", r.stderr);
    u.run(["employee", "show", "abc"])
        .code(2)
        .stderr_has("error: not a valid id: abc")
        .stderr_has("hint: see `epicevents employee show --help`");
    let help = u.run(["--help"]).ok();
    assert!(help.stdout.contains("Exit codes"));
    u.run(["--version"]).ok().stdout_has("epicevents");
}

#[test]
fn db_seed_fills_an_empty_database_and_refuses_a_full_one() {
    let db = TestDb::new();
    let u = db.user();
    // an earlier attempt that rolled back still advanced the id sequences
    db.sql(
        "insert into employees (first_name, last_name, email, role, password_hash)
         values ('X', 'Y', 'x@example.com', 'SALES', 'x');
         delete from employees;",
    );
    let s = u.run(["--json", "db", "seed", "--scale", "0.002"]).ok().json();
    assert_eq!(s["employees"], 20);
    assert_eq!(s["clients"], 200);
    assert_eq!(s["contracts"], 600);
    assert_eq!(db.scalar("select count(*) from events"), s["events"].to_string());
    // every seeded account logs in with the printed password, and sees its own data
    let pw = s["password"].as_str().unwrap();
    for (id, mine) in [(2, "client"), (11, "event")] {
        let user = db.user();
        user.run_stdin(&format!("{pw}\n"), ["login", &format!("employee{id}@bench.example")]).ok();
        let rows = user.run(["--json", mine, "list", "--mine"]).ok().json();
        assert!(!rows.as_array().unwrap().is_empty(), "employee {id} owns nothing");
    }
    u.run(["db", "seed", "--scale", "0.002"]).code(6).stderr_has("not empty");
    u.run(["db", "seed", "--scale", "0"]).code(2);
}
