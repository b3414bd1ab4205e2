//! Per-descriptor answers to "is creating this plugin exactly a call to its constructor?",
//! decided once per overlay generation and cached: the callsite `Interest` of this registry.
//!
//! The creation path asks every step (loading, resolution, validation, the layers' checks,
//! settings, wrapping) for each instance. On most registries, for most plugins, every step
//! answers "nothing to do", and keeps answering so until the overlay changes. So the answer
//! is computed the first time a plugin is created after a change, stored with the overlay's
//! generation, and read back as one atomic load until the next change, whatever is
//! configured elsewhere (caching, switches that concern other plugins, discovery settings).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Never a generation: marks an answer not yet given.
const UNKNOWN: u64 = u64::MAX;

/// The cached answers of one registry, one per index position.
#[derive(Debug)]
pub(crate) struct Interests {
    /// Bumped on every overlay change; an answer counts only when tagged with the current one.
    generation: AtomicU64,
    /// How many positions the index has.
    len: usize,
    /// `generation << 1 | direct` per position, or `UNKNOWN`; made on the first question, so
    /// a registry that is never configured never pays for it.
    answers: OnceLock<Box<[AtomicU64]>>,
}

impl Interests {
    /// No answers yet for `len` positions.
    pub(crate) fn new(len: usize) -> Self {
        Interests {
            generation: AtomicU64::new(0),
            len,
            answers: OnceLock::new(),
        }
    }

    /// Forgets every answer: the overlay changed. Called after the new overlay is published,
    /// so an answer computed from the old one carries the old generation.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The current generation: it changes with every overlay change.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether position `position` may be created directly: the cached answer, or `decide()`'s,
    /// cached. `decide` must read the overlay after this call reads the generation.
    #[inline]
    pub(crate) fn direct(&self, position: u32, decide: impl FnOnce() -> bool) -> bool {
        let generation = self.generation.load(Ordering::Acquire);
        let answers = self
            .answers
            .get_or_init(|| (0..self.len).map(|_| AtomicU64::new(UNKNOWN)).collect());
        let slot = &answers[position as usize];
        let answer = slot.load(Ordering::Relaxed);
        if answer != UNKNOWN && answer >> 1 == generation {
            return answer & 1 == 1;
        }
        Self::decide(slot, generation, decide)
    }

    /// Computes and stores an answer: out of line, once per plugin per change.
    #[cold]
    #[inline(never)]
    fn decide(slot: &AtomicU64, generation: u64, decide: impl FnOnce() -> bool) -> bool {
        let direct = decide();
        // A generation reaching 2^63 would take centuries of changes; it would only make an
        // answer look unknown.
        slot.store(generation << 1 | u64::from(direct), Ordering::Relaxed);
        direct
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_once_per_generation() {
        let interests = Interests::new(2);
        let mut calls = 0;
        for _ in 0..3 {
            assert!(interests.direct(0, || {
                calls += 1;
                true
            }));
        }
        assert_eq!(calls, 1);
        assert!(!interests.direct(1, || false));
        assert!(!interests.direct(1, || unreachable!("cached")));
        interests.invalidate();
        assert!(!interests.direct(0, || false), "a change asks again");
        assert!(interests.direct(1, || true));
    }
}
