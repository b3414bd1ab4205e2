//! What a guest may call on its host (module `modreg`): a file under its granted directory, a
//! granted environment variable, a host function its plugin declares the permission of, and
//! reporting its panic's message. Every refusal is audited.
//!
//! Host calls are timed with the guest's call: one made after the call's deadline does not
//! run, and one that ends past it stops the guest there (a `Timeout`), rather than at the
//! next slice of fuel. The store's limiter refuses to grow memory past the deadline too: a
//! guest that grows its memory spends little fuel and much time, and would otherwise overrun
//! its budget by a slice of growth.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::config::WasmConfig;
use crate::host_function::{Answer, HostCall, HostFunction, HostFunctionError, Started};
use modreg_core::wasm_abi::{
    DENIED, FAILED, IMPORT_ENV_VAR, IMPORT_HOST_ANSWER, IMPORT_HOST_CALL, IMPORT_MODULE,
    IMPORT_PANIC, IMPORT_READ_FILE, NOT_FOUND,
};
use modreg_host::{Event, Events};

/// The longest path, variable name or panic message a guest may pass.
const MAX_ARGUMENT: u32 = 4096;

/// What one plugin may reach: its declared permissions intersected with the host's grants.
#[derive(Clone, Debug, Default)]
pub(crate) struct Grants {
    /// The plugin's name, for the audit trail.
    pub(crate) plugin: Arc<str>,
    /// The directory it may read under, canonical.
    pub(crate) read_dir: Option<PathBuf>,
    /// The environment variables it may read.
    pub(crate) env_vars: Vec<String>,
    /// The largest file or value it may read, and the largest input and answer of a host
    /// function.
    pub(crate) max_read: usize,
    /// The host functions offered to the registry's guests.
    pub(crate) host_functions: Vec<HostFunction>,
    /// The permissions the plugin declares: a host function is called only under its own.
    pub(crate) declared: Vec<String>,
}

impl Grants {
    /// The grants of a plugin declaring `permissions` under `config`.
    pub(crate) fn of(plugin: &str, permissions: &[String], config: &WasmConfig) -> Self {
        let declares = |p: &str| permissions.iter().any(|own| own == p);
        let read_dir = config
            .read_dir()
            .filter(|_| declares("file.read"))
            .and_then(|dir| dir.canonicalize().ok());
        let env_vars = config
            .env_vars()
            .iter()
            .filter(|name| declares(&format!("env.{}", name.to_ascii_lowercase())))
            .cloned()
            .collect();
        Grants {
            plugin: plugin.into(),
            read_dir,
            env_vars,
            max_read: config.max_output_bytes(),
            host_functions: config.host_functions().to_vec(),
            declared: permissions.to_vec(),
        }
    }
}

/// The host's side of a store: the limiter, the current call's grants and what it reported.
#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) limiter: MemoryCap,
    pub(crate) grants: Arc<Grants>,
    /// The guest's panic message, reported just before it trapped.
    pub(crate) panic_message: Option<String>,
    /// The permission a refused capability call needed, during the current call.
    pub(crate) denied: Option<String>,
    /// Capability calls refused during the current call (the first [`AUDITED_REFUSALS`] are
    /// told to the registry).
    pub(crate) refusals: u32,
    /// The last host function's answer or failure message, for `host_answer`.
    pub(crate) host_answer: Option<Vec<u8>>,
    /// An async host function the guest waits on: its call trapped with [`Suspended`], and
    /// resumes with the answer (`instance.rs`).
    pub(crate) pending: Option<PendingCall>,
    /// The registry's events, told of every refusal (security audits it).
    pub(crate) events: Events,
}

/// An async host function's call the guest is suspended on.
pub(crate) struct PendingCall {
    /// Its answer, to be awaited.
    pub(crate) answer: Answer,
    /// The function's name.
    pub(crate) function: String,
    /// Where the guest wants the answer: its address and room.
    pub(crate) out: (u32, u32),
    /// When it was called.
    pub(crate) started: Instant,
}

impl std::fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCall")
            .field("function", &self.function)
            .finish_non_exhaustive()
    }
}

/// What `host_call` ends the guest's run with while an async host function runs (the
/// interpreter's resumable call): the call is resumed with its answer, not failed.
#[derive(Debug)]
pub(crate) struct Suspended;

impl std::fmt::Display for Suspended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("suspended on an async host function")
    }
}

impl std::error::Error for Suspended {}

/// What a host function returns when the call's time is up: a trap, which the call reports as
/// a `Timeout` (the deadline has passed).
#[derive(Debug)]
pub(crate) struct PastDeadline;

impl std::fmt::Display for PastDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the call's time budget is spent")
    }
}

impl std::error::Error for PastDeadline {}

/// A host call's view of its guest, whichever engine runs it: the store's state and the
/// guest's linear memory. The imports below are written once over it; each engine's module
/// (`interpreter`, `jit`) adapts its own caller.
pub(crate) trait GuestContext {
    fn state(&self) -> &HostState;
    fn state_mut(&mut self) -> &mut HostState;
    /// Copies the guest's memory at `ptr` into `buf`; `false` when out of bounds.
    fn read(&self, ptr: u32, buf: &mut [u8]) -> bool;
    /// Copies `bytes` into the guest's memory at `ptr`; `false` when out of bounds.
    fn write(&mut self, ptr: u32, bytes: &[u8]) -> bool;
}

/// Refuses memory growth past the instance's cap, or past what all instances of the registry
/// may hold together, and remembers that it did.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    pub(crate) limit: usize,
    pub(crate) hit: bool,
    /// Bytes every instance of the registry holds, and the most they may.
    pub(crate) total: Arc<AtomicUsize>,
    pub(crate) total_limit: usize,
    /// Bytes this instance counted in `total`, given back when it is dropped.
    pub(crate) held: usize,
    /// Whether a growth was refused for the registry's budget (not the instance's own cap).
    pub(crate) total_hit: bool,
    /// When the current call's time is up (`None` before the first call).
    pub(crate) deadline: Option<Instant>,
    /// The current call's time budget.
    pub(crate) budget: std::time::Duration,
    /// Whether a growth was refused because the deadline had passed.
    pub(crate) late: bool,
}

impl MemoryCap {
    /// Whether the current call's deadline has passed.
    pub(crate) fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

impl Drop for MemoryCap {
    fn drop(&mut self) {
        self.total.fetch_sub(self.held, Ordering::AcqRel);
    }
}

impl MemoryCap {
    /// Whether linear memory may grow from `current` to `desired` bytes (`maximum`: what the
    /// module declares), counted against the registry's total when it may.
    pub(crate) fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> bool {
        if desired > current && self.past_deadline() {
            // Out of time: the guest's allocator fails and it traps; the call reports the
            // deadline, not memory.
            self.late = true;
            return false;
        }
        let mut allow = desired <= self.limit && maximum.is_none_or(|max| desired <= max);
        if allow {
            let more = desired.saturating_sub(current);
            allow = self
                .total
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                    held.checked_add(more).filter(|t| *t <= self.total_limit)
                })
                .is_ok();
            if allow {
                self.held += more;
            }
            self.total_hit |= !allow;
        }
        self.hit |= !allow;
        allow
    }

    /// Whether a table may grow to `desired` elements.
    pub(crate) fn table_growing(desired: usize, maximum: Option<usize>) -> bool {
        desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|max| desired <= max)
    }
}

/// The most elements a guest's table may grow to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// The `len` bytes at `ptr` of the guest's memory, if in bounds and not over `MAX_ARGUMENT`.
fn argument(guest: &impl GuestContext, ptr: u32, len: u32) -> Option<Vec<u8>> {
    if len > MAX_ARGUMENT {
        return None;
    }
    let mut bytes = vec![0; len as usize];
    guest.read(ptr, &mut bytes).then_some(bytes)
}

/// Reports a refused capability call: to the registry's events (security records it in its
/// audit log, principal `sandbox`, operation `process`, and counts it), as a warning, and
/// remembered so the call's error names the permission.
fn deny(guest: &mut impl GuestContext, permission: &str, what: &str) -> i64 {
    let state = guest.state_mut();
    state.denied = Some(permission.to_owned());
    state.refusals = state.refusals.saturating_add(1);
    let refusals = state.refusals;
    if refusals > AUDITED_REFUSALS {
        return DENIED;
    }
    let plugin = state.grants.plugin.clone();
    tracing::warn!(target: "modreg::audit", plugin = %plugin, permission, target = ?what, "sandbox refused a capability");
    let reason = if refusals == AUDITED_REFUSALS {
        format!(
            "no grant for `{permission}`: {what:?} (the call's {AUDITED_REFUSALS}th refusal: any more in this call are refused unrecorded)"
        )
    } else {
        format!("no grant for `{permission}`: {what:?}")
    };
    let event = Event::CapabilityRefused {
        plugin: &plugin,
        permission,
        reason: &reason,
    };
    state.events.emit(&event);
    DENIED
}

/// The capability refusals of one call that are logged and told to the registry (the security
/// layer audits each, to its file too): a guest asking in a loop would otherwise write the
/// audit file as fast as it can call. Every refusal is refused all the same.
pub(crate) const AUDITED_REFUSALS: u32 = 16;

/// Copies `value` to the guest at `out_ptr` if it fits `out_cap`; its length either way.
fn answer(guest: &mut impl GuestContext, value: &[u8], (out_ptr, out_cap): (u32, u32)) -> i64 {
    let Ok(len) = i64::try_from(value.len()) else {
        return FAILED;
    };
    if value.len() <= out_cap as usize && !guest.write(out_ptr, value) {
        return FAILED;
    }
    len
}

/// Whether `path` stays inside `root` when read lexically (no `..` above it).
fn lexically_inside(root: &Path, path: &Path) -> bool {
    let mut depth = 0usize;
    for component in path.strip_prefix(root).unwrap_or(path).components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::ParentDir if depth == 0 => return false,
            Component::ParentDir => depth -= 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return path.starts_with(root),
        }
    }
    true
}

/// Whether the file actually opened lies under `root`: a link swapped in between the check
/// and the open is caught here (Linux: the path the kernel reports for the descriptor).
#[cfg(target_os = "linux")]
fn opened_inside(file: &std::fs::File, root: &Path) -> bool {
    use std::os::fd::AsRawFd as _;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .is_ok_and(|opened| opened.starts_with(root))
}

#[cfg(not(target_os = "linux"))]
fn opened_inside(_: &std::fs::File, _: &Path) -> bool {
    true
}

/// `read_file`: a file under the plugin's granted directory, copied to `out` if it fits
/// `cap`; its length, or `NOT_FOUND`, `DENIED`, `FAILED`.
pub(crate) fn read_file(
    guest: &mut impl GuestContext,
    (ptr, len): (u32, u32),
    out: (u32, u32),
) -> i64 {
    let Some(path) = argument(guest, ptr, len).and_then(|b| String::from_utf8(b).ok()) else {
        return FAILED;
    };
    let Some(root) = guest.state().grants.read_dir.clone() else {
        return deny(guest, "file.read", &path);
    };
    let wanted = root.join(&path);
    // Symbolic links are resolved before the check, so a link cannot lead out of the root.
    let resolved = match wanted.canonicalize() {
        Ok(resolved) => resolved,
        Err(_) if lexically_inside(&root, &wanted) => return NOT_FOUND,
        Err(_) => return deny(guest, "file.read", &path),
    };
    if !resolved.starts_with(&root) {
        return deny(guest, "file.read", &path);
    }
    let max = guest.state().grants.max_read;
    // A FIFO or a device inside the grant is not a file to read: opening it must not block
    // the call past its time budget.
    let file = match modreg_host::files::open_regular(&resolved) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return NOT_FOUND,
        Err(_) => return FAILED,
    };
    if !opened_inside(&file, &root) {
        return deny(guest, "file.read", &path);
    }
    let mut contents = Vec::new();
    match file.take(max as u64 + 1).read_to_end(&mut contents) {
        Ok(n) if n <= max => answer(guest, &contents, out),
        _ => FAILED,
    }
}

/// `env_var`: a granted environment variable's value, as `read_file` answers.
pub(crate) fn env_var(
    guest: &mut impl GuestContext,
    (ptr, len): (u32, u32),
    out: (u32, u32),
) -> i64 {
    let Some(name) = argument(guest, ptr, len).and_then(|b| String::from_utf8(b).ok()) else {
        return FAILED;
    };
    if !guest.state().grants.env_vars.contains(&name) {
        let permission = format!("env.{}", name.to_ascii_lowercase());
        return deny(guest, &permission, &name);
    }
    match std::env::var_os(&name) {
        Some(value) => answer(guest, value.as_encoded_bytes(), out),
        None => NOT_FOUND,
    }
}

/// `host_call`: runs the host function the guest names, if its plugin declares the function's
/// permission; the answer (or the failure's message) is kept for `host_answer`. An async
/// function's call is left in [`HostState::pending`] for the engine to await (its return value
/// is then meaningless).
pub(crate) fn host_call(
    guest: &mut impl GuestContext,
    (name_ptr, name_len): (u32, u32),
    (in_ptr, in_len): (u32, u32),
    out: (u32, u32),
) -> i64 {
    guest.state_mut().host_answer = None;
    let Some(name) = argument(guest, name_ptr, name_len).and_then(|b| String::from_utf8(b).ok())
    else {
        return FAILED;
    };
    let grants = Arc::clone(&guest.state().grants);
    let Some(function) = grants.host_functions.iter().find(|f| f.name() == name) else {
        return NOT_FOUND;
    };
    if !grants.declared.iter().any(|p| p == function.permission()) {
        return deny(guest, function.permission(), &name);
    }
    let max = grants.max_read;
    // The length is checked before anything is allocated for it: a guest may claim 4 GiB.
    let input = (in_len as usize <= max)
        .then(|| {
            let mut input = vec![0; in_len as usize];
            guest.read(in_ptr, &mut input).then_some(input)
        })
        .flatten();
    let Some(input) = input else {
        guest.state_mut().host_answer = Some(
            format!("the input to `{name}` is outside the guest's memory or over {max} bytes")
                .into_bytes(),
        );
        return FAILED;
    };
    let started = Instant::now();
    let call = HostCall {
        plugin: &grants.plugin,
        function: &name,
    };
    // A panic in the embedder's function is that call's failure, not the host's end.
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| function.start(call, input)));
    let outcome = match outcome {
        Ok(Started::Pending(answer)) => {
            guest.state_mut().pending = Some(PendingCall {
                answer,
                function: name,
                out,
                started,
            });
            return 0;
        }
        Ok(Started::Done(answer)) => Some(answer),
        Err(_) => None,
    };
    settle(guest, &name, outcome, started.elapsed(), out)
}

/// Ends a host function's call with its `outcome` (`None`: it panicked): counted
/// (`Event::HostFunctionCalled`), the answer copied to the guest if it fits and kept for
/// `host_answer`, or the failure's message kept; the guest's return value.
pub(crate) fn settle(
    guest: &mut impl GuestContext,
    name: &str,
    outcome: Option<Result<Vec<u8>, HostFunctionError>>,
    elapsed: std::time::Duration,
    out: (u32, u32),
) -> i64 {
    let grants = Arc::clone(&guest.state().grants);
    let max = grants.max_read;
    let failure = match &outcome {
        Some(Ok(answer)) if answer.len() <= max => None,
        Some(Ok(answer)) => Some(format!(
            "`{name}` answered {} bytes, over the limit of {max}",
            answer.len()
        )),
        Some(Err(error)) => Some(error.to_string()),
        None => Some(format!("`{name}` panicked")),
    };
    guest.state().events.emit(&Event::HostFunctionCalled {
        plugin: &grants.plugin,
        function: name,
        elapsed,
        ok: failure.is_none(),
    });
    match (outcome, failure) {
        (Some(Ok(answer_bytes)), None) => {
            let len = answer(guest, &answer_bytes, out);
            guest.state_mut().host_answer = Some(answer_bytes);
            len
        }
        (_, message) => {
            guest.state_mut().host_answer = Some(message.unwrap_or_default().into_bytes());
            FAILED
        }
    }
}

/// `host_answer`: the last host function's answer or failure message, again.
pub(crate) fn host_answer(guest: &mut impl GuestContext, out: (u32, u32)) -> i64 {
    match guest.state().host_answer.clone() {
        Some(kept) => answer(guest, &kept, out),
        None => NOT_FOUND,
    }
}

/// `panic`: the guest's panic message, kept for the error its trap becomes.
pub(crate) fn panic_message(guest: &mut impl GuestContext, (ptr, len): (u32, u32)) {
    // The call's first message is its panic's, and the only one read: a guest calling again
    // and again (4 KiB a time) made each call a copy, and a slice of fuel some hundreds of
    // milliseconds of them, the deadline unchecked in between (this import is not timed: it
    // ends the guest's run, and the guest-to-host call it measures costs no clock read).
    if guest.state().panic_message.is_some() {
        return;
    }
    let message = argument(guest, ptr, len.min(MAX_ARGUMENT)).map_or_else(
        || "(unreadable panic message)".to_owned(),
        |b| String::from_utf8_lossy(&b).into_owned(),
    );
    guest.state_mut().panic_message = Some(message);
}

/// Defines the imports every engine offers the same way, each run by `$timed` (the engine's
/// check of the call's deadline around it): `read_file`, `env_var`, `host_answer`. `$linker` is
/// the engine's linker, `$caller` its caller type; `panic_message` and `host_call` differ by
/// engine and are defined beside it. (A macro: the two engines' linkers are distinct types with
/// the same `func_wrap`.)
macro_rules! link_timed_imports {
    ($linker:expr, $caller:ty, $timed:path) => {{
        use modreg_core::wasm_abi::{
            IMPORT_ENV_VAR, IMPORT_HOST_ANSWER, IMPORT_MODULE, IMPORT_READ_FILE,
        };
        $linker.func_wrap(
            IMPORT_MODULE,
            IMPORT_READ_FILE,
            |caller: $caller, ptr: u32, len: u32, out: u32, cap: u32| {
                $timed(caller, |guest| {
                    $crate::imports::read_file(guest, (ptr, len), (out, cap))
                })
            },
        )?;
        $linker.func_wrap(
            IMPORT_MODULE,
            IMPORT_ENV_VAR,
            |caller: $caller, ptr: u32, len: u32, out: u32, cap: u32| {
                $timed(caller, |guest| {
                    $crate::imports::env_var(guest, (ptr, len), (out, cap))
                })
            },
        )?;
        $linker.func_wrap(
            IMPORT_MODULE,
            IMPORT_HOST_ANSWER,
            |caller: $caller, out_ptr: u32, out_cap: u32| {
                $timed(caller, |guest| {
                    $crate::imports::host_answer(guest, (out_ptr, out_cap))
                })
            },
        )?;
    }};
}
pub(crate) use link_timed_imports;

/// Implements an engine's resource-limiter trait (`$limiter`, whose answers are `$answer`)
/// for [`MemoryCap`]: one instance, one memory, four tables, growth as `MemoryCap` decides.
macro_rules! memory_cap_limiter {
    ($limiter:path, $answer:ty) => {
        impl $limiter for $crate::imports::MemoryCap {
            fn memory_growing(
                &mut self,
                current: usize,
                desired: usize,
                maximum: Option<usize>,
            ) -> $answer {
                Ok($crate::imports::MemoryCap::memory_growing(
                    self, current, desired, maximum,
                ))
            }

            fn table_growing(
                &mut self,
                _current: usize,
                desired: usize,
                maximum: Option<usize>,
            ) -> $answer {
                Ok($crate::imports::MemoryCap::table_growing(desired, maximum))
            }

            fn instances(&self) -> usize {
                1
            }

            fn tables(&self) -> usize {
                4
            }

            fn memories(&self) -> usize {
                1
            }
        }
    };
}
pub(crate) use memory_cap_limiter;

/// What a module imports: its module name, the name, and whether it is a function.
pub(crate) struct Import<'a> {
    pub(crate) module: &'a str,
    pub(crate) name: &'a str,
    pub(crate) is_function: bool,
}

/// Refuses a module importing anything the sandbox does not offer, naming the first such
/// import (before the engine links it: its own error would be less clear).
pub(crate) fn check_imports<'a>(
    imports: impl IntoIterator<Item = Import<'a>>,
) -> Result<(), String> {
    for import in imports {
        let offered =
            import.module == IMPORT_MODULE && OFFERED.contains(&import.name) && import.is_function;
        if !offered {
            return Err(format!(
                "imports `{}::{}`, which the sandbox does not offer (it offers only {IMPORT_MODULE}::{{{}}})",
                import.module,
                import.name,
                OFFERED.join(", ")
            ));
        }
    }
    Ok(())
}

/// The imports a module may have.
const OFFERED: [&str; 5] = [
    IMPORT_READ_FILE,
    IMPORT_ENV_VAR,
    IMPORT_PANIC,
    IMPORT_HOST_CALL,
    IMPORT_HOST_ANSWER,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_does_not_grow_past_the_deadline() {
        let mut cap = MemoryCap {
            limit: 1 << 30,
            hit: false,
            total: Arc::default(),
            total_limit: 1 << 30,
            held: 0,
            total_hit: false,
            deadline: Some(Instant::now() + std::time::Duration::from_secs(60)),
            budget: std::time::Duration::from_secs(60),
            late: false,
        };
        assert!(cap.memory_growing(0, 1 << 20, None));
        cap.deadline = Some(Instant::now());
        assert!(!cap.memory_growing(1 << 20, 2 << 20, None));
        assert!(cap.late && !cap.hit, "refused for time, not for memory");
        // Shrinking or staying put is not growing.
        assert!(cap.memory_growing(1 << 20, 1 << 20, None));
    }

    /// A guest over one page of memory that counts what the host reads of it.
    struct Counted {
        state: HostState,
        memory: Vec<u8>,
        reads: std::cell::Cell<usize>,
    }

    impl GuestContext for Counted {
        fn state(&self) -> &HostState {
            &self.state
        }

        fn state_mut(&mut self) -> &mut HostState {
            &mut self.state
        }

        fn read(&self, ptr: u32, buf: &mut [u8]) -> bool {
            self.reads.set(self.reads.get() + 1);
            let at = ptr as usize;
            match self.memory.get(at..at + buf.len()) {
                Some(bytes) => {
                    buf.copy_from_slice(bytes);
                    true
                }
                None => false,
            }
        }

        fn write(&mut self, _: u32, _: &[u8]) -> bool {
            false
        }
    }

    #[test]
    fn a_calls_first_panic_message_is_kept_and_no_later_one_is_read() {
        let registry = modreg_host::ModuleRegistry::new();
        let config = crate::WasmConfig::new();
        let mut guest = Counted {
            state: crate::call::host_state(&config, &registry.events(), &Arc::default()),
            memory: [&b"first"[..], &[b'x'; 4091]].concat(),
            reads: std::cell::Cell::new(0),
        };
        panic_message(&mut guest, (0, 5));
        for _ in 0..1000 {
            panic_message(&mut guest, (0, MAX_ARGUMENT));
        }
        assert_eq!(guest.state.panic_message.as_deref(), Some("first"));
        assert_eq!(guest.reads.get(), 1, "one message read, not a thousand");
    }

    #[test]
    fn a_path_is_inside_its_root_unless_it_climbs_out() {
        let root = Path::new("/srv/data");
        assert!(lexically_inside(root, &root.join("a/b.txt")));
        assert!(lexically_inside(root, &root.join("a/../b.txt")));
        assert!(!lexically_inside(root, &root.join("../etc/passwd")));
        assert!(!lexically_inside(root, &root.join("a/../../etc")));
        // A guest's absolute path replaces the root when joined.
        assert!(!lexically_inside(root, Path::new("/etc/passwd")));
    }
}
