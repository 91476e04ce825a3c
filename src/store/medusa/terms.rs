//! The Medusa ids of categories and tags, kept once Medusa has them.

use super::super::{Store, StoreError, sql};

impl Store {
    /// The Medusa ids of categories known to exist there.
    pub async fn medusa_categories(
        &self,
        category_ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(sql::MEDUSA_CATEGORIES)
            .bind(category_ids)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn link_medusa_category(
        &self,
        category_id: i64,
        medusa_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(sql::MEDUSA_LINK_CATEGORY)
            .bind(category_id)
            .bind(medusa_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets the Medusa ids of categories and tags Medusa no longer has.
    pub async fn forget_medusa_terms(
        &self,
        category_ids: &[String],
        tag_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::MEDUSA_FORGET_CATEGORIES)
            .bind(category_ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::MEDUSA_FORGET_TAGS)
            .bind(tag_ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The Medusa ids of tags known to exist there.
    pub async fn medusa_tags(&self, values: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(sql::MEDUSA_TAGS)
            .bind(values)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn link_medusa_tag(&self, value: &str, medusa_id: &str) -> Result<(), StoreError> {
        sqlx::query(sql::MEDUSA_LINK_TAG)
            .bind(value)
            .bind(medusa_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
