//! Every example of the specification runs and prints what the specification prints.
//!
//! The test builds the examples with the features it was built with (so that the bundled
//! plugins linked into them are the ones it expects), runs each binary from
//! `target/<profile>/examples/`, and compares its standard output.

use std::path::PathBuf;
use std::process::Command;

fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/seed_examples-<hash> → target/<profile>/examples
    exe.parent().unwrap().parent().unwrap().join("examples")
}

/// Builds the examples with this test's features, once.
fn build_examples() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let features: Vec<&str> = [
            ("host", true),
            ("compression", cfg!(feature = "compression")),
            ("hashing", cfg!(feature = "hashing")),
            ("encoding", cfg!(feature = "encoding")),
            ("encryption", cfg!(feature = "encryption")),
            ("inventory", module_registry::BACKEND == "inventory"),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut command = Command::new(cargo);
        command
            .args([
                "build",
                "--quiet",
                "-p",
                "specification-examples",
                "--examples",
                "--no-default-features",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if !features.is_empty() {
            command.args(["--features", &features.join(",")]);
        }
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let status = command.status().expect("cargo runs");
        assert!(status.success(), "building the examples failed");
    });
}

fn run(name: &str) -> String {
    build_examples();
    let path = examples_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo test --workspace`, which builds the examples first",
        path.display()
    );
    let output = Command::new(&path).output().unwrap();
    assert!(
        output.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const PROCESSED: &str = "Processed data: [105, 110, 112, 117, 116, 32, 100, 97, 116, 97]\n";

#[test]
fn every_specification_example_prints_what_the_specification_says() {
    // The bundled encryption plugin also has the `encryption` capability when linked in.
    let with_encryption = if cfg!(feature = "encryption") { 2 } else { 1 };
    let capability = format!("Found {with_encryption} plugins with encryption capability\n");
    let cases: &[(&str, &str)] = &[
        (
            "seed_basic_implementation",
            "Initializing plugin: data-processor-plugin\nProcessed data: input data\nCleaning up plugin: data-processor-plugin\n",
        ),
        (
            "seed_advanced_implementation",
            "Processed data: input data\nCalls recorded: 1, bytes in: 10\n",
        ),
        (
            "seed_basic_registration",
            "Plugin registered successfully\n",
        ),
        (
            "seed_advanced_registration",
            "Advanced plugin registered successfully\n",
        ),
        (
            "seed_factory_registration",
            "Plugin factory registered successfully\n",
        ),
        ("seed_basic_discovery", "Found 1 data processor plugins\n"),
        ("seed_capability_discovery", &capability),
        (
            "seed_semantic_discovery",
            "Found 1 high-performance plugins\n",
        ),
        ("seed_basic_instantiation", PROCESSED),
        ("seed_advanced_instantiation", PROCESSED),
        // The factory's `high-performance` variant upper-cases its input.
        (
            "seed_factory_instantiation",
            "Processed data: [73, 78, 80, 85, 84, 32, 68, 65, 84, 65]\n",
        ),
        ("seed_basic_configuration", "Plugin system configured\n"),
        (
            "seed_advanced_configuration",
            "Advanced plugin system configured\n",
        ),
        ("seed_basic_monitoring", "Plugin monitoring configured\n"),
        (
            "seed_advanced_monitoring",
            "Advanced plugin monitoring configured\n",
        ),
        (
            "seed_health_monitoring",
            "Plugin health monitoring configured\n",
        ),
        ("seed_basic_security", "Plugin security configured\n"),
        (
            "seed_advanced_security",
            "Advanced plugin security configured\n",
        ),
        ("seed_access_control", "Plugin access control configured\n"),
        (
            "seed_environment_configuration",
            "Plugin system configured for multiple environments\n",
        ),
    ];
    let mut wrong = Vec::new();
    for (name, expected) in cases {
        let printed = run(name);
        if printed != *expected {
            wrong.push(format!(
                "{name}:\n  expected {expected:?}\n  printed  {printed:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_example_file_is_checked() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.strip_suffix(".rs").map(str::to_owned)
            })
            .filter(|n| n.starts_with("seed_"))
            .collect();
    on_disk.sort();
    let source = include_str!("specification.rs");
    for name in on_disk {
        assert!(
            source.contains(&format!("\"{name}\",")),
            "{name} has no expected output here"
        );
    }
}
