//! The dashboard at `/`: a card per plugin that has been called (request rate, error ratio,
//! p50/p90/p99 latency, bytes, health, its last error, and charts of the last three minutes),
//! a table of the others, and the overall health.
//!
//! The page is a shell with the state inlined as JSON; `dashboard.js` draws it (SVG, no
//! outside assets) and then polls `/api/dashboard` every second. Everything a plugin, a
//! module or a client controls (names, versions, health reasons, error texts) reaches the
//! page as JSON data and is put in the document as text, never as markup; the page is served
//! with a Content-Security-Policy that allows only its own script and style.

use std::time::{Duration, SystemTime};

use modreg::{HealthStatus, ModuleRegistry};
use serde::Serialize;

use super::history::{History, Series};

/// The period the headline figures cover.
const WINDOW: Duration = Duration::from_secs(60);

/// The seconds of history the request rate is averaged over.
const RATE_SECONDS: usize = 10;

/// The script that draws the page.
pub(crate) const SCRIPT: &str = include_str!("dashboard.js");

/// The page's style.
pub(crate) const STYLE: &str = include_str!("dashboard.css");

/// What the page allows itself: its own script, style and `fetch`, nothing else.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Everything the page shows.
#[derive(Serialize)]
pub(crate) struct State {
    generated_at_ms: u64,
    /// The latest health round's overall status (`null` before the first).
    overall: Option<HealthStatus>,
    checked_at_ms: Option<u64>,
    window_s: u64,
    plugins: Vec<PluginState>,
}

#[derive(Serialize)]
struct PluginState {
    name: String,
    #[serde(rename = "type")]
    plugin_type: String,
    version: String,
    health: Option<HealthStatus>,
    /// Totals since the server started.
    calls: u64,
    errors: u64,
    bytes_in: u64,
    bytes_out: u64,
    /// Over the last [`WINDOW`].
    recent: Option<Recent>,
    last_error: Option<LastError>,
    series: Series,
}

#[derive(Serialize)]
struct Recent {
    period_s: f64,
    calls: u64,
    errors: u64,
    error_ratio: Option<f64>,
    /// Calls per second over the last [`RATE_SECONDS`].
    rate_per_s: Option<f64>,
    p50_us: Option<f64>,
    p90_us: Option<f64>,
    p99_us: Option<f64>,
}

#[derive(Serialize)]
struct LastError {
    message: String,
    at_ms: u64,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The page's state now.
pub(crate) fn state(registry: &ModuleRegistry, history: &History) -> State {
    let report = registry.health_report();
    let plugins = registry
        .plugins()
        .into_iter()
        .map(|info| {
            let name = info.name().to_owned();
            let totals = registry.plugin_metrics(&name).unwrap_or_default();
            let series = history.series(&name);
            let recent = registry.recent_metrics(&name, WINDOW).map(|recent| {
                let m = &recent.metrics;
                let last: Vec<u64> = series
                    .calls
                    .iter()
                    .rev()
                    .take(RATE_SECONDS)
                    .copied()
                    .collect();
                #[expect(clippy::cast_precision_loss, reason = "a rate")]
                let rate_per_s =
                    (!last.is_empty()).then(|| last.iter().sum::<u64>() as f64 / last.len() as f64);
                Recent {
                    period_s: recent.period.as_secs_f64(),
                    calls: m.calls,
                    errors: m.errors,
                    error_ratio: m.error_ratio(),
                    rate_per_s,
                    p50_us: m.latency_quantile(0.5).map(micros),
                    p90_us: m.latency_quantile(0.9).map(micros),
                    p99_us: m.latency_quantile(0.99).map(micros),
                }
            });
            PluginState {
                health: report.as_ref().and_then(|r| r.plugins.get(&name).cloned()),
                plugin_type: info.plugin_type().to_string(),
                version: info.version().to_owned(),
                calls: totals.calls,
                errors: totals.errors,
                bytes_in: totals.bytes_in,
                bytes_out: totals.bytes_out,
                recent,
                last_error: totals.last_error.map(|e| LastError {
                    message: e.message,
                    at_ms: e.at_ms,
                }),
                series,
                name,
            }
        })
        .collect();
    State {
        generated_at_ms: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        overall: report.as_ref().map(|r| r.overall.clone()),
        checked_at_ms: report.map(|r| r.checked_at_ms),
        window_s: WINDOW.as_secs(),
        plugins,
    }
}

/// `state` as JSON that may sit inside a `<script>` element: `<`, `>` and `&` escaped, so no
/// text in it can close the element or open a comment.
fn inline_json(state: &State) -> String {
    serde_json::to_string(state)
        .unwrap_or_else(|_| "null".to_owned())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page: a shell for `dashboard.js`, with the state it first draws.
pub(crate) fn page(registry: &ModuleRegistry, history: &History) -> String {
    let state = state(registry, history);
    format!(
        "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>modreg dashboard</title>
<link rel=\"stylesheet\" href=\"/dashboard.css\">
<script src=\"/dashboard.js\" defer></script>
</head>
<body>
<header><h1>modreg</h1><span id=\"overall\" class=\"badge\">…</span><span id=\"summary\"></span><span id=\"updated\"></span></header>
<noscript><p>This page draws its figures with JavaScript. The same figures are at <a href=\"/health\">/health</a> and <a href=\"/metrics\">/metrics</a>.</p></noscript>
<main>
<section id=\"active\" class=\"cards\"></section>
<section id=\"idle-section\"><h2>Not called yet</h2><table id=\"idle\"><thead><tr><th>plugin</th><th>type</th><th>version</th><th>health</th></tr></thead><tbody></tbody></table></section>
</main>
<footer><a href=\"/metrics\">/metrics</a> · <a href=\"/health\">/health</a> · <a href=\"/api/dashboard\">/api/dashboard</a></footer>
<script id=\"state\" type=\"application/json\">{}</script>
</body></html>
",
        inline_json(&state)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_json_cannot_close_its_script_element() {
        let mut state = State {
            generated_at_ms: 0,
            overall: Some(HealthStatus::Unhealthy(
                "</script><script>alert(1)</script>".into(),
            )),
            checked_at_ms: None,
            window_s: 60,
            plugins: Vec::new(),
        };
        let json = inline_json(&state);
        assert!(
            !json.contains('<') && !json.contains('>') && !json.contains('&'),
            "{json}"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back["overall"]["reason"],
            "</script><script>alert(1)</script>"
        );
        state.overall = None;
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&inline_json(&state)).unwrap()["overall"],
            serde_json::Value::Null
        );
    }
}
