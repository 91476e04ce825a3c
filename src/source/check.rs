//! From the text of a source file to a checked [`Source`]: the preset applied, unknown keys
//! refused, every value checked, secrets looked up in the environment.

use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderName;

use super::file::{self, File};
use super::{
    Auth, Changes, Fields, Item, List, Paging, Pointer, Source, SourceError, TimeFormat, Total,
};
use crate::domain::Currency;

const STYLES: &str = "offset, page, cursor, link_header, next_url";

pub(super) fn source(
    origin: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Source, SourceError> {
    let fail = |key: &str, problem: String| SourceError {
        file: origin.to_owned(),
        key: key.to_owned(),
        problem,
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| fail("", e.to_string()))?;
    let checker = Checker { fail: &fail, env };
    let table = preset::apply(table, &checker)?;
    let file: File = serde_path_to_error::deserialize(table)
        .map_err(|e| fail(&e.path().to_string(), e.inner().to_string()))?;
    checker.source(origin, file)
}

struct Checker<'a> {
    fail: &'a dyn Fn(&str, String) -> SourceError,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Checker<'_> {
    fn source(&self, origin: &str, file: File) -> Result<Source, SourceError> {
        let list = file.list.ok_or_else(|| self.missing("list"))?;
        let item = file.item.ok_or_else(|| self.missing("item"))?;
        let mut fields = self.fields(file.fields.ok_or_else(|| self.missing("fields"))?)?;
        fields.currency = match file.currency {
            Some(code) => Currency::parse(&code).map_err(|e| (self.fail)("currency", e))?,
            None => Currency::default(),
        };
        fields.options = file.options.map(|o| self.options(o)).transpose()?;
        fields.variants = file
            .variants
            .map(|v| self.variants(v, &fields))
            .transpose()?;
        Ok(Source {
            origin: origin.to_owned(),
            list: self.list(list)?,
            item: self.item(item)?,
            changes: file.changes.map(|c| self.changes(c)).transpose()?,
            auth: match file.auth {
                Some(auth) => self.auth(auth)?,
                None => Auth::None,
            },
            rate_limit: file.rate_limit.map(|r| self.rate_limit(r)).transpose()?,
            event_may_omit: file
                .events
                .map(|e| self.may_omit(e, &fields))
                .transpose()?
                .unwrap_or_default(),
            fields,
        })
    }

    /// `[events] may_omit`: names of `[fields]` keys, or of members `fields.attributes` keeps.
    fn may_omit(&self, events: file::Events, fields: &Fields) -> Result<Vec<String>, SourceError> {
        for name in &events.may_omit {
            if ["external_id", "title"].contains(&name.as_str()) {
                return Err((self.fail)(
                    "events.may_omit",
                    format!("{name:?} is required in every record; it cannot be omitted"),
                ));
            }
            let kept = fields
                .attributes
                .as_ref()
                .is_some_and(|kept| kept.contains(name));
            let list = match name.as_str() {
                "variants" => fields
                    .variants
                    .as_ref()
                    .is_some_and(|v| v.records.is_some()),
                "options" => fields.options.is_some(),
                _ => false,
            };
            if !kept && !list && !fields.named().any(|(key, _)| key == name) {
                return Err((self.fail)(
                    "events.may_omit",
                    format!(
                        "{name:?} is not a mapped key of [fields], \"variants\", \"options\" nor a member fields.attributes keeps"
                    ),
                ));
            }
        }
        Ok(events.may_omit)
    }

    /// `fields.attributes`: member names, none of them taken whole by a pointer.
    fn kept(&self, fields: Fields) -> Result<Fields, SourceError> {
        for name in fields.attributes.iter().flatten() {
            if name.is_empty() {
                return Err((self.fail)(
                    "fields.attributes",
                    "names the record's members kept as attributes; \"\" is none".into(),
                ));
            }
            if let Some((key, _)) = fields
                .named()
                .find(|(_, p)| p.takes_whole_field() && p.top_key() == Some(name.as_str()))
            {
                return Err((self.fail)(
                    "fields.attributes",
                    format!(
                        "{name:?} is mapped whole by fields.{key}; it cannot also be kept as an attribute"
                    ),
                ));
            }
        }
        Ok(fields)
    }

    fn missing(&self, key: &str) -> SourceError {
        (self.fail)(key, "missing".into())
    }

    fn required<T>(&self, key: &str, value: Option<T>) -> Result<T, SourceError> {
        value.ok_or_else(|| self.missing(key))
    }

    fn pointer(&self, key: &str, text: &str) -> Result<Pointer, SourceError> {
        Pointer::parse(text).map_err(|e| (self.fail)(key, e))
    }

    /// A pointer to one value: no `*`.
    fn single(&self, key: &str, text: &str) -> Result<Pointer, SourceError> {
        let pointer = self.pointer(key, text)?;
        if pointer.maps_over_arrays() {
            return Err((self.fail)(
                key,
                format!("{pointer} selects several values; this field takes one"),
            ));
        }
        Ok(pointer)
    }

    fn url(&self, key: &str, text: &str) -> Result<Url, SourceError> {
        let url = Url::parse(text).map_err(|e| (self.fail)(key, format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err((self.fail)(
                key,
                "must be an http(s) URL with a host".into(),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err((self.fail)(
                key,
                "carries credentials; put them in the environment and name the variables in [auth]"
                    .into(),
            ));
        }
        Ok(url)
    }

    fn duration(&self, key: &str, text: &str) -> Result<Duration, SourceError> {
        humantime::parse_duration(text)
            .map_err(|e| (self.fail)(key, format!("{e} (examples: 500ms, 10s, 5m)")))
    }

    fn list(&self, list: file::List) -> Result<List, SourceError> {
        let url = self.url("list.url", &self.required("list.url", list.url)?)?;
        let records = self.single("list.records", list.records.as_deref().unwrap_or(""))?;
        let page_size = list.page_size.unwrap_or(100);
        if !(1..=10_000).contains(&page_size) {
            return Err((self.fail)(
                "list.page_size",
                "must be between 1 and 10000".into(),
            ));
        }
        let paging = self.paging(self.required("list.paging", list.paging)?)?;
        Ok(List {
            url,
            records,
            page_size,
            query: list.query.into_iter().collect(),
            id_query: list.id_query.into_iter().collect(),
            paging,
        })
    }

    fn paging(&self, p: file::Paging) -> Result<Paging, SourceError> {
        let style = self.required("list.paging.style", p.style)?;
        // Keys that belong to other styles are mistakes, not defaults.
        let allowed: &[&str] = match style.as_str() {
            "offset" => &["limit_param", "offset_param", "total"],
            "page" => &["limit_param", "page_param", "first_page", "total"],
            "cursor" => &["limit_param", "cursor", "cursor_param"],
            "link_header" => &["limit_param"],
            "next_url" => &["limit_param", "next_url"],
            other => {
                return Err((self.fail)(
                    "list.paging.style",
                    format!("unknown style {other:?}; expected one of {STYLES}"),
                ));
            }
        };
        let set = [
            ("offset_param", p.offset_param.is_some()),
            ("page_param", p.page_param.is_some()),
            ("first_page", p.first_page.is_some()),
            ("total", p.total.is_some()),
            ("cursor", p.cursor.is_some()),
            ("cursor_param", p.cursor_param.is_some()),
            ("next_url", p.next_url.is_some()),
        ];
        if let Some((key, _)) = set.iter().find(|(k, on)| *on && !allowed.contains(k)) {
            return Err((self.fail)(
                &format!("list.paging.{key}"),
                format!("does not apply to style {style:?}"),
            ));
        }
        let limit_param = p.limit_param.unwrap_or_else(|| "limit".into());
        let total = p.total.map(|t| self.total(&t)).transpose()?;
        Ok(match style.as_str() {
            "offset" => Paging::Offset {
                limit_param,
                offset_param: p.offset_param.unwrap_or_else(|| "offset".into()),
                total,
            },
            "page" => Paging::Page {
                limit_param,
                page_param: p.page_param.unwrap_or_else(|| "page".into()),
                first_page: p.first_page.unwrap_or(1),
                total,
            },
            "cursor" => Paging::Cursor {
                limit_param,
                cursor: self.single(
                    "list.paging.cursor",
                    &self.required("list.paging.cursor", p.cursor)?,
                )?,
                cursor_param: p.cursor_param.unwrap_or_else(|| "cursor".into()),
            },
            "link_header" => Paging::LinkHeader { limit_param },
            _ => Paging::NextUrl {
                limit_param,
                next_url: self.single(
                    "list.paging.next_url",
                    &self.required("list.paging.next_url", p.next_url)?,
                )?,
            },
        })
    }

    fn total(&self, text: &str) -> Result<Total, SourceError> {
        const KEY: &str = "list.paging.total";
        match text.strip_prefix("header:") {
            Some(name) => HeaderName::try_from(name.trim())
                .map(Total::Header)
                .map_err(|e| (self.fail)(KEY, format!("{name:?} is not a header name: {e}"))),
            None => self.single(KEY, text).map(Total::Body),
        }
    }

    fn item(&self, item: file::Item) -> Result<Item, SourceError> {
        let url = self.required("item.url", item.url)?;
        Ok(Item {
            url: self.id_url("item.url", &url)?,
            record: self.single("item.record", item.record.as_deref().unwrap_or(""))?,
            query: item.query.into_iter().collect(),
        })
    }

    /// A URL with `{id}` where a product id goes, in the path or the query only.
    fn id_url(&self, key: &str, url: &str) -> Result<String, SourceError> {
        if !url.contains("{id}") {
            return Err((self.fail)(
                key,
                "must contain {id}, where the product id goes".into(),
            ));
        }
        if let Some(part) = misplaced_id(url) {
            return Err((self.fail)(
                key,
                format!(
                    "{{id}} stands in the {part}: it may only stand in the path or the query, so that no product id can choose where requests (and their credentials) go"
                ),
            ));
        }
        self.url(key, &url.replace("{id}", "id"))?;
        Ok(url.to_owned())
    }

    fn changes(&self, c: file::Changes) -> Result<Changes, SourceError> {
        let format = match c.format.as_deref().unwrap_or("rfc3339") {
            "rfc3339" => TimeFormat::Rfc3339,
            "unix" => TimeFormat::Unix,
            other => {
                return Err((self.fail)(
                    "changes.format",
                    format!("unknown format {other:?}; expected rfc3339 or unix"),
                ));
            }
        };
        Ok(Changes {
            param: self.required("changes.param", c.param)?,
            format,
            overlap: self.duration("changes.overlap", c.overlap.as_deref().unwrap_or("5m"))?,
        })
    }

    fn fields(&self, f: file::Fields) -> Result<Fields, SourceError> {
        let one = |key: &str, value: Option<String>| {
            value
                .map(|text| self.single(&format!("fields.{key}"), &text))
                .transpose()
        };
        let many = |key: &str, value: Option<String>| {
            value
                .map(|text| self.pointer(&format!("fields.{key}"), &text))
                .transpose()
        };
        let required = |key: &str, value: Option<String>| {
            one(key, value)?.ok_or_else(|| self.missing(&format!("fields.{key}")))
        };
        Ok(Fields {
            external_id: required("external_id", f.external_id)?,
            title: required("title", f.title)?,
            price: one("price", f.price)?,
            description: one("description", f.description)?,
            stock: one("stock", f.stock)?,
            category: many("category", f.category)?,
            category_name: many("category_name", f.category_name)?,
            brand: one("brand", f.brand)?,
            sku: one("sku", f.sku)?,
            images: many("images", f.images)?,
            thumbnail: one("thumbnail", f.thumbnail)?,
            tags: many("tags", f.tags)?,
            updated_at: one("updated_at", f.updated_at)?,
            attributes: f.attributes,
            currency: Currency::default(),
            variants: None,
            options: None,
        })
        .and_then(|fields| self.kept(fields))
    }
}

/// The part of item URL `template` where `{id}` stands when that is neither the path nor the
/// query: the scheme, the user info, the host, the port or the fragment. The template is read
/// by the URL parser itself (which also takes `http:host` and backslashes as an authority), with
/// a placeholder in `{id}`'s place: letters, or a digit where only a digit parses (a port).
fn misplaced_id(template: &str) -> Option<&'static str> {
    const LETTERS: &str = "catalogsyncproductid";
    let Ok(url) = Url::parse(&template.replace("{id}", LETTERS)) else {
        let digit = Url::parse(&template.replace("{id}", "1"));
        return digit.is_ok().then_some("port");
    };
    let holds = |part: &str| part.contains(LETTERS);
    if holds(url.scheme()) {
        Some("scheme")
    } else if holds(url.username()) || url.password().is_some_and(holds) {
        Some("user info")
    } else if url.host_str().is_some_and(holds) {
        Some("host")
    } else if url.fragment().is_some_and(holds) {
        Some("fragment")
    } else {
        None
    }
}

mod access;
mod model;
mod preset;
#[cfg(test)]
mod tests;
