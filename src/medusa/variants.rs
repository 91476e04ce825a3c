//! The variants of updated products. A product update never carries variants (Medusa would
//! replace the whole list with it); a product whose variants differ from what Medusa last got
//! has its options and variants read from Medusa and brought to the catalog's:
//!
//! 1. When the option titles change, Medusa's variants are deleted first (Medusa wants a value
//!    of every option on every variant, and refuses to let go of an option a variant uses),
//!    then the options are replaced.
//! 2. Values the catalog's variants need are added to their options.
//! 3. One variants batch: `create` the new variants (with their prices), `update` the own
//!    fields of changed ones, `delete` the ones the catalog archived (and any Medusa variant
//!    that is not one of ours), by explicit id.
//! 4. A batch of its own with the full price list of each changed variant: a refused batch
//!    leaves the variants it updated without prices, so prices never share one.
//! 5. Values no variant uses any more are removed from their options.
//!
//! Variants are matched to Medusa's by the variant link first, then by their options (a
//! variant Medusa made whose answer was lost), so nothing is created twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::answers::{self, Answered, ProductList, VariantsAnswer};
use super::payload::variant::{
    self, NewValue, OptionAdd, OptionValues, OptionsBatch, VariantsBatch,
};
use super::push::{Action, Item, Outcome, refused};
use super::shape::Shape;
use super::{MedusaError, Sink};
use crate::store::{OwedProduct, Settled, VariantLink};

/// Products read at once before their variants change (their ids travel in the query).
const READ_CHUNK: usize = 50;

/// Most variants created or updated in one variants batch (Medusa takes bodies up to 2 MB).
const VARIANTS_PER_BATCH: usize = 200;

/// Whether Medusa's variants of `owed` may differ from the catalog's.
pub(super) fn due(owed: &OwedProduct) -> bool {
    !owed.retired.is_empty() || owed.variants.iter().any(|v| !v.in_sync())
}

impl Sink {
    /// Brings the variants of the products whose update Medusa took to the catalog's; an item
    /// whose variants could not be brought there ends as Medusa's refusal or as a failure to
    /// try again, its product link unchanged (its next push reads Medusa again).
    pub(super) async fn push_variants(
        &self,
        items: &[Item<'_>],
        sent: &mut [Result<Outcome, String>],
    ) {
        let due: Vec<usize> = (0..items.len())
            .filter(|&i| {
                matches!(items[i].action, Action::Update { .. })
                    && matches!(
                        &sent[i],
                        Ok(Outcome {
                            settled: Settled::Delivered(_),
                            ..
                        })
                    )
                    && due(items[i].owed)
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let ids: Vec<&str> = due
            .iter()
            .filter_map(|&i| match &items[i].action {
                Action::Update { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let mut held = match self.held(&ids).await {
            Ok(held) => held,
            Err(e) => {
                let why = format!("reading the product's variants: {e}");
                for i in due {
                    sent[i] = Err(why.clone());
                }
                return;
            }
        };
        for i in due {
            let item = &items[i];
            let Action::Update { id, .. } = &item.action else {
                continue;
            };
            let Some(product) = held.remove(id.as_str()) else {
                sent[i] = Ok(Outcome {
                    settled: Settled::LinkGone("Medusa no longer has the product".into()),
                    counted: None,
                });
                continue;
            };
            match self.reconcile(item, id, product).await {
                Ok(links) => {
                    if let Ok(Outcome {
                        settled: Settled::Delivered(link),
                        ..
                    }) = &mut sent[i]
                    {
                        link.variants = links;
                    }
                }
                Err(e) if e.is_refusal() && !e.is_not_found() => {
                    sent[i] = Ok(refused(format!("its variants: {e}")));
                }
                Err(e) => sent[i] = Err(format!("its variants: {e}")),
            }
        }
    }

    /// The options and variants of Medusa products `ids`, by id.
    async fn held(&self, ids: &[&str]) -> Result<HashMap<String, Answered>, MedusaError> {
        let mut held = HashMap::new();
        for chunk in ids.chunks(READ_CHUNK) {
            let limit = chunk.len().to_string();
            let mut query = vec![("fields", answers::HELD_FIELDS), ("limit", limit.as_str())];
            query.extend(chunk.iter().map(|id| ("id[]", *id)));
            let list: ProductList = self.inner.client.get("admin/products", &query).await?;
            held.extend(list.products.into_iter().map(|p| (p.id.clone(), p)));
        }
        Ok(held)
    }

    /// Brings Medusa product `id`, holding `held`, to the options and variants of `item`;
    /// the links of its variants afterwards.
    async fn reconcile(
        &self,
        item: &Item<'_>,
        id: &str,
        mut held: Answered,
    ) -> Result<Vec<VariantLink>, MedusaError> {
        let client = &self.inner.client;
        let shape = &item.raw.shape;
        let variants_path = format!("admin/products/{id}/variants/batch");
        let options_path = format!("admin/products/{id}/options/batch");
        let fields = [("fields", "id")];

        // 1. Other option titles: the variants go, then the options are replaced.
        let held_titles: BTreeSet<&str> = held.options.iter().map(|o| o.title.as_str()).collect();
        if held_titles != shape.titles() {
            if !held.variants.is_empty() {
                let batch = VariantsBatch {
                    delete: held.variants.iter().map(|v| v.id.as_str()).collect(),
                    ..VariantsBatch::default()
                };
                let _: serde_json::Value = client.post(&variants_path, &fields, &batch).await?;
            }
            let batch = OptionsBatch {
                remove: held
                    .options
                    .iter()
                    .filter(|o| !shape.titles().contains(o.title.as_str()))
                    .map(|o| o.id.as_str())
                    .collect(),
                add: shape
                    .options
                    .iter()
                    .filter(|(title, _)| !held_titles.contains(title.as_str()))
                    .map(|(title, values)| OptionAdd {
                        title,
                        values,
                        is_exclusive: true,
                    })
                    .collect(),
                update: Vec::new(),
            };
            let _: serde_json::Value = client.post(&options_path, &fields, &batch).await?;
            held.variants.clear();
            held.options
                .retain(|o| shape.titles().contains(o.title.as_str()));
        }

        // 2. Values the variants need.
        self.post_values(&options_path, missing_values(&held, shape))
            .await?;

        // 3. Pair ours with Medusa's: by link, then by options.
        let owed = item.owed;
        let maps: HashMap<&str, BTreeMap<String, String>> = held
            .variants
            .iter()
            .map(|v| (v.id.as_str(), v.option_map()))
            .collect();
        let mut paired: Vec<Option<(&str, bool)>> = owed
            .variants
            .iter()
            .map(|v| {
                let (id, _) = maps.get_key_value(v.medusa_id.as_deref()?)?;
                Some((*id, false))
            })
            .collect();
        let mut taken: BTreeSet<&str> = paired.iter().flatten().map(|(id, _)| *id).collect();
        for (i, pair) in paired.iter_mut().enumerate() {
            if pair.is_some() {
                continue;
            }
            let wanted = &shape.variants[i].options;
            if let Some((id, _)) = maps
                .iter()
                .find(|(id, map)| !taken.contains(*id) && *map == wanted)
            {
                taken.insert(id);
                *pair = Some((id, true));
            }
        }
        let mut deletes: Vec<&str> = maps
            .keys()
            .copied()
            .filter(|id| !taken.contains(id))
            .collect();
        let (mut creates, mut updates, mut prices) = (Vec::new(), Vec::new(), Vec::new());
        for (i, pair) in paired.iter().enumerate() {
            match pair {
                None => creates.push(variant::new_variant(owed, &item.raw, i)),
                Some((id, adopted)) => {
                    let v = &owed.variants[i];
                    if *adopted || !v.in_sync() || maps[id] != shape.variants[i].options {
                        updates.push(variant::variant_update(owed, &item.raw, i, id));
                        prices.push(variant::price_update(&item.raw, i, id));
                    }
                }
            }
        }
        // The deletes go with the first batch, so a new variant may take a deleted one's
        // option values.
        let mut created: HashMap<BTreeMap<String, String>, String> = HashMap::new();
        let (mut creates, mut updates) = (creates.into_iter(), updates.into_iter());
        loop {
            let part = VariantsBatch {
                delete: std::mem::take(&mut deletes),
                create: creates.by_ref().take(VARIANTS_PER_BATCH).collect(),
                update: updates.by_ref().take(VARIANTS_PER_BATCH).collect(),
            };
            if part.is_empty() {
                break;
            }
            let answer: VariantsAnswer = client
                .post(
                    &variants_path,
                    &[("fields", answers::VARIANT_FIELDS)],
                    &part,
                )
                .await?;
            created.extend(
                answer
                    .created
                    .iter()
                    .map(|v| (v.option_map(), v.id.clone())),
            );
        }

        // 4. Prices, in batches of their own.
        let mut prices = prices.into_iter();
        loop {
            let part = VariantsBatch {
                update: prices.by_ref().take(VARIANTS_PER_BATCH).collect(),
                ..VariantsBatch::default()
            };
            if part.is_empty() {
                break;
            }
            let _: serde_json::Value = client.post(&variants_path, &fields, &part).await?;
        }

        // 5. Values no variant uses.
        self.post_values(&options_path, unused_values(&held, shape))
            .await?;

        owed.variants
            .iter()
            .zip(&paired)
            .zip(&shape.variants)
            .map(|((v, pair), wanted)| {
                let medusa_variant_id = match pair {
                    Some((id, _)) => (*id).to_owned(),
                    None => created.get(&wanted.options).cloned().ok_or_else(|| {
                        MedusaError::Decode(format!(
                            "Medusa's answer lacks the new variant {:?}",
                            wanted.options
                        ))
                    })?,
                };
                Ok(VariantLink {
                    variant_id: v.id,
                    medusa_variant_id,
                    pushed_hash: v.content_hash.clone(),
                })
            })
            .collect()
    }

    /// Adds or removes option values, when there are any to.
    async fn post_values(
        &self,
        options_path: &str,
        update: Vec<OptionValues<'_>>,
    ) -> Result<(), MedusaError> {
        if update.is_empty() {
            return Ok(());
        }
        let batch = OptionsBatch {
            update,
            ..OptionsBatch::default()
        };
        let _: serde_json::Value = self
            .inner
            .client
            .post(options_path, &[("fields", "id")], &batch)
            .await?;
        Ok(())
    }
}

/// The values of Medusa's options that the catalog's variants use and the options lack.
fn missing_values<'a>(held: &'a Answered, shape: &'a Shape) -> Vec<OptionValues<'a>> {
    held.options
        .iter()
        .filter_map(|o| {
            let (_, wanted) = shape.options.iter().find(|(t, _)| *t == o.title)?;
            let have: BTreeSet<&str> = o.values.iter().map(|v| v.value.as_str()).collect();
            let add: Vec<NewValue> = wanted
                .iter()
                .filter(|v| !have.contains(v.as_str()))
                .map(|value| NewValue { value })
                .collect();
            (!add.is_empty()).then_some(OptionValues {
                product_option_id: &o.id,
                add,
                remove: Vec::new(),
            })
        })
        .collect()
}

/// The values of Medusa's options that no variant of the catalog's uses.
fn unused_values<'a>(held: &'a Answered, shape: &'a Shape) -> Vec<OptionValues<'a>> {
    held.options
        .iter()
        .filter_map(|o| {
            let (_, wanted) = shape.options.iter().find(|(t, _)| *t == o.title)?;
            let remove: Vec<&str> = o
                .values
                .iter()
                .filter(|v| !wanted.contains(&v.value))
                .map(|v| v.id.as_str())
                .collect();
            (!remove.is_empty()).then_some(OptionValues {
                product_option_id: &o.id,
                add: Vec::new(),
                remove,
            })
        })
        .collect()
}
