//! Spec §16, the working day, second round (issue 22: points 4, 5, 7, 8, 9, 11, 12): lists cut
//! by their limit and tables that fit on a terminal, multi-line notes and appending to them,
//! `-v`/`-vv`, the manual, sessions per database, settings blamed on `./.env`, a missing
//! session that names its server, `demo --reset` and the README's restore example.

use unicode_width::UnicodeWidthStr;

use crate::common::*;
use crate::pty::Pty;

/// Runs on a terminal of its own; exit code and what it showed (line ends as `\n`).
fn on_terminal(u: &User, args: &[&str]) -> (i32, String) {
    let (code, out) = Pty::spawn(u, args, true).finish();
    (code, out.replace("\r\n", "\n"))
}

/// `n` more clients of Sam's (ids 2 to n + 1), with a long company name.
fn more_clients(db: &TestDb, n: usize) {
    db.sql(&format!(
        "insert into clients (first_name, last_name, email, company_name, sales_contact_id)
         select 'C' || i, 'Client', 'c' || i || '@example.com',
                'The Very Long Company Name Of Client Number ' || i || ' Incorporated', 2
         from generate_series(1, {n}) i"
    ));
}

crate::in_every_mode! {
    fn a_list_cut_by_its_limit_says_so_on_a_terminal_only() {
        let c = crm();
        more_clients(&c.db, 60);
        let (code, out) = on_terminal(&c.mia, &["client", "list"]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("Showing 50 (the limit); more with --after 50, or all with --all."),
            "{out}"
        );
        // the next page, then the last: nothing more to say
        let (_, out) = on_terminal(&c.mia, &["client", "list", "--after", "50", "--limit", "5"]);
        assert!(out.contains("more with --after 55"), "{out}");
        let (_, out) = on_terminal(&c.mia, &["client", "list", "--after", "50"]);
        assert!(!out.contains("Showing"), "{out}");
        // exactly the limit, with nothing after it; every row
        let (_, out) = on_terminal(&c.mia, &["client", "list", "--limit", "61"]);
        assert!(!out.contains("Showing"), "{out}");
        let (_, out) = on_terminal(&c.mia, &["client", "list", "--all"]);
        assert!(!out.contains("Showing") && out.contains("C60 Client"), "{out}");
        // piped: unchanged, nothing on stderr
        let piped = c.mia.run(["client", "list"]).ok();
        assert_eq!(piped.stderr, "");
        assert_eq!(piped.stdout.lines().count(), 51, "{}", piped.stdout);
        let json = c.mia.run(["--json", "client", "list"]).ok();
        assert_eq!(json.stderr, "");
        assert_eq!(json.json().as_array().unwrap().len(), 50);
    }

    fn tables_fit_the_terminal_and_piped_output_is_never_shortened() {
        let mut c = crm();
        more_clients(&c.db, 3);
        c.mia.set("COLUMNS", "80");
        let (code, out) = on_terminal(&c.mia, &["client", "list"]);
        assert_eq!(code, 0, "{out}");
        let table: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(table.len(), 5, "{out}");
        for line in &table {
            assert!(line.width() <= 80, "{} columns: {line:?}", line.width());
        }
        assert!(out.contains('…'), "the widest columns shortened: {out}");
        assert!(!out.contains("Incorporated"), "{out}");
        // the ids are never shortened
        for id in 1..=4 {
            assert!(table.iter().any(|l| l.starts_with(&format!("{id} "))), "{out}");
        }
        // narrower still
        c.mia.set("COLUMNS", "60");
        let (_, out) = on_terminal(&c.mia, &["client", "list"]);
        assert!(out.lines().all(|l| l.width() <= 60), "{out}");
        // piped, whatever COLUMNS says: whole
        let piped = c.mia.run(["client", "list"]).ok().stdout;
        assert!(piped.contains("Client Number 3 Incorporated") && !piped.contains('…'), "{piped}");
        assert!(piped.lines().any(|l| l.width() > 80), "{piped}");
    }

    fn notes_show_as_indented_lines_and_append_notes_adds_a_line() {
        let c = crm();
        c.mia.run(["event", "update", "1", "--append-notes", "Caterer booked."]).ok();
        let e = c
            .mia
            .run(["--json", "event", "update", "1", "--append-notes", "Projector needed in room B."])
            .ok()
            .json();
        assert_eq!(e["notes"], "Caterer booked.\nProjector needed in room B.");
        let show = c.mia.run(["event", "show", "1"]).ok().stdout;
        let lines: Vec<&str> = show.lines().collect();
        let at = lines.iter().position(|l| l.starts_with("notes:")).unwrap();
        assert!(lines[at].ends_with(" Caterer booked."), "{show}");
        let indent = lines[at].find("Caterer").unwrap();
        assert_eq!(lines[at + 1], format!("{}Projector needed in room B.", " ".repeat(indent)));
        assert!(!show.contains("\\n"), "{show}");
        // every other control character is still escaped
        c.db.sql("update events set notes = E'Line one\\n\\u001b[31mred\\tcell' where id = 1");
        let show = c.mia.run(["event", "show", "1"]).ok().stdout;
        assert!(show.contains("\\u{1b}[31mred\\tcell"), "{show}");
        assert!(!show.contains('\u{1b}'), "{show}");
        // nothing to add, or both --notes and --append-notes: usage errors, nothing changed
        c.mia.run(["event", "update", "1", "--append-notes", "  "]).code(2);
        c.mia
            .run(["event", "update", "1", "--notes", "x", "--append-notes", "y"])
            .code(2)
            .stderr_has("--append-notes");
        let long = "x".repeat(1990);
        c.mia.run(["event", "update", "1", "--append-notes", &long]).code(2).stderr_has("too long");
        assert_eq!(
            c.db.scalar("select notes from events where id = 1"),
            "Line one\n\u{1b}[31mred\tcell"
        );
        // the assigned SUPPORT may; another SUPPORT may not
        c.mia.run(["event", "assign", "1", "3"]).ok();
        c.sue.run(["event", "update", "1", "--append-notes", "Sue was here."]).ok();
        c.uma.run(["event", "update", "1", "--append-notes", "Uma too."]).code(4);
        // each append audited, in the same transaction
        assert_eq!(
            c.db.scalar("select count(*) from audit_log where action = 'event.update'"),
            "3"
        );
    }

    fn two_appends_at_once_both_land() {
        let c = crm();
        c.db.sql("update events set notes = 'First.' where id = 1");
        // the row held: both appends wait on it, then each appends to the other's result
        let held = c.db.hold("select 1 from events where id = 1 for update");
        let a = c.mia.spawn(["event", "update", "1", "--append-notes", "From A."]);
        let b = c.mia.spawn(["event", "update", "1", "--append-notes", "From B."]);
        c.db.wait_for_lock_waiter();
        c.db.release(held);
        for child in [a, b] {
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let notes = c.db.scalar("select notes from events where id = 1");
        let mut lines: Vec<&str> = notes.lines().collect();
        assert_eq!(lines.remove(0), "First.");
        lines.sort_unstable();
        assert_eq!(lines, ["From A.", "From B."]);
    }
}

/// The password in a `postgres://user:password@…` URL.
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    userinfo.split_once(':').map(|(_, p)| p.to_owned())
}

#[test]
fn verbose_says_where_settings_came_from_and_shows_no_secret() {
    let (db, _m) = with_manager();
    let mut u = db.user();
    // DATABASE_URL and the secret from ./.env, the rest from the environment or defaults
    u.unset("DATABASE_URL").unset("EPICCRM_JWT_SECRET");
    let dotenv = u.dir().join(".env");
    std::fs::write(&dotenv, format!("DATABASE_URL={}\nEPICCRM_JWT_SECRET={JWT_SECRET}\n", db.url))
        .unwrap();
    let login = u.run_stdin(&format!("{PASSWORD}\n"), ["-vv", "login", "mia@example.com"]).ok();
    let r = u.run(["-v", "whoami"]).ok();
    let dotenv = dotenv.display().to_string();
    for line in [
        format!("setting DATABASE_URL: {dotenv}"),
        format!("setting EPICCRM_JWT_SECRET: {dotenv}"),
        "setting EPICCRM_TOKEN_STORE: the environment".to_owned(),
        "setting EPICCRM_JWT_ACCESS_MINUTES: default".to_owned(),
    ] {
        assert!(r.stderr.contains(&line), "no {line:?} in {}", r.stderr);
    }
    assert!(r.stderr.contains("database: postgres://"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("/{} ({dotenv})", db.name)), "{}", r.stderr);
    assert!(r.stderr.lines().any(|l| l.contains("took ") && l.ends_with(" ms")), "{}", r.stderr);
    assert!(!r.stderr.contains("sqlx::query") && !r.stderr.contains("elapsed"), "{}", r.stderr);
    // -vv: each statement, with its time
    let rr = u.run(["-vv", "client", "list"]).ok();
    assert!(rr.stderr.contains("elapsed") && rr.stderr.contains("from clients"), "{}", rr.stderr);
    // never a secret: the password typed, the JWT secret, the database's password, the tokens
    let tokens: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(u.token_file()).unwrap()).unwrap();
    let mut secrets = vec![
        PASSWORD.to_owned(),
        JWT_SECRET.to_owned(),
        tokens["access"].as_str().unwrap().to_owned(),
        tokens["refresh"].as_str().unwrap().to_owned(),
    ];
    secrets.extend(url_password(&db.url));
    for out in [&login.stderr, &r.stderr, &rr.stderr] {
        for s in &secrets {
            assert!(!out.contains(s.as_str()), "a secret at -vv: {out}");
        }
    }
    // RUST_LOG=epicevents=debug, as the README says, is -v
    u.set("RUST_LOG", "epicevents=debug");
    u.run(["whoami"]).ok().stderr_has("setting DATABASE_URL").stderr_has("took ");
    // and without either, nothing
    u.set("RUST_LOG", "");
    assert_eq!(u.run(["whoami"]).ok().stderr, "");
}

#[test]
fn verbose_names_the_server_in_server_mode() {
    crate::common::in_mode(Mode::Server, || {
        let c = crm();
        let r = c.mia.run(["-v", "whoami"]).ok();
        let url = c.db.server_url();
        assert!(
            r.stderr.contains(&format!("server: {url} (EPICCRM_SERVER from the environment)")),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("setting EPICCRM_SERVER: the environment"), "{}", r.stderr);
        let rr = c.mia.run(["-vv", "client", "list"]).ok();
        let tokens: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(c.mia.token_file()).unwrap()).unwrap();
        for t in [&tokens["access"], &tokens["refresh"]] {
            assert!(!rr.stderr.contains(t.as_str().unwrap()), "a token at -vv: {}", rr.stderr);
        }
    });
}

#[test]
fn the_manual_is_whole_and_names_only_pages_that_exist() {
    let db = TestDb::new();
    let u = db.user();
    let man = u.run(["man"]).ok().stdout;
    for part in [
        ".TH epicevents",
        ".SS \"epicevents client list\"",
        ".SS \"epicevents event update\"",
        "\\-\\-append\\-notes",
        ".SH \"EXIT STATUS\"",
        ".SH \"ENVIRONMENT\"",
        "EPICCRM_JWT_SECRET",
        ".SH \"FILES\"",
        "epicevents event list \\-\\-mine \\-\\-upcoming \\-\\-ics",
    ] {
        assert!(man.contains(part), "the manual lacks {part:?}");
    }
    assert!(!man.contains("epicevents\\-client(1)") && !man.contains("(1)\n"), "names a page");
    // one group's part
    let client = u.run(["man", "client"]).ok().stdout;
    assert!(client.contains(".SS \"epicevents client reassign\""), "{client}");
    assert!(!client.contains("epicevents event list"), "{client}");
    u.run(["man", "client", "list"]).ok().stdout_has("epicevents client list");
    u.run(["man", "clients"]).ok();
    u.run(["man", "nosuch"]).code(2).stderr_has("no command `nosuch`");
    // one page per command, each naming only pages written
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    u.run(["man", "--dir", out.to_str().unwrap()]).ok().stderr_has("pages into");
    let pages: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for page in
        ["epicevents.1", "epicevents-client.1", "epicevents-client-list.1", "epicevents-man.1"]
    {
        assert!(pages.iter().any(|p| p == page), "no {page} in {pages:?}");
    }
    for page in &pages {
        let text = std::fs::read_to_string(out.join(page)).unwrap();
        for named in text.split_whitespace().filter_map(|w| w.strip_suffix("(1)")) {
            let file = format!("{}.1", named.replace("\\-", "-"));
            assert!(pages.contains(&file), "{page} names {file}, which is not there");
        }
    }
}

#[test]
fn help_sets_the_global_options_apart_and_offers_formats_only_where_they_mean_something() {
    let db = TestDb::new();
    let u = db.user();
    let help = u.run(["client", "list", "--help"]).ok().stdout;
    let (own, global) = help.split_once("Global options:").expect("a Global options heading");
    assert!(own.contains("--search") && !own.contains("--json"), "{help}");
    assert!(global.contains("--json") && global.contains("--csv") && global.contains("--verbose"));
    let commands: [&[&str]; 4] = [&["login"], &["serve"], &["db", "migrate"], &["event", "delete"]];
    for command in commands {
        let help = u.run([command, &["--help"]].concat()).ok().stdout;
        assert!(!help.contains("--csv"), "--csv offered by {command:?}: {help}");
    }
    let serve = u.run(["serve", "--help"]).ok().stdout;
    assert!(!serve.contains("--json"), "{serve}");
    u.run(["login", "--csv", "mia@example.com"]).code(2).stderr_has("--csv means nothing");
    u.run(["--csv", "logout"]).code(2).stderr_has("--csv means nothing for `logout`");
    u.run(["serve", "--json"]).code(2).stderr_has("--json means nothing for `serve`");
    u.run(["man", "--json"]).code(2);
    // where they mean something, anywhere on the line as before
    u.run(["--json", "logout"]).ok();
}

#[test]
fn sessions_are_kept_per_database() {
    let (one, _m1) = with_manager();
    let two = TestDb::new();
    two.employees(&[("Max", "max@example.com", "MANAGEMENT")]);
    let mut u = User::new(one.url.clone());
    u.login("mia@example.com");
    u.set("DATABASE_URL", &two.url);
    u.run(["whoami"]).code(3).stderr_has("not logged in to the database postgres://");
    u.login("max@example.com");
    u.run(["whoami"]).ok().stdout_has("max@example.com");
    // back to the first: its session is still there, and still valid
    u.set("DATABASE_URL", &one.url);
    u.run(["whoami"]).ok().stdout_has("mia@example.com");
    // logging out of one leaves the other
    u.run(["logout"]).ok();
    u.run(["whoami"]).code(3);
    u.set("DATABASE_URL", &two.url);
    u.run(["whoami"]).ok().stdout_has("max@example.com");
}

#[test]
fn a_wrong_setting_names_the_dotenv_file_it_came_from() {
    let db = TestDb::new();
    let mut u = db.user();
    u.unset("DATABASE_URL");
    let write = |text: &str| std::fs::write(u.dir().join(".env"), text).unwrap();
    // a project's own .env, pointing at another database
    write(&format!("DATABASE_URL={}_webapp\n", db.url));
    u.run(["whoami"])
        .code(7)
        .stderr_has("the database named in DATABASE_URL from ./.env does not exist");
    write("DATABASE_URL=mysql://x@y/z\n");
    u.run(["whoami"]).code(7).stderr_has("DATABASE_URL from ./.env is malformed");
    write(&format!("DATABASE_URL={}\nEPICCRM_JWT_ALG=RS256\n", db.url));
    u.run(["whoami"]).code(7).stderr_has("EPICCRM_JWT_ALG from ./.env is malformed");
    // from the environment: named alone
    u.set("EPICCRM_JWT_ALG", "RS512");
    let r = u.run(["whoami"]).code(7).stderr_has("EPICCRM_JWT_ALG is malformed");
    assert!(!r.stderr.contains(".env"), "{}", r.stderr);
}

#[test]
fn no_session_names_the_server_and_whether_it_answers() {
    // nothing listens there
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nowhere = User::of_server(&format!("http://127.0.0.1:{port}"));
    let r = nowhere.run(["whoami"]).code(7);
    assert!(
        r.stderr.contains(&format!("cannot reach the server http://127.0.0.1:{port}"))
            && r.stderr.contains("no session is stored for it"),
        "{}",
        r.stderr
    );
    r.stderr_has("EPICCRM_SERVER");
    // a server that answers, and no session for it
    crate::common::in_mode(Mode::Server, || {
        let db = TestDb::new();
        let u = db.user();
        u.run(["whoami"])
            .code(3)
            .stderr_has(&format!("not logged in to the server {}", db.server_url()))
            .stderr_has("(it answers)");
    });
    // direct mode names the database
    let db = TestDb::new();
    db.user().run(["whoami"]).code(3).stderr_has(&format!("/{}", db.name));
}

#[test]
fn demo_reset_gives_new_passwords_only_in_a_database_demo_filled() {
    let db = TestDb::new();
    let u = db.user();
    let first = u.run(["--json", "demo"]).ok().json();
    let ada = &first["accounts"][0];
    let (email, old) = (ada["email"].as_str().unwrap(), ada["password"].as_str().unwrap());
    u.run_stdin(&format!("{old}\n"), ["login", email]).ok();
    u.run(["event", "list"]).ok();
    let clients = db.scalar("select count(*) from clients");
    let human = u.run(["demo", "--reset"]).ok().stdout;
    assert!(human.contains("New throwaway passwords") && human.contains(email), "{human}");
    let again = u.run(["--json", "demo", "--reset"]).ok().json();
    let new = again["accounts"][0]["password"].as_str().unwrap();
    assert_ne!(new, old);
    // the session of before has ended; the old password is refused, the new one works
    u.run(["whoami"]).code(3);
    u.run_stdin(&format!("{old}\n"), ["login", email]).code(3);
    u.run_stdin(&format!("{new}\n"), ["login", email]).ok();
    u.run(["whoami"]).ok().stdout_has(email);
    // the data stays; the reset is audited
    assert_eq!(db.scalar("select count(*) from clients"), clients);
    assert_eq!(
        db.scalar("select count(*) from audit_log where action = 'database.demo_reset'"),
        "2"
    );
    // a database demo did not fill: refused, nothing changed
    let (real, m) = with_manager();
    let hash = real.scalar("select password_hash from employees where id = 1");
    m.run(["demo", "--reset"]).code(6).stderr_has("not filled by `demo`");
    assert_eq!(real.scalar("select password_hash from employees where id = 1"), hash);
}

#[test]
fn the_readme_restores_the_file_its_backup_line_wrote() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let file_of = |verb: &str| -> String {
        let line = readme
            .lines()
            .find(|l| {
                l.contains(&format!("epicevents db {verb} ")) && !l.trim_start().starts_with('#')
            })
            .unwrap_or_else(|| panic!("no `db {verb}` line in the README"));
        let after = line.split(&format!("db {verb} ")).nth(1).unwrap();
        after.split_whitespace().next().unwrap().to_owned()
    };
    let (backup, restore) = (file_of("backup"), file_of("restore"));
    assert_eq!(backup, restore, "the README backs up {backup} and restores {restore}");
    // and the commands' own examples
    let help = TestDb::new().user().run(["db", "backup", "--help"]).ok().stdout;
    let named: Vec<&str> = help
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|w| w.ends_with(".dump") || w.ends_with(".dump\""))
        .collect();
    assert!(named.len() >= 2 && named.iter().all(|w| *w == named[0]), "{help}");
}
