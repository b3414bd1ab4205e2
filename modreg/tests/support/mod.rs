//! A `modreg serve` process for the tests, and plain HTTP/1.1 over `TcpStream` to talk to it
//! (no client library: the tests speak to the server as a hostile client would, byte by byte).

#![allow(dead_code)] // Each test file uses some of these.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// The server process, stopped when the test ends however it ends.
pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The token it generated and printed.
    pub token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments of `modreg serve` on a free loopback port, with `args` after them.
pub fn serve_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec![
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--health-interval-ms",
        "100",
    ];
    all.extend_from_slice(args);
    all
}

/// `modreg serve` on a free loopback port with `args`, not started yet.
pub fn serve_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_modreg"));
    command
        .args(serve_args(args))
        .env_remove("MODREG_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// Starts `modreg serve` with `args`.
pub fn start(args: &[&str]) -> Server {
    launch(serve_command(args))
}

/// Starts `command` (a [`serve_command`], changed) and reads the address and token it prints.
pub fn launch(mut command: Command) -> Server {
    let mut child = command.spawn().expect("modreg starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "binds loopback: {addr}");
    line.clear();
    out.read_line(&mut line).unwrap();
    let token = line
        .trim()
        .strip_prefix("token ")
        .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
        .to_owned();
    assert_eq!(token.len(), 64, "a generated token is 32 random bytes");
    Server { child, addr, token }
}

pub fn with_config(config: &std::path::Path) -> Server {
    start(&["--config", config.to_str().unwrap()])
}

/// One HTTP/1.1 request with the server's token; returns the status code and the body.
pub fn http(server: &Server, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let auth = format!("Authorization: Bearer {}\r\n", server.token);
    raw(&server.addr, &server.addr, &auth, method, path, body)
}

/// One HTTP/1.1 request with the `Host` and extra header lines given.
pub fn raw(
    addr: &str,
    host: &str,
    extra: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let (stream, sent) = send(addr, host, extra, method, path, body);
    // A server may answer before it has read the whole body (a body over the limit) and
    // close: the rest of the write then fails, and the answer is still there to read, as a
    // client that watches for an early reply reads it (RFC 9112, section 9.5).
    if let Err(error) = sent {
        assert!(closed_by_peer(&error), "sending the request: {error}");
    }
    read_response(stream)
}

/// [`raw`] from a client that writes its whole request before it reads (most simple clients
/// do): a write the server cuts short fails.
pub fn written_in_full(
    addr: &str,
    host: &str,
    extra: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let (stream, sent) = send(addr, host, extra, method, path, body);
    if let Err(error) = sent {
        panic!(
            "the server cut {method} {path} short after reading part of its {} bytes: {error}",
            body.len()
        );
    }
    read_response(stream)
}

fn send(
    addr: &str,
    host: &str,
    extra: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (TcpStream, std::io::Result<()>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let sent = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .and_then(|()| stream.write_all(body));
    (stream, sent)
}

fn closed_by_peer(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
    matches!(
        error.kind(),
        BrokenPipe | ConnectionReset | ConnectionAborted
    )
}

pub fn read_response(mut stream: TcpStream) -> (u16, Vec<u8>) {
    let mut response = Vec::new();
    // A server that closed with part of the request unread resets the connection after its
    // answer: what arrived before the reset is the answer.
    if let Err(error) = stream.read_to_end(&mut response) {
        assert!(
            closed_by_peer(&error) && !response.is_empty(),
            "reading the answer: {error}"
        );
    }
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

pub fn unchunk(mut data: &[u8]) -> Vec<u8> {
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
