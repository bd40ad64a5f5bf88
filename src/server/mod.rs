//! Server mode (spec §10): `epicevents serve`. The same services, guard and permission table
//! as direct mode, behind a JSON API over HTTP/1.1 (TLS with `EPICCRM_TLS_CERT` and
//! `EPICCRM_TLS_KEY`), so that users hold only the server's address and their own tokens.
//!
//! The server keeps no state of its own (sessions, throttling and everything else live in
//! the database): several servers on one database serve the same users. Operations: a pool
//! of `EPICCRM_DB_POOL` connections, `GET /healthz`, a 64 KiB cap on request bodies, a
//! deadline per request (a streamed list goes on while its rows flow, and stops when its
//! reader stops reading), one access-log line per request on stderr, and a graceful stop on
//! SIGTERM or SIGINT: no new connections, requests in flight finish (10 s at most), exit 0.
//!
//! Staying up for everyone (spec §15): fair use of the pool (`fair`), a database probe apart
//! from the pool (`health`), keyed writes kept 24 hours, and `/metrics` on a listener of its
//! own (`EPICCRM_METRICS_LISTEN`).

mod fair;
mod health;
mod routes;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::auth::jwt::Jwt;
use crate::backend::Database;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::service::session::Policy;

/// How long requests in flight may take to finish after SIGTERM or SIGINT.
pub const DRAIN: Duration = Duration::from_secs(10);
/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a client may take to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request handler shares.
pub struct State {
    pub pool: PgPool,
    pub jwt: Jwt,
    pub policy: Policy,
    pub trusted_proxies: Vec<IpAddr>,
    pub stream_idle: Duration,
    pub fair: fair::Fair,
    pub health: health::Health,
}

/// How often the server deletes the idempotency keys past their 24 hours.
const EXPIRE_KEYS_EVERY: Duration = Duration::from_secs(600);
/// After the drain, how long the pool may take to close: a list still holding a connection
/// is not waited for (SIGTERM exits within 11 s, spec §15).
const CLOSE_POOL: Duration = Duration::from_millis(500);

/// The address a request came from (the TCP peer), set by the accept loop.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// Runs the server until SIGTERM or SIGINT. `ready` is told the address it listens on.
pub async fn serve(mut db: Database, listen: &str, ready: impl FnOnce(&str)) -> Result<()> {
    crate::sys::return_large_blocks();
    let settings: Settings = db.settings.clone();
    // the schema is checked (the zero-config database is migrated) before anything is served
    let options = db.options_for_pool().await?;
    let jwt = db.jwt()?;
    let place = crate::db::place(&options);
    // the connection that checked the schema probes the database from now on
    let probe = db.take_conn();
    drop(db);
    let tls = tls_acceptor(&settings)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        Error::unavailable(format!("cannot listen on {listen}: {e}"))
            .with_hint("set another address with --listen or EPICCRM_LISTEN")
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::internal("cannot read the listening address", e))?;
    let metrics = match &settings.metrics_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
            Error::unavailable(format!("cannot listen on {addr} (EPICCRM_METRICS_LISTEN): {e}"))
        })?),
        None => None,
    };
    let state = Arc::new(State {
        pool: crate::db::pool(&options, settings.db_pool, health::POOL_ACQUIRE),
        jwt,
        policy: Policy { max_days: settings.session_max_days, rotate: settings.rotate_refresh },
        trusted_proxies: settings.trusted_proxies.clone(),
        stream_idle: Duration::from_secs(settings.stream_idle_secs),
        fair: fair::Fair::new(settings.db_pool),
        health: health::Health::new(crate::db::server_options(&options), probe),
    });
    let router = routes::router(state.clone(), Duration::from_secs(settings.request_timeout_secs));
    let mut chores = tokio::task::JoinSet::new();
    if let Some(listener) = metrics {
        let addr = listener
            .local_addr()
            .map_err(|e| Error::internal("cannot read the metrics address", e))?;
        eprintln!("epicevents: metrics on http://{addr}/metrics");
        chores.spawn(serve_metrics(listener, state.clone()));
    }
    chores.spawn(expire_keys(state.clone()));
    let scheme = if tls.is_some() { "https" } else { "http" };
    ready(&format!("{scheme}://{local} (database: {place})"));

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = crate::sys::stop_signal();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors and the like: wait a moment rather than spin
                    eprintln!("error: cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Peer(peer));
                let mut router = router.clone();
                async move { tower::Service::call(&mut router, req).await }
            });
        let builder = {
            let mut b = hyper::server::conn::http1::Builder::new();
            b.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
            b
        };
        match &tls {
            None => {
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                });
            }
        }
    }
    drop(listener);
    eprintln!("stopping: finishing the requests in flight ({} s at most)", DRAIN.as_secs());
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN) => {
            eprintln!("stopping: requests still running after {} s were cut off", DRAIN.as_secs());
        }
    }
    chores.abort_all();
    let _ = tokio::time::timeout(CLOSE_POOL, state.pool.close()).await;
    Ok(())
}

/// `GET /metrics` (spec §15) on its own listener: no authentication, so bound to a private
/// address; the API's port does not serve it.
async fn serve_metrics(listener: TcpListener, state: Arc<State>) {
    let render = move || {
        let (size, idle) = (state.pool.size(), state.pool.num_idle() as u32);
        let text = crate::metrics::render(size.saturating_sub(idle), idle);
        async move { ([(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text) }
    };
    let app = axum::Router::new().route("/metrics", axum::routing::get(render));
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("error: the metrics listener stopped: {e}");
    }
}

/// Deletes the idempotency keys past their 24 hours, at start and every 10 minutes (every
/// server does it; a delete finds nothing to do the second time).
async fn expire_keys(state: Arc<State>) {
    loop {
        let done = async {
            let mut conn = state.pool.acquire().await?;
            let mut tx = crate::db::begin(&mut conn).await?;
            let n = crate::repo::idempotency::expire(&mut tx).await?;
            tx.commit().await?;
            Ok::<u64, Error>(n)
        };
        match done.await {
            Ok(n) if n > 0 => tracing::debug!("{n} idempotency keys expired"),
            Ok(_) => {}
            Err(e) => tracing::debug!("idempotency keys not expired this time: {e}"),
        }
        tokio::time::sleep(EXPIRE_KEYS_EVERY).await;
    }
}

/// TLS from `EPICCRM_TLS_CERT` and `EPICCRM_TLS_KEY` (PEM), when both are set.
fn tls_acceptor(settings: &Settings) -> Result<Option<tokio_rustls::TlsAcceptor>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = match (&settings.tls_cert, &settings.tls_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        (Some(_), None) => {
            return Err(Error::unavailable("EPICCRM_TLS_KEY is not set (EPICCRM_TLS_CERT is)"));
        }
        (None, Some(_)) => {
            return Err(Error::unavailable("EPICCRM_TLS_CERT is not set (EPICCRM_TLS_KEY is)"));
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<std::result::Result<_, _>>())
        .map_err(|e| {
            Error::unavailable(format!("EPICCRM_TLS_CERT is malformed: {}: {e}", cert.display()))
        })?;
    if certs.is_empty() {
        return Err(Error::unavailable(format!(
            "EPICCRM_TLS_CERT is malformed: no certificate in {}",
            cert.display()
        )));
    }
    // the error of a key file is never printed: it could quote the key
    let key = PrivateKeyDer::from_pem_file(key).map_err(|_| {
        Error::unavailable(format!(
            "EPICCRM_TLS_KEY is malformed: no private key in {}",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal("cannot set up TLS", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::unavailable(format!("the TLS certificate and key do not fit: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}
