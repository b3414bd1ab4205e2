//! A binary gets exactly the plugins it compiles in, and keeps them through fat LTO.
//!
//! Builds `modreg` with only the `hashing` feature, with the release profile (`lto = "fat"`,
//! `codegen-units = 1`), in a target directory of its own, and checks that `list` shows
//! exactly the hashing plugins: the plugins are defined in another crate
//! (`modreg-plugins`) that the binary names only through the facade.

use std::process::Command;

#[test]
#[ignore = "a fat-LTO release build of the tool (minutes on 2 cores): `.ci/run` runs it; locally `cargo test --workspace --tests -- --ignored`"]
fn release_lto_build_with_one_feature_lists_exactly_that_family() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("feature-subset");
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    // The same registration backend as this test was built with.
    let features = if modreg::BACKEND == "inventory" {
        "hashing,modreg/inventory"
    } else {
        "hashing"
    };
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "--release", "--no-default-features"])
        .args(["--features", features])
        .args(["--manifest-path", manifest])
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the subset build failed");

    let output = Command::new(target_dir.join("release").join("modreg"))
        .args(["list", "--json"])
        .output()
        .expect("the subset binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["blake3", "sha256"]);
}
