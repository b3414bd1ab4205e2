//! Every plugin reaches the binary in every build configuration, with both backends; a plugin
//! crate the host never names is reported missing, with the fix. The run order (`before`,
//! `after`, `priority`), fan-out and typed metadata of a registry declared in one crate,
//! re-exported, and filled from another through an import, are the same in every build.
//!
//! Builds `tests/link-matrix/` (a host and three plugin crates: plugins at the crate root,
//! in private modules, and in a crate the host forgets) in the dev, release, thin-LTO,
//! fat-LTO and one-codegen-unit profiles, for `linkme` and `inventory`, into
//! `target/link-matrix`, and runs the host.

use std::path::Path;
use std::process::Command;

const PROFILES: [(&str, &str); 5] = [
    ("dev", "debug"),
    ("release", "release"),
    ("thin", "thin"),
    ("fat", "fat"),
    ("cgu1", "cgu1"),
];

#[test]
#[ignore = "builds another workspace 10 times (minutes on 2 cores): `.ci/run` runs it; locally `cargo test --workspace --tests -- --ignored`"]
fn every_profile_and_backend_keeps_every_named_plugin() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = root.join("tests/link-matrix/Cargo.toml");
    let target = root.join("target/link-matrix");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut failures = Vec::new();
    for backend in ["linkme", "inventory"] {
        for (profile, dir) in PROFILES {
            let mut build = Command::new(&cargo);
            build
                .args(["build", "--quiet", "-p", "link-host", "--profile", profile])
                .arg("--manifest-path")
                .arg(&manifest)
                .arg("--target-dir")
                .arg(&target);
            if backend == "inventory" {
                build.args(["--features", "inventory"]);
            }
            let status = build.status().expect("cargo runs");
            assert!(
                status.success(),
                "building the host ({backend}, {profile}) failed"
            );
            let output = Command::new(target.join(dir).join("link-host"))
                .output()
                .expect("the host runs");
            let text = String::from_utf8_lossy(&output.stdout).to_string();
            let expected = format!(
                "backend={backend} plugins=deeply-hidden-three,hidden-two,root-one\n\
                 order=hidden-two,root-one,deeply-hidden-three\n\
                 stages=zeroth,middle,last labels=z,a,m\n\
                 expect: expected plugins missing from this binary: forgotten-four; make sure the crates \
                 defining them are dependencies and are named in the binary (`use the_plugin_crate as _;`)\n"
            );
            if text != expected {
                failures.push(format!("{backend}/{profile}:\n{text}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
