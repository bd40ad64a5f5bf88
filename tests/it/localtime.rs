//! Spec §4: dates are typed and shown in local time (`TZ`), stored and given in `--json` in
//! UTC — here in two zones with clock changes, directly, through a server (which may be in
//! another zone: the client sends RFC 3339), and through PgBouncer. A time that a clock
//! change skips is refused; one that it repeats is the first of the two (docs/cli.md).

use crate::common::*;

fn create(u: &User, start: &str, end: &str) -> Run {
    u.run([
        "--json",
        "event",
        "create",
        "1",
        "--name",
        "Zoned",
        "--start",
        start,
        "--end",
        end,
        "--location",
        "Here",
        "--attendees",
        "1",
    ])
}

crate::in_every_mode! {
    fn local_time_in_and_out_in_two_zones_with_clock_changes() {
        let c = crm();
        let (mut paris, mut new_york) = (c.db.logged_in(2), c.db.logged_in(2));
        paris.set("TZ", "Europe/Paris");
        new_york.set("TZ", "America/New_York");

        // summer time in both
        let e = create(&paris, "2030-06-04 18:00", "2030-06-04 20:00").ok().json();
        assert_eq!(e["start_at"], "2030-06-04T16:00:00Z", "Paris is UTC+2 in June");
        let id = e["id"].to_string();
        let shown = new_york.run(["event", "show", &id]).ok().stdout;
        assert!(shown.contains("2030-06-04 12:00"), "New York is UTC-4 in June: {shown}");
        let shown = paris.run(["event", "show", &id]).ok().stdout;
        assert!(shown.contains("2030-06-04 18:00"), "{shown}");
        // winter time
        let e = create(&new_york, "2030-01-15 09:30", "2030-01-15 10:00").ok().json();
        assert_eq!(e["start_at"], "2030-01-15T14:30:00Z", "New York is UTC-5 in January");
        let list = paris.run(["event", "list", "--all"]).ok().stdout;
        assert!(list.contains("2030-01-15 15:30"), "Paris is UTC+1 in January: {list}");

        // a time the clocks skip does not exist: refused, saying so
        create(&paris, "2030-03-31 02:30", "2030-03-31 04:00").code(2).stderr_has("does not exist");
        create(&new_york, "2030-03-10 02:30", "2030-03-10 04:00").code(2).stderr_has("does not exist");
        // a time the clocks repeat is the first of the two (summer time still)
        let e = create(&paris, "2030-10-27 02:30", "2030-10-27 05:00").ok().json();
        assert_eq!(e["start_at"], "2030-10-27T00:30:00Z");
        let e = create(&new_york, "2030-11-03 01:30", "2030-11-03 03:00").ok().json();
        assert_eq!(e["start_at"], "2030-11-03T05:30:00Z");
        // RFC 3339 carries its own offset, whatever TZ says
        let e = create(&new_york, "2030-06-04T18:00:00+02:00", "2030-06-04T19:00:00+02:00").ok().json();
        assert_eq!(e["start_at"], "2030-06-04T16:00:00Z");
    }
}
