//! The Windows build under Wine (spec §13), against the suite's PostgreSQL and servers on
//! loopback: the session in (Wine's) Credential Manager and no token file, the file store in
//! `%APPDATA%`, the largest session against a credential blob's 2,560 bytes, direct mode
//! giving the same answers as the Linux build, Ctrl-C at a hidden prompt, `serve` stopped by
//! Ctrl-C, and the zero-config database refused.
//!
//! Not part of a plain `cargo test` (`test = false` in Cargo.toml): it needs the Windows
//! binary, mingw-w64 and Wine. `.ci/run` runs it as a step of its own:
//!
//! ```sh
//! cargo build --release --target x86_64-pc-windows-gnu
//! EPICEVENTS_WINDOWS_EXE=target/x86_64-pc-windows-gnu/release/epicevents.exe \
//!     cargo test --test windows
//! ```
//!
//! Each test is a laptop of its own: a Wine prefix (its own registry, Credential Manager and
//! `%APPDATA%`) copied from one made once per run.
#![cfg(target_os = "linux")]
// Test helpers may panic: a panic is a test failure with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../it/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "../it/pty.rs"]
#[allow(dead_code)]
mod pty;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::*;

/// A credential blob's limit on Windows (CRED_MAX_CREDENTIAL_BLOB_SIZE); Wine has none.
const CRED_MAX_CREDENTIAL_BLOB_SIZE: usize = 2560;

/// The Windows binary under test.
fn exe() -> PathBuf {
    let exe = std::env::var_os("EPICEVENTS_WINDOWS_EXE").map(PathBuf::from).expect(
        "set EPICEVENTS_WINDOWS_EXE to the Windows build (cargo build --release --target \
         x86_64-pc-windows-gnu; see .ci/run)",
    );
    assert!(exe.is_file(), "no Windows binary at {}", exe.display());
    std::fs::canonicalize(exe).unwrap()
}

/// Wine's 64-bit loader: Debian puts `wine64` in its library folder, not on PATH.
fn wine() -> &'static Path {
    static WINE: OnceLock<PathBuf> = OnceLock::new();
    WINE.get_or_init(|| {
        let mut candidates = vec![PathBuf::from("/usr/lib/wine/wine64")];
        if let Some(path) = std::env::var_os("PATH") {
            for d in std::env::split_paths(&path) {
                candidates.push(d.join("wine64"));
                candidates.push(d.join("wine"));
            }
        }
        candidates
            .into_iter()
            .find(|p| p.is_file())
            .expect("Wine is installed (apt-get install --no-install-recommends wine64)")
    })
}

/// A Wine prefix made once per run (`wineboot`, a few seconds), with the stand-in
/// `bcryptprimitives.dll` that Wine 8 lacks (see `bcryptprimitives.c`); removed at exit.
fn template_prefix() -> &'static Path {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let dir = tempfile::Builder::new().prefix("epicevents-wine-").tempdir().unwrap().keep();
        TEMPLATE_DIR.set(dir.clone()).unwrap();
        #[allow(unsafe_code)]
        // SAFETY: registers a plain extern "C" function; it runs once at process exit.
        unsafe {
            libc::atexit(remove_template);
        }
        let prefix = dir.join("prefix");
        let boot = Command::new(wine())
            .args(["wineboot", "--init"])
            .env("WINEPREFIX", &prefix)
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(boot.status.success(), "wineboot: {}", String::from_utf8_lossy(&boot.stderr));
        wineserver(&prefix, "-w");
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/windows");
        let dll = prefix.join("drive_c/windows/system32/bcryptprimitives.dll");
        let cc = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-o"])
            .arg(&dll)
            .arg(here.join("bcryptprimitives.c"))
            .arg(here.join("bcryptprimitives.def"))
            .arg("-ladvapi32")
            .output()
            .expect("mingw-w64 is installed (apt-get install gcc-mingw-w64-x86-64)");
        assert!(cc.status.success(), "mingw: {}", String::from_utf8_lossy(&cc.stderr));
        prefix
    })
}

static TEMPLATE_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_template() {
    if let Some(dir) = TEMPLATE_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `wineserver FLAG` for the prefix: `-w` waits until it has written its registry and
/// exited, `-k` ends it and every program still running there.
fn wineserver(prefix: &Path, flag: &str) {
    let server = wine().with_file_name("wineserver");
    let server = if server.is_file() { server } else { PathBuf::from("wineserver") };
    let _ = Command::new(server).arg(flag).env("WINEPREFIX", prefix).status();
}

/// One Windows laptop: a Wine prefix of its own and the settings of its user.
struct Laptop {
    _dir: tempfile::TempDir,
    prefix: PathBuf,
    envs: Vec<(String, String)>,
}

impl Laptop {
    fn new(envs: &[(&str, &str)]) -> Laptop {
        let dir = tempfile::Builder::new().prefix("epicevents-laptop-").tempdir().unwrap();
        let prefix = dir.path().join("prefix");
        let cp = Command::new("cp").arg("-a").arg(template_prefix()).arg(&prefix).status().unwrap();
        assert!(cp.success(), "copy the Wine prefix");
        // Wine turns the Unix arguments and environment into Windows' UTF-16 by the Unix
        // locale: a UTF-8 one, as a Windows program gets its arguments in UTF-16 anyway
        let mut all = vec![
            ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ("TZ".into(), "UTC".into()),
            ("NO_COLOR".into(), "1".into()),
        ];
        all.extend(envs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Laptop { _dir: dir, prefix, envs: all }
    }

    /// A user of the server at `url` (the token store left to its default, `auto`).
    fn of_server(url: &str) -> Laptop {
        Laptop::new(&[("EPICCRM_SERVER", url)])
    }

    /// A user of a database, directly, as the suite's `User` is.
    fn of_database(url: &str) -> Laptop {
        Laptop::new(&[("DATABASE_URL", url), ("EPICCRM_JWT_SECRET", JWT_SECRET)])
    }

    fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.into(), value.into()));
        self
    }

    /// `program ARGS` in this prefix, with a clean environment.
    fn wine(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(wine());
        c.arg(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.prefix.parent().unwrap())
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null());
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    fn command(&self, args: &[&str]) -> Command {
        self.wine(&exe(), args)
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    fn run_stdin(&self, input: &str, args: &[&str]) -> Run {
        run_with_stdin(self.command(args), input)
    }

    /// `%APPDATA%\epiccrm\config`, where the token file lives (the `directories` crate's
    /// configuration folder on Windows).
    fn config_dir(&self) -> PathBuf {
        let users = self.prefix.join("drive_c/users");
        let user = std::fs::read_dir(&users)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("AppData/Roaming").is_dir())
            .expect("a Wine user profile");
        user.join("AppData/Roaming/epiccrm/config")
    }

    /// The token files in `%APPDATA%\epiccrm\config`.
    fn token_files(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.config_dir()) else { return Vec::new() };
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("tokens"))
            .collect()
    }

    /// The generic credentials of Credential Manager — target name → (persistence, size of
    /// the secret blob in bytes) — as Wine keeps them, read with Windows' own `reg`.
    fn credentials(&self) -> BTreeMap<String, (u32, usize)> {
        let out = self
            .wine(Path::new("reg"), &["query", r"HKCU\Software\Wine\Credential Manager", "/s"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        let mut creds = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(target) = line.split("\\Credential Manager\\Generic: ").nth(1) {
                current = Some(target.to_owned());
                creds.insert(target.to_owned(), (0, 0));
                continue;
            }
            let Some(target) = &current else { continue };
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                ["Password", "REG_BINARY", hex] => {
                    creds.get_mut(target).unwrap().1 = hex.len() / 2;
                }
                ["Persist", "REG_DWORD", value] => {
                    let v = u32::from_str_radix(value.trim_start_matches("0x"), 16).unwrap();
                    creds.get_mut(target).unwrap().0 = v;
                }
                _ => {}
            }
        }
        creds
    }
}

impl Drop for Laptop {
    fn drop(&mut self) {
        wineserver(&self.prefix, "-k");
    }
}

/// Wine's value of `Persist` for a credential kept on this computer only.
const CRED_PERSIST_LOCAL_MACHINE: u32 = 2;

/// The credential target of a server's session: `ACCOUNT.SERVICE`.
fn target_of(server: &str) -> String {
    format!("server:{server}.epiccrm-cli")
}

#[test]
fn the_windows_build_runs_and_says_its_version() {
    let pc = Laptop::new(&[]);
    let r = pc.run(&["--version"]).ok();
    assert_eq!(r.stdout, format!("epicevents {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_session_lives_in_credential_manager_and_in_no_file() {
    let db = TestDb::new();
    db.employees(&[("Mia", "mia@example.com", "MANAGEMENT")]);
    let url = db.server_url();
    let pc = Laptop::of_server(&url);
    let r = pc.run_stdin(&format!("{PASSWORD}\n"), &["login", "mia@example.com"]).ok();
    assert_eq!(r.stdout, "Logged in as Mia Test <mia@example.com> (MANAGEMENT).\n");
    let me = pc.run(&["--json", "whoami"]).ok().json();
    assert_eq!((me["id"].as_i64(), me["email"].as_str()), (Some(1), Some("mia@example.com")));

    let creds = pc.credentials();
    let (persist, size) = creds
        .get(&target_of(&url))
        .unwrap_or_else(|| panic!("no credential for {url} in {creds:?}"));
    assert_eq!(*persist, CRED_PERSIST_LOCAL_MACHINE, "kept on this computer, not roaming");
    assert!(*size > 0 && *size <= CRED_MAX_CREDENTIAL_BLOB_SIZE, "{size} bytes");
    assert_eq!(pc.token_files(), Vec::<String>::new(), "a token file was written too");

    pc.run(&["logout"]).ok();
    assert!(!pc.credentials().contains_key(&target_of(&url)), "logout left the credential");
    pc.run(&["whoami"]).code(3).stderr_has("not logged in");
    assert_eq!(db.scalar("select count(*) from sessions where revoked_at is null"), "0");
}

#[test]
fn with_the_file_store_the_session_is_a_file_in_appdata() {
    let db = TestDb::new();
    db.employees(&[("Mia", "mia@example.com", "MANAGEMENT")]);
    let url = db.server_url();
    let mut pc = Laptop::of_server(&url);
    pc.set("EPICCRM_TOKEN_STORE", "file");
    pc.run_stdin(&format!("{PASSWORD}\n"), &["login", "mia@example.com"]).ok();
    pc.run(&["whoami"]).ok().stdout_has("mia@example.com");
    let files = pc.token_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let session: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(pc.config_dir().join(&files[0])).unwrap())
            .unwrap();
    assert!(session["access"].is_string() && session["refresh"].is_string(), "{session}");
    assert!(!pc.credentials().contains_key(&target_of(&url)), "the keyring was used too");
    pc.run(&["logout"]).ok();
    assert_eq!(pc.token_files(), Vec::<String>::new());
}

#[test]
fn the_largest_session_a_server_can_issue_fits_a_credential_blob() {
    // the longest tokens: the longest algorithm's signature, the largest employee id
    let db = TestDb::new();
    db.sql(&format!(
        "insert into employees (id, first_name, last_name, email, role, password_hash)
         overriding system value
         values ({}, 'Max', 'Id', 'max@example.com', 'MANAGEMENT', '{}')",
        i64::MAX,
        password_hash()
    ));
    let server = ServerProc::start(&[
        ("DATABASE_URL".into(), db.url.clone()),
        ("EPICCRM_JWT_SECRET".into(), JWT_SECRET.into()),
        ("EPICCRM_JWT_ALG".into(), "HS512".into()),
        ("EPICCRM_JWT_ACCESS_MINUTES".into(), "1440".into()),
        ("EPICCRM_JWT_REFRESH_DAYS".into(), "365".into()),
    ]);
    let pc = Laptop::of_server(&server.url());
    pc.run_stdin(&format!("{PASSWORD}\n"), &["login", "max@example.com"]).ok();
    let creds = pc.credentials();
    let (_, size) = *creds
        .get(&target_of(&server.url()))
        .unwrap_or_else(|| panic!("no credential for {} in {creds:?}", server.url()));
    assert!(size <= CRED_MAX_CREDENTIAL_BLOB_SIZE, "{size} bytes: over Windows' limit");
    // the session is kept as its UTF-8 JSON, not as UTF-16 (twice the size)
    assert!(size < CRED_MAX_CREDENTIAL_BLOB_SIZE / 2, "{size} bytes");
    pc.run(&["--json", "whoami"]).ok().stdout_has(&i64::MAX.to_string());
}

/// Timestamps of this run (today's, give or take a day) replaced by `<now>`: they are all
/// that may differ between two runs of the same commands.
fn without_timestamps(text: &str) -> String {
    let today = chrono::Utc::now().date_naive();
    let days: Vec<String> = (-1..=1)
        .map(|d| (today + chrono::Duration::days(d)).format("%Y-%m-%d").to_string())
        .collect();
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = days.iter().filter_map(|d| rest.find(d.as_str())).min() {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 10..];
        // the time that follows: `T22:30:12.123456Z`, ` 22:30`, `+00:00`…
        let end = tail
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || ":.+-TZ".contains(c) || (c == ' ' && i == 0)))
            .map_or(tail.len(), |(i, _)| i);
        out.push_str("<now>");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A working day in direct mode, as (stdin, arguments): every kind of answer — tables,
/// `key: value`, JSON, CSV, iCalendar — and failures of each exit code.
fn working_day() -> Vec<(&'static str, Vec<&'static str>)> {
    let pw = "Secret123!\n";
    vec![
        (pw, vec!["create-employee", "Ada", "Lovelace", "ada@example.com", "-", "MANAGEMENT"]),
        (pw, vec!["login", "ada@example.com"]),
        ("", vec!["whoami"]),
        ("", vec!["--json", "whoami"]),
        (pw, vec!["employee", "create", "Sam", "Seller", "sam@example.com", "-", "SALES"]),
        (pw, vec!["employee", "create", "Sue", "Support", "sue@example.com", "-", "SUPPORT"]),
        ("", vec!["employee", "list"]),
        ("", vec!["--csv", "employee", "list"]),
        ("", vec!["management-only"]),
        (pw, vec!["login", "sam@example.com"]),
        (
            "",
            vec![
                "client",
                "create",
                "Kevin",
                "Casey",
                "kevin@startup.io",
                "--phone",
                "+33 1 23 45 67 89",
                "--company",
                "Cool Startup LLC",
            ],
        ),
        ("", vec!["client", "list", "--mine"]),
        ("", vec!["--json", "client", "show", "1"]),
        ("", vec!["client", "update", "1", "--company", "Cooler Startup"]),
        ("", vec!["client", "create", "Émile", "Zola", "emile@example.fr"]),
        ("", vec!["client", "list", "--search", "émile"]),
        (pw, vec!["login", "ada@example.com"]),
        ("", vec!["contract", "create", "1", "1000.50", "--signed"]),
        ("", vec!["contract", "create", "1", "200"]),
        ("", vec!["contract", "pay", "1", "250"]),
        ("", vec!["contract", "list", "--unpaid"]),
        ("", vec!["--json", "contract", "show", "1"]),
        (pw, vec!["login", "sam@example.com"]),
        (
            "",
            vec![
                "event",
                "create",
                "1",
                "--name",
                "Launch",
                "--start",
                "2030-06-04 18:00",
                "--end",
                "2030-06-04 23:00",
                "--location",
                "Paris",
                "--attendees",
                "50",
                "--notes",
                "Caterer booked.\nProjector in room B.",
            ],
        ),
        (
            "",
            vec![
                "event",
                "create",
                "2",
                "--name",
                "Too soon",
                "--start",
                "2030-07-01 10:00",
                "--end",
                "2030-07-01 12:00",
                "--location",
                "Lyon",
                "--attendees",
                "5",
            ],
        ),
        ("", vec!["event", "list"]),
        ("", vec!["--json", "event", "list", "--upcoming"]),
        (pw, vec!["employee", "create", "Eve", "Intruder", "eve@example.com", "-", "SALES"]),
        (pw, vec!["login", "ada@example.com"]),
        ("", vec!["event", "assign", "1", "3"]),
        ("", vec!["event", "show", "1"]),
        ("", vec!["--csv", "event", "list", "--all"]),
        ("", vec!["client", "show", "99"]),
        ("", vec!["contract", "create", "1", "abc"]),
        ("", vec!["event", "list", "--start", "tomorrow"]),
        ("", vec!["client", "delete", "1", "--yes"]),
        ("", vec!["audit", "list"]),
        ("wrong-password\n", vec!["login", "ada@example.com"]),
        ("", vec!["logout"]),
        ("", vec!["whoami"]),
    ]
}

/// Runs the working day on both systems, step by step: every exit code, stdout and stderr
/// the same (timestamps of the run, and the address of each one's server, aside).
fn same_answers_as_linux(linux: (&User, &str), windows: (&Laptop, &str)) {
    let mut codes = Vec::new();
    let same = |text: &str, place: &str| {
        let text = without_timestamps(text);
        if place.is_empty() { text } else { text.replace(place, "<server>") }
    };
    for (stdin, args) in working_day() {
        let l = linux.0.run_stdin(stdin, &args);
        let w = windows.0.run_stdin(stdin, &args);
        let what = args.join(" ");
        assert_eq!(w.code, l.code, "exit code of `{what}`\nlinux: {l:?}\nwindows: {w:?}");
        assert_eq!(same(&w.stdout, windows.1), same(&l.stdout, linux.1), "stdout of `{what}`");
        assert_eq!(same(&w.stderr, windows.1), same(&l.stderr, linux.1), "stderr of `{what}`");
        codes.push(l.code);
    }
    // the day has answers of each kind, failures included
    for code in [0, 2, 3, 4, 5, 6] {
        assert!(codes.contains(&code), "no step exits {code}: {codes:?}");
    }
}

#[test]
fn in_direct_mode_every_answer_is_the_linux_builds() {
    let (on_linux, on_windows) = (TestDb::new(), TestDb::new());
    // errors name the database (spec §16): each build has a database of its own
    let name = |url: &str| url.rsplit('/').next().unwrap_or_default().to_string();
    same_answers_as_linux(
        (&User::new(on_linux.url.clone()), &name(&on_linux.url)),
        (&Laptop::of_database(&on_windows.url), &name(&on_windows.url)),
    );
}

#[test]
fn through_a_server_every_answer_is_the_linux_builds() {
    let (on_linux, on_windows) = (TestDb::new(), TestDb::new());
    let (linux, windows) = (on_linux.server_url(), on_windows.server_url());
    same_answers_as_linux(
        (&User::of_server(&linux), &linux),
        (&Laptop::of_server(&windows), &windows),
    );
}

#[test]
fn the_zero_config_database_is_refused_with_what_to_set_instead() {
    let pc = Laptop::new(&[]);
    for args in [&["whoami"][..], &["db", "status"], &["demo"]] {
        pc.run(args)
            .code(7)
            .stderr_has("the zero-config local database is not available on this system")
            .stderr_has("EPICCRM_SERVER")
            .stderr_has("DATABASE_URL");
    }
}

#[test]
fn ctrl_c_at_the_hidden_password_prompt_cancels_cleanly() {
    let db = TestDb::new();
    db.employees(&[("Mia", "mia@example.com", "MANAGEMENT")]);
    let url = db.server_url();
    let pc = Laptop::of_server(&url);
    let mut c = pc.command(&["login", "mia@example.com"]);
    c.env("TERM", "xterm");
    let mut t = pty::Pty::spawn_command(c);
    t.expect("Password:");
    // the prompt is shown just before the console stops echoing, and how Wine's console is
    // set cannot be read from here (on Linux the suite waits for the terminal's echo to go
    // off): a person takes longer than this to type
    std::thread::sleep(std::time::Duration::from_secs(2));
    t.send("hunter");
    std::thread::sleep(std::time::Duration::from_millis(300));
    t.send("\x03");
    let code = t.wait();
    let out = t.output();
    assert_eq!(code, 130, "{out:?}");
    assert!(out.contains("Cancelled: nothing was changed.") && !out.contains("hunter"), "{out:?}");
    assert!(!pc.credentials().contains_key(&target_of(&url)), "a session was stored");
    assert_eq!(db.scalar("select count(*) from sessions"), "0");
}

#[test]
fn colour_in_a_console_and_never_with_no_color_or_piped() {
    let mut pc = Laptop::new(&[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")]);
    pc.envs.retain(|(k, _)| k != "NO_COLOR");
    let in_console = |pc: &Laptop| {
        let mut c = pc.command(&["client", "show", "1"]);
        c.env("TERM", "xterm");
        let mut t = pty::Pty::spawn_command(c);
        let code = t.wait();
        (code, t.output())
    };
    // the console is asked to interpret the escapes, and Wine's draws them on the terminal
    let (code, out) = in_console(&pc);
    assert_eq!(code, 7, "{out:?}");
    assert!(out.contains("\x1b[1;31m") && out.contains("error:"), "{out:?}");
    let piped = pc.run(&["client", "show", "1"]).code(7);
    assert!(!piped.stderr.contains('\x1b'), "{piped:?}");
    pc.set("NO_COLOR", "1");
    let (_, out) = in_console(&pc);
    assert!(!out.contains("\x1b[1;31m") && out.contains("error:"), "{out:?}");
}

#[test]
fn serve_runs_on_windows_and_ctrl_c_stops_it() {
    let db = TestDb::new();
    db.employees(&[("Mia", "mia@example.com", "MANAGEMENT")]);
    let pc = Laptop::of_database(&db.url);
    let mut child = pc
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("epicevents: serving on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the server started");
    // a Linux client of the Windows server
    let u = User::of_server(&url);
    u.login("mia@example.com");
    u.run(["--json", "whoami"]).ok().stdout_has("mia@example.com");
    // Ctrl-C in its console (Wine turns SIGINT into the console's Ctrl-C event)
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let run = ended_on_its_own(child, "the Windows server did not stop on Ctrl-C");
    assert_eq!(run.code, 0);
    let log = log.join().unwrap();
    assert!(log.contains("stopping: finishing the requests in flight"), "{log}");
    assert!(log.contains("POST /v1/session 200"), "{log}");
}
