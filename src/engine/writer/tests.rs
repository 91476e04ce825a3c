use super::*;
use crate::domain::sample_product;

fn product(id: &str, title: &str) -> PreparedProduct {
    let mut product = sample_product(id);
    product.title = title.into();
    PreparedProduct::from(product)
}

#[test]
fn repeated_ids_keep_their_last_version() {
    let mut batch = vec![product("1", "old"), product("2", "b"), product("1", "new")];
    assert_eq!(dedupe_by_external_id(&mut batch), 1);
    let titles: Vec<&str> = batch.iter().map(|p| p.product.title.as_str()).collect();
    assert_eq!(titles, vec!["b", "new"]);
}

#[test]
fn a_batch_without_repeats_is_untouched() {
    let mut batch = vec![product("1", "a"), product("2", "b")];
    assert_eq!(dedupe_by_external_id(&mut batch), 0);
    assert_eq!(batch.len(), 2);
}
