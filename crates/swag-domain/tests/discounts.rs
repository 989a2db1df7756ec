//! Discount codes against a real database: application, and single use under replays and races.

mod support;

use std::sync::Arc;

use support::test_db;
use swag_domain::discount::{apply, create, redeem, Code, DiscountError, DiscountValue, NewCode};

async fn new_code(db: &sea_orm::DatabaseConnection, code: &str, value: DiscountValue) {
    create(
        db,
        NewCode {
            code: Code::parse(code).unwrap(),
            label: format!("{code} label"),
            value,
            created_by: "test".into(),
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn codes_apply_to_subtotals() {
    let t = test_db().await;
    new_code(&t.db, "HUNDRED", DiscountValue::AmountOff { cents: 10_000 }).await;
    new_code(&t.db, "HALF", DiscountValue::PercentOff { bps: 5_000 }).await;
    let hundred = apply(&t.db, "hundred", 4_500).await.unwrap();
    assert_eq!(
        (hundred.discount_cents, hundred.kind),
        (4_500, "amount_off")
    );
    let half = apply(&t.db, "HALF", 999).await.unwrap();
    assert_eq!((half.discount_cents, half.percent_off), (500, Some(50.0)));
    assert_eq!(
        apply(&t.db, "HALF", 0).await,
        Err(DiscountError::ZeroDiscount("HALF".into()))
    );
    assert_eq!(
        apply(&t.db, "NOPE", 100).await,
        Err(DiscountError::Unknown("NOPE".into()))
    );
    assert_eq!(
        apply(&t.db, "x", 100).await,
        Err(DiscountError::InvalidFormat)
    );
}

#[tokio::test]
async fn a_code_is_redeemed_once_even_when_sessions_race() {
    let t = test_db().await;
    new_code(&t.db, "ONCE", DiscountValue::AmountOff { cents: 500 }).await;
    let first = redeem(&t.db, "ONCE", "cs_1", "ord_00000001", 500)
        .await
        .unwrap();
    assert!(first.newly_recorded);
    let replay = redeem(&t.db, "ONCE", "cs_1", "ord_00000001", 500)
        .await
        .unwrap();
    assert!(!replay.newly_recorded, "same session again is a no-op");
    let other = redeem(&t.db, "ONCE", "cs_2", "ord_00000002", 500).await;
    assert_eq!(other, Err(DiscountError::AlreadyRedeemed("ONCE".into())));
    assert_eq!(
        apply(&t.db, "ONCE", 1_000).await,
        Err(DiscountError::AlreadyRedeemed("ONCE".into()))
    );

    new_code(&t.db, "RACE", DiscountValue::PercentOff { bps: 10_000 }).await;
    let db = Arc::new(t.db.clone());
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                redeem(
                    &db,
                    "RACE",
                    &format!("cs_race_{i}"),
                    &format!("ord_race{i:04}"),
                    100,
                )
                .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => winners += 1,
            Err(DiscountError::AlreadyRedeemed(_)) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(winners, 1);
}
