//! `Permit`: leave to call a constructor, which only the pipeline can give.
//!
//! A module of its own, with no imports, so that the constructors that ask for it
//! (`RuntimeEntry::instantiate`, `Target::instantiate`) depend on this leaf, not on the
//! pipeline that calls them.

/// Leave to call a constructor: made only by the pipeline (`Permit::new` is visible in
/// `pipeline` alone), asked for by every constructor the host keeps.
#[derive(Clone, Copy)]
pub(crate) struct Permit(());

impl Permit {
    /// Made by the pipeline's step 4.
    pub(super) fn new() -> Self {
        Permit(())
    }
}
