//! The dashboard at `/`: one row per plugin with its health and key metrics, refreshed every
//! 2 s. Everything a plugin or a module controls (names, versions, health texts) is escaped.

use std::fmt::Write as _;

use modreg::{HealthStatus, ModuleRegistry};

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
pub(crate) fn dashboard(registry: &ModuleRegistry) -> String {
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
