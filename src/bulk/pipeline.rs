//! Running an import's requests so that a request waiting for a slot is sent the moment the slot
//! frees, not after the next request is planned.
//!
//! `buffer_unordered` refills from its source before it polls what runs: when a task ends, the
//! next request (already planned, waiting for that task's slot) would wait while the one after it
//! is read, checked and keyed. Here what runs is polled first, and planning happens after.

use futures::stream::{FusedStream, FuturesUnordered, Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Up to `limit` futures from `source` at once, their outputs in the order they end.
pub(crate) struct RunningFirst<S: Stream> {
    source: futures::stream::Fuse<S>,
    running: FuturesUnordered<S::Item>,
    limit: usize,
}

impl<S> RunningFirst<S>
where
    S: Stream + Unpin,
    S::Item: Future,
{
    pub fn new(source: S, limit: usize) -> Self {
        Self {
            source: source.fuse(),
            running: FuturesUnordered::new(),
            limit: limit.max(1),
        }
    }
}

impl<S> Stream for RunningFirst<S>
where
    S: Stream + Unpin,
    S::Item: Future,
{
    type Item = <S::Item as Future>::Output;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Poll::Ready(Some(output)) = this.running.poll_next_unpin(cx) {
            return Poll::Ready(Some(output));
        }
        let mut added = false;
        while this.running.len() < this.limit && !this.source.is_terminated() {
            match this.source.poll_next_unpin(cx) {
                Poll::Ready(Some(future)) => {
                    this.running.push(future);
                    added = true;
                }
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        if added {
            if let Poll::Ready(Some(output)) = this.running.poll_next_unpin(cx) {
                return Poll::Ready(Some(output));
            }
        }
        if this.running.is_empty() && this.source.is_terminated() {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn what_runs_is_polled_before_the_source_is_read_again() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let mut receiver = Some(receiver);
        let source = {
            let log = log.clone();
            futures::stream::iter(0..3).map(move |n| {
                log.lock().unwrap().push(format!("planned {n}"));
                let (log, gate) = (log.clone(), if n == 1 { receiver.take() } else { None });
                async move {
                    if let Some(gate) = gate {
                        gate.await.unwrap();
                    }
                    log.lock().unwrap().push(format!("ran {n}"));
                    n
                }
            })
        };
        let mut running = RunningFirst::new(Box::pin(source), 2);
        assert_eq!(running.next().await, Some(0));
        sender.send(()).unwrap();
        assert_eq!(running.next().await, Some(1));
        assert_eq!(running.next().await, Some(2));
        assert_eq!(running.next().await, None);
        let log = log.lock().unwrap().clone();
        // Request 1, released, runs before request 2 is planned.
        let ran_1 = log.iter().position(|l| l == "ran 1").unwrap();
        let planned_2 = log.iter().position(|l| l == "planned 2").unwrap();
        assert!(ran_1 < planned_2, "{log:?}");
    }
}
