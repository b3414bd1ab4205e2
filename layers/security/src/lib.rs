//! The security layer of module-registry's host: permissions, the in-process sandbox, signed
//! registrations, sealed settings, principals, roles and the audit log.
//!
//! [`Security`] attaches to a `modreg_host::ModuleRegistry` through the host's open seam
//! ([`modreg_host::Layer`]): it refuses code whose permissions are not granted, changes that
//! are not signed or that shadow a compiled-in plugin, wraps instances in the sandbox, and
//! opens sealed settings for their own plugin. It sees no other layer: what it decides
//! reaches them as events the host emits ([`modreg_host::Event::AccessDecided`]). The facade
//! `modreg` attaches it and offers the specification's security calls on
//! `modreg::ModuleRegistry`. `docs/security.md` has one row per switch.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod access;
mod acting;
mod audit;
mod config;
mod error;
mod hex;
mod manifest;
mod replay;
mod sandbox;
mod scope;
mod secrets;
mod security;
mod signature;
mod switches;

pub use crate::access::{AccessDecision, Operation, Principal, Role};
pub use crate::audit::{
    AUDIT_CAPACITY, AccessMetrics, AuditEntry, DEFAULT_AUDIT_FILE_BYTES, DEFAULT_AUDIT_FILES_KEPT,
};
pub use crate::config::{
    AdvancedPluginSecurityConfig, PluginAccessControlConfig, PluginSecurityConfig,
};
pub use crate::error::SecurityError;
pub use crate::manifest::SignedManifest;
pub use crate::sandbox::{DEFAULT_MAX_WORKERS, SandboxLimits};
pub use crate::scope::AccessScope;
pub use crate::secrets::{SEALED_PREFIX, SecretKey};
pub use crate::security::Security;
pub use crate::signature::{TrustedKey, sign_message};
