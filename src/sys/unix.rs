//! Linux and macOS (any Unix): modes from creation, `O_NOFOLLOW`, credentials of a child,
//! SIGTERM and SIGINT, and the system's keyring.
#![cfg(unix)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;

use super::RunAs;

/// The zero-config database runs here: PostgreSQL on a Unix socket in a private folder.
pub const LOCAL_DATABASE: bool = true;

/// The locale of the zero-config cluster and of its server's processes: UTF-8 that sorts
/// and compares as the C locale does where the system has `C.UTF-8` (glibc, musl), and
/// `en_US.UTF-8` on macOS, which has no `C.UTF-8` on every version and whose UTF-8 locales
/// collate by code point anyway.
#[cfg(target_os = "macos")]
pub const SERVER_LOCALE: &str = "en_US.UTF-8";
#[cfg(not(target_os = "macos"))]
pub const SERVER_LOCALE: &str = "C.UTF-8";

pub fn open_private(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    opts.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)
}

/// `open_private` met a symbolic link.
pub fn is_link_refused(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

pub fn create_dir(path: &Path, private: bool) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(if private { 0o700 } else { 0o755 }).create(path)
}

/// Nobody but the owner (and root) may read it.
pub fn is_private(meta: &fs::Metadata) -> bool {
    meta.permissions().mode() & 0o077 == 0
}

/// Others may walk through the folder (the `postgres` account, to reach the cluster of root).
pub fn others_may_enter(meta: &fs::Metadata) -> bool {
    meta.permissions().mode() & 0o001 != 0
}

pub fn make_private_file(f: &File) -> io::Result<()> {
    f.set_permissions(fs::Permissions::from_mode(0o600))
}

pub fn make_private_dir(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

/// A password typed at the terminal, unseen. Ctrl-C is an `Interrupted` error once the
/// terminal is back as it was: the prompt reads raw keys and answers Ctrl-C by raising
/// SIGINT before it restores the terminal, so SIGINT is ignored while it reads (keys do not
/// raise it in raw mode; only that `raise` would).
pub fn read_password(prompt: &str) -> io::Result<String> {
    struct Ignoring(Option<libc::sigaction>);
    impl Drop for Ignoring {
        fn drop(&mut self) {
            if let Some(old) = &self.0 {
                #[allow(unsafe_code)]
                // SAFETY: puts back the action sigaction(2) returned below.
                unsafe {
                    libc::sigaction(libc::SIGINT, old, std::ptr::null_mut());
                }
            }
        }
    }
    #[allow(unsafe_code)]
    // SAFETY: sigaction(2) with a zeroed action set to SIG_IGN, and room for the old one.
    let _ignoring = unsafe {
        let mut ignore: libc::sigaction = std::mem::zeroed();
        ignore.sa_sigaction = libc::SIG_IGN;
        let mut old: libc::sigaction = std::mem::zeroed();
        Ignoring((libc::sigaction(libc::SIGINT, &ignore, &mut old) == 0).then_some(old))
    };
    rpassword::prompt_password(prompt)
}

/// Terminals interpret colour escapes as they are.
pub fn ansi_colours(_stderr: bool) -> bool {
    true
}

pub fn is_root() -> bool {
    #[allow(unsafe_code)]
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe {
        libc::geteuid() == 0
    }
}

pub fn run_as(cmd: &mut std::process::Command, account: RunAs) {
    cmd.uid(account.uid).gid(account.gid);
}

pub fn hand_over(path: &Path, account: RunAs) -> io::Result<()> {
    std::os::unix::fs::lchown(path, Some(account.uid), Some(account.gid))
}

/// SIGTERM or SIGINT; never, when signals cannot be handled (then the process runs until
/// killed).
pub async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The entry of `account` under `service` in the Secret Service (GNOME Keyring, KWallet),
/// which keeps secrets on disk across reboots; kernel keyrings (keyutils) do not, so they
/// are not used.
#[cfg(target_os = "linux")]
pub fn keyring_entry(service: &str, account: &str) -> keyring_core::Result<keyring_core::Entry> {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        zbus_secret_service_keyring_store::Store::new()?;
    keyring_core::Entry::new_in_store(&store, service, account)
}

/// The entry of `account` under `service` in the user's login Keychain.
#[cfg(target_os = "macos")]
pub fn keyring_entry(service: &str, account: &str) -> keyring_core::Result<keyring_core::Entry> {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        apple_native_keyring_store::keychain::Store::new()?;
    keyring_core::Entry::new_in_store(&store, service, account)
}

/// Other Unix systems: no keyring store is built in; tokens go to the file.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn keyring_entry(_: &str, _: &str) -> keyring_core::Result<keyring_core::Entry> {
    Err(keyring_core::Error::NoDefaultStore)
}

/// glibc raises its mmap threshold to the largest block freed so far (up to 32 MiB); after
/// the first login, a password hash's 19 MiB would come from the heap and stay resident for
/// good, once per thread that ever hashed. A fixed threshold (glibc's default) keeps large
/// blocks in their own mappings, returned to the system when freed. Other allocators
/// (macOS, musl) already return large blocks.
pub fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt(3) only changes a setting of the allocator, which takes its own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
