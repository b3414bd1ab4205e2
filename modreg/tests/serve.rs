//! `modreg serve` under load: `/metrics`, `/health`, and the dashboard as headless Chromium
//! renders it (Debian's `chromium`, which `scripts/install-test-tools.sh` installs).

#[path = "../../tests/support/seeded.rs"]
mod seeded;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use support::{Server, http, raw, read_response, start, with_config};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium with a throwaway profile and `args`, on `url`.
fn chromium(profile: &std::path::Path, args: &[&str], url: &str) -> std::process::Output {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's `chromium` package (`scripts/install-test-tools.sh` does)"
    );
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .expect("chromium runs")
}

/// The element of `dom` that opens with `opening` (through the first `</{tag}>` after it).
fn element<'a>(dom: &'a str, opening: &str, tag: &str) -> &'a str {
    let start = dom
        .find(opening)
        .unwrap_or_else(|| panic!("no {opening} in the page: {dom}"));
    let end = dom[start..]
        .find(&format!("</{tag}>"))
        .map_or(dom.len(), |e| start + e);
    &dom[start..end]
}

#[test]
fn dashboard_metrics_and_health_under_load() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let server = drive_traffic(dir);
    check_metrics(&server);
    check_health(&server);
    check_state(&server);
    check_page(&server, dir);
    drop(server);
}

/// A server with keys, driven with calls: `base64-decode` fails 31 of its 32; its own health
/// check still says healthy.
fn drive_traffic(dir: &std::path::Path) -> Server {
    let config = dir.join("keys.toml");
    std::fs::write(
        &config,
        format!("[plugins.chacha20poly1305-encrypt]\nkey = \"{KEY}\"\n[plugins.chacha20poly1305-decrypt]\nkey = \"{KEY}\"\n"),
    )
    .unwrap();
    let server = with_config(&config);
    for _ in 0..3 {
        let (status, body) = http(
            &server,
            "POST",
            "/run/gzip-compress,base64-encode",
            b"hello dashboard",
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    for _ in 0..2 {
        assert_eq!(http(&server, "POST", "/run/sha256", b"abc").0, 200);
    }
    assert_eq!(
        http(&server, "POST", "/run/base64-decode", b"aGk="),
        (200, b"hi".to_vec())
    );
    for _ in 0..31 {
        assert_eq!(
            http(&server, "POST", "/run/base64-decode", b"not base64!").0,
            400
        );
    }
    let (status, body) = http(&server, "POST", "/run/no-such-plugin", b"x");
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("no-such-plugin"));
    // A health round (every 100 ms here) and a few chart points (every second).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    server
}

fn check_metrics(server: &Server) {
    let (status, metrics) = http(server, "GET", "/metrics", b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert_eq!(status, 200);
    for line in [
        "modreg_plugin_calls_total{plugin=\"gzip-compress\"} 3",
        "modreg_plugin_calls_total{plugin=\"sha256\"} 2",
        "modreg_plugin_errors_total{plugin=\"base64-decode\"} 31",
        "modreg_plugin_latency_seconds_count{plugin=\"base64-encode\"} 3",
        "modreg_plugin_health{plugin=\"base64-decode\",status=\"unhealthy\"} 1",
        "modreg_plugin_health{plugin=\"sha256\",status=\"healthy\"} 1",
        // The server's own: HTTP requests by route pattern, method and status.
        "modreg_http_requests_total{route=\"/run/{pipeline}\",method=\"POST\",status=\"400\"} 32",
        "modreg_http_request_duration_seconds_count{route=\"/run/{pipeline}\"}",
        "modreg_http_requests_in_flight 1",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_cpu_seconds counter",
        "process_open_fds ",
        "process_start_time_seconds ",
        &format!(
            "modreg_build_info{{version=\"{}\",",
            env!("CARGO_PKG_VERSION")
        ),
    ] {
        assert!(metrics.contains(line), "no {line:?} in {metrics}");
    }
    assert_eq!(metrics.matches("# EOF").count(), 1, "{metrics}");
    assert!(metrics.ends_with("# EOF\n"));
}

fn check_health(server: &Server) {
    let (status, health) = http(server, "GET", "/health", b"");
    assert_eq!(
        status, 503,
        "a plugin failing most of its calls is unhealthy"
    );
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["overall"]["status"], "unhealthy", "{health}");
    let decode = &health["plugins"]["base64-decode"];
    assert_eq!(decode["status"], "unhealthy", "{health}");
    assert!(
        decode["reason"]
            .as_str()
            .unwrap()
            .contains("failed 31 of its 32 calls"),
        "{health}"
    );
    assert_eq!(health["plugins"]["gzip-compress"]["status"], "healthy");
}

/// The page's data, as the page polls it.
fn check_state(server: &Server) {
    let (status, state) = http(server, "GET", "/api/dashboard", b"");
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_slice(&state).unwrap();
    let plugins = state["plugins"].as_array().unwrap();
    let decode = plugins
        .iter()
        .find(|p| p["name"] == "base64-decode")
        .unwrap();
    assert_eq!(
        (decode["calls"].as_u64(), decode["errors"].as_u64()),
        (Some(32), Some(31))
    );
    let ratio = decode["recent"]["error_ratio"].as_f64().unwrap();
    assert!((ratio - 31.0 / 32.0).abs() < 1e-9, "{decode}");
    assert!(
        decode["recent"]["p99_us"].as_f64().unwrap() > 0.0,
        "{decode}"
    );
    assert!(
        decode["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("base64-decode"),
        "{decode}"
    );
    let points = decode["series"]["calls"].as_array().unwrap();
    assert!(!points.is_empty(), "{decode}");
    assert_eq!(
        points
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .sum::<u64>(),
        32,
        "every call is in one point: {decode}"
    );
}

/// The page as Chromium draws it: its script ran and drew a card per plugin called, with
/// charts, the error ratio and the unhealthy state; the plugins never called in a table.
fn check_page(server: &Server, dir: &std::path::Path) {
    let profile = dir.join("chromium-profile");
    let url = format!("http://{}/", server.addr);
    let output = chromium(
        &profile,
        &["--dump-dom", "--virtual-time-budget=3000"],
        &url,
    );
    let dom = String::from_utf8_lossy(&output.stdout).to_string();
    let card = element(
        &dom,
        "<article class=\"card unhealthy\" data-plugin=\"base64-decode\"",
        "article",
    );
    assert!(card.contains("data-health=\"unhealthy\""), "{card}");
    assert!(
        card.contains("<span class=\"badge unhealthy\">unhealthy</span>"),
        "{card}"
    );
    assert!(card.contains("failed 31 of its 32 calls"), "{card}");
    assert!(
        card.contains(
            "<span class=\"value\">97%</span><span class=\"label\">errors (1 min)</span>"
        ),
        "{card}"
    );
    assert!(card.contains("class=\"last-error\""), "{card}");
    for chart in ["chart chart-calls", "chart chart-latency"] {
        let svg = element(card, &format!("<svg class=\"{chart}\""), "svg");
        assert!(svg.contains("<polyline class=\"line"), "{svg}");
    }
    for (plugin, calls) in [
        ("gzip-compress", "3"),
        ("base64-encode", "3"),
        ("sha256", "2"),
    ] {
        let card = element(&dom, &format!("data-plugin=\"{plugin}\""), "article");
        assert!(card.contains("data-health=\"healthy\""), "{card}");
        assert!(
            card.contains(&format!(
                "<span class=\"value\">{calls}</span><span class=\"label\">calls</span>"
            )),
            "{card}"
        );
    }
    let idle = element(&dom, "<table id=\"idle\">", "table");
    assert!(idle.contains("data-plugin=\"zstd-compress\""), "{idle}");
    assert!(
        dom.contains("<span id=\"overall\" class=\"badge unhealthy\""),
        "{dom}"
    );

    // A screenshot, kept with the test's output (`target/tmp/dashboard.png`) to look at.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let output = chromium(
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1300",
            "--virtual-time-budget=3000",
        ],
        &url,
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn run_needs_the_token_and_a_host_the_server_answers_to() {
    let server = start(&[]);
    let addr = server.addr.as_str();
    assert_eq!(raw(addr, addr, "", "POST", "/run/sha256", b"x").0, 401);
    let wrong = "Authorization: Bearer 00000000000000000000000000000000\r\n";
    assert_eq!(raw(addr, addr, wrong, "POST", "/run/sha256", b"x").0, 401);
    assert_eq!(http(&server, "POST", "/run/sha256", b"x").0, 200);
    // A page that rebinds its own name to loopback sends its own Host.
    let auth = format!("Authorization: Bearer {}\r\n", server.token);
    let port = addr.rsplit(':').next().unwrap();
    for host in [format!("evil.example:{port}"), "127.0.0.1".to_owned()] {
        assert_eq!(
            raw(addr, &host, &auth, "POST", "/run/sha256", b"x").0,
            421,
            "{host}"
        );
        assert_eq!(raw(addr, &host, "", "GET", "/health", b"").0, 421, "{host}");
    }
    assert_eq!(
        raw(
            addr,
            &format!("localhost:{port}"),
            &auth,
            "POST",
            "/run/sha256",
            b"x"
        )
        .0,
        200
    );
    // Two `Host` headers (the allowed one first), or an absolute-form target naming another
    // authority: refused.
    let second = format!("{auth}Host: evil.example:{port}\r\n");
    assert_eq!(raw(addr, addr, &second, "GET", "/health", b"").0, 421);
    let foreign = format!("http://evil.example:{port}/health");
    assert_eq!(raw(addr, addr, "", "GET", &foreign, b"").0, 421);
    let own = format!("http://{addr}/health");
    assert_ne!(raw(addr, addr, "", "GET", &own, b"").0, 421);
    // `%2C` is not a stage separator.
    assert_eq!(
        http(&server, "POST", "/run/sha256%2Chex-encode", b"x").0,
        400
    );
}

#[test]
fn a_fresh_server_without_keys_is_degraded_not_unhealthy() {
    let server = start(&[]);
    let (status, body) = http(&server, "GET", "/health", b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    if modreg::plugins::enabled_plugins().contains(&"chacha20poly1305-encrypt") {
        assert_eq!(health["overall"]["status"], "degraded", "{health}");
        let chacha = &health["plugins"]["chacha20poly1305-encrypt"];
        assert_eq!(chacha["status"], "degraded", "{health}");
        assert!(
            chacha["reason"]
                .as_str()
                .unwrap()
                .contains("not configured"),
            "{health}"
        );
    }
}

#[test]
fn bodies_outputs_and_lengths_are_limited() {
    let server = start(&["--max-body-bytes", "65536", "--max-output-bytes", "1048576"]);
    let addr = server.addr.as_str();
    // A body over the limit.
    assert_eq!(
        http(&server, "POST", "/run/sha256", &vec![b'x'; 65537]).0,
        413
    );
    // A small request that would expand past the output limit: a zstd bomb, and repeated
    // encodings.
    let mut compress = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args(["run", "zstd-compress"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    compress
        .stdin
        .take()
        .unwrap()
        .write_all(&vec![0u8; 16 << 20])
        .unwrap();
    let bomb = compress.wait_with_output().unwrap().stdout;
    assert!(
        bomb.len() < 65536,
        "16 MiB of zeros compress to {} bytes",
        bomb.len()
    );
    let (status, body) = http(&server, "POST", "/run/zstd-decompress", &bomb);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let thirty = vec!["hex-encode"; 30].join(",");
    let (status, body) = http(&server, "POST", &format!("/run/{thirty}"), b"x");
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("over the limit"));
    // Lengths that are not a length.
    let auth = format!("Authorization: Bearer {}\r\n", server.token);
    for length in ["-1", "99999999999999999999", "12abc"] {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /run/sha256 HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let (status, _) = read_response(stream);
        assert_eq!(status, 400, "Content-Length: {length}");
    }
}

#[test]
fn stalled_clients_do_not_hold_up_the_others() {
    let server = start(&["--header-timeout-ms", "500", "--request-timeout-ms", "2000"]);
    let addr = server.addr.clone();
    let token = server.token.clone();
    // Clients that stall: in the headers, mid-body, and after asking for a large reply they
    // never read.
    let mut stalled = Vec::new();
    for i in 0..12 {
        let mut stream = TcpStream::connect(&addr).unwrap();
        match i % 3 {
            0 => write!(stream, "POST /run/sha256 HTTP/1.1\r\nHost: {addr}\r\n").unwrap(),
            1 => write!(
                stream,
                "POST /run/sha256 HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\nabc"
            )
            .unwrap(),
            _ => {
                write!(
                    stream,
                    "POST /run/hex-encode,hex-encode,hex-encode HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 1000000\r\n\r\n"
                )
                .unwrap();
                stream.write_all(&vec![7u8; 1_000_000]).unwrap();
            }
        }
        stalled.push(stream);
    }
    // Meanwhile 24 clients, 8 at a time, are all served.
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (addr, token) = (addr.clone(), token.clone());
            std::thread::spawn(move || {
                let auth = format!("Authorization: Bearer {token}\r\n");
                (0..3)
                    .map(|_| {
                        raw(
                            &addr,
                            &addr,
                            &auth,
                            "POST",
                            "/run/sha256,hex-encode",
                            b"abc",
                        )
                        .0
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap(), [200, 200, 200]);
    }
    // A client that sends no headers is disconnected after the header timeout.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut buf = Vec::new();
    let read = idle.read_to_end(&mut buf);
    assert!(
        read.is_ok(),
        "the server closed the idle connection: {read:?}"
    );
    drop(stalled);
}

#[path = "../../tests/support/wasm_text.rs"]
#[allow(dead_code)]
mod wasm_text;

/// Puts `bytes` at `path` in one step, as a deployment should (write aside, then rename).
fn replace_file(path: &std::path::Path, bytes: &[u8]) {
    let staging = path.with_extension("staging");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

/// Asks `greeter` until it answers `want` or ten seconds pass.
fn until_greeter_says(server: &Server, want: &[u8]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = http(server, "POST", "/run/greeter", b"");
        if status == 200 && body == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "greeter still answers {status} {:?}",
            String::from_utf8_lossy(&body)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_module_replaced_under_a_running_server_answers_and_a_corrupt_one_is_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let module = dir.join("greeter.wasm");
    replace_file(&module, &wasm_text::guest_answering("one", "1.0.0"));
    let server = start(&[
        "--plugin-dir",
        dir.to_str().unwrap(),
        "--reload-interval-ms",
        "100",
    ]);
    until_greeter_says(&server, b"one");
    replace_file(&module, &wasm_text::guest_answering("two", "2.0.0"));
    until_greeter_says(&server, b"two");
    // A corrupt module is refused; the version before it keeps answering.
    replace_file(&module, b"\0asm\x01\0\0\0 this is not a module");
    std::thread::sleep(std::time::Duration::from_millis(500));
    for _ in 0..5 {
        assert_eq!(
            http(&server, "POST", "/run/greeter", b""),
            (200, b"two".to_vec())
        );
    }
    // A new module next to it is picked up; a removed one goes away.
    replace_file(
        &dir.join("other.wasm"),
        &wasm_text::guest_named("other", "three", "1.0.0"),
    );
    std::fs::remove_file(&module).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while http(&server, "POST", "/run/other", b"") != (200, b"three".to_vec()) {
        assert!(
            std::time::Instant::now() < deadline,
            "other.wasm was not loaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while http(&server, "POST", "/run/greeter", b"").0 == 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "greeter was not removed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(server);
}

/// A plugin directory other users may write is told of once when `serve` starts (the
/// watcher's first pass; the tool's own load before it leaves it to the watcher), and not
/// again at the passes after while it stays so.
#[cfg(unix)]
#[test]
fn a_plugin_directory_others_may_write_is_told_of_once_at_start() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("plugins");
    std::fs::create_dir(&dir).unwrap();
    replace_file(
        &dir.join("greeter.wasm"),
        &wasm_text::guest_answering("one", "1.0.0"),
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut command = support::serve_command(&[
        "--plugin-dir",
        dir.to_str().unwrap(),
        "--reload-interval-ms",
        "100",
    ]);
    command.stderr(Stdio::piped());
    let mut server = support::launch(command);
    let stderr = server.child.stderr.take().unwrap();
    let (lines, told) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    until_greeter_says(&server, b"one");
    let is_warning = |line: &str| line.contains("other users may add");
    let first = loop {
        let line = told
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a warning within ten seconds");
        if is_warning(&line) {
            break line;
        }
    };
    assert!(first.contains("WARN"), "the watcher's: {first}");
    // Ten passes more.
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(server);
    reader.join().unwrap();
    let again: Vec<String> = told.try_iter().filter(|line| is_warning(line)).collect();
    assert!(again.is_empty(), "told again: {again:?}");
}

/// For any pipeline of up to four bundled plugins and any body, `POST /run/{pipeline}` answers
/// what the same plugins answer called one after another in this process: 200 and the same
/// bytes, or 400 where a stage fails. A fixed seed: the same 96 requests on every run.
#[test]
fn any_pipeline_answers_over_http_as_its_plugins_do_in_process() {
    use proptest::prelude::*;

    const STAGES: [&str; 9] = [
        "hex-encode",
        "hex-decode",
        "base64-encode",
        "base64-decode",
        "sha256",
        "gzip-compress",
        "gzip-decompress",
        "zstd-compress",
        "zstd-decompress",
    ];
    let server = start(&[]);
    let registry = modreg::ModuleRegistry::new();
    let plugins: Vec<Box<dyn modreg::Plugin>> = STAGES
        .iter()
        .map(|name| registry.create_plugin(name).unwrap())
        .collect();
    let request = (
        proptest::collection::vec(0..STAGES.len(), 1..5),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "[0-9a-f]{0,64}".prop_map(String::into_bytes),
            "[A-Za-z0-9+/]{0,64}={0,2}".prop_map(String::into_bytes),
        ],
    );
    seeded::runner(96)
        .run(&request, |(stages, body)| {
            let pipeline: Vec<&str> = stages.iter().map(|&s| STAGES[s]).collect();
            let in_process = stages
                .iter()
                .try_fold(body.clone(), |data, &s| plugins[s].process(&data));
            let (status, reply) = http(
                &server,
                "POST",
                &format!("/run/{}", pipeline.join(",")),
                &body,
            );
            match in_process {
                Ok(output) => {
                    prop_assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
                    prop_assert_eq!(reply, output);
                }
                Err(error) => prop_assert_eq!(status, 400, "in process: {}", error),
            }
            Ok(())
        })
        .unwrap();
}
