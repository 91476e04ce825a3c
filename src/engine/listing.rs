//! Paging through an offset listing that may move while it is read. Pure: the plan of a full
//! sync's pages, and the checks that tell whether the listing stayed put.
//!
//! Consecutive pages overlap by one product: page `i + 1` starts at the last product of page
//! `i`. If a product before that point is deleted or added while the listing is read, the
//! listing shifts and the overlap no longer matches, so a shift can never silently skip a
//! product. A listing that shifts, repeats an id, serves more or fewer products than its
//! `total`, or changes `total` is a moving listing: the run says so and archives only what the
//! upstream confirms gone.

use std::ops::Range;

/// The pages of a listing, planned from its first page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// Offset of the first page.
    pub start: u64,
    /// Products per page: what was asked, or less when the upstream caps its pages.
    pub page_size: u64,
    /// How far each page's offset is from the one before: a page less the overlap.
    pub stride: u64,
    /// Products the listing should serve from offset 0: its `total`, capped by `SYNC_SAFE_MAX`.
    pub planned: u64,
    /// Most pages to request, the first included: those `total` implies, plus one (which
    /// should be empty) unless the plan is capped.
    pub pages: u64,
    /// The listing has more than `SYNC_SAFE_MAX` products; the plan stops there.
    pub capped: bool,
    /// Each page starts at the last product of the page before (offsets); pages by number
    /// cannot overlap.
    pub overlaps: bool,
}

impl Plan {
    /// Plans the pages after a first page asked for `asked` products at `start` and got
    /// `served` of a listing whose `total` it reported.
    pub fn new(start: u64, asked: u64, served: u64, total: u64, safe_max: u64) -> Plan {
        Plan::build(start, asked, served, total, safe_max, true)
    }

    /// The same for a listing by page numbers, whose pages cannot overlap.
    pub fn without_overlap(start: u64, asked: u64, served: u64, total: u64, safe_max: u64) -> Plan {
        Plan::build(start, asked, served, total, safe_max, false)
    }

    fn build(
        start: u64,
        asked: u64,
        served: u64,
        total: u64,
        safe_max: u64,
        overlap: bool,
    ) -> Plan {
        let planned = total.min(safe_max);
        let capped = total > safe_max;
        let remaining = planned.saturating_sub(start);
        // An upstream that serves fewer than asked before the end of its listing caps `limit`.
        let page_size = if served > 0 && served < asked && served < remaining {
            served
        } else {
            asked.max(1)
        };
        let overlaps = overlap && page_size >= 2;
        let stride = if overlaps { page_size - 1 } else { page_size };
        let last = if start + page_size >= planned {
            0
        } else {
            (planned - start - page_size).div_ceil(stride)
        };
        Plan {
            start,
            page_size,
            stride,
            planned,
            pages: last + 1 + u64::from(!capped),
            capped,
            overlaps,
        }
    }

    /// Offset of page `i`.
    pub fn skip(&self, i: u64) -> u64 {
        self.start + i * self.stride
    }

    /// `limit` of page `i`: a whole page, so a listing longer than its total shows; a capped
    /// plan never asks beyond its cap.
    pub fn limit(&self, i: u64) -> u64 {
        if self.capped {
            self.page_size
                .min(self.planned.saturating_sub(self.skip(i)))
                .max(1)
        } else {
            self.page_size
        }
    }

    /// Whether page `i` is the extra page past the end that `total` implies.
    pub fn is_past_end(&self, i: u64) -> bool {
        !self.capped && i + 1 == self.pages
    }

    /// Products page `i` should hold (its overlap included) if the listing stays put.
    pub fn expected(&self, i: u64) -> u64 {
        self.page_size
            .min(self.planned.saturating_sub(self.skip(i)))
    }

    /// Requests an id-only pass over a listing of `total` products costs with this page size.
    pub fn id_listing_requests(page_size: u64, total: u64) -> u64 {
        Plan::new(0, page_size, page_size.min(total), total, u64::MAX).pages
    }
}

/// What the checks made of one page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The products of the page to take: without the overlap already taken with the page
    /// before, and never more than a page.
    pub keep: Range<usize>,
    /// No page after this one can hold anything new: stop requesting pages.
    pub end: bool,
    /// Why the listing looks like it moved, if it does.
    pub moved: Vec<String>,
}

/// Follows a listing page by page, in order, checking each against the one before.
#[derive(Clone, Debug)]
pub(super) struct Continuity {
    total: u64,
    /// The id of the last product of the page before, which should open this page;
    /// `None` when there is nothing to compare with (first page, or the page before was lost).
    last_id: Option<String>,
}

impl Continuity {
    /// Starts with the `total` the first page reported and, when resuming after a committed
    /// prefix, the id the first page must start with.
    pub fn new(total: u64, expected_first_id: Option<String>) -> Continuity {
        Continuity {
            total,
            last_id: expected_first_id,
        }
    }

    /// The page before could not be fetched: the next one is taken whole, unchecked.
    pub fn lost(&mut self) {
        self.last_id = None;
    }

    /// Checks page `i` of `plan`, which reported `total` and served products with these ids
    /// (`None` for an element without a readable id).
    pub fn check(&mut self, plan: &Plan, i: u64, total: u64, ids: &[Option<&str>]) -> Verdict {
        let skip = plan.skip(i);
        let mut verdict = Verdict::default();
        if total != self.total {
            verdict.moved.push(format!(
                "page skip={skip} reports total {total}; the first page reported {}",
                self.total
            ));
        }
        let served = ids.len().min(plan.page_size as usize);
        if ids.len() > served {
            verdict.moved.push(format!(
                "page skip={skip} served {} products, more than the {served} asked for",
                ids.len()
            ));
        }
        let mut first = 0;
        if let Some(expected) = self.last_id.take()
            && served > 0
        {
            if ids[0] == Some(expected.as_str()) {
                first = 1;
            } else {
                verdict.moved.push(format!(
                    "page skip={skip} starts with product {}, not {expected} (the last product of the page before): the listing shifted",
                    ids[0].unwrap_or("without an id")
                ));
            }
        }
        let fresh = served - first;
        let expected = plan.expected(i) as usize;
        if plan.is_past_end(i) {
            if fresh > 0 {
                verdict.moved.push(format!(
                    "the listing has more than the {} products its total says (page skip={skip} served {fresh} more)",
                    plan.planned
                ));
            }
            verdict.end = true;
        } else if served < expected {
            verdict.moved.push(format!(
                "page skip={skip} served {served} of {expected} products: the listing shrank or its total is wrong"
            ));
        } else if served > expected {
            verdict.moved.push(format!(
                "page skip={skip} served {served} products where the total implies {expected}"
            ));
        }
        // A short page ended the listing when it was served; nothing live throughout the read
        // can lie beyond it. An empty one (or one holding only the overlap) ends it too.
        if fresh == 0 || served < plan.page_size as usize {
            verdict.end = true;
        }
        self.last_id = if plan.overlaps {
            ids[..served].last().and_then(|id| id.map(str::to_owned))
        } else {
            None
        };
        verdict.keep = first..served;
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: Range<u64>) -> Vec<String> {
        range.map(|n| n.to_string()).collect()
    }

    fn refs(ids: &[String]) -> Vec<Option<&str>> {
        ids.iter().map(|s| Some(s.as_str())).collect()
    }

    /// Reads a listing (a function from skip and limit to ids and total) with `plan`, returns
    /// the ids taken and whether the listing looked like it moved.
    fn read(
        plan: &Plan,
        first_total: u64,
        mut page: impl FnMut(u64, u64) -> (u64, Vec<String>),
    ) -> (Vec<String>, bool, u64) {
        let mut continuity = Continuity::new(first_total, None);
        let (mut taken, mut moved, mut requests) = (Vec::new(), false, 0);
        for i in 0..plan.pages {
            requests += 1;
            let (total, page_ids) = page(plan.skip(i), plan.limit(i));
            let verdict = continuity.check(plan, i, total, &refs(&page_ids));
            moved |= !verdict.moved.is_empty();
            taken.extend(page_ids[verdict.keep.clone()].iter().cloned());
            if verdict.end {
                break;
            }
        }
        (taken, moved, requests)
    }

    fn stable(catalog: &[String]) -> impl FnMut(u64, u64) -> (u64, Vec<String>) + '_ {
        move |skip, limit| {
            let ids = catalog
                .iter()
                .skip(skip as usize)
                .take(limit as usize)
                .cloned()
                .collect();
            (catalog.len() as u64, ids)
        }
    }

    #[test]
    fn a_stable_listing_is_read_once_each_without_alarm() {
        for n in [0u64, 1, 2, 9, 10, 11, 49, 50, 51, 450, 1000] {
            let catalog = ids(1..n + 1);
            let plan = Plan::new(0, 10, 10.min(n), n, 1_000_000);
            let (taken, moved, requests) = read(&plan, n, stable(&catalog));
            assert_eq!(taken, catalog, "n={n}");
            assert!(!moved, "n={n}");
            assert!(requests <= plan.pages, "n={n}");
            assert!(requests <= n.div_ceil(9) + 2, "n={n}: {requests} requests");
        }
    }

    #[test]
    fn a_deletion_before_the_read_position_is_caught_by_the_overlap() {
        let mut catalog = ids(1..101);
        let plan = Plan::new(0, 10, 10, 100, 1_000_000);
        let mut reads = 0;
        let (taken, moved, _) = read(&plan, 100, |skip, limit| {
            reads += 1;
            if reads == 3 {
                // One product deleted and one added at the end: the total stays 100.
                catalog.remove(4);
                catalog.push("101".into());
            }
            stable(&catalog)(skip, limit)
        });
        assert!(moved, "the shift must be noticed");
        assert!(taken.contains(&"19".to_owned()) && taken.contains(&"20".to_owned()));
    }

    #[test]
    fn a_lying_total_ends_at_the_first_empty_page() {
        let catalog = ids(1..95);
        let plan = Plan::new(0, 10, 10, 1_000_000_000, 1_000_000);
        let (taken, moved, requests) = read(&plan, 1_000_000_000, |skip, limit| {
            let (_, ids) = stable(&catalog)(skip, limit);
            (1_000_000_000, ids)
        });
        assert_eq!(taken, catalog);
        assert!(moved, "fewer products than the total");
        assert_eq!(
            requests, 11,
            "94 products in pages of 10 overlapping by one, then the end"
        );
    }

    #[test]
    fn an_under_reported_total_is_noticed_on_the_extra_page() {
        let catalog = ids(1..61);
        let plan = Plan::new(0, 10, 10, 40, 1_000_000);
        let (taken, moved, _) = read(&plan, 40, |skip, limit| {
            (40, stable(&catalog)(skip, limit).1)
        });
        assert!(moved);
        assert!(taken.len() >= 40 && taken.len() < 60, "{}", taken.len());
    }

    #[test]
    fn a_repeated_page_breaks_the_overlap() {
        let catalog = ids(1..51);
        let plan = Plan::new(0, 10, 10, 50, 1_000_000);
        let (taken, moved, _) = read(&plan, 50, |skip, limit| {
            let skip = if skip == 18 { 9 } else { skip };
            stable(&catalog)(skip, limit)
        });
        assert!(moved, "the repeat must be noticed");
        assert!(!taken.is_empty());
    }

    #[test]
    fn a_capped_upstream_sets_the_page_size() {
        let plan = Plan::new(0, 100, 30, 200, 1_000_000);
        assert_eq!((plan.page_size, plan.stride), (30, 29));
        assert_eq!(plan.skip(1), 29);
        let catalog = ids(1..201);
        let (taken, moved, _) = read(&plan, 200, |skip, limit| {
            stable(&catalog)(skip, limit.min(30))
        });
        assert_eq!(taken, catalog);
        assert!(!moved);
    }

    #[test]
    fn safe_max_caps_the_plan_without_an_extra_page() {
        let plan = Plan::new(0, 10, 10, 100, 25);
        assert!(plan.capped);
        let catalog = ids(1..101);
        let (taken, _, requests) = read(&plan, 100, stable(&catalog));
        assert_eq!(taken, ids(1..26));
        assert_eq!(requests, plan.pages);
        assert_eq!(plan.limit(plan.pages - 1), 25 - plan.skip(plan.pages - 1));
    }

    #[test]
    fn resuming_checks_the_product_before_the_checkpoint() {
        let catalog = ids(1..51);
        // Committed through offset 20 (ids 1..=20): resume at 19, expecting id 20 first.
        let plan = Plan::new(19, 10, 10, 50, 1_000_000);
        let mut continuity = Continuity::new(50, Some("20".into()));
        let page = stable(&catalog)(19, 10).1;
        let verdict = continuity.check(&plan, 0, 50, &refs(&page));
        assert_eq!(verdict.keep, 1..10);
        assert!(verdict.moved.is_empty());
        let mut moved_meanwhile = Continuity::new(50, Some("19".into()));
        assert!(
            !moved_meanwhile
                .check(&plan, 0, 50, &refs(&page))
                .moved
                .is_empty()
        );
    }

    #[test]
    fn pages_by_number_do_not_overlap_and_still_end_and_notice_shrinking() {
        for n in [0u64, 1, 9, 10, 11, 100, 101] {
            let catalog = ids(1..n + 1);
            let plan = Plan::without_overlap(0, 10, 10.min(n), n, 1_000_000);
            assert_eq!(plan.stride, 10);
            let (taken, moved, requests) = read(&plan, n, stable(&catalog));
            assert_eq!(taken, catalog, "n={n}");
            assert!(!moved, "n={n}");
            assert!(requests <= n / 10 + 2, "n={n}: {requests} requests");
        }
        let catalog = ids(1..50);
        let plan = Plan::without_overlap(0, 10, 10, 60, 1_000_000);
        let (_, moved, _) = read(&plan, 60, stable(&catalog));
        assert!(moved, "49 products where the total says 60");
    }

    #[test]
    fn id_listing_cost_is_about_one_request_per_page() {
        assert_eq!(Plan::id_listing_requests(100, 0), 2);
        assert_eq!(Plan::id_listing_requests(100, 100), 2);
        assert_eq!(Plan::id_listing_requests(100, 10_000), 102);
    }
}
