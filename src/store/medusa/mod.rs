//! The Medusa sink's tables: the outbox of pushes owed (filled by triggers in the transaction
//! that changes a product), the links between catalog and Medusa ids, and the categories and
//! tags Medusa already has.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Store, StoreError, sql};

mod outbox;
mod owed;
mod terms;

pub use outbox::{Claimed, Link, Settled, VariantLink};
pub use owed::{OwedProduct, OwedVariant, ProductLink};

/// Where Medusa stands against the catalog, counted the same way for a run's summary and for
/// `status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MedusaBacklog {
    /// Products Medusa has (published or draft).
    pub linked: i64,
    /// Products with a push owed (refused ones are counted apart).
    pub owed: i64,
    /// Owed products a pusher holds now (it is pushing them, or it died and its claim has
    /// not lapsed yet).
    pub held: i64,
    /// When the last of those claims lapses unless renewed.
    pub held_until: Option<DateTime<Utc>>,
}

/// The link of a Medusa product a listing page holds.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListedLink {
    pub medusa_product_id: String,
    pub product_id: i64,
    /// A push of the product is owed (or Medusa refused its current version).
    pub owed: bool,
    pub pushed_at: DateTime<Utc>,
}

/// Whether the sink is on for a database, as a process with MEDUSA_URL finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkSwitch {
    /// Turned on just now: the first process with MEDUSA_URL on this database.
    TurnedOn,
    On,
    /// An operator turned it off then (`catalog-sync medusa disable`).
    Off(DateTime<Utc>),
}

/// What `catalog-sync medusa disable` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwitchedOff {
    /// Since when the sink is off (earlier than now when it already was).
    pub since: DateTime<Utc>,
    /// Pushes that were owed and are dropped.
    pub dropped: u64,
    /// Products Medusa has (the links are kept).
    pub linked: i64,
}

/// What `catalog-sync medusa enable` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwitchedOn {
    /// Since when it had been off; `None` when it was on already (or never existed).
    pub was_off_since: Option<DateTime<Utc>>,
    /// Whether the sink had never been on for this database.
    pub first: bool,
    /// Products queued: those whose Medusa copy differs from the catalog.
    pub queued: u64,
}

/// The sink's state, as `status` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct MedusaState {
    pub store_id: Option<String>,
    pub enabled_at: Option<DateTime<Utc>>,
    /// Since when an operator has the sink off (`catalog-sync medusa disable`); nothing is
    /// queued meanwhile.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Until when a process with MEDUSA_URL is expected to push again.
    pub pushers_until: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub pusher_expected: bool,
    /// Pushes are owed, and no process with MEDUSA_URL is expected to deliver them: none has
    /// pushed lately (the worker's pusher would have, within twice its interval).
    #[sqlx(skip)]
    pub unattended: bool,
    /// Linked, owed and held, as a run's summary counts them.
    #[sqlx(skip)]
    #[serde(flatten)]
    pub backlog: MedusaBacklog,
    /// Products Medusa refused in their current version.
    pub refused: i64,
    pub oldest_owed: Option<DateTime<Utc>>,
    pub last_push: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Store {
    /// Turns the outbox on unless an operator turned it off: from now on every product change
    /// is queued. Says whether it is on, and whether it was turned on just now.
    pub async fn enable_medusa(&self) -> Result<SinkSwitch, StoreError> {
        let (fresh, disabled_at): (bool, Option<DateTime<Utc>>) =
            sqlx::query_as(sql::MEDUSA_ENABLE)
                .fetch_one(&self.pool)
                .await?;
        Ok(match (fresh, disabled_at) {
            (true, _) => SinkSwitch::TurnedOn,
            (false, Some(at)) => SinkSwitch::Off(at),
            (false, None) => SinkSwitch::On,
        })
    }

    /// The operator's off switch: nothing is queued from now on, whichever process writes, and
    /// the pushes owed are dropped; the links stay, so turning it on again pushes only what
    /// differs. Also on a database the sink never ran on: processes with MEDUSA_URL then leave
    /// it alone.
    pub async fn disable_medusa(&self) -> Result<SwitchedOff, StoreError> {
        let mut tx = self.pool.begin().await?;
        let since: DateTime<Utc> = sqlx::query_scalar(sql::MEDUSA_SWITCH_OFF)
            .fetch_one(&mut *tx)
            .await?;
        let dropped = sqlx::query(sql::MEDUSA_DROP_OWED)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let backlog: MedusaBacklog = sqlx::query_as(sql::MEDUSA_BACKLOG)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(SwitchedOff {
            since,
            dropped,
            linked: backlog.linked,
        })
    }

    /// The operator's on switch: queues every product whose Medusa copy differs from the
    /// catalog (`archived_status`: what an archived product becomes in Medusa), which covers
    /// what changed while the sink was off.
    pub async fn reenable_medusa(&self, archived_status: &str) -> Result<SwitchedOn, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (existed, was_off_since): (bool, Option<DateTime<Utc>>) =
            sqlx::query_as(sql::MEDUSA_SWITCH_ON)
                .fetch_one(&mut *tx)
                .await?;
        let queued = sqlx::query(sql::MEDUSA_QUEUE_OWED)
            .bind(archived_status)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(SwitchedOn {
            was_off_since,
            first: !existed,
            queued,
        })
    }

    /// A pusher says it pushes again within `within`: until then, what is owed is not
    /// unattended (see [`MedusaState::unattended`]).
    pub async fn medusa_pushers_until(&self, within: Duration) -> Result<(), StoreError> {
        sqlx::query(sql::MEDUSA_PUSHERS_UNTIL)
            .bind(within.as_secs_f64())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Queues every product whose Medusa copy differs from the catalog (see `queue_owed.sql`);
    /// returns how many rows it queued or asked again.
    pub async fn queue_medusa_owed(&self, archived_status: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::MEDUSA_QUEUE_OWED)
            .bind(archived_status)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Lets the products Medusa refused be pushed again (a full sync asks once per run: what
    /// Medusa refused may pass now, a conflicting product having gone, say).
    pub async fn reask_medusa_refused(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::MEDUSA_REASK_REFUSED)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The Medusa store the links belong to, once known.
    pub async fn medusa_store_id(&self) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>(sql::MEDUSA_STORE_ID)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// Records the Medusa store the links belong to. When they belonged to another store, they
    /// are forgotten (with the known categories and tags) first.
    pub async fn set_medusa_store(&self, store_id: &str, forget: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if forget {
            for statement in sql::MEDUSA_FORGET {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
        }
        sqlx::query(sql::MEDUSA_SET_STORE_ID)
            .bind(store_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What Medusa has and is owed now: cheap while the outbox is small.
    pub async fn medusa_backlog(&self) -> Result<MedusaBacklog, StoreError> {
        Ok(sqlx::query_as(sql::MEDUSA_BACKLOG)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The links of the Medusa products `medusa_ids` (a listing page).
    pub async fn medusa_links_listed(
        &self,
        medusa_ids: &[&str],
    ) -> Result<Vec<ListedLink>, StoreError> {
        Ok(sqlx::query_as(sql::MEDUSA_LINKS_LISTED)
            .bind(medusa_ids)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Live links last pushed before `at`.
    pub async fn medusa_linked_before(&self, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let linked: i64 = sqlx::query_scalar(sql::MEDUSA_LINKED_BEFORE)
            .bind(at)
            .fetch_one(&self.pool)
            .await?;
        Ok(linked.max(0) as u64)
    }

    /// Up to `limit` live links (product id, Medusa id) after product `after`.
    pub async fn medusa_links_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(sql::MEDUSA_LINKS_AFTER)
            .bind(after)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Queues products to be pushed again; returns how many were not queued already.
    pub async fn queue_medusa(&self, product_ids: &[i64]) -> Result<u64, StoreError> {
        if product_ids.is_empty() {
            return Ok(0);
        }
        Ok(sqlx::query(sql::MEDUSA_QUEUE)
            .bind(product_ids)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Has the next push of `product_ids` check and rewrite each of their Medusa variants
    /// (their options or variants changed on Medusa's side).
    pub async fn recheck_medusa_variants(&self, product_ids: &[i64]) -> Result<(), StoreError> {
        if !product_ids.is_empty() {
            sqlx::query(sql::MEDUSA_RECHECK_VARIANTS)
                .bind(product_ids)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Marks the links of products Medusa no longer has deleted and queues the live ones;
    /// returns how many it queued.
    pub async fn medusa_links_vanished(&self, product_ids: &[i64]) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql::MEDUSA_LINKS_VANISHED)
            .bind(product_ids)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Pushes owed, refused ones left out: cheap while the outbox is small.
    pub async fn medusa_owed(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(sql::MEDUSA_OWED)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The sink's state; `None` when no process with MEDUSA_URL ever ran on this database.
    pub async fn medusa_state(&self) -> Result<Option<MedusaState>, StoreError> {
        let mut state: MedusaState = sqlx::query_as(sql::MEDUSA_STATE)
            .fetch_one(&self.pool)
            .await?;
        if state.enabled_at.is_none() {
            return Ok(None);
        }
        state.backlog = self.medusa_backlog().await?;
        state.unattended = state.backlog.owed > 0 && !state.pusher_expected;
        Ok(Some(state))
    }
}
