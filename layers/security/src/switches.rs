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

impl Switches {
    /// The switches as bits, in field order: what the layer keeps in an atomic so that the
    /// checks on the creation and registration paths read them without a lock.
    pub(crate) fn to_bits(self) -> u16 {
        [
            self.permissions,
            self.secure_loading,
            self.sandboxing,
            self.authentication,
            self.authorization,
            self.role_based_access,
            self.encryption,
            self.access_logging,
            self.access_monitoring,
        ]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &on)| bits | (u16::from(on) << i))
    }

    /// The switches [`to_bits`](Self::to_bits) wrote.
    pub(crate) fn from_bits(bits: u16) -> Self {
        let on = |i: u32| bits & (1 << i) != 0;
        Switches {
            permissions: on(0),
            secure_loading: on(1),
            sandboxing: on(2),
            authentication: on(3),
            authorization: on(4),
            role_based_access: on(5),
            encryption: on(6),
            access_logging: on(7),
            access_monitoring: on(8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Switches;

    #[test]
    fn every_switch_round_trips_through_its_bit() {
        for bits in 0..(1u16 << 9) {
            assert_eq!(Switches::from_bits(bits).to_bits(), bits);
        }
    }
}
