//! Spec §4, the `event` group.

use crate::common::*;

#[test]
fn create_needs_the_owning_sales_and_a_signed_contract() {
    let c = crm();
    let args = |contract: &'static str| {
        vec![
            "--json",
            "event",
            "create",
            contract,
            "--name",
            "Gala",
            "--start",
            "2030-01-10T18:00:00+02:00",
            "--end",
            "2030-01-10 23:30",
            "--location",
            "Lyon",
            "--attendees",
            "0",
            "--notes",
            "Black tie",
        ]
    };
    let e = c.sam.run(args("1")).ok().json();
    assert_eq!(e["client_id"], 1);
    assert_eq!(e["start_at"], "2030-01-10T16:00:00Z", "stored and shown in UTC");
    assert_eq!(e["end_at"], "2030-01-10T23:30:00Z", "local time is TZ (UTC in tests)");
    assert!(e["support_contact_id"].is_null());
    for k in [
        "id",
        "contract_id",
        "client_id",
        "name",
        "start_at",
        "end_at",
        "location",
        "attendees",
        "notes",
        "support_contact_id",
        "created_at",
        "updated_at",
    ] {
        assert!(e.get(k).is_some(), "{k}");
    }
    let r = c.sid.run(args("1")).code(4);
    assert_eq!(r.stderr, "error: permission denied: only the client's sales contact may do this\n");
    c.mia.run(args("1")).code(4).stderr_has("SALES only");
    c.sue.run(args("1")).code(4);
    c.mia.run(["contract", "create", "1", "100"]).ok();
    c.sam.run(args("2")).code(6).stderr_has("not signed");
    c.sam.run(args("99")).code(5);
}

#[test]
fn invalid_event_input_is_exit_2() {
    let c = crm();
    let base = |over: &[(&str, &str)]| -> Vec<String> {
        let mut fields = vec![
            ("--name", "Gala"),
            ("--start", "2030-01-10 18:00"),
            ("--end", "2030-01-10 20:00"),
            ("--location", "Lyon"),
            ("--attendees", "10"),
        ];
        for (k, v) in over {
            fields.iter_mut().find(|(fk, _)| fk == k).unwrap().1 = v;
        }
        let mut a: Vec<String> = vec!["event".into(), "create".into(), "1".into()];
        for (k, v) in fields {
            a.push(k.into());
            a.push(v.into());
        }
        a
    };
    for over in [
        vec![("--end", "2030-01-10 17:00")],
        vec![("--end", "2030-01-10 18:00")],
        vec![("--attendees", "-1")],
        vec![("--attendees", "many")],
        vec![("--start", "next tuesday")],
        vec![("--start", "2030-02-30 10:00")],
        vec![("--location", "   ")],
        vec![("--name", "")],
    ] {
        c.sam.run(base(&over)).code(2);
    }
    assert_eq!(c.db.scalar("select count(*) from events"), "1");
    c.mia.run(["event", "update", "1"]).code(2).stderr_has("nothing to update");
    c.mia
        .run(["event", "update", "1", "--end", "2030-06-04 17:00"])
        .code(2)
        .stderr_has("end after");
    c.mia.run(["event", "update", "1", "--start", "2030-06-05 00:00"]).code(2);
    c.mia.run(["event", "update", "1", "--location", ""]).code(2);
    c.mia.run(["event", "update", "1", "--attendees", "-3"]).code(2);
}

crate::in_every_mode! {
    fn assign_update_unassign_delete() {
        let c = crm();
        c.sue.run(["event", "update", "1", "--attendees", "60"]).code(4);
        c.sam.run(["event", "assign", "1", "3"]).code(4);
        c.mia.run(["event", "assign", "1", "2"]).code(6).stderr_has("not an active SUPPORT");
        c.mia.run(["event", "assign", "1", "99"]).code(5);
        c.mia.run(["event", "assign", "99", "3"]).code(5);
        let a = c.mia.run(["--json", "event", "assign", "1", "3"]).ok().json();
        assert_eq!(a["support_contact_id"], 3);
        let u = c
            .sue
            .run(["--json", "event", "update", "1", "--attendees", "60", "--notes", "Band at 9"])
            .ok()
            .json();
        assert_eq!(u["attendees"], 60);
        assert_eq!(u["notes"], "Band at 9");
        c.uma.run(["event", "update", "1", "--attendees", "1"]).code(4);
        c.sam.run(["event", "update", "1", "--attendees", "1"]).code(4);
        c.mia.run(["event", "update", "1", "--notes", ""]).ok();
        assert_eq!(c.db.scalar("select coalesce(notes, 'NULL') from events where id = 1"), "NULL");
        let un = c.mia.run(["--json", "event", "unassign", "1"]).ok().json();
        assert!(un["support_contact_id"].is_null());
        c.mia.run(["event", "unassign", "1"]).code(6).stderr_has("no support contact");
        c.sue.run(["event", "update", "1", "--attendees", "2"]).code(4);
        c.sue.run(["event", "delete", "1", "--yes"]).code(4);
        c.mia.run(["employee", "deactivate", "5"]).ok();
        c.mia.run(["event", "assign", "1", "5"]).code(6);
        c.mia.run(["event", "delete", "1", "--yes"]).ok();
        c.mia.run(["event", "show", "1"]).code(5);
        let update = c
            .db
            .scalar("select changes from audit_log where action = 'event.update' order by id limit 1");
        assert!(update.contains(r#""attendees": {"to": 60, "from": 50}"#), "{update}");
        assert!(update.contains(r#""notes": {"to": "Band at 9", "from": null}"#), "{update}");
        assert!(!update.contains("location"), "unchanged fields are not listed: {update}");
        let actions = c
            .db
            .scalar("select string_agg(action, ',' order by id) from audit_log where entity = 'event'");
        assert_eq!(
            actions,
            "event.assign,event.update,event.update,event.unassign,event.delete"
        );
    }
}

#[test]
fn list_filters_mine_upcoming_contract_and_no_support() {
    let c = crm();
    c.sam
        .run([
            "event",
            "create",
            "1",
            "--name",
            "Past",
            "--start",
            "2020-01-01 10:00",
            "--end",
            "2020-01-01 12:00",
            "--location",
            "Nice",
            "--attendees",
            "5",
        ])
        .ok();
    c.mia.run(["event", "assign", "2", "3"]).ok();
    let ids = |u: &User, args: &[&str]| -> Vec<i64> {
        let mut a = vec!["--json", "event", "list"];
        a.extend_from_slice(args);
        u.run(a).ok().json().as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(ids(&c.uma, &[]), [1, 2]);
    assert_eq!(ids(&c.uma, &["--no-support"]), [1]);
    assert_eq!(ids(&c.uma, &["--without-support"]), [1]);
    assert_eq!(ids(&c.uma, &["--upcoming"]), [1]);
    assert_eq!(ids(&c.uma, &["--contract", "1"]), [1, 2]);
    assert_eq!(ids(&c.sue, &["--mine"]), [2]);
    assert_eq!(ids(&c.sue, &["--assigned-to-me"]), [2]);
    assert_eq!(ids(&c.uma, &["--mine"]), Vec::<i64>::new());
    assert_eq!(ids(&c.sam, &["--mine"]), [1, 2], "SALES: my clients' events");
    assert_eq!(ids(&c.sid, &["--mine"]), Vec::<i64>::new());
    c.mia.run(["event", "list", "--mine"]).code(4);
    let shown = c.sue.run(["event", "show", "1"]).ok().stdout;
    assert!(
        shown.contains("start_at:") && shown.contains("2030-06-04 18:00"),
        "local time: {shown}"
    );
}

#[test]
fn audit_list_is_for_managers_and_never_shows_secrets() {
    let c = crm();
    c.mia.run(["client", "update", "1", "--phone", "0102030405"]).ok();
    c.mia.run(["contract", "pay", "1", "50"]).ok();
    c.mia.run(["contract", "pay", "1", "100"]).ok();
    let rows = c.mia.run(["--json", "audit", "list", "--limit", "3"]).ok().json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["action"], "contract.pay", "newest first");
    assert_eq!(rows[0]["actor_id"], 1);
    assert_eq!(rows[0]["entity"], "contract");
    assert_eq!(rows[0]["changes"]["amount"], "100.00");
    let all = c.mia.run(["audit", "list", "--limit", "1000"]).ok().stdout;
    assert!(!all.contains("argon2") && !all.contains(PASSWORD));
    let all = c.mia.run(["--json", "audit", "list", "--all"]).ok().json();
    let every = c.db.scalar("select count(*) from audit_log");
    assert_eq!(all.as_array().unwrap().len().to_string(), every);
    c.sam.run(["audit", "list"]).code(4);
    c.sue.run(["audit", "list"]).code(4);
}
