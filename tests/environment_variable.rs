//! `MODREG_ENVIRONMENT` chooses the active environment of a new registry. The test runs
//! itself again in a child process with the variable set (setting it in this process would
//! race with other tests).

use std::process::Command;

use modreg::{ENVIRONMENT_VARIABLE, ModuleRegistry};

const TEST: &str = "the_environment_variable_selects_the_environment";

#[test]
fn the_environment_variable_selects_the_environment() {
    if let Ok(expected) = std::env::var("MODREG_TEST_EXPECT_ENVIRONMENT") {
        let registry = ModuleRegistry::new();
        let expected = (!expected.is_empty()).then_some(expected);
        assert_eq!(registry.configuration().environment(), expected);
        return;
    }
    for (value, expected) in [("staging", "staging"), ("", ""), ("Not Valid", "")] {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--test-threads", "1"])
            .env(ENVIRONMENT_VARIABLE, value)
            .env("MODREG_TEST_EXPECT_ENVIRONMENT", expected)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "{ENVIRONMENT_VARIABLE}={value:?} should give {expected:?}"
        );
    }
}
