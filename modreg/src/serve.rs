//! `modreg serve`: `/metrics` (Prometheus), `/health` (JSON), `/` (a dashboard that refreshes
//! itself) and `POST /run/<pipeline>` to drive load through plugins.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use module_registry::{
    AdvancedPluginMonitoringConfig, HealthMonitor, HealthStatus, ModuleRegistry,
    PluginAccessControlConfig, PluginError, PluginHealthMonitoringConfig,
};
use tiny_http::{Header, Method, Request, Response, Server};

/// Runs the server until the process is stopped.
pub fn serve(
    registry: ModuleRegistry,
    addr: &str,
    health_interval: Duration,
) -> Result<(), PluginError> {
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
    let _monitor = HealthMonitor::start(registry.clone(), health_interval);

    let server =
        Server::http(addr).map_err(|e| PluginError::invalid("address", addr, e.to_string()))?;
    let bound = server
        .server_addr()
        .to_ip()
        .map_or_else(|| addr.to_owned(), |a| a.to_string());
    println!("listening on http://{bound}");
    tracing::info!(address = %bound, "serving");
    for request in server.incoming_requests() {
        handle(&registry, request);
    }
    Ok(())
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

fn handle(registry: &ModuleRegistry, mut request: Request) {
    let url = request.url().to_owned();
    let path = url.split('?').next().unwrap_or("");
    let response = match (request.method(), path) {
        (Method::Get, "/metrics") => {
            Response::from_string(registry.prometheus_text()).with_header(header(
                "Content-Type",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ))
        }
        (Method::Get, "/health") => {
            let report = registry.health_report();
            let body = serde_json::to_string_pretty(&report).unwrap_or_else(|_| "null".to_owned());
            Response::from_string(body).with_header(header("Content-Type", "application/json"))
        }
        (Method::Get, "/") => Response::from_string(dashboard(registry))
            .with_header(header("Content-Type", "text/html; charset=utf-8")),
        (Method::Post, run) if run.starts_with("/run/") => {
            let mut input = Vec::new();
            match request.as_reader().read_to_end(&mut input) {
                Err(e) => Response::from_string(format!("cannot read the body: {e}"))
                    .with_status_code(400),
                Ok(_) => match crate::run_pipeline_on(
                    registry,
                    &run["/run/".len()..],
                    input,
                    crate::DEFAULT_MAX_OUTPUT_BYTES,
                ) {
                    Ok(output) => Response::from_data(output),
                    Err(e) => Response::from_string(e.to_string()).with_status_code(400),
                },
            }
        }
        _ => Response::from_string("not found").with_status_code(404),
    };
    if let Err(error) = request.respond(response) {
        tracing::warn!(%error, "cannot answer a request");
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
