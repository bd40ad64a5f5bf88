//! Spec §16, the working day's second round: event lists by date, `show` with what hangs off
//! a record, payments as records, audit filters, employee states, confirmed deactivation and
//! signature — in every mode where the command exists in each.

use serde_json::Value;

use crate::common::*;
use crate::pty::Pty;

/// `crm()` plus events of contract 1 (client 1) at known starts, made out of id order:
/// 2 on 2030-06-10, 3 on 2030-06-04 09:00 (the day of event 1, earlier), 4 on 2030-06-04
/// 18:00 (a tie with event 1), 5 in the past; and client 2 (Sid's) with contract 2 and
/// event 6 on 2030-06-05.
fn dated() -> Crm {
    let c = crm();
    c.db.sql(
        "insert into events (contract_id, client_id, name, start_at, end_at, location, attendees)
         values (1, 1, 'Later', '2030-06-10 10:00Z', '2030-06-10 12:00Z', 'Lyon', 5),
                (1, 1, 'Morning', '2030-06-04 09:00Z', '2030-06-04 10:00Z', 'Lyon', 5),
                (1, 1, 'Tie', '2030-06-04 18:00Z', '2030-06-04 20:00Z', 'Lyon', 5),
                (1, 1, 'Past', '2020-01-01 10:00Z', '2020-01-01 12:00Z', 'Lyon', 5);
         insert into clients (first_name, last_name, email, sales_contact_id)
           values ('Other', 'Client', 'other@example.com', 4);
         insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
           values (2, 4, 500, 500, true, now());
         insert into events (contract_id, client_id, name, start_at, end_at, location, attendees)
           values (2, 2, 'Other gala', '2030-06-05 10:00Z', '2030-06-05 12:00Z', 'Nice', 5);",
    );
    c
}

fn listed(u: &User, args: &[&str]) -> Vec<i64> {
    let mut all = vec!["--json", "event", "list"];
    all.extend_from_slice(args);
    ids(&u.run(all).ok().json())
}

crate::in_every_mode! {
    fn event_lists_come_by_date_with_ranges_clients_and_keyset_pages() {
        let c = dated();
        // by id unless asked, or unless --upcoming / --from
        assert_eq!(listed(&c.sue, &[]), [1, 2, 3, 4, 5, 6]);
        assert_eq!(listed(&c.sue, &["--upcoming"]), [3, 1, 4, 6, 2], "start order, ties by id");
        assert_eq!(listed(&c.sue, &["--upcoming", "--sort", "id"]), [1, 2, 3, 4, 6]);
        assert_eq!(listed(&c.sue, &["--sort", "start"]), [5, 3, 1, 4, 6, 2]);
        // a date alone: local midnight for --from, the whole day for --to
        assert_eq!(listed(&c.sue, &["--from", "2030-06-04", "--to", "2030-06-04"]), [3, 1, 4]);
        assert_eq!(listed(&c.sue, &["--from", "2030-06-04 12:00"]), [1, 4, 6, 2]);
        assert_eq!(listed(&c.sue, &["--to", "2030-06-04T18:00:00Z", "--sort", "start"]), [5, 3, 1, 4]);
        assert_eq!(listed(&c.sue, &["--client", "2"]), [6]);
        assert_eq!(listed(&c.sue, &["--client", "1", "--upcoming"]), [3, 1, 4, 2]);
        assert_eq!(listed(&c.sam, &["--mine", "--upcoming"]), [3, 1, 4, 2]);
        // keyset pages in start order: the cursor is the last event's (start, id)
        assert_eq!(listed(&c.sue, &["--upcoming", "--limit", "2"]), [3, 1]);
        assert_eq!(listed(&c.sue, &["--upcoming", "--limit", "2", "--after", "1"]), [4, 6]);
        assert_eq!(listed(&c.sue, &["--upcoming", "--limit", "2", "--after", "6"]), [2]);
        assert_eq!(listed(&c.sue, &["--upcoming", "--after", "2"]), Vec::<i64>::new());
        // and by id, as before
        assert_eq!(listed(&c.sue, &["--after", "4"]), [5, 6]);
        // CSV and iCalendar follow the same order
        let csv = c.sue.run(["--csv", "event", "list", "--upcoming"]).ok().stdout;
        let first: Vec<&str> =
            csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(first, ["3", "1", "4", "6", "2"]);
        // failures: a cursor that is gone, an empty range, bad dates and orders
        c.sue
            .run(["event", "list", "--upcoming", "--after", "99"])
            .code(5)
            .stderr_has("event 99 (the --after cursor) not found");
        c.sue
            .run(["event", "list", "--from", "2030-06-05", "--to", "2030-06-04"])
            .code(2)
            .stderr_has("--from is after --to");
        c.sue.run(["event", "list", "--from", "June"]).code(2).stderr_has("invalid date");
        c.sue.run(["event", "list", "--to", "2030-02-30"]).code(2);
        c.sue.run(["event", "list", "--sort", "name"]).code(2);
        c.sue.run(["event", "list", "--client", "x"]).code(2).stderr_has("not a valid id");
    }

    fn show_gives_a_clients_contracts_and_events_and_a_contracts_events() {
        let c = dated();
        let out = c.sue.run(["client", "show", "1"]).ok().stdout;
        assert!(out.contains("email:") && out.contains("kevin@startup.io"), "{out}");
        assert!(out.contains("\nContracts (1):\n"), "{out}");
        assert!(out.contains("\nEvents of contract 1 (5):\n"), "{out}");
        // in start order: Past, Morning, Launch party, Tie, Later
        let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s} in {out}"));
        assert!(pos("Past") < pos("Morning") && pos("Morning") < pos("Launch party"));
        assert!(pos("Launch party") < pos("Tie") && pos("Tie") < pos("Later"), "{out}");
        assert!(!out.contains("Other gala"), "another client's event: {out}");
        // the contract's row and an event's as the tables have them
        let row = out.lines().find(|l| l.trim_start().starts_with("1 ") && l.contains("Sam Test (2)"));
        let row = row.unwrap_or_else(|| panic!("contract row in {out}"));
        assert!(row.contains("1000.00") && row.contains("yes"), "{row}");
        let launch = out.lines().find(|l| l.contains("Launch party")).unwrap();
        assert!(launch.contains("2030-06-04 18:00") && launch.contains("2030-06-04 23:00"), "{launch}");
        assert!(launch.contains("Paris") && launch.contains("50"), "{launch}");
        // --json is the client as before
        let j = c.sue.run(["--json", "client", "show", "1"]).ok().json();
        assert_eq!(j["email"], "kevin@startup.io");
        assert!(j.get("contracts").is_none(), "{j}");
        let out = c.sue.run(["contract", "show", "2"]).ok().stdout;
        assert!(out.contains("\nEvents (1):\n") && out.contains("Other gala"), "{out}");
        // a client with nothing yet
        c.sam.run(["client", "create", "New", "Client", "new@example.com"]).ok();
        let out = c.sam.run(["client", "show", "3"]).ok().stdout;
        assert!(out.contains("\nContracts: none\n") && out.contains("\nEvents: none\n"), "{out}");
        c.mia.run(["contract", "create", "3", "100"]).ok();
        let out = c.mia.run(["contract", "show", "3"]).ok().stdout;
        assert!(out.contains("\nEvents: none\n"), "{out}");
        c.sue.run(["client", "show", "99"]).code(5).stderr_has("client 99 not found");
        c.sue.run(["contract", "show", "99"]).code(5).stderr_has("contract 99 not found");
    }

    fn payments_are_records_in_every_output_format() {
        let c = crm();
        c.sam.run(["contract", "pay", "1", "100", "--on", "2026-06-01"]).ok();
        let k = c.sam.run(["--json", "contract", "pay", "1", "50.5"]).ok().json();
        assert_eq!(k["amount_due"], "849.50", "the balance still follows");
        c.mia.run(["contract", "pay", "1", "0.5", "--on", "2026-06-02 14:30"]).ok();
        // who, what, when; readable by every role
        let rows = c.sue.run(["--json", "contract", "payments", "1"]).ok().json();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 3);
        let keys: Vec<&str> = rows[0].as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = vec!["id", "contract_id", "amount", "paid_on", "recorded_by_id", "recorded_at"];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want);
        assert_eq!(rows[0]["amount"], "100.00");
        assert_eq!(rows[0]["paid_on"], "2026-06-01T00:00:00Z", "a date alone: local midnight");
        assert_eq!(rows[0]["recorded_by_id"], 2);
        assert_eq!(rows[0]["contract_id"], 1);
        assert_eq!(rows[1]["amount"], "50.50");
        assert!(rows[1]["recorded_at"].is_string());
        assert_eq!(rows[2]["recorded_by_id"], 1);
        assert_eq!(rows[2]["paid_on"], "2026-06-02T14:30:00Z");
        let csv = c.sid.run(["--csv", "contract", "payments", "1"]).ok().stdout;
        assert!(
            csv.starts_with("id,contract_id,amount,paid_on,recorded_by_id,recorded_at\r\n"),
            "{csv}"
        );
        assert_eq!(csv.lines().count(), 4);
        let table = c.sue.run(["contract", "payments", "1"]).ok().stdout;
        assert!(table.starts_with("ID") && table.contains("100.00"), "{table}");
        assert!(table.contains("2026-06-01 00:00"), "{table}");
        let page = c.sue.run(["--json", "contract", "payments", "1", "--limit", "1", "--after", "1"]);
        assert_eq!(ids(&page.ok().json()).len(), 1);
        // audited with the payment's id, in the same transaction
        let audit = c.db.scalar(
            "select changes from audit_log where action = 'contract.pay' order by id limit 1",
        );
        assert!(audit.contains("\"payment_id\": 1") && audit.contains("\"paid_on\""), "{audit}");
        // refusals change nothing
        c.sam.run(["contract", "pay", "1", "100", "--on", "2999-01-01"]).code(2).stderr_has("future");
        c.sam.run(["contract", "pay", "1", "100", "--on", "yesterday"]).code(2);
        c.sam.run(["contract", "pay", "1", "5000"]).code(6).stderr_has("exceeds the amount due");
        c.sue.run(["contract", "pay", "1", "1"]).code(4);
        c.sue.run(["contract", "payments", "99"]).code(5).stderr_has("contract 99 not found");
        assert_eq!(c.db.scalar("select count(*) from payments"), "3");
        assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "849.00");
        // an empty history (a contract paid before payments were records has none either)
        c.mia.run(["contract", "create", "1", "10"]).ok();
        assert_eq!(c.sue.run(["--json", "contract", "payments", "2"]).ok().stdout, "[]\n");
    }

    fn audit_list_filters_by_record_actor_and_date() {
        let c = crm();
        c.sam.run(["contract", "pay", "1", "100"]).ok();
        c.sam.run(["client", "update", "1", "--phone", "0102030405"]).ok();
        c.mia.run(["event", "assign", "1", "3"]).ok();
        let entities = |args: &[&str]| -> Vec<(String, i64)> {
            let mut all = vec!["--json", "audit", "list"];
            all.extend_from_slice(args);
            c.mia.run(all).ok().json().as_array().unwrap().iter()
                .map(|e| (e["entity"].as_str().unwrap().to_owned(), e["entity_id"].as_i64().unwrap()))
                .collect()
        };
        assert_eq!(entities(&["--entity", "contract", "--id", "1"]), [("contract".to_owned(), 1)]);
        assert_eq!(entities(&["--entity", "event"]), [("event".to_owned(), 1)]);
        assert_eq!(entities(&["--actor", "2"]).len(), 2);
        assert_eq!(entities(&["--actor", "1"]), [("event".to_owned(), 1)]);
        assert_eq!(entities(&["--since", "2000-01-01"]).len(), 3);
        assert!(entities(&["--since", "2999-01-01"]).is_empty());
        // --json keeps its shape: the recorded changes as JSON
        let j = c.mia.run(["--json", "audit", "list", "--entity", "client"]).ok().json();
        assert_eq!(j[0]["changes"]["phone"]["to"], "0102030405");
        // piped, the table keeps the JSON too
        let t = c.mia.run(["audit", "list", "--entity", "client"]).ok().stdout;
        assert!(t.contains(r#"{"phone":{"from":null,"to":"0102030405"}}"#), "{t}");
        c.mia.run(["audit", "list", "--id", "1"]).code(2).stderr_has("--entity");
        c.mia.run(["audit", "list", "--entity", "invoice"]).code(2);
        c.mia.run(["audit", "list", "--since", "soon"]).code(2);
        c.sam.run(["audit", "list", "--actor", "2"]).code(4);
    }

    fn employee_lists_by_state() {
        let c = crm();
        c.mia.run(["employee", "deactivate", "5"]).ok();
        let list = |args: &[&str]| {
            let mut all = vec!["--json", "employee", "list"];
            all.extend_from_slice(args);
            ids(&c.sue.run(all).ok().json())
        };
        assert_eq!(list(&[]), [1, 2, 3, 4]);
        assert_eq!(list(&["--state", "active"]), [1, 2, 3, 4]);
        assert_eq!(list(&["--inactive"]), [5], "only the deactivated");
        assert_eq!(list(&["--state", "inactive"]), [5]);
        assert_eq!(list(&["--state", "all"]), [1, 2, 3, 4, 5]);
        assert_eq!(list(&["--state", "all", "--role", "SUPPORT"]), [3, 5]);
        c.sue.run(["employee", "list", "--state", "gone"]).code(2);
        c.sue.run(["employee", "list", "--state", "all", "--inactive"]).code(2);
    }

    fn deactivating_an_owner_of_clients_is_confirmed_or_hands_them_over() {
        let c = dated();
        // Sam owns client 1: piped and without --yes, refused before anything changes
        c.mia
            .run(["employee", "deactivate", "2"])
            .code(2)
            .stderr_has("refusing to go on without --yes");
        assert_eq!(c.db.scalar("select is_active from employees where id = 2"), "true");
        // a target that cannot take them, refused before the question
        c.mia
            .run(["employee", "deactivate", "2", "--reassign-to", "3"])
            .code(6)
            .stderr_has("not an active SALES");
        c.mia.run(["employee", "deactivate", "2", "--reassign-to", "2"]).code(2);
        c.mia.run(["employee", "deactivate", "2", "--reassign-to", "99"]).code(5);
        c.mia.run(["employee", "deactivate", "3", "--reassign-to", "4"]).code(2).stderr_has("SALES");
        c.sid.run(["employee", "deactivate", "2", "--reassign-to", "4", "--yes"]).code(4);
        // handed over in the same transaction, audited
        let r = c.mia.run(["employee", "deactivate", "2", "--reassign-to", "4", "--yes"]).ok();
        assert!(r.stderr.contains("Their 1 client") && r.stderr.contains("Sid Test (4)"), "{}", r.stderr);
        assert_eq!(c.db.scalar("select sales_contact_id from clients where id = 1"), "4");
        assert_eq!(c.db.scalar("select string_agg(distinct sales_contact_id::text, ',') from contracts"), "4");
        assert_eq!(c.db.scalar("select is_active from employees where id = 2"), "false");
        let audit = c.db.scalar(
            "select string_agg(action || ' ' || entity_id, ',' order by id) from audit_log",
        );
        assert_eq!(audit, "client.reassign 1,employee.deactivate 2");
        let details = c.db.scalar("select changes from audit_log where action = 'employee.deactivate'");
        assert!(details.contains("\"clients_reassigned_to\": 4"), "{details}");
        // --yes alone: they keep their clients, and the note says so
        let r = c.mia.run(["employee", "deactivate", "4", "--yes"]).ok();
        assert!(r.stderr.contains("still the sales contact of 2 clients"), "{}", r.stderr);
        // owning nothing: nothing to ask
        c.mia.run(["employee", "deactivate", "5"]).ok();
    }
}

#[test]
fn a_terminal_asks_before_deactivating_an_owner_and_before_signing() {
    let c = crm();
    let mut t = Pty::spawn(&c.mia, &["employee", "deactivate", "2"], true);
    t.answer(
        "Sam Test (2) is the sales contact of 1 client, who keep them. Deactivate? [y/N]",
        "n",
    );
    let (code, out) = t.finish();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Cancelled: nothing was changed."), "{out}");
    assert_eq!(c.db.scalar("select is_active from employees where id = 2"), "true");
    let mut t = Pty::spawn(&c.mia, &["employee", "deactivate", "2", "--reassign-to", "4"], true);
    t.answer("Deactivate Sam Test (2) and move their 1 client to Sid Test (4)? [y/N]", "y");
    let (code, out) = t.finish();
    assert_eq!(code, 0, "{out}");
    assert_eq!(c.db.scalar("select sales_contact_id from clients where id = 1"), "4");
    // contract sign: asked on a terminal, --yes skips it, a script is not asked
    c.mia.run(["contract", "create", "1", "300"]).ok();
    c.mia.run(["contract", "create", "1", "400"]).ok();
    let mut t = Pty::spawn(&c.sid, &["contract", "sign", "2"], true);
    t.answer("Sign contract 2 (Kevin Casey, 300.00)? A signature cannot be undone. [y/N]", "n");
    assert_eq!(t.finish().0, 2);
    assert_eq!(c.db.scalar("select is_signed from contracts where id = 2"), "false");
    let mut t = Pty::spawn(&c.sid, &["contract", "sign", "2"], true);
    t.answer("[y/N]", "y");
    assert_eq!(t.finish().0, 0);
    assert_eq!(c.db.scalar("select is_signed from contracts where id = 2"), "true");
    let (code, out) = Pty::spawn(&c.sid, &["contract", "sign", "3", "--yes"], true).finish();
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    // refused before the question: not the owner, already signed
    let (code, out) = Pty::spawn(&c.sue, &["contract", "sign", "1"], true).finish();
    assert_eq!((code, out.contains("[y/N]")), (4, false), "{out}");
    let (code, out) = Pty::spawn(&c.sid, &["contract", "sign", "2"], true).finish();
    assert_eq!((code, out.contains("[y/N]")), (6, false), "{out}");
}

/// A payment sent twice with one `Idempotency-Key` (its answer lost, say) is one payment.
#[test]
fn a_payment_sent_again_with_its_key_is_recorded_once() {
    use std::io::{Read, Write};
    let c = crate::server::in_direct(crm);
    let server = crate::server::server_of(&c.db, &[]);
    let token = crate::server::access_token(&c.db.logged_in_at(&server.url(), 2));
    let pay = |key: &str| {
        let body = r#"{"amount":"100","paid_on":"2026-06-01T10:00:00Z"}"#;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let req = format!(
            "POST /v1/contracts/1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Idempotency-Key: {key}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        let _ = s.read_to_string(&mut raw);
        raw
    };
    let first = pay("pay-once");
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let again = pay("pay-once");
    assert!(again.to_ascii_lowercase().contains("idempotent-replayed: true"), "{again}");
    assert_eq!(c.db.scalar("select count(*) from payments"), "1");
    assert_eq!(c.db.scalar("select amount_due from contracts where id = 1"), "900.00");
    assert_eq!(c.db.scalar("select paid_on = '2026-06-01 10:00Z' from payments"), "true");
    pay("pay-twice");
    assert_eq!(c.db.scalar("select count(*) from payments"), "2");
}

#[test]
fn a_terminal_shows_audit_changes_as_arrows() {
    let c = crm();
    c.sam.run(["contract", "pay", "1", "100"]).ok();
    let (code, out) = Pty::spawn(&c.mia, &["audit", "list", "--entity", "contract"], true).finish();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("amount_due: 1000.00 → 900.00"), "{out}");
    assert!(!out.contains("{\"amount\""), "{out}");
    let (_, out) =
        Pty::spawn(&c.mia, &["--json", "audit", "list", "--entity", "contract"], true).finish();
    let j: Value = serde_json::from_str(&out.replace("\r\n", "\n")).unwrap();
    assert_eq!(j[0]["changes"]["amount_due"]["to"], "900.00", "--json unchanged on a terminal");
}
