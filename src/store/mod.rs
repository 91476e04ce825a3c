//! The PostgreSQL adapter: connection pool, embedded migrations, batched catalog writes and run
//! records. Every error answers one question for the engine: is it worth trying again?

mod archive;
mod catalog;
mod history;
mod medusa;
mod nodelay;
mod runs;
mod sql;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool};

use crate::settings::DatabaseSettings;

pub use archive::{Candidates, SeenKind};
pub use catalog::{BatchWrite, KnownCategories, WriteOptions};
pub use history::{LastSuccess, MIN_RUN_ID_PREFIX, RunFilter, RunRecord, RunningRun, ScheduledRun};
pub use medusa::{
    Claimed, Link, MedusaBacklog, MedusaState, OwedProduct, OwedVariant, ProductLink, Settled,
    SinkSwitch, SwitchedOff, SwitchedOn, VariantLink,
};
pub use runs::{
    Checkpoint, ListingCheckpoint, MAX_STORED_ERRORS, NewRun, PreviousAttempt, RunProgress,
    RunStart,
};

/// How long to wait for a free pooled connection before calling the database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the first connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the first connection to `database` on `place` (host:port) failed, and what to do.
fn explain_connect(e: &sqlx::Error, place: &str, database: &str) -> StoreError {
    let code = match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    let text = match (code.as_deref(), e) {
        (Some("3D000"), _) => format!(
            "database \"{database}\" does not exist on PostgreSQL at {place}: create it (createdb {database}) or fix DATABASE_URL"
        ),
        (Some("28P01" | "28000"), _) => format!(
            "PostgreSQL at {place} refused the login: {}; check the user and password in DATABASE_URL",
            plain(e)
        ),
        (_, sqlx::Error::Io(io)) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!(
                "cannot connect to PostgreSQL at {place}: connection refused; is PostgreSQL running there?"
            )
        }
        _ => format!("cannot connect to PostgreSQL at {place}: {}", plain(e)),
    };
    StoreError::Connect(text)
}

/// Handle to the catalog database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
    /// Pooled connections opened before this moment are closed instead of used again: they
    /// belong to a session that refused writes (a read-only database or a replica after a
    /// failover keeps its sessions read-only after the database accepts writes again).
    retire_before: Arc<Mutex<Option<Instant>>>,
}

/// The errors carry the sqlx error for the code that inspects it; their text is the
/// database's own message once (not sqlx's wrapping of it, nor PostgreSQL's source line).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or dropped the connection; retrying later can help.
    #[error("database unavailable: {}", plain(.0))]
    Unavailable(sqlx::Error),
    /// The first connection failed: what went wrong, where, and what to do.
    #[error("{0}")]
    Connect(String),
    /// A concurrent write inserted the same product or took the handle this batch wanted;
    /// writing the batch again resolves it.
    #[error("a concurrent write took a product id or handle")]
    Conflict(sqlx::Error),
    /// The database refused a value (a NUL character, a number out of range, a value over an
    /// index's size limit): that product fails alone, the rest of its batch can be written.
    #[error("the database refused a value: {}", plain(.0))]
    Refused(sqlx::Error),
    /// The statement itself failed; retrying will fail the same way.
    #[error("database error: {}", plain(.0))]
    Query(sqlx::Error),
    /// The catalog's tables are not there: the migrations were never applied.
    #[error("the database has no catalog-sync tables yet: run `catalog-sync migrate` first")]
    NotMigrated,
    /// A column this version reads is not there: the database was migrated by an older
    /// catalog-sync, and commands that only read (status, runs) do not migrate.
    #[error(
        "the database's schema is older than this catalog-sync ({}): run `catalog-sync migrate` (a worker, `run` or `sync` applies the migrations as it starts)",
        plain(.0)
    )]
    SchemaBehind(sqlx::Error),
    #[error("{0}")]
    Config(String),
    /// A stored value cannot be read back (the database was changed by hand).
    #[error("a stored value cannot be read back: {0}")]
    Corrupt(String),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Connect(_) | StoreError::Conflict(_)
        )
    }

    /// The database cannot take writes now (down, unreachable, read-only, out of resources):
    /// nothing can be written until it can, whatever the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Connect(_))
    }

    /// The session refused a write because it is read-only (a database set read-only, or a
    /// replica): its connection stays so, even once the database accepts writes again.
    pub fn is_read_only(&self) -> bool {
        matches!(self, StoreError::Unavailable(sqlx::Error::Database(db)) if db.code().as_deref() == Some(READ_ONLY))
    }

    /// A mistake in the configuration (exit code 2), not a failure of the database.
    pub fn is_config(&self) -> bool {
        matches!(self, StoreError::Config(_))
    }
}

/// An sqlx error's text without repeats: a database error is its message alone.
fn plain(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// `read_only_sql_transaction`: a write in a read-only session.
const READ_ONLY: &str = "25006";

/// SQLSTATE codes after which the same statement may succeed: connection exceptions (08),
/// insufficient resources (53: disk full, out of memory, too many connections), a read-only
/// session (25006: a database set read-only, a replica during a failover), serialization
/// failures and deadlocks (40001, 40P01), a lock not available (55P03), server shutting down
/// or starting (57P01, 57P02, 57P03).
fn is_transient_code(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            READ_ONLY | "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
        )
}

/// SQLSTATE codes of a value the database will never accept: data exceptions (class 22: bad
/// encoding such as NUL, numeric overflow, bad JSON escapes), not-null and check violations,
/// program limits (54: an index row too large).
fn is_refused_value_code(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("54") || matches!(code, "23502" | "23514")
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e),
            sqlx::Error::Database(db) => {
                if db.code().as_deref() == Some("42P01") {
                    StoreError::NotMigrated
                } else if db.code().as_deref() == Some("42703") {
                    StoreError::SchemaBehind(e)
                } else if db.is_unique_violation()
                    && matches!(
                        db.constraint(),
                        Some("products_handle_key" | "products_external_id_key")
                    )
                {
                    StoreError::Conflict(e)
                } else if db.code().is_some_and(|c| is_transient_code(&c)) {
                    StoreError::Unavailable(e)
                } else if db.code().is_some_and(|c| is_refused_value_code(&c)) {
                    StoreError::Refused(e)
                } else {
                    StoreError::Query(e)
                }
            }
            _ => StoreError::Query(e),
        }
    }
}

impl Store {
    /// Opens the pool and checks that the database answers. One connection is opened first,
    /// alone: its error is precise and comes at once (a pool retries until its timeout and
    /// then says only that it timed out), and is told with the server's address.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        settings.validate().map_err(StoreError::Config)?;
        let options: PgConnectOptions = settings
            .url
            .expose()
            .parse()
            .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?;
        let place = format!("{}:{}", options.get_host(), options.get_port());
        let database = options.get_database().unwrap_or("postgres").to_owned();
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options)).await {
            Err(_) => {
                return Err(StoreError::Connect(format!(
                    "PostgreSQL at {place} did not answer within {CONNECT_TIMEOUT:?}: is the address in DATABASE_URL right?"
                )));
            }
            Ok(Err(e)) => return Err(explain_connect(&e, &place, &database)),
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
            }
        }
        let retire_before = Arc::new(Mutex::new(None::<Instant>));
        let retire = Arc::clone(&retire_before);
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|_, _| {
                Box::pin(async {
                    nodelay::disable_nagle_on_tcp_sockets();
                    Ok(())
                })
            })
            .before_acquire(move |_, meta| {
                let opened = Instant::now().checked_sub(meta.age);
                let retired = *retire.lock().unwrap_or_else(PoisonError::into_inner);
                let keep = match (opened, retired) {
                    (Some(opened), Some(before)) => opened > before,
                    _ => true,
                };
                Box::pin(async move { Ok(keep) })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::Unavailable)?;
        Ok(Store {
            pool,
            retire_before,
        })
    }

    pub fn from_pool(pool: PgPool) -> Store {
        Store {
            pool,
            retire_before: Arc::default(),
        }
    }

    /// Closes every pooled connection opened until now as it comes up for use (new ones are
    /// opened instead): their sessions refused writes and would go on refusing them.
    pub fn retire_connections(&self) {
        *self
            .retire_before
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether the database takes writes now: a write that changes nothing. A read-only
    /// session's refusal retires the pooled connections, so the next check (and the next
    /// write) opens fresh ones.
    pub async fn check_writable(&self) -> Result<(), StoreError> {
        let result = sqlx::query(sql::CHECK_WRITABLE)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(StoreError::from);
        if result.as_ref().is_err_and(StoreError::is_read_only) {
            self.retire_connections();
        }
        result
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations. Safe with several replicas starting at once: sqlx holds
    /// an advisory lock while migrating.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations").run(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_and_concurrency_failures_are_transient() {
        assert!(is_transient_code("08006"));
        assert!(is_transient_code("40P01"));
        assert!(is_transient_code("57P01"));
        assert!(!is_transient_code("23505"));
        assert!(!is_transient_code("42601"));
        assert!(is_refused_value_code("22021"), "NUL in text");
        assert!(is_refused_value_code("22P05"), "NUL escape in jsonb");
        assert!(is_refused_value_code("22003"), "numeric out of range");
        assert!(is_refused_value_code("54000"), "index row too large");
        assert!(!is_refused_value_code("23505"));
        assert!(!is_refused_value_code("42P01"));
        assert!(is_transient_code("25006"), "read-only session");
        assert!(is_transient_code("53100"), "disk full");
        assert!(StoreError::Unavailable(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!StoreError::Query(sqlx::Error::RowNotFound).is_retryable());
    }
}
