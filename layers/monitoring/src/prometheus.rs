//! The registry's metrics in the Prometheus text format (feature `prometheus`).
//!
//! Metric names are stable; `docs/monitoring.md` lists them.

use std::collections::HashMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use modreg_core::HealthStatus;
use modreg_host::{ModuleRegistry, PluginMetrics};

use crate::monitoring::Monitoring;

/// A snapshot of everything exported, taken at scrape time.
#[derive(Debug)]
struct Snapshot {
    plugins: Vec<(String, PluginMetrics)>,
    access: Vec<(String, &'static str, u64)>,
    health: Vec<(String, HealthStatus)>,
    registered: i64,
    /// WebAssembly modules refused (with the feature `wasm`).
    modules_refused: Option<u64>,
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    values: impl Iterator<Item = (Vec<(&'static str, String)>, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in values {
        ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

impl Snapshot {
    fn encode_latency(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut latency = encoder.encode_descriptor(
            "modreg_plugin_latency_seconds",
            "process latency (with performance metrics on)",
            None,
            MetricType::Histogram,
        )?;
        for (name, m) in self
            .plugins
            .iter()
            .filter(|(_, m)| !m.latency_buckets.is_empty())
        {
            let buckets = octaves(&m.latency_buckets);
            #[expect(clippy::cast_precision_loss, reason = "nanoseconds to seconds")]
            let sum = m.latency_sum_ns as f64 / 1e9;
            let count = buckets.iter().map(|(_, c)| c).sum();
            let labels = vec![("plugin", name.clone())];
            latency
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(
                    sum,
                    count,
                    &buckets,
                    None::<&HashMap<usize, Exemplar<NoLabelSet, f64>>>,
                )?;
        }

        Ok(())
    }

    /// A guest's host function calls: the functions are the embedder's own, a set it
    /// configured, so the `function` label stays bounded.
    fn encode_host_calls(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let host_calls = |field: fn(&modreg_host::HostFunctionMetrics) -> u64| {
            self.plugins.iter().flat_map(move |(name, m)| {
                m.host_calls.iter().map(move |(function, calls)| {
                    (
                        vec![("plugin", name.clone()), ("function", function.clone())],
                        field(calls),
                    )
                })
            })
        };
        counter(
            encoder,
            "modreg_plugin_host_calls",
            "host function calls by a WebAssembly guest that ran",
            host_calls(|m| m.calls),
        )?;
        counter(
            encoder,
            "modreg_plugin_host_call_errors",
            "host function calls that failed",
            host_calls(|m| m.errors),
        )
    }
}

/// The exported histogram: the recorder's log-linear buckets summed into one per power of two
/// of nanoseconds (`le` 1 ns, 2 ns, ... 2^40 ns, then `+Inf`), so a scrape stays small. Each
/// counts the latencies under its edge (no fine bucket straddles one, so the counts are
/// exact; a latency of exactly `2^k` ns counts one edge up).
fn octaves(fine: &[u64]) -> Vec<(f64, u64)> {
    let mut edges: Vec<(f64, u64)> = (0..=40)
        .map(|power: i32| (2f64.powi(power) / 1e9, 0))
        .chain([(f64::INFINITY, 0)])
        .collect();
    for (index, &count) in fine.iter().enumerate() {
        let (_, high) = modreg_host::latency_bucket_bounds(index);
        // The first edge at or above the bucket's exclusive upper bound.
        let edge = if high == u64::MAX {
            edges.len() - 1
        } else {
            (u64::BITS - (high - 1).leading_zeros()) as usize
        };
        let last = edges.len() - 1;
        edges[edge.min(last)].1 += count;
    }
    edges
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let per_plugin = |field: fn(&PluginMetrics) -> u64| {
            self.plugins
                .iter()
                .map(move |(name, m)| (vec![("plugin", name.clone())], field(m)))
        };
        counter(
            &mut encoder,
            "modreg_plugin_calls",
            "process calls",
            per_plugin(|m| m.calls),
        )?;
        counter(
            &mut encoder,
            "modreg_plugin_errors",
            "process calls that failed",
            per_plugin(|m| m.errors),
        )?;
        counter(
            &mut encoder,
            "modreg_plugin_panics",
            "process calls that panicked",
            per_plugin(|m| m.panics),
        )?;
        counter(
            &mut encoder,
            "modreg_plugin_bytes_in",
            "bytes passed to process",
            per_plugin(|m| m.bytes_in),
        )?;
        counter(
            &mut encoder,
            "modreg_plugin_bytes_out",
            "bytes returned by process",
            per_plugin(|m| m.bytes_out),
        )?;

        self.encode_latency(&mut encoder)?;

        self.encode_host_calls(&mut encoder)?;

        counter(
            &mut encoder,
            "modreg_access_decisions",
            "access decisions (with access monitoring on)",
            self.access.iter().map(|(op, outcome, n)| {
                (
                    vec![
                        ("operation", op.clone()),
                        ("outcome", (*outcome).to_owned()),
                    ],
                    *n,
                )
            }),
        )?;

        let mut health = encoder.encode_descriptor(
            "modreg_plugin_health",
            "1 when the plugin's last health check gave this status",
            None,
            MetricType::Gauge,
        )?;
        for (name, status) in &self.health {
            let labels = vec![
                ("plugin", name.clone()),
                ("status", status.label().to_owned()),
            ];
            ConstGauge::new(1i64).encode(health.encode_family(&labels)?)?;
        }

        let registered = ConstGauge::new(self.registered);
        registered.encode(encoder.encode_descriptor(
            "modreg_plugins_registered",
            "plugins registered (compiled in and at run time)",
            None,
            registered.metric_type(),
        )?)?;
        if let Some(refused) = self.modules_refused {
            counter(
                &mut encoder,
                "modreg_wasm_modules_refused",
                "WebAssembly modules refused: invalid, unsigned, over a limit",
                std::iter::once((Vec::new(), refused)),
            )?;
        }
        Ok(())
    }
}

impl Monitoring {
    /// Every metric in the Prometheus text exposition format: this layer's (plugin metrics,
    /// health), `registry`'s count of plugins, and what other layers counted, which the caller
    /// hands in: the security layer's access decisions (operation, allowed, count) and the
    /// sandbox's refused modules.
    pub fn prometheus_text(
        &self,
        registry: &ModuleRegistry,
        access: &[(&str, bool, u64)],
        modules_refused: Option<u64>,
    ) -> String {
        let plugins = self.all_metrics().into_iter().collect();
        let access = access
            .iter()
            .map(|&(op, allowed, n)| (op.to_owned(), if allowed { "allowed" } else { "denied" }, n))
            .collect();
        let health = self
            .health_report()
            .map(|r| r.plugins.into_iter().collect())
            .unwrap_or_default();
        let snapshot = Snapshot {
            plugins,
            access,
            health,
            registered: i64::try_from(registry.plugins().len()).unwrap_or(i64::MAX),
            modules_refused,
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(snapshot));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use modreg_host::{Layer as _, ModuleRegistry};

    use crate::{AdvancedPluginMonitoringConfig, Monitoring};

    #[test]
    fn fine_buckets_sum_into_power_of_two_edges() {
        let mut fine = vec![0; modreg_host::LATENCY_BUCKETS];
        for nanos in [0, 1, 3, 300, 1_000_000, u64::MAX] {
            fine[modreg_host::latency_bucket(nanos)] += 1;
        }
        let edges = super::octaves(&fine);
        assert_eq!(edges.len(), 42);
        let at = |power: usize| edges[power].1;
        // 0 is under 1 ns; 1 under 2; 3 under 4; 300 under 512; 1 ms under 2^20 ns.
        assert_eq!((at(0), at(1), at(2), at(9), at(20)), (1, 1, 1, 1, 1));
        assert_eq!(edges[41], (f64::INFINITY, 1));
        assert_eq!(edges.iter().map(|(_, c)| c).sum::<u64>(), 6);
    }

    #[test]
    fn exposes_counters_histograms_and_gauges() {
        let monitoring = Arc::new(Monitoring::new());
        let registry = ModuleRegistry::builder()
            .index(modreg_core::PluginIndex::build([], []))
            .layer(monitoring.clone())
            .build();
        monitoring
            .configure_advanced_plugin_monitoring(
                &registry,
                &AdvancedPluginMonitoringConfig::new()
                    .with_plugin_metrics(true)
                    .with_performance_metrics(true),
            )
            .unwrap();
        let recorder = monitoring.recorder("gzip-compress");
        recorder.record(10, &Ok(vec![1, 2]));
        recorder.record_latency(std::time::Duration::from_nanos(300));
        // A guest's host function calls, heard as the sandbox's events.
        for ok in [true, true, false] {
            monitoring.on_event(&modreg_host::Event::HostFunctionCalled {
                plugin: "gzip-compress",
                function: "kv.get",
                elapsed: std::time::Duration::from_micros(3),
                ok,
            });
        }
        let text = monitoring.prometheus_text(&registry, &[("instantiate", false, 2)], Some(3));
        assert!(
            text.contains(
                "modreg_plugin_host_calls_total{plugin=\"gzip-compress\",function=\"kv.get\"} 3"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "modreg_plugin_host_call_errors_total{plugin=\"gzip-compress\",function=\"kv.get\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("modreg_plugin_calls_total{plugin=\"gzip-compress\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("modreg_plugin_bytes_in_total{plugin=\"gzip-compress\"} 10"),
            "{text}"
        );
        assert!(
            text.contains("modreg_plugin_latency_seconds_count{plugin=\"gzip-compress\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE modreg_plugins_registered gauge"),
            "{text}"
        );
        assert!(
            text.contains(
                "modreg_access_decisions_total{operation=\"instantiate\",outcome=\"denied\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("modreg_wasm_modules_refused_total 3"),
            "{text}"
        );
        // Without a sandbox, no such metric.
        let text = monitoring.prometheus_text(&registry, &[], None);
        assert!(!text.contains("modreg_wasm_modules_refused"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
