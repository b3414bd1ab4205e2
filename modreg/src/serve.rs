//! `modreg serve`: `/metrics` (Prometheus), `/health` (JSON), `/` (a dashboard that refreshes
//! itself) and `POST /run/<pipeline>` to drive load through plugins.
//!
//! Written as if the network were hostile (the threat model is in `docs/security.md`):
//!
//! - every request's `Host` must be one the server answers to (its own address,
//!   `localhost:PORT`, and `--allow-host`): a web page that rebinds a DNS name to loopback
//!   gets 421;
//! - `POST /run` needs `Authorization: Bearer <token>` (from `--token` or `MODREG_TOKEN`, else
//!   generated at start and printed): no other local process or cross-site form can use the
//!   configured plugins, a decryption key among them;
//! - limits with defaults, all failing closed: request body (`--max-body-bytes`, 413), each
//!   pipeline stage's output (`--max-output-bytes`, 413), time to send headers (408 or a
//!   closed connection) and to read the body and run the pipeline (`--request-timeout-ms`,
//!   408/503), connections at once (`--max-connections`; more are closed at accept), and
//!   pipelines running at once (a small blocking pool);
//! - requests are served concurrently (tokio, hyper): a client that stalls mid-body or never
//!   reads its reply holds its own connection only;
//! - `/health` answers 503 when a plugin is unhealthy.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use modreg::{
    AdvancedPluginMonitoringConfig, HealthMonitor, HealthReport, HealthStatus, ModuleRegistry,
    PluginAccessControlConfig, PluginErrorKind, PluginHealthMonitoringConfig,
};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::CliError;

/// How the server listens and what it allows.
#[derive(Debug)]
pub struct Options {
    /// The address to listen on.
    pub addr: String,
    /// Time between background health checks.
    pub health_interval: Duration,
    /// The bearer token `POST /run` needs; generated and printed when `None`.
    pub token: Option<String>,
    /// `Host` values answered besides the bound address and `localhost:PORT`.
    pub allowed_hosts: Vec<String>,
    /// The largest request body.
    pub max_body_bytes: usize,
    /// The largest output of any pipeline stage.
    pub max_output_bytes: usize,
    /// The longest a request may take to send its body and run its pipeline.
    pub request_timeout: Duration,
    /// The longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Connections served at once; more are closed when accepted.
    pub max_connections: usize,
    /// A directory of WebAssembly plugin modules watched for changes (hot reload).
    pub plugin_dir: Option<std::path::PathBuf>,
    /// Time between looks at `plugin_dir`.
    pub reload_interval: Duration,
}

/// Pipelines run at once on the blocking pool; more wait for a place.
const MAX_RUNNING_PIPELINES: usize = 8;

struct Shared {
    registry: Arc<ModuleRegistry>,
    token: String,
    allowed_hosts: Vec<String>,
    max_body_bytes: usize,
    max_output_bytes: usize,
    request_timeout: Duration,
}

/// Runs the server until the process is stopped.
pub fn serve(registry: ModuleRegistry, options: Options) -> Result<(), CliError> {
    registry.configure_advanced_plugin_monitoring(
        AdvancedPluginMonitoringConfig::new()
            .with_plugin_metrics(true)
            .with_performance_metrics(true)
            .with_security_metrics(true)
            .with_health_metrics(true),
    )?;
    registry.configure_plugin_health_monitoring(
        PluginHealthMonitoringConfig::new()
            .with_plugin_health_checks(true)
            .with_plugin_health_metrics(true)
            .with_plugin_health_dashboard(true),
    )?;
    registry.configure_plugin_access_control(
        PluginAccessControlConfig::new().with_access_monitoring(true),
    )?;
    let registry = Arc::new(registry);
    registry.run_health_checks()?;
    let _monitor = HealthMonitor::start(registry.clone(), options.health_interval);
    // New, changed and removed modules are picked up without a restart; a module that fails
    // to load or verify is refused while the version before it keeps serving.
    let _watcher = options
        .plugin_dir
        .as_ref()
        .map(|dir| registry.watch_wasm_plugins(dir, options.reload_interval));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_RUNNING_PIPELINES)
        .build()
        .map_err(CliError::io("the server's runtime"))?;
    runtime.block_on(listen(registry, options))
}

async fn listen(registry: Arc<ModuleRegistry>, options: Options) -> Result<(), CliError> {
    let listener = tokio::net::TcpListener::bind(&options.addr)
        .await
        .map_err(|e| CliError::Usage {
            what: "address",
            value: options.addr.clone(),
            reason: e.to_string(),
        })?;
    let bound = listener
        .local_addr()
        .map_err(CliError::io("the listening socket"))?;
    let (token, generated) = match options.token {
        Some(token) => (token, false),
        None => (generate_token()?, true),
    };
    println!("listening on http://{bound}");
    if generated {
        println!("token {token}");
    }
    tracing::info!(address = %bound, "serving");
    let shared = Arc::new(Shared {
        registry,
        token,
        allowed_hosts: allowed_hosts(bound, options.allowed_hosts),
        max_body_bytes: options.max_body_bytes,
        max_output_bytes: options.max_output_bytes,
        request_timeout: options.request_timeout,
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/", get(page))
        .route("/run/{pipeline}", post(run))
        .layer(middleware::from_fn_with_state(shared.clone(), check_host))
        .layer(DefaultBodyLimit::max(options.max_body_bytes))
        .with_state(shared);
    let connections = Arc::new(Semaphore::new(options.max_connections));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // At capacity, a new connection is closed rather than queued.
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection refused: at --max-connections");
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        let header_timeout = options.header_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024);
            if let Err(error) = http.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%peer, %error, "connection ended");
            }
        });
    }
}

/// 32 random bytes as hex.
fn generate_token() -> Result<String, CliError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CliError::Io {
        what: "the random source for a token",
        source: std::io::Error::other(e),
    })?;
    Ok(bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    }))
}

/// The `Host` values answered: the bound address, `localhost` at its port, and `extra`.
fn allowed_hosts(bound: SocketAddr, extra: Vec<String>) -> Vec<String> {
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

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.registry.prometheus_text(),
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
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        dashboard(&shared.registry),
    )
        .into_response()
}

async fn run(
    State(shared): State<Arc<Shared>>,
    Path(pipeline): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
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
    if !authorized(&headers, &shared.token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "POST /run needs `Authorization: Bearer <token>`\n",
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
            Ok(Err(_)) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the body is over the limit of {} bytes, or was cut off\n",
                        shared.max_body_bytes
                    ),
                )
                    .into_response();
            }
            Ok(Ok(bytes)) => bytes.to_vec(),
        };
    let job = {
        let shared = shared.clone();
        tokio::task::spawn_blocking(move || {
            crate::run_pipeline_on(&shared.registry, &pipeline, input, shared.max_output_bytes)
        })
    };
    match tokio::time::timeout_at(deadline, job).await {
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the pipeline did not finish in time\n",
        )
            .into_response(),
        Ok(Err(_)) => (StatusCode::INTERNAL_SERVER_ERROR, "the pipeline failed\n").into_response(),
        Ok(Ok(Ok(output))) => output.into_response(),
        Ok(Ok(Err(error))) if matches!(error.kind(), PluginErrorKind::TooLarge { .. }) => {
            (StatusCode::PAYLOAD_TOO_LARGE, format!("{error}\n")).into_response()
        }
        Ok(Ok(Err(error))) => (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The dashboard: one row per plugin with its health and key metrics; refreshes every 2 s.
fn dashboard(registry: &ModuleRegistry) -> String {
    let report = registry.health_report();
    let mut rows = String::new();
    for info in registry.plugins() {
        let name = info.name();
        let health = report
            .as_ref()
            .and_then(|r| r.plugins.get(name).cloned())
            .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
        let class = health.split(':').next().unwrap_or("unknown").to_owned();
        let metrics = registry.plugin_metrics(name).unwrap_or_default();
        let p99 = metrics
            .latency_quantile(0.99)
            .map_or_else(|| "-".to_owned(), |d| format!("{d:?}"));
        let _ = writeln!(
            rows,
            "<tr data-plugin=\"{n}\"><td>{n}</td><td>{t}</td><td>{v}</td><td class=\"{class}\">{h}</td>\
             <td class=\"calls\">{c}</td><td>{e}</td><td>{bi}</td><td>{bo}</td><td>{p99}</td></tr>",
            n = escape(name),
            t = info.plugin_type(),
            v = escape(info.version()),
            h = escape(&health),
            c = metrics.calls,
            e = metrics.errors,
            bi = metrics.bytes_in,
            bo = metrics.bytes_out,
        );
    }
    let overall = report.map_or(HealthStatus::Degraded("no check yet".to_owned()), |r| {
        r.overall
    });
    format!(
        "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"2\">
<title>modreg: {count} plugins</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.8em; text-align: left; }}
.healthy {{ color: #080; }} .degraded {{ color: #a60; }} .unhealthy {{ color: #c00; }}
</style></head>
<body>
<h1>modreg</h1>
<p id=\"overall\" class=\"{overall_class}\">Overall: {overall}</p>
<table id=\"plugins\">
<tr><th>plugin</th><th>type</th><th>version</th><th>health</th><th>calls</th><th>errors</th><th>bytes in</th><th>bytes out</th><th>p99</th></tr>
{rows}</table>
<p><a href=\"/metrics\">/metrics</a> · <a href=\"/health\">/health</a></p>
</body></html>
",
        count = registry.plugins().len(),
        overall_class = overall.label(),
        overall = escape(&overall.to_string()),
    )
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
}
