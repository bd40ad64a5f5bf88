//! A newcomer's first hour (issue 14): what a person meets first, each through the binary.
//! (Help without a subcommand, permission before prompts, cancelling, confirming a
//! self-demotion and the delete blockers are in `terminal.rs`; logout without a session and
//! logging in over one in `auth.rs`; the demo's commands and hours in `embedded.rs`.)

use crate::common::*;

#[test]
fn ids_are_positive_integers_with_one_clear_message() {
    let c = crm();
    for bad in ["abc", "99999999999999999999", "0", "1.5"] {
        c.mia
            .run(["event", "show", bad])
            .code(2)
            .stderr_has(&format!("error: not a valid id: {bad}"))
            .stderr_has("hint: see `epicevents event show --help`");
    }
    // a negative id is an id, not an option: with or without `--`
    c.mia.run(["event", "show", "--", "-1"]).code(2).stderr_has("not a valid id: -1");
    c.mia.run(["event", "show", "-1"]).code(2).stderr_has("error: not a valid id: -1");
    c.mia.run(["event", "assign", "1", "x"]).code(2).stderr_has("not a valid id: x");
    c.mia.run(["contract", "list", "--client", "-3"]).code(2).stderr_has("not a valid id: -3");
    c.mia.run(["event", "list", "--after", "-1"]).code(2).stderr_has("not a valid id: -1");
    // paging numbers say what they accept, in the same words
    for (option, bad, says) in [
        ("--limit", "-1", "not a valid limit: -1 (a whole number from 1 to 100000"),
        ("--limit", "0", "not a valid limit: 0"),
        ("--offset", "-1", "not a valid offset: -1 (a whole number from 0)"),
    ] {
        c.mia
            .run(["client", "list", option, bad])
            .code(2)
            .stderr_has(&format!("error: {says}"))
            .stderr_has("hint: see `epicevents client list --help`");
    }
}

#[test]
fn lists_and_records_name_the_contacts_and_align_amounts() {
    let c = crm();
    c.mia.run(["contract", "create", "1", "25.5", "--signed"]).ok();
    let table = c.mia.run(["contract", "list"]).ok().stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].contains("Kevin Casey (1)") && lines[1].contains("Sam Test (2)"), "{table}");
    // amounts are right-aligned: their last digits line up under the header's last letter
    let end = |l: &str, needle: &str| l.find(needle).unwrap() + needle.len();
    assert_eq!(end(lines[0], "TOTAL"), end(lines[1], "1000.00"), "{table}");
    assert_eq!(end(lines[0], "TOTAL"), end(lines[2], "25.50"), "{table}");
    c.mia.run(["event", "assign", "1", "3"]).ok();
    let events = c.mia.run(["event", "list"]).ok().stdout;
    assert!(events.contains("Kevin Casey (1)") && events.contains("Sue Test (3)"), "{events}");
    let show = c.mia.run(["event", "show", "1"]).ok().stdout;
    assert!(show.contains("support_contact:") && show.contains("Sue Test (3)"), "{show}");
    let client = c.mia.run(["client", "show", "1"]).ok().stdout;
    assert!(client.contains("sales_contact:") && client.contains("Sam Test (2)"), "{client}");
    // and in JSON, beside the ids
    let json = c.mia.run(["--json", "event", "show", "1"]).ok().json();
    assert_eq!(
        (json["support_contact_id"].as_i64(), json["support_contact_name"].as_str()),
        (Some(3), Some("Sue Test"))
    );
}

#[test]
fn the_audit_trail_keeps_what_was_created_and_deleted_and_who_did_it() {
    let c = crm();
    c.sam
        .run(["client", "create", "Lea", "Martin", "lea@martin-events.fr", "--phone", "0102"])
        .ok();
    c.mia.run(["client", "delete", "2", "--yes"]).ok();
    c.mia.add_employee("Max", "max@example.com", "MANAGEMENT");
    let max = c.db.logged_in(6);
    max.run(["contract", "create", "1", "300"]).ok();
    max.run(["contract", "delete", "2", "--yes"]).ok();
    max.run(["event", "delete", "1", "--yes"]).ok();
    c.mia.run(["employee", "deactivate", "6"]).ok();
    c.mia.run(["employee", "delete", "6", "--yes"]).ok();
    let rows = c.mia.run(["--json", "audit", "list", "--all"]).ok().json();
    let by = |action: &str| {
        rows.as_array().unwrap().iter().find(|r| r["action"] == action).unwrap().clone()
    };
    let created = by("client.create");
    assert_eq!(created["changes"]["email"], "lea@martin-events.fr");
    assert_eq!(created["changes"]["phone"], "0102");
    let deleted = by("client.delete");
    assert_eq!(deleted["changes"]["email"], "lea@martin-events.fr", "{deleted}");
    assert_eq!(deleted["changes"]["last_name"], "Martin");
    assert_eq!(by("contract.delete")["changes"]["total_amount"], "300.00");
    assert_eq!(by("event.delete")["changes"]["name"], "Launch party");
    // the actor by name too, still once that employee is gone
    let by_max = by("event.delete");
    assert_eq!(
        (by_max["actor_id"].as_i64(), by_max["actor_name"].as_str()),
        (Some(6), Some("Max Test"))
    );
    assert_eq!(c.db.scalar("select count(*) from employees where id = 6"), "0");
    let table = c.mia.run(["audit", "list", "--all"]).ok().stdout;
    assert!(table.contains("Max Test (6)"), "{table}");
    // never a hash
    assert!(!rows.to_string().contains("argon2"));
}

#[test]
fn help_and_hints_say_the_same_things_the_same_way() {
    let db = TestDb::new();
    let u = db.user();
    let top = u.run(["--help"]).ok().stdout;
    assert!(top.contains("migrate, status, import, stop, seed, backup, restore"), "{top}");
    let c = crm();
    for (args, help) in [
        (vec!["client", "update", "1"], "epicevents client update --help"),
        (vec!["event", "update", "1"], "epicevents event update --help"),
        (vec!["employee", "update", "1"], "epicevents employee update --help"),
        (vec!["contract", "update", "1"], "epicevents contract update --help"),
    ] {
        c.mia
            .run(&args)
            .code(2)
            .stderr_has("nothing to update")
            .stderr_has(&format!("hint: see `{help}`"));
    }
    c.sam
        .run(["client", "create", "K", "C", "KEVIN@startup.io"])
        .code(6)
        .stderr_has("hint: find it with `epicevents client list --search EMAIL`");
    c.mia
        .run(["employee", "create", "S", "T", "sam@example.com", PASSWORD, "SALES"])
        .code(6)
        .stderr_has("hint: see `epicevents employee list --state all`");
}
