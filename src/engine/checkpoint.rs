//! The committed prefix of a full sync's listing: how far a later attempt of the same request
//! may skip ahead. A page counts once every batch holding its products is committed (batches
//! commit out of order, several at a time), and a page that could not be fetched stops the
//! prefix for good: the next attempt fetches it again.

use std::collections::VecDeque;

/// A page taken from the listing, waiting for its batches to commit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Taken {
    /// Number of the batch holding the page's last product.
    batch: u64,
    /// Listing offset just after the page.
    next_skip: u64,
    /// Id of the page's last product.
    last_id: Option<String>,
}

/// Follows which pages are committed.
#[derive(Clone, Debug, Default)]
pub(super) struct Tracker {
    taken: VecDeque<Taken>,
    blocked: bool,
    committed: Option<(u64, Option<String>)>,
}

impl Tracker {
    /// Starts after a prefix committed by an earlier attempt, if any.
    pub fn new(committed: Option<(u64, Option<String>)>) -> Tracker {
        Tracker {
            committed,
            ..Tracker::default()
        }
    }

    /// A page was taken; its last product sits in batch `batch`.
    pub fn page_taken(&mut self, batch: u64, next_skip: u64, last_id: Option<String>) {
        if !self.blocked {
            self.taken.push_back(Taken {
                batch,
                next_skip,
                last_id,
            });
        }
    }

    /// A page could not be fetched: nothing after it counts as committed.
    pub fn page_lost(&mut self) {
        self.blocked = true;
    }

    /// Every batch up to `batch` is committed.
    pub fn committed_through(&mut self, batch: u64) {
        while self.taken.front().is_some_and(|t| t.batch <= batch) {
            if let Some(t) = self.taken.pop_front() {
                self.committed = Some((t.next_skip, t.last_id));
            }
        }
    }

    /// The offset up to which every product is committed, and the id just before it.
    pub fn committed(&self) -> Option<(u64, Option<String>)> {
        self.committed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_counts_once_its_last_batch_is_committed() {
        let mut t = Tracker::new(None);
        t.page_taken(1, 10, Some("10".into()));
        t.page_taken(2, 19, Some("19".into()));
        t.page_taken(2, 28, Some("28".into()));
        assert_eq!(t.committed(), None);
        t.committed_through(1);
        assert_eq!(t.committed(), Some((10, Some("10".into()))));
        t.committed_through(2);
        assert_eq!(t.committed(), Some((28, Some("28".into()))));
    }

    #[test]
    fn a_lost_page_stops_the_prefix() {
        let mut t = Tracker::new(Some((5, Some("5".into()))));
        t.page_taken(1, 10, Some("10".into()));
        t.page_lost();
        t.page_taken(2, 28, Some("28".into()));
        t.committed_through(9);
        assert_eq!(t.committed(), Some((10, Some("10".into()))));
    }

    #[test]
    fn an_earlier_attempts_prefix_stands_until_more_commits() {
        let t = Tracker::new(Some((40, Some("40".into()))));
        assert_eq!(t.committed(), Some((40, Some("40".into()))));
    }
}
