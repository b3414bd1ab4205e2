//! The audit log: every access decision, bounded in memory and optionally appended to a file.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::access::{AccessDecision, Operation};
use modreg_core::{PluginError, PluginErrorKind};

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Increasing number; with an audit file, it continues from the file's last entry.
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
    file: Mutex<Option<AuditFile>>,
    sequence: AtomicU64,
    allowed: [AtomicU64; 6],
    denied: [AtomicU64; 6],
}

/// The file the audit log appends to, and what happens when it cannot.
#[derive(Clone, Debug)]
struct AuditFile {
    shared: Arc<SharedFile>,
    /// `false` (the default): an operation whose decision cannot be written is refused.
    fail_open: bool,
}

/// An audit file as every log of the process that appends to it shares it: one handle and
/// one numbering, so that sequence numbers are unique in the file however many registries
/// write to it, and lines are in sequence order (a number is taken under the file's lock).
///
/// Other processes may append to the same file: each entry is numbered and written under an
/// exclusive lock on the file (`flock`, `LockFileEx`), and when the file has grown since this
/// process last wrote, the numbering continues from its last entry.
#[derive(Debug)]
struct SharedFile {
    file: Mutex<File>,
    next: AtomicU64,
    /// The file's length after this process's last write (`u64::MAX` before its first).
    end: AtomicU64,
}

impl SharedFile {
    /// The shared file at `path` (opened for appending, created if missing), numbering from
    /// after its last entry.
    fn open(path: &std::path::Path) -> Result<Arc<Self>, String> {
        static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<SharedFile>>>> = OnceLock::new();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the audit file: {e}"))?;
        // The same file however it is named (a relative path, a link).
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let mut open = OPEN
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.retain(|_, shared| shared.strong_count() > 0);
        if let Some(shared) = open.get(&key).and_then(Weak::upgrade) {
            return Ok(shared);
        }
        let next = last_sequence(&mut file)
            .map_err(|e| format!("cannot read the audit file: {e}"))?
            .map_or(0, |last| last + 1);
        let shared = Arc::new(SharedFile {
            file: Mutex::new(file),
            next: AtomicU64::new(next),
            // Unknown: another process may append between the read above and any look at the
            // length, so the first write reads the last entry again, under the lock.
            end: AtomicU64::new(u64::MAX),
        });
        open.insert(key, Arc::downgrade(&shared));
        Ok(shared)
    }
}

impl SharedFile {
    /// Numbers and appends one entry under the file's lock (held by `file`'s caller within
    /// this process, taken here across processes).
    fn write_locked(
        &self,
        file: &mut File,
        entry: impl FnOnce(u64) -> AuditEntry,
    ) -> (AuditEntry, std::io::Result<()>) {
        let locked = fs4::fs_std::FileExt::lock_exclusive(&*file);
        let mut next = self.next.load(Ordering::Relaxed);
        // Another process wrote since this one did: continue from its last entry.
        if locked.is_ok()
            && file
                .metadata()
                .is_ok_and(|m| m.len() != self.end.load(Ordering::Relaxed))
            && let Ok(Some(last)) = last_sequence(file)
        {
            next = next.max(last + 1);
        }
        let entry = entry(next);
        self.next.store(next + 1, Ordering::Relaxed);
        // JSON escapes every control character.
        let line = serde_json::to_string(&entry).unwrap_or_default();
        let written = locked
            .and_then(|()| writeln!(file, "{line}"))
            .and_then(|()| file.flush());
        if let Ok(metadata) = file.metadata() {
            self.end.store(metadata.len(), Ordering::Relaxed);
        }
        let _ = fs4::fs_std::FileExt::unlock(&*file);
        (entry, written)
    }
}

/// How much of the end of an existing audit file is read to find its last sequence number.
const TAIL: u64 = 64 * 1024;

impl AuditLog {
    /// Appends to `path` from now on; numbering continues after the file's last entry.
    pub(crate) fn open_file(
        &self,
        path: &std::path::Path,
        fail_open: bool,
    ) -> Result<(), PluginError> {
        let shared = SharedFile::open(path).map_err(|reason| {
            PluginError::from(PluginErrorKind::ConfigurationFile {
                path: path.display().to_string(),
                reason,
            })
        })?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(AuditFile { shared, fail_open });
        Ok(())
    }

    pub(crate) fn count(&self, operation: Operation, allowed: bool) {
        let counters = if allowed { &self.allowed } else { &self.denied };
        counters[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Records and counts a refusal of `principal`'s `operation` on `plugin` made outside an
    /// access check (the WebAssembly sandbox refusing a capability). The operation is refused
    /// already, so an audit file that cannot be written changes nothing.
    pub(crate) fn record_refusal(
        &self,
        principal: &str,
        operation: Operation,
        plugin: &str,
        reason: String,
    ) {
        self.count(operation, false);
        let _ = self.append(
            principal,
            operation,
            plugin,
            AccessDecision {
                allowed: false,
                reason,
            },
        );
    }

    /// Records `decision` as the next entry, stamped now. An error means the audit file could
    /// not be written and the operation must be refused.
    pub(crate) fn append(
        &self,
        principal: &str,
        operation: Operation,
        plugin: &str,
        decision: AccessDecision,
    ) -> Result<(), String> {
        let timestamp_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let entry = |sequence| AuditEntry {
            sequence,
            timestamp_ms,
            principal: principal.to_owned(),
            operation,
            plugin: plugin.to_owned(),
            decision,
        };
        let file = self
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(audit) = file else {
            self.keep(entry(self.sequence.fetch_add(1, Ordering::Relaxed)));
            return Ok(());
        };
        let mut outcome = Ok(());
        let entry = {
            let mut file = audit
                .shared
                .file
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (entry, written) = audit.shared.write_locked(&mut file, entry);
            if let Err(error) = written {
                tracing::error!(%error, fail_open = audit.fail_open, "cannot append to the audit file");
                if !audit.fail_open {
                    outcome = Err(error.to_string());
                }
            }
            entry
        };
        self.keep(entry);
        outcome
    }

    /// Logs `entry` and keeps it in memory (the oldest goes past [`AUDIT_CAPACITY`]).
    fn keep(&self, entry: AuditEntry) {
        // Names and reasons are quoted and escaped (`Debug`): a name with a newline or an
        // escape sequence cannot forge a line in a text log.
        tracing::info!(
            target: "modreg::audit",
            sequence = entry.sequence,
            principal = ?entry.principal,
            operation = %entry.operation,
            plugin = ?entry.plugin,
            allowed = entry.decision.allowed,
            reason = ?entry.decision.reason,
            "access"
        );
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() == AUDIT_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }
}

/// The sequence number of the last complete entry of an audit file, if it has one.
fn last_sequence(file: &mut File) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let metadata = file.metadata()?;
    // A device or a pipe has no entries to continue from.
    if !metadata.is_file() {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(metadata.len().saturating_sub(TAIL)))?;
    let mut tail = Vec::new();
    file.take(TAIL).read_to_end(&mut tail)?;
    // The cut may fall inside a character or a line: only whole lines that parse count.
    let tail = String::from_utf8_lossy(&tail);
    Ok(tail
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|entry| entry.get("sequence").and_then(serde_json::Value::as_u64)))
}

/// Counts of access decisions per operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccessMetrics {
    /// Allowed decisions by operation.
    pub allowed: Vec<(Operation, u64)>,
    /// Denied decisions by operation.
    pub denied: Vec<(Operation, u64)>,
}

impl AuditLog {
    /// The entries kept in memory that `filter` accepts, oldest first.
    pub(crate) fn entries(&self, filter: impl Fn(&AuditEntry) -> bool) -> Vec<AuditEntry> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|e| filter(e))
            .cloned()
            .collect()
    }

    /// The decisions counted.
    pub(crate) fn metrics(&self) -> AccessMetrics {
        let read = |counters: &[AtomicU64; 6]| {
            Operation::ALL
                .into_iter()
                .map(|op| (op, counters[op.index()].load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        AccessMetrics {
            allowed: read(&self.allowed),
            denied: read(&self.denied),
        }
    }
}
