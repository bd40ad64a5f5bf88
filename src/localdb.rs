//! A PostgreSQL cluster of our own, made with the server binaries installed on the machine:
//! the zero-config database (spec §9) and the test suite's throwaway server.
//!
//! PostgreSQL refuses to run as root; when we are root the server runs as the `postgres`
//! system account, which then owns the cluster's files.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::postgres::PgConnectOptions;

use crate::error::{Error, Result};
use crate::sys::{self, RunAs};

/// The port number in the socket's name; with no TCP listener it cannot collide.
pub const SOCKET_PORT: u16 = 5432;

/// An account the server runs as, when we cannot run it as ourselves.
#[derive(Clone, Debug)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl Account {
    /// Looks an account up in `/etc/passwd`.
    pub fn lookup(name: &str) -> Option<Account> {
        let passwd = fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || f[0] != name {
                return None;
            }
            Some(Account {
                name: name.to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
            })
        })
    }
}

pub fn running_as_root() -> bool {
    sys::is_root()
}

impl Account {
    fn run_as(&self) -> RunAs {
        RunAs { uid: self.uid, gid: self.gid }
    }
}

/// Finds a directory holding `initdb`, `pg_ctl` and `postgres`: `PATH`, then
/// `pg_config --bindir`, then the usual install locations, newest version first — Debian's
/// and RPM packages', Homebrew's (Apple silicon and Intel) and Postgres.app's.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_all = |d: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| d.join(b).is_file());
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path).find(|d| has_all(d))
    {
        // links to the binaries (as in /usr/local/bin) lead to their real directory, where the
        // other programs of the same version are (pg_dump, pg_restore)
        let real =
            d.join("initdb").canonicalize().ok().and_then(|p| p.parent().map(Path::to_path_buf));
        return Some(real.filter(|r| has_all(r)).unwrap_or(d));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_all(&d) {
            return Some(d);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = Vec::new();
    // one folder per version: postgresql/15, postgresql@16, Postgres.app's Versions/16
    for base in [
        "/usr/lib/postgresql",
        "/usr/local/opt",
        "/opt/homebrew/opt",
        "/Applications/Postgres.app/Contents/Versions",
    ] {
        if let Ok(entries) = fs::read_dir(base) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let version =
                    name.trim_start_matches("postgresql@").trim_start_matches("postgresql");
                let Ok(version) = version.split('.').next().unwrap_or("").parse::<u32>() else {
                    // Postgres.app's `latest` link and Homebrew's other formulae
                    continue;
                };
                let bin = e.path().join("bin");
                if has_all(&bin) {
                    candidates.push((version, bin));
                }
            }
        }
    }
    // unversioned: Homebrew's `postgresql` formula and links, source builds
    for fixed in [
        "/opt/homebrew/opt/postgresql/bin",
        "/usr/local/opt/postgresql/bin",
        "/opt/homebrew/bin",
        "/usr/local/pgsql/bin",
        "/usr/pgsql/bin",
    ] {
        if has_all(Path::new(fixed)) {
            candidates.push((0, PathBuf::from(fixed)));
        }
    }
    candidates.sort();
    candidates.pop().map(|(_, p)| p)
}

/// A cluster living in `root`: `pgdata/`, the socket directory `run/` and `postgres.log`.
/// The server binaries and the account to run them as are looked up on first use only:
/// connecting to a running cluster needs neither.
#[derive(Clone, Debug)]
pub struct Cluster {
    root: PathBuf,
    tools: OnceLock<Tools>,
    /// Trade durability for speed (no fsync): for test servers only.
    throwaway: bool,
}

#[derive(Clone, Debug)]
struct Tools {
    bin_dir: PathBuf,
    run_as: Option<Account>,
}

fn unavailable(msg: impl Into<String>) -> Error {
    Error::unavailable(msg)
}

impl Cluster {
    /// `root` must be a directory the server's account can reach.
    pub fn new(root: PathBuf) -> Self {
        Cluster { root, tools: OnceLock::new(), throwaway: false }
    }

    /// A cluster whose data may be lost on a crash (tests): no fsync, faster.
    pub fn throwaway(root: PathBuf) -> Self {
        Cluster { throwaway: true, ..Self::new(root) }
    }

    fn tools(&self) -> Result<&Tools> {
        if let Some(t) = self.tools.get() {
            return Ok(t);
        }
        let bin_dir = find_bin_dir().ok_or_else(|| {
            unavailable("no PostgreSQL server binaries found (initdb, pg_ctl, postgres)").with_hint(
                "install PostgreSQL (e.g. apt-get install postgresql) or set DATABASE_URL",
            )
        })?;
        let run_as = if running_as_root() {
            Some(Account::lookup("postgres").ok_or_else(|| {
                unavailable("PostgreSQL refuses to run as root and there is no `postgres` account")
                    .with_hint("run epicevents as an ordinary user, or set DATABASE_URL")
            })?)
        } else {
            None
        };
        Ok(self.tools.get_or_init(|| Tools { bin_dir, run_as }))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn pgdata(&self) -> PathBuf {
        self.root.join("pgdata")
    }
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }
    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }
    pub fn is_initialized(&self) -> bool {
        self.pgdata().join("PG_VERSION").is_file()
    }

    /// One of the server's programs (`pg_dump`…), run as the server's account, with the same
    /// minimal environment.
    pub fn tool(&self, program: &str) -> Result<Command> {
        self.command(program)
    }

    fn command(&self, program: &str) -> Result<Command> {
        let tools = self.tools()?;
        let mut cmd = Command::new(tools.bin_dir.join(program));
        cmd.current_dir(&self.root).stdin(Stdio::null());
        // The server gets a minimal environment, never the caller's: it may hold secrets
        // (API keys, DATABASE_URL…), and the server's account can read its own processes'
        // environment. Only a search path, a fixed locale, and the caller's time zone.
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LC_ALL", sys::SERVER_LOCALE);
        if let Some(tz) = std::env::var_os("TZ") {
            cmd.env("TZ", tz);
        }
        if let Some(a) = &tools.run_as {
            sys::run_as(&mut cmd, a.run_as());
        }
        Ok(cmd)
    }

    /// Hands a path to the server's account. The cluster directory belongs to that account,
    /// which could plant a symbolic link there: root never follows one (lchown, and a link is
    /// refused outright), so it cannot be tricked into handing over a file elsewhere.
    fn own(&self, path: &Path) -> Result<()> {
        // a link where a directory of the cluster should be was planted: refused for anyone
        let meta = fs::symlink_metadata(path)
            .map_err(|e| Error::internal(format!("cannot inspect {}", path.display()), e))?;
        if meta.file_type().is_symlink() {
            return Err(unavailable(format!(
                "{} is a symbolic link; refusing to use it",
                path.display()
            )));
        }
        if let Some(a) = &self.tools()?.run_as {
            sys::hand_over(path, a.run_as())
                .map_err(|e| Error::internal("cannot hand the database files to `postgres`", e))?;
        }
        Ok(())
    }

    fn make_dir(&self, path: &Path) -> Result<()> {
        sys::create_dir(path, true)
            .map_err(|e| Error::internal(format!("cannot create {}", path.display()), e))?;
        self.own(path)
    }

    /// `initdb` with `superuser`; local socket connections are trusted (the socket directory
    /// is private to the owner), TCP ones need `password` when one is given.
    pub fn init(&self, superuser: &str, password: Option<&str>) -> Result<()> {
        self.make_dir(&self.root)?;
        if self.tools()?.run_as.is_some() {
            // the server's account must be able to enter the root directory
            sys::make_private_dir(&self.root)?;
        }
        self.make_dir(&self.socket_dir())?;
        let mut cmd = self.command("initdb")?;
        cmd.arg("-D").arg(self.pgdata()).args([
            "-U",
            superuser,
            "-E",
            "UTF8",
            "-N",
            "--auth-local=trust",
        ]);
        cmd.arg(format!("--locale={}", sys::SERVER_LOCALE));
        let pwfile = self.root.join(".pwfile");
        if let Some(pw) = password {
            write_private(&pwfile, pw)?;
            self.own(&pwfile)?;
            cmd.arg("--auth-host=scram-sha-256").arg(OsString::from("--pwfile")).arg(&pwfile);
        } else {
            cmd.arg("--auth-host=reject");
        }
        let out = cmd.output().map_err(|e| Error::internal("cannot run initdb", e))?;
        let _ = fs::remove_file(&pwfile);
        if !out.status.success() {
            return Err(unavailable(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no output")
            )));
        }
        Ok(())
    }

    /// Starts the server: Unix socket only, or also TCP on 127.0.0.1 when `tcp_port` is set.
    pub fn start(&self, tcp_port: Option<u16>) -> Result<()> {
        let log = self.log_file();
        if fs::symlink_metadata(&log).is_err() {
            write_private(&log, "")?;
            self.own(&log)?;
        }
        let (listen, port) = match tcp_port {
            Some(p) => ("127.0.0.1", p),
            None => ("", SOCKET_PORT),
        };
        let mut opts = format!(
            "-k '{}' -c listen_addresses='{listen}' -p {port} -c max_connections=100",
            self.socket_dir().display()
        );
        if self.throwaway {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let out = self
            .command("pg_ctl")?
            .arg("-D")
            .arg(self.pgdata())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-s", "-o", &opts, "start"])
            .stdout(Stdio::null())
            .output()
            .map_err(|e| Error::internal("cannot run pg_ctl", e))?;
        if !out.status.success() {
            let tail = read_tail(&log, 16 * 1024);
            let last = tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(unavailable(format!("the local PostgreSQL server did not start: {last}"))
                .with_hint(format!("see {}", log.display())));
        }
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        let Ok(mut cmd) = self.command("pg_ctl") else { return false };
        self.is_initialized()
            && cmd
                .arg("-D")
                .arg(self.pgdata())
                .arg("status")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// Stops the server (`fast`: sessions are ended, no data is lost).
    pub fn stop(&self, immediate: bool) -> Result<()> {
        let mode = if immediate { "immediate" } else { "fast" };
        let out = self
            .command("pg_ctl")?
            .arg("-D")
            .arg(self.pgdata())
            .args(["-w", "-s", "-m", mode, "stop"])
            .output()
            .map_err(|e| Error::internal("cannot run pg_ctl", e))?;
        if !out.status.success() && self.is_running() {
            return Err(unavailable("the local PostgreSQL server did not stop"));
        }
        Ok(())
    }

    /// Options for a connection over the Unix socket.
    pub fn socket_options(&self, user: &str, database: &str, port: u16) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(self.socket_dir())
            .port(port)
            .username(user)
            .database(database)
    }
}

/// The last `cap` bytes of a file in the cluster directory, which the server's account owns
/// and could replace: never through a symbolic link (`O_NOFOLLOW`), never more than `cap`.
/// Empty when it cannot be read that way.
pub fn read_tail(path: &Path, cap: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = sys::open_private(path, fs::OpenOptions::new().read(true)) else {
        return String::new();
    };
    match f.metadata() {
        Ok(m) if m.is_file() => {
            let _ = f.seek(SeekFrom::Start(m.len().saturating_sub(cap)));
        }
        _ => return String::new(),
    }
    let mut buf = Vec::new();
    let _ = f.take(cap).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes a file readable only by its owner, created with that mode (no window).
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let mut f =
        sys::open_private(path, fs::OpenOptions::new().write(true).create(true).truncate(true))
            .map_err(|e| Error::internal(format!("cannot write {}", path.display()), e))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}
