//! A property test's runner with a fixed seed: the same cases on every run and in every engine,
//! so that a failure is found again and what a test counts of its cases (each outcome reached
//! at least once) does not depend on chance. Included with `#[path]`.

use proptest::test_runner::{Config, TestRng, TestRunner};

/// A runner of `cases` cases from the fixed seed, keeping no file of failures.
pub fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}
