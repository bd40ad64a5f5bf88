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
    stopped: std::cell::Cell<bool>,
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
        Ordinary { _dir: dir, home, exe, account, extra_env: vec![], stopped: Default::default() }
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
        Run::from(output(self.command(args)))
    }

    fn data_dir(&self) -> PathBuf {
        self.home.join(".local/share/epiccrm")
    }
}

/// Runs `c`. A binary just copied may still be open for writing in a child another test
/// thread forked meanwhile (until that child execs): "text file busy" passes, so try again.
fn output(mut c: Command) -> std::process::Output {
    let mut tries = 0;
    loop {
        match c.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other.unwrap(),
        }
    }
}

impl Ordinary {
    /// Stops its cluster, which must work (a test that leaves a server running fails).
    fn stop(&self) {
        self.stopped.set(true);
        self.run(&["db", "stop"]).ok();
    }
}

impl Drop for Ordinary {
    fn drop(&mut self) {
        if !self.stopped.get() {
            let r = self.run(&["db", "stop"]);
            if !std::thread::panicking() {
                assert_eq!(r.code, 0, "db stop failed: {}", r.stderr);
            }
        }
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs `sql` as the cluster's superuser, over its private socket (root, or the account the
/// test runs as, may enter it).
fn superuser_sql(u: &Ordinary, sql: &'static str) -> Option<i64> {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let options = sqlx::postgres::PgConnectOptions::new()
            .host(u.data_dir().join("postgres/run").to_str().unwrap())
            .port(5432)
            .username("postgres")
            .database("epicevents");
        let mut conn = sqlx::PgConnection::connect_with(&options).await.unwrap();
        let row: Option<(i64,)> = sqlx::query_as(sql).fetch_optional(&mut conn).await.unwrap();
        row.map(|r| r.0)
    })
}

/// The zero-config database migrates itself only when it is behind: one migrated by a newer
/// epicevents is refused (exit 7), never "migrated" back.
#[test]
fn a_schema_from_a_newer_epicevents_is_refused_not_migrated() {
    let u = Ordinary::new();
    u.run(&["db", "migrate"]).ok();
    let count = "select count(*) from _sqlx_migrations";
    let before = superuser_sql(&u, count);
    superuser_sql(
        &u,
        "insert into _sqlx_migrations (version, description, success, checksum, execution_time)
         values (99990101000000, 'from a newer epicevents', true, '\\x00', 0)",
    );
    u.run(&["whoami"]).code(7).stderr_has("newer than this epicevents");
    u.run(&["create-employee", "Ada", "Lovelace", "ada@example.com", PASSWORD, "MANAGEMENT"])
        .code(7)
        .stderr_has("newer than this epicevents");
    assert_eq!(superuser_sql(&u, count), before.map(|n| n + 1), "nothing migrated or removed");
    u.stop();
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
    // the commands it suggests run as it was run (here: a binary that is not on PATH)
    let me = u.exe.display().to_string();
    assert!(
        r.stdout.contains(&format!("  {me} login ada.lovelace@epicevents.demo\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!("  {me} whoami\n")), "{}", r.stdout);
    // log in with a printed throwaway password
    let line = r.stdout.lines().find(|l| l.trim_start().starts_with("SUPPORT")).unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    u.run(&["login", f[1], f[2]]).ok();
    let mine = u.run(&["--json", "event", "list", "--mine"]).ok().json();
    assert!(!mine.as_array().unwrap().is_empty());
    // events at the hours such events keep, in local time (TZ=UTC here)
    let all = u.run(&["--json", "event", "list", "--all"]).ok().json();
    for e in all.as_array().unwrap() {
        let start = e["start_at"].as_str().unwrap();
        let hour = &start[11..16];
        assert!(["09:00", "14:00", "18:00", "19:30"].contains(&hour), "an event at {start}");
    }
    u.stop();

    // found on PATH, it says `epicevents`
    let v = Ordinary::new();
    let path = format!(
        "{}:{}",
        v.exe.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut by_name = v.command(&["demo"]);
    // run by its name, as a shell runs it after `cargo install` (PATH is the child's)
    let by_name = {
        let mut c = Command::new("epicevents");
        c.args(["demo"]).env_clear();
        for (k, val) in by_name.get_envs() {
            if let Some(val) = val {
                c.env(k, val);
            }
        }
        c.env("PATH", &path).current_dir(&v.home).stdin(Stdio::null());
        if let Some(a) = &v.account {
            c.uid(a.uid).gid(a.gid);
        }
        by_name = c;
        output(by_name)
    };
    let out = String::from_utf8_lossy(&by_name.stdout);
    assert!(by_name.status.success(), "{}", String::from_utf8_lossy(&by_name.stderr));
    assert!(out.contains("  epicevents login ada.lovelace@epicevents.demo\n"), "{out}");
    v.stop();
}

/// Whoever runs the suite (root in CI), on a data directory of its own in an open directory.
struct Operator {
    dir: tempfile::TempDir,
    data: PathBuf,
    extra_env: Vec<(String, String)>,
}

impl Operator {
    fn new() -> Operator {
        let dir = tempfile::tempdir().unwrap();
        // the `postgres` account must be able to walk down to the cluster
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("data");
        Operator { dir, data, extra_env: vec![] }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = Command::new(bin());
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("EPICCRM_DATA_DIR", &self.data)
            .current_dir(self.dir.path());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        Run::from(c.output().unwrap())
    }

    #[cfg(target_os = "linux")]
    fn postmaster_pid(&self) -> u32 {
        let pidfile =
            std::fs::read_to_string(self.data.join("postgres/pgdata/postmaster.pid")).unwrap();
        pidfile.lines().next().unwrap().trim().parse().unwrap()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let r = self.run(&["db", "stop"]);
        if !std::thread::panicking() {
            assert_eq!(r.code, 0, "db stop failed: {}", r.stderr);
        }
    }
}

#[test]
fn the_server_runs_as_postgres_when_root_and_says_why_it_cannot() {
    let me = Operator::new();
    me.run(&["create-employee", "Ada", "L", "ada@example.com", PASSWORD, "MANAGEMENT"]).ok();
    let owner = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata(me.data.join("postgres/pgdata")).unwrap(),
    );
    if running_as_root() {
        assert_eq!(owner, Account::lookup("postgres").unwrap().uid);
        // `postgres` cannot enter a directory of root's with mode 0700
        let closed = tempfile::tempdir().unwrap();
        std::fs::set_permissions(closed.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut shut = Operator::new();
        shut.data = closed.path().join("data");
        shut.run(&["whoami"]).code(7).stderr_has("cannot enter");
    } else {
        // an ordinary user runs it as themself
        let me_uid =
            std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(me.dir.path()).unwrap());
        assert_eq!(owner, me_uid);
    }
}

#[test]
fn never_follows_a_link_planted_in_the_cluster_directory() {
    let me = Operator::new();
    let victim = me.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let cluster = me.data.join("postgres");
    std::fs::create_dir_all(&cluster).unwrap();
    // what the `postgres` account, owner of the cluster directory, could plant there
    std::os::unix::fs::symlink(&victim, cluster.join("run")).unwrap();
    // (the first-run note comes before the refusal)
    let r = me.run(&["whoami"]);
    assert!(r.code == 7 && r.stderr.contains("symbolic link"), "{r:?}");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&victim).unwrap());
    let mine = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(me.dir.path()).unwrap());
    assert_eq!(owner, mine, "the link's target was handed over");
    std::fs::remove_file(cluster.join("run")).unwrap();
}

// a process's environment is readable in /proc on Linux only
#[cfg(target_os = "linux")]
#[test]
fn the_server_gets_a_minimal_environment_never_the_callers() {
    let mut me = Operator::new();
    me.extra_env.push(("SOME_API_KEY".into(), "sk-live-do-not-leak".into()));
    me.extra_env.push(("TZ".into(), "Europe/Paris".into()));
    me.run(&["create-employee", "Ada", "L", "ada@example.com", PASSWORD, "MANAGEMENT"]).ok();
    let environ = std::fs::read(format!("/proc/{}/environ", me.postmaster_pid())).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    let vars: Vec<&str> = environ
        .split('\0')
        .filter(|v| !v.is_empty())
        .map(|v| v.split('=').next().unwrap())
        .collect();
    assert!(!environ.contains("sk-live-do-not-leak"), "{environ}");
    assert!(!vars.contains(&"HOME") && !vars.contains(&"EPICCRM_DATA_DIR"), "{vars:?}");
    for var in &vars {
        // PostgreSQL adds a few of its own (PG_GRANDPARENT_PID, PGLOCALEDIR, PGSYSCONFDIR,
        // PGDATA), and the shell pg_ctl starts it with its working directory (PWD)
        assert!(
            ["PATH", "LC_ALL", "TZ", "PWD"].contains(var) || var.starts_with("PG"),
            "the server was given {var}: {vars:?}"
        );
    }
}

#[test]
fn a_link_planted_as_the_server_log_is_never_read() {
    let me = Operator::new();
    me.run(&["create-employee", "Ada", "L", "ada@example.com", PASSWORD, "MANAGEMENT"]).ok();
    me.run(&["db", "stop"]).ok();
    // a file only its owner may read, and a link to it where the server log was
    let secret = me.dir.path().join("root-only");
    std::fs::write(&secret, "TOPSECRET-CONTENT\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let log = me.data.join("postgres/postgres.log");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&secret, &log).unwrap();
    // and a server that will not start, so that its log is looked at
    let conf = me.data.join("postgres/pgdata/postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nnot_a_real_setting = 1\n");
    std::fs::write(&conf, text).unwrap();
    let r = me.run(&["whoami"]).code(7).stderr_has("did not start");
    assert!(!r.stderr.contains("TOPSECRET"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "TOPSECRET-CONTENT\n");
    // put it back so that the cluster can be stopped
    let text = std::fs::read_to_string(&conf).unwrap().replace("not_a_real_setting = 1", "");
    std::fs::write(&conf, text).unwrap();
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
    // a missing directory is named as such, not through the temporary file
    let r = u.run(&["db", "backup", "/nonexistent-directory/crm.dump"]).code(2);
    assert_eq!(
        r.stderr,
        "error: cannot write /nonexistent-directory/crm.dump: the directory \
         /nonexistent-directory does not exist\nhint: create it first: mkdir -p \
         /nonexistent-directory\n"
    );
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
