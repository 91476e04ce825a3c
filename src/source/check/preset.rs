//! Presets and the shop's address: a file that names a preset starts from that built-in source
//! and overrides its keys; `{base_url}` in any of its strings is the file's `base_url`.

use super::Checker;
use crate::source::{DUMMYJSON, SHOPIFY, SourceError, WOOCOMMERCE};

/// Presets a file may start from, by name.
const PRESETS: [(&str, &str); 3] = [
    ("dummyjson", DUMMYJSON),
    ("shopify", SHOPIFY),
    ("woocommerce", WOOCOMMERCE),
];

/// The file's table with its preset applied and `{base_url}` filled in.
pub(super) fn apply(
    mut table: toml::Table,
    checker: &Checker<'_>,
) -> Result<toml::Table, SourceError> {
    if let Some(preset) = table.get("preset") {
        let name = preset.as_str().unwrap_or_default();
        let Some((_, base)) = PRESETS.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            return Err((checker.fail)(
                "preset",
                format!("unknown preset {name:?}; known: {}", known.join(", ")),
            ));
        };
        let mut merged: toml::Table = toml::from_str(base).expect("a preset is valid TOML");
        merge(&mut merged, std::mem::take(&mut table));
        table = merged;
    }
    let base_url = match table.get("base_url") {
        None => None,
        Some(value) => {
            let text = value.as_str().ok_or_else(|| {
                (checker.fail)("base_url", "must be a string: the shop's address".into())
            })?;
            let url = checker.url("base_url", text)?;
            Some(url.as_str().trim_end_matches('/').to_owned())
        }
    };
    let mut unfilled = false;
    fill(&mut table, base_url.as_deref(), &mut unfilled);
    if unfilled {
        return Err((checker.fail)(
            "base_url",
            "missing: the file's URLs start from the shop's address, e.g. base_url = \"https://shop.example\"".into(),
        ));
    }
    Ok(table)
}

/// `over`'s keys replace `base`'s, tables merged key by key.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Puts `base_url` where a string says `{base_url}`; notes one it cannot fill.
fn fill(table: &mut toml::Table, base_url: Option<&str>, unfilled: &mut bool) {
    for (_, value) in table.iter_mut() {
        fill_value(value, base_url, unfilled);
    }
}

fn fill_value(value: &mut toml::Value, base_url: Option<&str>, unfilled: &mut bool) {
    match value {
        toml::Value::String(text) if text.contains("{base_url}") => match base_url {
            Some(base) => *text = text.replace("{base_url}", base),
            None => *unfilled = true,
        },
        toml::Value::Table(inner) => fill(inner, base_url, unfilled),
        toml::Value::Array(items) => {
            for item in items {
                fill_value(item, base_url, unfilled);
            }
        }
        _ => {}
    }
}
