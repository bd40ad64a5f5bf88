//! `db import` (spec §14): a company moved from the Python original's database, each source
//! built in the suite's PostgreSQL from the original's own schema (`pg_dump -s` of its
//! Alembic head) and rows made with its own CLI (`tests/fixtures/python-original/`).

use serde_json::Value;

use crate::common::{Run, TestDb, User};

const SCHEMA: &str = include_str!("../fixtures/python-original/python_schema_0d47bbb3cd0c.sql");
const CLEAN: &str = include_str!("../fixtures/python-original/epic_clean_rows.sql");

/// The original's accounts (README of the fixtures): e-mail, password, active.
const ACCOUNTS: [(&str, &str, bool); 5] = [
    ("ada@epic.com", "Secret123!", true),
    ("sam@epic.com", "pw-sam-1", true),
    ("sal2@epic.com", "pw-sal2-1", true),
    ("sue@epic.com", "pw-sue-1", true),
    ("old@epic.com", "pw-old-1", false),
];

/// A hash the original made (Ada's), for rows added by hand.
const PYTHON_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$SE8xpgi/USv+eCkj1IjUMg$xgO9R2c5zh92FT9rgBRxgd47py66kB36LdfzZXrASCs";

/// A database of the original's schema, with the valid company, then `extra` SQL.
fn source(extra: &str) -> TestDb {
    let db = TestDb::unmigrated();
    db.sql(SCHEMA);
    db.sql(CLEAN);
    if !extra.is_empty() {
        db.sql(extra);
    }
    db
}

/// `db import --from URL ARGS…` into `target`, as the operator (no session).
fn import(target: &TestDb, from: &str, args: &[&str]) -> Run {
    let user = User::new(target.url.clone());
    let mut all = vec!["--json", "db", "import", "--from", from];
    all.extend_from_slice(args);
    user.run(all)
}

fn human_import(target: &TestDb, from: &str, args: &[&str]) -> Run {
    let user = User::new(target.url.clone());
    let mut all = vec!["db", "import", "--from", from];
    all.extend_from_slice(args);
    user.run(all)
}

fn counts(r: &Value, table: &str) -> (u64, u64, u64, u64) {
    let c = &r["counts"][table];
    let n = |k: &str| c[k].as_u64().unwrap();
    (n("read"), n("imported"), n("normalised"), n("refused"))
}

fn nothing_in(target: &TestDb) {
    for t in ["employees", "clients", "contracts", "events", "audit_log"] {
        assert_eq!(target.scalar(&format!("select count(*) from {t}")), "0", "{t}");
    }
    for t in ["employees", "clients", "contracts", "events"] {
        assert_eq!(
            target.scalar(&format!(
                "select pg_sequence_last_value(pg_get_serial_sequence('{t}', 'id'))"
            )),
            "",
            "the sequence of {t} was not touched"
        );
    }
}

fn sqlalchemy(url: &str) -> String {
    url.replacen("postgres://", "postgresql+psycopg2://", 1)
}

#[test]
fn the_original_company_imports_whole_with_its_ids_and_sequences() {
    let src = source("");
    let target = TestDb::new();
    // the keys and indexes set aside for the bulk load come back exactly as they were
    const SCHEMA_NOW: &str = "(select string_agg(conrelid::regclass || ' ' || conname || ' ' \
        || pg_get_constraintdef(oid), E'\\n' order by conrelid::regclass::text, conname) \
        from pg_constraint where connamespace = 'public'::regnamespace) || E'\\n' || \
        (select string_agg(indexdef, E'\\n' order by indexname) from pg_indexes \
        where schemaname = 'public')";
    let before = target.scalar(SCHEMA_NOW);
    // the original's own `.env` form
    let r = import(&target, &sqlalchemy(&src.url), &[]).ok().json();
    assert_eq!(target.scalar(SCHEMA_NOW), before);
    assert!(before.contains("events_contract_fk") && before.contains("employees_email_key"));
    assert_eq!(r["imported"], true);
    assert_eq!(counts(&r, "employees"), (5, 5, 0, 0));
    assert_eq!(counts(&r, "clients"), (3, 3, 0, 0));
    assert_eq!(counts(&r, "contracts"), (4, 4, 0, 0));
    assert_eq!(counts(&r, "events"), (2, 2, 0, 0));
    assert_eq!(r["estimated"]["signed_at"], 3);
    assert_eq!(r["refused"], serde_json::json!([]));
    let shown = r["source"].as_str().unwrap();
    assert!(shown.contains(":***@") && !shown.contains("test-superuser-password"), "{shown}");

    let q = |sql: &str| target.scalar(sql);
    assert_eq!(q("select string_agg(id::text, ',' order by id) from employees"), "1,2,3,4,5");
    assert_eq!(
        q(
            "select string_agg(id || ':' || total_amount || '/' || amount_due, ',' order by id) from contracts"
        ),
        "1:1000.00/1000.00,2:5000.50/0.00,3:300.00/300.00,4:42.00/0.00"
    );
    // instants kept to the microsecond; an updated_at the original left NULL is created_at
    assert_eq!(
        q("select created_at = '2026-12-01 21:35:16.338915+01' from employees where id = 1"),
        "true"
    );
    assert_eq!(q("select updated_at = created_at from clients where id = 1"), "true");
    assert_eq!(
        q("select updated_at = '2026-12-01 21:35:40.960745+01' from clients where id = 2"),
        "true"
    );
    // events: start/end kept, a name from the client and the location
    assert_eq!(
        q(
            "select string_agg(id || '|' || name || '|' || start_at || '|' || end_at, ',' order by id) from events"
        ),
        "1|Dupont SA — Salle Pleyel, Paris|2026-06-04 12:00:00+00|2026-06-04 16:00:00+00,\
         2|Marie Curie — Lyon|2026-07-01 07:00:00+00|2026-07-02 15:00:00+00"
    );
    // signed_at: the first event when it came before the last update, else the last
    // update, else the creation
    assert_eq!(
        q(
            "select string_agg(id || ':' || coalesce(signed_at::text, '-'), ',' order by id) from contracts"
        ),
        "1:-,2:2026-12-01 20:35:43.559016+00,3:2026-12-01 20:35:40.962226+00,4:2026-12-01 20:35:39.718377+00"
    );
    // deactivated_at follows is_active; the reactivation is kept in the audit row
    assert_eq!(
        q(
            "select string_agg(id || ':' || is_active || ':' || (deactivated_at is not null), ',' order by id) from employees"
        ),
        "1:true:false,2:true:false,3:true:false,4:true:false,5:false:true"
    );
    assert_eq!(
        q("select changes->'reactivated_at'->>'3' from audit_log where action = 'database.import'"),
        "2026-12-01T20:35:26.578890Z"
    );
    assert_eq!(q("select count(*) from audit_log"), "1");

    // the next ids are past the original's sequences (an employee 6 and an event 3 were made
    // and deleted there): never handed out again
    let ada = User::new(target.url.clone());
    ada.run_stdin("Secret123!\n", ["login", "ada@epic.com"]).ok();
    let e = ada
        .run_stdin(
            "Newcomer-pw-1\n",
            ["--json", "employee", "create", "New", "Comer", "new@epic.com", "-", "SUPPORT"],
        )
        .ok()
        .json();
    assert_eq!(e["id"], 7);
    let sam = User::new(target.url.clone());
    sam.run_stdin("pw-sam-1\n", ["login", "sam@epic.com"]).ok();
    let c = sam.run(["--json", "client", "create", "Ny", "Client", "ny@example.fr"]).ok().json();
    assert_eq!(c["id"], 4);
    let ev = sam
        .run([
            "--json",
            "event",
            "create",
            "2",
            "--name",
            "Gala",
            "--start",
            "2027-01-10T18:00:00Z",
            "--end",
            "2027-01-10T23:00:00Z",
            "--location",
            "Nice",
            "--attendees",
            "10",
        ])
        .ok()
        .json();
    assert_eq!(ev["id"], 4);
    let k = ada.run(["--json", "contract", "create", "1", "10"]).ok().json();
    assert_eq!(k["id"], 5);
}

#[test]
fn every_active_account_logs_in_with_its_old_password_and_is_rehashed() {
    let src = source("");
    let target = TestDb::new();
    import(&target, &src.url, &[]).ok();
    let hash = |email: &str| {
        target.scalar(&format!("select password_hash from employees where email = '{email}'"))
    };
    // a wrong password changes nothing
    let someone = User::new(target.url.clone());
    someone.run_stdin("not-her-password\n", ["login", "ada@epic.com"]).code(3);
    assert!(hash("ada@epic.com").starts_with("$argon2id$v=19$m=65536,t=3,p=4$"));
    for (email, password, active) in ACCOUNTS {
        let before = hash(email);
        assert!(before.starts_with("$argon2id$v=19$m=65536,t=3,p=4$"), "{email}: copied as is");
        let u = User::new(target.url.clone());
        let r = u.run_stdin(&format!("{password}\n"), ["login", email]);
        if active {
            r.ok();
            let after = hash(email);
            assert!(after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{email}: {after}");
            u.run(["whoami"]).ok().stdout_has(email);
            // the new hash is of the same password: the next login works, and keeps it
            let again = User::new(target.url.clone());
            again.run_stdin(&format!("{password}\n"), ["login", email]).ok();
            assert_eq!(hash(email), after);
        } else {
            r.code(3).stderr_has("deactivated");
            assert_eq!(hash(email), before, "a refused login rehashes nothing");
        }
    }
}

#[test]
fn a_dry_run_checks_everything_and_writes_nothing() {
    let src = source("");
    let target = TestDb::new();
    // the form of psycopg 3, as the original's `.env` writes it
    let psycopg = src.url.replacen("postgres://", "postgresql+psycopg://", 1);
    let r = import(&target, &psycopg, &["--dry-run"]).ok().json();
    assert_eq!(r["dry_run"], true);
    assert_eq!(r["imported"], false);
    assert_eq!(counts(&r, "events"), (2, 2, 0, 0));
    assert_eq!(r["next_ids"]["employees"], 7);
    nothing_in(&target);
    let h = human_import(&target, &src.url, &["--dry-run"]).ok();
    assert!(h.stdout.contains("(dry run: nothing written)"), "{}", h.stdout);
    assert!(
        h.stdout.contains("employees           5          5          0          0"),
        "{}",
        h.stdout
    );
    nothing_in(&target);
    // the source is only read
    assert_eq!(src.scalar("select count(*) from events"), "2");
}

#[test]
fn a_target_that_is_not_empty_or_not_migrated_is_refused() {
    let src = source("");
    let target = TestDb::new();
    target.employees(&[("Ann", "ann@example.com", "MANAGEMENT")]);
    import(&target, &src.url, &[])
        .code(6)
        .stderr_has("the target database is not empty (it holds employees)");
    import(&target, &src.url, &["--dry-run"]).code(6);
    assert_eq!(target.scalar("select count(*) from employees"), "1");
    let bare = TestDb::unmigrated();
    import(&bare, &src.url, &[]).code(7).stderr_has("not migrated");
}

#[test]
fn a_source_that_is_not_the_originals_schema_is_refused() {
    let target = TestDb::new();
    let ours = TestDb::new();
    import(&target, &ours.url, &[]).code(7).stderr_has("an epicevents database already");
    let empty = TestDb::unmigrated();
    import(&target, &empty.url, &[]).code(7).stderr_has("it has no table employees");
    let older = source("alter table employees drop column reactivated_at");
    import(&target, &older.url, &[])
        .code(7)
        .stderr_has("its table employees has no column reactivated_at");
    let revision = source("update alembic_version set version_num = 'a1b2c3d4e5f6'");
    import(&target, &revision.url, &[])
        .code(7)
        .stderr_has("Alembic revision a1b2c3d4e5f6, not 0d47bbb3cd0c");
    // made by create_all: no alembic_version at all, the same tables
    let created = source("drop table alembic_version");
    import(&target, &created.url, &["--dry-run"]).ok();
    nothing_in(&target);
    // not a database URL, an unreachable one: usage and unavailable, the password never shown
    let u = User::new(target.url.clone());
    let r = u.run(["db", "import", "--from", "mysql://root:hunter2@h/db"]).code(2);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    let r = u.run(["db", "import", "--from", "postgresql://u:hunter2@127.0.0.1:1/db"]).code(7);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
}

/// Rows that break each rule of the notes' list (what the original accepts), after the valid
/// company, and rows that only depend on refused ones.
const BAD_ROWS: &str = r"
insert into employees (id, first_name, last_name, email, role, password_hash, created_at, is_active, deactivated_at, reactivated_at) values
  (7, 'Ada', 'Again', 'ADA@epic.com', 'SUPPORT', 'HASH', '2026-12-01 22:00+01', true, null, null),
  (8, 'Admin', 'Local', 'admin@localhost', 'SALES', 'HASH', '2026-12-01 22:00+01', true, null, null),
  (9, '  ', 'Blank', 'blank@epic.com', 'SUPPORT', 'HASH', '2026-12-01 22:00+01', true, null, null),
  (10, 'Tab', E'Bad\there', 'tab@epic.com', 'SUPPORT', 'HASH', '2026-12-01 22:00+01', true, null, null),
  (11, 'Plain', 'Text', 'plain@epic.com', 'SUPPORT', 'hunter2-not-a-hash', '2026-12-01 22:00+01', true, null, null),
  (12, 'Spaced', 'Out', ' spaced@epic.com ', 'SUPPORT', 'HASH', '2026-12-01 22:00+01', true, '2026-12-01 22:05+01', null),
  (13, 'Gone', 'Quiet', 'quiet@epic.com', 'SUPPORT', 'HASH', '2026-12-01 22:00+01', false, null, null),
  (14, 'No', 'At', 'noat.epic.com', 'SUPPORT', 'HASH', '2026-12-01 22:00+01', true, null, null);
insert into clients (id, email, phone, company_name, sales_contact_id, created_at, first_name, last_name, updated_at) values
  (10, 'long@example.fr', null, repeat('x', 201), 2, '2026-12-01 22:00+01', 'Long', 'Name', null),
  (11, 'phone@example.fr', E'01\n02', null, 2, '2026-12-01 22:00+01', 'Two', 'Lines', null),
  (12, 'JEAN.DUPONT@example.fr', null, null, 2, '2026-12-01 22:00+01', 'Jean', 'Twice', null),
  (13, 'boss@example.fr', null, null, 1, '2026-12-01 22:00+01', 'Managed', 'By', null),
  (14, 'dep@example.fr', null, null, 8, '2026-12-01 22:00+01', 'Dep', 'Endent', null),
  (15, 'trim@example.fr', '  ', '  Trim SA  ', 2, '2026-12-01 22:00+01', ' Trim ', 'Me', null);
insert into contracts (id, client_id, sales_contact_id, total_amount, amount_due, is_signed, created_at, updated_at) values
  (10, 1, 2, 0.00, 0.00, false, '2026-12-01 22:00+01', null),
  (11, 1, 4, 100.00, 100.00, true, '2026-12-01 22:00+01', null),
  (12, 1, 2, 100.00, 150.00, false, '2026-12-01 22:00+01', null),
  (13, 14, 8, 100.00, 100.00, true, '2026-12-01 22:00+01', null),
  (14, 1, 2, 'infinity'::numeric(10,2), 0, true, '2026-12-01 22:00+01', null);
";

const BAD_EVENTS: &str = r"
insert into events (id, contract_id, client_id, support_contact_id, start_date, end_date, location, attendees, notes, created_at, updated_at) values
  (10, 2, 1, null, '2026-03-29 03:30+02', '2026-03-29 01:30+01', 'Gap', 5, null, '2026-12-01 22:00+01', null),
  (11, 2, 2, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', 'Wrong client', 5, null, '2026-12-01 22:00+01', null),
  (12, 2, 1, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', 'Negative', -5, null, '2026-12-01 22:00+01', null),
  (13, 2, 1, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', '   ', 5, null, '2026-12-01 22:00+01', null),
  (14, 2, 1, 2, '2026-06-01 10:00+02', '2026-06-01 12:00+02', 'Sales support', 5, null, '2026-12-01 22:00+01', null),
  (15, 2, 1, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', 'Escape', 5, E'a\033[31mred', '2026-12-01 22:00+01', null),
  (16, 2, 1, null, 'infinity', '2026-06-01 12:00+02', 'Forever', 5, null, '2026-12-01 22:00+01', null),
  (17, 13, 14, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', 'Dependent', 5, null, '2026-12-01 22:00+01', null),
  (18, 2, 1, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', repeat('y', 201), 5, null, '2026-12-01 22:00+01', null),
  (19, 2, 1, null, '2026-06-01 10:00+02', '2026-06-01 12:00+02', ' Paris ', 5, E'  line one\r\nline two  ', '2026-12-01 22:00+01', null);
";

#[test]
fn rows_breaking_each_rule_are_refused_each_named_and_nothing_is_written() {
    // numeric(10,2) cannot hold infinity: that contract goes
    let rows = BAD_ROWS.replace("HASH", PYTHON_HASH).replace(
        ",\n  (14, 1, 2, 'infinity'::numeric(10,2), 0, true, '2026-12-01 22:00+01', null)",
        "",
    );
    let src = source(&format!("{rows}{BAD_EVENTS}"));
    let target = TestDb::new();
    let r = import(&target, &src.url, &[]).code(6);
    assert!(r.stderr.contains("row(s) of the source break the rules: nothing was imported"));
    let j = r.json();
    nothing_in(&target);
    let refused = j["refused"].as_array().unwrap();
    let find = |table: &str, id: i64, column: &str| -> &Value {
        refused
            .iter()
            .find(|f| f["table"] == table && f["id"] == id && f["column"] == column)
            .unwrap_or_else(|| panic!("{table} {id} {column} not refused: {j:#}"))
    };
    // every rule of the notes' list, each named
    assert!(find("employees", 7, "email")["rule"].as_str().unwrap().contains("employees 1"));
    assert_eq!(find("employees", 8, "email")["value"], "admin@localhost");
    find("employees", 14, "email");
    assert!(
        find("employees", 9, "first_name")["rule"].as_str().unwrap().contains("cannot be empty")
    );
    assert_eq!(find("employees", 10, "last_name")["value"], "Bad\there");
    let hash = find("employees", 11, "password_hash");
    assert_eq!(hash["value"], Value::Null, "a hash is never shown");
    assert!(!j.to_string().contains("hunter2-not-a-hash"));
    assert!(find("clients", 10, "company_name")["rule"].as_str().unwrap().contains("too long"));
    find("clients", 11, "phone");
    assert!(find("clients", 12, "email")["rule"].as_str().unwrap().contains("clients 1"));
    assert!(
        find("clients", 13, "sales_contact_id")["rule"].as_str().unwrap().contains("not SALES")
    );
    assert!(
        find("contracts", 10, "total_amount")["rule"].as_str().unwrap().contains("more than 0")
    );
    assert!(
        find("contracts", 11, "sales_contact_id")["rule"].as_str().unwrap().contains("client 1")
    );
    assert!(find("contracts", 12, "amount_due")["rule"].as_str().unwrap().contains("at most"));
    assert!(
        find("events", 10, "end_date")["rule"].as_str().unwrap().contains("end after it starts")
    );
    assert!(find("events", 11, "client_id")["rule"].as_str().unwrap().contains("contract 2"));
    find("events", 12, "attendees");
    find("events", 13, "location");
    assert!(
        find("events", 14, "support_contact_id")["rule"].as_str().unwrap().contains("not SUPPORT")
    );
    assert_eq!(find("events", 15, "notes")["value"], "a\u{1b}[31mred");
    assert_eq!(find("events", 16, "start_date")["value"], "infinity");
    find("events", 18, "location");
    // rows refused only because of another are listed under it, not as refusals of their own
    let admin = find("employees", 8, "email");
    let deps: Vec<(String, i64, String, i64)> = admin["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["table"].as_str().unwrap().to_owned(),
                d["id"].as_i64().unwrap(),
                d["because_of"]["table"].as_str().unwrap().to_owned(),
                d["because_of"]["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deps,
        [
            ("clients".to_owned(), 14, "employees".to_owned(), 8),
            ("contracts".to_owned(), 13, "clients".to_owned(), 14),
            ("events".to_owned(), 17, "contracts".to_owned(), 13),
        ]
    );
    for (t, id) in [("clients", 14), ("contracts", 13), ("events", 17)] {
        assert!(!refused.iter().any(|f| f["table"] == t && f["id"] == id), "{t} {id}");
    }
    assert_eq!(counts(&j, "employees"), (13, 0, 2, 6));
    assert_eq!(counts(&j, "clients"), (9, 0, 1, 5));
    assert_eq!(counts(&j, "contracts"), (8, 0, 0, 4));
    assert_eq!(counts(&j, "events"), (12, 0, 1, 9));
    // lossless normalisations are counted, never refused: spaces around an e-mail, empty
    // optional text, CRLF in notes, deactivated_at made to follow is_active
    let norm: Vec<String> = j["normalised"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{} {} {}",
                n["table"].as_str().unwrap(),
                n["id"],
                n["column"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "employees 12 email",
        "employees 12 deactivated_at",
        "employees 13 deactivated_at",
        "clients 15 first_name",
        "clients 15 phone",
        "clients 15 company_name",
        "events 19 location",
        "events 19 notes",
    ] {
        assert!(norm.contains(&want.to_owned()), "{want} not in {norm:?}");
    }
    // the same with --dry-run: the same report, the same exit code
    let dry = import(&target, &src.url, &["--dry-run"]).code(6).json();
    assert_eq!(dry["refused"], j["refused"]);
    nothing_in(&target);
}

#[test]
fn a_control_character_in_a_source_value_is_shown_escaped() {
    let src = source(
        r"update employees set last_name = E'Admin\033[2J\nforged line' where id = 1;
          update events set notes = E'ok\033]0;title\007' where id = 1;",
    );
    let target = TestDb::new();
    let r = human_import(&target, &src.url, &[]).code(6);
    assert!(!r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}'), "{:?}", r.stdout);
    assert!(r.stdout.contains(r#"value "Admin\u{1b}[2J\nforged line""#), "{}", r.stdout);
    assert!(r.stdout.contains(r"ok\u{1b}]0;title\u{7}"), "{}", r.stdout);
    assert!(r.stdout.contains("employees 1, last_name"), "{}", r.stdout);
    // the event and everything that depends on Ada (nothing) is refused; nothing written
    nothing_in(&target);
    let j = import(&target, &src.url, &[]).code(6).json();
    assert_eq!(j["refused"][0]["value"], "Admin\u{1b}[2J\nforged line");
}

#[test]
fn contracts_follow_client_gives_a_contract_its_clients_sales_contact() {
    // `contracts reassign` in the original: contract 2 of client 1 (Sam's) given to Sal
    let src = source("update contracts set sales_contact_id = 4 where id = 2");
    let target = TestDb::new();
    let r = import(&target, &src.url, &[]).code(6).json();
    assert_eq!(r["refused"][0]["table"], "contracts");
    assert_eq!(r["refused"][0]["id"], 2);
    assert_eq!(r["refused"][0]["column"], "sales_contact_id");
    // its event depends on it
    assert_eq!(r["refused"][0]["dependents"][0]["table"], "events");
    assert_eq!(r["refused"][0]["dependents"][0]["id"], 1);
    let r = import(&target, &src.url, &["--contracts-follow-client"]).ok().json();
    assert_eq!(
        r["changed"],
        serde_json::json!([{"table": "contracts", "id": 2, "column": "sales_contact_id", "from": 4, "to": 2}])
    );
    assert_eq!(target.scalar("select sales_contact_id from contracts where id = 2"), "2");
    assert_eq!(counts(&r, "contracts"), (4, 4, 0, 0));
    let h =
        human_import(&TestDb::new(), &src.url, &["--contracts-follow-client", "--dry-run"]).ok();
    assert!(h.stdout.contains("contracts 2: sales_contact_id 4 -> 2"), "{}", h.stdout);
}

#[test]
fn event_times_zone_takes_the_stored_times_as_wall_clock_times_of_the_zone() {
    // the original on a UTC database: "14:00" typed in Paris was stored as 14:00 UTC
    let src = source(
        "insert into events (id, contract_id, client_id, support_contact_id, start_date, end_date,
           location, attendees, notes, created_at, updated_at)
         values (5, 3, 2, null, '2026-06-10 14:00:00+00', '2026-06-10 18:30:00+00', 'Lyon', 3,
                 null, '2026-12-01 22:00+01', null)",
    );
    let plain = TestDb::new();
    import(&plain, &src.url, &[]).ok();
    assert_eq!(plain.scalar("select start_at from events where id = 5"), "2026-06-10 14:00:00+00");
    let target = TestDb::new();
    let r = import(&target, &src.url, &["--event-times-zone", "Europe/Paris"]).ok().json();
    assert_eq!(r["event_times_zone"], "Europe/Paris");
    assert_eq!(
        target.scalar("select start_at || ' ' || end_at from events where id = 5"),
        "2026-06-10 12:00:00+00 2026-06-10 16:30:00+00"
    );
    // winter time too: 14:00 in January is 13:00 UTC
    let winter = source(
        "update events set start_date = '2027-01-15 14:00+00', end_date = '2027-01-15 15:00+00' where id = 2",
    );
    let t2 = TestDb::new();
    import(&t2, &winter.url, &["--event-times-zone", "Europe/Paris"]).ok();
    assert_eq!(t2.scalar("select start_at from events where id = 2"), "2027-01-15 13:00:00+00");
    // a wall-clock time that Paris skips (the last Sunday of March, 02:30) is refused
    let gap = source(
        "update events set start_date = '2026-03-29 02:30+00', end_date = '2026-03-29 05:00+00' where id = 2",
    );
    let t3 = TestDb::new();
    let r = import(&t3, &gap.url, &["--event-times-zone", "Europe/Paris"]).code(6).json();
    assert_eq!(r["refused"][0]["column"], "start_date");
    assert!(r["refused"][0]["rule"].as_str().unwrap().contains("does not exist in Europe/Paris"));
    nothing_in(&t3);
    import(&t3, &src.url, &["--event-times-zone", "Mars/Olympus"])
        .code(2)
        .stderr_has("unknown time zone");
    nothing_in(&t3);
}
