//! Plugin security: the three configurations of the specification and what they switch.
//!
//! - [`PluginSecurityConfig`]: secure loading, validation, sandboxing, permissions;
//! - [`AdvancedPluginSecurityConfig`]: those, plus encryption of secret settings,
//!   authentication of runtime registrations by signed manifests, and authorization of calls
//!   made on behalf of a principal;
//! - [`PluginAccessControlConfig`]: role-based access, permission validation, access logging
//!   and monitoring.
//!
//! `docs/security.md` says what each switch does, and what an in-process plugin cannot be
//! kept from doing.

mod access;
mod audit;
mod manifest;
mod scope;
mod secrets;

use std::time::Duration;

pub use self::access::{AccessDecision, Operation, Principal, Role};
pub(crate) use self::audit::AuditLog;
pub use self::audit::{AUDIT_CAPACITY, AccessMetrics, AuditEntry};
pub use self::manifest::{SignedManifest, TrustedKey};
#[cfg(feature = "wasm")]
pub(crate) use self::manifest::{decode_hex, encode_hex, sign_bytes};
pub use self::scope::AccessScope;
pub use self::secrets::SecretKey;
pub(crate) use self::secrets::{Secrets, redact};
use self::secrets::{has_sealed, open_all};

use crate::configuration::{SystemFlags, set};
use crate::flag_builders;
use crate::layer::{Change, Code, Policy};
use crate::overlay::Overlay;
use crate::registry::ModuleRegistry;
use modreg_core::{PluginError, PluginErrorKind};

/// The sandbox's limits, applied to created plugins while sandboxing is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxLimits {
    /// Inputs larger than this are refused.
    pub max_input_bytes: Option<usize>,
    /// Outputs larger than this are refused.
    pub max_output_bytes: Option<usize>,
    /// Each call runs on a worker thread and times out after this long.
    pub time_budget: Option<Duration>,
    /// With a time budget: how many worker threads may run at once in the process, calls
    /// that timed out and still run included. A call that finds none free is refused
    /// ([`PluginErrorKind::SandboxExhausted`]), so stuck plugins cannot pile up threads and the
    /// memory they hold. [`DEFAULT_MAX_WORKERS`] when `None`.
    pub max_workers: Option<usize>,
}

impl SandboxLimits {
    /// No limits: each is set with its `with_` method.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses inputs larger than `bytes`.
    pub fn with_max_input_bytes(mut self, bytes: usize) -> Self {
        self.max_input_bytes = Some(bytes);
        self
    }

    /// Refuses outputs larger than `bytes`.
    pub fn with_max_output_bytes(mut self, bytes: usize) -> Self {
        self.max_output_bytes = Some(bytes);
        self
    }

    /// Runs each call on a worker thread and times it out after `budget`.
    pub fn with_time_budget(mut self, budget: Duration) -> Self {
        self.time_budget = Some(budget);
        self
    }

    /// Lets at most `workers` worker threads run at once in the process.
    pub fn with_max_workers(mut self, workers: usize) -> Self {
        self.max_workers = Some(workers);
        self
    }
}

/// What the security layer keeps in a registry's snapshot: the sandbox's limits, the keys
/// and the roles. Stored in the overlay by type, so the overlay knows nothing of security.
#[derive(Clone, Debug, Default)]
pub(crate) struct SecuritySettings {
    /// The sandbox's limits (used when sandboxing is on).
    pub(crate) limits: SandboxLimits,
    /// Keys whose signed manifests are accepted (used when authentication is on).
    pub(crate) trusted_keys: Vec<TrustedKey>,
    /// The key that opens sealed settings (used when encryption is on).
    pub(crate) secret_key: Option<SecretKey>,
    /// Principals' roles, by role name.
    pub(crate) roles: imbl::OrdMap<String, Role>,
}

impl SecuritySettings {
    /// The settings in `overlay` (the defaults until something is configured).
    pub(crate) fn of(overlay: &Overlay) -> std::borrow::Cow<'_, SecuritySettings> {
        overlay.layer::<SecuritySettings>().map_or_else(
            || std::borrow::Cow::Owned(SecuritySettings::default()),
            std::borrow::Cow::Borrowed,
        )
    }

    /// Changes the settings in `overlay`.
    pub(crate) fn change<T>(
        overlay: &mut Overlay,
        change: impl FnOnce(&mut SecuritySettings, &mut SystemFlags) -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        let mut settings = Self::of(overlay).into_owned();
        let out = change(&mut settings, &mut overlay.base_flags)?;
        overlay.set_layer(settings);
        Ok(out)
    }
}

/// `settings` of `name` with its sealed values opened (with encryption on and a key), and the
/// plaintexts opened, to keep them out of errors ([`redact`]). Settings with nothing sealed
/// are passed through.
pub(crate) fn open_settings<'a>(
    overlay: &Overlay,
    name: &str,
    settings: &'a modreg_core::PluginSettings,
) -> Result<
    (
        std::borrow::Cow<'a, modreg_core::PluginSettings>,
        secrets::Secrets,
    ),
    PluginError,
> {
    if !has_sealed(settings) {
        return Ok((
            std::borrow::Cow::Borrowed(settings),
            secrets::Secrets::default(),
        ));
    }
    let (opened, secrets) = open_all(
        SecuritySettings::of(overlay).secret_key.as_ref(),
        overlay.flags.encryption,
        name,
        settings,
    )?;
    Ok((std::borrow::Cow::Owned(opened), secrets))
}

/// How many sandbox worker threads may run at once when [`SandboxLimits::max_workers`] is
/// not set.
pub const DEFAULT_MAX_WORKERS: usize = 16;

/// Installs `limits` given in a security configuration: they apply while sandboxing is on,
/// and are refused rather than silently kept while it is off.
fn install_limits(
    settings: &mut SecuritySettings,
    flags: &SystemFlags,
    limits: Option<SandboxLimits>,
) -> Result<(), PluginError> {
    let Some(limits) = limits else {
        return Ok(());
    };
    if !flags.sandboxing {
        return Err(PluginError::invalid(
            "sandbox limits",
            format!("{limits:?}"),
            "sandboxing is off, so they would not apply; switch it on with `with_plugin_sandboxing(true)`",
        ));
    }
    if limits.time_budget == Some(Duration::ZERO) {
        return Err(PluginError::invalid(
            "sandbox limits",
            "time_budget = 0",
            "a call needs some time to run; leave the budget out for none",
        ));
    }
    if limits.max_workers == Some(0) {
        return Err(PluginError::invalid(
            "sandbox limits",
            "max_workers = 0",
            "at least one worker is needed to run a call",
        ));
    }
    settings.limits = limits;
    Ok(())
}

/// The basic security switches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginSecurityConfig {
    secure_loading: Option<bool>,
    validation: Option<bool>,
    sandboxing: Option<bool>,
    permissions: Option<bool>,
    limits: Option<SandboxLimits>,
}

flag_builders!(PluginSecurityConfig {
    /// Runtime registrations may not shadow or unregister compiled-in plugins.
    with_secure_plugin_loading => secure_loading,
    /// Dependencies and what instances report are validated (as `with_plugin_validation`).
    with_plugin_validation => validation,
    /// Created plugins run in the sandbox: panics contained, sizes and time limited.
    with_plugin_sandboxing => sandboxing,
    /// Creating a plugin requires its declared permissions to be granted.
    with_plugin_permissions => permissions,
});

impl PluginSecurityConfig {
    /// Changes no switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sandbox's limits.
    pub fn with_sandbox_limits(mut self, limits: SandboxLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    fn apply(&self, flags: &mut SystemFlags) {
        set(&mut flags.secure_loading, self.secure_loading);
        set(&mut flags.validation, self.validation);
        set(&mut flags.sandboxing, self.sandboxing);
        set(&mut flags.permissions, self.permissions);
    }
}

/// Every security switch, with the keys authentication and encryption need.
#[derive(Clone, Debug, Default)]
pub struct AdvancedPluginSecurityConfig {
    basic: PluginSecurityConfig,
    encryption: Option<bool>,
    authentication: Option<bool>,
    authorization: Option<bool>,
    trusted_keys: Vec<TrustedKey>,
    secret_key: Option<SecretKey>,
}

flag_builders!(AdvancedPluginSecurityConfig {
    /// Settings values sealed with the secret key are opened for their own plugin only.
    with_plugin_encryption => encryption,
    /// Runtime registrations must be manifests signed by a trusted key.
    with_plugin_authentication => authentication,
    /// Calls made on behalf of a principal are checked against its grants.
    with_plugin_authorization => authorization,
});

impl AdvancedPluginSecurityConfig {
    /// Changes no switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runtime registrations may not shadow or unregister compiled-in plugins.
    pub fn with_secure_plugin_loading(mut self, enabled: bool) -> Self {
        self.basic = self.basic.with_secure_plugin_loading(enabled);
        self
    }

    /// Dependencies and what instances report are validated.
    pub fn with_plugin_validation(mut self, enabled: bool) -> Self {
        self.basic = self.basic.with_plugin_validation(enabled);
        self
    }

    /// Created plugins run in the sandbox.
    pub fn with_plugin_sandboxing(mut self, enabled: bool) -> Self {
        self.basic = self.basic.with_plugin_sandboxing(enabled);
        self
    }

    /// Creating a plugin requires its declared permissions to be granted.
    pub fn with_plugin_permissions(mut self, enabled: bool) -> Self {
        self.basic = self.basic.with_plugin_permissions(enabled);
        self
    }

    /// The sandbox's limits.
    pub fn with_sandbox_limits(mut self, limits: SandboxLimits) -> Self {
        self.basic = self.basic.with_sandbox_limits(limits);
        self
    }

    /// Trusts manifests signed by `key`.
    pub fn with_trusted_key(mut self, key: TrustedKey) -> Self {
        self.trusted_keys.push(key);
        self
    }

    /// The key that opens sealed settings.
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }
}

/// The access-control switches, with the roles they use.
#[derive(Clone, Debug, Default)]
pub struct PluginAccessControlConfig {
    role_based_access: Option<bool>,
    permission_validation: Option<bool>,
    access_logging: Option<bool>,
    access_monitoring: Option<bool>,
    roles: Vec<Role>,
    audit_file: Option<std::path::PathBuf>,
    audit_fail_open: bool,
}

flag_builders!(PluginAccessControlConfig {
    /// A principal's roles grant operations.
    with_role_based_access => role_based_access,
    /// Creating a plugin requires its declared permissions to be granted.
    with_permission_validation => permission_validation,
    /// Every access decision is logged.
    with_access_logging => access_logging,
    /// Access decisions are counted.
    with_access_monitoring => access_monitoring,
});

impl PluginAccessControlConfig {
    /// Changes no switch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines (or redefines) a role.
    pub fn with_role(mut self, role: Role) -> Self {
        self.roles.push(role);
        self
    }

    /// Appends every access decision to this file as a JSON line, flushed per entry.
    ///
    /// An operation whose decision cannot be written there (a full disk, a revoked file) is
    /// refused with [`PluginErrorKind::AuditUnavailable`], unless
    /// [`with_audit_fail_open`](Self::with_audit_fail_open) says otherwise. Numbering continues
    /// from the file's last entry.
    pub fn with_audit_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.audit_file = Some(path.into());
        self
    }

    /// `true`: an access decision that cannot be written to the audit file is logged as an
    /// error and the operation goes ahead (fail open). Off by default: it is refused.
    pub fn with_audit_fail_open(mut self, fail_open: bool) -> Self {
        self.audit_fail_open = fail_open;
        self
    }
}

/// Security on the creation path: permissions before construction, the sandbox around calls.
/// Still a module of the host, asked by name (the other layers attach through the open seam,
/// `layer.rs`).
pub(crate) struct SecurityLayer;

#[expect(
    clippy::unused_self,
    reason = "one value stands for the layer until it is a crate"
)]
impl SecurityLayer {
    /// Whether [`check`](Self::check) can refuse anything under `overlay`.
    pub(crate) fn checks(&self, overlay: &Overlay) -> bool {
        overlay.flags.permissions
    }

    /// With permissions on, every permission the code declares must be granted; the decision
    /// is audited.
    pub(crate) fn check(
        &self,
        registry: &ModuleRegistry,
        overlay: &Overlay,
        code: &Code<'_>,
    ) -> Result<(), PluginError> {
        if !overlay.flags.permissions {
            return Ok(());
        }
        let missing = code
            .permissions
            .iter()
            .find(|p| !overlay.granted.contains(**p));
        let decision = AccessDecision {
            allowed: missing.is_none(),
            reason: missing.map_or_else(
                || "permissions granted".to_owned(),
                |p| format!("permission `{p}` not granted"),
            ),
        };
        registry.note_access(
            &overlay.flags,
            "-",
            Operation::Instantiate,
            code.name,
            &decision,
        )?;
        match missing {
            Some(permission) => Err(PluginError::from(PluginErrorKind::PermissionDenied {
                plugin: code.name.to_owned(),
                permission: (*permission).to_owned(),
            })),
            None => Ok(()),
        }
    }

    /// With authentication on, only signed changes; with secure loading on, compiled-in
    /// plugins are neither shadowed nor removed.
    pub(crate) fn check_change(
        &self,
        registry: &ModuleRegistry,
        overlay: &Overlay,
        change: Change<'_>,
    ) -> Result<(), PluginError> {
        let flags = &overlay.flags;
        let unsigned = match change {
            Change::Register { name, signed }
            | Change::Unregister { name, signed, .. }
            | Change::Settings { name, signed } => (!signed).then_some(name),
            Change::Shadow { .. } => None,
        };
        if flags.authentication
            && let Some(name) = unsigned
        {
            let error = PluginError::from(PluginErrorKind::Unsigned {
                plugin: name.to_owned(),
            });
            registry.note_authentication(flags, name, Some(&error))?;
            return Err(error);
        }
        if !flags.secure_loading {
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
    pub(crate) fn interest(&self, overlay: &Overlay) -> Option<Policy> {
        if !overlay.flags.sandboxing {
            return None;
        }
        let limits = SecuritySettings::of(overlay).limits;
        Some(Policy {
            catch_panics: true,
            max_input_bytes: limits.max_input_bytes,
            max_output_bytes: limits.max_output_bytes,
            time_budget: limits.time_budget,
            max_workers: limits.max_workers.unwrap_or(DEFAULT_MAX_WORKERS),
        })
    }
}

impl PluginSecurityConfig {
    /// What [`ModuleRegistry::configure_plugin_security`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.update(|overlay| {
            SecuritySettings::change(overlay, |settings, flags| {
                self.apply(flags);
                install_limits(settings, flags, self.limits)
            })
        })
    }
}

impl AdvancedPluginSecurityConfig {
    /// What [`ModuleRegistry::configure_advanced_plugin_security`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        registry.update(|overlay| {
            SecuritySettings::change(overlay, |settings, flags| {
                self.basic.apply(flags);
                install_limits(settings, flags, self.basic.limits)?;
                settings.trusted_keys.extend(self.trusted_keys);
                if let Some(key) = self.secret_key {
                    settings.secret_key = Some(key);
                }
                if self.authentication == Some(true) && settings.trusted_keys.is_empty() {
                    tracing::warn!("plugin authentication is on with no trusted key: every runtime registration is refused");
                }
                if self.encryption == Some(true) && settings.secret_key.is_none() {
                    tracing::warn!("plugin encryption is on with no secret key: sealed settings cannot be opened");
                }
                Ok(())
            })?;
            set(&mut overlay.base_flags.encryption, self.encryption);
            set(
                &mut overlay.base_flags.authentication,
                self.authentication,
            );
            set(&mut overlay.base_flags.authorization, self.authorization);
            Ok(())
        })
    }
}

impl PluginAccessControlConfig {
    /// What [`ModuleRegistry::configure_plugin_access_control`] does.
    pub(crate) fn apply_to(self, registry: &ModuleRegistry) -> Result<(), PluginError> {
        for role in &self.roles {
            role.validate()?;
        }
        if let Some(path) = &self.audit_file {
            registry
                .extensions
                .get::<AuditLog>()
                .open_file(path, self.audit_fail_open)?;
        }
        registry.update(|overlay| {
            let flags = &mut overlay.base_flags;
            set(&mut flags.role_based_access, self.role_based_access);
            set(&mut flags.permissions, self.permission_validation);
            set(&mut flags.access_logging, self.access_logging);
            set(&mut flags.access_monitoring, self.access_monitoring);
            SecuritySettings::change(overlay, |settings, _| {
                for role in self.roles {
                    settings.roles.insert(role.name().to_owned(), role);
                }
                Ok(())
            })?;
            Ok(())
        })
    }
}
