//! The audit log: every access decision, bounded in memory and optionally appended to a file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{AccessDecision, Operation};
use crate::error::PluginError;
use crate::registry::ModuleRegistry;

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Increasing number within this process.
    pub sequence: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Who asked (`-` for the registry's own checks).
    pub principal: String,
    /// What was asked.
    pub operation: Operation,
    /// On which plugin (`*` for discovery as a whole).
    pub plugin: String,
    /// The decision.
    #[serde(flatten)]
    pub decision: AccessDecision,
}

/// How many entries the in-memory audit log keeps.
pub const AUDIT_CAPACITY: usize = 1024;

/// The audit log: bounded in memory, optionally appended to a file.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    entries: Mutex<VecDeque<AuditEntry>>,
    file: Mutex<Option<File>>,
    pub(crate) sequence: AtomicU64,
    allowed: [AtomicU64; 6],
    denied: [AtomicU64; 6],
}

impl AuditLog {
    pub(crate) fn open_file(&self, path: &std::path::Path) -> Result<(), PluginError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| PluginError::ConfigurationFile {
                path: path.display().to_string(),
                reason: format!("cannot open the audit file: {e}"),
            })?;
        *self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(file);
        Ok(())
    }

    pub(crate) fn count(&self, operation: Operation, allowed: bool) {
        let counters = if allowed { &self.allowed } else { &self.denied };
        counters[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, entry: AuditEntry) {
        tracing::info!(
            target: "module_registry::audit",
            principal = %entry.principal,
            operation = %entry.operation,
            plugin = %entry.plugin,
            allowed = entry.decision.allowed,
            reason = %entry.decision.reason,
            "access"
        );
        if let Some(file) = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_mut()
        {
            let line = serde_json::to_string(&entry).unwrap_or_default();
            if let Err(error) = writeln!(file, "{line}").and_then(|()| file.flush()) {
                tracing::error!(%error, "cannot append to the audit file");
            }
        }
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() == AUDIT_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }
}

/// Counts of access decisions per operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessMetrics {
    /// Allowed decisions by operation.
    pub allowed: Vec<(Operation, u64)>,
    /// Denied decisions by operation.
    pub denied: Vec<(Operation, u64)>,
}

impl ModuleRegistry {
    /// The audit entries kept in memory (the last [`AUDIT_CAPACITY`]) that `filter` accepts,
    /// oldest first.
    pub fn audit_log(&self, filter: impl Fn(&AuditEntry) -> bool) -> Vec<AuditEntry> {
        self.audit
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|e| filter(e))
            .cloned()
            .collect()
    }

    /// Access decisions counted while access monitoring was on.
    pub fn access_metrics(&self) -> AccessMetrics {
        let read = |counters: &[AtomicU64; 6]| {
            Operation::ALL
                .into_iter()
                .map(|op| (op, counters[op.index()].load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        AccessMetrics {
            allowed: read(&self.audit.allowed),
            denied: read(&self.audit.denied),
        }
    }
}
