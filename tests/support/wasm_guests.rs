//! Builds the example WebAssembly guests (`examples/wasm-guests`) from source, once per test
//! or bench binary, into `target/wasm-plugins` (what `scripts/build-wasm-plugins.sh` does).
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

/// `target/wasm-plugins`, holding `codecs.wasm` and `hostile.wasm` built from source.
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace_root();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), PathBuf::from);
        let guests_target = target.join("wasm-guests");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--quiet",
                "--release",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "guest-codecs",
                "-p",
                "guest-hostile",
                "--target-dir",
            ])
            .arg(&guests_target)
            .status()
            .expect("cargo runs");
        assert!(
            status.success(),
            "building the wasm guests failed (is the wasm32-unknown-unknown target installed? rust-toolchain.toml asks rustup for it)"
        );
        let dir = target.join("wasm-plugins");
        std::fs::create_dir_all(&dir).expect("target/wasm-plugins can be made");
        for (built, name) in [("guest_codecs", "codecs"), ("guest_hostile", "hostile")] {
            let from = guests_target.join(format!("wasm32-unknown-unknown/release/{built}.wasm"));
            let to = dir.join(format!("{name}.wasm"));
            let staging = dir.join(format!(".{name}.wasm.{}", std::process::id()));
            std::fs::copy(&from, &staging).expect("the built guest can be copied");
            std::fs::rename(&staging, &to).expect("the copy can be moved into place");
        }
        dir
    })
}

/// `target/wasm-typed/hostile-typed.wasm`: the hostile guests behind a typed method (a folder of
/// its own: its trait, `Probe`, is not every host's).
#[allow(dead_code)]
pub fn typed_hostile_module() -> PathBuf {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE
        .get_or_init(|| {
            let root = workspace_root();
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| root.join("target"), PathBuf::from);
            let guests_target = target.join("wasm-guests");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(&root)
                .args([
                    "build",
                    "--quiet",
                    "--release",
                    "--target",
                    "wasm32-unknown-unknown",
                    "-p",
                    "guest-hostile-typed",
                    "--target-dir",
                ])
                .arg(&guests_target)
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the typed hostile guest failed");
            let dir = target.join("wasm-typed");
            std::fs::create_dir_all(&dir).expect("target/wasm-typed can be made");
            let to = dir.join("hostile-typed.wasm");
            let staging = dir.join(format!(".hostile-typed.wasm.{}", std::process::id()));
            std::fs::copy(
                guests_target.join("wasm32-unknown-unknown/release/guest_hostile_typed.wasm"),
                &staging,
            )
            .expect("the built guest can be copied");
            std::fs::rename(&staging, &to).expect("the copy can be moved into place");
            to
        })
        .clone()
}
