//! Reading what was not given on the command line: prompts on a terminal, stdin otherwise.
//! A command asks only once it knows it may go ahead (its preflight, spec §3).

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// A secret: prompted with echo off on a terminal, else the next line of stdin.
pub fn secret(prompt: &str, what: &str) -> Result<String> {
    if interactive() {
        return match crate::sys::read_password(prompt) {
            Ok(s) => Ok(s),
            // Ctrl-C: the terminal is as it was; nothing was sent or changed
            // (the prompt has ended its line)
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(Error::interrupted()),
            // Ctrl-D: end the prompt's line, then say what happened on a line of its own
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                eprintln!();
                Err(Error::cancelled())
            }
            Err(e) => Err(Error::internal("cannot read the password", e)),
        };
    }
    // an empty line is an (empty) password, for the policy to judge; no line is an error
    next_line()?.ok_or_else(|| Error::usage(format!("expected {what} on a line of stdin")))
}

/// A new password: checked by `check` as soon as it is typed, then typed again on a terminal.
pub fn new_secret(prompt: &str, check: impl Fn(&str) -> Result<()>) -> Result<String> {
    let first = secret(prompt, "the new password")?;
    check(&first)?;
    if interactive() {
        let again = secret("Repeat the password: ", "the new password")?;
        if again != first {
            return Err(Error::usage("the passwords do not match"));
        }
    }
    Ok(first)
}

/// A plain value, prompted on a terminal; required otherwise.
pub fn line(prompt: &str, what: &str) -> Result<String> {
    if !interactive() {
        return Err(Error::usage(format!("{what} is required when stdin is not a terminal")));
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    match next_line()? {
        None => {
            eprintln!();
            Err(Error::cancelled())
        }
        Some(l) if l.trim().is_empty() => Err(Error::usage(format!("{what} is required"))),
        Some(l) => Ok(l),
    }
}

fn next_line() -> Result<Option<String>> {
    let mut s = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut s)
        .map_err(|e| Error::internal("cannot read stdin", e))?;
    if s.is_empty() {
        return Ok(None); // end of input
    }
    Ok(Some(s.trim_end_matches(['\n', '\r']).to_owned()))
}

/// Asks a yes/no question on a terminal (no means no: exit 2, nothing changed). Without a
/// terminal, `--yes` is the only way to say yes.
pub fn confirm(question: &str) -> Result<()> {
    if !interactive() {
        return Err(Error::usage("refusing to go on without --yes (stdin is not a terminal)")
            .with_hint("add --yes to confirm"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    match next_line()? {
        Some(a) if a.trim().eq_ignore_ascii_case("y") || a.trim().eq_ignore_ascii_case("yes") => {
            Ok(())
        }
        Some(_) => Err(Error::cancelled()),
        None => {
            eprintln!();
            Err(Error::cancelled())
        }
    }
}
