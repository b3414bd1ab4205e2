//! `modreg serve` against clients that do not play by the rules: idle, slow, never reading
//! their replies, pipelining without end, bursting slow pipelines, holding large replies; and
//! its shutdown. Each test names the failure it guards against (docs/security.md, "modreg
//! serve"); the two soak tests are bounded in count and time.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
#[cfg(target_os = "linux")]
use std::process::Command;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::{Server, http, launch, raw, serve_command, start, written_in_full};

/// The tests here load the machine (hundreds of sockets, gigabytes over loopback) and some
/// read the clock: they run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Whether the server closed `stream` within `within`: a read sees the end (after whatever
/// replies were still on their way) or a reset.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let until = Instant::now() + within;
    let mut buffer = vec![0u8; 1 << 16];
    while Instant::now() < until {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// Stops `server`, started with its standard error piped, and reads what it logged.
fn stopped_log(server: &mut Server) -> String {
    server.child.kill().unwrap();
    let mut log = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    log
}

fn get_health(server: &Server) -> u16 {
    raw(&server.addr, &server.addr, "", "GET", "/health", b"").0
}

/// Failure: 256 sockets that pipelined `GET /metrics` and never read took every slot; no
/// write timeout closed them.
#[test]
fn a_client_that_never_reads_its_replies_is_closed_at_the_write_timeout() {
    let _serial = serial();
    let server = start(&["--write-timeout-ms", "500", "--max-connections", "2"]);
    let mut hog = connect(&server);
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    // Far more replies than the socket buffers hold; the writes stop when the server stops
    // reading because its replies cannot be written.
    hog.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    for _ in 0..5_000 {
        if hog.write_all(request.as_bytes()).is_err() {
            break;
        }
    }
    thread::sleep(Duration::from_millis(1_500));
    // Its slot is free again: with a second connection open, a third is served.
    let mut kept = connect(&server);
    write!(
        kept,
        "GET /health HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert_eq!(get_health(&server), 200);
    assert!(
        closed_within(&mut hog, Duration::from_secs(5)),
        "the connection that never read was closed"
    );
}

/// Failure: every connection refused at `--max-connections` wrote a warning, so a client
/// opening connections as fast as it could while the slots were full filled the log. Each is
/// counted in `/metrics`; one line tells of them.
#[test]
fn connections_refused_at_the_cap_are_counted_and_logged_once_a_while() {
    let _serial = serial();
    let mut command = serve_command(&["--max-connections", "1", "--header-timeout-ms", "60000"]);
    command.stderr(Stdio::piped());
    let mut server = launch(command);
    // The one slot, held by a connection that sends nothing.
    let hog = connect(&server);
    let started = Instant::now();
    let mut refused = 0;
    for _ in 0..50 {
        let mut stream = connect(&server);
        assert!(closed_within(&mut stream, Duration::from_secs(5)));
        refused += 1;
    }
    drop(hog);
    // The slot is back once the server saw the hog go; until then, a request is refused too.
    let until = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let mut stream = connect(&server);
        // Refused, the connection may be reset before the request is written.
        let written = write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        );
        let mut reply = String::new();
        if written.is_ok() {
            let _ = stream.read_to_string(&mut reply);
        }
        if !reply.is_empty() {
            break reply;
        }
        refused += 1;
        assert!(Instant::now() < until, "the slot never came back");
        thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metrics.contains(&format!(
            "\nmodreg_http_connections_refused_total {refused}\n"
        )),
        "{refused} refused: {metrics}"
    );
    // A line at most every ten seconds (one, unless this machine took that long).
    let most = 1 + started.elapsed().as_secs() / 10;
    let log = stopped_log(&mut server);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connections refused"))
        .collect();
    assert!((1..=most).contains(&(lines.len() as u64)), "{log}");
    assert!(lines[0].contains("refused=1"), "{log}");
}

/// Failure: refusals after a line were told only by the line the next refusal brought, so the
/// end of a burst went untold (but in `/metrics`). A line tells of them once the interval
/// (10 s) is over, though nothing was refused since.
#[test]
fn the_end_of_a_burst_of_refusals_is_told_once_the_interval_is_over() {
    let _serial = serial();
    let mut command = serve_command(&["--max-connections", "1", "--header-timeout-ms", "60000"]);
    command.stderr(Stdio::piped());
    let mut server = launch(command);
    let hog = connect(&server);
    for _ in 0..5 {
        let mut stream = connect(&server);
        assert!(closed_within(&mut stream, Duration::from_secs(5)));
    }
    // The first is told at once, the other four when the interval is over.
    thread::sleep(Duration::from_secs(11));
    drop(hog);
    let log = stopped_log(&mut server);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("connections refused"))
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].contains("refused=1"), "{log}");
    assert!(lines[1].contains("refused=4"), "{log}");
}

/// Failure: an accept that failed (out of descriptors) wrote a warning each time, twenty a
/// second while connections waited in the listen queue, so a client holding connections under
/// a low descriptor limit filled the log. Each is counted in `/metrics`; one line tells of them.
#[cfg(unix)]
#[test]
fn accepts_that_fail_are_counted_and_logged_once_a_while() {
    let _serial = serial();
    // Forty descriptors: the server's own (the runtime's, the listener, its standard streams)
    // and a few connections; the slots (`--max-connections`) are far more.
    let serve = serve_command(&["--header-timeout-ms", "60000"]);
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -n 40 && exec \"$0\" \"$@\"")
        .arg(serve.get_program())
        .args(serve.get_args())
        .env_remove("MODREG_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut server = launch(command);
    let started = Instant::now();
    // More connections than descriptors, each sending nothing: the rest wait in the listen
    // queue while the server's accepts fail, every 50 ms.
    let held: Vec<TcpStream> = (0..60).map(|_| connect(&server)).collect();
    thread::sleep(Duration::from_secs(1));
    drop(held);
    let until = Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let (status, body) = http(&server, "GET", "/metrics", b"");
        if status == 200 {
            break String::from_utf8(body).unwrap();
        }
        assert!(Instant::now() < until, "the server never answered again");
        thread::sleep(Duration::from_millis(50));
    };
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("modreg_http_accept_failures_total "))
        .unwrap_or_else(|| panic!("no accept failures counted: {metrics}"))
        .parse()
        .unwrap();
    // About twenty in the second the connections were held.
    assert!(failures >= 5, "{failures} accepts failed");
    let most = 1 + started.elapsed().as_secs() / 10;
    let log = stopped_log(&mut server);
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("accepting connections failed"))
        .collect();
    assert!((1..=most).contains(&(lines.len() as u64)), "{log}");
    assert!(lines[0].contains("failed=1"), "{log}");
}

/// Failure: an idle keep-alive connection held its slot for as long as the client liked.
#[test]
fn an_idle_connection_is_closed_at_the_idle_timeout() {
    let _serial = serial();
    let server = start(&[
        "--idle-timeout-ms",
        "500",
        "--request-timeout-ms",
        "400",
        "--header-timeout-ms",
        "60000",
    ]);
    let mut idle = connect(&server);
    write!(
        idle,
        "GET /health HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
    // Without an idle timeout the connection stays open (the header timeout is a minute).
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
}

/// Failure: pipelined requests were served without end on one connection.
#[test]
fn requests_past_the_cap_on_one_connection_are_not_served() {
    let _serial = serial();
    let server = start(&["--max-requests-per-connection", "3"]);
    let mut stream = connect(&server);
    let request = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    stream.write_all(request.repeat(6).as_bytes()).unwrap();
    let mut replies = Vec::new();
    stream.read_to_end(&mut replies).unwrap();
    let replies = String::from_utf8_lossy(&replies);
    assert_eq!(replies.matches("HTTP/1.1 ").count(), 3, "{replies}");
    assert!(replies.to_ascii_lowercase().contains("connection: close"));
}

/// CPU seconds the process `pid` used in `window`, counted after `settle` (Linux's `/proc`).
#[cfg(target_os = "linux")]
fn cpu_used_over(pid: u32, settle: Duration, window: Duration) -> f64 {
    thread::sleep(settle);
    let before = cpu_seconds(pid);
    thread::sleep(window);
    cpu_seconds(pid) - before
}

/// CPU seconds the process `pid` has used (Linux's `/proc`).
#[cfg(target_os = "linux")]
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at `)`.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let per_second: f64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    ticks / per_second
}

/// Failures: a pipeline answered 503 at its deadline kept running (a core busy 150 s after
/// its 503), and a burst left `/run` answering 503 for minutes.
#[cfg(target_os = "linux")]
/// One long stage (32 MiB of incompressible bytes through `gzip-compress`) whose request times
/// out: the plugin listens for cancellation and stops inside its call, so the server is idle
/// soon after the 503 rather than compressing on for nobody.
#[test]
fn a_long_plugin_call_stops_inside_itself_when_its_request_is_over() {
    let _serial = serial();
    // The deadline covers the upload too: 400 ms lets 32 MiB arrive on a loaded machine (a
    // 100 ms deadline with 16 MiB answered 408 in CI), and the compression takes about 1.1 s
    // here, so the 503 comes mid-call and a plugin that did not listen would stay busy.
    let server = start(&[
        "--request-timeout-ms",
        "400",
        "--idle-timeout-ms",
        "5000",
        "--max-body-bytes",
        "33554432",
    ]);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let body: Vec<u8> = (0..32 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let (status, reply) = http(&server, "POST", "/run/gzip-compress", &body);
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&reply));
    let busy = cpu_used_over(
        server.child.id(),
        Duration::from_millis(100),
        Duration::from_secs(1),
    );
    assert!(busy < 0.15, "{busy} CPU seconds after the request was over");
}

#[test]
fn a_burst_of_slow_pipelines_is_shed_at_once_stopped_at_the_deadline_and_recovers() {
    let _serial = serial();
    let server = Arc::new(start(&[
        "--max-running-pipelines",
        "1",
        "--max-queued-runs",
        "2",
        // Room for twelve 1 MiB uploads on a loaded machine: a shed request's reply (its body
        // read first) must come well before the deadline a queued one would wait for.
        "--request-timeout-ms",
        "2500",
        "--idle-timeout-ms",
        "3500",
    ]));
    let slow = format!(
        "/run/{}",
        ["hex-encode", "hex-decode"].repeat(1_500).join(",")
    );
    let body = vec![b'a'; 1 << 20];
    let burst: Vec<_> = (0..12)
        .map(|_| {
            let (server, slow, body) = (server.clone(), slow.clone(), body.clone());
            thread::spawn(move || {
                let started = Instant::now();
                // A client that writes all before it reads gets its 503 too (the rest of a
                // shed request's body is read before the answer goes).
                let auth = format!("Authorization: Bearer {}\r\n", server.token);
                let (status, reply) =
                    written_in_full(&server.addr, &server.addr, &auth, "POST", &slow, &body);
                (
                    status,
                    String::from_utf8_lossy(&reply).into_owned(),
                    started.elapsed(),
                )
            })
        })
        .collect();
    // While the queue is full, a request without the token is told so (401), and one whose
    // body is declared over the limit too (413), not that the queue is full: both are checked
    // before a request may take a place.
    thread::sleep(Duration::from_millis(200));
    let (status, reply) = written_in_full(&server.addr, &server.addr, "", "POST", &slow, &body);
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&reply));
    let mut over = connect(&server);
    write!(
        over,
        "POST {slow} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        server.token,
        64 << 20
    )
    .unwrap();
    let (status, reply) = support::read_response(over);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&reply));
    let answers: Vec<_> = burst.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(
        answers.iter().all(|(status, ..)| *status == 503),
        "{answers:?}"
    );
    let shed: Vec<_> = answers
        .iter()
        .filter(|(_, reply, _)| reply.contains("retry later"))
        .collect();
    assert!(
        !shed.is_empty(),
        "a full queue answers at once: {answers:?}"
    );
    assert!(
        shed.iter()
            .all(|(.., took)| *took < Duration::from_millis(1_200)),
        "{shed:?}"
    );
    // The pipelines that timed out were told to stop: the server is (nearly) idle now.
    #[cfg(target_os = "linux")]
    {
        let busy = cpu_used_over(
            server.child.id(),
            Duration::from_millis(300),
            Duration::from_millis(1_500),
        );
        assert!(busy < 0.5, "{busy} CPU seconds after the burst");
    }
    // Recovered: a request now gets its answer, not a 503 (before the fix, `/run` answered
    // 503 for minutes).
    assert_eq!(
        http(&server, "POST", "/run/hex-encode", b"hi"),
        (200, b"6869".to_vec())
    );
}

/// Failure: an answer given before the body was read (no token, another `Host`) went out and
/// the connection closed with the body's rest unread, so the kernel reset it, and a client
/// that writes its whole request before reading saw a broken pipe instead of the answer.
#[test]
fn answers_given_before_the_body_reach_clients_that_write_everything_first() {
    let _serial = serial();
    let server = start(&[]);
    let addr = server.addr.as_str();
    let auth = format!("Authorization: Bearer {}\r\n", server.token);
    // 4 MiB: more than the sockets hold between the two ends, under `--max-body-bytes`.
    let body = vec![b'a'; 4 << 20];
    let cases: [(&str, &str, &str, &str, u16); 3] = [
        ("no token", addr, "", "/run/hex-encode", 401),
        (
            "another Host",
            "rebound.example:80",
            &auth,
            "/run/hex-encode",
            421,
        ),
        (
            "a plugin that is not registered",
            addr,
            &auth,
            "/run/no-such-plugin",
            400,
        ),
    ];
    for (case, host, extra, path, want) in cases {
        let (status, reply) = written_in_full(addr, host, extra, "POST", path, &body);
        assert_eq!(status, want, "{case}: {}", String::from_utf8_lossy(&reply));
    }
    // A client waiting for `100 Continue` has sent no body: it gets the answer, and is never
    // asked for the body.
    let mut waiting = connect(&server);
    write!(
        waiting,
        "POST /run/hex-encode HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    )
    .unwrap();
    let (status, reply) = support::read_response(waiting);
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&reply));
    // A body declared over the limit is refused at once, unread.
    let mut over = connect(&server);
    write!(
        over,
        "POST /run/hex-encode HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Length: {}\r\n\r\n",
        64 << 20
    )
    .unwrap();
    assert_eq!(support::read_response(over).0, 413);
    // The server still answers.
    assert_eq!(get_health(&server), 200);
}

/// POSTs `body` to `/run/hex-encode` and returns the socket without reading the reply.
fn post_unread(server: &Server, body: &[u8]) -> TcpStream {
    let mut stream = connect(server);
    write!(
        stream,
        "POST /run/hex-encode HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        server.token,
        body.len()
    )
    .unwrap();
    // A refused request may be answered (and closed) before its body is read.
    let _ = stream.write_all(body);
    stream
}

/// Failure: each 64 MiB reply stayed in memory until read; 40 such clients crashed the server.
#[test]
fn replies_past_the_memory_budget_are_503_and_the_budget_returns_with_the_connection() {
    let _serial = serial();
    let server = start(&[
        "--max-reply-memory-bytes",
        "25165824",
        "--max-body-bytes",
        "16777216",
    ]);
    let body = vec![b'a'; 8 << 20];
    // Its 16 MiB reply is more than the socket buffers take: it holds the budget.
    let hog = post_unread(&server, &body);
    thread::sleep(Duration::from_millis(1_500));
    let (status, reply) = http(&server, "POST", "/run/hex-encode", &body);
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&reply));
    assert!(String::from_utf8_lossy(&reply).contains("replies"));
    drop(hog);
    thread::sleep(Duration::from_millis(500));
    let (status, reply) = http(&server, "POST", "/run/hex-encode", &body);
    assert_eq!(status, 200);
    assert_eq!(reply.len(), 16 << 20);
}

/// Failure: SIGTERM killed the server mid-request; it now stops accepting, lets requests in
/// flight finish and exits 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_gracefully() {
    let _serial = serial();
    let mut server = start(&[]);
    let mut idle = connect(&server);
    write!(
        idle,
        "GET /health HTTP/1.1\r\nHost: {}\r\n\r\n",
        server.addr
    )
    .unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let until = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < until, "still running 10 s after SIGTERM");
        thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        TcpStream::connect(&server.addr).is_err(),
        "no longer listening"
    );
}

/// The access log: one event per request, with method, path and status.
#[test]
fn every_request_is_in_the_access_log() {
    let _serial = serial();
    let mut command = serve_command(&[]);
    command
        .env("MODREG_LOG", "info")
        .arg("--log-format")
        .arg("json")
        .stderr(Stdio::piped());
    let mut server = launch(command);
    assert_eq!(get_health(&server), 200);
    let log = stopped_log(&mut server);
    let line = log
        .lines()
        .find(|l| l.contains("/health") && l.contains("finished processing request"))
        .unwrap_or_else(|| panic!("no access log line in {log}"));
    assert!(line.contains("\"status\":200"), "{line}");
    assert!(line.contains("GET"), "{line}");
}

/// Soak: 256 hostile connections (idle, headers at one byte a second, pipelined requests whose
/// replies are never read), each reopened as soon as the server closes it, while legitimate
/// clients call `/health` and `/run`: at least 99 % of them succeed.
#[test]
fn soak_256_hostile_connections_while_legitimate_requests_succeed() {
    let _serial = serial();
    let server = Arc::new(start(&[
        "--header-timeout-ms",
        "1000",
        "--idle-timeout-ms",
        "2000",
        "--request-timeout-ms",
        "1500",
        "--write-timeout-ms",
        "1000",
    ]));
    let stop = Arc::new(AtomicBool::new(false));
    let hostile: Vec<_> = (0..256)
        .map(|i| {
            let (server, stop) = (server.clone(), stop.clone());
            thread::spawn(move || {
                let pipelined =
                    format!("GET /metrics HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).repeat(200);
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut stream) = TcpStream::connect(&server.addr) else {
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    let _ = stream.set_write_timeout(Some(Duration::from_millis(500)));
                    match i % 3 {
                        // Idle: says nothing until closed.
                        0 => {}
                        // Slow headers: one byte a second.
                        1 => {
                            for byte in b"GET /health HTTP/1.1\r\nHost: x\r\n" {
                                if stop.load(Ordering::Relaxed)
                                    || stream.write_all(&[*byte]).is_err()
                                {
                                    break;
                                }
                                thread::sleep(Duration::from_secs(1));
                            }
                        }
                        // Pipelined requests, replies never read.
                        _ => {
                            let _ = stream.write_all(pipelined.as_bytes());
                        }
                    }
                    // Hold the connection until the server closes it (a read that ends).
                    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                    let mut byte = [0u8; 1];
                    while !stop.load(Ordering::Relaxed) {
                        match stream.peek(&mut byte) {
                            Ok(0) => break,
                            Err(e)
                                if !matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) =>
                            {
                                break;
                            }
                            _ => thread::sleep(Duration::from_millis(100)),
                        }
                    }
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(2));
    let (ok, total) = (Arc::new(AtomicUsize::new(0)), 400);
    let legitimate: Vec<_> = (0..4)
        .map(|worker| {
            let (server, ok) = (server.clone(), ok.clone());
            thread::spawn(move || {
                for i in 0..total / 4 {
                    let good = if (worker + i) % 2 == 0 {
                        get_health(&server) == 200
                    } else {
                        http(&server, "POST", "/run/hex-encode", b"ok") == (200, b"6f6b".to_vec())
                    };
                    if good {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect();
    for worker in legitimate {
        worker.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for client in hostile {
        client.join().unwrap();
    }
    let ok = ok.load(Ordering::Relaxed);
    assert!(
        ok * 100 >= total * 99,
        "{ok} of {total} legitimate requests succeeded"
    );
}

/// Soak: 40 clients ask for 64 MiB replies and never read them, with the server under a 3 GiB
/// address-space cap: it stays up (replies past the budget are 503s) and keeps answering.
#[cfg(target_os = "linux")]
#[test]
fn soak_forty_unread_64_mib_replies_under_a_3_gib_address_space() {
    let _serial = serial();
    // The same server, started by a shell that caps its address space first.
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("ulimit -v 3145728 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_modreg"))
        .args(support::serve_args(&["--max-body-bytes", "34603008"]))
        .env_remove("MODREG_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut server = launch(command);
    let server_ref = &server;
    let body = vec![b'a'; 32 << 20];
    let held: Vec<TcpStream> = thread::scope(|scope| {
        let clients: Vec<_> = (0..40)
            .map(|_| scope.spawn(|| post_unread(server_ref, &body)))
            .collect();
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let mut healthy = 0;
    for _ in 0..20 {
        if get_health(&server) == 200 {
            healthy += 1;
        }
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server is up"
    );
    assert_eq!(healthy, 20, "/health answered throughout");
    drop(held);
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        http(&server, "POST", "/run/hex-encode", b"up"),
        (200, b"7570".to_vec())
    );
    assert!(server.child.try_wait().unwrap().is_none());
}
