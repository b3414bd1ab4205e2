//! `modreg serve` under load: `/metrics`, `/health`, and the dashboard as headless Chromium
//! renders it (Debian's `chromium`, which `.ci/run` installs).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use support::{Server, http, raw, read_response, start, with_config};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn dashboard_metrics_and_health_under_load() {
    let dir = std::env::temp_dir().join(format!("modreg-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("keys.toml");
    std::fs::write(
        &config,
        format!("[plugins.chacha20poly1305-encrypt]\nkey = \"{KEY}\"\n[plugins.chacha20poly1305-decrypt]\nkey = \"{KEY}\"\n"),
    )
    .unwrap();
    let server = with_config(&config);
    let addr = server.addr.as_str();

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
    let (status, body) = http(&server, "POST", "/run/no-such-plugin", b"x");
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("no-such-plugin"));

    let (status, metrics) = http(&server, "GET", "/metrics", b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert_eq!(status, 200);
    assert!(
        metrics.contains("modreg_plugin_calls_total{plugin=\"gzip-compress\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("modreg_plugin_calls_total{plugin=\"sha256\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("modreg_plugin_latency_seconds_count{plugin=\"base64-encode\"} 3"),
        "{metrics}"
    );

    let (status, health) = http(&server, "GET", "/health", b"");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["overall"]["status"], "healthy", "{health}");
    assert_eq!(health["plugins"]["gzip-compress"]["status"], "healthy");

    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's `chromium` package (`.ci/run` does)"
    );
    let profile = dir.join("chromium-profile");
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://{addr}/"))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        dom.contains("<table id=\"plugins\">"),
        "the page rendered: {dom}"
    );
    for (plugin, calls) in [("gzip-compress", 3), ("base64-encode", 3), ("sha256", 2)] {
        let row = dom
            .lines()
            .find(|l| l.contains(&format!("data-plugin=\"{plugin}\"")))
            .unwrap_or_else(|| panic!("no row for {plugin}: {dom}"));
        assert!(
            row.contains(&format!("<td class=\"calls\">{calls}</td>")),
            "{row}"
        );
        assert!(row.contains("class=\"healthy\""), "{row}");
    }
    assert!(dom.contains("Overall: healthy"), "{dom}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
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
    let dir = std::env::temp_dir().join(format!("modreg-hot-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
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
    std::fs::remove_dir_all(&dir).unwrap();
}
