//! The options of `modreg serve`, and the rules they must keep before the server starts.

use std::time::Duration;

use modreg::HealthRules;

use super::Options;
use super::connection::Limits;
use super::routes::RunQueue;
use crate::error::CliError;

/// `modreg serve`'s options (`modreg serve --help`).
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// The address to listen on; loopback by default.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) addr: String,
    /// Milliseconds between background health checks.
    #[arg(long, default_value_t = 1000)]
    pub(crate) health_interval_ms: u64,
    /// A TOML file with `[plugins.NAME]` settings.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// The bearer token `POST /run` needs; else `MODREG_TOKEN`, else one is generated and
    /// printed at start.
    #[arg(long, env = "MODREG_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Another `Host` to answer to (the bound address and `localhost:PORT` always are).
    #[arg(long = "allow-host", value_name = "HOST:PORT")]
    pub(crate) allow_host: Vec<String>,
    /// The largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 8 << 20)]
    pub(crate) max_body_bytes: usize,
    /// The largest output of any pipeline stage, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::DEFAULT_MAX_OUTPUT_BYTES)]
    pub(crate) max_output_bytes: usize,
    /// Milliseconds a `/run` request may take from its arrival (its wait in the queue
    /// included) to its reply; a pipeline still running then is told to stop.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) request_timeout_ms: u64,
    /// Milliseconds a client may take to send a request's headers.
    #[arg(long, default_value_t = 5_000)]
    pub(crate) header_timeout_ms: u64,
    /// Milliseconds a connection may wait for a client to send anything (the next
    /// request, more of a body) before it is closed; at least `--request-timeout-ms`.
    #[arg(long, default_value_t = 30_000)]
    pub(crate) idle_timeout_ms: u64,
    /// Milliseconds a reply may wait for its client to read before the connection is
    /// closed.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) write_timeout_ms: u64,
    /// Requests served on one connection (pipelined or not); the last reply closes it.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) max_requests_per_connection: usize,
    /// Connections served at once; more are closed.
    #[arg(long, default_value_t = 512)]
    pub(crate) max_connections: usize,
    /// Pipelines run at once; more wait in the queue.
    #[arg(long, default_value_t = 8)]
    pub(crate) max_running_pipelines: usize,
    /// Pipelines waiting for a place; more are answered 503 at once.
    #[arg(long, default_value_t = 64)]
    pub(crate) max_queued_runs: usize,
    /// Reply bytes held for clients at once, across every connection; a reply past it
    /// is answered 503.
    #[arg(long, value_name = "BYTES", default_value_t = 512 << 20)]
    pub(crate) max_reply_memory_bytes: usize,
    /// Milliseconds requests in flight may take to finish after SIGTERM or SIGINT.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) shutdown_grace_ms: u64,
    /// Milliseconds between looks at `--plugin-dir` for new, changed and removed modules,
    /// besides the file notifications that reload at once (or instead of them, where the
    /// platform gives none).
    #[arg(long, default_value_t = 1000)]
    pub(crate) reload_interval_ms: u64,
    /// A plugin failing more than this fraction of its calls over the last minute (with at
    /// least 10 calls) is unhealthy; 1 turns the rule off.
    #[arg(long, value_name = "RATIO", default_value_t = 0.5)]
    pub(crate) unhealthy_error_ratio: f64,
    /// A plugin whose p99 latency over the last minute is over this many milliseconds is
    /// degraded.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub(crate) degraded_p99_ms: u64,
}

impl ServeArgs {
    /// The server's options, or the first rule an option breaks: zero intervals, timeouts,
    /// caps and budgets are refused (a zero interval would spin a core, a zero cap refuse
    /// everything), as is an idle timeout shorter than the request timeout.
    pub(crate) fn into_options(
        self,
        plugin_dir: Option<std::path::PathBuf>,
    ) -> Result<Options, CliError> {
        for (option, value) in [
            ("--max-body-bytes", self.max_body_bytes as u64),
            ("--max-output-bytes", self.max_output_bytes as u64),
            ("--max-connections", self.max_connections as u64),
            ("--health-interval-ms", self.health_interval_ms),
            ("--reload-interval-ms", self.reload_interval_ms),
            ("--request-timeout-ms", self.request_timeout_ms),
            ("--header-timeout-ms", self.header_timeout_ms),
            ("--idle-timeout-ms", self.idle_timeout_ms),
            ("--write-timeout-ms", self.write_timeout_ms),
            (
                "--max-requests-per-connection",
                self.max_requests_per_connection as u64,
            ),
            ("--max-running-pipelines", self.max_running_pipelines as u64),
            ("--max-queued-runs", self.max_queued_runs as u64),
            (
                "--max-reply-memory-bytes",
                self.max_reply_memory_bytes as u64,
            ),
            ("--shutdown-grace-ms", self.shutdown_grace_ms),
            ("--degraded-p99-ms", self.degraded_p99_ms),
        ] {
            if value == 0 {
                return Err(CliError::Usage {
                    what: "option",
                    value: option.to_owned(),
                    reason: "must be at least 1".to_owned(),
                });
            }
        }
        // A connection waiting on a running request reads nothing: an idle timeout no longer
        // than the request timeout would close it before its reply (an equal one races the
        // request's 503, and a client then reads no reply at all).
        if self.idle_timeout_ms <= self.request_timeout_ms {
            return Err(CliError::Usage {
                what: "option",
                value: format!("--idle-timeout-ms {}", self.idle_timeout_ms),
                reason: format!(
                    "must be longer than --request-timeout-ms ({})",
                    self.request_timeout_ms
                ),
            });
        }
        if !(0.0..=1.0).contains(&self.unhealthy_error_ratio) {
            return Err(CliError::Usage {
                what: "option",
                value: format!("--unhealthy-error-ratio {}", self.unhealthy_error_ratio),
                reason: "must be within 0 and 1 (a fraction of calls)".to_owned(),
            });
        }
        if self.token.as_deref().is_some_and(|t| t.len() < 16) {
            return Err(CliError::Usage {
                what: "option",
                value: "--token".to_owned(),
                reason: "a token must have at least 16 characters".to_owned(),
            });
        }
        Ok(Options {
            addr: self.addr,
            health_interval: Duration::from_millis(self.health_interval_ms),
            token: self.token,
            allowed_hosts: self.allow_host,
            max_body_bytes: self.max_body_bytes,
            max_output_bytes: self.max_output_bytes,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            limits: Limits {
                header_timeout: Duration::from_millis(self.header_timeout_ms),
                idle_timeout: Duration::from_millis(self.idle_timeout_ms),
                write_timeout: Duration::from_millis(self.write_timeout_ms),
                max_requests: self.max_requests_per_connection,
            },
            max_connections: self.max_connections,
            queue: RunQueue {
                running: self.max_running_pipelines,
                queued: self.max_queued_runs,
            },
            max_reply_memory_bytes: self.max_reply_memory_bytes,
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
            plugin_dir,
            reload_interval: Duration::from_millis(self.reload_interval_ms),
            health_rules: HealthRules::new()
                .with_max_error_ratio(Some(self.unhealthy_error_ratio))
                .with_max_p99_latency(Duration::from_millis(self.degraded_p99_ms)),
        })
    }
}
