//! `modreg serve` under load: `/metrics`, `/health`, and the dashboard as headless Chromium
//! renders it (Debian's `chromium`, which `.ci/run` installs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The server process, stopped when the test ends however it ends.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modreg"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--health-interval-ms",
            "100",
            "--config",
        ])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("modreg starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "binds loopback: {addr}");
    Server { child, addr }
}

/// One HTTP/1.1 request; returns the status code and the body.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = response[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

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
    let server = start(&config);
    let addr = server.addr.as_str();

    for _ in 0..3 {
        let (status, body) = http(
            addr,
            "POST",
            "/run/gzip-compress,base64-encode",
            b"hello dashboard",
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }
    for _ in 0..2 {
        assert_eq!(http(addr, "POST", "/run/sha256", b"abc").0, 200);
    }
    let (status, body) = http(addr, "POST", "/run/no-such-plugin", b"x");
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("no-such-plugin"));

    let (status, metrics) = http(addr, "GET", "/metrics", b"");
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

    let (status, health) = http(addr, "GET", "/health", b"");
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
