//! What a server counts for its operator (spec §15): requests by route template and status,
//! their latency, the database pool, the open streams, failed logins and lockouts. Served by
//! `epicevents serve` on `EPICCRM_METRICS_LISTEN` only (`GET /metrics`), in the OpenMetrics
//! text format, which Prometheus reads natively (and asks for first when it scrapes).
//!
//! The counters are the process's own (like Sentry's client, one per process): the services
//! count logins where they happen, the server counts requests where they pass. In direct
//! mode nothing reads them, and counting costs an atomic add.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    method: String,
    /// The route's template (`/v1/clients/{id}`), never the path itself: a label per id would
    /// grow without bound.
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolState {
    state: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<Request, Counter>,
    latency: Family<Route, Histogram, fn() -> Histogram>,
    pool: Family<PoolState, Gauge>,
    pool_waiting: Gauge,
    streams: Gauge,
    login_failures: Counter,
    lockouts: Counter,
}

fn build() -> Metrics {
    let mut registry = Registry::with_prefix("epicevents");
    let requests = Family::<Request, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route template and status",
        requests.clone(),
    );
    let latency: Family<Route, Histogram, fn() -> Histogram> =
        Family::new_with_constructor(latency_histogram);
    registry.register(
        "http_request_duration_seconds",
        "Time to the start of the response (for a list, to its first rows)",
        latency.clone(),
    );
    let pool = Family::<PoolState, Gauge>::default();
    registry.register(
        "db_pool_connections",
        "Database connections of the pool, in use or idle",
        pool.clone(),
    );
    let pool_waiting = Gauge::default();
    registry.register(
        "db_pool_waiting",
        "Requests waiting for a database connection",
        pool_waiting.clone(),
    );
    let streams = Gauge::default();
    registry.register("streams_open", "Lists being streamed", streams.clone());
    let login_failures = Counter::default();
    registry.register(
        "login_failures",
        "Logins whose password was checked and found wrong",
        login_failures.clone(),
    );
    let lockouts = Counter::default();
    registry.register(
        "login_lockouts",
        "Accounts locked out by their failed logins",
        lockouts.clone(),
    );
    Metrics { registry, requests, latency, pool, pool_waiting, streams, login_failures, lockouts }
}

fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(build)
}

/// A request answered: `route` is its template (or `unmatched`), `seconds` the time to the
/// start of its response.
pub fn request(method: &str, route: &str, status: u16, seconds: f64) {
    let m = get();
    m.requests
        .get_or_create(&Request {
            method: method.to_owned(),
            route: route.to_owned(),
            status: status.to_string(),
        })
        .inc();
    m.latency
        .get_or_create(&Route { method: method.to_owned(), route: route.to_owned() })
        .observe(seconds);
}

pub fn login_failed() {
    get().login_failures.inc();
}

pub fn lockout() {
    get().lockouts.inc();
}

/// Counts a list being streamed while it lives.
pub struct OpenStream(());

impl OpenStream {
    pub fn start() -> OpenStream {
        get().streams.inc();
        OpenStream(())
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        get().streams.dec();
    }
}

/// Counts a request waiting for a database connection while it lives.
pub struct Waiting(());

impl Waiting {
    pub fn start() -> Waiting {
        get().pool_waiting.inc();
        Waiting(())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        get().pool_waiting.dec();
    }
}

/// Everything, in the OpenMetrics text format; the pool's gauges read now.
pub fn render(in_use: u32, idle: u32) -> String {
    let m = get();
    m.pool.get_or_create(&PoolState { state: "in_use" }).set(i64::from(in_use));
    m.pool.get_or_create(&PoolState { state: "idle" }).set(i64::from(idle));
    let mut out = String::new();
    // writing into a String cannot fail
    let _ = prometheus_client::encoding::text::encode(&mut out, &m.registry);
    out
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_and_labels_requests_by_template() {
        request("GET", "/v1/clients/{id}", 200, 0.004);
        login_failed();
        let _s = OpenStream::start();
        let text = render(3, 2);
        for name in [
            "epicevents_http_requests_total{method=\"GET\",route=\"/v1/clients/{id}\",status=\"200\"}",
            "epicevents_http_request_duration_seconds_bucket{",
            "epicevents_db_pool_connections{state=\"in_use\"} 3",
            "epicevents_db_pool_connections{state=\"idle\"} 2",
            "epicevents_db_pool_waiting ",
            "epicevents_streams_open ",
            "epicevents_login_failures_total ",
            "epicevents_login_lockouts_total ",
            "# EOF",
        ] {
            assert!(text.contains(name), "{name} missing in:\n{text}");
        }
    }
}
