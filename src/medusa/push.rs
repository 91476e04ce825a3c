//! One push: claim a chunk of owed products, find what Medusa already has of the ones without
//! a link, send one batch (halved around a product Medusa refuses), and book the outcome.

use std::collections::HashMap;

use tracing::{Instrument, debug, info_span};

use super::answers::{self, Answered, BatchAnswer, ProductList};
use super::payload::{self, Batch, Refs};
use super::terms::Terms;
use super::{Drained, MedusaError, Sink, SinkError};
use crate::settings::MedusaArchive;
use crate::store::{Claimed, Link, OwedProduct, Settled};
use crate::telemetry::error_chain;

/// What the catalog wants Medusa to do with one product.
#[derive(Clone, Debug)]
enum Action {
    /// A new Medusa product.
    Create,
    /// Bring Medusa product `id` (variant `variant`) to the catalog's content at `status`.
    Update {
        id: String,
        variant: Option<String>,
        status: &'static str,
    },
    /// Soft-delete Medusa product `id`.
    Delete { id: String },
    /// An archived product without a link: Medusa may still have it (its answer was lost), so
    /// it is looked up and archived there if found; otherwise nothing is owed.
    ArchiveIfFound,
}

/// A claimed product on its way to Medusa.
struct Item<'a> {
    claimed: Claimed,
    product: &'a OwedProduct,
    action: Action,
    raw: payload::Raw,
}

/// The outcomes of a batch on its way: one per item, `Err` for an item not delivered for a
/// reason that may pass.
type Sending<'a> =
    std::pin::Pin<Box<dyn Future<Output = Vec<Result<Outcome, String>>> + Send + 'a>>;

/// How one product's push ended, and what it counts as.
struct Outcome {
    settled: Settled,
    counted: Option<Counted>,
}

#[derive(Clone, Copy)]
enum Counted {
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

        let mut outcomes: Vec<(Claimed, Outcome)> = Vec::new();
        let mut items = Vec::new();
        for c in claimed {
            let Some(product) = by_id.get(&c.product_id) else {
                outcomes.push((*c, nothing_owed()));
                continue;
            };
            let action = action(product, archive);
            match payload::Raw::of(product) {
                Ok(raw) => items.push(Item {
                    claimed: *c,
                    product,
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
            .map(|i| i.product)
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
        Ok(tally(&outcomes, &by_id, failure))
    }

    /// Medusa products with the external id of products without a link (a crash between
    /// Medusa's answer and our commit, a store filled by hand): updated instead of created
    /// twice, and archived when the catalog archived them.
    async fn adopt(&self, items: &mut [Item<'_>], archive: MedusaArchive) -> Result<(), SinkError> {
        let creating: Vec<&str> = items
            .iter()
            .filter(|i| matches!(i.action, Action::Create | Action::ArchiveIfFound))
            .map(|i| i.product.external_id.as_str())
            .collect();
        if creating.is_empty() {
            return Ok(());
        }
        let mut found: HashMap<String, Answered> = HashMap::new();
        for chunk in creating.chunks(50) {
            let limit = (chunk.len() * 2).to_string();
            let mut query = vec![
                ("fields", "id,external_id,variants.id"),
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
            let Some(existing) = found.remove(&item.product.external_id) else {
                continue;
            };
            debug!(product_id = %item.product.external_id, medusa_id = %existing.id, "Medusa already has the product; updating it");
            let variant = existing.variants.first().map(|v| v.id.clone());
            item.action = match (&item.action, archive) {
                (Action::ArchiveIfFound, MedusaArchive::Delete) => {
                    Action::Delete { id: existing.id }
                }
                (Action::ArchiveIfFound, MedusaArchive::Draft) => Action::Update {
                    id: existing.id,
                    variant,
                    status: "draft",
                },
                _ => Action::Update {
                    id: existing.id,
                    variant,
                    status: "published",
                },
            };
        }
        Ok(())
    }

    /// Sends the items in one batch; when Medusa refuses it, sends each half on its own, down
    /// to the product it refuses. One outcome per item, in order: `Err` for an item that was
    /// not delivered for a reason that may pass (Medusa unreachable).
    fn send_isolating<'a>(
        &'a self,
        items: Vec<&'a Item<'a>>,
        terms: &'a Terms,
        sales_channel: &'a str,
    ) -> Sending<'a> {
        Box::pin(async move {
            let mut items = items;
            if items.is_empty() {
                return Vec::new();
            }
            let mut batch = Batch::default();
            for item in &items {
                add(&mut batch, item, terms, self, sales_channel);
            }
            let answer: Result<BatchAnswer, MedusaError> = self
                .inner
                .client
                .post(
                    "admin/products/batch",
                    &[("fields", answers::BATCH_FIELDS)],
                    &batch,
                )
                .await;
            match answer {
                Ok(answer) => outcomes(&items, answer),
                Err(e) if e.is_refusal() && items.len() > 1 => {
                    // Medusa's message usually names what it refused (a handle, a sku, the ids
                    // of products gone): those products end at once and the rest goes again.
                    // Otherwise, halve.
                    let named = culprits(&e, &items);
                    if !named.is_empty() {
                        let rest: Vec<&Item> = items
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !named.contains_key(i))
                            .map(|(_, item)| *item)
                            .collect();
                        let mut sent = self
                            .send_isolating(rest, terms, sales_channel)
                            .await
                            .into_iter();
                        let mut named = named;
                        return (0..items.len())
                            .map(|i| match named.remove(&i) {
                                Some(outcome) => Ok(outcome),
                                None => sent.next().unwrap_or_else(|| Err("no outcome".into())),
                            })
                            .collect();
                    }
                    let right = items.split_off(items.len() / 2);
                    let mut done = self.send_isolating(items, terms, sales_channel).await;
                    done.extend(self.send_isolating(right, terms, sales_channel).await);
                    done
                }
                Err(e) if e.is_not_found() && matches!(items[0].action, Action::Update { .. }) => {
                    vec![Ok(Outcome {
                        settled: Settled::LinkGone(e.to_string()),
                        counted: None,
                    })]
                }
                Err(e) if e.is_refusal() => vec![Ok(refused(e.to_string()))],
                Err(e) => {
                    let why = e.to_string();
                    items.iter().map(|_| Err(why.clone())).collect()
                }
            }
        })
    }
}

/// What the catalog wants of a product in Medusa.
fn action(product: &OwedProduct, archive: MedusaArchive) -> Action {
    let linked = match (&product.medusa_product_id, product.pushed_status.as_deref()) {
        (Some(id), Some(status)) if status != "deleted" => Some(id.clone()),
        _ => None,
    };
    match (linked, product.archived, archive) {
        (None, false, _) => Action::Create,
        (None, true, _) => Action::ArchiveIfFound,
        (Some(id), false, _) => Action::Update {
            id,
            variant: product.medusa_variant_id.clone(),
            status: "published",
        },
        (Some(id), true, MedusaArchive::Draft) => Action::Update {
            id,
            variant: product.medusa_variant_id.clone(),
            status: "draft",
        },
        (Some(id), true, MedusaArchive::Delete) => Action::Delete { id },
    }
}

/// Adds an item to the batch.
fn add<'a>(
    batch: &mut Batch<'a>,
    item: &'a Item<'a>,
    terms: &'a Terms,
    sink: &'a Sink,
    sales_channel: &'a str,
) {
    let product = item.product;
    let refs = Refs {
        category: product
            .category_id
            .and_then(|id| terms.categories.get(&id))
            .map(String::as_str),
        tags: product
            .tags
            .iter()
            .filter_map(|t| terms.tags.get(t).map(String::as_str))
            .collect(),
        currency: &sink.inner.settings.currency,
    };
    match &item.action {
        Action::Create => batch.create.push(payload::new_product(
            product,
            &item.raw,
            &refs,
            sales_channel,
        )),
        Action::Update {
            id,
            variant,
            status,
        } => batch.update.push(payload::product_update(
            product,
            &item.raw,
            (id, variant.as_deref()),
            status,
            &refs,
        )),
        Action::Delete { id } => batch.delete.push(id),
        // Resolved before anything is sent: found and archived, or nothing owed.
        Action::ArchiveIfFound => {}
    }
}

/// The items Medusa's refusal names, with how each ends: the updates of products Medusa says
/// are gone (`Unable to update the products with ids: …`), or the one item whose handle or sku
/// it quotes.
fn culprits(e: &MedusaError, items: &[&Item<'_>]) -> HashMap<usize, Outcome> {
    let MedusaError::Status {
        message: Some(message),
        ..
    } = e
    else {
        return HashMap::new();
    };
    if e.is_not_found() {
        let ids: Vec<&str> = message
            .split_once("ids: ")
            .map(|(_, ids)| ids.split([',', ' ']).filter(|id| !id.is_empty()).collect())
            .unwrap_or_default();
        return items
            .iter()
            .enumerate()
            .filter(|(_, item)| matches!(&item.action, Action::Update { id, .. } if ids.contains(&id.as_str())))
            .map(|(i, _)| {
                let outcome = Outcome {
                    settled: Settled::LinkGone(e.to_string()),
                    counted: None,
                };
                (i, outcome)
            })
            .collect();
    }
    let named: Vec<&str> = quoted_or_listed(message);
    let mut matching = items.iter().enumerate().filter(|(_, item)| {
        named
            .iter()
            .any(|n| *n == item.raw.handle || item.product.sku.as_deref() == Some(*n))
    });
    match (matching.next(), matching.next()) {
        (Some((index, _)), None) => HashMap::from([(index, refused(e.to_string()))]),
        _ => HashMap::new(),
    }
}

/// The values a Medusa message names: `'…'` quoted ones, and those after `handle: ` or `sku: `
/// up to a comma (`Product variant with sku: S1, already exists.`).
fn quoted_or_listed(message: &str) -> Vec<&str> {
    let mut named: Vec<&str> = message.split('\'').skip(1).step_by(2).collect();
    for key in ["handle: ", "sku: "] {
        for (at, _) in message.match_indices(key) {
            let rest = &message[at + key.len()..];
            named.push(rest.split([',', ' ']).next().unwrap_or(rest));
        }
    }
    named
}

/// Matches Medusa's answer to the items: created ones by external id, updated and deleted ones
/// by Medusa id.
fn outcomes(items: &[&Item<'_>], answer: BatchAnswer) -> Vec<Result<Outcome, String>> {
    let mut created: HashMap<String, Answered> = answer
        .created
        .into_iter()
        .filter_map(|p| Some((p.external_id.clone()?, p)))
        .collect();
    let mut updated: HashMap<String, Answered> = answer
        .updated
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let deleted: Vec<String> = answer.deleted.map(|d| d.ids).unwrap_or_default();
    items
        .iter()
        .map(|item| {
            let hash = item.product.content_hash.clone();
            let link = |answered: Answered, status: &'static str| Link {
                product_id: item.product.id,
                medusa_variant_id: answered.variants.first().map(|v| v.id.clone()),
                medusa_product_id: answered.id,
                medusa_handle: item.raw.handle.clone(),
                pushed_hash: hash.clone(),
                pushed_status: status,
            };
            match &item.action {
                Action::Create => created
                    .remove(&item.product.external_id)
                    .map(|a| delivered(link(a, "published"), Counted::Created))
                    .ok_or_else(|| "Medusa's answer lacks the created product".to_owned()),
                Action::Update { id, status, .. } => updated
                    .remove(id)
                    .map(|a| {
                        let counted = if *status == "draft" {
                            Counted::Archived
                        } else {
                            Counted::Updated
                        };
                        delivered(link(a, status), counted)
                    })
                    .ok_or_else(|| "Medusa's answer lacks the updated product".to_owned()),
                Action::Delete { id } => {
                    if deleted.contains(id) {
                        Ok(delivered(
                            Link {
                                product_id: item.product.id,
                                medusa_product_id: id.clone(),
                                medusa_variant_id: None,
                                medusa_handle: item.raw.handle.clone(),
                                pushed_hash: hash,
                                pushed_status: "deleted",
                            },
                            Counted::Archived,
                        ))
                    } else {
                        Err("Medusa's answer lacks the deleted product".to_owned())
                    }
                }
                Action::ArchiveIfFound => Ok(nothing_owed()),
            }
        })
        .collect()
}

fn is_refused(sent: &Result<Outcome, String>) -> bool {
    matches!(
        sent,
        Ok(Outcome {
            settled: Settled::Refused(_),
            ..
        })
    )
}

fn delivered(link: Link, counted: Counted) -> Outcome {
    Outcome {
        settled: Settled::Delivered(link),
        counted: Some(counted),
    }
}

fn nothing_owed() -> Outcome {
    Outcome {
        settled: Settled::NothingOwed,
        counted: None,
    }
}

fn refused(why: String) -> Outcome {
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
            let external_id = products
                .get(&claimed.product_id)
                .map_or_else(|| claimed.product_id.to_string(), |p| p.external_id.clone());
            drained.refused.push((external_id, why.clone()));
        }
    }
    drained
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owed(link: Option<(&str, &str)>, archived: bool) -> OwedProduct {
        OwedProduct {
            archived,
            medusa_product_id: link.map(|(id, _)| id.to_owned()),
            medusa_variant_id: link.map(|_| "variant_1".to_owned()),
            pushed_status: link.map(|(_, status)| status.to_owned()),
            ..payload::owed_product()
        }
    }

    #[test]
    fn each_catalog_state_asks_medusa_for_one_thing() {
        use MedusaArchive::{Delete, Draft};
        let show = |p: &OwedProduct, archive| match action(p, archive) {
            Action::Create => "create".to_owned(),
            Action::Update { id, status, .. } => format!("update {id} {status}"),
            Action::Delete { id } => format!("delete {id}"),
            Action::ArchiveIfFound => "archive if found".to_owned(),
        };
        let linked = Some(("prod_1", "published"));
        let drafted = Some(("prod_1", "draft"));
        let deleted = Some(("prod_1", "deleted"));
        assert_eq!(show(&owed(None, false), Draft), "create");
        assert_eq!(show(&owed(None, true), Draft), "archive if found");
        assert_eq!(show(&owed(linked, false), Draft), "update prod_1 published");
        assert_eq!(
            show(&owed(drafted, false), Draft),
            "update prod_1 published"
        );
        assert_eq!(show(&owed(linked, true), Draft), "update prod_1 draft");
        assert_eq!(show(&owed(linked, true), Delete), "delete prod_1");
        // Medusa deleted it: a restored product is created anew, an archived one is left alone
        // unless Medusa still lists it.
        assert_eq!(show(&owed(deleted, false), Delete), "create");
        assert_eq!(show(&owed(deleted, true), Delete), "archive if found");
    }

    #[test]
    fn medusa_messages_name_the_refused_value() {
        assert_eq!(
            quoted_or_listed("Product variant with sku: SKU-1, already exists."),
            vec!["SKU-1"]
        );
        assert_eq!(
            quoted_or_listed("Invalid product handle 'a-b'. It must contain URL safe characters"),
            vec!["a-b"]
        );
        assert_eq!(
            quoted_or_listed("Product with handle: lamp, already exists."),
            vec!["lamp"]
        );
        assert!(quoted_or_listed("Something went wrong").is_empty());
    }
}
