//! `modreg` as a user runs it: output, exit codes, pipelines and configuration files.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn modreg(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("modreg starts");
    // A command that fails before reading its input closes the pipe; that is not a failure.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = modreg(args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs a failing command and returns its one-line message.
fn fails(args: &[&str], stdin: &[u8]) -> String {
    let out = modreg(args, stdin);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
    err
}

#[test]
fn list_shows_every_bundled_plugin() {
    let table = String::from_utf8(ok(&["list"], b"")).unwrap();
    assert!(table.starts_with("NAME"));
    for name in modreg::plugins::enabled_plugins() {
        assert!(
            table.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{table}"
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&ok(&["list", "--json"], b"")).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), modreg::plugins::enabled_plugins().len());
    let gzip = rows.iter().find(|r| r["name"] == "gzip-compress").unwrap();
    assert_eq!(gzip["type"], "compression");
    assert_eq!(gzip["crate"], "modreg-plugins");
    assert_eq!(
        gzip["capabilities"],
        serde_json::json!(["compression", "gzip"])
    );
}

#[test]
fn show_and_discover() {
    let shown = String::from_utf8(ok(&["show", "sha256"], b"")).unwrap();
    assert!(shown.contains("type:         hashing"), "{shown}");
    assert!(
        shown.contains("settings:     (takes no settings)"),
        "{shown}"
    );
    // The settings a plugin accepts, with defaults, from its config type.
    let shown = String::from_utf8(ok(&["show", "gzip-decompress"], b"")).unwrap();
    assert!(
        shown.contains("settings:     max_output_bytes = 67108864\n"),
        "{shown}"
    );
    let shown = String::from_utf8(ok(&["show", "chacha20poly1305-encrypt"], b"")).unwrap();
    assert!(shown.contains("settings:     key (required)\n"), "{shown}");
    let shown: serde_json::Value =
        serde_json::from_slice(&ok(&["show", "zstd-decompress", "--json"], b"")).unwrap();
    assert_eq!(
        shown["settings"],
        serde_json::json!([
            {"name": "max_output_bytes", "required": false, "default": 67_108_864},
            {"name": "require_checksum", "required": false, "default": true}
        ])
    );
    // Typed values, the real default, and the definition site as fields.
    let shown: serde_json::Value =
        serde_json::from_slice(&ok(&["show", "gzip-compress", "--json"], b"")).unwrap();
    assert_eq!(shown["settings"][0]["default"], serde_json::json!(6));
    assert_eq!(shown["defined_at"]["file"], "plugins/src/compression.rs");
    assert!(shown["defined_at"]["line"].as_u64().unwrap() > 0);
    assert_eq!(shown["defined_at"]["module"], "modreg_plugins::compression");
    // An empty list is left out of the text, rather than printed as a blank line.
    let shown = String::from_utf8(ok(&["show", "gzip-compress"], b"")).unwrap();
    assert!(shown.contains("settings:     level = 6\n"), "{shown}");
    assert!(
        !shown.contains("depends on:") && !shown.contains("permissions:"),
        "{shown}"
    );
    let found: serde_json::Value = serde_json::from_slice(&ok(
        &[
            "discover",
            "--type",
            "compression",
            "--capability",
            "decompression",
            "--json",
        ],
        b"",
    ))
    .unwrap();
    let names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gzip-decompress", "zstd-decompress"]);
    let ranked: serde_json::Value = serde_json::from_slice(&ok(
        &[
            "discover",
            "--capability",
            "compression",
            "--optional",
            "zstd",
            "--json",
        ],
        b"",
    ))
    .unwrap();
    assert_eq!(ranked[0]["name"], "zstd-compress");
}

#[test]
fn pipelines_round_trip() {
    let input = b"the quick brown fox jumps over the lazy dog".repeat(20);
    let packed = ok(&["run", "zstd-compress,base64-encode"], &input);
    assert!(packed.iter().all(u8::is_ascii));
    assert_eq!(
        ok(&["run", "base64-decode,zstd-decompress"], &packed),
        input
    );
    assert_eq!(
        ok(&["run", "sha256,hex-encode"], b"abc"),
        b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn encryption_takes_its_key_from_the_config_file() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let config = dir.join("keys.toml");
    std::fs::write(
        &config,
        format!("[plugins.chacha20poly1305-encrypt]\nkey = \"{KEY}\"\n[plugins.chacha20poly1305-decrypt]\nkey = \"{KEY}\"\n"),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let sealed = ok(
        &["run", "chacha20poly1305-encrypt", "--config", config],
        b"attack at dawn",
    );
    assert_eq!(
        ok(
            &["run", "chacha20poly1305-decrypt", "--config", config],
            &sealed
        ),
        b"attack at dawn"
    );
    let mut tampered = sealed.clone();
    *tampered.last_mut().unwrap() ^= 0x80;
    let err = fails(
        &["run", "chacha20poly1305-decrypt", "--config", config],
        &tampered,
    );
    assert!(err.contains("authentication failed"), "{err}");
    let err = fails(&["run", "chacha20poly1305-decrypt"], &sealed);
    assert!(err.contains("missing field `key`"), "{err}");
}

#[test]
fn bad_input_is_one_clear_line() {
    let err = fails(&["show", "gzip-compres"], b"");
    assert!(
        err.contains("`gzip-compres` is not registered") && err.contains("gzip-compress"),
        "{err}"
    );
    let err = fails(&["run", "gzip-compress,,hex-encode"], b"x");
    assert!(err.contains("pipeline"), "{err}");
    let err = fails(&["run", "gzip-decompress"], b"not gzip");
    assert!(err.contains("gzip-decompress"), "{err}");
    let err = fails(&["discover", "--type", "Not A Type"], b"");
    assert!(err.contains("plugin type"), "{err}");
    let err = fails(&["discover", "--capability", "UPPER"], b"");
    assert!(err.contains("invalid query"), "{err}");
    let err = fails(
        &["run", "hex-encode", "--config", "/definitely/not/here.toml"],
        b"",
    );
    assert!(err.contains("/definitely/not/here.toml"), "{err}");
}

#[test]
fn malformed_config_file_names_file_and_line() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("bad.toml");
    std::fs::write(&path, "[plugins.gzip-compress]\nlevel = = 3\n").unwrap();
    let err = fails(
        &["run", "gzip-compress", "--config", path.to_str().unwrap()],
        b"x",
    );
    assert!(
        err.contains(path.to_str().unwrap()) && err.contains("line 2"),
        "{err}"
    );
    std::fs::write(&path, "[plugins.no-such-plugin]\nlevel = 3\n").unwrap();
    let err = fails(
        &["run", "gzip-compress", "--config", path.to_str().unwrap()],
        b"x",
    );
    assert!(err.contains("no-such-plugin"), "{err}");
}

/// What a successful `modreg ARGS` logs at INFO on standard error (a pipe).
fn info_logs(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(args)
        .env("MODREG_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn text_logs_to_a_pipe_have_no_colour_codes() {
    let stderr = info_logs(&["run", "hex-encode"]);
    assert!(stderr.contains("hex-encode"), "{stderr:?}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn json_logs_carry_the_plugin_fields() {
    let stderr = info_logs(&["--log-format", "json", "run", "hex-encode"]);
    let event: serde_json::Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["fields"]["plugin"] == "hex-encode")
        .unwrap_or_else(|| panic!("no JSON event for hex-encode in {stderr:?}"));
    assert_eq!(event["level"], "INFO");
    assert_eq!(event["fields"]["plugin_type"], "encoding");
    assert!(event["fields"]["version"].is_string());
}

#[test]
fn a_pipeline_output_is_limited() {
    // 30 hex encodings of one byte would be 2^30 bytes; the limit stops the pipeline at the
    // first stage whose output is over it.
    let thirty = vec!["hex-encode"; 30].join(",");
    let err = fails(&["run", &thirty, "--max-output-bytes", "4096"], b"x");
    assert!(
        err.contains("hex-encode") && err.contains("over the limit of 4096 bytes"),
        "{err}"
    );
    assert_eq!(
        ok(
            &["run", "hex-encode,hex-encode", "--max-output-bytes", "4"],
            b"x"
        ),
        b"3738"
    );
    let err = fails(&["run", "hex-encode", "--max-output-bytes", "0"], b"x");
    assert!(err.contains("max-output-bytes"), "{err}");
}

#[test]
fn control_characters_in_names_are_escaped() {
    let err = fails(&["show", "evil\nmodreg: allowed=true\u{1b}[2J"], b"");
    assert!(
        !err.trim_end().contains('\n') && !err.contains('\u{1b}'),
        "{err:?}"
    );
    assert!(err.contains("\\n") && err.contains("\\u{1b}"), "{err:?}");
}

#[test]
fn output_that_cannot_be_written_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(["run", "hex-encode"])
        .stdin(Stdio::piped())
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"data").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("modreg: standard output: "), "{err}");
    // The tool's own failure is not told as a plugin's.
    assert!(!err.contains("plugin"), "{err}");
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    for args in [&["run", "hex-encode"][..], &["list"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // As `modreg ... | head -c 0`: the reader is gone before anything is written.
        drop(child.stdout.take());
        // `list` does not read its input and may have closed it already.
        let _ = child.stdin.take().unwrap().write_all(b"data");
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn zero_intervals_timeouts_and_budgets_are_refused_before_anything_runs() {
    for option in [
        "--health-interval-ms",
        "--reload-interval-ms",
        "--request-timeout-ms",
        "--header-timeout-ms",
        "--idle-timeout-ms",
        "--write-timeout-ms",
        "--max-requests-per-connection",
        "--max-connections",
        "--max-running-pipelines",
        "--max-queued-runs",
        "--max-reply-memory-bytes",
        "--shutdown-grace-ms",
    ] {
        let err = fails(&["serve", "--addr", "127.0.0.1:0", option, "0"], b"");
        assert!(err.contains(option) && err.contains("at least 1"), "{err}");
    }
    let err = fails(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--idle-timeout-ms",
            "500",
            "--request-timeout-ms",
            "1000",
        ],
        b"",
    );
    assert!(
        err.contains("--idle-timeout-ms 500") && err.contains("--request-timeout-ms"),
        "{err}"
    );
    // Equal timeouts race: the connection could close before the request's 503.
    let err = fails(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--idle-timeout-ms",
            "1000",
            "--request-timeout-ms",
            "1000",
        ],
        b"",
    );
    assert!(err.contains("must be longer than"), "{err}");
    let err = fails(&["list", "--wasm-time-budget-ms", "0"], b"");
    assert!(err.contains("WebAssembly time budget"), "{err}");
}

/// Standard input is streamed: `/dev/zero` through a plugin that streams runs as long as its
/// reader reads (and ends quietly when it stops, as `cat` does), in bounded memory; a plugin
/// that cannot stream holds its input up to `--max-buffer-bytes` and the error names that
/// option; `--max-input-bytes` caps the input when asked.
#[cfg(unix)]
#[test]
fn standard_input_is_streamed_and_what_is_held_is_limited() {
    use std::io::Read;
    let err = fails(
        &["run", "hex-encode", "--max-input-bytes", "10"],
        &[b'a'; 100],
    );
    assert!(err.contains("over the limit of 10 bytes"), "{err}");
    // Endless input, a reader that takes 4 MiB and goes away.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(["run", "hex-encode"])
        .stdin(zero)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut taken = vec![0; 4 << 20];
    child.stdout.take().unwrap().read_exact(&mut taken).unwrap();
    assert!(taken.iter().all(|&b| b == b'0'));
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A plugin that cannot stream, over the buffer limit.
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let config = dir.join("keys.toml");
    std::fs::write(
        &config,
        "[plugins.chacha20poly1305-encrypt]\nkey = \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"\n",
    )
    .unwrap();
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args([
            "run",
            "chacha20poly1305-encrypt",
            "--max-buffer-bytes",
            "1048576",
            "--config",
        ])
        .arg(&config)
        .stdin(zero)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot stream")
            && err.contains("--max-buffer-bytes")
            && err.contains("1048576"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// The peak resident memory of process `pid` so far, in bytes (`VmHWM`).
#[cfg(target_os = "linux")]
fn peak_resident(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kib * 1024
}

/// 256 MiB (four times the old limit on input) through each pair of streaming plugins:
/// everything comes back, and the process never holds more than 64 MiB.
#[cfg(target_os = "linux")]
#[test]
fn a_large_input_streams_through_in_bounded_memory() {
    use std::io::Read;
    const SIZE: usize = 256 << 20;
    for pipeline in [
        "gzip-compress,gzip-decompress",
        "zstd-compress,zstd-decompress",
        "base64-encode,base64-decode",
        "hex-encode,sha256,hex-encode",
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
            .args(["run", pipeline])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut total, mut nonzero) = (0usize, 0usize);
            let mut buf = vec![0; 1 << 16];
            loop {
                let n = stdout.read(&mut buf).unwrap();
                if n == 0 {
                    return (total, nonzero);
                }
                total += n;
                nonzero += buf[..n].iter().filter(|&&b| b != 0).count();
            }
        });
        // A pattern that is not all zeros, so the codecs have something to do.
        let block: Vec<u8> = (0..1 << 20)
            .map(|i: u32| u8::try_from(i % 251 * (i / 4096 % 3) % 256).unwrap())
            .collect();
        for _ in 0..SIZE / block.len() {
            stdin.write_all(&block).unwrap();
        }
        // Read before the input ends: the process is still running, at its peak.
        let peak = peak_resident(pid);
        drop(stdin);
        let (total, _) = reader.join().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{pipeline}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = if pipeline.contains("sha256") {
            64
        } else {
            SIZE
        };
        assert_eq!(total, want, "{pipeline}");
        assert!(peak < 64 << 20, "{pipeline}: {} MiB resident", peak >> 20);
    }
}

/// `--progress` draws the progress line where it is not a terminal too; it is erased at the
/// end.
#[test]
fn progress_shows_bytes_in_and_out_when_asked() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(["run", "hex-encode", "--progress"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Input for longer than the second after which progress shows.
    let start = std::time::Instant::now();
    let chunk = vec![7; 1 << 16];
    while start.elapsed() < std::time::Duration::from_millis(1600) {
        stdin.write_all(&chunk).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("modreg: ") && err.contains(" in, ") && err.contains(" out, "),
        "{err:?}"
    );
    assert!(err.ends_with("\r\u{1b}[2K"), "erased at the end: {err:?}");
}

#[test]
fn usage_errors_exit_2_as_the_readme_says() {
    let out = modreg(&["run"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = modreg(&["list", "--no-such-option"], b"");
    assert_eq!(out.status.code(), Some(2));
}

#[path = "../../tests/support/wasm_guests.rs"]
#[allow(dead_code)]
mod wasm_guests;
#[path = "../../tests/support/wasm_text.rs"]
#[allow(dead_code)]
mod wasm_text;

/// A signing key for the tests (its seed) and the public key `--trusted-key` takes.
const SECRET: &str = "0909090909090909090909090909090909090909090909090909090909090909";

/// What the tool trusts in a plugin directory: a module never takes a compiled-in name unless
/// allowed; `--require-signatures` refuses unsigned modules; with `--state-dir` an older
/// signed module is refused in a later run.
#[test]
fn a_plugin_directory_is_trusted_only_as_far_as_the_options_say() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let plugin_dir = plugins.to_str().unwrap().to_owned();

    // An impostor of a compiled-in plugin, agreeing with it on type and version.
    let shown: serde_json::Value =
        serde_json::from_slice(&ok(&["show", "hex-encode", "--json"], b"")).unwrap();
    let impostor = wasm_text::guest_typed(
        "hex-encode",
        "plain",
        shown["version"].as_str().unwrap(),
        shown["type"].as_str().unwrap(),
    );
    std::fs::write(plugins.join("impostor.wasm"), &impostor).unwrap();
    let out = modreg(&["--plugin-dir", &plugin_dir, "run", "hex-encode"], b"a");
    assert_eq!(out.stdout, b"61", "the compiled-in plugin answers");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skipping impostor.wasm") && err.contains("compiled in"),
        "{err}"
    );
    let replaced = ok(
        &[
            "--plugin-dir",
            &plugin_dir,
            "--allow-replacing-compiled-plugins",
            "run",
            "hex-encode",
        ],
        b"a",
    );
    assert_eq!(replaced, b"plain");
    std::fs::remove_file(plugins.join("impostor.wasm")).unwrap();

    // Signatures.
    let public = modreg::TrustedKey::public_of("release", SECRET)
        .unwrap()
        .public_key_hex();
    let trusted = format!("release={public}");
    let state_dir = dir.join("state");
    let state = state_dir.to_str().unwrap().to_owned();
    let strict = |rest: &[&str]| -> Output {
        let mut args = vec![
            "--plugin-dir",
            plugin_dir.as_str(),
            "--require-signatures",
            "--trusted-key",
            trusted.as_str(),
            "--state-dir",
            state.as_str(),
        ];
        args.extend_from_slice(rest);
        modreg(&args, b"")
    };
    let put = |bytes: &[u8], signed: bool| {
        std::fs::write(plugins.join("greeter.wasm"), bytes).unwrap();
        let sig = plugins.join("greeter.wasm.sig");
        if signed {
            let signature = modreg::WasmSignature::new(
                "release",
                modreg::sign_message(&modreg::WasmSignature::message(bytes), SECRET).unwrap(),
            );
            std::fs::write(sig, signature.to_toml()).unwrap();
        } else {
            let _ = std::fs::remove_file(sig);
        }
    };
    let v1 = wasm_text::guest_answering("one", "1.0.0");
    let v2 = wasm_text::guest_answering("two", "2.0.0");
    put(&v1, false);
    let out = strict(&["run", "greeter"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipping greeter.wasm"), "{err}");
    put(&v2, true);
    assert_eq!(strict(&["run", "greeter"]).stdout, b"two");
    // A later run, with the older signed version in the directory: refused.
    put(&v1, true);
    let out = strict(&["run", "greeter"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("may only replace an older one"), "{err}");
    // Without a trusted key, requiring signatures is a usage error.
    let out = modreg(&["--require-signatures", "list"], b"");
    assert_eq!(out.status.code(), Some(2));
}

/// A plugin directory other users may write is warned about while unsigned modules load
/// (whoever may write it may add plugins), not while only signed ones do; its modules load
/// either way.
#[cfg(unix)]
#[test]
fn a_plugin_directory_others_may_write_is_warned_about_while_unsigned_modules_load() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().unwrap();
    let plugins = scratch.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(
        plugins.join("greeter.wasm"),
        wasm_text::guest_answering("one", "1.0.0"),
    )
    .unwrap();
    let plugin_dir = plugins.to_str().unwrap();
    let chmod = |mode| {
        std::fs::set_permissions(&plugins, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let warned = |out: &Output| {
        String::from_utf8_lossy(&out.stderr).contains("other users may add plugins to it")
    };
    for (mode, told) in [(0o777, true), (0o775, true), (0o755, false), (0o700, false)] {
        chmod(mode);
        let out = modreg(&["--plugin-dir", plugin_dir, "run", "greeter"], b"");
        assert_eq!(out.stdout, b"one", "{mode:o}: it loads");
        assert_eq!(warned(&out), told, "{mode:o}: {out:?}");
    }
    chmod(0o777);
    let public = modreg::TrustedKey::public_of("release", SECRET)
        .unwrap()
        .public_key_hex();
    let trusted = format!("release={public}");
    let strict = modreg(
        &[
            "--plugin-dir",
            plugin_dir,
            "--require-signatures",
            "--trusted-key",
            &trusted,
            "list",
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(
        strict.status.success() && err.contains("skipping greeter.wasm"),
        "{err}"
    );
    assert!(!warned(&strict), "{err}");
}

/// A module the tool runs directly (`modreg conformance FILE`) is admitted as a plugin
/// directory's would be: with `--require-signatures`, only with a trusted key's `.sig` beside
/// it, and an unsigned one is refused before the kit runs any of it.
#[test]
fn a_module_run_directly_needs_the_signatures_a_directory_would() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let public = modreg::TrustedKey::public_of("release", SECRET)
        .unwrap()
        .public_key_hex();
    let trusted = format!("release={public}");
    let codecs = dir.join("codecs.wasm");
    let bytes = std::fs::read(wasm_guests::plugin_dir().join("codecs.wasm")).unwrap();
    std::fs::write(&codecs, &bytes).unwrap();
    let codecs = codecs.to_str().unwrap();
    let strict = || {
        modreg(
            &[
                "--require-signatures",
                "--trusted-key",
                &trusted,
                "conformance",
                codecs,
            ],
            b"",
        )
    };
    let out = strict();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing of it ran");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`codecs.wasm` is unsigned") && err.contains(".wasm.sig"),
        "{err}"
    );
    let signature = modreg::WasmSignature::new(
        "release",
        modreg::sign_message(&modreg::WasmSignature::message(&bytes), SECRET).unwrap(),
    );
    std::fs::write(format!("{codecs}.sig"), signature.to_toml()).unwrap();
    let out = strict();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The README's WebAssembly commands, and the hostile guests stopped with one line each.
#[test]
fn plugins_from_a_plugin_directory_run_in_the_sandbox() {
    let dir = wasm_guests::plugin_dir().to_str().unwrap().to_owned();
    let with_dir = |rest: &[&str]| -> Vec<String> {
        let mut args = vec!["--plugin-dir".to_owned(), dir.clone()];
        args.extend(rest.iter().map(|s| (*s).to_owned()));
        args
    };
    let args = with_dir(&["run", "rot13"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(ok(&args, b"Hello"), b"Uryyb");
    let args = with_dir(&["run", "rot13,wasm-hex-encode,wasm-hex-decode"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(ok(&args, b"Hello"), b"Uryyb");
    // What its record asked for, beside where it came from.
    let args = with_dir(&["show", "rot13"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let shown = String::from_utf8(ok(&args, b"")).unwrap();
    assert!(
        shown.contains("(WebAssembly, record version 2, asks output_bytes=65536, sha256 "),
        "{shown}"
    );
    let args = with_dir(&["list"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let listing = String::from_utf8(ok(&args, b"")).unwrap();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("rot13 ") && l.ends_with("wasm:codecs.wasm")),
        "{listing}"
    );
    let args = with_dir(&["--wasm-time-budget-ms", "200", "run", "spin"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(fails(&args, b"").contains("did not answer within 200ms"));
    let args = with_dir(&["run", "read-passwd"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = modreg(&args, b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("needs permission `file.read`"), "{err}");
    assert!(
        err.contains("sandbox refused a capability"),
        "the refusal is audited: {err}"
    );
    assert!(out.stdout.is_empty());
    let args = with_dir(&["run", "panic"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = modreg(&args, b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("panicked in process") && err.contains("on purpose"),
        "{err}"
    );
    // A module's file name is shown escaped: it cannot drive the terminal or forge lines.
    let scratch = tempfile::tempdir().unwrap();
    let forged = scratch.path();
    std::fs::copy(
        wasm_guests::plugin_dir().join("codecs.wasm"),
        forged.join("red\u{1b}[31m\nline.wasm"),
    )
    .unwrap();
    let forged_dir = forged.to_str().unwrap();
    for args in [
        &["--plugin-dir", forged_dir, "list"][..],
        &["--plugin-dir", forged_dir, "show", "rot13"],
    ] {
        let out = String::from_utf8(ok(args, b"")).unwrap();
        assert!(!out.contains('\u{1b}'), "{args:?}: {out:?}");
        assert!(
            out.contains("red\\u{1b}[31m\\nline.wasm"),
            "{args:?}: {out:?}"
        );
    }
}

#[test]
fn completions_man_page_and_global_options_in_their_own_section() {
    let bash = String::from_utf8(ok(&["completions", "bash"], b"")).unwrap();
    assert!(
        bash.contains("_modreg()") && bash.contains("discover"),
        "{bash}"
    );
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(!ok(&["completions", shell], b"").is_empty(), "{shell}");
    }
    let man = String::from_utf8(ok(&["man"], b"")).unwrap();
    assert!(
        man.contains(".TH modreg") && man.contains("completions"),
        "{man}"
    );
    let help = String::from_utf8(ok(&["run", "--help"], b"")).unwrap();
    let (own, global) = help
        .split_once("Global options:")
        .expect("a global section");
    assert!(
        own.contains("--max-output-bytes") && own.contains("--force"),
        "{help}"
    );
    assert!(
        global.contains("--plugin-dir") && global.contains("--log-format"),
        "{help}"
    );
    assert!(!own.contains("--plugin-dir"), "{help}");
}

/// `echo aGk= | modreg run base64-decode`: every shell adds a newline; wrapped input (76
/// columns, as `base64` writes it) has more.
#[test]
fn decoders_take_input_as_shells_and_base64_write_it() {
    assert_eq!(ok(&["run", "base64-decode"], b"aGk=\n"), b"hi");
    let wrapped = ok(&["run", "base64-encode"], &[b'x'; 100]);
    let mut lines: Vec<u8> = wrapped
        .chunks(76)
        .flat_map(|line| line.iter().copied().chain([b'\n']))
        .collect();
    lines.push(b'\n');
    assert_eq!(ok(&["run", "base64-decode"], &lines), [b'x'; 100]);
}

/// Binary output is refused on a terminal (a pseudo-terminal from `script`), as gzip does;
/// `--force` writes it, and text goes through.
#[cfg(target_os = "linux")]
#[test]
fn binary_output_is_refused_on_a_terminal_unless_forced() {
    let on_terminal = |pipeline: &str, force: bool| {
        let command = format!(
            "printf hello | {} run {pipeline}{}",
            env!("CARGO_BIN_EXE_modreg"),
            if force { " --force" } else { "" }
        );
        let out = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .expect("`script` (util-linux) gives the command a terminal");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let refused = on_terminal("gzip-compress", false);
    assert!(
        refused.contains("binary output is not written to a terminal"),
        "{refused}"
    );
    let forced = on_terminal("gzip-compress", true);
    assert!(!forced.contains("binary output"), "{forced}");
    assert!(on_terminal("hex-encode", false).contains("68656c6c6f"));
}

/// A type or capability no plugin has is a typo more often than a question.
#[test]
fn discover_suggests_the_closest_type_and_capability() {
    let err = fails(&["discover", "--type", "compresion"], b"");
    assert!(
        err.contains("`compresion`") && err.contains("did you mean `compression`?"),
        "{err}"
    );
    let err = fails(&["discover", "--capability", "gzipp"], b"");
    assert!(err.contains("did you mean `gzip`?"), "{err}");
    let err = fails(&["discover", "--optional", "zzz-nothing"], b"");
    assert!(
        err.contains("no plugin has it") && !err.contains("did you mean"),
        "{err}"
    );
    assert!(!ok(&["discover", "--type", "compression"], b"").is_empty());
}

/// Asked for JSON, a failing command says so in JSON (on standard error; standard output
/// stays empty).
#[test]
fn json_errors_are_json() {
    for args in [
        &["show", "gzip-compres", "--json"][..],
        &["discover", "--type", "compresion", "--json"],
    ] {
        let err = fails(args, b"");
        let value: serde_json::Value = serde_json::from_str(&err).expect("a JSON object");
        let message = value["error"].as_str().unwrap();
        assert!(message.contains("did you mean"), "{message}");
    }
}

/// Every kind of mistake in a configuration file is one line naming the file, the line and
/// the key (docs/configuration.md promises it).
#[test]
fn configuration_errors_name_the_file_the_line_and_the_key() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let cases: [(&str, &str, &str, &[&str]); 6] = [
        (
            "syntax",
            "[plugins.gzip-compress\nlevel = 3\n",
            "gzip-compress",
            &["line 1", "expected `]`"],
        ),
        (
            "a section naming no plugin",
            "[plugins.gzip-compres]\nlevel = 3\n",
            "gzip-compress",
            &["`[plugins.gzip-compres]`", "did you mean `gzip-compress`"],
        ),
        (
            "a value of the wrong type",
            "# levels\n[plugins.gzip-compress]\nlevel = \"x\"\n",
            "gzip-compress",
            &[
                "line 3",
                "`[plugins.gzip-compress]` key `level`",
                "invalid type",
            ],
        ),
        (
            "an unknown key",
            "[plugins.gzip-compress]\n\nlevle = 3\n",
            "gzip-compress",
            &["line 3", "key `levle`", "unknown field"],
        ),
        (
            "a value the plugin refuses",
            "[plugins.gzip-compress]\nlevel = 30\n",
            "gzip-compress",
            &["line 2", "key `level`", "outside 0..=9"],
        ),
        (
            "a value in an environment's section",
            "environment = \"prod\"\n[environments.prod.plugins.zstd-compress]\nlevel = 99\n",
            "zstd-compress",
            &[
                "line 3",
                "`[environments.prod.plugins.zstd-compress]` key `level`",
            ],
        ),
    ];
    for (kind, text, plugin, expected) in cases {
        let path = dir.join("modreg.toml");
        std::fs::write(&path, text).unwrap();
        let err = fails(&["run", plugin, "--config", path.to_str().unwrap()], b"x");
        assert!(err.contains(path.to_str().unwrap()), "{kind}: {err}");
        for part in expected {
            assert!(err.contains(part), "{kind}: `{part}` missing from {err}");
        }
    }
    // A required key with no file at all: the error says how to give it.
    let err = fails(&["run", "chacha20poly1305-encrypt"], b"x");
    assert!(
        err.contains("--config FILE") && err.contains("[plugins.chacha20poly1305-encrypt]"),
        "{err}"
    );
}

/// `--jit-cache-dir`: the compiling engines keep each module's machine code there, one file per
/// module and engine, and the next run serves from it (the same files, each its time renewed:
/// not compiled and written again, which would replace them);
/// with the interpreter, where it would change nothing, the flag is refused; a build without
/// the engines refuses it and says how to get them.
#[test]
fn jit_cache_dir_keeps_machine_code_across_runs() {
    type Files = std::collections::BTreeMap<std::path::PathBuf, (u64, std::time::SystemTime)>;
    let scratch = tempfile::tempdir().unwrap();
    let cache = scratch.path().join("cache");
    let plugins = wasm_guests::plugin_dir();
    let args = |engine: &'static str| {
        [
            "--wasm-engine",
            engine,
            "--jit-cache-dir",
            cache.to_str().unwrap(),
            "--plugin-dir",
            plugins.to_str().unwrap(),
            "run",
            "rot13",
        ]
        .map(str::to_owned)
    };
    let run = |engine| {
        let args = args(engine);
        ok(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            b"Hello",
        )
    };
    let refused = |engine| {
        let args = args(engine);
        fails(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            b"Hello",
        )
    };
    for engine in ["interpreter", "lazy-interpreter"] {
        let err = refused(engine);
        assert!(
            err.contains("--jit-cache-dir") && err.contains("--wasm-engine jit"),
            "{engine}: {err}"
        );
    }
    if !cfg!(feature = "jit") {
        let err = refused("jit");
        assert!(err.contains("--features jit"), "{err}");
        assert!(!cache.exists());
        return;
    }
    // Each file, which file it is (on Unix its inode: a file written again is a new one) and
    // when it was last used.
    let files = || -> Files {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "cwasm"))
            .map(|path| {
                let metadata = std::fs::metadata(&path).unwrap();
                #[cfg(unix)]
                let file = std::os::unix::fs::MetadataExt::ino(&metadata);
                #[cfg(not(unix))]
                let file = 0;
                (path, (file, metadata.modified().unwrap()))
            })
            .collect()
    };
    let modules = std::fs::read_dir(plugins)
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "wasm")
        })
        .count();
    assert_eq!(run("jit"), b"Uryyb");
    let first = files();
    assert_eq!(first.len(), modules, "{first:?}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(run("jit"), b"Uryyb");
    let second = files();
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>()
    );
    assert!(
        second
            .iter()
            .all(|(path, (file, used))| *file == first[path].0 && *used > first[path].1),
        "each file used again, not written again: {first:?} {second:?}"
    );
    // The baseline compiler's code is a file of its own.
    assert_eq!(run("jit-baseline"), b"Uryyb");
    assert_eq!(files().len(), 2 * modules);
}

#[test]
fn conformance_passes_a_conforming_guest_and_fails_the_others_with_a_reason() {
    let dir = wasm_guests::plugin_dir();
    let codecs = dir.join("codecs.wasm");
    let report = String::from_utf8(ok(&["conformance", codecs.to_str().unwrap()], b"")).unwrap();
    let cases = modreg::conformance::CASES.len();
    assert!(
        report.contains(&format!("{cases} of {cases} cases passed: conforms")),
        "{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("  ok ")).count(),
        cases
    );
    let json: serde_json::Value = serde_json::from_slice(&ok(
        &["conformance", codecs.to_str().unwrap(), "--json"],
        b"",
    ))
    .unwrap();
    assert_eq!(json["conforms"], true);
    assert_eq!(json["encoder"], "wasm-hex-encode");
    assert_eq!(json["cases"].as_array().unwrap().len(), cases);
    assert!(
        json["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true && c["error"].is_null())
    );

    // In the other engines: the same kit, the same verdict (the lazy interpreter always; the
    // compiling engines in a build with the feature `jit`), or a refusal that says how to get
    // the engine (a build without).
    for engine in ["lazy-interpreter", "jit", "jit-baseline"] {
        let jit = modreg(
            &[
                "--wasm-engine",
                engine,
                "conformance",
                codecs.to_str().unwrap(),
            ],
            b"",
        );
        if engine == "lazy-interpreter" || cfg!(feature = "jit") {
            let report = String::from_utf8(jit.stdout).unwrap();
            assert!(jit.status.success(), "{engine}: {report}");
            assert!(report.contains(&format!("{cases} of {cases} cases passed: conforms")));
        } else {
            assert_eq!(jit.status.code(), Some(1));
            let err = String::from_utf8(jit.stderr).unwrap();
            assert!(
                err.contains("--features jit") && err.contains(&format!("`{engine}`")),
                "{err}"
            );
        }
    }

    // A module with no hex codec: the report says so, and the exit status is 1.
    let hostile = dir.join("hostile.wasm");
    let out = modreg(&["conformance", hostile.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("lists no plugin"));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("does not conform") && err.contains("no hex codec"),
        "{err}"
    );

    // With --json, a failure is JSON too: the report on standard output, the error on
    // standard error.
    let out = modreg(&["conformance", hostile.to_str().unwrap(), "--json"], b"");
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["conforms"], false);
    assert!(json["encoder"].is_null());
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert!(
        err["error"].as_str().unwrap().contains("no hex codec"),
        "{err}"
    );

    // What is not a module at all is refused with the loader's reason (logged by the loader
    // too), and no report.
    let out = modreg(&["conformance", "Cargo.toml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("modreg: ")
            && last.contains("Cargo.toml")
            && last.contains("not a valid module"),
        "{err}"
    );
}

/// A setting sealed by `modreg seal` for one plugin's field opens in `run` given the same
/// `--secret-key-file`, for that plugin alone: the AEAD pair round-trips with its cipher key
/// sealed in the configuration file, a value sealed for the other plugin does not open, and
/// without the key the configuration is refused. The key file must be its owner's alone, and
/// `seal` needs the key, a plugin the registry has and a secret; no error shows the secret.
#[cfg(unix)]
#[test]
fn sealed_settings_open_with_the_key_file_for_their_plugin_alone() {
    use std::os::unix::fs::PermissionsExt;
    const CIPHER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let scratch = tempfile::tempdir().unwrap();
    let key_file = scratch.path().join("sealing.key");
    std::fs::write(&key_file, format!("{SECRET}\n")).unwrap();
    let chmod = |mode| {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    chmod(0o600);
    let key = key_file.to_str().unwrap();
    // `args` after `--secret-key-file KEY`.
    let keyed = |args: &[&'static str]| [&["--secret-key-file", key][..], args].concat();
    let seal = |plugin| {
        let out = ok(
            &keyed(&["seal", plugin, "key"]),
            format!("{CIPHER_KEY}\n").as_bytes(),
        );
        let sealed = String::from_utf8(out).unwrap().trim_end().to_owned();
        assert!(sealed.starts_with("enc:v2:") && !sealed.contains(CIPHER_KEY));
        sealed
    };
    let (encrypt, decrypt) = (
        seal("chacha20poly1305-encrypt"),
        seal("chacha20poly1305-decrypt"),
    );
    let config = |file: &str, encrypt: &str, decrypt: &str| {
        let path = scratch.path().join(file);
        let text = format!(
            "[plugins.chacha20poly1305-encrypt]\nkey = \"{encrypt}\"\n\
             [plugins.chacha20poly1305-decrypt]\nkey = \"{decrypt}\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let pipeline = "chacha20poly1305-encrypt,chacha20poly1305-decrypt";
    let sealed = config("settings.toml", &encrypt, &decrypt);
    let swapped = config("swapped.toml", &encrypt, &encrypt);
    let run = |config| {
        let mut args = keyed(&["run", "--config"]);
        args.extend([config, pipeline]);
        args
    };
    assert_eq!(ok(&run(&sealed), b"hello"), b"hello");
    // Refused, each with its reason, and the secret in no message.
    let refused = |args: &[&str], stdin: &[u8], reason: &str| {
        let out = modreg(args, stdin);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success() && out.stdout.is_empty(),
            "{args:?}: {err}"
        );
        assert!(err.contains(reason), "{args:?}: {err}");
        assert!(!err.contains(CIPHER_KEY) && !err.contains(SECRET), "{err}");
    };
    // (the command, its standard input, what its message says)
    let cases: [(Vec<&str>, &[u8], &str); 5] = [
        (
            run(&sealed)[2..].to_vec(),
            b"hello",
            "is sealed, but plugin encryption is off or has no secret key",
        ),
        (run(&swapped), b"hello", "sealed value cannot be opened"),
        (
            vec!["seal", "chacha20poly1305-encrypt", "key"],
            b"x",
            "give --secret-key-file",
        ),
        (
            keyed(&["seal", "chacha20poly1305-encrypy", "key"]),
            b"x",
            "did you mean",
        ),
        (
            keyed(&["seal", "chacha20poly1305-encrypt", "key"]),
            b"\n",
            "nothing to seal",
        ),
    ];
    for (args, stdin, reason) in &cases {
        refused(args, stdin, reason);
    }
    for mode in [0o640, 0o644, 0o604] {
        chmod(mode);
        refused(&run(&sealed), b"hello", &format!("(mode {mode:o})"));
        let seal = keyed(&["seal", "chacha20poly1305-encrypt", "key"]);
        refused(&seal, b"x", "chmod 600");
    }
    chmod(0o400);
    assert_eq!(ok(&run(&sealed), b"hello"), b"hello");
}

/// A key file `--secret-key-file` takes (its owner's alone) in `dir`.
#[cfg(unix)]
fn sealing_key_in(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("sealing.key");
    std::fs::write(&path, SECRET).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `modreg seal` reads a piped secret whole up to 64 KiB (in several reads: a pipe holds less)
/// and refuses one past it, or one that is not UTF-8 text.
#[cfg(unix)]
#[test]
fn a_piped_secret_is_read_whole_up_to_64_kib_and_refused_past_it() {
    let scratch = tempfile::tempdir().unwrap();
    let key_file = sealing_key_in(scratch.path());
    let seal = [
        "--secret-key-file",
        key_file.to_str().unwrap(),
        "seal",
        "chacha20poly1305-encrypt",
        "key",
    ];
    let sealed = ok(&seal, &vec![b'a'; 64 << 10]);
    // `enc:v2:`, then Base64 of the 12-byte nonce, the 65,536 bytes sealed and the 16-byte tag.
    assert_eq!(
        sealed.trim_ascii_end().len(),
        7 + (12 + 65_536 + 16usize).div_ceil(3) * 4
    );
    for (stdin, reason) in [
        (vec![b'a'; (64 << 10) + 1], "over 64 KiB"),
        (b"\xffsecret".to_vec(), "not UTF-8 text"),
    ] {
        let out = modreg(&seal, &stdin);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
        assert!(err.contains(reason), "{err}");
    }
}

/// `modreg keygen FILE` makes a key file `--secret-key-file` (or `MODREG_SECRET_KEY_FILE`)
/// takes (its owner's alone), whose key seals and opens; a FILE that exists is refused and
/// left as it was.
#[test]
fn a_key_from_keygen_seals_and_opens_and_is_never_written_over() {
    const CIPHER_KEY: &str = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
    let scratch = tempfile::tempdir().unwrap();
    let key_file = scratch.path().join("sealing.key");
    let key = key_file.to_str().unwrap();
    assert!(
        ok(&["keygen", key], b"").is_empty(),
        "nothing on standard output"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let text = std::fs::read(&key_file).unwrap();
    let sealed = |plugin| {
        let out = ok(
            &["--secret-key-file", key, "seal", plugin, "key"],
            CIPHER_KEY.as_bytes(),
        );
        String::from_utf8(out).unwrap().trim_end().to_owned()
    };
    let config = scratch.path().join("settings.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.chacha20poly1305-encrypt]\nkey = \"{}\"\n\
             [plugins.chacha20poly1305-decrypt]\nkey = \"{}\"\n",
            sealed("chacha20poly1305-encrypt"),
            sealed("chacha20poly1305-decrypt"),
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let pipeline = "chacha20poly1305-encrypt,chacha20poly1305-decrypt";
    let args = [
        "--secret-key-file",
        key,
        "run",
        "--config",
        config,
        pipeline,
    ];
    assert_eq!(ok(&args, b"hello"), b"hello");
    // The key file named by the environment instead.
    let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(&args[2..])
        .env("MODREG_SECRET_KEY_FILE", key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success() && out.stdout == b"hello", "{out:?}");
    let again = modreg(&["keygen", key], b"");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        !again.status.success() && err.contains("already exists"),
        "{err}"
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), text, "left as it was");
    assert_eq!(
        ok(&args, b"hello"),
        b"hello",
        "the key still opens what it sealed"
    );
}

/// Where each sealed value sits in [`settings_sealed_with`]'s file: plugin, key path, plaintext.
const SEALED_VALUES: [(&str, &str, &str); 7] = [
    ("chacha20poly1305-encrypt", "key", KEY),
    ("chacha20poly1305-decrypt", "key", KEY),
    ("other", "auth.password", "hunter2"),
    ("other", "creds.token", "t0k3n"),
    ("other", "list[1]", "second"),
    ("other", "jobs[0].secret", "s3cr3t"),
    ("other", "deep.er.still", "down"),
];

/// A configuration file with [`SEALED_VALUES`] sealed by `key`: top-level, in an inline
/// table, under a dotted key, in an array, in an array of tables, in a table, and in an
/// environment's plugin table; in the file's order, the values 0, 2, 3, 4, 5, 6, 1.
fn settings_sealed_with(key: &modreg::SecretKey) -> String {
    let sealed: Vec<String> = SEALED_VALUES
        .iter()
        .map(|(plugin, field, plain)| key.seal(plugin, field, plain).unwrap())
        .collect();
    format!(
        "# the settings of this host\n\
         [plugins.chacha20poly1305-encrypt]\n\
         key = \"{}\"   # the cipher's key\n\n\
         [plugins.other]\n\
         plain = \"left alone\"\n\
         auth = {{ password = \"{}\" }}\n\
         creds.token = \"{}\"\n\
         list = [\"not sealed\", \"{}\"]\n\
         [[plugins.other.jobs]]\n\
         secret = \"{}\"\n\
         [plugins.other.deep.er]\n\
         still = \"{}\"\n\n\
         [environments.prod]\n\
         real_plugins = true\n\
         [environments.prod.plugins.chacha20poly1305-decrypt]\n\
         key = \"{}\"\n",
        sealed[0], sealed[2], sealed[3], sealed[4], sealed[5], sealed[6], sealed[1]
    )
}

/// The sealed values of a configuration file's text, in order.
fn sealed_in(text: &str) -> Vec<&str> {
    text.split('"')
        .filter(|part| part.starts_with("enc:v2:"))
        .collect()
}

/// Every byte of a configuration file's text but its sealed values', which are masked.
fn masked(text: &str) -> String {
    text.split('"')
        .map(|part| {
            if part.starts_with("enc:v2:") {
                "SEALED"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("\"")
}

/// Gives the file `path` a service's access (`0640`, and where the test runs as root the group
/// of another user, as `root:modreg`), or with `give` false checks that it has it.
#[cfg(unix)]
fn service_access(path: &str, give: bool) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::fs::metadata(path).unwrap().uid() == 0;
    if give {
        if root {
            std::os::unix::fs::chown(path, None, Some(65_534)).unwrap();
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o640)).unwrap();
        return;
    }
    let metadata = std::fs::metadata(path).unwrap();
    let mode = metadata.permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "the file's mode kept: {mode:o}");
    if root {
        assert_eq!(metadata.gid(), 65_534, "the file's group kept");
    }
}

/// `modreg reseal` moves every sealed value of a configuration file to a new key, for the same
/// plugin and key path ([`settings_sealed_with`]), and keeps every other byte of the file, its
/// mode and its group (where the test runs as root, a group of another user's, as a service's
/// `root:modreg 0640`); what cannot be done whole is refused, the file left as it was.
#[test]
fn reseal_moves_every_sealed_value_to_a_new_key_and_keeps_the_rest() {
    use modreg::SecretKey;
    let scratch = tempfile::tempdir().unwrap();
    let path = |name: &str| scratch.path().join(name).to_str().unwrap().to_owned();
    let (old_file, new_file) = (path("old.key"), path("new.key"));
    ok(&["keygen", &old_file], b"");
    ok(&["keygen", &new_file], b"");
    let (old, new) = (
        SecretKey::from_file(&old_file).unwrap(),
        SecretKey::from_file(&new_file).unwrap(),
    );
    let text = settings_sealed_with(&old);
    let config = path("settings.toml");
    std::fs::write(&config, &text).unwrap();
    #[cfg(unix)]
    service_access(&config, true);

    // Refused, the file left as it was: (arguments, what the message says).
    let (no_sealed, not_toml) = (path("plain.toml"), path("broken.toml"));
    std::fs::write(&no_sealed, "[plugins.other]\nplain = 1\n").unwrap();
    std::fs::write(&not_toml, "[plugins.other\n").unwrap();
    let reseal = |key: &str, file: &str, to: &str| {
        [
            "--secret-key-file",
            key,
            "reseal",
            file,
            "--new-key-file",
            to,
        ]
        .map(str::to_owned)
    };
    let cases: [(Vec<String>, &str); 4] = [
        (
            reseal(&old_file, &config, &new_file)[2..].to_vec(),
            "reseal needs the key",
        ),
        (
            reseal(&new_file, &config, &old_file).to_vec(),
            "sealed value cannot be opened",
        ),
        (
            reseal(&old_file, &no_sealed, &new_file).to_vec(),
            "holds no sealed value",
        ),
        (
            reseal(&old_file, &not_toml, &new_file).to_vec(),
            "broken.toml",
        ),
    ];
    for (args, reason) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let message = fails(&args, b"");
        assert!(message.contains(reason), "{args:?}: {message}");
        assert!(
            !message.contains("hunter2") && !message.contains(KEY),
            "{message}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        text,
        "left as it was"
    );

    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(scratch.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let args = reseal(&old_file, &config, &new_file);
    let said = ok(&args.each_ref().map(String::as_str), b"");
    assert!(
        String::from_utf8(said)
            .unwrap()
            .starts_with("7 sealed value(s)")
    );
    let after = std::fs::read_to_string(&config).unwrap();
    assert_eq!(masked(&after), masked(&text), "nothing else changed");
    let now = sealed_in(&after);
    let order = [0, 2, 3, 4, 5, 6, 1];
    assert_eq!(now.len(), order.len());
    for (sealed, &i) in now.iter().zip(&order) {
        let (plugin, field, plain) = SEALED_VALUES[i];
        assert_eq!(new.open(plugin, field, sealed).unwrap(), plain, "{field}");
        assert!(old.open(plugin, field, sealed).is_err(), "{field}");
    }
    #[cfg(unix)]
    service_access(&config, false);
    assert_eq!(listing(), before, "no staged file left");
}

/// A secret typed at a terminal for `modreg seal` is not shown: `script` (util-linux) runs the
/// command on a pseudo-terminal, the secret is typed once the prompt is there, and what the
/// terminal shows holds the sealed value and not the secret, which opens in a run.
#[cfg(target_os = "linux")]
#[test]
fn a_secret_typed_at_a_terminal_is_not_shown() {
    use std::io::Read;
    const CIPHER_KEY: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";
    let scratch = tempfile::tempdir().unwrap();
    let key_file = sealing_key_in(scratch.path());
    let key = key_file.to_str().unwrap();
    let command = format!(
        "'{}' --secret-key-file '{key}' seal chacha20poly1305-encrypt key",
        env!("CARGO_BIN_EXE_modreg")
    );
    let mut terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut shown = terminal.stdout.take().unwrap();
    let (chunks, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n @ 1..) = shown.read(&mut buffer) {
            if chunks.send(buffer[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let mut screen = Vec::new();
    let next = |screen: &mut Vec<u8>| {
        let chunk = received
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{:?}", String::from_utf8_lossy(screen)));
        screen.extend(chunk);
    };
    while !String::from_utf8_lossy(&screen).contains("(not shown): ") {
        next(&mut screen);
    }
    let mut typing = terminal.stdin.take().unwrap();
    typing
        .write_all(format!("{CIPHER_KEY}\n").as_bytes())
        .unwrap();
    assert!(terminal.wait().unwrap().success());
    drop(typing);
    reader.join().unwrap();
    screen.extend(received.try_iter().flatten());
    let screen = String::from_utf8_lossy(&screen).into_owned();
    assert!(!screen.contains(CIPHER_KEY), "{screen}");
    let sealed = screen
        .split_whitespace()
        .find(|word| word.starts_with("enc:v2:"))
        .unwrap_or_else(|| panic!("{screen}"));
    // What was read is the whole key: it encrypts what the same key, unsealed, decrypts.
    let config = scratch.path().join("settings.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins.chacha20poly1305-encrypt]\nkey = \"{sealed}\"\n\
             [plugins.chacha20poly1305-decrypt]\nkey = \"{CIPHER_KEY}\"\n"
        ),
    )
    .unwrap();
    let run = [
        "--secret-key-file",
        key,
        "run",
        "--config",
        config.to_str().unwrap(),
        "chacha20poly1305-encrypt,chacha20poly1305-decrypt",
    ];
    assert_eq!(ok(&run, b"typed"), b"typed");
}
