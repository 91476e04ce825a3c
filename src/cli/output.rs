//! Human-readable renderings of summaries and run records, and exit codes.

use std::fmt::Write;
use std::process::ExitCode;

use crate::domain::{
    ArchiveMethod, MedusaDelivery, NotFound, RunError, RunMode, RunStatus, RunSummary,
};
use crate::store::RunRecord;

mod dead_letters;

use dead_letters::clip;
pub use dead_letters::{dead_letters_table, line_width};

/// 0 succeeded or skipped, 1 failed, 3 partial (2 is for usage and configuration errors).
pub fn exit_code(status: RunStatus) -> ExitCode {
    match status {
        RunStatus::Succeeded | RunStatus::Skipped => ExitCode::SUCCESS,
        RunStatus::Failed => ExitCode::from(super::exit::FAILED),
        RunStatus::Partial => ExitCode::from(super::exit::PARTIAL),
    }
}

/// The progress bar of a run: products done of all, the rate in whole products per second
/// and the time left.
pub fn progress_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} products ({rate}, eta {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", thousands(state.per_sec() as u64));
        },
    )
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The summary as a table, its first errors at the end.
pub fn summary_table(s: &RunSummary) -> String {
    let mut out = summary_head(s);
    if !s.errors.is_empty() {
        let _ = writeln!(out, "errors (first {}):", s.errors.len());
        out.push_str(&error_lines(&s.errors));
    }
    out
}

/// The summary as a table without its errors (`runs show` lists the stored ones instead).
pub fn summary_head(s: &RunSummary) -> String {
    let c = &s.counts;
    let mut out = String::new();
    let _ = writeln!(out, "run        {}", s.run_id);
    let _ = writeln!(out, "request    {}", s.request_id);
    let _ = writeln!(
        out,
        "status     {} ({} sync{})",
        s.status.as_str(),
        s.mode.as_str(),
        if s.dry_run { ", dry run" } else { "" }
    );
    let _ = writeln!(
        out,
        "duration   {:.3} s ({} → {})",
        s.duration_ms as f64 / 1000.0,
        s.started_at.format("%Y-%m-%d %H:%M:%S"),
        s.finished_at.format("%H:%M:%S")
    );
    if let Some(trace_id) = &s.trace_id {
        let _ = writeln!(out, "trace      {trace_id}");
    }
    if let Some(resumed) = &s.resumed_from {
        let _ = writeln!(
            out,
            "resumed    from run {} at listing offset {} (counts below are this run's own)",
            resumed.run_id, resumed.skip
        );
    }
    let _ = writeln!(out);
    let header = [
        "fetched",
        "created",
        "updated",
        "unchanged",
        "archived",
        "failed",
        "categories",
    ];
    let values = [
        c.fetched,
        c.created,
        c.updated,
        c.unchanged,
        c.archived,
        c.failed,
        c.categories_created,
    ];
    let widths: Vec<usize> = header
        .iter()
        .zip(values)
        .map(|(h, v)| h.len().max(v.to_string().len()))
        .collect();
    let row = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let _ = writeln!(
        out,
        "{}",
        row(header.iter().map(|h| h.to_string()).collect())
    );
    let _ = writeln!(
        out,
        "{}",
        row(values.iter().map(|v| v.to_string()).collect())
    );
    let _ = writeln!(out);
    let v = &c.variants;
    if v.created + v.updated + v.archived > 0 {
        let _ = writeln!(
            out,
            "variants   {} created, {} updated, {} archived",
            v.created, v.updated, v.archived
        );
    }
    if s.dry_run {
        let _ = writeln!(
            out,
            "batches    {} compared, {} failed (dry run: nothing written)",
            s.batches.succeeded, s.batches.failed
        );
    } else {
        let _ = writeln!(
            out,
            "batches    {} written, {} failed",
            s.batches.succeeded, s.batches.failed
        );
    }
    if let Some(a) = s.archive.as_ref().filter(|a| a.candidates > 0) {
        let how = match a.method {
            ArchiveMethod::None => String::new(),
            ArchiveMethod::ItemChecks => format!(" by {} item requests", a.item_checks),
            ArchiveMethod::IdListing => {
                format!(" by an id-only listing of {} pages", a.id_listing_pages)
            }
            ArchiveMethod::IdListingThenItemChecks => format!(
                " by an id-only listing of {} pages, then {} item requests",
                a.id_listing_pages, a.item_checks
            ),
        };
        let _ = writeln!(
            out,
            "archive    {} not in the listing, {} confirmed gone upstream{how}",
            a.candidates, a.confirmed
        );
    }
    if let Some(not_found) = &s.not_found {
        let _ = writeln!(out, "not found  {}", not_found_line(s, not_found));
    }
    if let Some(m) = &c.medusa {
        let pushed = match m.delivered_by {
            MedusaDelivery::Run => format!(
                "{} created, {} updated, {} archived, {} refused",
                m.created, m.updated, m.archived, m.failed
            ),
            MedusaDelivery::Pusher => "left to the worker's pusher".to_owned(),
        };
        let corrected = match m.corrected {
            0 => String::new(),
            n => format!(", {n} corrected (changed in Medusa)"),
        };
        let owed = match m.owed {
            0 => "nothing owed".to_owned(),
            n => format!("{} still owed", thousands(n)),
        };
        let _ = writeln!(
            out,
            "medusa     {pushed}{corrected}; {} linked, {owed}",
            thousands(m.linked)
        );
    }
    out
}

/// The ids the upstream answered 404 for, and what the run did with them: a targeted run
/// archives those the catalog had live (all its archived products are these); the others were
/// never in the catalog, or already archived, and nothing was done with them.
fn not_found_line(s: &RunSummary, not_found: &NotFound) -> String {
    let listed = not_found.ids.len() as u64;
    let more = match not_found.count.saturating_sub(listed) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let ids = if not_found.count == 1 { "id" } else { "ids" };
    let archived = if s.dry_run {
        "to archive (dry run)"
    } else {
        "archived"
    };
    let done = if s.mode == RunMode::Products {
        let (gone, left) = (
            s.counts.archived,
            not_found.count.saturating_sub(s.counts.archived),
        );
        let mut parts = Vec::new();
        if gone > 0 {
            let them = if gone == 1 { "it" } else { "them" };
            parts.push(format!("{gone} {archived} (the catalog had {them} live)"));
        }
        if left > 0 {
            parts.push(format!(
                "{left} not a live product in the catalog: nothing done"
            ));
        }
        parts.join(", ")
    } else {
        format!("{archived} where the catalog had them live")
    };
    format!(
        "{} {ids} the upstream does not have (404): {}{more}; {done}",
        not_found.count,
        not_found.ids.join(", ")
    )
}

pub fn error_lines(errors: &[RunError]) -> String {
    let mut out = String::new();
    for e in errors {
        let mut place = String::new();
        if let Some(id) = &e.product_id {
            let _ = write!(place, " product {id}");
        }
        if let Some(batch) = e.batch {
            let _ = write!(place, " batch {batch}");
        }
        let _ = writeln!(out, "  - [{}]{place}: {}", e.kind.as_str(), e.message);
    }
    out
}

pub fn runs_table(runs: &[RunRecord]) -> String {
    // The first 8 characters of a run id are enough for `runs show`.
    let mut out = format!(
        "{:<8}  {:<11}  {:<11}  {:<19}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  {:>8}  {:>6}  {:<24}  {}\n",
        "run",
        "mode",
        "status",
        "started (UTC)",
        "duration",
        "fetched",
        "created",
        "updated",
        "unchanged",
        "archived",
        "failed",
        "request",
        "reason"
    );
    for r in runs {
        let duration = r
            .finished_at
            .map(|f| {
                format!(
                    "{:.1}s",
                    (f - r.started_at).num_milliseconds() as f64 / 1000.0
                )
            })
            .unwrap_or_else(|| "-".into());
        let mode = if r.dry_run {
            format!("{}*", r.mode)
        } else {
            r.mode.clone()
        };
        let id = r.id.to_string();
        let _ = writeln!(
            out,
            "{:<8}  {:<11}  {:<11}  {:<19}  {:>8}  {:>8}  {:>8}  {:>8}  {:>9}  {:>8}  {:>6}  {:<24}  {}",
            &id[..8],
            mode,
            r.status,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            duration,
            r.fetched,
            r.created,
            r.updated,
            r.unchanged,
            r.archived,
            r.failed,
            clip(&r.request_id, 24),
            clip(r.reason.as_deref().unwrap_or(""), 40),
        );
    }
    if runs.iter().any(|r| r.dry_run) {
        out.push_str("* dry run\n");
    }
    out
}

#[cfg(test)]
mod tests;
