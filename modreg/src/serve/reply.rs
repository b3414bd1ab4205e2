//! Replies held in memory, under one budget for the whole server.
//!
//! A pipeline's output stays in memory until its client has read it; a client that never
//! reads would keep it for as long as its connection lives. Every reply therefore takes its
//! size from a budget shared by all connections before it is sent, and gives it back when its
//! body is dropped: written out, or abandoned when the connection closes (the write timeout
//! closes one whose client stopped reading). Past the budget a reply is a 503 with
//! `Retry-After`, never an allocation that could abort the process.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in units of this many bytes (a semaphore counts in `u32`).
const UNIT: usize = 1024;

/// Frames a reply is written in: hyper sends one while the next waits.
const FRAME: usize = 64 * 1024;

/// The reply memory all connections may hold at once.
#[derive(Clone)]
pub(crate) struct ReplyBudget {
    units: Arc<Semaphore>,
}

impl ReplyBudget {
    pub(crate) fn new(bytes: usize) -> Self {
        Self {
            units: Arc::new(Semaphore::new(bytes.div_ceil(UNIT))),
        }
    }

    /// `data` as a response that holds its share of the budget until its body is dropped;
    /// a 503 if the budget cannot take it now.
    pub(crate) fn reply(&self, data: Vec<u8>) -> Response {
        let units = u32::try_from(data.len().div_ceil(UNIT)).unwrap_or(u32::MAX);
        match Arc::clone(&self.units).try_acquire_many_owned(units) {
            Ok(permit) => Body::new(Budgeted {
                data: Bytes::from(data),
                _permit: permit,
            })
            .into_response(),
            Err(_) => over_budget(),
        }
    }

    /// Bytes of the budget not held by a reply.
    #[cfg(test)]
    fn available(&self) -> usize {
        self.units.available_permits() * UNIT
    }
}

/// What a client is told when replies already hold the whole budget.
pub(crate) fn over_budget() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        "the server holds as many replies as it may; retry later\n",
    )
        .into_response()
}

/// A reply's bytes, written a frame at a time, with its share of the budget.
struct Budgeted {
    data: Bytes,
    _permit: OwnedSemaphorePermit,
}

impl http_body::Body for Budgeted {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let take = self.data.len().min(FRAME);
        Poll::Ready(Some(Ok(Frame::data(self.data.split_to(take)))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_holds_its_size_until_its_body_is_dropped() {
        let budget = ReplyBudget::new(4 * UNIT);
        let first = budget.reply(vec![0; 3 * UNIT]);
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(budget.available(), UNIT);
        let refused = budget.reply(vec![0; 2 * UNIT]);
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers().contains_key(header::RETRY_AFTER));
        drop(first);
        assert_eq!(budget.available(), 4 * UNIT);
        assert_eq!(budget.reply(vec![0; 4 * UNIT]).status(), StatusCode::OK);
        assert_eq!(budget.available(), 4 * UNIT, "that reply was dropped too");
    }

    #[tokio::test]
    async fn a_reply_is_written_whole_in_frames() {
        let budget = ReplyBudget::new(1 << 20);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let response = budget.reply(data.clone());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(body.as_ref(), data.as_slice());
        assert_eq!(budget.available(), 1 << 20);
    }
}
