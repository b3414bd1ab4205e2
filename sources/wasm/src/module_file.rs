//! A module file in a plugin directory, as a directory pass sees it: the name it loads under,
//! the signature file beside it, the stamp that stands for its bytes between passes, and the
//! refusal kept for it so that a file is refused (and logged) once until it changes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use modreg_core::{PluginError, PluginErrorKind};

use crate::signature::WasmSignature;

/// What a directory pass compares before reading a module file again: its [`Stamp`], and its
/// signature file's (`None`: there is none).
pub(crate) type FileStamp = (Stamp, Option<Stamp>);

/// What stands for a file's bytes between passes: its size and modification time and, on
/// Unix, its device and inode (a file renamed over it is another) and its status-change time,
/// which the kernel sets at every write, rename or change of mode and no tool sets back. The
/// size and modification time alone miss a module rebuilt to the same size and given the time
/// of the one before, as deployments that give every file one time do (reproducible builds'
/// `SOURCE_DATE_EPOCH`, a store that sets every file's time to one value, `touch -r`).
/// Elsewhere (Windows) the size and modification time are all `std` tells. The
/// status-change time is compared, not aged as the modification time is ([`RECENT`]): a
/// change of mode, or a time set back, in the clock tick of the pass before is missed on a
/// file system whose clock ticks coarsely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    modified: SystemTime,
    /// Device, inode, status-change time (seconds, nanoseconds).
    #[cfg(unix)]
    identity: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata, modified: SystemTime) -> Self {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: metadata.len(),
            modified,
            #[cfg(unix)]
            identity: (
                metadata.dev(),
                metadata.ino(),
                metadata.ctime(),
                metadata.ctime_nsec(),
            ),
        }
    }
}

/// A module file a directory pass refused: its module's SHA-256 and the signature beside it.
/// Refused again without a word until either changes: a module refused for want of a
/// signature is loaded once its signature file arrives, though its bytes are the same. A
/// refusal the registry may lift is tried again once the registry changed too ([`Retry`]).
/// A file that could not be read has no SHA-256 (empty) and the error it was refused for.
#[derive(Debug)]
pub(crate) struct RefusedFile {
    pub(crate) sha256: String,
    pub(crate) signature: Option<WasmSignature>,
    /// Why the file could not be read, if that is why it was refused, and its stamp then: a
    /// pass that finds the same error and stamp reads it again (the error may pass) but
    /// refuses it without a word; a file changed since is refused anew.
    pub(crate) unread: Option<(String, Option<FileStamp>)>,
    /// What change to the registry may lift the refusal, `None` for a refusal of the module's
    /// own (not valid, breaking the contract, listing a plugin that is not).
    pub(crate) retry: Option<Retry>,
}

impl RefusedFile {
    /// A refusal for what could not be read (`cause`, the file at `stamp`), of the module
    /// whose SHA-256 is `sha256` where its bytes were read (empty where not).
    pub(crate) fn unread(sha256: String, cause: String, stamp: Option<FileStamp>) -> Self {
        RefusedFile {
            sha256,
            signature: None,
            unread: Some((cause, stamp)),
            retry: None,
        }
    }

    /// Whether a pass at `revisions`, finding `sha256` and `signature` beside it, would only
    /// refuse this file again.
    pub(crate) fn stands(
        &self,
        sha256: &str,
        signature: Option<&WasmSignature>,
        revisions: Revisions,
    ) -> bool {
        // A refusal for what could not be read says nothing of the bytes and signature now
        // read.
        self.unread.is_none()
            && self.sha256 == sha256
            && self.signature.as_ref() == signature
            && !self.lifted_by(revisions)
    }

    /// Whether the registry changed, since the refusal, in a way that may lift it.
    pub(crate) fn lifted_by(&self, (registry, layers): Revisions) -> bool {
        match self.retry {
            Some(Retry::Registry(at)) => at != registry,
            Some(Retry::Layers(at)) => at != layers,
            None => false,
        }
    }
}

/// The registry's revisions a pass sees: `Catalog::revision`, `Catalog::layers_revision`.
pub(crate) type Revisions = (u64, u64);

/// What change to the registry may lift a refusal, and its revision when the module was
/// refused.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Retry {
    /// What the registry holds (`Catalog::revision`): a name another module or the
    /// application holds, a dependency cycle through another's plugin, the memory every
    /// module's instances share, a trait no registry given to the host serves.
    Registry(u64),
    /// A layer's configuration (`Catalog::layers_revision`): a signer not trusted, a
    /// principal without the right. Not every change to the registry: tried again whenever
    /// any module loads, such a refusal would be logged and audited again each time.
    Layers(u64),
}

impl Retry {
    /// What may lift `error`, refusing a module at `revisions`. Configuring the sandbox again
    /// forgets every refusal.
    pub(crate) fn of(error: &PluginError, (registry, layers): Revisions) -> Option<Self> {
        match error.kind() {
            PluginErrorKind::AlreadyRegistered { .. }
            | PluginErrorKind::DependencyCycle { .. }
            | PluginErrorKind::MemoryLimit { .. }
            | PluginErrorKind::TraitNotServed { .. } => Some(Retry::Registry(registry)),
            PluginErrorKind::Layer { .. } => Some(Retry::Layers(layers)),
            _ => None,
        }
    }
}

/// How long after its last change a file's size and time are not taken to stand for its
/// bytes. A file system's clock ticks in up to two seconds (FAT's; ext3's and HFS+'s in one),
/// so a rewrite of the same length in the tick of the write before it leaves both as they
/// were. A file changed more recently than this is read and hashed at every pass (as git
/// treats an index entry as racily clean); once older, a rewrite would fall in a later tick.
pub(crate) const RECENT: Duration = Duration::from_secs(2);

/// The stamp of the module file at `path` and its signature file; `None` (read them) when
/// either has no modification time or one less than [`RECENT`] ago (or in the future: a
/// clock set back), or the signature file's cannot be told.
pub(crate) fn stamp_of(path: &Path) -> Option<FileStamp> {
    let settled = |metadata: std::fs::Metadata| {
        let modified = metadata.modified().ok()?;
        let age = SystemTime::now().duration_since(modified).ok()?;
        (age >= RECENT).then(|| Stamp::of(&metadata, modified))
    };
    let module = settled(std::fs::metadata(path).ok()?)?;
    let signature = match std::fs::metadata(signature_path(path)) {
        Ok(metadata) => Some(settled(metadata)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(_) => return None,
    };
    Some((module, signature))
}

/// The name a module file is loaded under: its file name.
pub(crate) fn module_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `PATH.sig`, where the signature of the module at `path` is kept (a name that is not UTF-8
/// kept as it is).
pub(crate) fn signature_path(path: &Path) -> PathBuf {
    let mut sig = path.as_os_str().to_owned();
    sig.push(".sig");
    PathBuf::from(sig)
}

/// The signature file `PATH.sig` beside the module at `path`, if there is one. One that is
/// there but cannot be read (not a regular file, too large, not text) refuses the module.
pub(crate) fn signature_beside(path: &Path) -> Result<Option<WasmSignature>, PluginError> {
    let sig = signature_path(path);
    let refused = |reason: String| {
        PluginError::from(PluginErrorKind::WasmModule {
            module: module_name(path),
            reason,
        })
    };
    match modreg_host::files::read_text(&sig) {
        // The parse error names neither the module nor the file; the module's refusal does.
        Ok(text) => WasmSignature::parse(&text).map(Some).map_err(|e| {
            // The reason alone: the kind's own words say "manifest".
            let reason = match e.kind() {
                PluginErrorKind::Manifest { reason } => reason.clone(),
                _ => e.to_string(),
            };
            refused(format!(
                "its signature file `{}` cannot be parsed: {reason}",
                module_name(&sig)
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(refused(format!("its signature file cannot be read: {e}"))),
    }
}

/// Reads at most `limit` bytes of `path`; more is an error.
pub(crate) fn read_capped(path: &Path, limit: usize) -> Result<Vec<u8>, PluginError> {
    modreg_host::files::read_regular(path, limit).map_err(|e| unreadable(path, &e))
}

/// The refusal of module file `path`, which could not be read.
pub(crate) fn unreadable(path: &Path, error: &std::io::Error) -> PluginError {
    PluginError::from(PluginErrorKind::WasmModule {
        module: module_name(path),
        reason: format!("cannot read: {error}"),
    })
}
