//! The zero-config database (spec §9): with no `DATABASE_URL`, a PostgreSQL cluster of our
//! own in the user's data directory, made on first use, started on demand, reachable only
//! through a Unix socket in a private directory, migrated automatically, with a JWT secret
//! generated once and kept beside it.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use rand::RngCore;
use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;

use crate::config::{MIN_JWT_SECRET_BYTES, Secret, Settings};
use crate::error::{Error, Result};
use crate::localdb::{self, Cluster, SOCKET_PORT};
use crate::sys;

const DATABASE: &str = "epicevents";
const SUPERUSER: &str = "postgres";
/// Where root's cluster lives: `/root` is closed to the `postgres` account that must run it.
const ROOT_DATA_DIR: &str = "/var/lib/epicevents";

pub struct Embedded {
    dir: PathBuf,
    cluster: Cluster,
    /// What to tell the user while they wait (the first run makes a cluster).
    notify: Box<dyn Fn(&str) + Send + Sync>,
}

/// `EPICCRM_DATA_DIR`, else the user's data directory (`~/.local/share/epiccrm` on Linux),
/// else, for root, `/var/lib/epicevents`.
pub fn data_dir(settings: &Settings) -> Result<PathBuf> {
    if let Some(d) = &settings.data_dir {
        return Ok(d.clone());
    }
    if localdb::running_as_root() {
        return Ok(PathBuf::from(ROOT_DATA_DIR));
    }
    directories::ProjectDirs::from("", "", "epiccrm")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| Error::unavailable("cannot find a data directory (set EPICCRM_DATA_DIR)"))
}

impl Embedded {
    /// Exit 7 where the zero-config database cannot work (Windows), saying what to set.
    pub fn new(settings: &Settings) -> Result<Self> {
        if !sys::LOCAL_DATABASE {
            let (message, hint) = sys::NO_LOCAL_DATABASE;
            return Err(Error::unavailable(message).with_hint(hint));
        }
        let dir = data_dir(settings)?;
        let cluster = Cluster::new(dir.join("postgres"));
        Ok(Embedded { dir, cluster, notify: Box::new(|m| tracing::info!("{m}")) })
    }

    /// Where progress notes go (the CLI prints them on stderr).
    pub fn with_reporter(mut self, notify: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.notify = Box::new(notify);
        self
    }

    pub fn dir(&self) -> &PathBuf {
        &self.dir
    }
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn options(&self) -> PgConnectOptions {
        self.cluster.socket_options(SUPERUSER, DATABASE, SOCKET_PORT)
    }

    /// Connects, creating and starting the cluster first when needed, and migrates it.
    pub async fn connect(&self) -> Result<PgConnection> {
        let conn = match crate::db::connect(&self.options()).await {
            Ok(c) => c,
            Err(_) => {
                self.ensure_running().await?;
                crate::db::connect(&self.options()).await?
            }
        };
        let mut conn = conn;
        match crate::db::schema_state(&mut conn).await? {
            crate::db::Schema::Current => {}
            crate::db::Schema::Behind => {
                crate::db::migrate(&mut conn).await?;
            }
            crate::db::Schema::Newer => return Err(crate::db::newer_schema()),
        }
        Ok(conn)
    }

    /// Makes and starts the cluster if it is not running; one process at a time.
    pub async fn ensure_running(&self) -> Result<()> {
        self.make_dir()?;
        let lock = sys::open_private(
            &self.dir.join("start.lock"),
            OpenOptions::new().create(true).truncate(false).write(true),
        )
        .map_err(|e| Error::internal("cannot open the start lock", e))?;
        lock.lock().map_err(|e| Error::internal("cannot take the start lock", e))?;
        if !self.cluster.is_running() {
            if !self.cluster.is_initialized() {
                (self.notify)(&format!(
                    "Creating a local PostgreSQL database in {} (first run)…",
                    self.cluster.root().display()
                ));
                // a half-made cluster from an interrupted first run is started over
                let _ = fs::remove_dir_all(self.cluster.pgdata());
                self.cluster.init(SUPERUSER, None)?;
            }
            self.cluster.start(None)?;
        }
        // also when an earlier first run stopped between starting the server and this
        let admin = self.cluster.socket_options(SUPERUSER, "postgres", SOCKET_PORT);
        let mut conn = crate::db::connect(&admin).await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(DATABASE)
                .persistent(false)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query("create database epicevents").persistent(false).execute(&mut conn).await?;
        }
        Ok(())
    }

    /// `db backup FILE`: a consistent dump (PostgreSQL's custom format) taken while the
    /// cluster runs, written to a temporary file beside `file` (mode 0600) and renamed into
    /// place only once complete. Returns its size in bytes.
    pub async fn backup(&self, file: &Path) -> Result<u64> {
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = file.file_name().ok_or_else(|| Error::usage("the backup needs a file name"))?;
        if !dir.is_dir() {
            return Err(Error::usage(format!(
                "cannot write {}: the directory {} does not exist",
                file.display(),
                dir.display()
            ))
            .with_hint(format!("create it first: mkdir -p {}", dir.display())));
        }
        self.ensure_running().await?;
        let tmp = dir.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
        let out = sys::open_private(&tmp, OpenOptions::new().write(true).create_new(true))
            .map_err(|e| Error::usage(format!("cannot write {}: {e}", file.display())))?;
        let result = self.dump_into(out).and_then(|()| {
            fs::rename(&tmp, file)
                .map_err(|e| Error::usage(format!("cannot write {}: {e}", file.display())))
        });
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        Ok(fs::metadata(file).map(|m| m.len()).unwrap_or(0))
    }

    fn dump_into(&self, out: fs::File) -> Result<()> {
        let sync = out.try_clone().map_err(|e| Error::internal("cannot write the backup", e))?;
        let status = self
            .cluster
            .tool("pg_dump")?
            .arg("--host")
            .arg(self.cluster.socket_dir())
            .args(["--port", &SOCKET_PORT.to_string(), "--username", SUPERUSER])
            .args(["--format=custom", "--no-owner", "--dbname", DATABASE])
            .stdout(std::process::Stdio::from(out))
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| Error::internal("cannot run pg_dump", e))?;
        if !status.status.success() {
            let why = String::from_utf8_lossy(&status.stderr);
            return Err(Error::unavailable(format!(
                "pg_dump failed: {}",
                why.lines().last().unwrap_or("no message")
            )));
        }
        sync.sync_all().map_err(|e| Error::internal("cannot write the backup", e))
    }

    /// `db restore FILE`: only into an empty database (exit 6 otherwise). The database is
    /// made again and the dump restored in one transaction, then migrated forward if it came
    /// from an older epicevents.
    pub async fn restore(&self, file: &Path) -> Result<()> {
        let mut input = OpenOptions::new()
            .read(true)
            .open(file)
            .map_err(|e| Error::usage(format!("cannot read {}: {e}", file.display())))?;
        let mut magic = [0u8; 5];
        use std::io::{Read, Seek};
        if input.read_exact(&mut magic).is_err() || &magic != b"PGDMP" {
            return Err(Error::usage(format!(
                "{} is not a backup made by `epicevents db backup` (PostgreSQL custom format)",
                file.display()
            )));
        }
        input.rewind().map_err(|e| Error::internal("cannot read the backup", e))?;
        let mut conn = self.connect().await?;
        let used: bool = sqlx::query_scalar(
            "select exists (select 1 from employees) or exists (select 1 from clients)
                 or exists (select 1 from contracts) or exists (select 1 from events)",
        )
        .persistent(false)
        .fetch_one(&mut conn)
        .await?;
        if used {
            return Err(Error::conflict(
                "the database is not empty: a backup is restored only into an empty one",
            )
            .with_hint("restore into a fresh data directory (EPICCRM_DATA_DIR)"));
        }
        drop(conn);
        let admin = self.cluster.socket_options(SUPERUSER, "postgres", SOCKET_PORT);
        let mut conn = crate::db::connect(&admin).await?;
        for sql in ["drop database epicevents with (force)", "create database epicevents"] {
            sqlx::query(sql).persistent(false).execute(&mut conn).await?;
        }
        let out = self
            .cluster
            .tool("pg_restore")?
            .arg("--host")
            .arg(self.cluster.socket_dir())
            .args(["--port", &SOCKET_PORT.to_string(), "--username", SUPERUSER])
            .args(["--no-owner", "--single-transaction", "--exit-on-error", "--dbname", DATABASE])
            .stdin(std::process::Stdio::from(input))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output()
            .map_err(|e| Error::internal("cannot run pg_restore", e))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr);
            return Err(Error::unavailable(format!(
                "pg_restore failed: {}",
                why.lines().find(|l| l.contains("error")).unwrap_or("no message")
            )));
        }
        // migrated forward if the backup is older than this epicevents
        self.connect().await?;
        Ok(())
    }

    pub fn stop(&self) -> Result<bool> {
        if !self.cluster.is_running() {
            return Ok(false);
        }
        self.cluster.stop(false)?;
        Ok(true)
    }

    fn make_dir(&self) -> Result<()> {
        let root = localdb::running_as_root();
        sys::create_dir(&self.dir, !root).map_err(|e| {
            Error::unavailable(format!("cannot create {}: {e}", self.dir.display()))
                .with_hint("set EPICCRM_DATA_DIR to a writable directory, or DATABASE_URL")
        })?;
        if root {
            // the server runs as `postgres`, which must be able to walk down to its files
            let closed = self
                .dir
                .ancestors()
                .find(|d| fs::metadata(d).is_ok_and(|m| !sys::others_may_enter(&m)));
            if let Some(closed) = closed {
                return Err(Error::unavailable(format!(
                    "PostgreSQL cannot run as root, and the `postgres` account it runs as cannot \
                     enter {}",
                    closed.display()
                ))
                .with_hint(
                    "set EPICCRM_DATA_DIR to a directory outside it (root's default is \
                     /var/lib/epicevents), run as an ordinary user, or set DATABASE_URL",
                ));
            }
        }
        Ok(())
    }

    /// The JWT secret kept in the data directory (mode 0600), generated on first use.
    pub fn jwt_secret(&self) -> Result<Secret> {
        let path = self.dir.join("jwt-secret");
        match read_secret(&path) {
            Ok(s) if s.trim().len() >= MIN_JWT_SECRET_BYTES => return Ok(Secret::new(s.trim())),
            Ok(_) => {
                return Err(Error::unavailable(format!(
                    "{} is malformed (too short); delete it to make a new one",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::internal("cannot read the JWT secret", e)),
        }
        self.make_dir()?;
        let mut bytes = [0u8; 48];
        rand::rng().fill_bytes(&mut bytes);
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = self.dir.join(format!(".jwt-secret.{}", std::process::id()));
        localdb::write_private(&tmp, &secret)?;
        // hard_link fails if another process got there first: then theirs wins
        match fs::hard_link(&tmp, &path) {
            Ok(()) => {
                let _ = fs::remove_file(&tmp);
                Ok(Secret::new(secret))
            }
            Err(_) => {
                let _ = fs::remove_file(&tmp);
                read_secret(&path)
                    .map(|s| Secret::new(s.trim()))
                    .map_err(|e| Error::internal("cannot read the JWT secret", e))
            }
        }
    }
}

/// The secret file, never through a symbolic link and never more than 4 KiB.
fn read_secret(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read;
    let f = sys::open_private(path, OpenOptions::new().read(true))?;
    let mut s = String::new();
    f.take(4096).read_to_string(&mut s)?;
    Ok(s)
}
