//! The clock a monitored call's latency is read from: the CPU's time-stamp counter, scaled
//! to nanoseconds, where it is invariant (`quanta`; it falls back to the operating system's
//! monotonic clock where it is not), and the standard library's `Instant` on WebAssembly.
//!
//! A reading costs a few nanoseconds against some 20 for `std::time::Instant` on Linux (a
//! vDSO call), and a monitored call reads it twice; `BENCHMARKS.md` has the figures.

#[cfg(not(target_family = "wasm"))]
pub(crate) use quanta::Instant;
#[cfg(target_family = "wasm")]
pub(crate) use std::time::Instant;

/// Calibrates the clock now (up to 200 ms, once per process), so that the first measured
/// call does not pay for it: called when a decision turns latency on.
pub(crate) fn warm_up() {
    let _ = Instant::now();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_agrees_with_the_operating_system_clock() {
        warm_up();
        let (start, reference) = (Instant::now(), std::time::Instant::now());
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (measured, expected) = (start.elapsed(), reference.elapsed());
        // Calibrated: the two clocks agree on the same interval to within a quarter.
        let difference = measured.abs_diff(expected);
        assert!(
            difference * 4 < expected,
            "{measured:?} against {expected:?}"
        );
    }
}
