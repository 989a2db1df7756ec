//! Low-stock bookkeeping against a real database: the list, the dedupe that resolves restocked
//! variants, and recording what was announced.

mod support;

use chrono::{TimeZone, Utc};
use sea_orm::EntityTrait;
use support::test_db;
use swag_domain::catalog;
use swag_domain::entity::low_stock_notification;
use swag_domain::inventory::{adjust, Adjustment, LedgerEntry, LedgerMode, StockChange};
use swag_domain::low_stock::{dedupe, list_low_stock, record_notified, NotifyReason};

const MUG: &str = "event-mug-one_size-white";
const TEE_XXXL: &str = "durable-tee-xxxl-black";

async fn set_stock(db: &sea_orm::DatabaseConnection, variant_id: &str, count: i32) {
    let entry = LedgerEntry {
        mode: LedgerMode::AuditCount,
        batch_id: "test".to_owned(),
        actor_email: "tests".to_owned(),
        source: "tests".to_owned(),
        reason: "count".to_owned(),
    };
    let change = Adjustment {
        variant_id: variant_id.to_owned(),
        change: StockChange::Set(count),
        note: String::new(),
    };
    adjust(db, &entry, &[change]).await.unwrap();
}

#[tokio::test]
async fn low_variants_are_listed_announced_once_recorded_and_resolved_on_restock() {
    let t = test_db().await;
    catalog::seed(&t.db).await.unwrap();
    let at = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap();

    // Stock at the threshold counts as low.
    let low = list_low_stock(&t.db, 4).await.unwrap();
    let ids: Vec<&str> = low.iter().map(|v| v.variant_id.as_str()).collect();
    assert_eq!(ids, vec![TEE_XXXL]);
    assert_eq!(low[0].sku, "TEE-XXXL");

    set_stock(&t.db, MUG, 2).await;
    let low = list_low_stock(&t.db, 4).await.unwrap();
    assert_eq!(low.len(), 2);
    let decision = dedupe(&t.db, &low, 4, at).await.unwrap();
    assert_eq!(decision.notify.len(), 2);
    assert!(decision
        .notify
        .iter()
        .all(|n| n.reason == NotifyReason::FirstTime));
    record_notified(&t.db, &decision.notify, 4, at)
        .await
        .unwrap();
    // Recording again (a retried step) writes the same rows.
    record_notified(&t.db, &decision.notify, 4, at)
        .await
        .unwrap();
    let rows = low_stock_notification::Entity::find()
        .all(&t.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);

    let again = dedupe(&t.db, &low, 4, at).await.unwrap();
    assert!(again.notify.is_empty() && again.resolve.is_empty());

    set_stock(&t.db, MUG, 25).await;
    let low = list_low_stock(&t.db, 4).await.unwrap();
    let decision = dedupe(&t.db, &low, 4, at).await.unwrap();
    assert_eq!(decision.resolve, vec![MUG.to_owned()]);
    let mug = low_stock_notification::Entity::find_by_id(MUG)
        .one(&t.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mug.resolved_at, Some(at));
    let tee = low_stock_notification::Entity::find_by_id(TEE_XXXL)
        .one(&t.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((tee.last_stock, tee.resolved_at), (4, None));
}
