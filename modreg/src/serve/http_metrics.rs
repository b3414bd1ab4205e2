//! The server's own metrics in `/metrics`: HTTP requests by route, method and status, their
//! latency, requests in flight, the process (see `process.rs`) and build info. Recorded by a
//! middleware around every route, so refused requests (421, 401, 503) count too.
//!
//! Labels come from a closed set, so a hostile client cannot grow them: the route is the
//! router's pattern (`/run/{pipeline}`, not the path asked for) or `unmatched`, the method one
//! of the standard ones or `other`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use super::process::{self, ProcessStats};

type Labels = Vec<(&'static str, String)>;

/// The server's metrics.
pub(crate) struct HttpMetrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    /// Connections closed at accept: every slot (`--max-connections`) taken.
    pub(crate) connections_refused: Counter,
    /// Accepts that failed (out of descriptors, most often).
    pub(crate) accept_failures: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s, each bucket four times the one before.
    Histogram::new(exponential_buckets(0.0005, 4.0, 8))
}

impl HttpMetrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let latency =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        let connections_refused = Counter::default();
        let accept_failures = Counter::default();
        registry.register(
            "modreg_http_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "modreg_http_request_duration_seconds",
            "time from a request's arrival to its reply's headers, by route",
            latency.clone(),
        );
        registry.register(
            "modreg_http_requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        registry.register(
            "modreg_http_connections_refused",
            "connections closed at accept: every slot (--max-connections) taken",
            connections_refused.clone(),
        );
        registry.register(
            "modreg_http_accept_failures",
            "accepts of a connection that failed (out of descriptors, most often); the connection waits in the listen queue",
            accept_failures.clone(),
        );
        registry.register(
            "modreg_build",
            "the modreg binary serving",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                (
                    "profile",
                    if cfg!(debug_assertions) {
                        "debug"
                    } else {
                        "release"
                    },
                ),
            ]),
        );
        registry.register_collector(Box::new(Process));
        HttpMetrics {
            registry,
            requests,
            latency,
            in_flight,
            connections_refused,
            accept_failures,
        }
    }

    /// The metrics in the text format, without the closing `# EOF` (the caller adds its
    /// own after everything else).
    pub(crate) fn text(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &self.registry);
        text
    }
}

/// A method label from a closed set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// The middleware: counts and times every request.
pub(crate) async fn record(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    // Counted down when the request ends however it ends: a client that goes away drops this
    // future before it completes.
    let _in_flight = InFlight::enter(&metrics.in_flight);
    let response = next.run(request).await;
    metrics
        .latency
        .get_or_create(&vec![("route", route.clone())])
        .observe(start.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&vec![
            ("route", route),
            ("method", method.to_owned()),
            ("status", response.status().as_u16().to_string()),
        ])
        .inc();
    response
}

/// One request in the in-flight gauge, for as long as it lives.
struct InFlight<'a>(&'a Gauge);

impl<'a> InFlight<'a> {
    fn enter(gauge: &'a Gauge) -> Self {
        gauge.inc();
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The process metrics, read at scrape time.
#[derive(Debug)]
struct Process;

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let ProcessStats {
            resident_bytes,
            virtual_bytes,
            cpu_seconds,
            threads,
            open_fds,
            max_fds,
            start_time_seconds,
        } = process::stats();
        let gauges = [
            (
                "process_resident_memory_bytes",
                "resident memory size in bytes",
                resident_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "virtual memory size in bytes",
                virtual_bytes,
            ),
            ("process_threads", "OS threads of the process", threads),
            ("process_open_fds", "open file descriptors", open_fds),
            (
                "process_max_fds",
                "the most open file descriptors allowed",
                max_fds,
            ),
            (
                "process_start_time_seconds",
                "start time of the process since the Unix epoch, in seconds",
                start_time_seconds,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value {
                let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
                gauge.encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)?;
            }
        }
        if let Some(seconds) = cpu_seconds {
            let counter = ConstCounter::new(seconds);
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "user and system CPU time spent, in seconds",
                None,
                MetricType::Counter,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::{HttpMetrics, record};

    /// A client choosing paths and methods cannot add label values: unknown routes are
    /// `unmatched`, unknown methods `other`.
    #[tokio::test]
    async fn labels_come_from_a_closed_set() {
        let metrics = Arc::new(HttpMetrics::new());
        let app = Router::new()
            .route("/run/{pipeline}", get(|| async { "ran" }))
            .layer(axum::middleware::from_fn_with_state(
                metrics.clone(),
                record,
            ));
        for (method, path) in [
            ("GET", "/run/a-b-c"),
            ("GET", "/run/x-y-z"),
            ("BREW", "/coffee-pot-7f3a"),
            ("GET", "/unknown-path-1234"),
        ] {
            let request = Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let text = metrics.text();
        assert!(
            text.contains(
                "modreg_http_requests_total{route=\"/run/{pipeline}\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "modreg_http_requests_total{route=\"unmatched\",method=\"other\",status=\"404\"} 1"
            ),
            "{text}"
        );
        for chosen in ["a-b-c", "coffee", "BREW", "unknown-path"] {
            assert!(!text.contains(chosen), "{chosen} in {text}");
        }
        assert!(text.contains("modreg_http_requests_in_flight 0"), "{text}");
    }

    /// A request whose client went away (its future dropped before it completed) leaves the
    /// in-flight gauge.
    #[tokio::test]
    async fn an_abandoned_request_leaves_the_in_flight_gauge() {
        let metrics = Arc::new(HttpMetrics::new());
        let app = Router::new()
            .route("/slow", get(std::future::pending::<&str>))
            .layer(axum::middleware::from_fn_with_state(
                metrics.clone(),
                record,
            ));
        let request = Request::builder().uri("/slow").body(Body::empty()).unwrap();
        let abandoned =
            tokio::time::timeout(std::time::Duration::from_millis(50), app.oneshot(request)).await;
        assert!(abandoned.is_err(), "the request never answers");
        let text = metrics.text();
        assert!(text.contains("modreg_http_requests_in_flight 0"), "{text}");
    }
}
