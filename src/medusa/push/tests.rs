use super::*;
use crate::store::ProductLink;

fn owed(link: Option<(&str, &str)>, archived: bool) -> OwedProduct {
    OwedProduct {
        archived,
        link: link.map(|(id, status)| ProductLink {
            medusa_product_id: id.to_owned(),
            medusa_handle: "red-lipstick".into(),
            pushed_status: status.to_owned(),
        }),
        ..crate::medusa::payload::tests::owed_product()
    }
}

#[test]
fn each_catalog_state_asks_medusa_for_one_thing() {
    use MedusaArchive::{Delete, Draft};
    let show = |p: &OwedProduct, archive| match action(p, archive) {
        Action::Create => "create".to_owned(),
        Action::Update { id, status, .. } => format!("update {id} {status}"),
        Action::Delete { id } => format!("delete {id}"),
        Action::ArchiveIfFound => "archive if found".to_owned(),
    };
    let linked = Some(("prod_1", "published"));
    let drafted = Some(("prod_1", "draft"));
    let deleted = Some(("prod_1", "deleted"));
    assert_eq!(show(&owed(None, false), Draft), "create");
    assert_eq!(show(&owed(None, true), Draft), "archive if found");
    assert_eq!(show(&owed(linked, false), Draft), "update prod_1 published");
    assert_eq!(
        show(&owed(drafted, false), Draft),
        "update prod_1 published"
    );
    assert_eq!(show(&owed(linked, true), Draft), "update prod_1 draft");
    assert_eq!(show(&owed(linked, true), Delete), "delete prod_1");
    // Medusa deleted it: a restored product is created anew, an archived one is left alone
    // unless Medusa still lists it.
    assert_eq!(show(&owed(deleted, false), Delete), "create");
    assert_eq!(show(&owed(deleted, true), Delete), "archive if found");
}
