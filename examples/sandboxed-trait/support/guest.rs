//! Builds this crate for `wasm32-unknown-unknown`, once per test binary, into
//! `target/wasm-typed/pricing.wasm` (a folder of its own: a host that loads the plugin folder
//! of the other guests has no `Pricing` registry).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The built module's path.
pub fn pricing_module() -> &'static Path {
    static MODULE: OnceLock<PathBuf> = OnceLock::new();
    MODULE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .find(|dir| dir.join("examples/sandboxed-trait").is_dir())
            .expect("the workspace holds examples/sandboxed-trait")
            .to_path_buf();
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
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
                "sandboxed-trait",
                "--target-dir",
            ])
            .arg(&guests_target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the pricing guest failed");
        let dir = target.join("wasm-typed");
        std::fs::create_dir_all(&dir).expect("target/wasm-typed can be made");
        let to = dir.join("pricing.wasm");
        let staging = dir.join(format!(".pricing.wasm.{}", std::process::id()));
        std::fs::copy(
            guests_target.join("wasm32-unknown-unknown/release/sandboxed_trait.wasm"),
            &staging,
        )
        .expect("the built guest can be copied");
        std::fs::rename(&staging, &to).expect("the copy can be moved into place");
        to
    })
}
