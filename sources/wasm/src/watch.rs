//! Hot reload: a thread that brings a registry in line with its plugin directory, until the
//! returned guard is dropped.
//!
//! The thread waits on the directory's file notifications (`notify`: inotify, FSEvents,
//! ReadDirectoryChangesW) and, after the first event of a burst, for [`COALESCE`] of quiet, so
//! that a module written in several pieces (or many modules copied at once) is loaded in one
//! pass; at most [`MAX_COALESCE`] after the first, so that a file that never stops changing
//! (a log written beside the modules) cannot hold the reloads back. One pending change is
//! kept, however many events arrive during a pass. Where notifications are unavailable it
//! polls every `interval`; with them it still passes every `interval`, in case an event was
//! lost (a pass costs two `stat`s per unchanged module, its file's and its signature file's:
//! only a module whose stamp (size, modification time and, on Unix, inode and status-change
//! time), or its signature file's, changed is read and hashed again).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use modreg_host::ModuleRegistry;

use crate::load::Wasm;

/// How long a burst of file events must be quiet before the directory is passed over.
pub const COALESCE: Duration = Duration::from_millis(30);

/// The longest a burst of file events holds a pass back, from its first event.
pub const MAX_COALESCE: Duration = Duration::from_millis(250);

/// The shortest interval between passes: a shorter one (zero, say) is taken as this. A pass
/// lists the directory and looks at every module file, so a zero interval would pass without
/// end, a core's worth of system calls.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// What the watching thread hears.
enum Signal {
    /// Something in the directory changed.
    Changed,
    /// The watcher was dropped.
    Stop,
}

/// Watches a plugin directory for a registry; stops when dropped.
#[derive(Debug)]
pub struct WasmWatcher {
    stop: SyncSender<Signal>,
    /// The file-notification source, `None` where the watcher polls.
    notifier: Option<notify::RecommendedWatcher>,
    passes: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WasmWatcher {
    fn drop(&mut self) {
        let _ = self.stop.send(Signal::Stop);
        drop(self.notifier.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl WasmWatcher {
    /// Loads `dir` now, then again whenever a file in it changes (and every `interval`, or only
    /// every `interval` where file notifications are unavailable), into the registry
    /// `registry` holds, with the sandbox it holds: a new or changed module is loaded (calls
    /// in flight finish on the old code), a removed one unloaded, and one that fails to load
    /// or verify is refused (logged, counted, alerted) while the version before it keeps
    /// serving. The watcher keeps a weak reference to `registry` and stops when dropped or
    /// when the registry is. An `interval` under 10 ms is taken as 10 ms (a zero one would
    /// pass over the directory without end).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use modreg_host::ModuleRegistry;
    /// use modreg_wasm::{Wasm, WasmWatcher};
    ///
    /// struct Host {
    ///     registry: ModuleRegistry,
    ///     wasm: Wasm,
    /// }
    /// impl AsRef<ModuleRegistry> for Host {
    ///     fn as_ref(&self) -> &ModuleRegistry { &self.registry }
    /// }
    /// impl AsRef<Wasm> for Host {
    ///     fn as_ref(&self) -> &Wasm { &self.wasm }
    /// }
    ///
    /// let host = Arc::new(Host { registry: ModuleRegistry::new(), wasm: Wasm::new() });
    /// let _watcher = WasmWatcher::start(&host, "plugins", Duration::from_secs(60));
    /// // ... serve; dropping `_watcher` stops watching.
    /// ```
    pub fn start<R>(registry: &Arc<R>, dir: impl Into<PathBuf>, interval: Duration) -> WasmWatcher
    where
        R: AsRef<ModuleRegistry> + AsRef<Wasm> + Send + Sync + 'static,
    {
        // One signal waits at most: a change already pending says all the next ones would.
        let (stop, signals) = sync_channel::<Signal>(1);
        let dir = dir.into();
        let interval = interval.max(MIN_INTERVAL);
        let notifier = notifications(&dir, stop.clone());
        let events = notifier.is_some();
        let passes = Arc::new(AtomicU64::new(0));
        let registry = Arc::downgrade(registry);
        let counted = Arc::clone(&passes);
        let thread = std::thread::Builder::new()
            .name("modreg-wasm-watch".to_owned())
            .spawn(move || {
                let mut listing = Listing::default();
                loop {
                    let Some(registry) = registry.upgrade() else {
                        return;
                    };
                    pass(&*registry, &dir, &mut listing);
                    counted.fetch_add(1, Ordering::Relaxed);
                    drop(registry);
                    if !wait(&signals, interval, events) {
                        return;
                    }
                }
            })
            .ok();
        WasmWatcher {
            stop,
            notifier,
            passes,
            thread,
        }
    }

    /// Whether the directory's file notifications drive the reloads (else it is polled).
    pub fn is_event_driven(&self) -> bool {
        self.notifier.is_some()
    }

    /// How many passes over the directory were made so far: a burst of writes makes one, not
    /// one per write.
    pub fn passes(&self) -> u64 {
        self.passes.load(Ordering::Relaxed)
    }
}

/// A notifier sending `Changed` for every event in `dir`, or `None` (logged) where the
/// platform or the directory gives none.
fn notifications(
    dir: &std::path::Path,
    signals: SyncSender<Signal>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher as _;
    let watcher = notify::recommended_watcher(move |_: notify::Result<notify::Event>| {
        // An error (a lost event, an overflow) is a change too: the pass rereads the directory.
        // Full: a change is pending already.
        let _ = signals.try_send(Signal::Changed);
    })
    .and_then(|mut watcher| {
        watcher.watch(dir, notify::RecursiveMode::NonRecursive)?;
        Ok(watcher)
    });
    match watcher {
        Ok(watcher) => Some(watcher),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "file notifications unavailable: polling the plugin directory instead");
            None
        }
    }
}

/// Waits for the next pass: a change followed by [`COALESCE`] of quiet (or [`MAX_COALESCE`]
/// of changes), or `interval`. `false` when the watcher was dropped.
fn wait(signals: &Receiver<Signal>, interval: Duration, events: bool) -> bool {
    match signals.recv_timeout(interval) {
        Ok(Signal::Changed) if events => {
            let latest = Instant::now() + MAX_COALESCE;
            loop {
                let quiet = COALESCE.min(latest.saturating_duration_since(Instant::now()));
                if quiet.is_zero() {
                    return true;
                }
                match signals.recv_timeout(quiet) {
                    Ok(Signal::Changed) => {}
                    Err(RecvTimeoutError::Timeout) => return true,
                    Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return false,
                }
            }
        }
        Ok(Signal::Changed) | Err(RecvTimeoutError::Timeout) => true,
        Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => false,
    }
}

/// What the watcher last said of the directory itself: one that stays unreadable (removed,
/// say) is logged when it becomes so and when it can be read again, not at every pass (as a
/// module file refused is logged once).
#[derive(Debug, Default)]
struct Listing {
    /// Why the last pass could not list the directory.
    failed: Option<String>,
    /// Why other users may put modules in it, as the last pass found
    /// ([`WasmLoadReport::open_to_others`](crate::WasmLoadReport::open_to_others)).
    open: Option<String>,
}

/// One pass over `dir`.
fn pass<R: AsRef<ModuleRegistry> + AsRef<Wasm>>(
    registry: &R,
    dir: &std::path::Path,
    listing: &mut Listing,
) {
    let host: &ModuleRegistry = registry.as_ref();
    let wasm: &Wasm = registry.as_ref();
    match wasm.on(host).load_wasm_plugins(dir) {
        Ok(report) => {
            if listing.failed.take().is_some() {
                tracing::info!(dir = %dir.display(), "the plugin directory can be read again");
            }
            if report.open_to_others != listing.open {
                match &report.open_to_others {
                    Some(reason) => {
                        tracing::warn!(dir = %dir.display(), reason, "other users may add or replace modules in the plugin directory: unless signatures are required, what they put there is loaded");
                    }
                    None => {
                        tracing::info!(dir = %dir.display(), "the plugin directory is this user's alone to write again");
                    }
                }
                listing.open = report.open_to_others;
            }
            for (module, error) in &report.refused {
                tracing::warn!(module, error = %error.to_string().escape_debug(), "plugin module refused; the version before it, if any, keeps serving");
            }
        }
        Err(error) => {
            let error = error.to_string();
            if listing.failed.as_ref() != Some(&error) {
                tracing::warn!(error = %error.escape_debug(), "cannot read the plugin directory; passes go on, and say so again only if the error changes");
            }
            listing.failed = Some(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    struct Host {
        registry: ModuleRegistry,
        wasm: Wasm,
    }
    impl AsRef<ModuleRegistry> for Host {
        fn as_ref(&self) -> &ModuleRegistry {
            &self.registry
        }
    }
    impl AsRef<Wasm> for Host {
        fn as_ref(&self) -> &Wasm {
            &self.wasm
        }
    }

    /// What the log subscriber writes.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Logs {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What the passes over `dir` log, each made after `before(pass)` (a change to the
    /// directory), by one watcher's state.
    fn logged_passes(dir: &std::path::Path, passes: usize, before: impl Fn(usize)) -> String {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let host = Host {
            registry: ModuleRegistry::new(),
            wasm: Wasm::new(),
        };
        let mut listing = Listing::default();
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..passes {
                before(n);
                pass(&host, dir, &mut listing);
            }
        });
        let bytes = logs.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// A plugin directory missing for three passes is logged once, its return once, and its
    /// removal again once.
    #[test]
    fn a_directory_that_cannot_be_read_is_logged_once_until_it_can() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("plugins");
        let text = logged_passes(&dir, 6, |n| match n {
            3 => std::fs::create_dir(&dir).unwrap(),
            5 => std::fs::remove_dir(&dir).unwrap(),
            _ => {}
        });
        assert_eq!(
            text.matches("cannot read the plugin directory").count(),
            2,
            "{text}"
        );
        assert_eq!(text.matches("can be read again").count(), 1, "{text}");
    }

    /// A plugin directory other users may write is told once, while it stays so (not at
    /// every pass), again when why changes, and when it is its owner's alone again.
    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_is_told_once_until_it_changes() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path().join("plugins");
        std::fs::create_dir(&dir).unwrap();
        let modes = [0o700, 0o777, 0o777, 0o777, 0o775, 0o700, 0o700];
        let chmod = |mode: u32| {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let text = logged_passes(&dir, modes.len(), |n| chmod(modes[n]));
        chmod(0o700);
        let told: Vec<&str> = text
            .lines()
            .filter(|line| line.contains("other users may add or replace modules"))
            .collect();
        assert_eq!(told.len(), 2, "{text}");
        assert!(told[0].contains("mode 777"), "{text}");
        assert!(told[1].contains("mode 775"), "{text}");
        assert_eq!(text.matches("alone to write again").count(), 1, "{text}");
        assert!(!text.contains("cannot read"), "{text}");
    }
}
