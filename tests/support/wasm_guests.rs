//! Builds the example WebAssembly guests (`examples/wasm-guests`, `examples/sandboxed-trait`)
//! from source, once per test or bench binary (what `scripts/build-wasm-plugins.sh` does).
//! Included with `#[path]` by the tests and benches that load them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root: the first ancestor of this crate holding `examples/wasm-guests`.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("examples/wasm-guests").is_dir())
        .expect("the workspace holds examples/wasm-guests")
        .to_path_buf()
}

/// Builds `packages` for `wasm32-unknown-unknown` and copies each built `(artifact, file)` to
/// `target/<folder>/<file>` (through a staging name, so a reader never sees half a file).
fn build(packages: &[&str], copies: &[(&str, &str)], folder: &str) -> PathBuf {
    let root = workspace_root();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let guests_target = target.join("wasm-guests");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(&root).args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .arg("--target-dir")
        .arg(&guests_target)
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building the wasm guests {packages:?} failed (is the wasm32-unknown-unknown target installed? `scripts/install-test-tools.sh` adds it)"
    );
    let dir = target.join(folder);
    std::fs::create_dir_all(&dir).expect("the guests' folder can be made");
    for (built, file) in copies {
        let from = guests_target.join(format!("wasm32-unknown-unknown/release/{built}.wasm"));
        let staging = dir.join(format!(".{file}.{}", std::process::id()));
        std::fs::copy(&from, &staging).expect("the built guest can be copied");
        std::fs::rename(&staging, dir.join(file)).expect("the copy can be moved into place");
    }
    dir
}

/// `target/wasm-plugins`, holding `codecs.wasm` and `hostile.wasm` built from source.
#[allow(dead_code)]
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build(
            &["guest-codecs", "guest-hostile"],
            &[
                ("guest_codecs", "codecs.wasm"),
                ("guest_hostile", "hostile.wasm"),
            ],
            "wasm-plugins",
        )
    })
}

/// `target/wasm-typed/hostile-typed.wasm`: the hostile guests behind a typed method (a folder of
/// its own: its trait, `Probe`, is not every host's).
#[allow(dead_code)]
pub fn typed_hostile_module() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build(
            &["guest-hostile-typed"],
            &[("guest_hostile_typed", "hostile-typed.wasm")],
            "wasm-typed",
        )
    })
    .join("hostile-typed.wasm")
}

/// `target/wasm-typed/pricing.wasm`: `examples/sandboxed-trait` built to WebAssembly (a folder
/// of its own: its trait, `Pricing`, is the application's).
#[allow(dead_code)]
pub fn pricing_module() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build(
            &["sandboxed-trait"],
            &[("sandboxed_trait", "pricing.wasm")],
            "wasm-typed",
        )
    })
    .join("pricing.wasm")
}
