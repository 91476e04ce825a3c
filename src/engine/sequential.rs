//! Reading a listing whose pages say where the next one is (cursor, link header, next URL, or
//! offsets without a total): one page after another, the next requested as soon as the one
//! before arrives, so it downloads while that one is written. Memory stays at two pages.
//!
//! The listing ends at the first empty page or when no next page is given. A next page
//! already read (a cycle in cursors or URLs) stops the listing, as does going past
//! `SYNC_SAFE_MAX` products; either way nothing is archived.

use std::collections::HashSet;

use tokio_util::task::AbortOnDropHandle;
use tracing::{Instrument as _, info};

use super::Engine;
use super::full::{Moved, take_products};
use super::listed::{Lister, PreparedPage};
use super::run::RunState;
use super::writer::BatchWriter;
use crate::domain::ErrorKind;
use crate::telemetry::error_chain;
use crate::upstream::PageAt;

/// What reading the listing found.
pub(super) struct Read {
    /// Every page arrived and the listing ended by itself.
    pub complete: bool,
    /// The listing went past `SYNC_SAFE_MAX` products and was cut there.
    pub capped: bool,
    /// Signs that the listing moved (a cycle, a total it did not keep).
    pub moved: Moved,
    /// Products listed (valid or not).
    pub products: u64,
}

/// Reads the listing from its `first` page; with `since` (`(parameter, value)`), the pages
/// of products changed since then.
pub(super) async fn read(
    engine: &Engine,
    lister: &Lister,
    state: &mut RunState,
    writer: &mut BatchWriter,
    first: PreparedPage,
    since: Option<(String, String)>,
) -> Read {
    let settings = engine.settings();
    let said_total = first.total;
    if let Some(total) = said_total {
        state.total = total.min(settings.safe_max);
    }
    info!(total = ?said_total, "reading the listing page by page");
    let mut read = Read {
        complete: true,
        capped: false,
        moved: Moved::default(),
        products: 0,
    };
    let mut asked: HashSet<PageAt> = HashSet::new();
    let mut current = first;
    loop {
        // The first empty page ends the listing, whatever it says about a next one.
        let next = current.next.take().filter(|_| !current.products.is_empty());
        read.products += current.products.len() as u64;
        let next = match next {
            Some(at) if !asked.insert(at.clone()) => {
                read.complete = false;
                read.moved.note(
                    state,
                    format!(
                        "the listing pointed back to a page it already served ({}): a cycle; the listing was not read to its end",
                        at.describe()
                    ),
                );
                None
            }
            Some(_) if read.products >= settings.safe_max => {
                read.capped = true;
                state.error(
                    ErrorKind::SafeMax,
                    None,
                    None,
                    format!(
                        "the upstream lists more than SYNC_SAFE_MAX={} products; only the first {} were synced and nothing was archived",
                        settings.safe_max, read.products
                    ),
                );
                None
            }
            other => other,
        };
        // The next page downloads while this one is written.
        let pending = next.map(|at| {
            let (lister, since) = (lister.clone(), since.clone());
            let fetch = async move {
                let since = since.as_ref().map(|(p, v)| (p.as_str(), v.as_str()));
                let page = lister.page(&at, since).await;
                (at, page)
            };
            AbortOnDropHandle::new(tokio::spawn(fetch.in_current_span()))
        });
        take_products(state, writer, std::mem::take(&mut current.products)).await;
        let Some(pending) = pending else {
            break;
        };
        let cancel = state.control.cancel.clone();
        let outcome = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            outcome = pending => outcome,
        };
        match outcome {
            Ok((_, Ok(page))) => current = page,
            Ok((at, Err(e))) => {
                read.complete = false;
                state.error(
                    ErrorKind::Upstream,
                    None,
                    None,
                    format!("page {} failed: {}", at.describe(), error_chain(&e)),
                );
                break;
            }
            Err(e) => {
                state.fatal(ErrorKind::Upstream, format!("page fetch task failed: {e}"));
                break;
            }
        }
    }
    if let Some(total) = said_total.filter(|t| read.complete && *t != read.products) {
        read.moved.note(
            state,
            format!(
                "the listing served {} products where its first page said {total}",
                read.products
            ),
        );
    }
    read
}
