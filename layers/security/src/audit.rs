//! The audit log: every access decision, bounded in memory and optionally appended to a file,
//! which is rotated at a size (`PATH` to `PATH.1`, and so on) so that it cannot fill a disk.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::{SystemTime, UNIX_EPOCH};

use same_file::Handle;
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

/// The size at which an audit file is rotated unless configured otherwise: 64 MiB.
pub const DEFAULT_AUDIT_FILE_BYTES: u64 = 64 << 20;

/// How many rotated audit files (`PATH.1` to `PATH.N`) are kept unless configured otherwise.
pub const DEFAULT_AUDIT_FILES_KEPT: u32 = 4;

/// When an audit file is rotated: once a write takes it to `max_bytes` or more, `PATH` becomes
/// `PATH.1`, `PATH.1` becomes `PATH.2` and so on up to `PATH.{keep}` (the oldest goes), and a new
/// `PATH` is begun. Only a regular file is rotated. A rotation that fails (a rename refused)
/// loses no entry: the file grows on, and the rotation is tried again once the file grew by
/// another sixteenth of `max_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rotation {
    pub(crate) max_bytes: u64,
    pub(crate) keep: u32,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_bytes: DEFAULT_AUDIT_FILE_BYTES,
            keep: DEFAULT_AUDIT_FILES_KEPT,
        }
    }
}

/// The audit log: bounded in memory, optionally appended to a file.
#[derive(Debug, Default)]
pub(crate) struct AuditLog {
    entries: Mutex<VecDeque<AuditEntry>>,
    file: Mutex<Option<AuditFile>>,
    sequence: AtomicU64,
    allowed: [AtomicU64; 6],
    denied: [AtomicU64; 6],
}

/// The file the audit log appends to, when it is rotated, and what happens when it cannot be
/// written.
#[derive(Clone, Debug)]
struct AuditFile {
    shared: Arc<SharedFile>,
    rotation: Rotation,
    /// `false` (the default): an operation whose decision cannot be written is refused.
    fail_open: bool,
}

/// An audit file as every log of the process that appends to it shares it: one handle and
/// one numbering, so that sequence numbers are unique in the file however many registries
/// write to it, and lines are in sequence order (a number is taken under the file's lock).
///
/// Other processes may append to the same file: each entry is numbered and written under an
/// exclusive lock on the file (`flock`, `LockFileEx`), and when the file has grown since this
/// process last wrote, the numbering continues from its last entry. When the file at the path
/// is no longer the one this process holds (another process rotated it, or a log rotator moved
/// it away), the one now there is opened (created if missing) before the entry is written.
#[derive(Debug)]
struct SharedFile {
    /// Where the file is (canonical): what a rotation renames and a reopening opens.
    path: PathBuf,
    /// The file this process appends to, with its identity (device and inode, or volume and
    /// file index), to tell whether `path` is still it.
    file: Mutex<Handle>,
    /// Only a regular file is rotated or followed (not a device or a pipe).
    regular: bool,
    next: AtomicU64,
    /// The file's length after this process's last write (`u64::MAX` before its first).
    end: AtomicU64,
    /// After a rotation failed: the length the file is to reach before this process tries
    /// again (0: none failed). A lasting failure (a rename refused) then costs an attempt
    /// and an error event per [`RETRY_STEP`] of the size, not one per entry.
    retry_at: AtomicU64,
}

/// After a failed rotation, the part of its `max_bytes` a file grows by before the next
/// attempt: a sixteenth (4 MiB of the default 64 MiB).
const RETRY_STEP: u64 = 16;

/// Opens the audit file at `path` for appending (and reading its last entry), created if
/// missing.
///
/// A regular file (or one not there yet) is the host's record: on Unix it, and the directory
/// that holds it, must be this user's (or root's) alone to write
/// ([`check_guarded`](modreg_host::state_file::check_guarded), the state files' rule), or
/// another user could add entries, or remove them; checked before it is created. One is
/// created `0640` whatever the umask (its group may read it, as a system log's may). What is
/// not a regular file (a pipe, `/dev/stdout`) is the operator's to place.
fn open_append(path: &Path) -> std::io::Result<File> {
    let regular_or_missing = std::fs::metadata(path).map_or(true, |m| m.is_file());
    if regular_or_missing {
        modreg_host::state_file::check_guarded(path)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).read(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
    options.open(path)
}

/// `PATH.{n}`: the `n`th newest rotated audit file of `path`.
fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// How many times a writer follows the file to a new one before it writes where it is: each
/// step is a rotation made elsewhere between its opening and its locking the file.
const FOLLOW: usize = 8;

impl SharedFile {
    /// The shared file at `path` (opened for appending, created if missing), numbering from
    /// after its last entry.
    fn open(path: &Path) -> Result<Arc<Self>, String> {
        static OPEN: OnceLock<Mutex<HashMap<PathBuf, Weak<SharedFile>>>> = OnceLock::new();
        let mut file = open_append(path).map_err(|e| format!("cannot open the audit file: {e}"))?;
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
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        let next = last_number(&key, &mut file)
            .map_err(|e| format!("cannot read the audit file: {e}"))?
            .map_or(0, |last| last + 1);
        let file =
            Handle::from_file(file).map_err(|e| format!("cannot open the audit file: {e}"))?;
        let shared = Arc::new(SharedFile {
            path: key.clone(),
            file: Mutex::new(file),
            regular,
            next: AtomicU64::new(next),
            // Unknown: another process may append between the read above and any look at the
            // length, so the first write reads the last entry again, under the lock.
            end: AtomicU64::new(u64::MAX),
            retry_at: AtomicU64::new(0),
        });
        open.insert(key, Arc::downgrade(&shared));
        Ok(shared)
    }
}

impl SharedFile {
    /// Numbers and appends one entry under the file's lock (held by `file`'s caller within
    /// this process, taken here across processes), and rotates the file when the entry took it
    /// to `rotation.max_bytes`.
    fn write_locked(
        &self,
        file: &mut Handle,
        rotation: Rotation,
        entry: impl FnOnce(u64) -> AuditEntry,
    ) -> (AuditEntry, std::io::Result<()>) {
        let locked = self.lock_current(file);
        let mut next = self.next.load(Ordering::Relaxed);
        // Another process wrote since this one did: continue from its last entry.
        if locked.is_ok()
            && file
                .as_file()
                .metadata()
                .is_ok_and(|m| m.len() != self.end.load(Ordering::Relaxed))
            && let Ok(Some(last)) = last_number(&self.path, file.as_file_mut())
        {
            next = next.max(last + 1);
        }
        let entry = entry(next);
        self.next.store(next + 1, Ordering::Relaxed);
        // JSON escapes every control character.
        let line = serde_json::to_string(&entry).unwrap_or_default();
        let written = locked
            .and_then(|()| writeln!(file.as_file_mut(), "{line}"))
            .and_then(|()| file.as_file_mut().flush());
        let length = file.as_file().metadata().map(|m| m.len());
        if let Ok(length) = length {
            self.end.store(length, Ordering::Relaxed);
        }
        let due = |l: u64| l >= rotation.max_bytes && l >= self.retry_at.load(Ordering::Relaxed);
        if written.is_ok() && self.regular && length.as_ref().is_ok_and(|&l| due(l)) {
            // Still under the lock of the file it renames: a writer that waits for that lock
            // finds the new file at the path when it gets it.
            match self.rotate(rotation.keep) {
                Ok(new) => {
                    let _ = fs4::fs_std::FileExt::unlock(file.as_file());
                    *file = new;
                    self.end.store(0, Ordering::Relaxed);
                    self.retry_at.store(0, Ordering::Relaxed);
                    return (entry, written);
                }
                // The entry is written; the file grows past its size until a rotation works,
                // tried again once it grew by another part of its size.
                Err(error) => {
                    let step = (rotation.max_bytes / RETRY_STEP).max(1);
                    let at = length.as_ref().map_or(u64::MAX, |l| l.saturating_add(step));
                    self.retry_at.store(at, Ordering::Relaxed);
                    tracing::error!(%error, path = %self.path.display(), retry_at_bytes = at, "cannot rotate the audit file");
                }
            }
        }
        let _ = fs4::fs_std::FileExt::unlock(file.as_file());
        (entry, written)
    }

    /// Locks `file` across processes, first following it to the file now at the path where
    /// that is another one (rotated by another process or moved away by a log rotator).
    fn lock_current(&self, file: &mut Handle) -> std::io::Result<()> {
        for _ in 0..FOLLOW {
            fs4::fs_std::FileExt::lock_exclusive(file.as_file())?;
            if !self.regular {
                return Ok(());
            }
            match Handle::from_path(&self.path) {
                Ok(current) if current == *file => return Ok(()),
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                // Cannot tell (not readable now): it writes where it is.
                Err(_) => return Ok(()),
            }
            let _ = fs4::fs_std::FileExt::unlock(file.as_file());
            *file = Handle::from_file(open_append(&self.path)?)?;
            self.end.store(u64::MAX, Ordering::Relaxed);
        }
        fs4::fs_std::FileExt::lock_exclusive(file.as_file())
    }

    /// Renames `PATH.{n}` to `PATH.{n + 1}` from the oldest kept (replacing `PATH.{keep}`), the
    /// file to `PATH.1`, and opens a new file at the path.
    fn rotate(&self, keep: u32) -> std::io::Result<Handle> {
        for n in (1..keep).rev() {
            match std::fs::rename(rotated(&self.path, n), rotated(&self.path, n + 1)) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))?;
        Handle::from_file(open_append(&self.path)?)
    }
}

/// How much of the end of an existing audit file is read to find its last sequence number.
const TAIL: u64 = 64 * 1024;

impl AuditLog {
    /// Appends to `path` from now on; numbering continues after the file's last entry.
    pub(crate) fn open_file(
        &self,
        path: &Path,
        rotation: Rotation,
        fail_open: bool,
    ) -> Result<(), PluginError> {
        let shared = SharedFile::open(path).map_err(|reason| {
            PluginError::from(PluginErrorKind::File {
                what: "audit file",
                path: path.display().to_string(),
                reason,
            })
        })?;
        *self.file.lock().unwrap_or_else(PoisonError::into_inner) = Some(AuditFile {
            shared,
            rotation,
            fail_open,
        });
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
            let (entry, written) = audit.shared.write_locked(&mut file, audit.rotation, entry);
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

/// The sequence number of the last entry of the audit file at `path`, open as `file`: its own
/// last, or where it is empty (just rotated), the last of `PATH.1`.
fn last_number(path: &Path, file: &mut File) -> std::io::Result<Option<u64>> {
    if let Some(last) = last_sequence(file)? {
        return Ok(Some(last));
    }
    let metadata = file.metadata()?;
    if !metadata.is_file() || metadata.len() > 0 {
        return Ok(None);
    }
    match File::open(rotated(path, 1)) {
        Ok(mut previous) => last_sequence(&mut previous),
        Err(_) => Ok(None),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An audit file, or its directory, that another user may write is refused before it is
    /// opened or made; one made is its owner's to write and its group's to read; what is not
    /// a regular file is not checked.
    #[cfg(unix)]
    #[test]
    fn an_audit_file_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = tempfile::tempdir().unwrap();
        let chmod = |place: &Path, mode: u32| {
            std::fs::set_permissions(place, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let dir = scratch.path().join("logs");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        // Refused before it is made in a directory others may write.
        chmod(&dir, 0o777);
        let error = SharedFile::open(&path).unwrap_err();
        assert!(error.contains("may be written by other users"), "{error}");
        assert!(!path.exists());
        chmod(&dir, 0o755);
        SharedFile::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode & 0o027,
            0,
            "made its owner's to write, its group's to read: {mode:o}"
        );
        // (where, its mode, the mode it is guarded with again)
        for (place, mode, guarded) in [
            (&dir, 0o777, 0o755),
            (&dir, 0o1777, 0o755),
            (&dir, 0o775, 0o755),
            (&path, 0o666, 0o640),
            (&path, 0o662, 0o640),
            (&path, 0o646, 0o640),
        ] {
            chmod(place, mode);
            let error = SharedFile::open(&path).unwrap_err();
            assert!(
                error.contains(&format!("may be written by other users (mode {mode:o})")),
                "{}: {error}",
                place.display()
            );
            chmod(place, guarded);
            SharedFile::open(&path).unwrap();
        }
        // Not a regular file: the operator's to place (a device all may write).
        SharedFile::open(Path::new("/dev/null")).unwrap();
    }

    /// A file just rotated is empty: numbering continues from the last entry of `PATH.1`,
    /// as it does from the file's own when it has one.
    #[test]
    fn numbering_continues_from_the_rotated_file() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("audit.jsonl");
        let line = |sequence| format!("{{\"sequence\":{sequence},\"principal\":\"p\"}}\n");
        std::fs::write(rotated(&path, 1), line(41)).unwrap();
        std::fs::write(&path, "").unwrap();
        let mut file = open_append(&path).unwrap();
        assert_eq!(last_number(&path, &mut file).unwrap(), Some(41));
        std::fs::write(&path, line(42)).unwrap();
        assert_eq!(last_number(&path, &mut file).unwrap(), Some(42));
        std::fs::remove_file(rotated(&path, 1)).unwrap();
        std::fs::write(&path, "").unwrap();
        assert_eq!(last_number(&path, &mut file).unwrap(), None);
    }
}
