//! The heap bytes the current thread holds: a global allocator that passes every call to the
//! system's and counts, per thread, what each thread allocated minus what it freed. For tests
//! that check memory stays flat over many rounds; other tests running at once on other
//! threads do not move the count. Included with `#[path]`; the including binary installs it:
//! `#[global_allocator] static HEAP: held_memory::Counting = held_memory::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The counting allocator.
pub struct Counting;

thread_local! {
    // Const-initialized with no destructor: reading it never allocates.
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // After the thread's locals are gone (its last frees), nothing is counted.
    let _ = HELD.try_with(|held| held.set(held.get().wrapping_add(delta)));
}

fn signed(bytes: usize) -> isize {
    isize::try_from(bytes).unwrap_or(isize::MAX)
}

/// What this thread allocated minus what it freed, in bytes, since it started.
pub fn held() -> isize {
    HELD.with(Cell::get)
}

// SAFETY: each call goes to `System` with the arguments it came with, and its answer comes
// back unchanged; the count is a thread-local integer that neither allocates nor frees.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc`, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(signed(layout.size()));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(signed(layout.size()));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) };
        count(-signed(layout.size()));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc`, passed on.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            count(signed(new_size).wrapping_sub(signed(layout.size())));
        }
        moved
    }
}
