//! Builds the C guests (`examples/wasm-guests/c`: the hex codec and the hostile guests) with
//! `scripts/build-c-guest.sh`, once per test binary: clang's wasm32 target and lld (Debian's
//! `clang` and `lld`, which `scripts/install-test-tools.sh` installs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `target/wasm-c-guests/c-hex.wasm`, built from source.
#[allow(dead_code)]
pub fn c_hex_module() -> PathBuf {
    c_guest_dir().join("c-hex.wasm")
}

/// `target/wasm-c-guests/c-hostile.wasm`, built from source.
#[allow(dead_code)]
pub fn c_hostile_module() -> PathBuf {
    c_guest_dir().join("c-hostile.wasm")
}

/// `target/wasm-c-guests`, holding the C guests built from source.
fn c_guest_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
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
            "building the C guests failed (it needs clang and wasm-ld: Debian's `clang` and `lld`, which `scripts/install-test-tools.sh` installs):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = String::from_utf8_lossy(&output.stdout);
        let dir = PathBuf::from(printed.trim());
        if dir.is_absolute() { dir } else { root.join(dir) }
    })
}
