//! `Security`: the security layer's switches and state, and its answers to the host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use crate::error::SecurityError;
use modreg_core::{PluginError, PluginErrorKind, PluginSettings, PluginType};
use modreg_host::{Change, Code, Event, Interest, Layer, LayerContext, ModuleRegistry, Opened};

use crate::access::{AccessDecision, Operation, Principal, Role, decide};
use crate::acting::acting;
use crate::audit::{AccessMetrics, AuditEntry, AuditLog};
use crate::replay::{ReplayState, Staged};
use crate::sandbox::{DEFAULT_MAX_WORKERS, Policy, SandboxLimits, SandboxWrap};
use crate::secrets::{SecretKey, has_sealed, open_all, redact};
use crate::signature::{LastVerified, TrustedKey, verify_proof};
use crate::switches::Switches;
use std::fs::File;

/// The security layer: permission checks before construction, the sandbox around calls,
/// authenticated changes, sealed settings, principals, roles and the audit log.
///
/// Attach it to a host with [`ModuleRegistry::builder`]; it keeps its own switches and state
/// and answers the host through [`Layer`]. Each `configure_*` takes the registry it is
/// attached to, so that the registry decides again with the new switches.
///
/// ```
/// use std::sync::Arc;
/// use modreg_core::{PluginError, PluginErrorKind, PluginType};
/// use modreg_host::{ModuleRegistry, PluginConfig};
/// use modreg_security::{PluginSecurityConfig, Security};
///
/// let security = Arc::new(Security::new());
/// let registry = ModuleRegistry::builder().layer(security.clone()).build();
/// security.configure_plugin_security(&registry, &PluginSecurityConfig::new().with_plugin_permissions(true))?;
/// registry.registrations().register_plugin(
///     PluginConfig::new().with_name("reader").with_version("1.0.0").with_type(PluginType::Storage)
///         .add_permission("fs.read").with_constructor(|_| Err(PluginError::processing("reader", "none"))),
/// )?;
/// let refused = registry.create_plugin("reader").err().unwrap();
/// assert!(matches!(refused.kind(), PluginErrorKind::PermissionDenied { permission, .. } if permission == "fs.read"));
/// # Ok::<(), PluginError>(())
/// ```
#[derive(Default)]
pub struct Security {
    state: RwLock<State>,
    /// `state.switches` as bits, written with it: read on every check without the lock.
    switches: AtomicU16,
    audit: AuditLog,
    /// Held while a signed manifest is checked and applied (`manifest.rs`).
    pub(crate) signing: Mutex<()>,
    /// The sandbox's worker threads running now for this layer (`sandbox.rs`).
    workers: Arc<std::sync::atomic::AtomicUsize>,
    /// The last proof that verified: a module's, checked again for each of its plugins; a
    /// signed manifest's, checked again when its plugin registers (`manifest.rs`).
    pub(crate) verified: LastVerified,
}

impl fmt::Debug for Security {
    /// The switches and what is configured; keys show only their names.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Security")
            .field("switches", &state.switches)
            .field("limits", &state.limits)
            .field("trusted_keys", &state.trusted_keys)
            .field("secret_key", &state.secret_key.is_some())
            .field("roles", &state.roles.keys().collect::<Vec<_>>())
            .field("granted", &state.granted)
            .finish_non_exhaustive()
    }
}

/// Everything the layer keeps besides its audit log.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) switches: Switches,
    /// The sandbox's limits (used when sandboxing is on).
    pub(crate) limits: SandboxLimits,
    /// Keys whose signatures are accepted (used when authentication is on).
    pub(crate) trusted_keys: Vec<TrustedKey>,
    /// The key that opens sealed settings (used when encryption is on).
    pub(crate) secret_key: Option<SecretKey>,
    /// Principals' roles, by role name.
    pub(crate) roles: BTreeMap<String, Role>,
    /// Permissions granted to plugins (checked when permissions are on).
    pub(crate) granted: BTreeSet<String>,
    /// What signed manifests brought: an older or replayed one is measured against it.
    pub(crate) replay: ReplayState,
    /// Where `replay` is kept across restarts, if the host named a file.
    pub(crate) replay_file: Option<PathBuf>,
}

impl Security {
    /// Every switch off, nothing granted, no keys.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The switches in force.
    #[inline]
    pub(crate) fn switches(&self) -> Switches {
        Switches::from_bits(self.switches.load(Ordering::Acquire))
    }

    pub(crate) fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Changes the state with `change` (all or nothing), then has `registry` decide again.
    pub(crate) fn update<T>(
        &self,
        registry: &ModuleRegistry,
        change: impl FnOnce(&mut State) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        let out = {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            let out = change(&mut state)?;
            self.switches
                .store(state.switches.to_bits(), Ordering::Release);
            out
        };
        registry.layers_changed();
        Ok(out)
    }

    /// Applies a signed change with `apply` and records what it brought with `change`: the
    /// next replay state is written (if kept in a file) before the change is applied, a state
    /// that cannot be written refuses it, and a change the registry refuses leaves the state
    /// as it was. What is recorded never changes a decision, so no registry is told.
    pub(crate) fn record(
        &self,
        change: impl FnOnce(&mut ReplayState),
        apply: impl FnOnce() -> Result<(), PluginError>,
    ) -> Result<(), PluginError> {
        let (mut next, file) = {
            let state = self.state();
            (state.replay.clone(), state.replay_file.clone())
        };
        change(&mut next);
        let staged = file.as_deref().map(|f| next.stage(f)).transpose()?;
        apply()?;
        let kept = staged.map_or(Ok(()), Staged::commit);
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .replay = next;
        kept
    }

    /// Keeps what signed manifests brought in `path` (JSON), so that an old manifest stays
    /// refused after a restart: what the file holds is read and merged with what this layer
    /// accepted so far, and the file is rewritten before each signed change is applied. A
    /// file that exists but is not a replay state is an error (replay protection fails
    /// closed). Processes and registries may share the file: each signed change locks
    /// `PATH.lock` and reads the file again first, so each sees what the others accepted.
    pub fn persist_replay_state(&self, path: impl Into<PathBuf>) -> Result<(), PluginError> {
        let path = path.into();
        let _one_at_a_time = self.signing.lock().unwrap_or_else(PoisonError::into_inner);
        let _sharers_wait = crate::replay::lock(&path)?;
        let merged = ReplayState::read(&path)?.merged(&self.state().replay);
        merged.stage(&path)?.commit()?;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.replay = merged;
        state.replay_file = Some(path);
        Ok(())
    }

    /// With the replay state kept in a file, locks it until the answer is dropped (another
    /// process or registry sharing the file waits) and takes in what the file holds: what its
    /// other sharers accepted since. Called under `signing`, before a signed change is checked.
    pub(crate) fn take_in_shared_replay_state(&self) -> Result<Option<File>, PluginError> {
        let Some(path) = self.state().replay_file.clone() else {
            return Ok(None);
        };
        let lock = crate::replay::lock(&path)?;
        let theirs = ReplayState::read(&path)?;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.replay = theirs.merged(&state.replay);
        Ok(Some(lock))
    }

    /// Whether created plugins run in the sandbox now.
    pub fn sandboxing(&self) -> bool {
        self.switches().sandboxing
    }

    /// Whether runtime changes must be signed now.
    pub fn authentication(&self) -> bool {
        self.switches().authentication
    }

    /// Grants permissions that plugins may declare (checked while permissions are on).
    pub fn grant_permissions<'a>(
        &self,
        registry: &ModuleRegistry,
        permissions: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PluginError> {
        let permissions: Vec<String> = permissions.into_iter().map(str::to_owned).collect();
        for permission in &permissions {
            modreg_core::validate::check_identifier("permission", permission)?;
        }
        self.update(registry, |state| {
            state.granted.extend(permissions);
            Ok(())
        })
    }

    /// Decides whether `principal` may do `operation` on `plugin`, and logs and counts the
    /// decision as the access switches ask; `registry`'s layers hear of it.
    pub fn check_access(
        &self,
        registry: &ModuleRegistry,
        principal: &Principal,
        operation: Operation,
        plugin: &str,
    ) -> AccessDecision {
        // Grants limited to types need the plugin's: a registered plugin's is known.
        let plugin_type = registry.plugin(plugin).map(|info| info.plugin_type());
        let decision = {
            let state = self.state();
            decide(
                state.switches,
                &state.roles,
                principal,
                operation,
                plugin,
                plugin_type,
            )
        };
        match self.note_access(
            &|event| registry.emit(event),
            principal.name(),
            operation,
            plugin,
            &decision,
        ) {
            Ok(()) => decision,
            Err(error) => AccessDecision {
                allowed: false,
                reason: error.to_string(),
            },
        }
    }

    /// Whether the principal acting on this thread (an [`AccessScope`](crate::AccessScope)'s)
    /// may make a change of `operation` to `plugin`; a change with no principal is refused.
    /// Decided, audited and counted as any access.
    fn check_acting(
        &self,
        cx: &LayerContext<'_>,
        operation: Operation,
        plugin: &str,
        plugin_type: Option<PluginType>,
        record: Record,
    ) -> Result<(), PluginError> {
        let principal = acting();
        let decision = match &principal {
            Some(principal) => {
                let state = self.state();
                decide(
                    state.switches,
                    &state.roles,
                    principal,
                    operation,
                    plugin,
                    plugin_type,
                )
            }
            None => AccessDecision {
                allowed: false,
                reason: "a change under access control needs a principal allowed to make it (on_behalf_of) or a trusted signature".to_owned(),
            },
        };
        let name = principal.as_ref().map_or("-", Principal::name);
        if record == Record::Every || !decision.allowed {
            self.note_access(&|event| cx.emit(event), name, operation, plugin, &decision)?;
        }
        if decision.allowed {
            Ok(())
        } else {
            Err(PluginError::from(SecurityError::AccessDenied {
                principal: name.to_owned(),
                operation: operation.as_str(),
                plugin: plugin.to_owned(),
            }))
        }
    }

    /// The audit entries kept in memory (the last [`AUDIT_CAPACITY`](crate::AUDIT_CAPACITY))
    /// that `filter` accepts, oldest first.
    pub fn audit_log(&self, filter: impl Fn(&AuditEntry) -> bool) -> Vec<AuditEntry> {
        self.audit.entries(filter)
    }

    /// Access decisions counted while access monitoring was on.
    pub fn access_metrics(&self) -> AccessMetrics {
        self.audit.metrics()
    }

    /// Counts, records and announces (with `emit`) `decision`. An error means the audit file
    /// could not be written and fails closed: the caller refuses the operation.
    pub(crate) fn note_access(
        &self,
        emit: &dyn Fn(&Event<'_>),
        principal: &str,
        operation: Operation,
        plugin: &str,
        decision: &AccessDecision,
    ) -> Result<(), PluginError> {
        let switches = self.switches();
        if switches.access_monitoring {
            self.audit.count(operation, decision.allowed);
        }
        emit(&Event::AccessDecided {
            principal,
            operation: operation.as_str(),
            plugin,
            allowed: decision.allowed,
        });
        if switches.access_logging {
            self.audit
                .append(principal, operation, plugin, decision.clone())
                .map_err(|reason| {
                    PluginError::from(SecurityError::AuditUnavailable {
                        operation: operation.as_str(),
                        plugin: plugin.to_owned(),
                        reason,
                    })
                })?;
        }
        Ok(())
    }

    /// Audits the outcome of verifying the signature of a change to `plugin`.
    pub(crate) fn note_authentication(
        &self,
        emit: &dyn Fn(&Event<'_>),
        plugin: &str,
        error: Option<&PluginError>,
    ) -> Result<(), PluginError> {
        let decision = AccessDecision {
            allowed: error.is_none(),
            reason: error.map_or_else(|| "signature verified".to_owned(), ToString::to_string),
        };
        self.note_access(emit, "-", Operation::Register, plugin, &decision)
    }
}

impl Layer for Security {
    fn checks(&self, _: &LayerContext<'_>) -> bool {
        self.switches().permissions
    }

    /// With permissions on, every permission the code declares must be granted; the decision
    /// is audited.
    fn check(&self, cx: &LayerContext<'_>, code: &Code<'_>) -> Result<(), PluginError> {
        let missing = {
            let state = self.state();
            if !state.switches.permissions {
                return Ok(());
            }
            code.permissions
                .iter()
                .find(|p| !state.granted.contains(**p))
                .map(|p| (*p).to_owned())
        };
        let decision = AccessDecision {
            allowed: missing.is_none(),
            reason: missing.as_ref().map_or_else(
                || "permissions granted".to_owned(),
                |p| format!("permission `{p}` not granted"),
            ),
        };
        self.note_access(
            &|event| cx.emit(event),
            "-",
            Operation::Instantiate,
            code.name,
            &decision,
        )?;
        match missing {
            Some(permission) => Err(PluginError::from(PluginErrorKind::PermissionDenied {
                plugin: code.name.to_owned(),
                permission,
            })),
            None => Ok(()),
        }
    }

    /// With authentication on, a change must carry a proof signed by a trusted key; with
    /// secure loading on, compiled-in plugins are neither shadowed nor removed.
    fn check_change(&self, cx: &LayerContext<'_>, change: Change<'_>) -> Result<(), PluginError> {
        let switches = self.switches();
        // A shadowing is signed with its registration, a declaration with its source's load.
        let signed_change = !matches!(change, Change::Shadow { .. } | Change::Declare { .. });
        if switches.authentication && signed_change {
            let name = change.name();
            let verdict = match change.proof() {
                Some(proof) => verify_proof(
                    &self.state().trusted_keys,
                    name,
                    &proof,
                    Some(&self.verified),
                ),
                None => Err(PluginError::from(SecurityError::Unsigned {
                    plugin: name.to_owned(),
                })),
            };
            self.note_authentication(&|event| cx.emit(event), name, verdict.as_ref().err())?;
            verdict?;
        }
        // Under access control a change needs a principal allowed to make it; a change
        // signed by a trusted key (verified above) carries its authority in the signature.
        let enforced = switches.role_based_access || switches.authorization;
        if !switches.authentication
            && let Some(operation) = operation_of(&change)
            && (enforced || acting().is_some())
        {
            // A registration names its type: a grant limited to types is checked against it.
            let plugin_type = match change {
                Change::Register { plugin_type, .. } | Change::Declare { plugin_type, .. } => {
                    plugin_type
                }
                _ => None,
            };
            // A declaration is the registration asked early: it is recorded when refused, and
            // when allowed by the registration itself, so each is audited once.
            let record = if matches!(change, Change::Declare { .. }) {
                Record::Refusals
            } else {
                Record::Every
            };
            self.check_acting(cx, operation, change.name(), plugin_type, record)?;
        }
        if !switches.secure_loading {
            return Ok(());
        }
        match change {
            Change::Shadow { name, compiled } => {
                Err(PluginError::from(PluginErrorKind::AlreadyRegistered {
                    name: name.to_owned(),
                    existing: format!(
                        "compiled in at {compiled}; secure plugin loading forbids shadowing it"
                    ),
                }))
            }
            Change::Unregister {
                name,
                compiled: true,
                ..
            } => Err(PluginError::invalid(
                "unregistration",
                name,
                "secure plugin loading forbids removing a compiled-in plugin",
            )),
            _ => Ok(()),
        }
    }

    /// With sandboxing on: panics contained, and the configured size and time limits.
    fn interest(&self, _: &LayerContext<'_>, _: &str, _: bool) -> Interest {
        let state = self.state();
        if !state.switches.sandboxing {
            return Interest::none();
        }
        let limits = state.limits;
        Interest::none().with_wrap(Arc::new(SandboxWrap(Policy {
            max_input_bytes: limits.max_input_bytes,
            max_output_bytes: limits.max_output_bytes,
            time_budget: limits.time_budget,
            max_workers: limits.max_workers.unwrap_or(DEFAULT_MAX_WORKERS),
            workers: Arc::clone(&self.workers),
        })))
    }

    /// Sealed values opened for `name` (with encryption on and a key); what was opened is kept
    /// out of the constructor's errors and overwritten when dropped.
    fn open_settings(
        &self,
        _: &LayerContext<'_>,
        name: &str,
        settings: &PluginSettings,
    ) -> Result<Option<Opened>, PluginError> {
        if !has_sealed(settings) {
            return Ok(None);
        }
        let (opened, secrets) = {
            let state = self.state();
            open_all(
                state.secret_key.as_ref(),
                state.switches.encryption,
                name,
                settings,
            )?
        };
        Ok(Some(Opened::new(opened, move |error| {
            redact(error, &secrets)
        })))
    }

    fn on_event(&self, event: &Event<'_>) {
        if let Event::CapabilityRefused {
            plugin,
            permission: _,
            reason,
        } = *event
        {
            self.audit
                .record_refusal("sandbox", Operation::Process, plugin, reason.to_owned());
        }
    }
}

/// Which access decisions a check records (audits, counts and emits).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Record {
    Every,
    /// Only refusals: the allowed decision is recorded by a later check of the same change.
    Refusals,
}

/// The access operation a change is: a registration (or its declaration, asked before the
/// source compiles), a removal or a change of settings. Shadowing a compiled-in plugin comes
/// with a registration, which is the one asked.
fn operation_of(change: &Change<'_>) -> Option<Operation> {
    match change {
        Change::Register { .. } | Change::Declare { .. } => Some(Operation::Register),
        Change::Unregister { .. } => Some(Operation::Unregister),
        Change::Settings { .. } => Some(Operation::Configure),
        _ => None,
    }
}
