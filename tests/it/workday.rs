//! Spec §12: CSV for spreadsheets, iCalendar for calendars, keyset paging — and the default
//! page of every list.

use crate::common::*;

/// A CRM with awkward text everywhere: commas, quotes, semicolons, line breaks, non-ASCII.
fn awkward() -> Crm {
    let c = crm();
    c.sam
        .run([
            "client",
            "create",
            "Zoë",
            "O'Brien, \"Jr\"",
            "zoe@example.com",
            "--company",
            "Société Générale; \"东京\", Ltd",
        ])
        .ok();
    c.mia.run(["contract", "create", "2", "1234.5", "--signed"]).ok();
    c.sam
        .run([
            "event",
            "create",
            "2",
            "--name",
            "Gala, \"Winter\"; Édition",
            "--start",
            "2031-01-15T19:30:00+01:00",
            "--end",
            "2031-01-16T01:00:00+01:00",
            "--location",
            "Château de Candé, Monts",
            "--attendees",
            "120",
            "--notes",
            "Line one, with a comma\nLine two; \"quoted\"\n\tindented\\backslash",
        ])
        .ok();
    c.mia.run(["event", "assign", "2", "3"]).ok();
    c
}

#[test]
fn csv_carries_every_field_exactly_and_parses_back() {
    let c = awkward();
    for list in [["client", "list"], ["contract", "list"], ["event", "list"], ["employee", "list"]]
    {
        let csv_out = c.mia.run([&["--csv"][..], &list[..]].concat()).ok().stdout;
        let json = c.mia.run([&["--json"][..], &list[..]].concat()).ok().json();
        assert!(csv_out.contains("\r\n"), "RFC 4180 line ends");
        let mut reader = csv::Reader::from_reader(csv_out.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let json = json.as_array().unwrap();
        assert_eq!(rows.len(), json.len(), "{list:?}");
        for (row, obj) in rows.iter().zip(json) {
            let keys: Vec<&String> = obj.as_object().unwrap().keys().collect();
            assert_eq!(header.len(), keys.len(), "the same fields as --json: {header:?}");
            for (name, cell) in header.iter().zip(row.iter()) {
                let want = match &obj[name] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(cell, want, "{list:?} field {name}");
            }
        }
    }
    // one record is a one-row CSV, an empty list a header alone
    let one = c.mia.run(["--csv", "event", "show", "2"]).ok().stdout;
    assert_eq!(one.lines().count(), 1 + 3, "a header and a record whose notes span 3 lines: {one}");
    let empty = c.mia.run(["--csv", "client", "list", "--search", "nobody"]).ok();
    assert!(empty.stdout.starts_with("id,first_name,last_name,email"), "{}", empty.stdout);
    assert_eq!(empty.stdout.lines().count(), 1);
    c.mia.run(["--csv", "--json", "client", "list"]).code(2).stderr_has("--csv");
}

#[test]
fn the_calendar_feed_parses_with_the_right_events_and_escaping() {
    let c = awkward();
    let feed = c.sue.run(["event", "list", "--mine", "--upcoming", "--ics"]).ok().stdout;
    // RFC 5545: CRLF everywhere, no line over 75 octets
    assert!(!feed.replace("\r\n", "").contains('\n'), "bare LF in the feed");
    for line in feed.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let unfolded = icalendar::parser::unfold(&feed);
    let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
    let events: Vec<_> = cal.components.iter().filter(|c| c.name == "VEVENT").collect();
    assert_eq!(events.len(), 1, "Sue's upcoming events only: {feed}");
    let e = events[0];
    let prop = |name: &str| {
        e.properties.iter().find(|p| p.name == name).map(|p| p.val.to_string()).unwrap_or_default()
    };
    // the parser gives back exactly what was stored
    assert_eq!(prop("SUMMARY"), "Gala, \"Winter\"; Édition");
    assert_eq!(prop("DTSTART"), "20310115T183000Z");
    assert_eq!(prop("DTEND"), "20310116T000000Z");
    assert_eq!(prop("LOCATION"), "Château de Candé, Monts");
    let description = prop("DESCRIPTION");
    assert!(description.contains("Client: Zoë O'Brien, \"Jr\" (client 2)"), "{description}");
    assert!(description.contains("Support: Sue Test (employee 3)"), "{description}");
    assert!(
        description.contains("Line one, with a comma\nLine two; \"quoted\"\n\tindented\\backslash"),
        "{description:?}"
    );
    // as the RFC writes TEXT: backslash, semicolon and comma escaped, line breaks as \n
    let unfolded_feed = feed.replace("\r\n ", "");
    assert!(unfolded_feed.contains("SUMMARY:Gala\\, \"Winter\"\\; Édition\r\n"), "{feed}");
    assert!(
        unfolded_feed.contains("\\nLine two\\; \"quoted\"\\n\tindented\\\\backslash"),
        "{feed}"
    );
    assert!(prop("UID").starts_with("event-2@") && prop("UID").ends_with(".epicevents"));
    assert!(!prop("LAST-MODIFIED").is_empty() && !prop("DTSTAMP").is_empty());
    // the UID stays the same from one run (and one user) to the next
    let again = c.mia.run(["event", "list", "--ics"]).ok().stdout;
    assert!(again.contains(&format!("UID:{}", prop("UID"))), "{again}");
    assert_eq!(again.matches("BEGIN:VEVENT").count(), 2);
    c.sue.run(["--json", "event", "list", "--ics"]).code(2);
    // refused before its first event (a manager has no events of their own): nothing written,
    // so `> events.ics` holds no half calendar
    let refused = c.mia.run(["event", "list", "--mine", "--ics"]).code(4);
    assert_eq!(refused.stdout, "", "a refused feed wrote: {:?}", refused.stdout);
    // no event at all is still a whole calendar
    let empty = c.sam.run(["event", "list", "--after", "1000000", "--ics"]).ok().stdout;
    assert!(empty.starts_with("BEGIN:VCALENDAR\r\n") && empty.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(empty.matches("BEGIN:VEVENT").count(), 0, "{empty}");
}

/// Pages through a list with `--after`: every row once, in order.
fn page_through(u: &User, list: &[&str], limit: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut args: Vec<String> = ["--json"].iter().chain(list).map(|s| s.to_string()).collect();
        args.extend(["--limit".into(), limit.to_string()]);
        if let Some(a) = after {
            args.extend(["--after".into(), a.to_string()]);
        }
        let page = ids(&u.run(&args).ok().json());
        if page.is_empty() {
            return seen;
        }
        assert!(page.len() <= limit);
        after = page.last().copied();
        seen.extend(page);
    }
}

#[test]
fn keyset_paging_visits_every_row_once_and_the_default_page_is_fifty() {
    let c = crm();
    c.db.sql(
        "insert into employees (first_name, last_name, email, role, password_hash)
           select 'E' || i, 'X', 'e' || i || '@example.com', 'SUPPORT', 'x' from generate_series(1, 60) i;
         insert into clients (first_name, last_name, email, sales_contact_id)
           select 'C' || i, 'X', 'c' || i || '@example.com', 2 from generate_series(1, 60) i;
         insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
           select 1, 2, 100, 100, true, now() from generate_series(1, 60);
         insert into events (contract_id, client_id, name, start_at, end_at, location, attendees)
           select 1, 1, 'Ev ' || i, now() + i * interval '1 day', now() + i * interval '1 day' + interval '1 hour', 'Lyon', 1
           from generate_series(1, 60) i;
         insert into audit_log (actor_id, action, entity, entity_id)
           select 1, 'client.create', 'client', i from generate_series(1, 60) i;",
    );
    for (list, total) in [
        (vec!["employee", "list"], 65),
        (vec!["client", "list"], 61),
        (vec!["contract", "list"], 61),
        (vec!["event", "list"], 61),
        (vec!["audit", "list"], 60),
    ] {
        let mut args = vec!["--json"];
        args.extend(&list);
        let first = ids(&c.mia.run(&args).ok().json());
        assert_eq!(first.len(), 50, "the default page of {list:?}");
        args.push("--all");
        let all = ids(&c.mia.run(&args).ok().json());
        assert_eq!(all.len(), total, "{list:?} --all");
        let paged = page_through(&c.mia, &list, 7);
        assert_eq!(paged, all, "{list:?} paged by --after");
        let mut offset_args = vec!["--json"];
        offset_args.extend(&list);
        offset_args.extend(["--limit", "5", "--offset", "10"]);
        assert_eq!(ids(&c.mia.run(&offset_args).ok().json()), all[10..15]);
    }
    // newest first: --after goes on with older entries
    let audit = page_through(&c.mia, &["audit", "list"], 25);
    assert!(audit.windows(2).all(|w| w[0] > w[1]), "{audit:?}");
    // filters and --after together
    let mine = page_through(&c.sam, &["client", "list", "--mine"], 10);
    assert_eq!(mine.len(), 61);
    c.mia.run(["client", "list", "--after", "abc"]).code(2).stderr_has("not a valid id");
}
