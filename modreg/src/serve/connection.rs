//! One client connection: HTTP/1.1 over a socket whose reads and writes are timed.
//!
//! A connection holds one of `--max-connections` slots for as long as it lives, so nothing a
//! client does (or fails to do) may keep it open without bound:
//!
//! - headers must arrive within `--header-timeout-ms` (hyper's header timer);
//! - a read that waits longer than `--idle-timeout-ms` (a keep-alive connection with no next
//!   request, a body that stalls) closes the connection;
//! - a write that waits longer than `--write-timeout-ms` (a client that sends requests but
//!   never reads the replies) closes it, and drops the replies it held;
//! - after `--max-requests-per-connection` requests the reply says `Connection: close`, so
//!   pipelined requests beyond the cap are never read.
//!
//! The timeouts on the socket come from `tokio-io-timeout`, which times each pending read and
//! write; hyper itself times only the headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_io_timeout::TimeoutStream;

/// The limits every connection is served under.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) max_requests: usize,
}

/// Serves `stream` until it closes, fails, times out or the server shuts down; `slot` is
/// given back then.
pub(crate) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    slot: OwnedSemaphorePermit,
    shutdown: Watcher,
) {
    let _slot = slot;
    let mut timed = TimeoutStream::new(stream);
    timed.set_read_timeout(Some(limits.idle_timeout));
    timed.set_write_timeout(Some(limits.write_timeout));
    let served = Arc::new(AtomicUsize::new(0));
    let cap = limits.max_requests;
    let app = tower::ServiceExt::<hyper::Request<hyper::body::Incoming>>::map_response(
        app,
        move |mut response: Response| {
            if served.fetch_add(1, Ordering::Relaxed) + 1 >= cap {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        },
    );
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    let connection =
        http.serve_connection(TokioIo::new(Box::pin(timed)), TowerToHyperService::new(app));
    if let Err(error) = shutdown.watch(connection).await {
        tracing::debug!(%peer, %error, "connection ended");
    }
}
