//! Files named by a user, a configuration or a guest that are not files (a FIFO, a device, a
//! link to one) or are too large: refused at once with an error that says so, never waited on
//! and never read without end.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use modreg::{ConfigFile, PluginConfiguration, SecretKey};

/// `f`'s answer, or a failure if it has none within 10 s (what used to hang forever).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not answer within 10 s"))
}

fn fifo(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    path
}

#[test]
fn configuration_and_key_files_that_are_not_files_are_refused_at_once() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let pipe = fifo(dir, "config.toml");
    let zero = dir.join("zero.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let big = dir.join("big.toml");
    std::fs::write(&big, vec![b'#'; (4 << 20) + 1]).unwrap();
    // Its owner's alone, as a key file must be (else that is refused first).
    std::fs::set_permissions(&big, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let not_files = [
        (pipe, "not a regular file"),
        (zero, "not a regular file"),
        (big, "over the limit"),
    ];
    for (path, reason) in not_files {
        let shown = path.display().to_string();
        let p = path.clone();
        let err = within("ConfigFile::read", move || ConfigFile::read(p).unwrap_err());
        assert!(err.to_string().contains(reason), "{shown}: {err}");
        let p = path.clone();
        let err = within("SecretKey::from_file", move || {
            SecretKey::from_file(p).unwrap_err()
        });
        assert!(err.to_string().contains(reason), "{shown}: {err}");
        let p = path.clone();
        let err = within("PluginConfiguration::load", move || {
            PluginConfiguration::new()
                .with_source(p)
                .load()
                .unwrap_err()
        });
        assert!(err.to_string().contains(reason), "{shown}: {err}");
    }
}

#[cfg(feature = "wasm")]
#[test]
fn a_plugin_directory_with_a_fifo_or_a_device_is_loaded_around_them() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.wasm")).unwrap();
    std::fs::write(dir.join("signed.wasm"), b"\0asm\x01\0\0\0").unwrap();
    fifo(dir, "signed.wasm.sig");
    let registry = modreg::ModuleRegistry::new();
    let scanned = dir.to_path_buf();
    let report = within("load_wasm_plugins", move || {
        registry.wasm().load_wasm_plugins(&scanned).unwrap()
    });
    let reasons: Vec<(String, String)> = report
        .refused
        .iter()
        .map(|(module, error)| (module.clone(), error.to_string()))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    for (module, reason) in &reasons {
        assert!(reason.contains("not a regular file"), "{module}: {reason}");
    }
    assert!(
        reasons
            .iter()
            .any(|(m, r)| m == "signed.wasm" && r.contains("signature file")),
        "{reasons:?}"
    );
}
