//! The products batch: `POST /admin/products/batch` with the chunk's creates, updates and
//! deletes; when Medusa refuses it, the products it names (or halves of the chunk) are sent
//! again without the one it refuses.

use std::collections::{BTreeMap, HashMap};

use super::answers::{self, Answered, AnsweredVariant, BatchAnswer};
use super::payload::{self, Batch, Refs};
use super::push::{Action, Counted, Item, Outcome, nothing_owed, refused};
use super::terms::Terms;
use super::{MedusaError, Sink};
use crate::store::{Link, Settled, VariantLink};

/// The outcomes of a batch on its way: one per item, `Err` for an item not delivered for a
/// reason that may pass.
/// The largest batch body sent: Medusa refuses bodies over 2 MB.
pub(super) const MAX_BODY: usize = 1_500_000;

type Sending<'a> =
    std::pin::Pin<Box<dyn Future<Output = Vec<Result<Outcome, String>>> + Send + 'a>>;

impl Sink {
    /// Sends the items in one batch; when Medusa refuses it, sends each half on its own, down
    /// to the product it refuses. One outcome per item, in order: `Err` for an item that was
    /// not delivered for a reason that may pass (Medusa unreachable).
    pub(super) fn send_isolating<'a>(
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
                add(&mut batch, item, terms, sales_channel);
            }
            // Medusa takes batch bodies up to 2 MB: products with many variants go in halves.
            if items.len() > 1 && serde_json::to_vec(&batch).map_or(0, |b| b.len()) > MAX_BODY {
                let right = items.split_off(items.len() / 2);
                let mut done = self.send_isolating(items, terms, sales_channel).await;
                done.extend(self.send_isolating(right, terms, sales_channel).await);
                return done;
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

/// Adds an item to the batch.
fn add<'a>(batch: &mut Batch<'a>, item: &'a Item<'a>, terms: &'a Terms, sales_channel: &'a str) {
    let owed = item.owed;
    let refs = Refs {
        categories: owed
            .category_ids
            .iter()
            .filter_map(|id| terms.categories.get(id).map(String::as_str))
            .collect(),
        tags: owed
            .product
            .tags
            .iter()
            .filter_map(|t| terms.tags.get(t).map(String::as_str))
            .collect(),
    };
    match &item.action {
        Action::Create => {
            batch
                .create
                .push(payload::new_product(owed, &item.raw, &refs, sales_channel))
        }
        Action::Update { id, status } => batch
            .update
            .push(payload::product_update(owed, &item.raw, id, status, &refs)),
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
        named.iter().any(|n| {
            *n == item.raw.handle
                || item
                    .owed
                    .product
                    .variants
                    .iter()
                    .any(|v| v.sku.as_deref() == Some(*n))
        })
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

/// Matches Medusa's answer to the items: created ones by external id (and their variants by
/// their options), updated and deleted ones by Medusa id.
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
            let owed = item.owed;
            let link = |id: String, status: &'static str, variants: Vec<VariantLink>| Link {
                product_id: owed.id,
                medusa_product_id: id,
                medusa_handle: item.raw.handle.clone(),
                pushed_hash: owed.content_hash.clone(),
                pushed_status: status,
                variants,
            };
            match &item.action {
                Action::Create => {
                    let answered = created
                        .remove(&owed.product.external_id)
                        .ok_or_else(|| "Medusa's answer lacks the created product".to_owned())?;
                    let variants = created_variants(item, &answered.variants)?;
                    Ok(delivered(
                        link(answered.id, "published", variants),
                        Counted::Created,
                    ))
                }
                Action::Update { id, status } => {
                    let answered = updated
                        .remove(id)
                        .ok_or_else(|| "Medusa's answer lacks the updated product".to_owned())?;
                    let counted = if *status == "draft" {
                        Counted::Archived
                    } else {
                        Counted::Updated
                    };
                    // The variant links as they are: `push_variants` replaces them when the
                    // variants change.
                    let variants = owed
                        .variants
                        .iter()
                        .filter_map(|v| {
                            Some(VariantLink {
                                variant_id: v.id,
                                medusa_variant_id: v.medusa_id.clone()?,
                                pushed_hash: v.pushed_hash.clone()?,
                            })
                        })
                        .collect();
                    Ok(delivered(link(answered.id, status, variants), counted))
                }
                Action::Delete { id } => {
                    if deleted.contains(id) {
                        Ok(delivered(
                            link(id.clone(), "deleted", Vec::new()),
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

/// The links of a created product's variants: Medusa answers them in no particular order, each
/// with its options, which tell them apart.
fn created_variants(
    item: &Item<'_>,
    answered: &[AnsweredVariant],
) -> Result<Vec<VariantLink>, String> {
    let by_options: HashMap<BTreeMap<String, String>, &str> = answered
        .iter()
        .map(|v| (v.option_map(), v.id.as_str()))
        .collect();
    item.owed
        .variants
        .iter()
        .zip(&item.raw.shape.variants)
        .map(|(v, shape)| {
            let id = by_options
                .get(&shape.options)
                .ok_or_else(|| format!("Medusa's answer lacks the variant {:?}", shape.options))?;
            Ok(VariantLink {
                variant_id: v.id,
                medusa_variant_id: (*id).to_owned(),
                pushed_hash: v.content_hash.clone(),
            })
        })
        .collect()
}

pub(super) fn delivered(link: Link, counted: Counted) -> Outcome {
    Outcome {
        settled: Settled::Delivered(link),
        counted: Some(counted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
