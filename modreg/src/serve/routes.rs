//! What the server answers: `/metrics`, `/health`, `/` (with `/dashboard.js`,
//! `/dashboard.css` and `/api/dashboard`) and `POST /run/<pipeline>`, behind the `Host` check,
//! the access log and the HTTP metrics.
//!
//! `/run` is the only route that does real work, so only it needs the token (checked before
//! its queue, with a declared body length: a request refused anyway never takes a place
//! there) and only it sheds load: at most
//! `--max-running-pipelines` run at once on the blocking pool, at most `--max-queued-runs`
//! wait for a place, and one more is answered 503 at once (tower's `ConcurrencyLimit`,
//! `Buffer` and `LoadShed`). A queued request counts its wait against its time limit. `/health`
//! and `/metrics` never wait behind `/run`.
//!
//! A pipeline that outlives its request (its deadline passed, or its client went away) is
//! told to stop: it checks before each stage, and a plugin that listens for cancellation
//! (`modreg::cancel`; the bundled compressors and decompressors do, between 256 KiB chunks)
//! stops inside its call, so a long pipeline ends within a chunk of its deadline rather than
//! running on with nobody to answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use modreg::{HealthReport, HealthStatus, ModuleRegistry, PluginErrorKind};
use subtle::ConstantTimeEq;
use tower::{BoxError, ServiceBuilder};
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};

use super::drain::{self, DrainLimits};
use super::history::History;
use super::http_metrics::{self, HttpMetrics};
use super::reply::ReplyBudget;

/// What every handler reads.
pub(crate) struct Shared {
    pub(crate) registry: Arc<ModuleRegistry>,
    pub(crate) token: String,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_output_bytes: usize,
    pub(crate) request_timeout: Duration,
    pub(crate) replies: ReplyBudget,
    pub(crate) history: Arc<History>,
    pub(crate) http: Arc<HttpMetrics>,
}

/// How many `/run` requests run and wait at once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunQueue {
    pub(crate) running: usize,
    pub(crate) queued: usize,
}

/// The routes, their limits and the access log. Must be called inside the runtime: the
/// queue's worker is a task.
pub(crate) fn app(shared: Arc<Shared>, queue: RunQueue) -> Router {
    let run_route = post(run).layer(
        ServiceBuilder::new()
            // Before the queue: a request refused anyway never takes a place in it.
            .layer(middleware::from_fn_with_state(shared.clone(), admit))
            .layer(HandleErrorLayer::new(refused))
            .timeout(shared.request_timeout)
            .load_shed()
            .buffer(queue.queued.max(1))
            .concurrency_limit(queue.running),
    );
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/", get(page))
        .route("/api/dashboard", get(dashboard_state))
        .route("/dashboard.js", get(script))
        .route("/dashboard.css", get(style))
        .route("/run/{pipeline}", run_route)
        .layer(middleware::from_fn_with_state(shared.clone(), check_host))
        // Outside the `Host` check: refused requests count too.
        .layer(middleware::from_fn_with_state(
            shared.http.clone(),
            http_metrics::record,
        ))
        .layer(DefaultBodyLimit::max(shared.max_body_bytes))
        // Outside every answer that comes before the body is read (the `Host` check, the
        // token, the queue): the rest is read before the answer goes.
        .layer(middleware::from_fn_with_state(
            DrainLimits {
                max_bytes: shared.max_body_bytes,
                within: shared.request_timeout,
            },
            drain::unread_body,
        ))
        // The access log: one INFO event per request (method, path, status, latency); shown
        // with `MODREG_LOG=info`. Paths are logged as hyper parsed them, which has no control
        // characters, and text logs escape what is left. A 5xx is in that event too, not in
        // an ERROR of its own: a 503 for shed load is the server working as meant.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                .on_failure(()),
        )
        .with_state(shared)
}

/// A `/run` request the queue or the clock turned away.
async fn refused(error: BoxError) -> Response {
    if error.is::<tower::load_shed::error::Overloaded>() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "the server is running and queueing as many pipelines as it may; retry later\n",
        )
            .into_response()
    } else if error.is::<tower::timeout::error::Elapsed>() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the pipeline did not finish in time\n",
        )
            .into_response()
    } else {
        tracing::error!(%error, "the run queue failed");
        (StatusCode::INTERNAL_SERVER_ERROR, "the run queue failed\n").into_response()
    }
}

/// The `Host` values answered: the bound address, `localhost` at its port, and `extra`.
pub(crate) fn allowed_hosts(bound: SocketAddr, extra: Vec<String>) -> Vec<String> {
    let mut hosts = vec![bound.to_string(), format!("localhost:{}", bound.port())];
    hosts.extend(extra);
    hosts
}

async fn check_host(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    // Exactly one `Host`: with two, a proxy and this server could each read another.
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().ok(),
        _ => None,
    };
    // An absolute-form target (`GET http://other.example/ HTTP/1.1`) names an authority of
    // its own: it must be the `Host` too.
    let allowed = host.is_some_and(|host| {
        request
            .uri()
            .authority()
            .is_none_or(|authority| authority.as_str().eq_ignore_ascii_case(host))
            && shared
                .allowed_hosts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(host))
    });
    if allowed {
        next.run(request).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            "this server does not answer to that Host\n",
        )
            .into_response()
    }
}

/// What `POST /run` checks before its queue: `Authorization: Bearer <token>` (401 without
/// it), and a body declared over `--max-body-bytes` (413, before a byte of it is read).
async fn admit(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if !authorized(request.headers(), &shared.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "POST /run needs `Authorization: Bearer <token>`\n",
        )
            .into_response();
    }
    if drain::declares_over(&request, shared.max_body_bytes) {
        return too_large(&shared);
    }
    next.run(request).await
}

/// 413: the body is (or would be) over `--max-body-bytes`.
fn too_large(shared: &Shared) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the body is over the limit of {} bytes, or was cut off\n",
            shared.max_body_bytes
        ),
    )
        .into_response()
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    // The registry's metrics, then the server's, then one `# EOF`.
    let mut text = shared.registry.prometheus_text();
    if let Some(body) = text.strip_suffix("# EOF\n") {
        text.truncate(body.len());
    }
    text.push_str(&shared.http.text());
    text.push_str("# EOF\n");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// 200 while no plugin is unhealthy (degraded included), 503 otherwise or before the first
/// check.
fn health_status(report: Option<&HealthReport>) -> StatusCode {
    match report.map(|r| &r.overall) {
        Some(HealthStatus::Healthy | HealthStatus::Degraded(_)) => StatusCode::OK,
        Some(HealthStatus::Unhealthy(_)) | None => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn health(State(shared): State<Arc<Shared>>) -> Response {
    let report = shared.registry.health_report();
    let body = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "null".to_owned());
    (
        health_status(report.as_ref()),
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn page(State(shared): State<Arc<Shared>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                super::dashboard::CONTENT_SECURITY_POLICY,
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        super::dashboard::page(&shared.registry, &shared.history),
    )
        .into_response()
}

async fn dashboard_state(State(shared): State<Arc<Shared>>) -> Response {
    let state = super::dashboard::state(&shared.registry, &shared.history);
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::to_string(&state).unwrap_or_else(|_| "null".to_owned()),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        super::dashboard::SCRIPT,
    )
        .into_response()
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        super::dashboard::STYLE,
    )
        .into_response()
}

/// Tells a pipeline to stop when the request it serves is over, however it ends.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The most bytes of an error message sent back: a plugin's error text is the plugin's (a
/// guest's may be megabytes), the reply is ours.
const MAX_ERROR_BYTES: usize = 4096;

/// `error` as a reply body of at most [`MAX_ERROR_BYTES`], cut at a character boundary.
fn error_body(error: &impl std::fmt::Display) -> String {
    let mut text = error.to_string();
    if text.len() > MAX_ERROR_BYTES {
        let mut end = MAX_ERROR_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" [cut]");
    }
    text.push('\n');
    text
}

async fn run(
    State(shared): State<Arc<Shared>>,
    Path(pipeline): Path<String>,
    uri: axum::http::Uri,
    body: Body,
) -> Response {
    // Plugin names never need percent-encoding; decoded, `%2C` would become a separator.
    if uri.path().contains('%') {
        return (
            StatusCode::BAD_REQUEST,
            "plugin names in /run/ are not percent-encoded; separate them with a plain `,`\n",
        )
            .into_response();
    }
    let deadline = tokio::time::Instant::now() + shared.request_timeout;
    let input =
        match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, shared.max_body_bytes))
            .await
        {
            Err(_) => {
                return (StatusCode::REQUEST_TIMEOUT, "the body took too long\n").into_response();
            }
            Ok(Err(_)) => return too_large(&shared),
            Ok(Ok(bytes)) => bytes.to_vec(),
        };
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_when_over = StopOnDrop(Arc::clone(&stop));
    let job = {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            // Plugins that listen (`modreg::cancel`) stop inside their call too.
            modreg::cancel::with_cancellation(&stop, || {
                crate::pipeline::run_buffered(
                    &shared.registry,
                    &pipeline,
                    input,
                    shared.max_output_bytes,
                    &|| stop.load(Ordering::Relaxed),
                )
            })
        })
    };
    match tokio::time::timeout_at(deadline, job).await {
        Err(_) | Ok(Ok(Ok(None))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the pipeline did not finish in time\n",
        )
            .into_response(),
        Ok(Err(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "the pipeline failed\n").into_response(),
        Ok(Ok(Ok(Some(output)))) => shared.replies.reply(output),
        Ok(Ok(Err(error))) if matches!(error.kind(), PluginErrorKind::TooLarge { .. }) => {
            (StatusCode::PAYLOAD_TOO_LARGE, error_body(&error)).into_response()
        }
        Ok(Ok(Err(error))) => (StatusCode::BAD_REQUEST, error_body(&error)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(overall: HealthStatus) -> HealthReport {
        HealthReport::new(
            std::collections::BTreeMap::from([("p".to_owned(), overall)]),
            0,
        )
    }

    #[test]
    fn health_is_503_when_unhealthy_or_unchecked() {
        assert_eq!(
            health_status(Some(&report(HealthStatus::Healthy))),
            StatusCode::OK
        );
        assert_eq!(
            health_status(Some(&report(HealthStatus::Degraded(
                "not configured".into()
            )))),
            StatusCode::OK
        );
        assert_eq!(
            health_status(Some(&report(HealthStatus::Unhealthy("x".into())))),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(health_status(None), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn the_token_is_compared_whole() {
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, "secret"));
        headers.insert(header::AUTHORIZATION, "Bearer secre".parse().unwrap());
        assert!(!authorized(&headers, "secret"));
        headers.insert(header::AUTHORIZATION, "Bearer secret".parse().unwrap());
        assert!(authorized(&headers, "secret"));
        headers.insert(header::AUTHORIZATION, "Basic secret".parse().unwrap());
        assert!(!authorized(&headers, "secret"));
    }

    #[test]
    fn error_bodies_are_capped_at_a_character_boundary() {
        let long = "é".repeat(10_000);
        let body = error_body(&long);
        assert!(body.len() <= MAX_ERROR_BYTES + " [cut]\n".len());
        assert!(body.ends_with(" [cut]\n"));
        assert_eq!(error_body(&"short"), "short\n");
    }
}
