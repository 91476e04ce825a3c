//! Listing misbehaviour that a test scripts ahead: quirks that make every listing page lie
//! (a wrong `total`, a repeated page) and catalog changes fired by listing traffic, so a test
//! can change the catalog at an exact point of a full sync.

use serde::Deserialize;

/// Ways the listing lies, persistent until replaced (by default, it does not lie).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingQuirks {
    /// Report this `total` in every listing page instead of the live count (a lying total).
    pub total: Option<u64>,
    /// A listing request with exactly this `skip` serves the page at `skip - limit` instead
    /// (a repeated page; the products at `skip..skip+limit` are never listed). The answer
    /// still echoes the requested `skip`, as the upstreams with this bug do.
    pub repeat_page_at: Option<u64>,
    /// Keyset listings (cursor, next URL, Shopify's `page_info`): the page that would go on
    /// past this id points back to the first page instead (a cursor cycle, as upstreams with
    /// a broken cursor serve).
    pub keyset_cycle_after: Option<u64>,
}

impl ListingQuirks {
    /// The `skip` whose page is served for a request of `skip` and `limit` (after the page-size
    /// cap). `limit == 0` asks for everything from `skip`, which has no earlier page to repeat.
    pub(crate) fn served_skip(&self, skip: u64, limit: u64) -> u64 {
        if self.repeat_page_at == Some(skip) && limit > 0 {
            skip.saturating_sub(limit)
        } else {
            skip
        }
    }
}

/// A change to the catalog, scripted to happen at a listing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogChange {
    /// Delete these products (those not live are skipped).
    Delete(Vec<u64>),
    /// Add this many products after the highest id.
    Add(u64),
    /// Bump these products' versions, like [`crate::Simulator::mutate`].
    Mutate(Vec<u64>),
}

/// Changes waiting for a listing request, by the listing count at which they fire.
#[derive(Debug, Default)]
pub(crate) struct ListTriggers {
    /// How many listing requests have been counted.
    seen: u64,
    /// `(fire at count, change)`, in the order they were queued.
    pending: Vec<(u64, CatalogChange)>,
}

impl ListTriggers {
    /// Queues `change` for the `n`-th listing request from now (`n == 0` counts as 1: the next).
    pub(crate) fn push(&mut self, n: u64, change: CatalogChange) {
        let at = self.seen.saturating_add(n.max(1));
        self.pending.push((at, change));
    }

    /// Takes every queued change, due or not, in queue order.
    pub(crate) fn take_all(&mut self) -> Vec<CatalogChange> {
        std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(_, change)| change)
            .collect()
    }

    /// Counts one listing request and takes the changes due at it, in queue order.
    pub(crate) fn next_request(&mut self) -> Vec<CatalogChange> {
        self.seen += 1;
        if self.pending.is_empty() {
            return Vec::new();
        }
        let seen = self.seen;
        let (due, later) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(at, _)| *at <= seen);
        self.pending = later;
        due.into_iter().map(|(_, change)| change).collect()
    }
}

/// The body of `POST /__sim/listing/changes`: `{"n": 2, "change": {"delete": [5, 6]}}`,
/// `{"n": 1, "change": {"add": 3}}` or `{"n": 3, "change": {"mutate": [7]}}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeRequest {
    pub n: u64,
    pub change: ChangeBody,
}

/// The wire form of a [`CatalogChange`]; the public enum stays free of serde attributes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ChangeBody {
    Delete(Vec<u64>),
    Add(u64),
    Mutate(Vec<u64>),
}

impl From<ChangeBody> for CatalogChange {
    fn from(body: ChangeBody) -> CatalogChange {
        match body {
            ChangeBody::Delete(ids) => CatalogChange::Delete(ids),
            ChangeBody::Add(n) => CatalogChange::Add(n),
            ChangeBody::Mutate(ids) => CatalogChange::Mutate(ids),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_quirky_skip_repeats_the_earlier_page() {
        let quirks = ListingQuirks {
            repeat_page_at: Some(60),
            ..ListingQuirks::default()
        };
        assert_eq!(quirks.served_skip(60, 30), 30);
        assert_eq!(quirks.served_skip(30, 30), 30);
        assert_eq!(quirks.served_skip(90, 30), 90);
        assert_eq!(quirks.served_skip(60, 100), 0, "no page before zero");
        assert_eq!(quirks.served_skip(60, 0), 60, "limit=0 has no earlier page");
        assert_eq!(ListingQuirks::default().served_skip(60, 30), 60);
    }

    #[test]
    fn quirks_parse_and_refuse_unknown_fields() {
        let quirks: ListingQuirks =
            serde_json::from_str(r#"{"total": 500, "repeat_page_at": 60}"#).expect("valid");
        assert_eq!((quirks.total, quirks.repeat_page_at), (Some(500), Some(60)));
        let empty: ListingQuirks = serde_json::from_str("{}").expect("valid");
        assert_eq!(empty, ListingQuirks::default());
        assert!(serde_json::from_str::<ListingQuirks>(r#"{"totl": 1}"#).is_err());
    }

    #[test]
    fn triggers_fire_once_at_their_request_in_queue_order() {
        let mut triggers = ListTriggers::default();
        triggers.next_request();
        triggers.push(2, CatalogChange::Add(1));
        triggers.push(1, CatalogChange::Delete(vec![3]));
        triggers.push(2, CatalogChange::Mutate(vec![4]));
        assert_eq!(triggers.next_request(), [CatalogChange::Delete(vec![3])]);
        assert_eq!(
            triggers.next_request(),
            [CatalogChange::Add(1), CatalogChange::Mutate(vec![4])]
        );
        assert!(triggers.next_request().is_empty());
        triggers.push(0, CatalogChange::Add(2));
        assert_eq!(triggers.next_request(), [CatalogChange::Add(2)]);
    }

    #[test]
    fn queued_changes_can_be_taken_before_their_request() {
        let mut triggers = ListTriggers::default();
        triggers.push(6, CatalogChange::Add(3));
        triggers.push(1, CatalogChange::Delete(vec![2]));
        assert_eq!(
            triggers.take_all(),
            [CatalogChange::Add(3), CatalogChange::Delete(vec![2])]
        );
        for _ in 0..8 {
            assert!(triggers.next_request().is_empty());
        }
    }

    #[test]
    fn change_requests_parse_like_the_admin_api_documents() {
        for (body, expected) in [
            (
                r#"{"n": 2, "change": {"delete": [5, 6]}}"#,
                CatalogChange::Delete(vec![5, 6]),
            ),
            (r#"{"n": 1, "change": {"add": 3}}"#, CatalogChange::Add(3)),
            (
                r#"{"n": 3, "change": {"mutate": [7]}}"#,
                CatalogChange::Mutate(vec![7]),
            ),
        ] {
            let request: ChangeRequest = serde_json::from_str(body).expect(body);
            assert_eq!(CatalogChange::from(request.change), expected);
        }
        assert!(
            serde_json::from_str::<ChangeRequest>(r#"{"n": 1, "change": {"drop": 1}}"#).is_err()
        );
        assert!(serde_json::from_str::<ChangeRequest>(r#"{"change": {"add": 1}}"#).is_err());
    }
}
