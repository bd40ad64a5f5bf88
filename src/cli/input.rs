//! Reading what was not given on the command line: prompts on a terminal, stdin otherwise.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

/// A secret: prompted with echo off on a terminal, else the first line of stdin.
pub fn secret(prompt: &str) -> Result<String> {
    if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| Error::internal("cannot read the password", e))
    } else {
        // an empty first line is an (empty) password, for the policy to judge; no line is an error
        first_line_of_stdin().and_then(|l| {
            l.ok_or_else(|| Error::usage("expected the password on the first line of stdin"))
        })
    }
}

/// A new password, typed twice on a terminal.
pub fn new_secret(prompt: &str) -> Result<String> {
    let first = secret(prompt)?;
    if std::io::stdin().is_terminal() {
        let again = secret("Repeat the password: ")?;
        if again != first {
            return Err(Error::usage("the passwords do not match"));
        }
    }
    Ok(first)
}

/// A plain value, prompted on a terminal; required otherwise.
pub fn line(prompt: &str, what: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(format!("{what} is required when stdin is not a terminal")));
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    first_line_of_stdin()?
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| Error::usage(format!("{what} is required")))
}

fn first_line_of_stdin() -> Result<Option<String>> {
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

/// Asks before a destructive change unless `--yes` was given; refuses without a terminal.
pub fn confirm(yes: bool, question: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage("refusing to delete without --yes (stdin is not a terminal)"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    match first_line_of_stdin()? {
        Some(a) if a.trim().eq_ignore_ascii_case("y") || a.trim().eq_ignore_ascii_case("yes") => {
            Ok(())
        }
        _ => Err(Error::usage("cancelled")),
    }
}
