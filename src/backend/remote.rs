//! Client mode (spec §10): every command goes to the server at `EPICCRM_SERVER` as the JSON
//! request of `api`, over HTTP/1.1 (TLS for `https://`), with the session's bearer token.
//! The client holds neither `DATABASE_URL` nor the JWT secret; it refreshes its tokens
//! before they expire (it reads their expiry, which needs no secret) or when the server says
//! they have, one process at a time under the store's lock, as direct mode does.
//!
//! Every write carries an `Idempotency-Key`, one per command (spec §15): when its answer is
//! lost (the connection closed or reset, no answer in time, 502/503/504), it is sent again
//! with the same key for about 10 seconds, and the server answers a repeat with the first
//! answer. When the outcome stays unknown, the user is told that the change may have been
//! applied and which command shows whether it was.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use super::{LoggedIn, LoggedOut};
use crate::api::{
    ApiError, Endpoint, Listing, Login, Logout, Page, Refresh, Session, TokenPair, Trailer,
};
use crate::auth::jwt::unverified_expiry;
use crate::auth::store::{Scope, TokenStore, Tokens};
use crate::config::{ServerUrl, Settings};
use crate::error::{Error, Kind, Result};
use crate::repo::RowSink;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a response (or, for a list, the gap between two chunks) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The most a single (non-list) response may weigh.
const MAX_RESPONSE: usize = 16 * 1024 * 1024;
/// Refresh a little before the expiry, so that the token does not expire on its way.
const EXPIRY_MARGIN_SECS: i64 = 10;
/// How long a write whose answer was lost is sent again, and the first pause between two
/// attempts (doubled each time, up to `RETRY_PAUSE_MAX`).
const RETRY_FOR: Duration = Duration::from_secs(10);
const RETRY_PAUSE: Duration = Duration::from_millis(250);
const RETRY_PAUSE_MAX: Duration = Duration::from_secs(2);

pub struct Remote {
    url: ServerUrl,
    origin: String,
    http: Http,
    store: TokenStore,
}

/// No session for this server (spec §16): which server, and whether it answers — a wrong
/// `EPICCRM_SERVER` with nothing listening is a server that cannot be reached (exit 7), not a
/// login to make.
async fn not_logged_in(http: &mut Http) -> Error {
    let origin = http.origin();
    match http.connect().await {
        Ok(sender) => {
            http.sender = Some(sender);
            Error::unauthenticated(format!("not logged in to the server {origin} (it answers)"))
                .with_hint("run `epicevents login`")
        }
        Err(e) => {
            let said = format!("{}; no session is stored for it either", e.message());
            e.with_message(said).with_hint(format!(
                "is `epicevents serve` running there, and is EPICCRM_SERVER ({origin}) right?"
            ))
        }
    }
}

/// An error the server sent, and whether it means "your access token has expired".
struct Refused {
    error: Error,
    expired: bool,
}

impl Remote {
    pub fn new(settings: &Settings, url: ServerUrl, warn: super::direct::Reporter) -> Result<Self> {
        let origin = url.origin();
        let store = TokenStore::new(settings, Scope::Server(origin.clone()))?
            .with_reporter(move |w| warn(&format!("warning: {w}")));
        let http = Http::new(url.clone(), settings.ca_cert.clone());
        Ok(Remote { url, origin, http, store })
    }

    /// A current access token, refreshed first when it has expired (or is about to).
    async fn access(&mut self) -> Result<String> {
        let Some(tokens) = self.store.load()? else {
            return Err(not_logged_in(&mut self.http).await);
        };
        if fresh(&tokens.access) {
            return Ok(tokens.access);
        }
        self.refresh_after(&tokens.access).await
    }

    /// The stored session's access token, or `None` when there is no usable session.
    async fn access_if_any(&mut self) -> Result<Option<String>> {
        if self.store.load().ok().flatten().is_none() {
            return Ok(None);
        }
        match self.access().await {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == Kind::Unauthenticated => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Refreshes under the store's lock, unless another process already replaced `stale`.
    async fn refresh_after(&mut self, stale: &str) -> Result<String> {
        let _lock = self.store.lock()?;
        let Some(current) = self.store.load()? else {
            return Err(not_logged_in(&mut self.http).await);
        };
        if current.access != stale && fresh(&current.access) {
            return Ok(current.access);
        }
        let pair = self.exchange(&current.refresh).await?;
        Ok(pair.access_token)
    }

    /// `POST /v1/session/refresh`, the new pair stored.
    async fn exchange(&mut self, refresh_token: &str) -> Result<TokenPair> {
        let body = Refresh { refresh_token: refresh_token.to_owned() };
        let resp = self.http.send("POST", "/v1/session/refresh", None, Some(&body)).await?;
        let pair: TokenPair = self.decode(resp).await.map_err(|r| r.error)?;
        self.store.save(&Tokens::from(pair.clone()))?;
        Ok(pair)
    }

    pub async fn call<R: Endpoint>(&mut self, req: R) -> Result<R::Output> {
        let path = req.path();
        let body = R::VERB.has_body().then_some(&req);
        let bearer =
            if R::ANONYMOUS_OK { self.access_if_any().await? } else { Some(self.access().await?) };
        let key = crate::api::is_write(R::VERB, R::ROUTE).then(|| uuid::Uuid::new_v4().to_string());
        let key = key.as_deref();
        let outcome = async {
            let resp = self.send(R::VERB.as_str(), &path, bearer.as_deref(), body, key).await?;
            match self.decode(resp).await {
                Ok(v) => Ok(v),
                // the server's clock says the token has expired: refresh once and try again
                // (the request was refused before anything was done)
                Err(Refused { expired: true, .. }) if bearer.is_some() => {
                    let stale = bearer.clone().unwrap_or_default();
                    let access = self.refresh_after(&stale).await?;
                    let resp = self.send(R::VERB.as_str(), &path, Some(&access), body, key).await?;
                    self.decode(resp).await.map_err(|r| r.error)
                }
                Err(r) => Err(r.error),
            }
        };
        outcome.await.map_err(|e| super::with_check_hint(e, &path))
    }

    /// Sends a request; a write (`key` given) again, with the same key, while its answer is
    /// lost, for about [`RETRY_FOR`] with backoff. A write sent whose outcome stays unknown
    /// is an error that says it may have been applied.
    async fn send<B: serde::Serialize + ?Sized>(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&B>,
        key: Option<&str>,
    ) -> Result<Response<Incoming>> {
        let Some(key) = key else { return self.http.send(method, path, bearer, body).await };
        let deadline = std::time::Instant::now() + RETRY_FOR;
        let mut pause = RETRY_PAUSE;
        // whether an attempt may have been applied without its answer reaching us: it was
        // sent and the connection broke or timed out, or a proxy answered 502/504 for the
        // server. A 503 is the server's own answer (nothing committed: a 5xx is never kept),
        // and a connection never made sent nothing.
        let mut unknown = false;
        loop {
            let attempt = self.http.send_keyed(method, path, bearer, body, Some(key)).await;
            let lost = match &attempt {
                Ok(r) => matches!(r.status().as_u16(), 502..=504),
                Err(f) => f.error.kind() == Kind::Unavailable,
            };
            unknown |= match &attempt {
                Ok(r) => matches!(r.status().as_u16(), 502 | 504),
                Err(f) => lost && f.sent,
            };
            if !lost || std::time::Instant::now() + pause > deadline {
                return match attempt {
                    Ok(r) if !lost => Ok(r),
                    Err(f) if !lost => Err(f.error),
                    // an earlier attempt may have been applied: whatever this one got, the
                    // outcome is unknown (spec §15)
                    Ok(r) if unknown => Err(Error::maybe_applied(format!(
                        "the server {} answered {}{}",
                        self.origin,
                        r.status(),
                        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
                            " after an attempt that got no answer"
                        } else {
                            " (a proxy in front of it?)"
                        }
                    ))),
                    Err(f) if unknown => Err(Error::maybe_applied(f.error.message())),
                    // nothing can have been applied: the server's own 503 says what it knows
                    Ok(r) => Ok(r),
                    Err(f) => Err(f.error),
                };
            }
            tracing::debug!("no answer to {method} {path}; sending it again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_PAUSE_MAX);
        }
    }

    pub async fn list<Q: Listing>(
        &mut self,
        q: Q,
        page: Page,
        sink: &mut impl RowSink<Q::Row>,
    ) -> Result<()> {
        let query = [serde_urlencoded::to_string(&q), serde_urlencoded::to_string(page)]
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::internal("cannot encode the list's filters", e))?
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("&");
        let path = format!("{}?{query}", Q::ROUTE);
        let mut access = self.access().await?;
        let mut resp = self.http.send::<()>("GET", &path, Some(&access), None).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let refused = self.refused(resp).await;
            if !refused.expired {
                return Err(refused.error);
            }
            access = self.refresh_after(&access).await?;
            resp = self.http.send::<()>("GET", &path, Some(&access), None).await?;
        }
        if !resp.status().is_success() {
            return Err(self.refused(resp).await.error);
        }
        self.stream_rows(resp, sink).await
    }

    /// Reads a list as it comes: one JSON row per line, then a trailer line.
    async fn stream_rows<T: DeserializeOwned>(
        &self,
        resp: Response<Incoming>,
        sink: &mut impl RowSink<T>,
    ) -> Result<()> {
        let mut body = resp.into_body();
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            let frame = match tokio::time::timeout(READ_TIMEOUT, body.frame()).await {
                Err(_) => return Err(self.unreachable("stopped sending the list")),
                Ok(None) => return Err(self.unreachable("ended the list before its end")),
                Ok(Some(Err(e))) => {
                    return Err(self.unreachable("broke off the list").with_source(e));
                }
                Ok(Some(Ok(f))) => f,
            };
            let Ok(data) = frame.into_data() else { continue };
            buf.extend_from_slice(&data);
            let mut start = 0;
            while let Some(nl) = buf[start..].iter().position(|b| *b == b'\n') {
                let line = &buf[start..start + nl];
                start += nl + 1;
                if line.starts_with(b"{\"$") {
                    return match serde_json::from_slice::<Trailer>(line) {
                        Ok(Trailer::End { .. }) => Ok(()),
                        Ok(Trailer::Error(e)) => Err(e.into()),
                        Err(_) => Err(self.nonsense()),
                    };
                }
                let row: T = serde_json::from_slice(line).map_err(|_| self.nonsense())?;
                if !sink.push(row).await? {
                    return Ok(());
                }
            }
            buf.drain(..start);
        }
    }

    pub async fn login(&mut self, req: Login) -> Result<LoggedIn> {
        let previous = self.store.load().ok().flatten();
        let resp = self.http.send("POST", "/v1/session", None, Some(&req)).await?;
        let session: Session = self.decode(resp).await.map_err(|r| r.error)?;
        let replaced = match previous {
            Some(t) => self.end_session(&t).await.unwrap_or(false),
            None => false,
        };
        self.store.save(&Tokens::from(session.tokens))?;
        Ok(LoggedIn { me: session.employee, replaced })
    }

    pub async fn refresh(&mut self) -> Result<()> {
        let _lock = self.store.lock()?;
        let Some(tokens) = self.store.load()? else {
            return Err(not_logged_in(&mut self.http).await);
        };
        self.exchange(&tokens.refresh).await.map(|_| ())
    }

    pub async fn logout(&mut self) -> Result<LoggedOut> {
        let tokens = match self.store.load() {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(LoggedOut::NotLoggedIn),
            Err(_) => {
                self.store.clear()?;
                return Ok(LoggedOut::AlreadyEnded);
            }
        };
        let outcome = match self.end_session(&tokens).await {
            Ok(true) => LoggedOut::Ended,
            Ok(false) => LoggedOut::AlreadyEnded,
            Err(e) => {
                tracing::debug!("logout without the server: {e}");
                LoggedOut::Offline
            }
        };
        self.store.clear()?;
        Ok(outcome)
    }

    /// `POST /v1/session/logout`: whether a live session ended.
    async fn end_session(&mut self, t: &Tokens) -> Result<bool> {
        let body =
            Logout { refresh_token: Some(t.refresh.clone()), access_token: Some(t.access.clone()) };
        let resp = self.http.send("POST", "/v1/session/logout", None, Some(&body)).await?;
        let out: crate::api::LoggedOut = self.decode(resp).await.map_err(|r| r.error)?;
        Ok(out.revoked)
    }

    /// A success as `T`, or the server's error.
    async fn decode<T: DeserializeOwned>(
        &self,
        resp: Response<Incoming>,
    ) -> std::result::Result<T, Refused> {
        if !resp.status().is_success() {
            return Err(self.refused(resp).await);
        }
        let body = self.collect(resp).await.map_err(|error| Refused { error, expired: false })?;
        serde_json::from_slice(&body)
            .map_err(|_| Refused { error: self.nonsense(), expired: false })
    }

    async fn refused(&self, resp: Response<Incoming>) -> Refused {
        let status = resp.status();
        let body = match self.collect(resp).await {
            Ok(b) => b,
            Err(error) => return Refused { error, expired: false },
        };
        match serde_json::from_slice::<ApiError>(&body) {
            Ok(a) => {
                let expired = a.reason.as_deref() == Some("token_expired");
                Refused { error: a.into(), expired }
            }
            // a proxy's error page, or something that is not this API at all
            Err(_) => Refused {
                error: Error::unavailable(format!(
                    "the server {} answered {status} without an epicevents error",
                    self.origin
                ))
                .with_hint("is EPICCRM_SERVER the address of `epicevents serve`?"),
                expired: false,
            },
        }
    }

    async fn collect(&self, resp: Response<Incoming>) -> Result<Bytes> {
        let limited = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE);
        match tokio::time::timeout(READ_TIMEOUT, limited.collect()).await {
            Ok(Ok(b)) => Ok(b.to_bytes()),
            Ok(Err(e)) => Err(Error::unavailable(format!(
                "the server {} broke off its answer: {e}",
                self.origin
            ))),
            Err(_) => Err(self.unreachable("did not finish its answer in time")),
        }
    }

    fn nonsense(&self) -> Error {
        Error::unavailable(format!(
            "the server {} answered something that is not the epicevents API",
            self.origin
        ))
        .with_hint("is EPICCRM_SERVER the address of `epicevents serve`?")
    }

    fn unreachable(&self, what: &str) -> Error {
        Error::unavailable(format!("the server {} {what}", self.origin))
    }

    pub fn url(&self) -> &ServerUrl {
        &self.url
    }
}

/// Whether a token is not about to expire (a token we cannot read counts as fresh: the
/// server will say what is wrong with it).
fn fresh(token: &str) -> bool {
    unverified_expiry(token)
        .is_none_or(|exp| exp > chrono::Utc::now().timestamp() + EXPIRY_MARGIN_SECS)
}

/// A request that failed, and whether it may have reached the server (it was sent on an open
/// connection) or surely did not (no connection could be made).
struct Failure {
    error: Error,
    sent: bool,
}

/// One HTTP/1.1 connection to the server, kept for the commands' few requests.
struct Http {
    url: ServerUrl,
    ca_cert: Option<std::path::PathBuf>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Http {
    fn new(url: ServerUrl, ca_cert: Option<std::path::PathBuf>) -> Self {
        Http { url, ca_cert, sender: None }
    }

    fn origin(&self) -> String {
        self.url.origin()
    }

    async fn connect(&mut self) -> Result<SendRequest<Full<Bytes>>> {
        let origin = self.origin();
        let addr = (self.url.host.as_str(), self.url.port);
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(Error::unavailable(format!("cannot reach the server {origin}: {e}"))
                    .with_hint(
                        "is `epicevents serve` running there, and is EPICCRM_SERVER right?",
                    ));
            }
            Err(_) => {
                return Err(Error::unavailable(format!(
                    "the server {origin} did not answer within {} seconds",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        let _ = tcp.set_nodelay(true);
        let handshake_failed = |e: hyper::Error| {
            Error::unavailable(format!("the server {origin} does not speak HTTP/1.1"))
                .with_source(e)
        };
        if !self.url.https {
            let (sender, conn) =
                http1::handshake(TokioIo::new(tcp)).await.map_err(handshake_failed)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            return Ok(sender);
        }
        let config = tls_config(self.ca_cert.as_deref())?;
        let name = rustls_pki_types::ServerName::try_from(self.url.host.clone()).map_err(|_| {
            Error::unavailable(format!("{} is not a valid server name", self.url.host))
        })?;
        let tls = match tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_rustls::TlsConnector::from(config).connect(name, tcp),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(Error::unavailable(format!(
                    "TLS with the server {origin} failed: {e}"
                ))
                .with_hint(
                    "if the server has a certificate of its own authority, set \
                         EPICCRM_CA_CERT to that authority's certificate (PEM)",
                ));
            }
            Err(_) => {
                return Err(Error::unavailable(format!(
                    "the server {origin} did not complete TLS within {} seconds",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        let (sender, conn) = http1::handshake(TokioIo::new(tls)).await.map_err(handshake_failed)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends a request (a JSON body when there is one), on the kept connection when it is
    /// still open, on a new one otherwise.
    async fn send<B: serde::Serialize + ?Sized>(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&B>,
    ) -> Result<Response<Incoming>> {
        self.send_keyed(method, path, bearer, body, None).await.map_err(|f| f.error)
    }

    /// [`Http::send`], with an `Idempotency-Key` when given; a failure says whether the
    /// request may have reached the server.
    async fn send_keyed<B: serde::Serialize + ?Sized>(
        &mut self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&B>,
        key: Option<&str>,
    ) -> std::result::Result<Response<Incoming>, Failure> {
        let unsent = |error: Error| Failure { error, sent: false };
        let bytes = match body {
            Some(b) => Bytes::from(
                serde_json::to_vec(b)
                    .map_err(|e| unsent(Error::internal("cannot encode a request", e)))?,
            ),
            None => Bytes::new(),
        };
        let mut sender = match self.sender.take() {
            Some(mut s) => match s.ready().await {
                Ok(()) => s,
                Err(_) => self.connect().await.map_err(unsent)?,
            },
            None => self.connect().await.map_err(unsent)?,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.url.authority())
            .header(header::USER_AGENT, concat!("epicevents/", env!("CARGO_PKG_VERSION")))
            .header(header::ACCEPT, "application/json");
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(bytes))
            .map_err(|e| unsent(Error::internal("cannot build a request", e)))?;
        let origin = self.origin();
        let sent = |error: Error| Failure { error, sent: true };
        let resp = match tokio::time::timeout(READ_TIMEOUT, sender.send_request(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(sent(
                    Error::unavailable(format!(
                        "the server {origin} closed the connection without answering"
                    ))
                    .with_source(e),
                ));
            }
            Err(_) => {
                return Err(sent(Error::unavailable(format!(
                    "the server {origin} did not answer within {} seconds",
                    READ_TIMEOUT.as_secs()
                ))));
            }
        };
        self.sender = Some(sender);
        Ok(resp)
    }
}

/// The client's TLS: the web's root authorities, and the one in `EPICCRM_CA_CERT` if set.
fn tls_config(ca_cert: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_cert {
        let bad = || {
            Error::unavailable(format!(
                "EPICCRM_CA_CERT is malformed: {} is not a PEM certificate",
                path.display()
            ))
        };
        let mut added = 0;
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|_| bad())? {
            roots.add(cert.map_err(|_| bad())?).map_err(|_| bad())?;
            added += 1;
        }
        if added == 0 {
            return Err(bad());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal("cannot set up TLS", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
