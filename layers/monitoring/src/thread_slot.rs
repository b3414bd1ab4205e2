//! Thread slots: a small number that no other live thread holds, for per-thread counters.
//!
//! A thread takes the lowest free slot the first time it asks and gives it back when it ends;
//! the next thread to take that slot sees everything its previous holder wrote (the free list
//! is behind a mutex). At most [`SLOTS`] threads hold one at a time; the others get `None`
//! and use a shared, atomic path instead.

use std::sync::{Mutex, PoisonError};

/// How many threads can hold a slot at once.
pub(crate) const SLOTS: usize = 64;

/// Slots given back by threads that ended, and the next never-used one.
struct Free {
    returned: Vec<usize>,
    next: usize,
}

impl Free {
    const fn new() -> Self {
        Free {
            returned: Vec::new(),
            next: 0,
        }
    }

    /// The most recently returned slot, or a never-used one, or `None` when all are held.
    fn take(&mut self) -> Option<usize> {
        if let Some(slot) = self.returned.pop() {
            return Some(slot);
        }
        (self.next < SLOTS).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
}

static FREE: Mutex<Free> = Mutex::new(Free::new());

/// This thread's slot, given back when the thread ends.
struct Held(Option<usize>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(slot) = self.0 {
            FREE.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .returned
                .push(slot);
        }
    }
}

thread_local! {
    static HELD: Held = Held(FREE.lock().unwrap_or_else(PoisonError::into_inner).take());
}

/// This thread's slot: below [`SLOTS`] and held by no other live thread; `None` when every
/// slot is taken or the thread is ending.
#[inline]
pub(crate) fn current() -> Option<usize> {
    HELD.try_with(|held| held.0).ok().flatten()
}

/// Held by the tests of this crate that take slots in many threads at once: one that holds
/// them all would leave another none (`live_threads_hold_different_slots` then failed at
/// random).
#[cfg(test)]
pub(crate) static MANY_SLOTS: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::{Arc, Barrier};

    #[test]
    fn live_threads_hold_different_slots() {
        let _alone = MANY_SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let slots: Vec<Option<usize>> = (0..threads)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let slot = current();
                    assert_eq!(current(), slot, "a thread keeps its slot");
                    // Every thread holds its slot until all have taken one.
                    barrier.wait();
                    slot
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        // Other tests of this binary may hold a few slots meanwhile (none takes many while
        // this runs), so a thread may find none free; the property is that no two live
        // threads share one.
        let held: Vec<_> = slots.iter().flatten().collect();
        let distinct: HashSet<_> = held.iter().collect();
        assert_eq!(distinct.len(), held.len(), "{slots:?}");
        assert!(!held.is_empty(), "{slots:?}");
    }

    #[test]
    fn a_returned_slot_is_taken_again_before_a_new_one_and_the_slots_run_out() {
        let mut free = Free::new();
        let taken: Vec<_> = (0..SLOTS).map(|_| free.take()).collect();
        assert_eq!(taken, (0..SLOTS).map(Some).collect::<Vec<_>>());
        assert_eq!(free.take(), None, "all held");
        free.returned.push(7);
        assert_eq!(free.take(), Some(7));
        assert_eq!(free.take(), None);
    }
}
