//! The keys of a product's model: `[variants]` (with `[[variants.prices]]`) and `[options]`.

use super::Checker;
use crate::domain::{Currency, PriceKind};
use crate::source::file;
use crate::source::{
    Fields, OptionFields, Pointer, PriceField, SourceError, VariantEndpoint, VariantFields,
    VariantOptions,
};

impl Checker<'_> {
    pub(super) fn variants(
        &self,
        v: file::Variants,
        fields: &Fields,
    ) -> Result<VariantFields, SourceError> {
        // With variants, a product's price, SKU and stock are its variants': a second mapping
        // of them could only disagree.
        for (key, set) in [
            ("price", fields.price.is_some()),
            ("sku", fields.sku.is_some()),
            ("stock", fields.stock.is_some()),
        ] {
            if set {
                return Err((self.fail)(
                    &format!("fields.{key}"),
                    format!(
                        "with [variants], a product's {key} comes from its variants: map variants.{} instead",
                        if key == "price" { "prices" } else { key }
                    ),
                ));
            }
        }
        let one = |key: &str, text: Option<String>| -> Result<Option<Pointer>, SourceError> {
            text.map(|t| self.single(&format!("variants.{key}"), &t))
                .transpose()
        };
        let options = match (v.options, v.option_list) {
            (Some(_), Some(_)) => {
                return Err((self.fail)(
                    "variants.options",
                    "give the option values by position (options) or as a list (option_list), not both".into(),
                ));
            }
            (Some(list), None) => VariantOptions::ByPosition(
                list.iter()
                    .map(|t| self.single("variants.options", t))
                    .collect::<Result<_, _>>()?,
            ),
            (None, Some(list)) => VariantOptions::Pairs {
                list: self.pointer("variants.option_list", &list)?,
                name: one(
                    "option_name",
                    Some(v.option_name.unwrap_or_else(|| "/name".into())),
                )?
                .expect("set"),
                value: one(
                    "option_value",
                    Some(v.option_value.unwrap_or_else(|| "/option".into())),
                )?
                .expect("set"),
            },
            (None, None) => VariantOptions::None,
        };
        if !matches!(options, VariantOptions::None) && fields.options.is_none() {
            return Err((self.fail)(
                "options",
                "variants name option values: [options] must say where the product's options are"
                    .into(),
            ));
        }
        let prices = v
            .prices
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.price(i, p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut pairs: Vec<(&Option<Currency>, PriceKind)> = Vec::new();
        for p in &prices {
            if pairs.contains(&(&p.currency, p.kind)) {
                return Err((self.fail)(
                    "variants.prices",
                    format!(
                        "two prices of kind {} in the same currency; a variant has one of each",
                        p.kind.as_str()
                    ),
                ));
            }
            pairs.push((&p.currency, p.kind));
        }
        let endpoint = match v.url {
            None => None,
            Some(url) => {
                if v.records.is_none() {
                    return Err((self.fail)(
                        "variants.url",
                        "needs variants.records: the record's list of variant ids, which says whether a product has variants to fetch".into(),
                    ));
                }
                let page_size = v.page_size.unwrap_or(100);
                if !(1..=1000).contains(&page_size) {
                    return Err((self.fail)(
                        "variants.page_size",
                        "must be between 1 and 1000".into(),
                    ));
                }
                Some(VariantEndpoint {
                    url: self.id_url("variants.url", &url)?,
                    page_size,
                    limit_param: v.limit_param.unwrap_or_else(|| "per_page".into()),
                    page_param: v.page_param.unwrap_or_else(|| "page".into()),
                })
            }
        };
        Ok(VariantFields {
            records: v
                .records
                .map(|t| self.pointer("variants.records", &t))
                .transpose()?,
            endpoint,
            external_id: one(
                "external_id",
                Some(v.external_id.unwrap_or_else(|| "/id".into())),
            )?
            .expect("set"),
            title: one("title", v.title)?,
            sku: one("sku", v.sku)?,
            barcode: one("barcode", v.barcode)?,
            stock: one("stock", v.stock)?,
            options,
            prices,
            attributes: v.attributes,
        })
    }

    fn price(&self, i: usize, p: file::VariantPrice) -> Result<PriceField, SourceError> {
        let key = |k: &str| format!("variants.prices[{i}].{k}");
        let amount = self.required(&key("amount"), p.amount)?;
        let kind = match p.kind.as_deref() {
            None => PriceKind::Base,
            Some(text) => PriceKind::parse(text).ok_or_else(|| {
                (self.fail)(
                    &key("kind"),
                    format!("unknown kind {text:?}; expected base, compare_at or sale"),
                )
            })?,
        };
        let time =
            |k: &str, text: Option<String>| text.map(|t| self.single(&key(k), &t)).transpose();
        Ok(PriceField {
            amount: self.single(&key("amount"), &amount)?,
            kind,
            currency: p
                .currency
                .map(|c| Currency::parse(&c).map_err(|e| (self.fail)(&key("currency"), e)))
                .transpose()?,
            starts_at: time("starts_at", p.starts_at)?,
            ends_at: time("ends_at", p.ends_at)?,
        })
    }

    pub(super) fn options(&self, o: file::Options) -> Result<OptionFields, SourceError> {
        Ok(OptionFields {
            records: self.pointer(
                "options.records",
                &self.required("options.records", o.records)?,
            )?,
            name: self.single("options.name", o.name.as_deref().unwrap_or("/name"))?,
            values: self.pointer("options.values", o.values.as_deref().unwrap_or("/values"))?,
        })
    }
}
