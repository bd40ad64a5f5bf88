//! The test server and per-test environments.
//!
//! With `DATABASE_URL_TEST` set, that server is used (it must allow CREATE DATABASE).
//! Otherwise a throwaway cluster is made with the installed server binaries (as the
//! `postgres` account when we are root), listening on 127.0.0.1 on a free port, and removed
//! when the test binary exits. A template database is migrated once; each test gets a copy.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use epicevents::localdb::Cluster;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "Secret123!";

struct Server {
    /// `postgres://user:password@127.0.0.1:port` without a database name.
    base_url: String,
    template: String,
    runtime: tokio::runtime::Runtime,
}

static SERVER: OnceLock<Server> = OnceLock::new();
/// Databases and roles made on a shared server (`DATABASE_URL_TEST`), dropped at exit even
/// when a test keeps its database in a static.
static MADE: std::sync::Mutex<Vec<(&'static str, String)>> = std::sync::Mutex::new(Vec::new());

/// Drops a role made by a test when the test binary exits (shared servers only).
pub fn drop_role_at_exit(role: &str) {
    MADE.lock().unwrap().push(("role", role.to_owned()));
}

#[allow(unsafe_code)]
extern "C" fn clean_shared_server() {
    let Some(s) = SERVER.get() else { return };
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
static CLUSTER: OnceLock<(Cluster, PathBuf)> = OnceLock::new();

#[allow(unsafe_code)]
extern "C" fn stop_cluster() {
    if let Some((cluster, dir)) = CLUSTER.get() {
        let _ = cluster.stop(true);
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_cluster() -> String {
    let dir = tempfile::Builder::new().prefix("epicevents-test-").tempdir().unwrap().keep();
    // the server may run as `postgres`: it must be able to enter the directory
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cluster = Cluster::throwaway(dir.join("cluster"));
    let password = "test-superuser-password";
    cluster.init("postgres", Some(password)).expect("initdb");
    let port = free_port();
    cluster.start(Some(port)).expect("start PostgreSQL");
    CLUSTER.set((cluster, dir)).ok();
    #[allow(unsafe_code)]
    // SAFETY: registers a plain extern "C" function; it runs once at process exit.
    unsafe {
        libc::atexit(stop_cluster);
    }
    format!("postgres://postgres:{password}@127.0.0.1:{port}")
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let base_url = match std::env::var("DATABASE_URL_TEST") {
            Ok(url) if !url.trim().is_empty() => strip_database(&url),
            _ => start_cluster(),
        };
        let template = format!("epicevents_template_{}", std::process::id());
        runtime.block_on(async {
            let mut admin = connect(&base_url, "postgres").await;
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
        });
        if CLUSTER.get().is_none() {
            #[allow(unsafe_code)]
            // SAFETY: registers a plain extern "C" function; it runs once at process exit.
            unsafe {
                libc::atexit(clean_shared_server);
            }
        }
        Server { base_url, template, runtime }
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

/// A fresh database (a copy of the migrated template, or empty when `migrated` is false).
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        Self::create(true)
    }

    pub fn unmigrated() -> TestDb {
        Self::create(false)
    }

    fn create(migrated: bool) -> TestDb {
        let s = server();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let sql = if migrated {
            format!("create database {name} template {}", s.template)
        } else {
            format!("create database {name}")
        };
        s.runtime.block_on(async {
            let mut admin = connect(&s.base_url, "postgres").await;
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.unwrap();
        });
        if CLUSTER.get().is_none() {
            MADE.lock().unwrap().push(("database", name.clone()));
        }
        TestDb { url: format!("{}/{name}", s.base_url), name }
    }

    /// Runs SQL directly (for checks and for setting up states the CLI forbids).
    pub fn sql(&self, sql: &str) {
        let s = server();
        s.runtime.block_on(async {
            let mut c = connect(&s.base_url, &self.name).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap();
        });
    }

    /// The first column of the first row, as text.
    pub fn scalar(&self, sql: &str) -> String {
        let s = server();
        s.runtime.block_on(async {
            let mut c = connect(&s.base_url, &self.name).await;
            let v: Option<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select ({sql})::text")))
                    .fetch_one(&mut c)
                    .await
                    .unwrap();
            v.unwrap_or_default()
        })
    }

    /// A user at a terminal of their own (own HOME, so own token store).
    pub fn user(&self) -> User {
        User::new(self.url.clone())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // a local cluster disappears with the test binary; a shared server is cleaned up
        if CLUSTER.get().is_none() {
            let s = server();
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

/// One person's environment: HOME (token store), working directory, settings.
pub struct User {
    pub home: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
}

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
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
    /// Asserts the exit code, and that a failure is one clean `error:` line (plus hint).
    #[track_caller]
    pub fn code(self, want: i32) -> Run {
        assert_eq!(
            self.code, want,
            "exit code {} (want {want})\nstdout: {}\nstderr: {}",
            self.code, self.stdout, self.stderr
        );
        if want != 0 {
            assert!(self.stderr.starts_with("error: "), "stderr: {}", self.stderr);
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
        self
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

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_epicevents")
}

impl User {
    pub fn new(database_url: String) -> User {
        let home = tempfile::tempdir().unwrap();
        User {
            home,
            envs: vec![
                ("DATABASE_URL".into(), database_url),
                ("EPICCRM_JWT_SECRET".into(), JWT_SECRET.into()),
                ("EPICCRM_TOKEN_STORE".into(), "file".into()),
                ("TZ".into(), "UTC".into()),
                ("NO_COLOR".into(), "1".into()),
            ],
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

    pub fn token_file(&self) -> PathBuf {
        self.home.path().join(".config/epiccrm/tokens.json")
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
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        Run::from(child.wait_with_output().unwrap())
    }

    pub fn login(&self, email: &str) -> Run {
        self.run_stdin(&format!("{PASSWORD}\n"), ["login", email]).ok()
    }

    /// Creates an employee through the binary (this user must be a manager); returns its id.
    pub fn add_employee(&self, first: &str, email: &str, role: &str) -> i64 {
        let r =
            self.run(["--json", "employee", "create", first, "Test", email, PASSWORD, role]).ok();
        r.json()["id"].as_i64().unwrap()
    }
}

/// A database with a manager (id 1) who is logged in, returned with their terminal.
pub fn with_manager() -> (TestDb, User) {
    let db = TestDb::new();
    let m = db.user();
    m.run(["create-employee", "Mia", "Manager", "mia@example.com", PASSWORD, "MANAGEMENT"]).ok();
    m.login("mia@example.com");
    (db, m)
}

/// A manager plus a logged-in SALES and SUPPORT employee: (db, manager, sales, support).
pub fn with_staff() -> (TestDb, User, User, User) {
    let (db, m) = with_manager();
    m.add_employee("Sam", "sam@example.com", "SALES");
    m.add_employee("Sue", "sue@example.com", "SUPPORT");
    let sales = db.user();
    sales.login("sam@example.com");
    let support = db.user();
    support.login("sue@example.com");
    (db, m, sales, support)
}

/// The data every CRM test starts from, made through the binary:
/// employees 1 Mia (MANAGEMENT), 2 Sam (SALES), 3 Sue (SUPPORT), 4 Sid (SALES), 5 Uma (SUPPORT);
/// client 1 (Sam's), contract 1 (client 1, 1000.00, signed), event 1 (contract 1, no support).
pub struct Crm {
    pub db: TestDb,
    pub mia: User,
    pub sam: User,
    pub sue: User,
    pub sid: User,
    pub uma: User,
}

pub fn crm() -> Crm {
    let (db, mia, sam, sue) = with_staff();
    mia.add_employee("Sid", "sid@example.com", "SALES");
    mia.add_employee("Uma", "uma@example.com", "SUPPORT");
    let sid = db.user();
    sid.login("sid@example.com");
    let uma = db.user();
    uma.login("uma@example.com");
    sam.run([
        "client",
        "create",
        "Kevin",
        "Casey",
        "kevin@startup.io",
        "--company",
        "Cool Startup LLC",
    ])
    .ok();
    mia.run(["contract", "create", "1", "1000", "--signed"]).ok();
    sam.run([
        "event",
        "create",
        "1",
        "--name",
        "Launch party",
        "--start",
        "2030-06-04 18:00",
        "--end",
        "2030-06-04 23:00",
        "--location",
        "Paris",
        "--attendees",
        "50",
    ])
    .ok();
    Crm { db, mia, sam, sue, sid, uma }
}
