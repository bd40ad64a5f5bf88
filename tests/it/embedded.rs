//! Spec §9 and the zero-config first run: no DATABASE_URL, no .env, nothing running.
//! CI runs as root, where PostgreSQL refuses to run: there the binary is run as the
//! unprivileged `nobody` account, as an ordinary user would run it.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use epicevents::localdb::{Account, running_as_root};

use crate::common::{PASSWORD, Run, bin};

/// An ordinary user with an empty home, running a copy of the binary it can execute.
struct Ordinary {
    _dir: tempfile::TempDir,
    home: PathBuf,
    exe: PathBuf,
    account: Option<Account>,
    extra_env: Vec<(String, String)>,
}

impl Ordinary {
    fn new() -> Ordinary {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let exe = dir.path().join("epicevents");
        std::fs::copy(bin(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let account =
            running_as_root().then(|| Account::lookup("nobody").expect("a `nobody` account"));
        if let Some(a) = &account {
            std::os::unix::fs::chown(&home, Some(a.uid), Some(a.gid)).unwrap();
        }
        Ordinary { _dir: dir, home, exe, account, extra_env: vec![] }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .current_dir(&self.home)
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        if let Some(a) = &self.account {
            c.uid(a.uid).gid(a.gid);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        let o = self.command(args).output().unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.home.join(".local/share/epiccrm")
    }
}

impl Drop for Ordinary {
    fn drop(&mut self) {
        let _ = self.command(&["db", "stop"]).output();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn first_run_with_no_configuration_at_all() {
    let u = Ordinary::new();
    let t = std::time::Instant::now();
    let r =
        u.run(&["create-employee", "Ada", "Lovelace", "ada@example.com", PASSWORD, "MANAGEMENT"]);
    let first = t.elapsed();
    let r = r.ok();
    assert!(r.stderr.contains("first run"), "{}", r.stderr);
    u.run(&["login", "ada@example.com", PASSWORD]).ok();
    let t = std::time::Instant::now();
    u.run(&["whoami"]).ok().stdout_has("Ada Lovelace");
    eprintln!("embedded: first command {first:?}, warm whoami {:?}", t.elapsed());

    // what it left behind: a private cluster, a private secret, no TCP port
    let data = u.data_dir();
    assert_eq!(mode(&data.join("jwt-secret")), 0o600);
    assert_eq!(mode(&data.join("postgres/run")), 0o700);
    let conf = std::fs::read_to_string(data.join("postgres/pgdata/postmaster.opts")).unwrap();
    assert!(conf.contains("listen_addresses="), "{conf}");
    assert!(!conf.contains("listen_addresses=*") && !conf.contains("127.0.0.1"), "{conf}");

    let st = u.run(&["db", "status"]).ok();
    assert!(
        st.stdout.contains(&data.display().to_string()) && st.stdout.contains("running"),
        "{}",
        st.stdout
    );
    u.run(&["db", "stop"]).ok().stdout_has("Stopped");
    u.run(&["db", "status"]).ok().stdout_has("stopped");
    // the next commands start it again, data intact; several at once start it once
    let children: Vec<_> = (0..4)
        .map(|_| {
            u.command(&["whoami"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("ada@example.com"));
    }
    u.run(&["demo"]).code(6).stderr_has("not empty");
}

#[test]
fn demo_is_the_first_command_of_a_fresh_install() {
    let u = Ordinary::new();
    let r = u.run(&["demo"]).ok();
    assert!(
        r.stdout.contains("MANAGEMENT")
            && r.stdout.contains("SALES")
            && r.stdout.contains("SUPPORT")
    );
    // log in with a printed throwaway password
    let line = r.stdout.lines().find(|l| l.trim_start().starts_with("SUPPORT")).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    u.run(&["login", f[1], f[2]]).ok();
    let mine = u.run(&["--json", "event", "list", "--mine"]).ok().json();
    assert!(!mine.as_array().unwrap().is_empty());
}

#[test]
fn root_runs_the_server_as_postgres_or_says_why_not() {
    if !running_as_root() {
        // as an ordinary user this case does not arise; the other tests cover that path
        return;
    }
    let closed = tempfile::tempdir().unwrap();
    // `postgres` cannot enter a directory of root's with mode 0700
    std::fs::set_permissions(closed.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = |dir: &Path, args: &[&str]| -> Run {
        let o = Command::new(bin())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", closed.path())
            .env("EPICCRM_DATA_DIR", dir)
            .current_dir(closed.path())
            .output()
            .unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    };
    run(&closed.path().join("data"), &["whoami"]).code(7).stderr_has("cannot enter");

    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = open.path().join("data");
    run(&data, &["create-employee", "Ada", "L", "ada@example.com", PASSWORD, "MANAGEMENT"]).ok();
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(data.join("postgres/pgdata")).unwrap(),
    );
    assert_eq!(owner, Account::lookup("postgres").unwrap().uid);
    run(&data, &["db", "stop"]).ok();
}

#[test]
fn root_never_follows_a_link_planted_in_the_cluster_directory() {
    if !running_as_root() {
        return; // only root hands files to another account
    }
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let victim = open.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let cluster = open.path().join("data/postgres");
    std::fs::create_dir_all(&cluster).unwrap();
    // what the `postgres` account, owner of the cluster directory, could plant there
    std::os::unix::fs::symlink(&victim, cluster.join("run")).unwrap();
    let o = Command::new(bin())
        .arg("whoami")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", open.path())
        .env("EPICCRM_DATA_DIR", open.path().join("data"))
        .current_dir(open.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&victim).unwrap());
    assert_eq!(owner, 0, "the link's target was handed over");
}

/// The demo's printed password of the account with `role`.
fn demo_login(out: &str, role: &str) -> (String, String) {
    let line = out.lines().find(|l| l.trim_start().starts_with(role)).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    (f[1].to_owned(), f[2].to_owned())
}

#[test]
fn backup_then_restore_into_a_fresh_data_directory() {
    let u = Ordinary::new();
    let demo = u.run(&["demo"]).ok().stdout;
    let (email, password) = demo_login(&demo, "MANAGEMENT");
    let file = u.home.join("crm.dump");
    let file_arg = file.to_str().unwrap();
    u.run(&["db", "backup", file_arg]).ok().stdout_has("Backed up the database");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(&std::fs::read(&file).unwrap()[..5], b"PGDMP", "PostgreSQL's custom format");
    // nothing half-written where it cannot write
    u.run(&["db", "backup", "/nonexistent-directory/crm.dump"]).code(2);
    let leftovers: Vec<_> = std::fs::read_dir(&u.home)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    u.run(&["db", "stop"]).ok();

    let v = Ordinary::new();
    let copy = v.home.join("crm.dump");
    std::fs::copy(&file, &copy).unwrap();
    if let Some(a) = &v.account {
        std::os::unix::fs::chown(&copy, Some(a.uid), Some(a.gid)).unwrap();
    }
    v.run(&["db", "restore", copy.to_str().unwrap()]).ok().stdout_has("Restored");
    v.run(&["login", &email, &password]).ok();
    let clients = v.run(&["--json", "client", "list"]).ok().json();
    assert_eq!(clients.as_array().unwrap().len(), 8);
    // only into an empty database
    v.run(&["db", "restore", copy.to_str().unwrap()]).code(6).stderr_has("not empty");
    // not a backup at all
    std::fs::write(v.home.join("junk.dump"), "not a dump").unwrap();
    v.run(&["db", "restore", v.home.join("junk.dump").to_str().unwrap()]).code(2);
}

#[test]
fn backup_and_restore_are_for_the_zero_config_database_only() {
    let db = crate::common::TestDb::new();
    let u = db.user();
    u.run(["db", "backup", "x.dump"]).code(2).stderr_has("pg_dump");
    u.run(["db", "restore", "x.dump"]).code(2).stderr_has("pg_restore");
}
