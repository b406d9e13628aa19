//! The conditional PUT of an object erasure against a real S3-compatible server (moto's): an
//! object held for an erasure and changed by another writer meanwhile is never overwritten.
//! Its own test binary: it sets the process's S3 environment, which no other test may share.

#![cfg(feature = "interop")]

mod common;

use common::Project;
use common::moto::{moto, upload};

/// The conditional PUT itself: an object held for an erasure and changed by another writer
/// before it is put back is not overwritten (the store checks `If-Match`).
#[test]
fn a_held_object_changed_by_another_writer_is_never_overwritten() {
    use piitrail::source::location::Store;
    let m = moto();
    let p = Project::new();
    p.write(
        "data/customers.csv",
        "customer_id,email\n7,user7@example.org\n",
    );
    upload(&m, &p, &["customers.csv"]);
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", m.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        // SAFETY: the only test of this binary (no other thread reads the environment).
        unsafe { std::env::set_var(k, v) };
    }
    let url = "s3://exports/shop/customers.csv";
    let held = piitrail::source::objects::hold(Store::S3, url)
        .unwrap()
        .expect("the object is there");
    std::fs::write(&held.copy.source.path, "customer_id\n").unwrap();
    common::moto::put(&m, "shop/customers.csv", b"theirs\n");
    let err = held.replace().unwrap_err().to_string();
    assert!(err.contains("changed by another writer"), "{err}");
    assert_eq!(
        common::moto::download(&m, "shop/customers.csv"),
        b"theirs\n"
    );
    // Held again, it is replaced.
    let held = piitrail::source::objects::hold(Store::S3, url)
        .unwrap()
        .unwrap();
    std::fs::write(&held.copy.source.path, "customer_id\n").unwrap();
    held.replace().unwrap();
    assert_eq!(
        common::moto::download(&m, "shop/customers.csv"),
        b"customer_id\n"
    );
}
