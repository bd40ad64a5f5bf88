//! Terminal manners: completions, man page, suggestions, help, colour only on a terminal,
//! prompts (asked only once the command may go ahead, answered on a real terminal), and a
//! closed pipe that is not an error.

use std::io::Read;
use std::process::Stdio;

use crate::common::*;
use crate::pty::Pty;

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let db = TestDb::new();
    let u = db.user();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = u.run(["completions", shell]).ok();
        assert!(r.stdout.contains("epicevents") && r.stdout.contains("contract"), "{shell}");
    }
    // the roles are completed
    let bash = u.run(["completions", "bash"]).ok().stdout;
    assert!(bash.contains("MANAGEMENT SALES SUPPORT"), "roles in the completions");
    u.run(["completions", "tcsh"]).code(2);
    let man = u.run(["man"]).ok();
    assert!(man.stdout.contains(".TH epicevents") && man.stdout.contains("create\\-employee"));
}

#[test]
fn typos_get_suggestions() {
    let db = TestDb::new();
    let u = db.user();
    u.run(["clien", "list"]).code(2).stderr_has("client");
    // a command and its alias are one suggestion
    let r = u.run(["evnt", "list"]).code(2);
    assert_eq!(
        r.stderr,
        "error: unrecognized subcommand 'evnt'\nhint: a similar subcommand exists: 'event'\n"
    );
    u.run(["contract", "lst"]).code(2).stderr_has("list");
    u.run(["event", "list", "--no-suport"]).code(2).stderr_has("--no-support");
}

#[test]
fn no_subcommand_shows_the_help_of_that_level() {
    let db = TestDb::new();
    let u = db.user();
    let top = u.run(Vec::<&str>::new());
    assert_eq!(top.code, 2);
    assert!(
        top.stderr.contains("Usage: epicevents") && top.stderr.contains("Commands:"),
        "{}",
        top.stderr
    );
    assert!(!top.stderr.contains("error:"), "{}", top.stderr);
    let group = u.run(["event"]);
    assert_eq!(group.code, 2);
    assert!(group.stderr.contains("Usage: epicevents event") && group.stderr.contains("assign"));
    assert!(!group.stderr.contains("error:"), "{}", group.stderr);
}

#[test]
fn every_command_help_has_an_example_and_says_who_may_run_it() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name()).trim().to_owned();
        let subs: Vec<_> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if subs.is_empty() {
            let after = cmd.get_after_help().map(|s| s.to_string()).unwrap_or_default();
            if !after.contains("Example") {
                missing.push(format!("{path}: no example"));
            }
            // every command of spec §4's table says who may run it
            let command = path.trim_start_matches("epicevents ").to_owned();
            let in_table = epicevents::auth::permissions::action_for(&command).is_some()
                || command == "create-employee";
            if in_table && !after.contains("Who may run it: ") {
                missing.push(format!("{path}: no permission line"));
            }
            // help is wrapped at 100 columns without a terminal: an example wrapped inside
            // a quoted argument would not survive a copy and paste
            for line in after.lines().filter(|l| l.starts_with("  ") && l.len() > 90) {
                missing.push(format!("{path}: example line over 90 columns: {line}"));
            }
        }
        for s in subs {
            walk(s, &path, missing);
        }
    }
    let mut missing = vec![];
    walk(&epicevents::cli::command(), "", &mut missing);
    assert!(missing.is_empty(), "{missing:#?}");
    let db = TestDb::new();
    db.user()
        .run(["contract", "pay", "--help"])
        .ok()
        .stdout_has("Who may run it: MANAGEMENT; SALES if sales contact of the client");
    db.user().run(["client", "list", "--help"]).ok().stdout_has("(with --mine: SALES)");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let (db, m) = with_manager();
    db.sql(
        "insert into employees (first_name, last_name, email, role, password_hash)
         select 'E' || i, 'X', 'e' || i || '@example.com', 'SUPPORT', 'x'
         from generate_series(1, 3000) i",
    );
    for format in ["", "--json", "--csv"] {
        let mut args = vec!["employee", "list", "--all"];
        if !format.is_empty() {
            args.insert(0, format);
        }
        let mut child =
            m.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 64];
        out.read_exact(&mut first).unwrap();
        drop(out); // like `| head -c 64`
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let (_db, m) = with_manager();
    let piped = m.run(["whoami"]).ok();
    assert!(!piped.stdout.contains('\x1b'));
    let (code, tty) = Pty::spawn(&m, &["whoami"], false).finish();
    assert_eq!(code, 0, "{tty}");
    assert!(tty.contains("\x1b["), "colour on a terminal: {tty:?}");
    let (code, tty) = Pty::spawn(&m, &["whoami"], true).finish();
    assert_eq!(code, 0);
    assert!(!tty.contains('\x1b'), "NO_COLOR: {tty:?}");
}

#[test]
fn confirmations_are_asked_on_a_terminal_and_no_is_not_an_error() {
    let c = crm();
    c.sam.run(["client", "create", "Del", "Me", "del@example.com"]).ok();
    let mut t = Pty::spawn(&c.mia, &["client", "delete", "2"], true);
    t.answer("Delete client 2 (Del Me <del@example.com>)? [y/N]", "n");
    let (code, out) = t.finish();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("\r\nCancelled: nothing was changed.\r\n") && !out.contains("error"),
        "{out:?}"
    );
    c.mia.run(["client", "show", "2"]).ok();
    // Ctrl-D: the answer is no, said on a line of its own
    let mut t = Pty::spawn(&c.mia, &["client", "delete", "2"], true);
    t.expect("[y/N] ");
    t.send("\x04");
    let (code, out) = t.finish();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("[y/N] \r\nCancelled: nothing was changed."), "{out:?}");
    let mut t = Pty::spawn(&c.mia, &["client", "delete", "2"], true);
    t.answer("[y/N]", "y");
    assert_eq!(t.finish().0, 0);
    c.mia.run(["client", "show", "2"]).code(5);
}

#[test]
fn passwords_are_hidden_and_both_login_fields_are_asked_for() {
    let c = crm();
    let mut t = Pty::spawn(&c.mia, &["login", "sam@example.com"], true);
    t.type_secret("Password:", PASSWORD);
    let (code, out) = t.finish();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Password:") && !out.contains(PASSWORD), "{out:?}");

    let mut t = Pty::spawn(&c.sue, &["login"], true);
    t.answer("Email:", "sue@example.com");
    t.type_secret("Password:", PASSWORD);
    let (code, out) = t.finish();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Logged in as Sue") && !out.contains(PASSWORD), "{out:?}");
}

#[test]
fn ctrl_c_at_a_password_prompt_gives_the_terminal_back_as_it_was() {
    let c = crm();
    let mut t = Pty::spawn(&c.mia, &["login", "sam@example.com"], true);
    t.hidden("Password:");
    t.send("hunter");
    t.send("\x03");
    let code = t.wait();
    let out = t.output();
    assert_eq!(code, 130, "{out:?}");
    assert!(out.contains("Cancelled: nothing was changed.") && !out.contains("hunter"), "{out:?}");
    assert!(t.echoing(), "the terminal was left without echo: {out:?}");
    // nothing was sent: Mia's session is still the one stored
    c.mia.run(["whoami"]).ok().stdout_has("Mia");
}

#[test]
fn who_may_is_checked_before_any_prompt() {
    let c = crm();
    // a salesperson creating an employee is refused before typing a password
    let (code, out) = Pty::spawn(
        &c.sam,
        &["employee", "create", "Eve", "Nope", "eve@x.io", "-", "MANAGEMENT"],
        true,
    )
    .finish();
    assert_eq!(code, 4, "{out}");
    assert!(!out.contains("password:") && out.contains("permission denied"), "{out:?}");
    // support changing someone else's password: refused before typing
    let (code, out) = Pty::spawn(&c.sue, &["employee", "set-password", "5"], true).finish();
    assert_eq!(code, 4, "{out}");
    assert!(!out.contains("password:"), "{out:?}");
    // support deleting an event, without --yes: refused before the question
    let (code, out) = Pty::spawn(&c.sue, &["event", "delete", "1"], true).finish();
    assert_eq!(code, 4, "{out}");
    assert!(!out.contains("[y/N]"), "{out:?}");
    // a delete something refuses: said before asking, with where to look
    let (code, out) = Pty::spawn(&c.mia, &["contract", "delete", "1"], true).finish();
    assert_eq!(code, 6, "{out}");
    assert!(!out.contains("[y/N]") && out.contains("event list --contract 1"), "{out:?}");
}

#[test]
fn a_new_password_meets_the_policy_at_the_first_prompt() {
    let c = crm();
    let mut t = Pty::spawn(&c.mia, &["employee", "set-password", "3"], true);
    t.type_secret("New password:", "short");
    let (code, out) = t.finish();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("too short") && !out.contains("Repeat"), "{out:?}");
}

#[test]
fn changing_ones_own_password_asks_for_the_current_one() {
    let c = crm();
    let mut t = Pty::spawn(&c.sam, &["employee", "set-password", "2"], true);
    t.type_secret("Current password:", PASSWORD);
    t.type_secret("New password:", "Brand-new-pass-1");
    t.type_secret("Repeat the password:", "Brand-new-pass-1");
    let (code, out) = t.finish();
    assert_eq!(code, 0, "{out}");
    c.db.user().run_stdin("Brand-new-pass-1\n", ["login", "sam@example.com"]).ok();
    // a manager changing their own password is asked too; resetting another's is not
    let mut t = Pty::spawn(&c.mia, &["employee", "set-password", "1"], true);
    t.type_secret("Current password:", "not-the-password");
    let (code, out) = t.finish();
    assert_eq!(code, 3, "{out}");
    let mut t = Pty::spawn(&c.mia, &["employee", "set-password", "4"], true);
    t.type_secret("New password:", "Brand-new-pass-2");
    t.type_secret("Repeat the password:", "Brand-new-pass-2");
    assert_eq!(t.finish().0, 0);
}

#[test]
fn demoting_oneself_is_confirmed() {
    let c = crm();
    c.mia.add_employee("Max", "max@example.com", "MANAGEMENT");
    let mut t = Pty::spawn(&c.mia, &["employee", "update", "1", "--role", "SALES"], true);
    t.answer("Change your own role from MANAGEMENT to SALES?", "n");
    assert_eq!(t.finish().0, 2);
    assert_eq!(c.db.scalar("select role from employees where id = 1"), "MANAGEMENT");
    // without a terminal, --yes is the way to say yes
    c.mia.run(["employee", "update", "1", "--role", "SALES"]).code(2).stderr_has("--yes");
    c.mia.run(["employee", "update", "1", "--role", "SALES", "--yes"]).ok();
    assert_eq!(c.db.scalar("select role from employees where id = 1"), "SALES");
}
