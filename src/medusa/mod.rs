//! The Medusa sink: with `MEDUSA_URL` set, the catalog's changes are brought to a Medusa v2
//! store.
//!
//! The catalog tables stay the source of the diff. A product whose content or archived state
//! changes is queued in `medusa_outbox` by a trigger, in the transaction that changes it;
//! pushers claim queued products, send them to Medusa in `POST /admin/products/batch` requests,
//! and record the Medusa ids in `medusa_links`. Who pushes (`pusher.rs`): in the worker, a
//! pusher of its own, woken by every commit and every `MEDUSA_RETRY_INTERVAL`, so no event's
//! acknowledgement and no catalog write waits for Medusa; in `catalog-sync sync`, the run
//! itself, which brings Medusa to the catalog's state before it ends. Unchanged products are
//! never queued: they cost Medusa nothing. An operator turns the sink off for a database
//! (`catalog-sync medusa disable`): nothing is queued then, and processes with MEDUSA_URL leave
//! Medusa alone until it is turned on again.

mod answers;
mod batch;
mod client;
mod drift;
mod payload;
mod push;
mod pusher;
mod shape;
mod terms;
mod variants;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OnceCell};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use client::MedusaError;
pub use pusher::{Pusher, RunReport};

use crate::domain::MedusaCounts;
use crate::settings::MedusaSettings;
use crate::store::{SinkSwitch, Store, StoreError};
use crate::telemetry::error_chain;

/// How long a pusher's claim on owed products lasts unless renewed: a pusher renews its claims
/// every [`LEASE_RENEWAL`] while it pushes, so two live pushers never send the same product at
/// once, and the products of a pusher that died are free again this soon.
const LEASE: Duration = Duration::from_secs(90);

/// How often a pusher renews its claims while it pushes them.
const LEASE_RENEWAL: Duration = Duration::from_secs(20);

/// Why the sink could not push.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Medusa(#[from] MedusaError),
    #[error("{0}")]
    Store(String),
}

impl From<StoreError> for SinkError {
    fn from(e: StoreError) -> Self {
        SinkError::Store(error_chain(&e))
    }
}

/// What the sink learned of the Medusa store once: where new products go, and the currencies
/// it has prices in.
#[derive(Debug)]
struct StoreContext {
    sales_channel: String,
    currencies: payload::Currencies,
}

/// The Medusa sink. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sink {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: client::Client,
    store: Store,
    settings: MedusaSettings,
    context: OnceCell<StoreContext>,
    /// Whether this process last found the sink turned off (said once per switch).
    found_off: AtomicBool,
    /// One process creates a category or tag at a time (another process doing the same is
    /// met by looking it up again).
    terms: Mutex<()>,
    /// Wakes the worker's pusher: products were queued.
    wake: Notify,
}

/// What one drain did.
#[derive(Debug, Default, Clone)]
pub struct Drained {
    pub counts: MedusaCounts,
    /// Products Medusa refused: external id and Medusa's reason.
    pub refused: Vec<(String, String)>,
    /// Why the drain stopped before the outbox was empty, if it did.
    pub failure: Option<String>,
    /// Prices left out because the store lacks their currency, by currency.
    pub skipped: payload::Skipped,
}

impl Drained {
    fn add(&mut self, other: Drained) {
        let (a, b) = (&mut self.counts, other.counts);
        a.created += b.created;
        a.updated += b.updated;
        a.archived += b.archived;
        a.failed += b.failed;
        self.refused.extend(other.refused);
        for (currency, n) in other.skipped {
            *self.skipped.entry(currency).or_default() += n;
        }
        if other.failure.is_some() {
            self.failure = other.failure;
        }
    }
}

impl Sink {
    pub fn new(store: Store, settings: MedusaSettings) -> Result<Sink, MedusaError> {
        if let Some(currency) = &settings.currency {
            warn!(
                currency = %currency,
                "MEDUSA_CURRENCY is no longer used: each price goes to Medusa in its own currency (the source file's `currency`, eur by default)"
            );
        }
        Ok(Sink {
            inner: Arc::new(Inner {
                client: client::Client::new(&settings)?,
                store,
                settings,
                context: OnceCell::new(),
                found_off: AtomicBool::new(false),
                terms: Mutex::new(()),
                wake: Notify::new(),
            }),
        })
    }

    pub fn settings(&self) -> &MedusaSettings {
        &self.inner.settings
    }

    /// Turns the outbox on, and says whether the sink is on: it stays off while an operator
    /// has it off (`catalog-sync medusa disable`). The first time ever, queues the whole
    /// catalog: Medusa starts out owed everything. Asked at every run and every pusher round,
    /// so a switch takes effect without a restart.
    pub async fn enable(&self) -> Result<bool, StoreError> {
        let switch = self.inner.store.enable_medusa().await?;
        let was_off = self
            .inner
            .found_off
            .swap(matches!(switch, SinkSwitch::Off(_)), Ordering::Relaxed);
        match switch {
            SinkSwitch::TurnedOn => {
                let queued = self.queue_owed().await?;
                info!(
                    queued,
                    "Medusa sink enabled: the catalog is queued for Medusa"
                );
            }
            SinkSwitch::On if was_off => info!("the Medusa sink is on again"),
            SinkSwitch::On => {}
            SinkSwitch::Off(since) if !was_off => warn!(
                %since,
                "the Medusa sink is off for this database (catalog-sync medusa disable): MEDUSA_URL is not used until catalog-sync medusa enable"
            ),
            SinkSwitch::Off(_) => {}
        }
        Ok(!matches!(switch, SinkSwitch::Off(_)))
    }

    /// Queues every product whose Medusa copy differs from the catalog. A full sync does this
    /// at its end.
    pub async fn queue_owed(&self) -> Result<u64, StoreError> {
        self.inner
            .store
            .queue_medusa_owed(self.inner.settings.archive.pushed_status())
            .await
    }

    /// The store's default sales channel (or MEDUSA_SALES_CHANNEL, checked), checked once per
    /// process, with the currency. When the links in the database belong to another Medusa
    /// store, they are forgotten and the catalog is queued again.
    async fn context(&self) -> Result<&StoreContext, SinkError> {
        self.inner
            .context
            .get_or_try_init(|| async {
                let stores: answers::Stores = self
                    .inner
                    .client
                    .get(
                        "admin/stores",
                        &[(
                            "fields",
                            "id,default_sales_channel_id,supported_currencies.currency_code",
                        )],
                    )
                    .await?;
                let info = stores.stores.into_iter().next().ok_or_else(|| {
                    MedusaError::Decode("GET /admin/stores listed no store".into())
                })?;
                let settings = &self.inner.settings;
                let currencies = payload::Currencies {
                    supported: info
                        .supported_currencies
                        .iter()
                        .map(|c| c.currency_code.to_ascii_lowercase())
                        .collect(),
                };
                let sales_channel = match &settings.sales_channel {
                    Some(id) => {
                        let found: Result<answers::SalesChannel, _> = self
                            .inner
                            .client
                            .get(&format!("admin/sales-channels/{id}"), &[("fields", "id")])
                            .await;
                        match found {
                            Ok(channel) => channel.sales_channel.id,
                            Err(e) if e.is_not_found() => {
                                return Err(MedusaError::Config(format!(
                                    "MEDUSA_SALES_CHANNEL {id} is not a sales channel of the Medusa store"
                                ))
                                .into());
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    None => info.default_sales_channel_id.ok_or_else(|| {
                        MedusaError::Config(
                            "the Medusa store has no default sales channel: set MEDUSA_SALES_CHANNEL"
                                .into(),
                        )
                    })?,
                };
                let known = self.inner.store.medusa_store_id().await?;
                if known.as_deref() != Some(info.id.as_str()) {
                    let other_store = known.is_some();
                    self.inner.store.set_medusa_store(&info.id, other_store).await?;
                    if other_store {
                        let queued = self.queue_owed().await?;
                        warn!(store = %info.id, queued, "MEDUSA_URL is another Medusa store than before: its links were forgotten and the catalog is queued for it");
                    }
                }
                Ok(StoreContext {
                    sales_channel,
                    currencies,
                })
            })
            .await
    }

    /// Pushes owed products until none is left or a push fails, with MEDUSA_CONCURRENCY
    /// pushers; stops early when `stop` is cancelled.
    pub async fn drain(&self, stop: &CancellationToken) -> Drained {
        let pushers = (0..self.inner.settings.concurrency).map(|_| async {
            let mut drained = Drained::default();
            while !stop.is_cancelled() {
                match self.push_chunk().await {
                    Ok(None) => break,
                    Ok(Some(chunk)) => {
                        let failed = chunk.failure.is_some();
                        drained.add(chunk);
                        if failed {
                            break;
                        }
                    }
                    Err(e) => {
                        drained.failure = Some(error_chain(&e));
                        break;
                    }
                }
            }
            drained
        });
        let mut total = Drained::default();
        for drained in futures_util::future::join_all(pushers).await {
            total.add(drained);
        }
        if !total.skipped.is_empty() {
            let supported = match self.inner.context.get() {
                Some(c) => c
                    .currencies
                    .supported
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                None => String::new(),
            };
            warn!(
                skipped = ?total.skipped,
                supported = %supported,
                "prices in currencies the Medusa store lacks were left out: add the currencies to the store (Settings → Store) to send them"
            );
        }
        let m = crate::metrics::metrics();
        m.medusa_pushed("created", total.counts.created);
        m.medusa_pushed("updated", total.counts.updated);
        m.medusa_pushed("archived", total.counts.archived);
        m.medusa_pushed("failed", total.counts.failed);
        if let Ok(owed) = self.inner.store.medusa_owed().await {
            total.counts.owed = owed.max(0) as u64;
            m.medusa_owed(owed);
        }
        total
    }
}
