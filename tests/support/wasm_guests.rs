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

/// A module in text form whose plugin `greeter` answers `answer`.
pub fn guest_answering(answer: &str, version: &str) -> Vec<u8> {
    guest_named("greeter", answer, version)
}

/// A module in text form whose plugin `name` answers `answer` whatever its input.
pub fn guest_named(name: &str, answer: &str, version: &str) -> Vec<u8> {
    let len = answer.len();
    let module = wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (data (i32.const 16) "{answer}")
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32) (i32.const 0))
            (func (export "modreg_output_ptr") (result i32) (i32.const 16))
            (func (export "modreg_output_len") (result i32) (i32.const {len})))"#
    ))
    .unwrap();
    with_section(module, name, version, "data-processor", &[], &[])
}

/// A module in text form whose plugin `name` answers its input, declaring `permissions` and
/// `depends_on`.
pub fn echo_guest(
    name: &str,
    version: &str,
    plugin_type: &str,
    permissions: &[&str],
    depends_on: &[&str],
) -> Vec<u8> {
    let module = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (global $len (mut i32) (i32.const 0))
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (global.set $len (local.get 2)) (i32.const 0))
            (func (export "modreg_output_ptr") (result i32) (i32.const 1024))
            (func (export "modreg_output_len") (result i32) (global.get $len)))"#,
    )
    .unwrap();
    with_section(module, name, version, plugin_type, permissions, depends_on)
}

/// `module` with a `modreg.plugins` section describing one plugin appended.
fn with_section(
    mut module: Vec<u8>,
    name: &str,
    version: &str,
    plugin_type: &str,
    permissions: &[&str],
    depends_on: &[&str],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap().to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn list(out: &mut Vec<u8>, items: &[&str]) {
        out.extend_from_slice(&u32::try_from(items.len()).unwrap().to_le_bytes());
        for item in items {
            string(out, item);
        }
    }
    let section_name = b"modreg.plugins";
    // The section's name, its length as one LEB128 byte; then the record, format version 1.
    let mut payload = vec![u8::try_from(section_name.len()).unwrap()];
    payload.extend_from_slice(section_name);
    payload.push(1);
    for field in [name, version, plugin_type, "a test guest"] {
        string(&mut payload, field);
    }
    list(&mut payload, &[]);
    list(&mut payload, permissions);
    list(&mut payload, depends_on);
    module.push(0); // a custom section
    let mut size = payload.len();
    loop {
        let byte = u8::try_from(size & 0x7f).unwrap();
        size >>= 7;
        if size == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend_from_slice(&payload);
    module
}
