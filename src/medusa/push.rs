//! One push: claim a chunk of owed products, find what Medusa already has of the ones without
//! a link, send one products batch (halved around a product Medusa refuses, `batch.rs`), bring
//! the variants of updated products to the catalog's (`variants.rs`), and book the outcome.

use std::collections::HashMap;

use tracing::{Instrument, debug, info_span};

use super::answers::{Answered, ProductList};
use super::payload::{Raw, Skipped};
use super::{Drained, Sink, SinkError};
use crate::settings::MedusaArchive;
use crate::store::{Claimed, OwedProduct, Settled};
use crate::telemetry::error_chain;

/// What the catalog wants Medusa to do with one product.
#[derive(Clone, Debug)]
pub(super) enum Action {
    /// A new Medusa product, with its options and variants.
    Create,
    /// Bring Medusa product `id` to the catalog's content at `status`.
    Update { id: String, status: &'static str },
    /// Soft-delete Medusa product `id`.
    Delete { id: String },
    /// An archived product without a link: Medusa may still have it (its answer was lost), so
    /// it is looked up and archived there if found; otherwise nothing is owed.
    ArchiveIfFound,
}

/// A claimed product on its way to Medusa.
pub(super) struct Item<'a> {
    pub claimed: Claimed,
    pub owed: &'a OwedProduct,
    pub action: Action,
    pub raw: Raw,
}

/// How one product's push ended, and what it counts as.
pub(super) struct Outcome {
    pub settled: Settled,
    pub counted: Option<Counted>,
}

#[derive(Clone, Copy)]
pub(super) enum Counted {
    Created,
    Updated,
    Archived,
}

impl Sink {
    /// Pushes one chunk of owed products. `None`: nothing was owed.
    pub(super) async fn push_chunk(&self) -> Result<Option<Drained>, SinkError> {
        let store = &self.inner.store;
        let claimed = store
            .claim_medusa(self.inner.settings.batch_size, super::LEASE)
            .await?;
        if claimed.is_empty() {
            return Ok(None);
        }
        let span = info_span!(
            "medusa.push",
            products = claimed.len(),
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        // The claims are renewed while the push goes on (Medusa can take minutes through its
        // retries); they lapse within a lease if this process dies.
        let renewal = tokio::spawn({
            let store = store.clone();
            let ids: Vec<i64> = claimed.iter().map(|c| c.product_id).collect();
            async move {
                loop {
                    tokio::time::sleep(super::LEASE_RENEWAL).await;
                    if let Err(e) = store.extend_medusa_claims(&ids, super::LEASE).await {
                        tracing::warn!(error = %error_chain(&e), "could not renew the claim on products owed to Medusa");
                    }
                }
            }
        });
        let result = self.push_claimed(&claimed).instrument(span.clone()).await;
        renewal.abort();
        crate::telemetry::record_result(&span, &result);
        match result {
            Ok(drained) => Ok(Some(drained)),
            Err(e) => {
                // Let go at once, so the next drain need not wait for the lease to pass.
                let why = error_chain(&e);
                store.release_medusa(&claimed, &why).await?;
                Ok(Some(Drained {
                    failure: Some(why),
                    ..Drained::default()
                }))
            }
        }
    }

    async fn push_claimed(&self, claimed: &[Claimed]) -> Result<Drained, SinkError> {
        let ids: Vec<i64> = claimed.iter().map(|c| c.product_id).collect();
        let products = self.inner.store.load_medusa_owed(&ids).await?;
        let by_id: HashMap<i64, &OwedProduct> = products.iter().map(|p| (p.id, p)).collect();
        let context = self.context().await?;
        let archive = self.inner.settings.archive;

        let mut skipped = Skipped::new();
        let mut outcomes: Vec<(Claimed, Outcome)> = Vec::new();
        let mut items = Vec::new();
        for c in claimed {
            let Some(owed) = by_id.get(&c.product_id) else {
                outcomes.push((*c, nothing_owed()));
                continue;
            };
            let action = action(owed, archive);
            match Raw::of(owed, &context.currencies, &mut skipped) {
                Ok(raw) => items.push(Item {
                    claimed: *c,
                    owed,
                    action,
                    raw,
                }),
                Err(e) => outcomes.push((*c, refused(e.to_string()))),
            }
        }
        self.adopt(&mut items, archive).await?;
        let (unfound, items): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|i| matches!(i.action, Action::ArchiveIfFound));
        outcomes.extend(unfound.iter().map(|i| (i.claimed, nothing_owed())));
        let wanted: Vec<&OwedProduct> = items
            .iter()
            .filter(|i| !matches!(i.action, Action::Delete { .. }))
            .map(|i| i.owed)
            .collect();
        let mut terms = self.terms(&wanted).await?;
        let mut sent = self
            .send_isolating(items.iter().collect(), &terms, &context.sales_channel)
            .await;
        // A category or tag deleted in Medusa makes Medusa refuse every product that names it:
        // its id is forgotten, the term found or created again, and the refused products sent
        // once more.
        if sent.iter().any(is_refused) && self.forget_stale_terms(&terms).await? > 0 {
            terms = self.terms(&wanted).await?;
            let again: Vec<usize> = (0..sent.len()).filter(|i| is_refused(&sent[*i])).collect();
            let resent = self
                .send_isolating(
                    again.iter().map(|i| &items[*i]).collect(),
                    &terms,
                    &context.sales_channel,
                )
                .await;
            for (i, outcome) in again.into_iter().zip(resent) {
                sent[i] = outcome;
            }
        }
        self.push_variants(&items, &mut sent).await;
        let mut failure = None;
        for (item, result) in items.iter().zip(sent) {
            let outcome = match result {
                Ok(outcome) => outcome,
                Err(e) => {
                    failure = Some(e.clone());
                    Outcome {
                        settled: Settled::Failed(e),
                        counted: None,
                    }
                }
            };
            outcomes.push((item.claimed, outcome));
        }
        let settled: Vec<(Claimed, Settled)> = outcomes
            .iter()
            .map(|(c, o)| (*c, o.settled.clone()))
            .collect();
        self.inner.store.settle_medusa(&settled).await?;
        let mut drained = tally(&outcomes, &by_id, failure);
        drained.skipped = skipped;
        Ok(drained)
    }

    /// Medusa products with the external id of products without a link (a crash between
    /// Medusa's answer and our commit, a store filled by hand): updated instead of created
    /// twice, and archived when the catalog archived them. Their variants are matched to ours
    /// by their options when the update brings them to the catalog's.
    async fn adopt(&self, items: &mut [Item<'_>], archive: MedusaArchive) -> Result<(), SinkError> {
        let creating: Vec<&str> = items
            .iter()
            .filter(|i| matches!(i.action, Action::Create | Action::ArchiveIfFound))
            .map(|i| i.owed.product.external_id.as_str())
            .collect();
        if creating.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<String, Answered> = HashMap::new();
        for chunk in creating.chunks(50) {
            let limit = (chunk.len() * 2).to_string();
            let mut query = vec![
                ("fields", "id,external_id"),
                ("limit", limit.as_str()),
                ("order", "created_at"),
            ];
            query.extend(chunk.iter().map(|id| ("external_id[]", *id)));
            let list: ProductList = self.inner.client.get("admin/products", &query).await?;
            for product in list.products {
                if let Some(external_id) = product.external_id.clone() {
                    // The oldest wins: it is the one a storefront has known longest.
                    found.entry(external_id).or_insert(product);
                }
            }
        }
        for item in items.iter_mut() {
            if !matches!(item.action, Action::Create | Action::ArchiveIfFound) {
                continue;
            }
            let Some(existing) = found.remove(&item.owed.product.external_id) else {
                continue;
            };
            debug!(product_id = %item.owed.product.external_id, medusa_id = %existing.id, "Medusa already has the product; updating it");
            item.action = match (&item.action, archive) {
                (Action::ArchiveIfFound, MedusaArchive::Delete) => {
                    Action::Delete { id: existing.id }
                }
                (Action::ArchiveIfFound, MedusaArchive::Draft) => Action::Update {
                    id: existing.id,
                    status: "draft",
                },
                _ => Action::Update {
                    id: existing.id,
                    status: "published",
                },
            };
        }
        Ok(())
    }
}

/// What the catalog wants of a product in Medusa.
pub(super) fn action(owed: &OwedProduct, archive: MedusaArchive) -> Action {
    let linked = owed
        .link
        .as_ref()
        .filter(|l| l.pushed_status != "deleted")
        .map(|l| l.medusa_product_id.clone());
    match (linked, owed.archived, archive) {
        (None, false, _) => Action::Create,
        (None, true, _) => Action::ArchiveIfFound,
        (Some(id), false, _) => Action::Update {
            id,
            status: "published",
        },
        (Some(id), true, MedusaArchive::Draft) => Action::Update {
            id,
            status: "draft",
        },
        (Some(id), true, MedusaArchive::Delete) => Action::Delete { id },
    }
}

pub(super) fn is_refused(sent: &Result<Outcome, String>) -> bool {
    matches!(
        sent,
        Ok(Outcome {
            settled: Settled::Refused(_),
            ..
        })
    )
}

pub(super) fn nothing_owed() -> Outcome {
    Outcome {
        settled: Settled::NothingOwed,
        counted: None,
    }
}

pub(super) fn refused(why: String) -> Outcome {
    Outcome {
        settled: Settled::Refused(why),
        counted: None,
    }
}

/// Counts a chunk's outcomes.
fn tally(
    outcomes: &[(Claimed, Outcome)],
    products: &HashMap<i64, &OwedProduct>,
    failure: Option<String>,
) -> Drained {
    let mut drained = Drained {
        failure,
        ..Drained::default()
    };
    for (claimed, outcome) in outcomes {
        match outcome.counted {
            Some(Counted::Created) => drained.counts.created += 1,
            Some(Counted::Updated) => drained.counts.updated += 1,
            Some(Counted::Archived) => drained.counts.archived += 1,
            None => {}
        }
        if let Settled::Refused(why) = &outcome.settled {
            drained.counts.failed += 1;
            let external_id = products.get(&claimed.product_id).map_or_else(
                || claimed.product_id.to_string(),
                |p| p.product.external_id.clone(),
            );
            drained.refused.push((external_id, why.clone()));
        }
    }
    drained
}

#[cfg(test)]
mod tests;
