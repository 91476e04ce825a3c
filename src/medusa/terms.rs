//! Categories and tags: Medusa links products to them by id, so each is created in Medusa once
//! (found by its handle or value first) and its id kept in our database. The kept ids heal by
//! themselves: when Medusa refuses products, the ids they used are checked, and those of
//! categories or tags deleted in Medusa are forgotten, to be found or created again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tracing::warn;

use super::answers::{Categories, CreatedCategory, CreatedTag, IdList, Tags};
use super::payload::{NewCategory, NewTag};
use super::{Sink, SinkError};
use crate::store::OwedProduct;

/// Most values asked for in one lookup (they travel in the query string).
const LOOKUP_CHUNK: usize = 50;

/// The Medusa ids of the categories and tags of a chunk of products.
#[derive(Debug, Default)]
pub struct Terms {
    /// By our category id.
    pub categories: HashMap<i64, String>,
    /// By tag value.
    pub tags: HashMap<String, String>,
}

impl Sink {
    /// Makes sure every category and tag of `products` exists in Medusa.
    pub(super) async fn terms(&self, products: &[&OwedProduct]) -> Result<Terms, SinkError> {
        let mut terms = Terms::default();
        let mut wanted_categories: BTreeMap<i64, (&str, &str)> = BTreeMap::new();
        for p in products {
            for (id, category) in p.category_ids.iter().zip(&p.product.categories) {
                let slug = category.slug.as_str();
                let name = category.name.as_deref().unwrap_or(slug);
                wanted_categories.insert(*id, (slug, name));
            }
        }
        let ids: Vec<i64> = wanted_categories.keys().copied().collect();
        for (id, medusa) in self.inner.store.medusa_categories(&ids).await? {
            terms.categories.insert(id, medusa);
        }
        wanted_categories.retain(|id, _| !terms.categories.contains_key(id));
        let values: BTreeSet<&str> = products
            .iter()
            .flat_map(|p| p.product.tags.iter().map(String::as_str))
            .collect();
        let values: Vec<&str> = values.into_iter().collect();
        for (value, id) in self.inner.store.medusa_tags(&values).await? {
            terms.tags.insert(value, id);
        }
        let missing_tags: Vec<&str> = values
            .into_iter()
            .filter(|v| !terms.tags.contains_key(*v))
            .collect();
        if wanted_categories.is_empty() && missing_tags.is_empty() {
            return Ok(terms);
        }
        let _one_at_a_time = self.inner.terms.lock().await;
        self.ensure_categories(wanted_categories, &mut terms)
            .await?;
        self.ensure_tags(&missing_tags, &mut terms).await?;
        Ok(terms)
    }

    /// Checks that Medusa still has the categories and tags of `terms`, and forgets the ids of
    /// those it no longer has (deleted in the Medusa admin): Medusa refuses every product that
    /// names one (`Product tags with product_id: …, product_tag_id: …, already exists`), and the
    /// next [`Sink::terms`] finds or creates them anew. Returns how many ids it forgot.
    pub(super) async fn forget_stale_terms(&self, terms: &Terms) -> Result<usize, SinkError> {
        let categories: BTreeSet<&str> = terms.categories.values().map(String::as_str).collect();
        let tags: BTreeSet<&str> = terms.tags.values().map(String::as_str).collect();
        let stale_categories = self.missing("admin/product-categories", categories).await?;
        let stale_tags = self.missing("admin/product-tags", tags).await?;
        let forgotten = stale_categories.len() + stale_tags.len();
        if forgotten > 0 {
            warn!(
                categories = ?stale_categories,
                tags = ?stale_tags,
                "Medusa no longer has categories or tags it had; they are found or created again"
            );
            self.inner
                .store
                .forget_medusa_terms(&stale_categories, &stale_tags)
                .await?;
        }
        Ok(forgotten)
    }

    /// The ids among `ids` that the Medusa list at `path` does not have.
    async fn missing(&self, path: &str, ids: BTreeSet<&str>) -> Result<Vec<String>, SinkError> {
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut missing = Vec::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let limit = chunk.len().to_string();
            let mut query = vec![("fields", "id"), ("limit", limit.as_str())];
            query.extend(chunk.iter().map(|id| ("id[]", *id)));
            let found: IdList = self.inner.client.get(path, &query).await?;
            let found: BTreeSet<&str> = found.records.iter().map(|r| r.id.as_str()).collect();
            missing.extend(
                chunk
                    .iter()
                    .filter(|id| !found.contains(*id))
                    .map(|id| (*id).to_owned()),
            );
        }
        Ok(missing)
    }

    async fn ensure_categories(
        &self,
        wanted: BTreeMap<i64, (&str, &str)>,
        terms: &mut Terms,
    ) -> Result<(), SinkError> {
        if wanted.is_empty() {
            return Ok(());
        }
        // Another pusher of this process may have linked them meanwhile.
        let ids: Vec<i64> = wanted.keys().copied().collect();
        for (id, medusa) in self.inner.store.medusa_categories(&ids).await? {
            terms.categories.insert(id, medusa);
        }
        let missing: Vec<(i64, &str, &str)> = wanted
            .into_iter()
            .filter(|(id, _)| !terms.categories.contains_key(id))
            .map(|(id, (slug, name))| (id, slug, name))
            .collect();
        for chunk in missing.chunks(LOOKUP_CHUNK) {
            let handles: Vec<&str> = chunk.iter().map(|(_, slug, _)| *slug).collect();
            let mut found = self.find_categories(&handles).await?;
            for (id, slug, name) in chunk {
                let medusa = match found.remove(*slug) {
                    Some(medusa) => medusa,
                    None => self.create_category(slug, name).await?,
                };
                self.inner.store.link_medusa_category(*id, &medusa).await?;
                terms.categories.insert(*id, medusa);
            }
        }
        Ok(())
    }

    async fn find_categories(
        &self,
        handles: &[&str],
    ) -> Result<HashMap<String, String>, SinkError> {
        let limit = handles.len().to_string();
        let mut query = vec![("fields", "id,handle"), ("limit", limit.as_str())];
        query.extend(handles.iter().map(|h| ("handle[]", *h)));
        let found: Categories = self
            .inner
            .client
            .get("admin/product-categories", &query)
            .await?;
        Ok(found
            .product_categories
            .into_iter()
            .map(|c| (c.handle, c.id))
            .collect())
    }

    /// Creates a category; when another process created it first, finds that one.
    async fn create_category(&self, handle: &str, name: &str) -> Result<String, SinkError> {
        let body = NewCategory {
            name,
            handle,
            is_active: true,
        };
        match self
            .inner
            .client
            .post::<_, CreatedCategory>("admin/product-categories", &[("fields", "id")], &body)
            .await
        {
            Ok(created) => Ok(created.product_category.id),
            Err(e) if e.is_refusal() => self
                .find_categories(&[handle])
                .await?
                .remove(handle)
                .ok_or_else(|| e.into()),
            Err(e) => Err(e.into()),
        }
    }

    async fn ensure_tags(&self, missing: &[&str], terms: &mut Terms) -> Result<(), SinkError> {
        if missing.is_empty() {
            return Ok(());
        }
        let known = self.inner.store.medusa_tags(missing).await?;
        terms.tags.extend(known);
        let missing: Vec<&str> = missing
            .iter()
            .copied()
            .filter(|v| !terms.tags.contains_key(*v))
            .collect();
        for chunk in missing.chunks(LOOKUP_CHUNK) {
            let mut found = self.find_tags(chunk).await?;
            for value in chunk {
                let medusa = match found.remove(*value) {
                    Some(medusa) => medusa,
                    None => self.create_tag(value).await?,
                };
                self.inner.store.link_medusa_tag(value, &medusa).await?;
                terms.tags.insert((*value).to_owned(), medusa);
            }
        }
        Ok(())
    }

    async fn find_tags(&self, values: &[&str]) -> Result<HashMap<String, String>, SinkError> {
        let limit = values.len().to_string();
        let mut query = vec![("fields", "id,value"), ("limit", limit.as_str())];
        query.extend(values.iter().map(|v| ("value[]", *v)));
        let found: Tags = self.inner.client.get("admin/product-tags", &query).await?;
        Ok(found
            .product_tags
            .into_iter()
            .map(|t| (t.value, t.id))
            .collect())
    }

    async fn create_tag(&self, value: &str) -> Result<String, SinkError> {
        match self
            .inner
            .client
            .post::<_, CreatedTag>("admin/product-tags", &[("fields", "id")], &NewTag { value })
            .await
        {
            Ok(created) => Ok(created.product_tag.id),
            Err(e) if e.is_refusal() => self
                .find_tags(&[value])
                .await?
                .remove(value)
                .ok_or_else(|| e.into()),
            Err(e) => Err(e.into()),
        }
    }
}
