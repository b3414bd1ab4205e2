//! Semantic discovery for modreg's host: plugins ranked against an intent, a context and
//! requirements.
//!
//! It reads the host through its public queries only (`ModuleRegistry::plugins`): a host
//! that does not want a stemmer and a BM25 ranking does not compile them. The facade
//! `modreg` offers it as the specification's `ModuleRegistry::discover_plugins_semantically`;
//! on a bare host, bring [`SemanticDiscovery`] into scope.
//!
//! ```
//! use modreg_host::ModuleRegistry;
//! use modreg_semantic::{PluginSemanticQuery, SemanticDiscovery};
//!
//! let host = ModuleRegistry::new();
//! let found = host.discover_plugins_semantically(PluginSemanticQuery::new().with_intent("compress"))?;
//! # let _ = found;
//! # Ok::<(), modreg_core::PluginError>(())
//! ```
//!
//! # How the ranking works
//!
//! Each plugin is a small document: its name split into words and its capabilities (both
//! counted twice), its description and metadata values, and its type. Words are lowercased,
//! stop words dropped, and reduced to their stem (Snowball English), so `processing`,
//! `processor` and `process` meet. The query's words are expanded through a small synonym
//! table (`fast` also looks for `performance`, `speed`...), synonyms weighing half.
//! Documents are scored with Okapi BM25 (k1 = 1.2, b = 0.75), best first; results under
//! half the best score are left out unless the query asks otherwise.

#![warn(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::{ModuleRegistry, PluginInfo};

const K1: f64 = 1.2;
const B: f64 = 0.75;
const SYNONYM_WEIGHT: f64 = 0.5;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "of",
    "on", "or", "that", "the", "to", "with", "plugin", "plugins",
];

/// Groups of words that mean the same to a user looking for a plugin.
const SYNONYMS: &[&[&str]] = &[
    &[
        "fast",
        "performance",
        "speed",
        "quick",
        "throughput",
        "efficient",
    ],
    &["latency", "realtime", "responsive", "speed"],
    &[
        "scalability",
        "scale",
        "scalable",
        "parallel",
        "batch",
        "distributed",
    ],
    &[
        "compress",
        "compression",
        "shrink",
        "zip",
        "pack",
        "gzip",
        "zstd",
    ],
    &["decompress", "decompression", "unpack", "inflate"],
    &[
        "encrypt",
        "encryption",
        "cipher",
        "confidential",
        "protect",
        "secure",
    ],
    &["decrypt", "decryption", "unseal"],
    &[
        "hash",
        "hashing",
        "digest",
        "checksum",
        "fingerprint",
        "integrity",
    ],
    &["encode", "encoding", "serialize", "base64", "hex"],
    &["decode", "decoding", "deserialize", "parse"],
    &["store", "storage", "persist", "save", "database", "disk"],
    &[
        "analyze",
        "analysis",
        "analyzer",
        "inspect",
        "statistics",
        "metrics",
    ],
    &["process", "processing", "transform", "convert", "handle"],
    &["log", "logging", "trace", "audit"],
    &["monitor", "monitoring", "observe", "watch", "health"],
    &["auth", "authentication", "login", "identity", "credential"],
    &["image", "picture", "photo", "thumbnail"],
    &["text", "string", "word"],
    &["cache", "caching", "memoize"],
    &["network", "http", "web", "request"],
];

/// A request in the user's words: what they want to do, where, and what matters.
///
/// ```
/// use modreg_semantic::PluginSemanticQuery;
/// let query = PluginSemanticQuery::new()
///     .with_intent("data processing")
///     .with_context("high performance")
///     .with_requirements(vec!["performance", "scalability"]);
/// # let _ = query;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PluginSemanticQuery {
    intent: String,
    context: String,
    requirements: Vec<String>,
    min_relative_score: f64,
    limit: Option<usize>,
}

impl Default for PluginSemanticQuery {
    fn default() -> Self {
        PluginSemanticQuery {
            intent: String::new(),
            context: String::new(),
            requirements: Vec::new(),
            min_relative_score: 0.5,
            limit: None,
        }
    }
}

impl PluginSemanticQuery {
    /// An empty query; give at least an intent, a context or a requirement.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the user wants to do.
    pub fn with_intent(mut self, intent: impl Into<String>) -> Self {
        self.intent = intent.into();
        self
    }

    /// Where or how.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    /// Properties that matter.
    pub fn with_requirements<I>(mut self, requirements: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.requirements
            .extend(requirements.into_iter().map(Into::into));
        self
    }

    /// Keeps results scoring at least `fraction` (0.0 to 1.0) of the best; default 0.5.
    pub fn with_min_relative_score(mut self, fraction: f64) -> Self {
        self.min_relative_score = fraction;
        self
    }

    /// Returns at most `limit` results.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    fn text(&self) -> String {
        let mut text = format!("{} {}", self.intent, self.context);
        for requirement in &self.requirements {
            text.push(' ');
            text.push_str(requirement);
        }
        text
    }

    fn validate(&self) -> Result<(), PluginError> {
        if !(0.0..=1.0).contains(&self.min_relative_score) {
            return Err(PluginError::from(PluginErrorKind::InvalidQuery {
                reason: format!(
                    "min_relative_score {} is outside 0.0..=1.0",
                    self.min_relative_score
                ),
            }));
        }
        if self.limit == Some(0) {
            return Err(PluginError::from(PluginErrorKind::InvalidQuery {
                reason: "limit 0 can return nothing; leave it out for no limit".to_owned(),
            }));
        }
        if tokens(&self.text()).is_empty() {
            return Err(PluginError::from(PluginErrorKind::InvalidQuery {
                reason:
                    "a semantic query needs an intent, a context or a requirement with words in it"
                        .to_owned(),
            }));
        }
        Ok(())
    }
}

/// One result: the plugin and how well it matched.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScoredPlugin {
    /// The plugin.
    pub plugin: PluginInfo,
    /// Its BM25 score; higher is better.
    pub score: f64,
}

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Lowercased, stop words dropped, stemmed.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stemmer().stem(&w).into_owned())
        .collect()
}

/// Stem → the stems of its synonyms.
fn synonyms() -> &'static HashMap<String, Vec<String>> {
    static TABLE: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<String, Vec<String>> = HashMap::new();
        for group in SYNONYMS {
            let stems: Vec<String> = group
                .iter()
                .map(|w| stemmer().stem(w).into_owned())
                .collect();
            for stem in &stems {
                let entry = table.entry(stem.clone()).or_default();
                for other in &stems {
                    if other != stem && !entry.contains(other) {
                        entry.push(other.clone());
                    }
                }
            }
        }
        table
    })
}

/// The weighted terms of a query: its own stems at 1.0, their synonyms at 0.5.
fn query_terms(text: &str) -> BTreeMap<String, f64> {
    let mut terms = BTreeMap::new();
    for stem in tokens(text) {
        for synonym in synonyms().get(&stem).into_iter().flatten() {
            let weight = terms.entry(synonym.clone()).or_insert(0.0);
            *weight = f64::max(*weight, SYNONYM_WEIGHT);
        }
        terms.insert(stem, 1.0);
    }
    terms
}

fn document(plugin: &PluginInfo) -> Vec<String> {
    let mut text = String::new();
    for _ in 0..2 {
        text.push_str(plugin.name());
        text.push(' ');
        text.push_str(&plugin.capabilities().join(" "));
        text.push(' ');
    }
    text.push_str(plugin.plugin_type().as_str());
    for (key, value) in plugin.metadata() {
        if key != "mock_of" {
            text.push(' ');
            text.push_str(value);
        }
    }
    tokens(&text)
}

#[expect(clippy::cast_precision_loss, reason = "document counts and lengths")]
fn rank(plugins: Vec<PluginInfo>, query: &PluginSemanticQuery) -> Vec<ScoredPlugin> {
    let terms = query_terms(&query.text());
    let documents: Vec<Vec<String>> = plugins.iter().map(document).collect();
    let n = documents.len() as f64;
    let average = documents.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1.0);
    let mut scored: Vec<ScoredPlugin> = plugins
        .into_iter()
        .zip(&documents)
        .map(|(plugin, doc)| {
            let len = doc.len() as f64;
            let score = terms
                .iter()
                .map(|(term, weight)| {
                    let frequency = doc.iter().filter(|t| *t == term).count() as f64;
                    if frequency == 0.0 {
                        return 0.0;
                    }
                    let containing = documents.iter().filter(|d| d.contains(term)).count() as f64;
                    let idf = ((n - containing + 0.5) / (containing + 0.5) + 1.0).ln();
                    weight * idf * frequency * (K1 + 1.0)
                        / (frequency + K1 * (1.0 - B + B * len / average.max(1.0)))
                })
                .sum();
            ScoredPlugin { plugin, score }
        })
        .filter(|s| s.score > 0.0)
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.plugin.name().cmp(b.plugin.name()))
    });
    if let Some(best) = scored.first().map(|s| s.score) {
        scored.retain(|s| s.score >= best * query.min_relative_score);
    }
    if let Some(limit) = query.limit {
        scored.truncate(limit);
    }
    scored
}

/// Semantic discovery on a host.
pub trait SemanticDiscovery {
    /// The plugins that match `query`, best first, with their scores; a query with nothing
    /// to look for, or a bound out of range, is refused (`InvalidQuery`).
    fn discover_plugins_semantically(
        &self,
        query: PluginSemanticQuery,
    ) -> Result<Vec<ScoredPlugin>, PluginError>;
}

impl SemanticDiscovery for ModuleRegistry {
    fn discover_plugins_semantically(
        &self,
        query: PluginSemanticQuery,
    ) -> Result<Vec<ScoredPlugin>, PluginError> {
        query.validate()?;
        Ok(rank(self.plugins(), &query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_meet() {
        assert_eq!(tokens("Processing processors"), tokens("process processor"));
        assert_eq!(tokens("the plugin for data"), ["data"]);
    }

    #[test]
    fn synonyms_expand_at_half_weight() {
        let terms = query_terms("fast");
        assert!((terms[&tokens("fast")[0]] - 1.0).abs() < f64::EPSILON);
        assert!((terms[&tokens("performance")[0]] - 0.5).abs() < f64::EPSILON);
    }

    #[test]
    fn empty_queries_are_refused() {
        assert!(PluginSemanticQuery::new().validate().is_err());
        assert!(
            PluginSemanticQuery::new()
                .with_intent("the of")
                .validate()
                .is_err()
        );
        assert!(
            PluginSemanticQuery::new()
                .with_intent("x")
                .with_limit(0)
                .validate()
                .is_err()
        );
        assert!(
            PluginSemanticQuery::new()
                .with_intent("x")
                .with_min_relative_score(2.0)
                .validate()
                .is_err()
        );
    }
}
