//! Changes sync: the products the source lists as changed since the last succeeded full run
//! (less the source's `[changes] overlap`, so a change made while that run read the listing is
//! not missed), written like a full sync's, page after page. It never archives: only a whole
//! listing can tell what the upstream no longer has.

use chrono::{DateTime, SecondsFormat, Utc};
use tracing::info;

use super::Engine;
use super::run::RunState;
use crate::domain::ErrorKind;
use crate::source::TimeFormat;
use crate::store::WriteOptions;
use crate::telemetry::error_chain;
use crate::upstream::PageAt;

pub(super) async fn run(engine: &Engine, state: &mut RunState) {
    let source = engine.upstream().source();
    let Some(changes) = source.changes.clone() else {
        state.fatal(
            ErrorKind::ChangesUnavailable,
            format!(
                "the source {} has no [changes] block: it cannot list what changed; run a full sync, or describe the upstream's changed-since parameter in the source file",
                source.origin
            ),
        );
        return;
    };
    let last_full = match engine.store().last_full_sync_start().await {
        Ok(Some(at)) => at,
        Ok(None) => {
            state.fatal(
                ErrorKind::ChangesUnavailable,
                "no full sync has succeeded yet: a changes run lists what changed since the last one; run a full sync first".into(),
            );
            return;
        }
        Err(e) => {
            state.fatal(
                ErrorKind::Store,
                format!("could not read the last full sync: {}", error_chain(&e)),
            );
            return;
        }
    };
    let since = last_full - changes.overlap;
    if let Err(e) = engine.store().set_changes_since(state.run_id, since).await {
        tracing::warn!(error = %error_chain(&e), "could not record the changes run's lower bound");
    }
    let value = format_since(since, changes.format);
    info!(run_id = %state.run_id, %since, parameter = %changes.param, "listing products changed since");
    let filter = (changes.param.clone(), value);

    // Like a full sync's writes: an older listing never overwrites a newer stored version.
    let mut writer = engine.writer(
        WriteOptions {
            seen_by: None,
            respect_source_order: true,
            strict_restore: false,
            future_tolerance: engine.settings().future_tolerance,
        },
        state.dry_run,
    );
    let first_page = PageAt::first(engine.settings().page_size);
    // Products known by their bytes are unchanged here too: only what really changed is decoded.
    let lister = engine.lister().await;
    let first = lister
        .page(&first_page, Some((filter.0.as_str(), filter.1.as_str())))
        .await;
    let first = match first {
        Ok(page) => page,
        Err(e) => {
            state.fatal(
                ErrorKind::Upstream,
                format!("first page of changes failed: {}", error_chain(&e)),
            );
            return;
        }
    };
    super::sequential::read(engine, &lister, state, &mut writer, first, Some(filter)).await;
    writer.finish(state).await;
}

/// The lower bound as the source's parameter takes it.
fn format_since(since: DateTime<Utc>, format: TimeFormat) -> String {
    match format {
        TimeFormat::Rfc3339 => since.to_rfc3339_opts(SecondsFormat::Secs, true),
        TimeFormat::Unix => since.timestamp().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_bound_is_written_as_the_source_takes_it() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:05:30.250Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            format_since(at, TimeFormat::Rfc3339),
            "2026-12-04T10:05:30Z"
        );
        assert_eq!(format_since(at, TimeFormat::Unix), "1796378730");
    }
}
