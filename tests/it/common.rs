//! The test servers and per-test environments.
//!
//! With `DATABASE_URL_TEST` set, that server is used (it must allow CREATE DATABASE).
//! Otherwise a throwaway cluster is made with the installed server binaries (as the
//! `postgres` account when we are root), listening on 127.0.0.1, and removed when the test
//! binary exits — or, if it is killed, by a guard process that outlives it (and by a sweep of
//! stale test directories at the next start). A template database is migrated once; each
//! test gets a copy.
//!
//! Each test database is used in one of four modes (spec §10, §11): directly; through an
//! `epicevents serve` of its own (users hold only its address); directly through PgBouncer in
//! transaction mode; or through a server that itself goes through PgBouncer. `in_every_mode!`
//! declares a test once per mode.

use std::cell::Cell;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use epicevents::localdb::{Account, Cluster, running_as_root};
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "Secret123!";
const SUPERUSER_PASSWORD: &str = "test-superuser-password";

/// How a test's users reach the CRM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `DATABASE_URL` and the JWT secret, as in direct mode.
    Direct,
    /// Only `EPICCRM_SERVER`: an `epicevents serve` per test database.
    Server,
    /// `DATABASE_URL` through PgBouncer in transaction mode.
    Pooler,
    /// A server whose own `DATABASE_URL` goes through PgBouncer.
    ServerPooler,
}

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Direct) };
}

/// The mode of the databases this thread makes.
pub fn mode() -> Mode {
    MODE.with(Cell::get)
}

/// Runs `f` with every database it makes (on this thread) used in `mode`.
pub fn in_mode(m: Mode, f: impl FnOnce()) {
    let before = MODE.with(|c| c.replace(m));
    struct Restore(Mode);
    impl Drop for Restore {
        fn drop(&mut self) {
            MODE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(before);
    f();
}

/// Declares each test once per mode: `name::direct`, `name::server`, `name::pooler`.
#[macro_export]
macro_rules! in_every_mode {
    ($($(#[$attr:meta])* fn $name:ident() $body:block)*) => {$(
        $(#[$attr])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            fn body() $body
            #[test]
            fn direct() {
                $crate::common::in_mode($crate::common::Mode::Direct, body)
            }
            #[test]
            fn server() {
                $crate::common::in_mode($crate::common::Mode::Server, body)
            }
            #[test]
            fn pooler() {
                $crate::common::in_mode($crate::common::Mode::Pooler, body)
            }
        }
    )*};
}

struct Shared {
    /// `postgres://user:password@host:port` without a database name.
    base_url: String,
    host: String,
    port: u16,
    template: String,
    /// `strategy file_copy` for copies of the template (PostgreSQL 15 and later): a small
    /// database is copied faster as files than page by page through the WAL.
    copy_files: bool,
    runtime: tokio::runtime::Runtime,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
/// Databases and roles made on a shared server (`DATABASE_URL_TEST`), dropped at exit even
/// when a test keeps its database in a static.
static MADE: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());
/// The throwaway cluster's directory, when we made one.
static OWN: OnceLock<Own> = OnceLock::new();

struct Own {
    dir: PathBuf,
    cluster: Cluster,
}

/// A PostgreSQL of one test's own, which it may restart or stop without disturbing the tests
/// that share the suite's server, with one migrated database (`crm`).
pub struct OwnPostgres {
    dir: PathBuf,
    cluster: Cluster,
    pub port: u16,
    /// The database's URL.
    pub url: String,
}

impl OwnPostgres {
    pub fn start() -> OwnPostgres {
        let (dir, cluster, port) = new_cluster();
        let base = format!("postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}");
        shared().runtime.block_on(async {
            let mut admin = connect(&base, "postgres").await;
            sqlx::raw_sql("create database crm").execute(&mut admin).await.unwrap();
            let mut conn = connect(&base, "crm").await;
            epicevents::db::migrate(&mut conn).await.unwrap();
        });
        OwnPostgres { dir, cluster, port, url: format!("{base}/crm") }
    }

    /// SQL on the database, on a connection of its own.
    pub fn sql(&self, sql: &str) {
        let url = self.url.clone();
        shared().runtime.block_on(async move {
            let mut c = PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap();
            let _ = c.close().await;
        });
    }

    /// Stopped at once (`immediate`: as a crash or a failover would) or cleanly.
    pub fn stop(&self, immediate: bool) {
        self.cluster.stop(immediate).expect("stop PostgreSQL");
    }

    pub fn start_again(&self) {
        self.cluster.start(Some(self.port)).expect("start PostgreSQL again");
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.cluster.stop(true);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Drops a role made by a test when the test binary exits (shared servers only).
pub fn drop_role_at_exit(role: &str) {
    MADE.lock().unwrap().push(("role", role.to_owned()));
}

const TEST_DIR_PREFIX: &str = "epicevents-test-";

#[allow(unsafe_code)]
extern "C" fn clean_at_exit() {
    if let Some(own) = OWN.get() {
        stop_pgbouncer(&own.dir.join("pgbouncer"));
        let _ = own.cluster.stop(true);
        let _ = std::fs::remove_dir_all(&own.dir);
        return;
    }
    let Some(s) = SHARED.get() else { return };
    stop_pgbouncer(&shared_bouncer_dir());
    let _ = std::fs::remove_dir_all(shared_bouncer_dir());
    let made = std::mem::take(&mut *MADE.lock().unwrap());
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    rt.block_on(async {
        let Ok(opts) = format!("{}/postgres", s.base_url).parse::<PgConnectOptions>() else {
            return;
        };
        let Ok(mut admin) = opts.connect().await else { return };
        let mut statements: Vec<String> = made
            .iter()
            .filter(|(kind, _)| *kind == "database")
            .map(|(_, name)| format!("drop database if exists {name} with (force)"))
            .collect();
        statements.push(format!("drop database if exists {} with (force)", s.template));
        statements.extend(
            made.iter()
                .filter(|(kind, _)| *kind == "role")
                .map(|(_, name)| format!("drop role if exists {name}")),
        );
        for sql in statements {
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await;
        }
    });
}

fn shared_bouncer_dir() -> PathBuf {
    std::env::temp_dir().join(format!("{TEST_DIR_PREFIX}bouncer-{}", std::process::id()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stops what an earlier run of this suite left behind when it was killed: its test
/// directories carry a marker with the owner's pid.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(TEST_DIR_PREFIX) {
            continue;
        }
        let Ok(owner) = std::fs::read_to_string(e.path().join("owner")) else { continue };
        let alive = owner.trim().parse::<i32>().is_ok_and(process_exists);
        if !alive {
            stop_dir_processes(&e.path());
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// kill(2) with signal 0: the process exists (EPERM: it does, and is someone else's).
fn process_exists(pid: i32) -> bool {
    #[allow(unsafe_code)]
    // SAFETY: signal 0 sends nothing; it only checks the pid.
    let sent = unsafe { libc::kill(pid, 0) } == 0;
    sent || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The postmaster and PgBouncer of a test directory, stopped by signal (no pg_ctl needed).
fn stop_dir_processes(dir: &Path) {
    stop_pgbouncer(&dir.join("pgbouncer"));
    if let Ok(text) = std::fs::read_to_string(dir.join("cluster/pgdata/postmaster.pid"))
        && let Some(pid) = text.lines().next().and_then(|l| l.trim().parse::<i32>().ok())
    {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) with a pid read from the server's own pid file.
        unsafe {
            libc::kill(pid, libc::SIGQUIT);
        }
    }
}

/// A process of its own session that waits for this test binary to end, however it ends,
/// then stops the servers and removes the directory. On a normal exit `clean_at_exit` has
/// done it already and the guard finds nothing to do.
fn spawn_guard(dir: &Path) {
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         f='{d}/pgbouncer/pgbouncer.pid'; [ -f \"$f\" ] && kill -TERM \"$(head -n 1 \"$f\")\" 2>/dev/null; \
         f='{d}/cluster/pgdata/postmaster.pid'; [ -f \"$f\" ] && kill -QUIT \"$(head -n 1 \"$f\")\" 2>/dev/null; \
         sleep 1; rm -rf '{d}'",
        pid = std::process::id(),
        d = dir.display()
    );
    let mut c = Command::new("sh");
    c.args(["-c", &script]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    #[allow(unsafe_code)]
    // SAFETY: setsid(2) in the child only; the guard must not die with our process group.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let _ = c.spawn();
}

/// A new cluster in a test directory of its own (stopped and removed when the test binary
/// ends, however it ends), started on a free port.
fn new_cluster() -> (PathBuf, Cluster, u16) {
    let dir = tempfile::Builder::new().prefix(TEST_DIR_PREFIX).tempdir().unwrap().keep();
    std::fs::write(dir.join("owner"), std::process::id().to_string()).unwrap();
    // the server may run as `postgres`: it must be able to enter the directory
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    spawn_guard(&dir);
    let cluster = Cluster::throwaway(dir.join("cluster"));
    cluster.init("postgres", Some(SUPERUSER_PASSWORD)).expect("initdb");
    // a port chosen free may be taken before the server binds it: try another
    let port = (0..5)
        .find_map(|_| {
            let port = free_port();
            cluster.start(Some(port)).ok().map(|()| port)
        })
        .expect("start PostgreSQL on a free port");
    (dir, cluster, port)
}

fn start_cluster() -> (String, String, u16) {
    sweep_stale();
    let (dir, cluster, port) = new_cluster();
    OWN.set(Own { dir, cluster }).ok();
    (format!("postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}"), "127.0.0.1".into(), port)
}

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (base_url, host, port) = match std::env::var("DATABASE_URL_TEST") {
            Ok(url) if !url.trim().is_empty() => {
                let base = strip_database(&url);
                let opts: PgConnectOptions = url.parse().expect("DATABASE_URL_TEST");
                (base, opts.get_host().to_owned(), opts.get_port())
            }
            _ => start_cluster(),
        };
        #[allow(unsafe_code)]
        // SAFETY: registers a plain extern "C" function; it runs once at process exit.
        unsafe {
            libc::atexit(clean_at_exit);
        }
        let template = format!("epicevents_template_{}", std::process::id());
        let copy_files = runtime.block_on(async {
            let mut admin = connect(&base_url, "postgres").await;
            let version: String =
                sqlx::query_scalar("show server_version_num").fetch_one(&mut admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {template}")))
                .execute(&mut admin)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {template}")))
                .execute(&mut admin)
                .await
                .unwrap();
            let mut conn = connect(&base_url, &template).await;
            epicevents::db::migrate(&mut conn).await.unwrap();
            version.parse::<u32>().is_ok_and(|v| v >= 150_000)
        });
        Shared { base_url, host, port, template, copy_files, runtime }
    })
}

/// `postgres://u:p@h:port/db?x` → `postgres://u:p@h:port`
fn strip_database(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url[..after_scheme + i].to_owned(),
        None => url.split('?').next().unwrap_or(url).to_owned(),
    }
}

async fn connect(base: &str, db: &str) -> PgConnection {
    let opts: PgConnectOptions = format!("{base}/{db}").parse().unwrap();
    opts.connect().await.unwrap()
}

/// The PgBouncer whose pid file is in `dir`, stopped at once (SIGTERM: it does not wait for
/// its clients) and waited for, so that nothing outlives the suite.
fn stop_pgbouncer(dir: &Path) {
    if let Ok(text) = std::fs::read_to_string(dir.join("pgbouncer.pid"))
        && let Ok(pid) = text.trim().parse::<i32>()
    {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) with the pid PgBouncer wrote; signal 0 only probes.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
            for _ in 0..250 {
                if libc::kill(pid, 0) != 0 {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// PgBouncer 1.18 in transaction mode in front of the test server, with only the setting
/// every sqlx client needs (`ignore_startup_parameters = extra_float_digits`), 5 server
/// connections per database.
pub struct Bouncer {
    pub port: u16,
}

static BOUNCER: OnceLock<Bouncer> = OnceLock::new();

pub const BOUNCER_POOL: u32 = 5;

pub fn bouncer() -> &'static Bouncer {
    BOUNCER.get_or_init(|| {
        let s = shared();
        let exe = [
            "/usr/sbin/pgbouncer",
            "/usr/bin/pgbouncer",
            "/usr/local/bin/pgbouncer",
            "/opt/homebrew/bin/pgbouncer",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("PgBouncer is installed (apt-get install pgbouncer; .ci/run does it)");
        let dir = match OWN.get() {
            Some(own) => own.dir.join("pgbouncer"),
            None => shared_bouncer_dir(),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let secret: String = s.runtime.block_on(async {
            let mut admin = connect(&s.base_url, "postgres").await;
            sqlx::query_scalar("select rolpassword from pg_authid where rolname = current_user")
                .fetch_one(&mut admin)
                .await
                .expect("the test server's role must be a superuser to set up PgBouncer")
        });
        let user = s.base_url.split("://").nth(1).and_then(|r| r.split(':').next()).unwrap();
        std::fs::write(dir.join("userlist.txt"), format!("\"{user}\" \"{secret}\"\n")).unwrap();
        let account =
            running_as_root().then(|| Account::lookup("postgres").expect("postgres account"));
        for _ in 0..5 {
            let port = free_port();
            let ini = format!(
                "[databases]\n* = host={host} port={pgport}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = scram-sha-256\nauth_file = {d}/userlist.txt\n\
                 pool_mode = transaction\nignore_startup_parameters = extra_float_digits\n\
                 default_pool_size = {BOUNCER_POOL}\nmax_client_conn = 1000\n\
                 logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
                host = s.host,
                pgport = s.port,
                d = dir.display()
            );
            std::fs::write(dir.join("pgbouncer.ini"), ini).unwrap();
            if let Some(a) = &account {
                for f in ["", "userlist.txt", "pgbouncer.ini"] {
                    std::os::unix::fs::chown(dir.join(f), Some(a.uid), Some(a.gid)).unwrap();
                }
            }
            let mut c = Command::new(&exe);
            c.arg("-d").arg(dir.join("pgbouncer.ini")).env_clear().stdin(Stdio::null());
            if let Some(a) = &account {
                c.uid(a.uid).gid(a.gid);
            }
            let out = c.output().expect("run pgbouncer");
            if out.status.success()
                && wait_for(|| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
            {
                return Bouncer { port };
            }
            stop_pgbouncer(&dir);
        }
        let log = std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
        panic!("PgBouncer did not start: {log}");
    })
}

/// Polls `ok` (every 20 ms, 30 s at most): for things that happen in another process.
pub fn wait_for(mut ok: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The output of `child` once it has ended on its own; killed, and the test failed with
/// `what`, if it has not within `wait_for`'s bound.
pub fn ended_on_its_own(mut child: Child, what: &str) -> Run {
    let ended = wait_for(|| child.try_wait().unwrap().is_some());
    if !ended {
        let _ = child.kill();
    }
    assert!(ended, "{what}");
    Run::from(child.wait_with_output().unwrap())
}

/// An `epicevents serve` for one test database, on a port it picks itself.
pub struct ServerProc {
    pub child: Child,
    pub port: u16,
    /// Everything it wrote on stderr (the access log).
    pub log: Arc<Mutex<String>>,
}

impl ServerProc {
    /// Starts a server with `envs` (its DATABASE_URL, secret, …) and waits until it listens.
    pub fn start(envs: &[(String, String)]) -> ServerProc {
        let home = tempfile::tempdir().unwrap();
        let mut c = Command::new(bin());
        c.args(["serve", "--listen", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .current_dir(home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            c.env(k, v);
        }
        #[cfg(target_os = "linux")]
        #[allow(unsafe_code)]
        // SAFETY: prctl(2) in the child only: the server dies with the test binary.
        unsafe {
            c.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = c.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            let _home = home;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let serving = line
                    .strip_prefix("epicevents: serving on http://127.0.0.1:")
                    .or_else(|| line.strip_prefix("epicevents: serving on https://127.0.0.1:"));
                {
                    let mut l = sink.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
                if let Some(rest) = serving {
                    let port: u16 = rest.split_whitespace().next().unwrap().parse().unwrap();
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("the server did not start: {}", log.lock().unwrap());
            }
        };
        ServerProc { child, port, log }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, as an operator or systemd stops it.
    pub fn terminate(&self) {
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.terminate();
        if !wait_for(|| self.child.try_wait().is_ok_and(|s| s.is_some())) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A fresh database (a copy of the migrated template, or empty when `migrated` is false),
/// used in the mode of the thread that made it.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub mode: Mode,
    server: Mutex<Option<ServerProc>>,
    /// The connection of `sql` and `scalar`, made on first use and kept: a test may run
    /// hundreds of checks (a poll every 20 ms), each would otherwise start a backend.
    checks: Mutex<Option<PgConnection>>,
}

impl TestDb {
    pub fn new() -> TestDb {
        Self::create(true)
    }

    pub fn unmigrated() -> TestDb {
        Self::create(false)
    }

    fn create(migrated: bool) -> TestDb {
        let s = shared();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let sql = if migrated {
            let strategy = if s.copy_files { " strategy file_copy" } else { "" };
            format!("create database {name} template {}{strategy}", s.template)
        } else {
            format!("create database {name}")
        };
        s.runtime.block_on(async {
            let mut admin = connect(&s.base_url, "postgres").await;
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.unwrap();
        });
        if OWN.get().is_none() {
            MADE.lock().unwrap().push(("database", name.clone()));
        }
        TestDb {
            url: format!("{}/{name}", s.base_url),
            name,
            mode: mode(),
            server: Mutex::new(None),
            checks: Mutex::new(None),
        }
    }

    /// The URL of this database through PgBouncer.
    pub fn pooled_url(&self) -> String {
        let b = bouncer();
        let s = shared();
        let creds = s.base_url.split("://").nth(1).and_then(|r| r.split('@').next()).unwrap();
        format!("postgres://{creds}@127.0.0.1:{}/{}", b.port, self.name)
    }

    /// This database's server (server modes), started on first use.
    pub fn server_url(&self) -> String {
        let mut guard = self.server.lock().unwrap();
        if guard.is_none() {
            let url =
                if self.mode == Mode::ServerPooler { self.pooled_url() } else { self.url.clone() };
            let envs = vec![
                ("DATABASE_URL".to_owned(), url),
                ("EPICCRM_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
                ("NO_COLOR".to_owned(), "1".to_owned()),
            ];
            *guard = Some(ServerProc::start(&envs));
        }
        guard.as_ref().unwrap().url()
    }

    /// What this database's server has logged so far.
    pub fn server_log(&self) -> String {
        self.server.lock().unwrap().as_ref().map(ServerProc::log).unwrap_or_default()
    }

    /// Runs SQL directly (for checks and for setting up states the CLI forbids).
    pub fn sql(&self, sql: &str) {
        self.with_checks(async |c| {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(c).await.unwrap();
        });
    }

    /// The first column of the first row, as text.
    pub fn scalar(&self, sql: &str) -> String {
        self.with_checks(async |c| {
            let v: Option<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select ({sql})::text")))
                    .fetch_one(c)
                    .await
                    .unwrap();
            v.unwrap_or_default()
        })
    }

    fn with_checks<T>(&self, f: impl AsyncFnOnce(&mut PgConnection) -> T) -> T {
        let s = shared();
        let mut guard = self.checks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.runtime.block_on(async {
            if guard.is_none() {
                *guard = Some(connect(&s.base_url, &self.name).await);
            }
            f(guard.as_mut().unwrap()).await
        })
    }

    /// A connection kept open for many statements (a loop of cases).
    pub fn session(&self) -> DbSession {
        DbSession(std::cell::RefCell::new(self.connect()))
    }

    /// A connection of the test's own (to hold a lock while a command waits on it).
    pub fn connect(&self) -> PgConnection {
        let s = shared();
        s.runtime.block_on(connect(&s.base_url, &self.name))
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        shared().runtime.block_on(f)
    }

    /// A connection of its own in a transaction begun with `sql` (a row or a table locked),
    /// held until `release`.
    pub fn hold(&self, sql: &str) -> PgConnection {
        let mut conn = self.connect();
        self.block_on(
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("begin; {sql}"))).execute(&mut conn),
        )
        .unwrap();
        conn
    }

    pub fn release(&self, mut conn: PgConnection) {
        self.block_on(sqlx::raw_sql("rollback").execute(&mut conn)).unwrap();
    }

    /// Waits until a command of this database waits on a lock (pg_stat_activity).
    pub fn wait_for_lock_waiter(&self) {
        let found = wait_for(|| {
            self.scalar(&format!(
                "select count(*) from pg_stat_activity where datname = '{}' and wait_event_type = 'Lock'",
                self.name
            )) != "0"
        });
        assert!(found, "no command came to wait on the lock");
    }

    /// A user at a terminal of their own (own HOME, so own token store), in this database's mode.
    pub fn user(&self) -> User {
        match self.mode {
            Mode::Direct => User::new(self.url.clone()),
            Mode::Pooler => User::new(self.pooled_url()),
            Mode::Server | Mode::ServerPooler => User::of_server(&self.server_url()),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // the server goes first: it holds connections to the database
        drop(self.server.lock().unwrap().take());
        if let Some(c) =
            self.checks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
        {
            let _ = shared().runtime.block_on(c.close());
        }
        // a local cluster disappears with the test binary; a shared server is cleaned up
        if OWN.get().is_none() {
            let s = shared();
            let name = self.name.clone();
            s.runtime.block_on(async {
                if let Ok(opts) = format!("{}/postgres", s.base_url).parse::<PgConnectOptions>()
                    && let Ok(mut admin) = opts.connect().await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        }
    }
}

/// One connection to a test database, kept for many statements.
pub struct DbSession(std::cell::RefCell<PgConnection>);

impl DbSession {
    pub fn sql(&self, sql: &str) {
        let mut c = self.0.borrow_mut();
        shared().runtime.block_on(async {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *c).await.unwrap();
        });
    }

    pub fn scalar(&self, sql: &str) -> String {
        let mut c = self.0.borrow_mut();
        shared().runtime.block_on(async {
            let v: Option<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select ({sql})::text")))
                    .fetch_one(&mut *c)
                    .await
                    .unwrap();
            v.unwrap_or_default()
        })
    }
}

/// One person's environment: HOME (token store), working directory, settings.
pub struct User {
    pub home: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
    token_file: PathBuf,
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
    /// Asserts the exit code, and that a failure is one clean `error:` line (plus hint),
    /// with no line of stderr that is not an error, a hint or a warning.
    #[track_caller]
    pub fn code(self, want: i32) -> Run {
        assert_eq!(
            self.code, want,
            "exit code {} (want {want})\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        if want != 0 {
            self.clean_failure();
        }
        self
    }
    #[track_caller]
    pub fn clean_failure(&self) {
        let errors: Vec<&str> = self.stderr.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(errors.len(), 1, "one error line: {}", self.stderr);
        for line in self.stderr.lines() {
            assert!(
                line.starts_with("error: ")
                    || line.starts_with("hint: ")
                    || line.starts_with("warning: "),
                "unexpected stderr line {line:?} in {}",
                self.stderr
            );
        }
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(!self.stderr.to_lowercase().contains("sqlstate"), "{}", self.stderr);
    }
    #[track_caller]
    pub fn ok(self) -> Run {
        self.code(0)
    }
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {}", self.stderr);
        self
    }
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}: {}", self.stdout);
        self
    }
}

/// Runs `c` with `input` on stdin (a pipe, not a terminal), its output captured.
pub fn run_with_stdin(mut c: Command, input: &str) -> Run {
    use std::io::Write;
    let mut child =
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    Run::from(child.wait_with_output().unwrap())
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_epicevents")
}

impl User {
    /// A user of a database, directly.
    pub fn new(database_url: String) -> User {
        let home = tempfile::tempdir().unwrap();
        // one session per database (spec §16)
        let scope = epicevents::auth::store::Scope::of_database_url(&database_url);
        let token_file = home.path().join(".config/epiccrm").join(scope.file_name());
        User {
            home,
            envs: vec![
                ("DATABASE_URL".into(), database_url),
                ("EPICCRM_JWT_SECRET".into(), JWT_SECRET.into()),
                ("EPICCRM_TOKEN_STORE".into(), "file".into()),
                ("TZ".into(), "UTC".into()),
                ("NO_COLOR".into(), "1".into()),
            ],
            token_file,
        }
    }

    /// A user who holds only a server's address.
    pub fn of_server(url: &str) -> User {
        let home = tempfile::tempdir().unwrap();
        let slug: String = url
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' })
            .collect();
        let token_file = home.path().join(format!(".config/epiccrm/tokens-{slug}.json"));
        User {
            home,
            envs: vec![
                ("EPICCRM_SERVER".into(), url.into()),
                ("EPICCRM_TOKEN_STORE".into(), "file".into()),
                ("TZ".into(), "UTC".into()),
                ("NO_COLOR".into(), "1".into()),
            ],
            token_file,
        }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.envs.retain(|(k, _)| k != key);
        self.envs.push((key.into(), value.into()));
        self
    }

    pub fn unset(&mut self, key: &str) -> &mut Self {
        self.envs.retain(|(k, _)| k != key);
        self
    }

    /// The keyring user of this user's direct-mode session (one per database).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the keyring tests are Linux-only
    pub fn keyring_account(&self) -> String {
        let url = self.envs.iter().find(|(k, _)| k == "DATABASE_URL").map(|(_, v)| v.as_str());
        epicevents::auth::store::Scope::of_database_url(url.expect("a direct-mode user")).account()
    }

    pub fn token_file(&self) -> PathBuf {
        self.token_file.clone()
    }

    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    /// The command, with a clean environment: nothing from the developer's shell leaks in.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(bin());
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .current_dir(self.home.path())
            .stdin(Stdio::null());
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs with `input` on stdin (a pipe, not a terminal).
    pub fn run_stdin<I, S>(&self, input: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        run_with_stdin(self.command(args), input)
    }

    /// Starts the command in the background, its output captured.
    pub fn spawn<I, S>(&self, args: I) -> Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    }

    pub fn login(&self, email: &str) -> Run {
        self.run_stdin(&format!("{PASSWORD}\n"), ["login", email]).ok()
    }

    /// Creates an employee through the binary (this user must be a manager); returns its id.
    pub fn add_employee(&self, first: &str, email: &str, role: &str) -> i64 {
        let r = self
            .run_stdin(
                &format!("{PASSWORD}\n"),
                ["--json", "employee", "create", first, "Test", email, "-", role],
            )
            .ok();
        r.json()["id"].as_i64().unwrap()
    }
}

/// The argon2id hash of `PASSWORD`, made once.
pub fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let p = epicevents::domain::Password::parse(PASSWORD).unwrap();
        shared().runtime.block_on(epicevents::auth::password::hash(&p)).unwrap()
    })
}

impl TestDb {
    /// Employees made directly in the database (what is under test is elsewhere: this only
    /// sets the scene, fast), ids from 1 in the order given: (first name, email, role).
    pub fn employees(&self, people: &[(&str, &str, &str)]) {
        let values: Vec<String> = people
            .iter()
            .map(|(first, email, role)| {
                format!("('{first}', 'Test', '{email}', '{role}', '{}')", password_hash())
            })
            .collect();
        self.sql(&format!(
            "insert into employees (first_name, last_name, email, role, password_hash) values {}",
            values.join(", ")
        ));
    }

    /// A terminal of employee `id`, logged in: a session and its tokens made the way login
    /// makes them.
    pub fn logged_in(&self, id: i64) -> User {
        let u = self.user();
        self.log_in(u, id)
    }

    /// A user of the server at `url` (one the test started itself), logged in as `id`.
    pub fn logged_in_at(&self, url: &str, id: i64) -> User {
        self.log_in(User::of_server(url), id)
    }

    fn log_in(&self, u: User, id: i64) -> User {
        use epicevents::auth::jwt::TokenKind;
        let sid = uuid::Uuid::new_v4();
        let jwt = jwt();
        let now = chrono::Utc::now();
        let (access, _) = jwt.issue(TokenKind::Access, id, sid, now).unwrap();
        let (refresh, claims) = jwt.issue(TokenKind::Refresh, id, sid, now).unwrap();
        self.sql(&format!(
            "insert into sessions (id, employee_id) values ('{sid}', {id});
             insert into refresh_tokens (jti, session_id, expires_at)
             values ('{}', '{sid}', to_timestamp({}))",
            claims.jti, claims.exp
        ));
        write_tokens(&u, &access, &refresh);
        u
    }
}

/// A database with a manager (id 1, Mia) who is logged in, returned with their terminal.
pub fn with_manager() -> (TestDb, User) {
    let db = TestDb::new();
    db.employees(&[("Mia", "mia@example.com", "MANAGEMENT")]);
    let m = db.logged_in(1);
    (db, m)
}

/// A manager plus a logged-in SALES and SUPPORT employee: (db, manager, sales, support).
pub fn with_staff() -> (TestDb, User, User, User) {
    let db = TestDb::new();
    db.employees(&[
        ("Mia", "mia@example.com", "MANAGEMENT"),
        ("Sam", "sam@example.com", "SALES"),
        ("Sue", "sue@example.com", "SUPPORT"),
    ]);
    let (m, sales, support) = (db.logged_in(1), db.logged_in(2), db.logged_in(3));
    (db, m, sales, support)
}

/// The data every CRM test starts from, each of the staff logged in:
/// employees 1 Mia (MANAGEMENT), 2 Sam (SALES), 3 Sue (SUPPORT), 4 Sid (SALES), 5 Uma (SUPPORT);
/// client 1 (Sam's, Kevin Casey of Cool Startup LLC), contract 1 (client 1, 1000.00, signed),
/// event 1 (contract 1, 2030-06-04 18:00–23:00 UTC, Paris, 50 attendees, no support).
pub struct Crm {
    pub db: TestDb,
    pub mia: User,
    pub sam: User,
    pub sue: User,
    pub sid: User,
    pub uma: User,
}

pub fn crm() -> Crm {
    let db = TestDb::new();
    db.employees(&[
        ("Mia", "mia@example.com", "MANAGEMENT"),
        ("Sam", "sam@example.com", "SALES"),
        ("Sue", "sue@example.com", "SUPPORT"),
        ("Sid", "sid@example.com", "SALES"),
        ("Uma", "uma@example.com", "SUPPORT"),
    ]);
    db.sql(
        "insert into clients (first_name, last_name, email, company_name, sales_contact_id)
           values ('Kevin', 'Casey', 'kevin@startup.io', 'Cool Startup LLC', 2);
         insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
           values (1, 2, 1000, 1000, true, now());
         insert into events (contract_id, client_id, name, start_at, end_at, location, attendees)
           values (1, 1, 'Launch party', '2030-06-04 18:00Z', '2030-06-04 23:00Z', 'Paris', 50);",
    );
    let [mia, sam, sue, sid, uma] = [1, 2, 3, 4, 5].map(|id| db.logged_in(id));
    Crm { db, mia, sam, sue, sid, uma }
}

/// The ids of a `--json` list.
pub fn ids(rows: &Value) -> Vec<i64> {
    rows.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

/// The JWTs of the test servers (their secret, default settings).
pub fn jwt() -> epicevents::auth::jwt::Jwt {
    use epicevents::config::{Secret, Settings, Source};
    epicevents::auth::jwt::Jwt::new(
        Secret::new(JWT_SECRET),
        &Settings::from_source(&Source::from_pairs(&[])).unwrap(),
    )
}

/// Writes a session into `u`'s token file, as the file store does (0600 in a 0700 folder).
pub fn write_tokens(u: &User, access: &str, refresh: &str) {
    use std::fs::{Permissions, set_permissions};
    use std::os::unix::fs::PermissionsExt;
    let raw = serde_json::json!({ "access": access, "refresh": refresh }).to_string();
    let dir = u.token_file().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    set_permissions(&dir, Permissions::from_mode(0o700)).unwrap();
    std::fs::write(u.token_file(), raw).unwrap();
    set_permissions(u.token_file(), Permissions::from_mode(0o600)).unwrap();
}
