//! Spec §3: tokens in the OS keyring for real — a D-Bus session bus with an unlocked GNOME
//! Keyring (a real Secret Service), checked from the outside with `secret-tool` — and the
//! file when the keyring is locked or never answers.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{Duration, Utc};
use epicevents::auth::jwt::TokenKind;
use serde_json::Value;

use crate::auth::jwt;
use crate::common::*;

/// A session bus of its own with GNOME Keyring's secrets component, unlocked.
struct SecretService {
    address: String,
    pid: i32,
    home: tempfile::TempDir,
    _runtime: tempfile::TempDir,
}

impl SecretService {
    fn start() -> SecretService {
        let home = tempfile::tempdir().unwrap();
        let runtime = tempfile::tempdir().unwrap();
        let out = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .stderr(Stdio::null())
            .output()
            .expect("dbus-daemon (Debian's dbus; .ci/run installs it)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let address = lines.next().expect("the bus address").to_owned();
        let pid: i32 = lines.next().expect("the bus pid").trim().parse().unwrap();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian's gnome-keyring; .ci/run installs it)");
        keyring.stdin.take().unwrap().write_all(b"keyring-test-password").unwrap();
        // it daemonises: the one we started returns once the keyring is unlocked
        assert!(keyring.wait().unwrap().success(), "the keyring did not start");
        SecretService { address, pid, home, _runtime: runtime }
    }

    fn tool(&self, args: &[&str]) -> std::process::Output {
        Command::new("secret-tool")
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.home.path())
            .output()
            .expect("secret-tool (Debian's libsecret-tools; .ci/run installs it)")
    }

    /// The session stored under the service `epiccrm-cli`, if any.
    fn stored(&self, u: &User) -> Option<Value> {
        let account = u.keyring_account();
        let out = self.tool(&["lookup", "service", "epiccrm-cli", "username", &account]);
        out.status.success().then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    fn store(&self, u: &User, tokens: &Value) {
        let account = u.keyring_account();
        let mut child = Command::new("secret-tool")
            .args([
                "store",
                &format!("--label=keyring:{account}@epiccrm-cli"),
                "service",
                "epiccrm-cli",
                "username",
                &account,
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.home.path())
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(tokens.to_string().as_bytes()).unwrap();
        assert!(child.wait().unwrap().success());
    }

    fn lock(&self) {
        let out = Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    fn user_of(&self, db: &TestDb) -> User {
        let mut u = db.user();
        u.set("EPICCRM_TOKEN_STORE", "auto").set("DBUS_SESSION_BUS_ADDRESS", &self.address);
        u
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // the keyring daemon leaves with its bus
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on the bus daemon we started.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
        }
    }
}

#[test]
fn the_session_lives_in_the_secret_service() {
    let keyring = SecretService::start();
    let (db, _m) = with_manager();
    let u = keyring.user_of(&db);
    u.login("mia@example.com");
    assert!(!u.token_file().exists(), "a token file was written beside the keyring");
    let stored = keyring.stored(&u).expect("the session in the keyring");
    u.run(["whoami"]).ok().stdout_has("mia@example.com");
    // an expired access token there: refreshed transparently, and rotated there
    let claims = jwt().verify(TokenKind::Refresh, stored["refresh"].as_str().unwrap()).unwrap();
    let (expired, _) =
        jwt().issue(TokenKind::Access, 1, claims.sid, Utc::now() - Duration::hours(1)).unwrap();
    keyring.store(&u, &serde_json::json!({ "access": expired, "refresh": stored["refresh"] }));
    u.run(["whoami"]).ok();
    let after = keyring.stored(&u).unwrap();
    assert_ne!(after["refresh"], stored["refresh"], "rotated in the keyring");
    assert!(!u.token_file().exists());
    u.run(["refresh-token"]).ok();
    u.run(["logout"]).ok().stdout_has("Logged out.");
    assert!(keyring.stored(&u).is_none(), "logout left the session in the keyring");
}

#[test]
fn a_locked_keyring_falls_back_to_the_file() {
    let keyring = SecretService::start();
    let (db, _m) = with_manager();
    let u = keyring.user_of(&db);
    keyring.lock();
    let mut login = u.command(["login", "mia@example.com"]);
    let mut child =
        login.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).unwrap();
    ended_on_its_own(child, "login hung on a locked keyring").ok();
    assert!(u.token_file().exists(), "no token file after a locked keyring");
    u.run(["whoami"]).ok();
}

#[test]
fn a_keyring_that_never_answers_does_not_hang_the_cli() {
    // a "session bus" that accepts and never says a word
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bus");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let (db, _m) = with_manager();
    let mut u = db.user();
    u.set("EPICCRM_TOKEN_STORE", "auto")
        .set("DBUS_SESSION_BUS_ADDRESS", &format!("unix:path={}", path.display()));
    let finishes = |u: &User, args: &[&str], stdin: &str| -> Run {
        let mut child = u
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        ended_on_its_own(child, &format!("{args:?} hung on a keyring that never answers"))
    };
    finishes(&u, &["login", "mia@example.com"], &format!("{PASSWORD}\n")).ok();
    assert!(u.token_file().exists());
    finishes(&u, &["whoami"], "").ok();
    std::fs::remove_file(u.token_file()).unwrap();
    // forced to the keyring, it says so instead of waiting for ever
    u.set("EPICCRM_TOKEN_STORE", "keyring");
    finishes(&u, &["login", "mia@example.com"], &format!("{PASSWORD}\n"))
        .code(7)
        .stderr_has("did not answer in time");
}

#[test]
fn with_no_keyring_at_all_the_file_is_used_and_forcing_one_says_so() {
    let (db, _m) = with_manager();
    let mut u = db.user();
    u.set("EPICCRM_TOKEN_STORE", "auto").unset("DBUS_SESSION_BUS_ADDRESS");
    u.login("mia@example.com");
    assert!(u.token_file().exists());
    u.run(["whoami"]).ok();
    u.run(["logout"]).ok();
    assert!(!u.token_file().exists());
    u.set("EPICCRM_TOKEN_STORE", "keyring");
    u.run_stdin(&format!("{PASSWORD}\n"), ["login", "mia@example.com"])
        .code(7)
        .stderr_has("keyring");
}
