//! The compiling engine's disk cache: a module's machine code kept in a file named for the
//! module's SHA-256 and the engine's fingerprint, and checked against a SHA-256 of the
//! module's and the code before it is used.
//!
//! Written here rather than with wasmtime's own cache (feature `cache`): that one brings a
//! configuration file format, compression and a background worker, for what is a file per
//! module here.
//!
//! A file is the SHA-256 of the module's SHA-256 and the code, followed by the code (what
//! `Module::serialize` wrote): the sum binds the code to the module the file is named for, so
//! another module's file, copied or linked under this one's name, is not used. A file that is
//! short, damaged, another module's or from another engine is not used (the module is compiled
//! again and the file replaced); a file is written to a temporary name and renamed, so a
//! reader never sees half of one.
//!
//! The sum finds damage and mix-ups, not a forgery: whoever may write the directory may write
//! a file the host runs. So on Unix the directory is made readable by its owner alone, and a
//! directory or a file another user owns or may write is not used at all (as ssh treats its
//! keys); elsewhere the directory must be guarded by whoever configures it.
//!
//! The files take at most the configured limit (`WasmConfig::with_jit_cache_limit`): after a
//! store, the least recently used go (by modification time, which a load renews). A temporary
//! file a process killed mid-write left behind goes at the next store once it is
//! [`STALE_TEMPORARY`] old.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use wasmtime::{Engine, Module};

use modreg_host::state_file::{create_private_dir, others_may_write};

use crate::digest::sha256_parts;

/// The largest cache file read back: machine code is a few times its module's size, and a
/// module is at most `max_module_bytes`.
const MAX_CACHE_FILE: usize = 512 << 20;

/// How old a temporary file (`NAME.PID-N.tmp`, written and then renamed by [`store`]) must be
/// before a store takes it for one a killed process left: a write takes at most a few
/// seconds, even of [`MAX_CACHE_FILE`] bytes.
const STALE_TEMPORARY: Duration = Duration::from_secs(600);

/// The cache file of the module with SHA-256 `digest` compiled by `engine`.
fn path_of(dir: &Path, engine: &Engine, digest: &[u8; 32]) -> PathBuf {
    // The engine's settings, target and version: code compiled under other ones is another
    // file. (A `DefaultHasher` is stable within one build of the host, which is what a cache
    // file outliving it needs: another build's files are not found, and are compiled again.)
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    // What is compiled is the module with its state exported (`state`), and the file's sum
    // binds it to the module: not a file an earlier host, which compiled it without or
    // summed the code alone, wrote.
    "state-exports, sum of module and code".hash(&mut hasher);
    dir.join(format!(
        "{}-{:016x}.cwasm",
        hex::encode(digest),
        hasher.finish()
    ))
}

/// The SHA-256 a cache file of the module with SHA-256 `digest` holding `code` starts with.
fn sum_of(digest: &[u8; 32], code: &[u8]) -> [u8; 32] {
    sha256_parts(&[digest, code])
}

/// `dir`, made if it is missing (on Unix readable and writable by its owner alone), if
/// machine code from it may run in this process; else `None`, with a warning saying why, and
/// the module is compiled and not cached.
pub(crate) fn usable(dir: &Path) -> Option<&Path> {
    let refused = match create_private_dir(dir).and_then(|()| std::fs::metadata(dir)) {
        Ok(metadata) => others_may_write(&metadata),
        Err(error) => Some(error.to_string()),
    };
    match refused {
        None => Some(dir),
        Some(reason) => {
            tracing::warn!(dir = %dir.display(), reason, "the compiled-module cache directory is not used; the module is compiled");
            None
        }
    }
}

/// The module with SHA-256 `digest`, from `dir` (one [`usable`] gave), if a sound file of it
/// is there.
pub(crate) fn load(dir: &Path, engine: &Engine, digest: &[u8; 32]) -> Option<Module> {
    let path = path_of(dir, engine, digest);
    let file = modreg_host::files::open_regular(&path).ok()?;
    // Checked on the opened file: no rename between the check and the read.
    if let Some(reason) = file.metadata().ok().as_ref().and_then(others_may_write) {
        tracing::warn!(file = %path.display(), reason, "a cached compiled module may be another user's; compiling it again");
        return None;
    }
    let bytes = modreg_host::files::read_limited(file, MAX_CACHE_FILE).ok()?;
    let (sum, code) = bytes.split_at_checked(32)?;
    if sum_of(digest, code) != sum {
        tracing::warn!(file = %path.display(), "a cached compiled module is damaged or another module's; compiling it again");
        return None;
    }
    // SAFETY: `Module::deserialize` runs machine code it is given, so the bytes must be what
    // `Module::serialize` wrote. They are: the file is named for this module's digest and this
    // engine's fingerprint, its contents match the sum of that digest and the code stored
    // with it (so it is whole, as `store` wrote it for this module), and wasmtime refuses code
    // from another engine version or configuration itself. The file and its directory are the
    // host's: on Unix owned by its user (or root) and writable by no other (`others_may_write`);
    // elsewhere `with_jit_cache_dir` says the directory must be the host's alone.
    #[allow(unsafe_code)]
    let module = unsafe { Module::deserialize(engine, code) };
    let module = module
        .inspect_err(|e| tracing::warn!(file = %path.display(), error = %e, "a cached compiled module cannot be used; compiling it again"))
        .ok()?;
    // Used now: the last file the limit removes.
    renew(&path);
    Some(module)
}

/// Sets `path`'s modification time to now (what `trim` orders files by); a failure leaves it
/// older, and removed sooner.
fn renew(path: &Path) {
    let _ = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(SystemTime::now()));
}

/// Removes the least recently modified cache files (`*.cwasm`, regular files, whatever engine
/// wrote them) of `dir` until the rest take at most `limit` bytes. Nothing else in `dir` is
/// counted or touched. Listing the directory is cheap beside the compilation that precedes
/// every store.
fn trim(dir: &Path, limit: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut files: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    for entry in listing.filter_map(Result::ok) {
        // Not followed: a link is not the cache's file.
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "cwasm") {
            files.push((modified, metadata.len(), path));
        } else if is_temporary(&path)
            && now
                .duration_since(modified)
                .is_ok_and(|age| age >= STALE_TEMPORARY)
        {
            // A killed process's half-written file: nothing will rename it.
            let _ = std::fs::remove_file(&path);
        }
    }
    let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
    if total <= limit {
        return;
    }
    files.sort();
    for (_, size, path) in files {
        if total <= limit {
            break;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => total -= size,
            // Another process took it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= size,
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "a cached compiled module over the cache's limit could not be removed");
            }
        }
    }
}

/// A name no other store, in this process or another, writes at the same time: the cache
/// file's, with the process id and the store's number in the process. (Two registries of one
/// process storing one module at once wrote one temporary file before: the second's write
/// truncated the first's, and a reader could meet a half-written cache file.)
fn temporary_of(path: &Path) -> PathBuf {
    static STORES: AtomicU64 = AtomicU64::new(0);
    let n = STORES.fetch_add(1, Ordering::Relaxed);
    path.with_extension(format!("{}-{n}.tmp", std::process::id()))
}

/// Whether `path` is named as [`store`]'s temporary files are: `HEX-FINGERPRINT.PID-N.tmp`
/// (64 and 16 lowercase hex digits, a process id, a number), or `HEX-FINGERPRINT.PID.tmp`,
/// as earlier versions named them.
fn is_temporary(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let Some(rest) = name.strip_suffix(".tmp") else {
        return false;
    };
    let Some((stem, pid)) = rest.rsplit_once('.') else {
        return false;
    };
    let Some((sum, fingerprint)) = stem.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let numbered = match pid.split_once('-') {
        Some((pid, n)) => digits(pid) && digits(n),
        None => digits(pid),
    };
    hex(sum, 64) && hex(fingerprint, 16) && numbered
}

/// Keeps `module` (SHA-256 `digest`) in `dir` (one [`usable`] gave), whose cache files then
/// take at most `limit` bytes; a failure is logged, not an error (the module serves from
/// memory).
pub(crate) fn store(dir: &Path, engine: &Engine, digest: &[u8; 32], module: &Module, limit: u64) {
    let written = (|| -> Result<(), String> {
        let code = module.serialize().map_err(|e| e.to_string())?;
        let mut contents = sum_of(digest, &code).to_vec();
        contents.extend_from_slice(&code);
        let path = path_of(dir, engine, digest);
        let temporary = temporary_of(&path);
        let mut options = std::fs::File::options();
        options.write(true).create_new(true);
        // Its owner's alone, whatever the process's umask: a file others may write is not
        // used.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&temporary)
            .and_then(|mut file| std::io::Write::write_all(&mut file, &contents))
            .map_err(|e| e.to_string())?;
        std::fs::rename(&temporary, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            e.to_string()
        })?;
        // To the clock's full precision (a write's time may be a tick old): the newest file.
        renew(&path);
        Ok(())
    })();
    if let Err(error) = written {
        tracing::warn!(dir = %dir.display(), error, "a compiled module could not be cached");
    }
    trim(dir, limit);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stores_own_temporary_names_are_temporary() {
        let sum = "0f".repeat(32);
        for ours in [
            format!("{sum}-00000000000000ff.4242-0.tmp"),
            format!("{sum}-00000000000000ff.4242-17.tmp"),
            // An earlier version's.
            format!("{sum}-00000000000000ff.4242.tmp"),
        ] {
            assert!(is_temporary(Path::new(&ours)), "{ours}");
        }
        for other in [
            format!("{sum}-00000000000000ff.cwasm"),
            format!("{sum}-00000000000000ff.tmp"),
            format!("{sum}-00000000000000ff.42a.tmp"),
            format!("{sum}-00000000000000ff.4242-.tmp"),
            format!("{sum}-00000000000000ff.-17.tmp"),
            format!("{sum}-00000000000000ff.42-1-7.tmp"),
            format!("{sum}-00000000000000FF.4242.tmp"),
            format!("{}-00000000000000ff.4242.tmp", "0f".repeat(31)),
            "notes.1.tmp".to_owned(),
            ".tmp".to_owned(),
        ] {
            assert!(!is_temporary(Path::new(&other)), "{other}");
        }
    }

    /// Two stores of one module at once (two registries of one process) write two files.
    #[test]
    fn each_store_writes_a_temporary_file_of_its_own() {
        let path = Path::new("/cache").join(format!("{}-00000000000000ff.cwasm", "0f".repeat(32)));
        let names: Vec<PathBuf> = std::thread::scope(|scope| {
            let stores: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| temporary_of(&path)))
                .collect();
            stores.into_iter().map(|s| s.join().unwrap()).collect()
        });
        let distinct: std::collections::BTreeSet<&PathBuf> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        for name in &names {
            assert!(is_temporary(name), "{}", name.display());
            assert_eq!(name.parent(), path.parent());
        }
    }
}
