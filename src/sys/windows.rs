//! Windows: the user's profile guards private files, reparse points are refused, console
//! control events stop a server, and Windows Credential Manager keeps the session.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use super::RunAs;

/// `FILE_FLAG_OPEN_REPARSE_POINT`: open a symbolic link or junction itself, not its target.
const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
/// `FILE_ATTRIBUTE_REPARSE_POINT`.
const ATTRIBUTE_REPARSE_POINT: u32 = 0x0400;

/// The zero-config database needs PostgreSQL on a Unix socket in a private folder, run by
/// `pg_ctl` as the user: not offered on Windows (spec §13), where staff use a server.
pub const LOCAL_DATABASE: bool = false;

/// Unused: no zero-config cluster on Windows.
pub const SERVER_LOCALE: &str = "C";

#[derive(Debug)]
struct LinkRefused;

impl std::fmt::Display for LinkRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a symbolic link or junction is in its place")
    }
}

impl std::error::Error for LinkRefused {}

/// The file is made under the user's profile (`%APPDATA%`), whose access list — the user,
/// SYSTEM and the administrators — it inherits: nobody else can open it. A reparse point
/// (symbolic link, junction) in its place is opened as itself, so nothing is read or written
/// through it, and refused.
pub fn open_private(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    let f = opts.custom_flags(OPEN_REPARSE_POINT).open(path)?;
    if f.metadata()?.file_attributes() & ATTRIBUTE_REPARSE_POINT != 0 {
        return Err(io::Error::other(LinkRefused));
    }
    Ok(f)
}

pub fn is_link_refused(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LinkRefused>())
}

pub fn create_dir(path: &Path, _private: bool) -> io::Result<()> {
    fs::create_dir_all(path)
}

/// Windows has no mode bits: what guards the file is the profile's access list (see
/// `open_private`), which the CLI does not change.
pub fn is_private(_: &fs::Metadata) -> bool {
    true
}

/// Not asked on Windows (the zero-config database is Unix only).
pub fn others_may_enter(_: &fs::Metadata) -> bool {
    true
}

pub fn make_private_file(_: &File) -> io::Result<()> {
    Ok(())
}

pub fn make_private_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

/// The console input and its mode before a password prompt changed it, for the Ctrl-C
/// handler to put back.
static CONSOLE_IN: std::sync::atomic::AtomicPtr<std::ffi::c_void> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());
static CONSOLE_MODE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Ctrl-C or Ctrl-Break during a password prompt: the console's mode put back (input
/// echoed again), the line ended, and the process ends with 130, as on Unix.
extern "system" fn cancel_prompt(event: u32) -> windows_sys::core::BOOL {
    use std::sync::atomic::Ordering;
    use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, CTRL_C_EVENT, SetConsoleMode};
    if event != CTRL_C_EVENT && event != CTRL_BREAK_EVENT {
        return 0;
    }
    let handle = CONSOLE_IN.load(Ordering::SeqCst);
    if !handle.is_null() {
        #[allow(unsafe_code)]
        // SAFETY: the console input handle and the mode GetConsoleMode gave for it.
        unsafe {
            SetConsoleMode(handle, CONSOLE_MODE.load(Ordering::SeqCst));
        }
    }
    eprintln!();
    eprintln!("Cancelled: nothing was changed.");
    std::process::exit(130)
}

/// A password typed in the console, unseen. The prompt turns echo off and leaves Ctrl-C to
/// the console, whose event would end the process with echo still off: while it reads, a
/// handler of ours takes that event, puts the console's mode back and ends the process
/// (exit 130).
pub fn read_password(prompt: &str) -> io::Result<String> {
    use std::sync::atomic::Ordering;
    use windows_sys::Win32::System::Console::{
        GetConsoleMode, GetStdHandle, STD_INPUT_HANDLE, SetConsoleCtrlHandler,
    };
    let mut mode = 0u32;
    #[allow(unsafe_code)]
    // SAFETY: the process's standard input handle, and a place for its mode.
    let console = unsafe {
        let handle = GetStdHandle(STD_INPUT_HANDLE);
        (GetConsoleMode(handle, &mut mode) != 0).then_some(handle)
    };
    let installed = match console {
        Some(handle) => {
            CONSOLE_IN.store(handle, Ordering::SeqCst);
            CONSOLE_MODE.store(mode, Ordering::SeqCst);
            #[allow(unsafe_code)]
            // SAFETY: registers a handler function that lives as long as the program.
            unsafe {
                SetConsoleCtrlHandler(Some(cancel_prompt), 1) != 0
            }
        }
        None => false,
    };
    let read = rpassword::prompt_password(prompt);
    if installed {
        #[allow(unsafe_code)]
        // SAFETY: removes the handler registered above.
        unsafe {
            SetConsoleCtrlHandler(Some(cancel_prompt), 0);
        }
    }
    read
}

/// Asks the console behind stdout (or stderr) to interpret colour escapes
/// (`ENABLE_VIRTUAL_TERMINAL_PROCESSING`, Windows 10 and later; Windows Terminal has it on
/// already); false where it cannot, and then no colour is written.
pub fn ansi_colours(stderr: bool) -> bool {
    use windows_sys::Win32::System::Console::{
        ENABLE_VIRTUAL_TERMINAL_PROCESSING, GetConsoleMode, GetStdHandle, STD_ERROR_HANDLE,
        STD_OUTPUT_HANDLE, SetConsoleMode,
    };
    let which = if stderr { STD_ERROR_HANDLE } else { STD_OUTPUT_HANDLE };
    let mut mode = 0u32;
    #[allow(unsafe_code)]
    // SAFETY: a standard handle of the process, and a place for its mode.
    unsafe {
        let handle = GetStdHandle(which);
        GetConsoleMode(handle, &mut mode) != 0
            && (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0
                || SetConsoleMode(handle, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING) != 0)
    }
}

/// An administrator may run PostgreSQL's tools themselves: nobody to drop to.
pub fn is_root() -> bool {
    false
}

pub fn run_as(_: &mut std::process::Command, _: RunAs) {}

pub fn hand_over(_: &Path, _: RunAs) -> io::Result<()> {
    Ok(())
}

/// Ctrl-C or Ctrl-Break in the console, the console closed, or the system shutting down.
pub async fn stop_signal() {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close, ctrl_shutdown};
    let (Ok(mut c), Ok(mut b), Ok(mut close), Ok(mut shutdown)) =
        (ctrl_c(), ctrl_break(), ctrl_close(), ctrl_shutdown())
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = c.recv() => {}
        _ = b.recv() => {}
        _ = close.recv() => {}
        _ = shutdown.recv() => {}
    }
}

/// A generic credential of the current user in Windows Credential Manager, kept on this
/// machine only (`Local` persistence: it does not roam with the profile to other machines).
/// Its target name is `ACCOUNT.SERVICE` (`session.epiccrm-cli`).
pub fn keyring_entry(service: &str, account: &str) -> keyring_core::Result<keyring_core::Entry> {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        windows_native_keyring_store::Store::new()?;
    let modifiers = std::collections::HashMap::from([("persistence", "Local")]);
    keyring_core::Entry::new_in_store_with_modifiers(&store, service, account, &modifiers)
}

/// The system allocator returns large blocks by itself.
pub fn return_large_blocks() {}
