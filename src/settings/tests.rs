use super::*;

#[test]
fn secrets_do_not_print() {
    let secret = Secret::new("hunter2");
    assert_eq!(format!("{secret:?}"), "Secret(***)");
    assert!(!format!("{secret:?}").contains("hunter2"));
}

#[test]
fn database_urls_are_checked_without_echoing_them() {
    let db = |url: &str| DatabaseSettings {
        url: Secret::new(url),
        max_connections: 1,
    };
    let refused = db("mysql://user:hunter2@x").validate().unwrap_err();
    assert!(
        refused.contains("DATABASE_URL") && !refused.contains("hunter2"),
        "{refused}"
    );
    let schemeless = db("dbuser:hunter2@127.0.0.1/db").validate().unwrap_err();
    assert!(
        schemeless.contains("postgres://") && !schemeless.contains("dbuser"),
        "{schemeless}"
    );
    assert!(db("postgres://postgres@127.0.0.1/db").validate().is_ok());
}
