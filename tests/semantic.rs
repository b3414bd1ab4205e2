//! Semantic discovery against a fixed set: 30 plugins, 20 queries, each with the plugin a
//! person would pick first.

use modreg::{
    ModuleRegistry, PluginConfig, PluginIndex, PluginSemanticQuery, PluginType, ScoredPlugin,
};

const PLUGINS: &[(&str, PluginType, &[&str], &str)] = &[
    (
        "high-performance-processor",
        PluginType::DataProcessor,
        &["processing"],
        "High-performance data processor",
    ),
    (
        "low-latency-processor",
        PluginType::DataProcessor,
        &["processing"],
        "Low-latency data processor",
    ),
    (
        "batch-processor",
        PluginType::DataProcessor,
        &["processing", "batch"],
        "Batch data processor for large jobs",
    ),
    (
        "gzip-compressor",
        PluginType::Compression,
        &["compression", "gzip"],
        "Compresses files with gzip",
    ),
    (
        "zstd-compressor",
        PluginType::Compression,
        &["compression", "zstd"],
        "Fast Zstandard compression with high ratios",
    ),
    (
        "lz4-compressor",
        PluginType::Compression,
        &["compression"],
        "Extremely fast LZ4 compression for real-time streams",
    ),
    (
        "gzip-decompressor",
        PluginType::Compression,
        &["decompression", "gzip"],
        "Inflates gzip archives",
    ),
    (
        "aes-encryptor",
        PluginType::Encryption,
        &["encryption", "aes"],
        "AES-GCM authenticated encryption of secrets",
    ),
    (
        "chacha-encryptor",
        PluginType::Encryption,
        &["encryption"],
        "ChaCha20-Poly1305 encryption for mobile devices",
    ),
    (
        "rsa-signer",
        PluginType::Security,
        &["signing"],
        "Signs documents with RSA keys",
    ),
    (
        "password-hasher",
        PluginType::Security,
        &["hashing", "password"],
        "Argon2 password hashing for user credentials",
    ),
    (
        "sha256-digest",
        PluginType::Hashing,
        &["hashing", "digest"],
        "SHA-256 checksums for file integrity",
    ),
    (
        "blake3-digest",
        PluginType::Hashing,
        &["hashing", "digest"],
        "Very fast BLAKE3 hashing",
    ),
    (
        "base64-codec",
        PluginType::Encoding,
        &["encoding", "base64"],
        "Base64 encoding and decoding of binary data",
    ),
    (
        "json-serializer",
        PluginType::Encoding,
        &["serialization", "json"],
        "Serializes records to JSON",
    ),
    (
        "csv-parser",
        PluginType::DataProcessor,
        &["parsing", "csv"],
        "Parses CSV spreadsheets into rows",
    ),
    (
        "postgres-storage",
        PluginType::Storage,
        &["storage", "sql"],
        "Stores records in a PostgreSQL database",
    ),
    (
        "s3-storage",
        PluginType::Storage,
        &["storage", "cloud"],
        "Saves objects to S3 cloud buckets",
    ),
    (
        "redis-cache",
        PluginType::Storage,
        &["caching", "kv"],
        "In-memory Redis cache for hot keys",
    ),
    (
        "disk-archive",
        PluginType::Storage,
        &["storage", "archive"],
        "Archives old data to local disk",
    ),
    (
        "sentiment-analyzer",
        PluginType::Analyzer,
        &["analysis", "nlp"],
        "Detects sentiment in customer reviews",
    ),
    (
        "anomaly-detector",
        PluginType::Analyzer,
        &["analysis", "anomaly"],
        "Finds outliers in time series metrics",
    ),
    (
        "image-thumbnailer",
        PluginType::DataProcessor,
        &["image", "resize"],
        "Creates thumbnails of photos",
    ),
    (
        "text-translator",
        PluginType::DataProcessor,
        &["text", "translation"],
        "Translates text between languages",
    ),
    (
        "audit-logger",
        PluginType::Monitoring,
        &["logging", "audit"],
        "Writes an audit trail of user actions",
    ),
    (
        "prometheus-exporter",
        PluginType::Monitoring,
        &["metrics", "prometheus"],
        "Exposes metrics for Prometheus scraping",
    ),
    (
        "health-checker",
        PluginType::Monitoring,
        &["health"],
        "Checks service health and readiness",
    ),
    (
        "oauth-authenticator",
        PluginType::Security,
        &["authentication", "oauth"],
        "Authenticates users with OAuth login",
    ),
    (
        "rate-limiter",
        PluginType::Security,
        &["throttling"],
        "Limits request rates per client",
    ),
    (
        "http-fetcher",
        PluginType::DataProcessor,
        &["network", "http"],
        "Downloads web pages over HTTP",
    ),
];

fn registry() -> ModuleRegistry {
    let registry = ModuleRegistry::with_index(PluginIndex::build([], []));
    for (name, ty, caps, description) in PLUGINS {
        let mut config = PluginConfig::new()
            .with_name(*name)
            .with_version("1.0.0")
            .with_type(*ty)
            .with_metadata("description", *description);
        for cap in *caps {
            config = config.add_capability(*cap);
        }
        registry.register_plugin(config).unwrap();
    }
    registry
}

fn best(
    registry: &ModuleRegistry,
    intent: &str,
    context: &str,
    requirements: &[&str],
) -> Vec<ScoredPlugin> {
    registry
        .discover_plugins_semantically(
            PluginSemanticQuery::new()
                .with_intent(intent)
                .with_context(context)
                .with_requirements(requirements.to_vec()),
        )
        .unwrap()
}

#[test]
fn the_specification_query_ranks_high_performance_processor_first() {
    let found = best(
        &registry(),
        "data processing",
        "high performance",
        &["performance", "scalability"],
    );
    assert_eq!(found[0].plugin.name(), "high-performance-processor");
    assert!(
        found.windows(2).all(|w| w[0].score >= w[1].score),
        "best first"
    );
}

#[test]
fn twenty_queries_find_what_a_person_would_pick() {
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "data processing",
            "high performance",
            &["performance", "scalability"],
            "high-performance-processor",
        ),
        (
            "process data",
            "real-time",
            &["low latency"],
            "low-latency-processor",
        ),
        (
            "process large jobs",
            "nightly",
            &["batch"],
            "batch-processor",
        ),
        ("compress files", "", &["gzip"], "gzip-compressor"),
        (
            "compression",
            "streaming",
            &["extremely fast", "real-time"],
            "lz4-compressor",
        ),
        ("unpack archives", "", &["gzip"], "gzip-decompressor"),
        ("encrypt secrets", "server", &["aes"], "aes-encryptor"),
        ("encryption", "mobile devices", &[], "chacha-encryptor"),
        ("sign documents", "", &[], "rsa-signer"),
        (
            "store user passwords",
            "login",
            &["credentials"],
            "password-hasher",
        ),
        ("verify file integrity", "", &["checksum"], "sha256-digest"),
        (
            "encode binary data",
            "text transport",
            &["base64"],
            "base64-codec",
        ),
        ("parse spreadsheets", "", &["csv"], "csv-parser"),
        (
            "persist records",
            "relational database",
            &["sql"],
            "postgres-storage",
        ),
        ("cache hot keys", "in memory", &[], "redis-cache"),
        (
            "analyze customer reviews",
            "",
            &["sentiment"],
            "sentiment-analyzer",
        ),
        (
            "find outliers",
            "time series",
            &["anomaly"],
            "anomaly-detector",
        ),
        (
            "resize photos",
            "web gallery",
            &["thumbnails"],
            "image-thumbnailer",
        ),
        ("expose metrics", "", &["prometheus"], "prometheus-exporter"),
        (
            "authenticate users",
            "single sign-on",
            &["oauth"],
            "oauth-authenticator",
        ),
    ];
    let registry = registry();
    let mut wrong = Vec::new();
    for (intent, context, requirements, expected) in cases {
        let found = best(&registry, intent, context, requirements);
        let top = found.first().map_or("(nothing)", |s| s.plugin.name());
        if top != *expected {
            wrong.push(format!(
                "{intent:?}/{context:?}/{requirements:?}: expected {expected}, got {top}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn limit_and_relative_score_trim_the_results() {
    let registry = registry();
    let all = registry
        .discover_plugins_semantically(
            PluginSemanticQuery::new()
                .with_intent("compression")
                .with_min_relative_score(0.0),
        )
        .unwrap();
    assert!(all.len() >= 4, "{all:?}");
    let one = registry
        .discover_plugins_semantically(
            PluginSemanticQuery::new()
                .with_intent("compression")
                .with_limit(1),
        )
        .unwrap();
    assert_eq!(one.len(), 1);
    let none = registry
        .discover_plugins_semantically(
            PluginSemanticQuery::new().with_intent("quantum teleportation"),
        )
        .unwrap();
    assert!(none.is_empty());
}
