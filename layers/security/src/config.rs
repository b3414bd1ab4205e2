//! The three security configurations of the specification and what they switch.
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

use std::time::Duration;

use modreg_core::PluginError;
use modreg_host::{ModuleRegistry, PluginConfiguration, flag_builders};

use crate::access::Role;
use crate::audit::Rotation;
use crate::sandbox::SandboxLimits;
use crate::secrets::SecretKey;
use crate::security::Security;
use crate::signature::TrustedKey;
use crate::switches::Switches;

/// Sets the host's validation switch, if a security configuration names it.
fn set_validation(registry: &ModuleRegistry, value: Option<bool>) -> Result<(), PluginError> {
    match value {
        Some(enabled) => registry
            .configuration()
            .configure_plugin_system(PluginConfiguration::new().with_plugin_validation(enabled)),
        None => Ok(()),
    }
}

/// Sets `flag` to `value` if the configuration names it.
fn set(flag: &mut bool, value: Option<bool>) {
    if let Some(value) = value {
        *flag = value;
    }
}

/// Installs `limits` given in a security configuration: they apply while sandboxing is on,
/// and are refused rather than silently kept while it is off.
fn install_limits(
    limits_in_force: &mut SandboxLimits,
    switches: &Switches,
    limits: Option<SandboxLimits>,
) -> Result<(), PluginError> {
    let Some(limits) = limits else {
        return Ok(());
    };
    if !switches.sandboxing {
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
    *limits_in_force = limits;
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

    fn apply(&self, switches: &mut Switches) {
        set(&mut switches.secure_loading, self.secure_loading);
        set(&mut switches.sandboxing, self.sandboxing);
        set(&mut switches.permissions, self.permissions);
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
    audit_rotation: Rotation,
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

    /// Whether the configuration asks for permission checks (as `with_plugin_permissions`).
    pub fn permission_validation(&self) -> Option<bool> {
        self.permission_validation
    }

    /// Appends every access decision to this file as a JSON line, flushed per entry.
    ///
    /// An operation whose decision cannot be written there (a full disk, a revoked file) is
    /// refused with [`SecurityError::AuditUnavailable`](crate::SecurityError::AuditUnavailable), unless
    /// [`with_audit_fail_open`](Self::with_audit_fail_open) says otherwise. Numbering continues
    /// from the file's last entry. The file is rotated at
    /// [`DEFAULT_AUDIT_FILE_BYTES`](crate::DEFAULT_AUDIT_FILE_BYTES), keeping
    /// [`DEFAULT_AUDIT_FILES_KEPT`](crate::DEFAULT_AUDIT_FILES_KEPT) earlier files, unless
    /// [`with_audit_rotation`](Self::with_audit_rotation) says otherwise.
    pub fn with_audit_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.audit_file = Some(path.into());
        self
    }

    /// Rotates the audit file once a write takes it to `max_bytes` or more: `PATH` becomes
    /// `PATH.1`, `PATH.1` becomes `PATH.2`, and so on, keeping `keep` earlier files (the oldest
    /// beyond them is removed), and a new `PATH` is begun; numbering goes on across files.
    /// Other processes appending to the same file follow it to the new one. `u64::MAX` never
    /// rotates. A size or a count of 0 is refused when the configuration is applied.
    ///
    /// ```
    /// use modreg_security::PluginAccessControlConfig;
    ///
    /// // At most 11 files of about 8 MiB: audit.jsonl and audit.jsonl.1 to audit.jsonl.10.
    /// let config = PluginAccessControlConfig::new()
    ///     .with_audit_file("audit.jsonl")
    ///     .with_audit_rotation(8 << 20, 10);
    /// ```
    pub fn with_audit_rotation(mut self, max_bytes: u64, keep: u32) -> Self {
        self.audit_rotation = Rotation { max_bytes, keep };
        self
    }

    /// `true`: an access decision that cannot be written to the audit file is logged as an
    /// error and the operation goes ahead (fail open). Off by default: it is refused.
    pub fn with_audit_fail_open(mut self, fail_open: bool) -> Self {
        self.audit_fail_open = fail_open;
        self
    }
}

impl Security {
    /// Applies the basic security switches. Validation is the host's switch: it is set on
    /// `registry`.
    pub fn configure_plugin_security(
        &self,
        registry: &ModuleRegistry,
        config: &PluginSecurityConfig,
    ) -> Result<(), PluginError> {
        set_validation(registry, config.validation)?;
        self.update(registry, |state| {
            let mut switches = state.switches;
            config.apply(&mut switches);
            install_limits(&mut state.limits, &switches, config.limits)?;
            state.switches = switches;
            Ok(())
        })
    }

    /// Applies every security switch and installs the keys given.
    ///
    /// The switches fail closed: authentication with no trusted key refuses every runtime
    /// change, and encryption with no secret key refuses every sealed setting, until a key is
    /// configured. A warning is logged in either case.
    pub fn configure_advanced_plugin_security(
        &self,
        registry: &ModuleRegistry,
        config: AdvancedPluginSecurityConfig,
    ) -> Result<(), PluginError> {
        set_validation(registry, config.basic.validation)?;
        self.update(registry, |state| {
            let mut switches = state.switches;
            config.basic.apply(&mut switches);
            install_limits(&mut state.limits, &switches, config.basic.limits)?;
            set(&mut switches.encryption, config.encryption);
            set(&mut switches.authentication, config.authentication);
            set(&mut switches.authorization, config.authorization);
            state.switches = switches;
            state.trusted_keys.extend(config.trusted_keys);
            if let Some(key) = config.secret_key {
                state.secret_key = Some(key);
            }
            if config.authentication == Some(true) && state.trusted_keys.is_empty() {
                tracing::warn!("plugin authentication is on with no trusted key: every runtime registration is refused");
            }
            if config.encryption == Some(true) && state.secret_key.is_none() {
                tracing::warn!("plugin encryption is on with no secret key: sealed settings cannot be opened");
            }
            Ok(())
        })
    }

    /// Applies the access-control switches and defines the roles given.
    pub fn configure_plugin_access_control(
        &self,
        registry: &ModuleRegistry,
        config: PluginAccessControlConfig,
    ) -> Result<(), PluginError> {
        for role in &config.roles {
            role.validate()?;
        }
        let Rotation { max_bytes, keep } = config.audit_rotation;
        if max_bytes == 0 || keep == 0 {
            return Err(PluginError::invalid(
                "audit file rotation",
                format!("{max_bytes} bytes, {keep} files kept"),
                "a rotated audit file needs a size and at least one earlier file kept (u64::MAX bytes never rotates)",
            ));
        }
        if let Some(path) = &config.audit_file {
            self.audit()
                .open_file(path, config.audit_rotation, config.audit_fail_open)?;
        }
        self.update(registry, |state| {
            let switches = &mut state.switches;
            set(&mut switches.role_based_access, config.role_based_access);
            set(&mut switches.permissions, config.permission_validation);
            set(&mut switches.access_logging, config.access_logging);
            set(&mut switches.access_monitoring, config.access_monitoring);
            for role in config.roles {
                state.roles.insert(role.name().to_owned(), role);
            }
            Ok(())
        })
    }

    /// Switches permission checks on or off (the advanced system configuration's
    /// `with_plugin_security`).
    pub fn set_permissions(
        &self,
        registry: &ModuleRegistry,
        enabled: Option<bool>,
    ) -> Result<(), PluginError> {
        if enabled.is_none() {
            return Ok(());
        }
        self.update(registry, |state| {
            set(&mut state.switches.permissions, enabled);
            Ok(())
        })
    }

    /// Switches the counting of access decisions on or off (the advanced monitoring
    /// configuration's `with_security_metrics`).
    pub fn set_access_monitoring(
        &self,
        registry: &ModuleRegistry,
        enabled: Option<bool>,
    ) -> Result<(), PluginError> {
        if enabled.is_none() {
            return Ok(());
        }
        self.update(registry, |state| {
            set(&mut state.switches.access_monitoring, enabled);
            Ok(())
        })
    }
}
