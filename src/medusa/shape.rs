//! How a product's options and variants look in Medusa. Medusa wants every variant to have a
//! value for every option of its product, each combination once: a product's own options when
//! its variants satisfy that; one option `Default option` for a product sold one way (what
//! every product got before variants); otherwise one option `Variant` naming each variant.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::Product;

/// The option of a product sold one way, and its one value (also its variant's title).
pub const DEFAULT_OPTION: &str = "Default option";
pub const DEFAULT_VALUE: &str = "Default";

/// The option that names each variant of a product whose own options cannot tell its
/// variants apart.
pub const VARIANT_OPTION: &str = "Variant";

/// A product's options and variants as Medusa gets them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Option titles with their values, in upstream order.
    pub options: Vec<(String, Vec<String>)>,
    /// One per live variant, in the product's order.
    pub variants: Vec<VariantShape>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantShape {
    pub title: String,
    /// Option title to value: one value for every option.
    pub options: BTreeMap<String, String>,
}

impl Shape {
    pub fn of(product: &Product) -> Shape {
        let variants = &product.variants;
        if product.options.is_empty() && variants.len() <= 1 {
            let title = DEFAULT_VALUE.to_owned();
            return Shape {
                options: vec![(DEFAULT_OPTION.to_owned(), vec![title.clone()])],
                variants: variants
                    .iter()
                    .map(|_| VariantShape {
                        title: title.clone(),
                        options: BTreeMap::from([(DEFAULT_OPTION.to_owned(), title.clone())]),
                    })
                    .collect(),
            };
        }
        if let Some(shape) = own_options(product) {
            return shape;
        }
        let titles: Vec<&str> = variants.iter().map(|v| v.title.trim()).collect();
        let distinct: BTreeSet<&str> = titles.iter().copied().collect();
        let by_title = distinct.len() == titles.len() && !distinct.contains("");
        let names: Vec<String> = variants
            .iter()
            .map(|v| {
                if by_title {
                    v.title.trim().to_owned()
                } else {
                    v.external_id.clone()
                }
            })
            .collect();
        Shape {
            options: vec![(VARIANT_OPTION.to_owned(), names.clone())],
            variants: variants
                .iter()
                .zip(names)
                .map(|(v, name)| VariantShape {
                    title: title_of(&v.title, &name),
                    options: BTreeMap::from([(VARIANT_OPTION.to_owned(), name)]),
                })
                .collect(),
        }
    }

    /// The option titles, as a set.
    pub fn titles(&self) -> BTreeSet<&str> {
        self.options.iter().map(|(t, _)| t.as_str()).collect()
    }
}

/// The product's own options, when every variant has a value for each and no two variants
/// have the same values. The values listed are the product's, then any a variant uses that the
/// product does not list.
fn own_options(product: &Product) -> Option<Shape> {
    let mut options: Vec<(String, Vec<String>)> = product
        .options
        .iter()
        .map(|o| (o.name.clone(), o.values.clone()))
        .collect();
    let titles: BTreeSet<&str> = product.options.iter().map(|o| o.name.as_str()).collect();
    if titles.len() != options.len() || titles.contains("") {
        return None;
    }
    let mut seen = BTreeSet::new();
    let mut variants = Vec::with_capacity(product.variants.len());
    for v in &product.variants {
        let map: BTreeMap<String, String> = v
            .options
            .iter()
            .filter(|(name, _)| titles.contains(name.as_str()))
            .map(|(n, value)| (n.clone(), value.clone()))
            .collect();
        if map.len() != titles.len()
            || map.values().any(String::is_empty)
            || !seen.insert(map.clone())
        {
            return None;
        }
        for (title, values) in &mut options {
            let value = &map[title];
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
        let joined: Vec<&str> = product
            .options
            .iter()
            .map(|o| map[&o.name].as_str())
            .collect();
        variants.push(VariantShape {
            title: title_of(&v.title, &joined.join(" / ")),
            options: map,
        });
    }
    for (_, values) in &mut options {
        let mut seen = BTreeSet::new();
        values.retain(|v| !v.is_empty() && seen.insert(v.clone()));
    }
    Some(Shape { options, variants })
}

/// A variant's title, or `otherwise` when it has none (Medusa requires one).
fn title_of(title: &str, otherwise: &str) -> String {
    if title.trim().is_empty() {
        otherwise.to_owned()
    } else {
        title.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ProductOption, Variant};

    fn variant(id: &str, title: &str, options: &[(&str, &str)]) -> Variant {
        Variant {
            external_id: id.into(),
            title: title.into(),
            sku: None,
            barcode: None,
            options: options
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            stock: None,
            prices: Vec::new(),
            attributes: Default::default(),
        }
    }

    fn product(options: &[(&str, &[&str])], variants: Vec<Variant>) -> Product {
        Product {
            options: options
                .iter()
                .map(|(name, values)| ProductOption {
                    name: (*name).into(),
                    values: values.iter().map(|v| (*v).to_owned()).collect(),
                })
                .collect(),
            variants,
            ..crate::domain::sample("1")
        }
    }

    #[test]
    fn a_product_sold_one_way_keeps_the_default_option() {
        let shape = Shape::of(&product(&[], vec![variant("1", "Lipstick", &[])]));
        assert_eq!(
            shape.options,
            [("Default option".into(), vec!["Default".into()])]
        );
        assert_eq!(shape.variants[0].title, "Default");
        assert_eq!(shape.variants[0].options["Default option"], "Default");
    }

    #[test]
    fn own_options_are_kept_with_the_values_variants_use() {
        let p = product(
            &[("Size", &["S", "M"]), ("Color", &["Black"])],
            vec![
                variant("1", "S / Black", &[("Size", "S"), ("Color", "Black")]),
                variant("2", "", &[("Size", "XL"), ("Color", "Black")]),
            ],
        );
        let shape = Shape::of(&p);
        assert_eq!(
            shape.options,
            [
                ("Size".into(), vec!["S".into(), "M".into(), "XL".into()]),
                ("Color".into(), vec!["Black".into()])
            ]
        );
        assert_eq!(
            shape.variants[1].title, "XL / Black",
            "named from its values"
        );
    }

    #[test]
    fn variants_their_options_cannot_tell_apart_get_an_option_of_their_own() {
        let same = product(
            &[("Size", &["S"])],
            vec![
                variant("a", "Red", &[("Size", "S")]),
                variant("b", "Blue", &[("Size", "S")]),
            ],
        );
        let shape = Shape::of(&same);
        assert_eq!(
            shape.options,
            [("Variant".into(), vec!["Red".into(), "Blue".into()])]
        );
        let untitled = product(&[], vec![variant("a", "", &[]), variant("b", "", &[])]);
        let shape = Shape::of(&untitled);
        assert_eq!(
            shape.options,
            [("Variant".into(), vec!["a".into(), "b".into()])]
        );
        assert_eq!(shape.variants[1].title, "b");
        let missing = product(
            &[("Size", &["S"]), ("Color", &["Red"])],
            vec![variant("a", "A", &[("Size", "S")]), variant("b", "B", &[])],
        );
        assert_eq!(Shape::of(&missing).titles(), BTreeSet::from(["Variant"]));
    }
}
