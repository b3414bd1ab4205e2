//! The `typed_registry` example runs and prints what it should: two registries of the user's own
//! traits (one async), filled from this crate and from the example binary.

use std::process::Command;

fn run_example(name: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .args([
            "run",
            "--quiet",
            "-p",
            "typed-registry-api",
            "--example",
            name,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // Build the example with the registration backend this test was built with.
    if modreg_core::BACKEND == "inventory" {
        command.args(["--features", "modreg-core/inventory"]);
    }
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_typed_registry_example_uses_both_registries_from_two_crates() {
    let printed = run_example("typed_registry");
    let expected = "\
codecs: rot13, xor
reversible binary codecs: xor
search \"ascii\": rot13
rot13(hello) = uryyb
xor(abc, key 1) = [96, 99, 98], back: [97, 98, 99]
xor with key 0: invalid key `0`: XOR with 0 changes nothing
create_as::<Rot13>: Rot13
create_as::<Rot13>(\"xor\"): plugin `xor` is not a `typed_registry_api::Rot13`
fetched: hello and slow:report
";
    assert_eq!(printed, expected);
}
