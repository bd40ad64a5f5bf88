//! The zero-config database (spec §9): with no `DATABASE_URL`, a PostgreSQL cluster of our
//! own in the user's data directory, made on first use, started on demand, reachable only
//! through a Unix socket in a private directory, migrated automatically, with a JWT secret
//! generated once and kept beside it.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use rand::RngCore;
use sqlx::PgConnection;
use sqlx::postgres::PgConnectOptions;

use crate::config::{MIN_JWT_SECRET_BYTES, Secret, Settings};
use crate::error::{Error, Result};
use crate::localdb::{self, Cluster, SOCKET_PORT};

const DATABASE: &str = "epicevents";
const SUPERUSER: &str = "postgres";
/// Where root's cluster lives: `/root` is closed to the `postgres` account that must run it.
const ROOT_DATA_DIR: &str = "/var/lib/epicevents";

pub struct Embedded {
    dir: PathBuf,
    cluster: Cluster,
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
    pub fn new(settings: &Settings) -> Result<Self> {
        let dir = data_dir(settings)?;
        let cluster = Cluster::new(dir.join("postgres"));
        Ok(Embedded { dir, cluster })
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
        if crate::db::check_schema(&mut conn).await.is_err() {
            crate::db::migrate(&mut conn).await?;
        }
        Ok(conn)
    }

    /// Makes and starts the cluster if it is not running; one process at a time.
    pub async fn ensure_running(&self) -> Result<()> {
        self.make_dir()?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.dir.join("start.lock"))
            .map_err(|e| Error::internal("cannot open the start lock", e))?;
        lock.lock().map_err(|e| Error::internal("cannot take the start lock", e))?;
        if !self.cluster.is_running() {
            if !self.cluster.is_initialized() {
                eprintln!(
                    "Creating a local PostgreSQL database in {} (first run)…",
                    self.cluster.root().display()
                );
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
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query("create database epicevents").execute(&mut conn).await?;
        }
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
        fs::DirBuilder::new()
            .recursive(true)
            .mode(if root { 0o755 } else { 0o700 })
            .create(&self.dir)
            .map_err(|e| {
                Error::unavailable(format!("cannot create {}: {e}", self.dir.display()))
                    .with_hint("set EPICCRM_DATA_DIR to a writable directory, or DATABASE_URL")
            })?;
        if root {
            // the server runs as `postgres`, which must be able to walk down to its files
            let closed = self
                .dir
                .ancestors()
                .find(|d| fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 == 0));
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
        match fs::read_to_string(&path) {
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
                fs::read_to_string(&path)
                    .map(|s| Secret::new(s.trim()))
                    .map_err(|e| Error::internal("cannot read the JWT secret", e))
            }
        }
    }
}
