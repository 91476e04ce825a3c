//! `catalog-sync source check FILE`: checks a source file, fetches its first listing page and
//! shows what the mapping makes of it, so a source can be written against the real API
//! before any sync runs.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::parse;
use super::print::outln;
use crate::settings::UpstreamSettings;
use crate::source::{Paging, Source};
use crate::telemetry::error_chain;
use crate::upstream::{PageAt, Upstream};

/// Work with upstream source files.
#[derive(Args, Debug)]
pub struct SourceCommand {
    #[command(subcommand)]
    pub action: SourceAction,
}

#[derive(Subcommand, Debug)]
pub enum SourceAction {
    /// Check a source file: read it, fetch the first page of its listing, print the paging it
    /// found and the first products as the mapping reads them. Exits 0 when the page was read
    /// and every product on it mapped, 1 otherwise.
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The source file (TOML).
    #[arg(value_name = "FILE", value_parser = parse::parse_source)]
    pub source: Source,

    /// How many mapped products to show.
    #[arg(long, default_value_t = 5)]
    pub show: usize,
}

pub async fn run(command: SourceCommand) -> anyhow::Result<ExitCode> {
    let SourceAction::Check(args) = command.action;
    let source = args.source;
    let mut settings = UpstreamSettings::new(source.list.url.clone());
    settings.source = Some(source.clone());
    let upstream = Upstream::new(&settings)?;
    outln!("source     {}: the file is valid", source.origin)?;
    outln!("listing    {}", source.list.url)?;
    outln!("paging     {}", describe_paging(&source))?;
    if let Some(limit) = &source.rate_limit {
        outln!(
            "rate limit {} requests per {}",
            limit.requests,
            humantime::format_duration(limit.per)
        )?;
    }
    let page = match upstream
        .page_at(&PageAt::first(source.list.page_size), None)
        .await
    {
        Ok(page) => page,
        Err(e) => {
            outln!("first page FAILED: {}", error_chain(&e))?;
            return Ok(ExitCode::FAILURE);
        }
    };
    let valid = page.products.iter().filter(|p| p.is_ok()).count();
    outln!(
        "first page {} records, {valid} valid products; total {}; next page {}",
        page.products.len(),
        page.total
            .map_or_else(|| "not given".to_owned(), |t| t.to_string()),
        page.next.as_ref().map_or_else(
            || "none (the listing ends here)".to_owned(),
            PageAt::describe
        ),
    )?;
    outln!()?;
    outln!(
        "{:<14} {:<32} {:>12} {:>7} {:>8} {:<20} {:<16} updated",
        "id",
        "title",
        "price",
        "stock",
        "variants",
        "category",
        "sku"
    )?;
    for item in page.products.iter().take(args.show) {
        match item {
            Ok(p) => outln!(
                "{:<14} {:<32} {:>12} {:>7} {:>8} {:<20} {:<16} {}",
                cut(&p.external_id, 14),
                cut(&p.title, 32),
                p.price().map_or("-", |p| p.as_str()),
                p.stock().map_or_else(|| "-".into(), |s| s.to_string()),
                p.variants.len(),
                cut(p.category().unwrap_or("-"), 20),
                cut(p.sku().unwrap_or("-"), 16),
                p.source_updated_at
                    .map_or_else(|| "-".into(), |t| t.to_rfc3339()),
            ),
            Err(invalid) => outln!(
                "{:<14} INVALID: {}",
                cut(invalid.product_id.as_deref().unwrap_or("?"), 14),
                invalid.message
            ),
        }?;
    }
    let invalid: Vec<_> = page
        .products
        .iter()
        .filter_map(|p| p.as_ref().err())
        .collect();
    for bad in invalid.iter().skip(args.show).take(5) {
        outln!("invalid    {}", bad.message)?;
    }
    // The item endpoint must map the same product: archive checks and events rely on it.
    if let Some(Ok(first)) = page.products.first() {
        match upstream.product(&first.external_id).await {
            Ok(Some(Ok(item))) if item == *first => {
                outln!("\nitem       {}: the same product", source.item.url)
            }
            Ok(Some(Ok(_))) => outln!(
                "\nitem       {}: answers, but maps product {} differently from the listing",
                source.item.url,
                first.external_id
            ),
            Ok(Some(Err(e))) => {
                outln!("\nitem       {}: INVALID: {}", source.item.url, e.message)
            }
            Ok(None) => outln!(
                "\nitem       {}: 404 for product {}, which the listing serves",
                source.item.url,
                first.external_id
            ),
            Err(e) => outln!(
                "\nitem       {}: FAILED: {}",
                source.item.url,
                error_chain(&e)
            ),
        }?;
    }
    Ok(if invalid.is_empty() && !page.products.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn describe_paging(source: &Source) -> String {
    let size = source.list.page_size;
    match &source.list.paging {
        Paging::Offset {
            limit_param,
            offset_param,
            total,
        } => format!(
            "offset ({limit_param}={size}, {offset_param}=…), total {}; pages fetched concurrently",
            if total.is_some() {
                "read"
            } else {
                "not read: pages in order"
            }
        ),
        Paging::Page {
            limit_param,
            page_param,
            first_page,
            total,
        } => format!(
            "page ({limit_param}={size}, {page_param}={first_page}…), total {}; pages fetched concurrently",
            if total.is_some() {
                "read"
            } else {
                "not read: pages in order"
            }
        ),
        Paging::Cursor { cursor_param, .. } => {
            format!("cursor ({cursor_param}=…), pages in order")
        }
        Paging::LinkHeader { .. } => "Link header rel=\"next\", pages in order".into(),
        Paging::NextUrl { next_url, .. } => format!("next URL at {next_url}, pages in order"),
    }
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(width - 1).collect::<String>())
    }
}
