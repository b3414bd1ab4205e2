//! What is left of a request's body when its answer is ready, read (and dropped) before the
//! answer goes.
//!
//! Many answers come before the body is read: a request shed by a full queue (503), one
//! without the token (401), one for another `Host` (421). Were the connection closed with the
//! body's rest unread, the kernel would reset it, and a client that writes its whole request
//! before it reads (most simple clients do) would see its write fail with a broken pipe and
//! never read the answer. So the rest is read first, within limits a client cannot stretch:
//!
//! - at most `--max-body-bytes` (a body the server would have taken): a request that declares
//!   more is answered at once, since nothing short of reading it all would help its client;
//! - within `--request-timeout-ms`, and each read within `--idle-timeout-ms` (the socket's);
//! - nothing when the client waits for `100 Continue`: it has sent no body, and reading
//!   would ask it for one.
//!
//! Each chunk is dropped as it arrives: draining holds no memory. Past a limit the answer goes
//! anyway and the connection closes, as before.
//!
//! Written by hand: hyper reads one more chunk of an unread body and then closes; neither
//! hyper nor tower-http has a bounded drain (a "lingering close").

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Body as _, Frame, SizeHint};
use tokio::sync::oneshot;

/// How much of an unread body is read before an answer, and for how long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DrainLimits {
    pub(crate) max_bytes: usize,
    pub(crate) within: Duration,
}

/// Runs the request, then reads what its handler left of its body (within `limits`) before
/// the answer goes.
pub(crate) async fn unread_body(
    State(limits): State<DrainLimits>,
    request: Request,
    next: Next,
) -> Response {
    let worth_reading = !http_body::Body::is_end_stream(request.body())
        && !request.headers().contains_key(header::EXPECT)
        && !declares_over(&request, limits.max_bytes);
    if !worth_reading {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let (back, mut left) = oneshot::channel();
    let body = Body::new(Handback {
        body: Some(body),
        back: Some(back),
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    // Not awaited: a body something still holds is not this answer's to read.
    if let Ok(rest) = left.try_recv() {
        let _ = tokio::time::timeout(limits.within, discard(rest, limits.max_bytes)).await;
    }
    response
}

/// Whether `request`'s body is declared longer than `max_bytes` (its `Content-Length`, which
/// hyper gives as the body's size hint; a chunked body declares nothing).
pub(crate) fn declares_over(request: &Request, max_bytes: usize) -> bool {
    http_body::Body::size_hint(request.body()).lower() > max_bytes as u64
}

/// Reads `body` to its end, or until `max_bytes` are read or it fails, dropping each chunk.
async fn discard(mut body: Body, max_bytes: usize) {
    let mut left = max_bytes;
    while let Some(Ok(frame)) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let read = frame.data_ref().map_or(0, Bytes::len);
        if read > left {
            return;
        }
        left -= read;
    }
}

/// A request body that, dropped before its end, hands what is left to [`unread_body`].
struct Handback {
    body: Option<Body>,
    back: Option<oneshot::Sender<Body>>,
}

impl http_body::Body for Handback {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.get_mut().body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Handback {
    fn drop(&mut self) {
        if let (Some(body), Some(back)) = (self.body.take(), self.back.take())
            && !http_body::Body::is_end_stream(&body)
        {
            let _ = back.send(body);
        }
    }
}
