//! `modreg serve`: `/metrics` (Prometheus: the plugins', the server's HTTP requests, the
//! process, build info), `/health` (JSON), `/` (a live dashboard with charts) and
//! `POST /run/<pipeline>` to drive load through plugins.
//!
//! Health is judged by behaviour as well as by what plugins say: a plugin failing more than
//! `--unhealthy-error-ratio` of its calls over the last minute is unhealthy, one whose p99
//! latency is over `--degraded-p99-ms` degraded (on the page, in `/health` and in
//! `/metrics`).
//!
//! Written as if the network were hostile (the threat model is in `docs/security.md`):
//!
//! - every request's `Host` must be one the server answers to (its own address,
//!   `localhost:PORT`, and `--allow-host`): a web page that rebinds a DNS name to loopback
//!   gets 421 (`routes.rs`);
//! - `POST /run` needs `Authorization: Bearer <token>` (from `--token` or `MODREG_TOKEN`, else
//!   generated at start and printed): no other local process or cross-site form can use the
//!   configured plugins, a decryption key among them;
//! - every connection is timed (headers, idle reads, stalled writes) and capped in requests,
//!   so a client that stalls, trickles or never reads its replies gives its slot back
//!   (`connection.rs`); one past `--max-connections` is closed at accept, counted, and logged
//!   at most once every 10 s, so a flood of connections cannot fill the log; so is an accept
//!   that failed (out of descriptors), after which the server waits 50 ms (`throttle.rs`);
//! - `/run` runs a bounded number of pipelines, queues a bounded number more and answers 503
//!   at once past that; a pipeline whose request is over stops before its next stage
//!   (`routes.rs`);
//! - replies held for clients share one memory budget, 503 past it (`reply.rs`);
//! - an answer given before the body was read (a shed request, a missing token) waits until
//!   the rest of the body is read, up to `--max-body-bytes` and `--request-timeout-ms`, so a
//!   client that writes its whole request before reading gets it (`drain.rs`);
//! - limits with defaults, all failing closed: request body (`--max-body-bytes`, 413), each
//!   pipeline stage's output (`--max-output-bytes`, 413), error texts (4 KiB);
//! - SIGTERM or SIGINT stops accepting, lets requests in flight finish for
//!   `--shutdown-grace-ms`, and exits 0.

pub(crate) mod args;
mod connection;
mod dashboard;
mod drain;
mod history;
mod http_metrics;
mod process;
mod reply;
mod routes;
mod throttle;

use std::sync::Arc;
use std::time::Duration;

use hyper_util::server::graceful::GracefulShutdown;
use modreg::{
    AdvancedPluginMonitoringConfig, HealthMonitor, HealthRules, ModuleRegistry,
    PluginAccessControlConfig, PluginHealthMonitoringConfig,
};
use tokio::sync::Semaphore;

use crate::error::CliError;

use self::connection::Limits;
use self::routes::RunQueue;

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
    /// The longest a `/run` request may take, from its arrival (queue included) to its reply.
    pub request_timeout: Duration,
    /// Per-connection timeouts and the request cap.
    pub limits: Limits,
    /// Connections served at once; more are closed when accepted.
    pub max_connections: usize,
    /// Pipelines run and queued at once.
    pub queue: RunQueue,
    /// Reply bytes held for clients at once, across every connection.
    pub max_reply_memory_bytes: usize,
    /// How long requests in flight may take to finish after SIGTERM or SIGINT.
    pub shutdown_grace: Duration,
    /// A directory of WebAssembly plugin modules watched for changes (hot reload).
    pub plugin_dir: Option<std::path::PathBuf>,
    /// Time between looks at `plugin_dir`.
    pub reload_interval: Duration,
    /// How health checks judge plugins by their calls.
    pub health_rules: HealthRules,
}

/// Runs the server until SIGTERM or SIGINT.
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
            .with_plugin_health_dashboard(true)
            .with_health_rules(options.health_rules.clone()),
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
        // Room beyond the running limit for pipelines that were told to stop and are
        // finishing their current stage.
        .max_blocking_threads(options.queue.running * 2)
        .build()
        .map_err(CliError::io("the server's runtime"))?;
    let grace = options.shutdown_grace;
    let served = runtime.block_on(listen(registry, options));
    // Pipelines still finishing a stage get the same grace, then are left behind.
    runtime.shutdown_timeout(grace);
    served
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
    let stop = stop_signal();
    let (token, generated) = match options.token {
        Some(token) => (token, false),
        None => (generate_token()?, true),
    };
    println!("listening on http://{bound}");
    if generated {
        println!("token {token}");
    }
    tracing::info!(address = %bound, "serving");
    let shared = Arc::new(routes::Shared {
        registry,
        token,
        allowed_hosts: routes::allowed_hosts(bound, options.allowed_hosts),
        max_body_bytes: options.max_body_bytes,
        max_output_bytes: options.max_output_bytes,
        request_timeout: options.request_timeout,
        replies: reply::ReplyBudget::new(options.max_reply_memory_bytes),
        history: Arc::default(),
        http: Arc::new(http_metrics::HttpMetrics::new()),
    });
    // The dashboard's charts: a point per plugin every second.
    let sampler = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(history::EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                shared.history.sample(&shared.registry);
            }
        })
    };
    let mut accepts = throttle::AcceptLog::new(shared.http.clone());
    let app = routes::app(shared, options.queue);
    let connections = Arc::new(Semaphore::new(options.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        // Woken when a line is due about refusals or failures after the last one.
        let due = accepts.due();
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = async {
                match due {
                    Some(due) => tokio::time::sleep_until(due.into()).await,
                    None => std::future::pending().await,
                }
            } => {
                accepts.flush(std::time::Instant::now());
                continue;
            }
            () = &mut stop => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, most often: wait for connections to close. The
                // connection waits in the listen queue meanwhile; it is not lost.
                accepts.failed(&error);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // At capacity, a new connection is closed rather than queued.
        let Ok(slot) = connections.clone().try_acquire_owned() else {
            drop(stream);
            accepts.refused(peer);
            continue;
        };
        tokio::spawn(connection::serve(
            stream,
            peer,
            app.clone(),
            options.limits,
            slot,
            graceful.watcher(),
        ));
    }
    drop(listener);
    sampler.abort();
    tracing::info!(
        open = graceful.count(),
        "stopping: no new connections; requests in flight may finish"
    );
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace are closed");
    }
    Ok(())
}

/// A future that resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM. The handlers are
/// installed here, before the server says it listens: a signal sent as soon as it does is
/// caught, not left to its default action.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (term, int) => {
                if let Some(error) = term.err().or(int.err()) {
                    tracing::warn!(%error, "signals cannot be caught; the server stops only when killed");
                }
                std::future::pending::<()>().await;
            }
        }
    }
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
async fn stop_signal() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "Ctrl-C cannot be caught; the server stops only when killed");
        std::future::pending::<()>().await;
    }
}

/// 32 random bytes as hex.
fn generate_token() -> Result<String, CliError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| CliError::Io {
        what: "the random source for a token",
        source: std::io::Error::other(e),
    })?;
    Ok(hex::encode(bytes))
}
