//! Terminal manners: completions, man page, suggestions, colour only on a terminal,
//! confirmation prompts, and a closed pipe that is not an error.

use std::io::{Read, Write};
use std::process::Stdio;

use crate::common::*;

#[test]
fn completions_for_every_shell_and_a_man_page() {
    let db = TestDb::new();
    let u = db.user();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = u.run(["completions", shell]).ok();
        assert!(r.stdout.contains("epicevents") && r.stdout.contains("contract"), "{shell}");
    }
    u.run(["completions", "tcsh"]).code(2);
    let man = u.run(["man"]).ok();
    assert!(man.stdout.contains(".TH epicevents") && man.stdout.contains("create\\-employee"));
}

#[test]
fn typos_get_suggestions() {
    let db = TestDb::new();
    let u = db.user();
    u.run(["clien", "list"]).code(2).stderr_has("client");
    u.run(["contract", "lst"]).code(2).stderr_has("list");
    u.run(["event", "list", "--no-suport"]).code(2).stderr_has("--no-support");
}

#[test]
fn every_command_help_has_an_example() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name()).trim().to_owned();
        let subs: Vec<_> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
        if subs.is_empty() {
            let after = cmd.get_after_help().map(|s| s.to_string()).unwrap_or_default();
            if !after.contains("Example") {
                missing.push(path.clone());
            }
            // help is wrapped at 100 columns without a terminal: an example wrapped inside
            // a quoted argument would not survive a copy and paste
            for line in after.lines().filter(|l| l.len() > 90) {
                missing.push(format!("{path}: example line over 90 columns: {line}"));
            }
        }
        for s in subs {
            walk(s, &path, missing);
        }
    }
    let mut missing = vec![];
    walk(&<epicevents::cli::Cli as clap::CommandFactory>::command(), "", &mut missing);
    assert!(missing.is_empty(), "commands without a usable example in --help: {missing:#?}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let (db, m) = with_manager();
    db.sql(
        "insert into employees (first_name, last_name, email, role, password_hash)
         select 'E' || i, 'X', 'e' || i || '@example.com', 'SUPPORT', 'x'
         from generate_series(1, 3000) i",
    );
    for json in [false, true] {
        let mut args = vec!["employee", "list", "--all"];
        if json {
            args.insert(0, "--json");
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

/// Runs the binary on a pseudo-terminal (util-linux `script`), typing `input` once the
/// output shows `prompt` (typing earlier would let the terminal echo it before the program
/// could turn echo off).
fn on_a_terminal(u: &User, input: &str, args: &str, no_color: bool) -> (i32, String) {
    on_a_terminal_after(u, "", input, args, no_color)
}

fn on_a_terminal_after(
    u: &User,
    prompt: &str,
    input: &str,
    args: &str,
    no_color: bool,
) -> (i32, String) {
    on_a_terminal_dialog(u, &[(prompt, input)], args, no_color)
}

/// Like `on_a_terminal_after`, answering each prompt in turn.
fn on_a_terminal_dialog(
    u: &User,
    dialog: &[(&str, &str)],
    args: &str,
    no_color: bool,
) -> (i32, String) {
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &format!("{} {args}", bin()), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", u.dir())
        .env("TERM", "xterm")
        .current_dir(u.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &u.envs {
        if k != "NO_COLOR" || no_color {
            c.env(k, v);
        }
    }
    let mut child = c.spawn().expect("util-linux `script`");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut stdin = child.stdin.take().unwrap();
    for (prompt, input) in dialog {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !String::from_utf8_lossy(&seen).contains(prompt)
            && std::time::Instant::now() < deadline
        {
            if let Ok(chunk) = rx.recv_timeout(std::time::Duration::from_millis(50)) {
                seen.extend(chunk);
            }
        }
        // the prompt is printed just before echo is turned off: a person cannot type in that
        // gap, a test can, so give the program a moment
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdin.write_all(input.as_bytes()).unwrap();
    }
    let status = child.wait().unwrap();
    drop(stdin);
    reader.join().unwrap();
    while let Ok(chunk) = rx.try_recv() {
        seen.extend(chunk);
    }
    (status.code().unwrap_or(-1), String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let (_db, m) = with_manager();
    let piped = m.run(["whoami"]).ok();
    assert!(!piped.stdout.contains('\x1b'));
    let (code, tty) = on_a_terminal(&m, "", "whoami", false);
    assert_eq!(code, 0, "{tty}");
    assert!(tty.contains("\x1b["), "colour on a terminal: {tty:?}");
    let (code, tty) = on_a_terminal(&m, "", "whoami", true);
    assert_eq!(code, 0);
    assert!(!tty.contains('\x1b'), "NO_COLOR: {tty:?}");
}

#[test]
fn destructive_commands_ask_on_a_terminal_and_passwords_are_hidden() {
    let c = crm();
    c.sam.run(["client", "create", "Del", "Me", "del@example.com"]).ok();
    let (code, out) = on_a_terminal_after(&c.mia, "[y/N]", "n\n", "client delete 2", true);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Delete client 2? [y/N]"), "{out}");
    c.mia.run(["client", "show", "2"]).ok();
    let (code, out) = on_a_terminal_after(&c.mia, "[y/N]", "y\n", "client delete 2", true);
    assert_eq!(code, 0, "{out}");
    c.mia.run(["client", "show", "2"]).code(5);

    // the password prompt does not echo what is typed
    let (code, out) = on_a_terminal_after(
        &c.mia,
        "Password:",
        &format!("{PASSWORD}\n"),
        "login sam@example.com",
        true,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Password:") && !out.contains(PASSWORD), "{out:?}");

    // with neither e-mail nor password given, both are asked for
    let (code, out) = on_a_terminal_dialog(
        &c.sue,
        &[("Email:", "sue@example.com\n"), ("Password:", &format!("{PASSWORD}\n"))],
        "login",
        true,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Logged in as Sue") && !out.contains(PASSWORD), "{out:?}");
}
