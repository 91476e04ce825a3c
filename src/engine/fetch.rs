//! The one fetch loop of the engine: upstream requests run as tasks, `SYNC_CONCURRENCY` at a
//! time, and their results are taken in order while the batch writer works.

use std::future::Future;
use std::pin::Pin;

use futures_util::stream::{self, Stream, StreamExt};
use tokio::task::JoinError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument as _;

/// Results of fetches started in order, at most `concurrency` in flight or waiting. Each fetch
/// is a task of its own in the current span, so it progresses while the caller waits on the
/// database and its spans are the run's children. Dropping this aborts the fetches in flight.
pub(super) struct InOrder<T> {
    results: Pin<Box<dyn Stream<Item = Result<T, JoinError>> + Send>>,
}

/// Starts `fetch` for every item (the first `concurrency` at once, the next as results are taken).
pub(super) fn in_order<I, T, F, Fut>(
    items: impl IntoIterator<Item = I, IntoIter: Send + 'static>,
    concurrency: usize,
    fetch: F,
) -> InOrder<T>
where
    I: Send + 'static,
    F: Fn(I) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let results = stream::iter(items)
        .map(move |item| AbortOnDropHandle::new(tokio::spawn(fetch(item).in_current_span())))
        .buffered(concurrency);
    InOrder {
        results: Box::pin(results),
    }
}

impl<T> InOrder<T> {
    /// The next result in order; `None` when every item was fetched or `cancel` fired first.
    /// An error means the fetch task panicked.
    pub async fn next(&mut self, cancel: &CancellationToken) -> Option<Result<T, JoinError>> {
        tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            next = self.results.next() => next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_come_in_order() {
        let cancel = CancellationToken::new();
        let mut fetches = in_order(0..6u64, 3, |i| async move {
            // Later items finish first; the order is still kept.
            tokio::time::sleep(std::time::Duration::from_millis(10 * (6 - i))).await;
            i
        });
        let mut taken = Vec::new();
        while let Some(result) = fetches.next(&cancel).await {
            taken.push(result.unwrap());
        }
        assert_eq!(taken, [0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn a_cancelled_run_takes_nothing_more() {
        let cancel = CancellationToken::new();
        let mut fetches = in_order(0..5, 2, |i| async move { i });
        assert_eq!(fetches.next(&cancel).await.unwrap().unwrap(), 0);
        cancel.cancel();
        assert!(fetches.next(&cancel).await.is_none());
    }

    #[tokio::test]
    async fn a_panicking_fetch_is_an_error() {
        let cancel = CancellationToken::new();
        let mut fetches = in_order(0..3, 2, |i| async move {
            assert!(i != 1, "fetch {i} fails");
            i
        });
        assert_eq!(fetches.next(&cancel).await.unwrap().unwrap(), 0);
        assert!(fetches.next(&cancel).await.unwrap().unwrap_err().is_panic());
    }
}
