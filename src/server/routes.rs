//! The HTTP API (`docs/api.md`): one route per command, each running the request type of
//! `api` through its service (`service::Run`, `service::RunList`), so that no rule is
//! written twice. Errors are `{"kind", "message", "hint"}` with the status of their kind.
//!
//! Every handler checks the token's signature before it takes a database connection, takes
//! its employee's turn (`fair`), and only then a connection; a write with an
//! `Idempotency-Key` runs through `service::idempotency`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, post};
use bytes::Bytes;
use serde::Serialize;
use sqlx::PgConnection;
use tokio::sync::mpsc;

use super::{MAX_BODY, Peer, State};
use crate::api::{self, ApiError, Page, Trailer, Verb};
use crate::auth::Actor;
use crate::auth::jwt::Claims;
use crate::error::{Error, Kind, Result};
use crate::repo::RowSink;
use crate::service::idempotency::{self, Answer, Keyed};
use crate::service::session;
use crate::service::{Run, RunList};

type Routes = HashMap<&'static str, MethodRouter<Arc<State>>>;

fn add(routes: &mut Routes, route: &'static str, m: MethodRouter<Arc<State>>) {
    let entry = routes.remove(route).unwrap_or_default();
    routes.insert(route, entry.merge(m));
}

fn endpoint<R: Run>(routes: &mut Routes) {
    let filter = match R::VERB {
        Verb::Get => MethodFilter::GET,
        Verb::Post => MethodFilter::POST,
        Verb::Put => MethodFilter::PUT,
        Verb::Patch => MethodFilter::PATCH,
        Verb::Delete => MethodFilter::DELETE,
    };
    add(routes, R::ROUTE, axum::routing::on(filter, call::<R>));
}

fn listing<Q: RunList>(routes: &mut Routes) {
    add(routes, Q::ROUTE, get(list::<Q>));
}

pub fn router(state: Arc<State>, deadline: Duration) -> Router {
    let mut routes = Routes::new();
    endpoint::<api::WhoAmI>(&mut routes);
    endpoint::<api::ManagementOnly>(&mut routes);
    endpoint::<api::InstallationShow>(&mut routes);
    endpoint::<api::Preflight>(&mut routes);
    listing::<api::EmployeeQuery>(&mut routes);
    endpoint::<api::EmployeeShow>(&mut routes);
    endpoint::<api::NewEmployee>(&mut routes);
    endpoint::<api::EmployeeUpdate>(&mut routes);
    endpoint::<api::SetPassword>(&mut routes);
    endpoint::<api::Deactivate>(&mut routes);
    endpoint::<api::Reactivate>(&mut routes);
    endpoint::<api::EmployeeDelete>(&mut routes);
    endpoint::<api::EmployeeUnlock>(&mut routes);
    listing::<api::ClientQuery>(&mut routes);
    endpoint::<api::ClientShow>(&mut routes);
    endpoint::<api::ClientOverview>(&mut routes);
    endpoint::<api::NewClient>(&mut routes);
    endpoint::<api::ClientUpdate>(&mut routes);
    endpoint::<api::ClientReassign>(&mut routes);
    endpoint::<api::ClientDelete>(&mut routes);
    listing::<api::ContractQuery>(&mut routes);
    endpoint::<api::ContractShow>(&mut routes);
    endpoint::<api::ContractOverview>(&mut routes);
    listing::<api::PaymentQuery>(&mut routes);
    endpoint::<api::NewContract>(&mut routes);
    endpoint::<api::ContractUpdate>(&mut routes);
    endpoint::<api::ContractSign>(&mut routes);
    endpoint::<api::ContractPay>(&mut routes);
    endpoint::<api::ContractDelete>(&mut routes);
    listing::<api::EventQuery>(&mut routes);
    endpoint::<api::EventShow>(&mut routes);
    endpoint::<api::NewEvent>(&mut routes);
    endpoint::<api::EventUpdate>(&mut routes);
    endpoint::<api::EventAssign>(&mut routes);
    endpoint::<api::EventUnassign>(&mut routes);
    endpoint::<api::EventDelete>(&mut routes);
    listing::<api::AuditQuery>(&mut routes);

    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/session", post(login))
        .route("/v1/session/refresh", post(refresh))
        .route("/v1/session/logout", post(logout));
    for (path, m) in routes {
        router = router.route(path, m);
    }
    router
        .fallback(|| async { failure(&Error::not_found("no such endpoint (see docs/api.md)")) })
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            deadline,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

/// The employee a request ran as, for the access log.
#[derive(Clone, Copy)]
struct EmployeeId(i64);

/// The HTTP status of an error's kind.
fn status(kind: Kind) -> StatusCode {
    match kind {
        Kind::Usage => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
        Kind::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn json_response(code: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            (code, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes)
                .into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn api_failure(e: &ApiError) -> Response {
    json_response(status(e.kind), e)
}

/// An error as the client sees it; an unexpected one is also logged with its cause and
/// reported (without personal data) to Sentry when configured.
fn failure(e: &Error) -> Response {
    let a = error_answer(e);
    answered(a.status, a.body)
}

fn error_answer(e: &Error) -> Answer {
    if e.kind() == Kind::Internal {
        match e.cause() {
            Some(c) => eprintln!("error: {}: {c:#}", e.message()),
            None => eprintln!("error: {}", e.message()),
        }
        crate::telemetry::report_error(e, "serve");
    }
    let body = serde_json::to_vec(&ApiError::from(e)).unwrap_or_default();
    Answer { status: status(e.kind()).as_u16(), body }
}

/// What a command answers, as sent (and as kept for a repeat of its Idempotency-Key).
fn answer<T: Serialize>(out: Result<T>) -> Answer {
    match out
        .and_then(|v| serde_json::to_vec(&v).map_err(|e| Error::internal("cannot encode JSON", e)))
    {
        Ok(body) => Answer { status: 200, body },
        Err(e) => error_answer(&e),
    }
}

fn answered(status: u16, body: Vec<u8>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body)
        .into_response()
}

fn with_employee(mut resp: Response, employee: Option<i64>) -> Response {
    if let Some(id) = employee {
        resp.extensions_mut().insert(EmployeeId(id));
    }
    resp
}

/// `{field}` values of `route` in `path`: `/v1/clients/{id}` and `/v1/clients/12` give id=12.
fn path_params(route: &str, path: &str) -> Vec<(String, String)> {
    route
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(r, p)| {
            let key = r.strip_prefix('{')?.strip_suffix('}')?;
            Some((key.to_owned(), p.to_owned()))
        })
        .collect()
}

/// The request: its JSON body (if any) with the values of `route`'s placeholders in `path`.
fn decode<R: serde::de::DeserializeOwned>(route: &str, path: &str, body: &[u8]) -> Result<R> {
    let mut v: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Error::usage(format!("the request body is not valid JSON: {e}")))?
    };
    if holds_nul(&v) {
        return Err(nul_refused());
    }
    let obj =
        v.as_object_mut().ok_or_else(|| Error::usage("the request body must be a JSON object"))?;
    for (k, val) in path_params(route, path) {
        let val = match val.parse::<i64>() {
            Ok(n) => serde_json::Value::from(n),
            Err(_) => serde_json::Value::String(val),
        };
        obj.insert(k, val);
    }
    serde_json::from_value(v).map_err(|e| Error::usage(format!("invalid request: {e}")))
}

/// Whether a JSON value holds a NUL character anywhere (PostgreSQL text cannot: spec §15
/// makes it a 400, not a database error).
fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(holds_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

fn nul_refused() -> Error {
    Error::usage("the request holds a NUL character (\\u0000), which no text may contain")
}

/// The body, at most `MAX_BODY` bytes: over it (announced or not) is a 413.
async fn read_body(body: Body) -> std::result::Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| too_large())
}

fn too_large() -> Response {
    let e = Error::usage(format!("the request is too large ({} KiB at most)", MAX_BODY / 1024));
    json_response(StatusCode::PAYLOAD_TOO_LARGE, &ApiError::from(&e))
}

async fn acquire(s: &State) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    super::health::acquire(&s.pool, &s.health).await
}

/// The bearer token's claims, if the request has one, checked without the database
/// (signature, audience, expiry): a bad token never takes a connection. An expired token is
/// a 401 whose `reason` tells the client to refresh and try again.
fn bearer(s: &State, headers: &HeaderMap) -> std::result::Result<Option<Claims>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let token = value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(|| {
        ApiError::from(&Error::unauthenticated("the Authorization header must be `Bearer TOKEN`"))
    })?;
    match session::check_token(&s.jwt, token.trim()) {
        Ok(Some(c)) => Ok(Some(c)),
        Ok(None) => Err(ApiError {
            kind: Kind::Unauthenticated,
            message: "the access token has expired".into(),
            hint: Some("refresh it with POST /v1/session/refresh".into()),
            reason: Some("token_expired".into()),
        }),
        Err(e) => Err(ApiError::from(&e)),
    }
}

/// The employee a token's claims name, as the database has them now.
async fn authenticate(
    s: &State,
    conn: &mut PgConnection,
    claims: Option<&Claims>,
) -> std::result::Result<Option<Actor>, Response> {
    let Some(claims) = claims else { return Ok(None) };
    session::actor(conn, claims, s.policy).await.map(Some).map_err(|e| failure(&e))
}

/// The employee a checked token names (for their turn: a token whose subject is not an id
/// is refused when the database is asked).
fn employee_of(claims: Option<&Claims>) -> Option<i64> {
    claims.and_then(|c| c.employee_id().ok())
}

/// The `Idempotency-Key` of a write, if it has one: 1 to 255 letters, digits and `-_.:~+/=`.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str().map(str::trim) {
        Ok(k) if crate::repo::idempotency::valid_key(k) => Ok(Some(k.to_owned())),
        _ => Err(Error::usage(
            "the Idempotency-Key header must be 1 to 255 letters, digits and -_.:~+/=",
        )),
    }
}

fn not_logged_in() -> Error {
    Error::unauthenticated("not logged in: this needs a bearer token")
        .with_hint("run `epicevents login`")
}

async fn call<R: Run>(Shared(s): Shared<Arc<State>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    // who asks comes first: an anonymous caller learns nothing of a request's rules
    let claims = match bearer(&s, &parts.headers) {
        Ok(c) => c,
        Err(a) => return api_failure(&a),
    };
    if claims.is_none() && !R::ANONYMOUS_OK {
        return failure(&not_logged_in());
    }
    let _turn = s.fair.turn(employee_of(claims.as_ref())).await;
    let mut conn = match acquire(&s).await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    let actor = match authenticate(&s, &mut conn, claims.as_ref()).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let employee = actor.as_ref().map(|a| a.id);
    let request = match decode::<R>(R::ROUTE, parts.uri.path(), &body) {
        Ok(r) => r,
        Err(e) => return with_employee(failure(&e), employee),
    };
    let key = match idempotency_key(&parts.headers) {
        Ok(k) if api::is_write(R::VERB, R::ROUTE) => k,
        Ok(_) => None,
        Err(e) => return with_employee(failure(&e), employee),
    };
    let resp = match (key, &actor) {
        (Some(key), Some(actor)) => {
            let print = idempotency::fingerprint(parts.method.as_str(), parts.uri.path(), &body);
            match idempotency::keyed(&mut conn, actor, &key, &print, request, answer).await {
                Ok(Keyed::Answered(a)) => answered(a.status, a.body),
                Ok(Keyed::Replayed(a)) => {
                    let mut resp = answered(a.status, a.body);
                    resp.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    resp
                }
                Err(e) => failure(&e),
            }
        }
        _ => {
            let a = answer(request.run(&mut conn, actor.as_ref()).await);
            answered(a.status, a.body)
        }
    };
    with_employee(resp, employee)
}

/// Rows go out as JSON lines in chunks of about this size.
const CHUNK: usize = 32 * 1024;

/// Where a list's rows go on the server: a bounded channel to the response body. A reader
/// that stops reading fills it; after `idle` the list stops and its connection goes back to
/// the pool.
struct ChannelSink {
    tx: mpsc::Sender<Result<Bytes>>,
    buf: Vec<u8>,
    idle: Duration,
    sent: bool,
    rows: u64,
    /// The reader went away, or stopped reading for `idle`: the list ends without its
    /// trailer, which tells the client it was cut.
    abandoned: bool,
}

impl ChannelSink {
    async fn flush(&mut self) -> bool {
        if self.abandoned {
            return false;
        }
        if self.buf.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.sent = true;
        if self.tx.send_timeout(Ok(chunk), self.idle).await.is_err() {
            self.abandoned = true;
        }
        !self.abandoned
    }

    fn line(&mut self, v: &impl Serialize) -> Result<()> {
        serde_json::to_writer(&mut self.buf, v)
            .map_err(|e| Error::internal("cannot encode JSON", e))?;
        self.buf.push(b'\n');
        Ok(())
    }
}

impl<T: Serialize + Send> RowSink<T> for ChannelSink {
    async fn push(&mut self, row: T) -> Result<bool> {
        // a reader that left (or a request past its deadline) stops the query at once, giving
        // its connection back, rather than at the next chunk
        if self.tx.is_closed() {
            self.abandoned = true;
            return Ok(false);
        }
        self.line(&row)?;
        self.rows += 1;
        if self.buf.len() >= CHUNK {
            return Ok(self.flush().await);
        }
        Ok(true)
    }
}

async fn list<Q: RunList>(Shared(s): Shared<Arc<State>>, req: Request) -> Response {
    let query = req.uri().query().unwrap_or("");
    // `%00` is the only way a NUL gets into a query string
    if query.contains("%00") {
        return failure(&nul_refused());
    }
    let parsed = serde_urlencoded::from_str::<Q>(query)
        .and_then(|q| Ok((q, serde_urlencoded::from_str::<Page>(query)?)));
    let (q, page) = match parsed {
        Ok(p) => p,
        Err(e) => return failure(&Error::usage(format!("invalid list query: {e}"))),
    };
    if let Err(e) = page.check() {
        return failure(&e);
    }
    let claims = match bearer(&s, req.headers()) {
        Ok(Some(c)) => c,
        Ok(None) => return failure(&not_logged_in()),
        Err(a) => return api_failure(&a),
    };
    let Some(who) = employee_of(Some(&claims)) else {
        return failure(&Error::unauthenticated("the stored session is invalid"));
    };
    // fair use (spec §15): two streams per employee, half the pool for all streams, and the
    // employee's own share of the pool
    let slot = match s.fair.stream_slot(who) {
        Ok(slot) => slot,
        Err(e) => return with_employee(failure(&e), Some(who)),
    };
    let stream_turn = s.fair.stream_turn().await;
    let turn = s.fair.turn(Some(who)).await;
    let mut conn = match acquire(&s).await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    let actor = match authenticate(&s, &mut conn, Some(&claims)).await {
        Ok(Some(a)) => a,
        Ok(None) => return failure(&not_logged_in()),
        Err(resp) => return resp,
    };
    let (tx, mut rx) = mpsc::channel::<Result<Bytes>>(8);
    let idle = s.stream_idle;
    let employee = actor.id;
    let open = crate::metrics::OpenStream::start();
    tokio::spawn(async move {
        // held while the list runs, given back with its connection
        let _held = (slot, stream_turn, turn, open);
        let mut sink = ChannelSink {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            idle,
            sent: false,
            rows: 0,
            abandoned: false,
        };
        let outcome = q.run(&mut conn, &actor, page, &mut sink).await;
        match outcome {
            // no trailer: the list was not delivered whole, and the client says so
            _ if sink.abandoned => {}
            // nothing sent yet: the error gets its own status
            Err(e) if !sink.sent => {
                let _ = tx.send(Err(e)).await;
            }
            Err(e) => {
                let _ = sink.line(&Trailer::Error(ApiError::from(&e)));
                sink.flush().await;
            }
            Ok(()) => {
                let rows = sink.rows;
                let _ = sink.line(&Trailer::End { rows });
                sink.flush().await;
            }
        }
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return with_employee(failure(&e), Some(employee)),
        None => {
            return failure(&Error::internal(
                "BUG: a list ended without a word",
                anyhow::anyhow!("list"),
            ));
        }
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Some(Ok(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), rx)),
            _ => None,
        }
    });
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(first) }),
        rest,
    );
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    resp.extensions_mut().insert(EmployeeId(employee));
    resp
}

/// The client's address: the TCP peer, or, when that peer is a trusted proxy
/// (`EPICCRM_TRUSTED_PROXIES`), the nearest address in `X-Forwarded-For` that is not one.
/// The header is read from the right (the entries the trusted proxies added); an entry that
/// is not an address ends the walk at the last trusted hop, so that nothing a client wrote
/// further left is believed.
fn client_address(s: &State, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let trusted =
        |ip: &IpAddr| s.trusted_proxies.iter().any(|t| t.to_canonical() == ip.to_canonical());
    let peer = peer?.to_canonical();
    if !trusted(&peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted(&ip) => client = ip.to_canonical(),
            Ok(ip) => return Some(ip.to_canonical()),
            Err(_) => return Some(client),
        }
    }
    Some(client)
}

async fn login(Shared(s): Shared<Arc<State>>, req: Request) -> Response {
    let peer = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let source = client_address(&s, peer, req.headers());
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let request: api::Login = match decode("", "", &body) {
        Ok(r) => r,
        Err(e) => return failure(&e),
    };
    let _turn = s.fair.turn(None).await;
    let mut conn = match acquire(&s).await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    match session::login(&mut conn, &s.jwt, &request, source, s.policy).await {
        Ok((tokens, actor)) => with_employee(
            json_response(StatusCode::OK, &api::Session { tokens, employee: actor.me() }),
            Some(actor.id),
        ),
        Err(e) => failure(&e),
    }
}

async fn refresh(Shared(s): Shared<Arc<State>>, req: Request) -> Response {
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let request: api::Refresh = match decode("", "", &body) {
        Ok(r) => r,
        Err(e) => return failure(&e),
    };
    let _turn = s.fair.turn(None).await;
    let mut conn = match acquire(&s).await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    // the new pair reaches the client in the response
    match session::refresh(&mut conn, &s.jwt, &request.refresh_token, s.policy, |_| Ok(())).await {
        Ok(pair) => json_response(StatusCode::OK, &pair),
        Err(e) => failure(&e),
    }
}

async fn logout(Shared(s): Shared<Arc<State>>, req: Request) -> Response {
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let request: api::Logout = match decode("", "", &body) {
        Ok(r) => r,
        Err(e) => return failure(&e),
    };
    let _turn = s.fair.turn(None).await;
    let mut conn = match acquire(&s).await {
        Ok(c) => c,
        Err(e) => return failure(&e),
    };
    match session::logout(&mut conn, &s.jwt, &request).await {
        Ok(revoked) => json_response(StatusCode::OK, &api::LoggedOut { revoked }),
        Err(e) => failure(&e),
    }
}

/// 200 while the database answers, 503 otherwise: on a connection of its own, so that a busy
/// pool never makes a load balancer drop the server (spec §15).
async fn healthz(Shared(s): Shared<Arc<State>>) -> Response {
    match s.health.answers().await {
        true => json_response(StatusCode::OK, &serde_json::json!({ "status": "ok" })),
        false => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "status": "database unavailable" }),
        ),
    }
}

/// Errors made below the handlers (the body limit, the deadline, an unknown method) get the
/// API's JSON body too.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/"));
    if resp.status().is_success() || is_json {
        return resp;
    }
    let code = resp.status();
    let e = match code {
        StatusCode::PAYLOAD_TOO_LARGE => {
            Error::usage(format!("the request is too large ({} KiB at most)", MAX_BODY / 1024))
        }
        StatusCode::SERVICE_UNAVAILABLE => Error::unavailable("the request took too long"),
        StatusCode::METHOD_NOT_ALLOWED => Error::usage("this method is not allowed here"),
        StatusCode::NOT_FOUND => Error::not_found("no such endpoint"),
        c if c.is_client_error() => Error::usage("invalid request"),
        _ => Error::new(Kind::Internal, "unexpected server error"),
    };
    let mut out = json_response(code, &ApiError::from(&e));
    if let Some(id) = resp.extensions().get::<EmployeeId>() {
        out.extensions_mut().insert(*id);
    }
    out
}

/// One line per request on stderr: time, method, path (never the query or the body), status,
/// time to the response's start, and the employee it ran as; and the request counted in the
/// metrics by its route's template.
async fn access_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let resp = next.run(req).await;
    let who = resp.extensions().get::<EmployeeId>().map_or("-".to_owned(), |e| e.0.to_string());
    let elapsed = started.elapsed().as_secs_f64();
    crate::metrics::request(method.as_str(), &route, resp.status().as_u16(), elapsed);
    eprintln!(
        "{} {method} {path} {} {:.1}ms employee={who}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        resp.status().as_u16(),
        elapsed * 1000.0
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Endpoint;

    #[test]
    fn path_values_come_from_the_route() {
        let p = path_params("/v1/clients/{id}/reassign", "/v1/clients/12/reassign");
        assert_eq!(p, vec![("id".to_owned(), "12".to_owned())]);
        assert!(path_params("/v1/clients", "/v1/clients").is_empty());
    }

    #[test]
    fn a_request_is_its_body_and_its_path() {
        let r: api::ClientReassign = decode(
            api::ClientReassign::ROUTE,
            "/v1/clients/4/reassign",
            br#"{"sales_id": 7, "id": 99}"#,
        )
        .unwrap();
        assert_eq!((r.id, r.sales_id), (4, 7));
        let e = decode::<api::NewClient>(
            "/v1/clients",
            "/v1/clients",
            br#"{"first_name":"A","last_name":"B","email":"nope","phone":"","company_name":""}"#,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("invalid email"), "{}", e.message());
    }
}
