//! Per-descriptor answers to "what does creating this plugin take?", decided once per
//! configuration generation and cached: the callsite `Interest` of this registry.
//!
//! The creation path asks every step (loading, resolution, validation, the layers' checks,
//! settings, wrapping) for each instance. On most registries, for most plugins, every step
//! but the last answers "nothing to do", and keeps answering so until the configuration
//! changes. So the whole answer is computed the first time a plugin is created after a
//! change and stored with the generation:
//!
//! - [`Decision::Direct`]: a call to the constructor, nothing else;
//! - [`Decision::Wrapped`]: a call to the constructor, then the layers' wrappers, kept here
//!   as a recipe ([`Answer`]) so no layer is asked again;
//! - [`Decision::Full`]: something must be decided per creation (settings, a mock, a check
//!   that can refuse): the full path.
//!
//! Reading it back is one atomic load (and for a wrapped plugin one more for the recipe),
//! whatever is configured elsewhere.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;

use crate::layer::Answer;

/// Never a generation: marks an answer not yet given.
const UNKNOWN: u64 = u64::MAX;

/// What creating a compiled-in plugin takes under the current configuration.
#[derive(Clone, Debug)]
pub(crate) enum Decision {
    /// Exactly a call to its constructor.
    Direct,
    /// A call to its constructor, then this recipe of wrappers.
    Wrapped(Arc<Answer>),
    /// The full creation path.
    Full,
}

impl Decision {
    fn code(&self) -> u64 {
        match self {
            Decision::Direct => 0,
            Decision::Wrapped(_) => 1,
            Decision::Full => 2,
        }
    }
}

/// One position's cached answer.
#[derive(Debug)]
struct Slot {
    /// `generation << 2 | code`, or `UNKNOWN`.
    answer: AtomicU64,
    /// The recipe of a `Wrapped` answer, with the generation it was made under.
    recipe: ArcSwapOption<(u64, Arc<Answer>)>,
}

/// The cached answers of one registry, one per index position.
#[derive(Debug)]
pub(crate) struct Interests {
    /// Bumped on every configuration change; an answer counts only when tagged with the
    /// current one.
    generation: AtomicU64,
    /// How many positions the index has.
    len: usize,
    /// Made on the first question, so a registry that is never configured never pays for it.
    slots: OnceLock<Box<[Slot]>>,
}

impl Interests {
    /// No answers yet for `len` positions.
    pub(crate) fn new(len: usize) -> Self {
        Interests {
            generation: AtomicU64::new(0),
            len,
            slots: OnceLock::new(),
        }
    }

    /// Forgets every answer: the configuration changed. Called after the new configuration
    /// is published, so an answer computed from the old one carries the old generation.
    pub(crate) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The current generation: it changes with every configuration change.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The decision for `position`: the cached one, or `decide()`'s, cached. `decide` must
    /// read the configuration after this call reads the generation.
    #[inline]
    pub(crate) fn decision(&self, position: u32, decide: impl FnOnce() -> Decision) -> Decision {
        let generation = self.generation.load(Ordering::Acquire);
        let slots = self.slots.get_or_init(|| {
            (0..self.len)
                .map(|_| Slot {
                    answer: AtomicU64::new(UNKNOWN),
                    recipe: ArcSwapOption::empty(),
                })
                .collect()
        });
        let slot = &slots[position as usize];
        let answer = slot.answer.load(Ordering::Acquire);
        if answer != UNKNOWN && answer >> 2 == generation {
            match answer & 3 {
                0 => return Decision::Direct,
                2 => return Decision::Full,
                _ => {
                    if let Some(recipe) = &*slot.recipe.load()
                        && recipe.0 == generation
                    {
                        return Decision::Wrapped(Arc::clone(&recipe.1));
                    }
                }
            }
        }
        Self::decide(slot, generation, decide)
    }

    /// Computes and stores an answer: out of line, once per plugin per change.
    #[cold]
    #[inline(never)]
    fn decide(slot: &Slot, generation: u64, decide: impl FnOnce() -> Decision) -> Decision {
        let decision = decide();
        if let Decision::Wrapped(recipe) = &decision {
            slot.recipe
                .store(Some(Arc::new((generation, Arc::clone(recipe)))));
        }
        // A generation reaching 2^62 would take centuries of changes; it would only make an
        // answer look unknown.
        slot.answer
            .store(generation << 2 | decision.code(), Ordering::Release);
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_once_per_generation() {
        let interests = Interests::new(3);
        let mut calls = 0;
        for _ in 0..3 {
            let decision = interests.decision(0, || {
                calls += 1;
                Decision::Direct
            });
            assert!(matches!(decision, Decision::Direct));
        }
        assert_eq!(calls, 1);
        assert!(matches!(
            interests.decision(1, || Decision::Full),
            Decision::Full
        ));
        assert!(matches!(
            interests.decision(1, || unreachable!("cached")),
            Decision::Full
        ));
        let recipe = Arc::new(Answer::default());
        interests.decision(2, || Decision::Wrapped(recipe.clone()));
        match interests.decision(2, || unreachable!("cached")) {
            Decision::Wrapped(kept) => assert!(Arc::ptr_eq(&kept, &recipe)),
            other => panic!("{other:?}"),
        }
        interests.invalidate();
        assert!(
            matches!(interests.decision(0, || Decision::Full), Decision::Full),
            "a change asks again"
        );
        assert!(matches!(
            interests.decision(2, || Decision::Direct),
            Decision::Direct
        ));
    }
}
