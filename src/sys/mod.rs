//! What differs between the systems the CLI runs on (spec §13), in one place: private files
//! and folders, refusing symbolic links, running a program as another account, the stop
//! signal, the OS keyring, and whether the zero-config database can work here. Every
//! function has the same signature on every system; the rest of the code carries no `cfg`.
//!
//! - Unix (`unix.rs`): modes 0600/0700 from creation, `O_NOFOLLOW`, `O_NONBLOCK`, `uid`/`gid`
//!   of a child, SIGTERM/SIGINT; the Secret Service on Linux, the login Keychain on macOS.
//! - Windows (`windows.rs`): a file in the user's profile is readable by that user, SYSTEM
//!   and the administrators only — the profile's access list, inherited by everything made
//!   under `%APPDATA%` (docs/security.md); reparse points (symbolic links, junctions) are
//!   refused; Ctrl-C, Ctrl-Break, closing the console and shutting down stop a server;
//!   Windows Credential Manager (a generic credential of the current user, kept on this
//!   machine only); no zero-config database.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

pub use imp::{
    LOCAL_DATABASE, SERVER_LOCALE, ansi_colours, is_link_refused, is_private, is_root,
    keyring_entry, make_private_dir, make_private_file, others_may_enter, read_password,
    return_large_blocks, stop_signal,
};

/// Opens `path` with `opts`, never through a symbolic link (nor a FIFO or a device left in
/// its place: the open does not block on one). A file it creates is readable by its owner
/// only, from the first instant.
pub fn open_private(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    imp::open_private(path, opts)
}

/// Creates `path` and its missing parents; the folders it makes are open to their owner
/// only when `private` (else readable by all, as the zero-config database needs when it is
/// run for root by the `postgres` account).
pub fn create_dir(path: &Path, private: bool) -> io::Result<()> {
    imp::create_dir(path, private)
}

/// An account another program runs as (PostgreSQL, which refuses to run as root).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Makes `cmd` run as `account`.
pub fn run_as(cmd: &mut std::process::Command, account: RunAs) {
    imp::run_as(cmd, account);
}

/// Hands `path` itself (never what a link there points to) to `account`.
pub fn hand_over(path: &Path, account: RunAs) -> io::Result<()> {
    imp::hand_over(path, account)
}

/// The message and hint of a command that needs the zero-config database where it cannot
/// work (`LOCAL_DATABASE` is false).
pub const NO_LOCAL_DATABASE: (&str, &str) = (
    "the zero-config local database is not available on this system",
    "set EPICCRM_SERVER to your company's server (https://…), or DATABASE_URL to a \
     PostgreSQL database",
);
