//! Builds the C guest (`examples/wasm-guests/c-hex`) with `scripts/build-c-guest.sh`, once per
//! test binary: clang's wasm32 target and lld (Debian's `clang` and `lld`, which `.ci/run`
//! installs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/wasm-c-guests/c-hex.wasm`, built from source.
pub fn c_hex_module() -> &'static Path {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .find(|dir| dir.join("scripts/build-c-guest.sh").is_file())
            .expect("the workspace holds scripts/build-c-guest.sh")
            .to_path_buf();
        let output = Command::new("bash")
            .arg(root.join("scripts/build-c-guest.sh"))
            .output()
            .expect("bash runs");
        assert!(
            output.status.success(),
            "building the C guest failed (it needs clang and wasm-ld: Debian's `clang` and `lld`, which `.ci/run` installs):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8_lossy(&output.stdout);
        let module = PathBuf::from(printed.trim());
        if module.is_absolute() {
            module
        } else {
            root.join(module)
        }
    })
}
