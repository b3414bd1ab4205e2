//! The security layer's switches.

/// The switches of the security layer: each written by one configuration call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one switch per flag of the specification"
)]
pub(crate) struct Switches {
    /// Creating a plugin requires every permission it declares to be granted.
    pub(crate) permissions: bool,
    /// Runtime registrations may not shadow or remove compiled-in plugins.
    pub(crate) secure_loading: bool,
    /// Created plugins run in the sandbox: panics contained, sizes and time limited.
    pub(crate) sandboxing: bool,
    /// Runtime changes must carry a signature by a trusted key.
    pub(crate) authentication: bool,
    /// Calls made on behalf of a principal are checked against its own grants.
    pub(crate) authorization: bool,
    /// A principal's roles grant operations too.
    pub(crate) role_based_access: bool,
    /// Settings values sealed with the secret key are opened for their plugin only.
    pub(crate) encryption: bool,
    /// Every access decision is logged (tracing, in-memory audit log, audit file).
    pub(crate) access_logging: bool,
    /// Access decisions are counted per operation and outcome.
    pub(crate) access_monitoring: bool,
}
