//! Unit tests of the variant model: counts, combinations, ids, drawn values, edits and the
//! decimal price helpers.

use std::collections::HashSet;

use super::*;

fn basis() -> Basis {
    Basis {
        sku: String::from("BEA-ESS-MAS-007"),
        price_cents: 1999,
    }
}

fn variants(plan: VariantPlan, id: u64) -> Vec<Variant> {
    resolve(plan.seed, id, &basis(), &plan.listed(id, None))
}

#[test]
fn counts_average_the_setting_and_stay_in_range() {
    let plan = VariantPlan::new(1, 5);
    let counts: Vec<u32> = (1..=2000).map(|id| plan.count(id)).collect();
    assert!(counts.iter().all(|c| (1..=9).contains(c)), "1..=2N-1");
    let average = f64::from(counts.iter().sum::<u32>()) / 2000.0;
    assert!((4.5..=5.5).contains(&average), "average {average}");
    assert_eq!(
        counts.iter().copied().collect::<HashSet<_>>().len(),
        9,
        "every count occurs"
    );
    assert!((1..=500).all(|id| VariantPlan::new(1, 1).count(id) == 1));
    let clamped = VariantPlan::new(1, 15);
    assert!((1..=500).all(|id| (1..=MAX_VARIANTS).contains(&clamped.count(id))));
    assert!((1..=500).any(|id| clamped.count(id) == MAX_VARIANTS));
    assert_eq!(VariantPlan::new(1, 0).count(3), 0);
    assert!(VariantPlan::new(1, 0).listed(3, None).is_empty());
}

#[test]
fn variants_are_distinct_combinations_with_catalog_wide_ids() {
    let plan = VariantPlan::new(7, 10);
    let mut ids = HashSet::new();
    for id in 1..=300 {
        let list = variants(plan, id);
        let combos: HashSet<(&str, &str)> = list.iter().map(|v| (v.size, v.color)).collect();
        assert_eq!(combos.len(), list.len(), "distinct (size, colour) of {id}");
        for v in &list {
            assert!(ids.insert(v.id), "variant id {} is unique", v.id);
            assert_eq!(v.id / 10_000, id);
            assert_eq!(v.sku, format!("BEA-ESS-MAS-007-{}-{}", v.size, v.color));
        }
        // Listed in size, then colour order.
        let order: Vec<(usize, usize)> = list
            .iter()
            .map(|v| {
                let size = SIZES.iter().position(|s| *s == v.size).expect("size");
                let color = COLORS.iter().position(|c| *c == v.color).expect("color");
                (size, color)
            })
            .collect();
        assert!(order.is_sorted(), "{order:?}");
        assert_eq!(list, variants(plan, id), "the same every time");
    }
    assert_ne!(
        variants(plan, 5),
        variants(VariantPlan::new(8, 10), 5),
        "the seed matters"
    );
}

#[test]
fn drawn_values_look_like_a_shops() {
    let plan = VariantPlan::new(3, 5);
    let (mut total, mut compared, mut sales, mut open_sales) = (0, 0, 0, 0);
    for id in 1..=1000 {
        for v in variants(plan, id) {
            total += 1;
            let cents = to_cents(&v.price).expect("decimal price");
            assert!((1899..=2339).contains(&cents), "{} near 19.99", v.price);
            assert_eq!(v.price.split_once('.').expect("decimals").1.len(), 2);
            assert!(v.stock < 100);
            assert_eq!(format!("{:013}", v.barcode).len(), 13);
            if let Some(compare) = &v.compare_at {
                compared += 1;
                assert_eq!(cmp_decimal(compare, &v.price), Ordering::Greater);
            }
            if let Some(sale) = &v.sale {
                sales += 1;
                assert_eq!(cmp_decimal(&sale.price, &v.price), Ordering::Less);
                if sale.from_ms.is_none() {
                    open_sales += 1;
                    assert!(sale.is_active(0) && sale.to_ms.is_none());
                }
            }
        }
    }
    let share = |n: i32| f64::from(n) / f64::from(total);
    assert!(
        (0.28..0.39).contains(&share(compared)),
        "{compared}/{total}"
    );
    assert!((0.2..0.3).contains(&share(sales)), "{sales}/{total}");
    assert!(open_sales > 0 && open_sales < sales);
}

#[test]
fn edits_keep_ids_and_use_new_combinations() {
    let plan = VariantPlan::new(1, 3);
    let id = (1..)
        .find(|&id| plan.count(id) == 2)
        .expect("a product of two");
    let mut edits = plan.initial(id);
    let first: Vec<u64> = variants(plan, id).iter().map(|v| v.id).collect();
    assert_eq!(first, [id * 10_000 + 1, id * 10_000 + 2]);
    assert!(edits.set_price(id, first[1], "5.5"));
    assert!(
        !edits.set_price(id, id * 10_000 + 3, "5.5"),
        "no such variant"
    );
    assert!(edits.remove(id, first[0]));
    assert!(!edits.remove(id, first[0]), "removed already");
    let listed = resolve(1, id, &basis(), &plan.listed(id, Some(&edits)));
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].price.as_str()), (first[1], "5.5"));
    let mut added = Vec::new();
    while let Some(variant) = plan.add(id, &mut edits) {
        added.push(variant);
    }
    assert_eq!(
        added.len(),
        MAX_VARIANTS as usize - 1,
        "up to every combination"
    );
    assert_eq!(added[0], id * 10_000 + 3, "a removed id is never reused");
    let all = resolve(1, id, &basis(), &plan.listed(id, Some(&edits)));
    let combos: HashSet<(&str, &str)> = all.iter().map(|v| (v.size, v.color)).collect();
    assert_eq!(combos.len(), MAX_VARIANTS as usize);

    let mut one_way = VariantEdits::default();
    let off = VariantPlan::new(1, 0);
    assert_eq!(off.add(9, &mut one_way), Some(90_001), "a first variant");
}

#[test]
fn decimal_prices_are_checked_and_compared_exactly() {
    for good in [
        "0",
        "12",
        "12.5",
        "12.50",
        "0.01",
        "123456789012345678901234567890.1",
    ] {
        assert!(valid_price(good), "{good}");
    }
    for bad in [
        "", "-1", "012", "1.", ".5", "1e3", "1,5", " 1", "NaN", "\"1\"",
    ] {
        assert!(!valid_price(bad), "{bad}");
    }
    assert_eq!(to_cents("12.5"), Some(1250));
    assert_eq!(to_cents("9.999"), Some(999));
    assert_eq!(to_cents("7"), Some(700));
    assert_eq!(to_cents("123456789012345678901234567890"), None);
    assert_eq!(cents_text(1250), "12.50");
    assert_eq!(cents_text(7), "0.07");
    assert_eq!(cmp_decimal("12.5", "12.50"), Ordering::Equal);
    assert_eq!(cmp_decimal("9.99", "10"), Ordering::Less);
    assert_eq!(cmp_decimal("0.5", "0.45"), Ordering::Greater);
    assert_eq!(cmp_decimal("100", "99.99"), Ordering::Greater);
}
