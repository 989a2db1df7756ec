//! The inventory ledger against a real database: reserve, replay, release, adjustments,
//! conservation, and no overselling under concurrency.

mod support;

use std::sync::Arc;

use sea_orm::EntityTrait;
use support::test_db;
use swag_domain::catalog;
use swag_domain::entity::{inventory_adjustment, order_reservation, product_variant};
use swag_domain::inventory::{
    adjust, ledger_totals, release_for_order, reserve_for_order, Adjustment, InventoryError,
    LedgerEntry, LedgerMode, ReserveLine, StockChange,
};

const MUG: &str = "event-mug-one_size-white";
const TEE_M: &str = "durable-tee-m-black";

async fn stock(db: &sea_orm::DatabaseConnection, id: &str) -> i32 {
    product_variant::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .stock
}

fn line(variant_id: &str, quantity: i32) -> ReserveLine {
    ReserveLine {
        variant_id: variant_id.into(),
        quantity,
    }
}

async fn assert_conserved(db: &sea_orm::DatabaseConnection) {
    let totals = ledger_totals(db).await.unwrap();
    for variant in product_variant::Entity::find().all(db).await.unwrap() {
        let change = totals.get(&variant.id).copied().unwrap_or(0);
        assert_eq!(
            i64::from(variant.stock),
            i64::from(variant.initial_stock) + change,
            "{}",
            variant.id
        );
        assert!(variant.stock >= 0);
    }
}

#[tokio::test]
async fn seeding_is_non_destructive() {
    let t = test_db().await;
    let first = catalog::seed(&t.db).await.unwrap();
    assert_eq!((first.inserted_products, first.products), (5, 5));
    assert_eq!(first.inserted_variants, first.variants);
    reserve_for_order(&t.db, "ord_seed0001", &[line(MUG, 3)], "ops@example.com")
        .await
        .unwrap();
    let second = catalog::seed(&t.db).await.unwrap();
    assert_eq!((second.inserted_products, second.inserted_variants), (0, 0));
    assert_eq!(stock(&t.db, MUG).await, 22, "existing stock untouched");
}

#[tokio::test]
async fn reservation_decrements_once_and_release_restores_once() {
    let t = test_db().await;
    catalog::seed(&t.db).await.unwrap();
    let lines = [line(MUG, 2), line(TEE_M, 1), line(MUG, 1)];
    let first = reserve_for_order(&t.db, "ord_aaaaaaaa", &lines, "system")
        .await
        .unwrap();
    assert!(!first.replayed);
    assert_eq!(stock(&t.db, MUG).await, 22);
    assert_eq!(stock(&t.db, TEE_M).await, 29);
    let mug_move = first.moves.iter().find(|m| m.variant_id == MUG).unwrap();
    assert_eq!(
        (mug_move.previous_stock, mug_move.change, mug_move.new_stock),
        (25, -3, 22)
    );

    let replay = reserve_for_order(&t.db, "ord_aaaaaaaa", &lines, "system")
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(stock(&t.db, MUG).await, 22, "replay decrements nothing");
    let different = reserve_for_order(&t.db, "ord_aaaaaaaa", &[line(MUG, 5)], "system").await;
    assert_eq!(
        different,
        Err(InventoryError::ReservationMismatch("ord_aaaaaaaa".into()))
    );

    let released = release_for_order(&t.db, "ord_aaaaaaaa", "payment failed", "system")
        .await
        .unwrap();
    assert_eq!(released.len(), 2);
    assert_eq!(stock(&t.db, MUG).await, 25);
    let again = release_for_order(&t.db, "ord_aaaaaaaa", "payment failed", "system")
        .await
        .unwrap();
    assert!(again.is_empty(), "second release restocks nothing");
    assert_eq!(stock(&t.db, MUG).await, 25);

    let ledger = inventory_adjustment::Entity::find()
        .all(&t.db)
        .await
        .unwrap();
    let modes: Vec<_> = ledger
        .iter()
        .map(|r| (r.mode.as_str(), r.variant_id.as_str(), r.quantity_change))
        .collect();
    assert_eq!(modes.len(), 4, "{modes:?}");
    assert!(ledger
        .iter()
        .any(|r| r.mode == "order_reservation" && r.batch_id == "res_ord_aaaaaaaa"));
    assert!(ledger
        .iter()
        .all(|r| r.previous_stock + r.quantity_change == r.new_stock));
    let reservations = order_reservation::Entity::find().all(&t.db).await.unwrap();
    assert!(reservations
        .iter()
        .all(|r| r.release_reason.as_deref() == Some("payment failed")));
    assert_conserved(&t.db).await;
}

#[tokio::test]
async fn insufficient_stock_changes_nothing() {
    let t = test_db().await;
    catalog::seed(&t.db).await.unwrap();
    let result = reserve_for_order(
        &t.db,
        "ord_bbbbbbbb",
        &[line(TEE_M, 1), line(MUG, 26)],
        "system",
    )
    .await;
    assert_eq!(
        result,
        Err(InventoryError::Insufficient {
            sku: "MUG-ONE_SIZE".into(),
            requested: 26,
            available: 25
        })
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "Insufficient inventory for MUG-ONE_SIZE; requested 26, available 25"
    );
    assert_eq!(
        stock(&t.db, TEE_M).await,
        30,
        "the whole reservation rolled back"
    );
    assert!(order_reservation::Entity::find()
        .all(&t.db)
        .await
        .unwrap()
        .is_empty());
    assert!(inventory_adjustment::Entity::find()
        .all(&t.db)
        .await
        .unwrap()
        .is_empty());
    let unknown = reserve_for_order(&t.db, "ord_cccccccc", &[line("nope", 1)], "system").await;
    assert_eq!(unknown, Err(InventoryError::UnknownVariant("nope".into())));
    let zero = reserve_for_order(&t.db, "ord_cccccccc", &[line(MUG, 0)], "system").await;
    assert!(matches!(zero, Err(InventoryError::InvalidQuantity { .. })));
}

#[tokio::test]
async fn adjustments_are_atomic_and_never_negative() {
    let t = test_db().await;
    catalog::seed(&t.db).await.unwrap();
    let entry = |mode| LedgerEntry {
        mode,
        batch_id: "batch-1".into(),
        actor_email: "ops@example.com".into(),
        source: "test".into(),
        reason: "counting".into(),
    };
    let received = adjust(
        &t.db,
        &entry(LedgerMode::ReceiveShipment),
        &[Adjustment {
            variant_id: MUG.into(),
            change: StockChange::Add(2),
            note: "box 1".into(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        (received[0].previous_stock, received[0].new_stock),
        (25, 27)
    );
    let counted = adjust(
        &t.db,
        &entry(LedgerMode::AuditCount),
        &[Adjustment {
            variant_id: MUG.into(),
            change: StockChange::Set(8),
            note: String::new(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(counted[0].change, -19);
    let negative = adjust(
        &t.db,
        &entry(LedgerMode::ManualCorrection),
        &[
            Adjustment {
                variant_id: TEE_M.into(),
                change: StockChange::Set(1),
                note: String::new(),
            },
            Adjustment {
                variant_id: MUG.into(),
                change: StockChange::Add(-9),
                note: String::new(),
            },
        ],
    )
    .await;
    assert!(
        matches!(negative, Err(InventoryError::NegativeStock { .. })),
        "{negative:?}"
    );
    assert_eq!(stock(&t.db, TEE_M).await, 30, "the batch rolled back whole");
    assert_conserved(&t.db).await;
}

#[tokio::test]
async fn concurrent_orders_never_oversell() {
    let t = test_db().await;
    catalog::seed(&t.db).await.unwrap();
    let db = Arc::new(t.db.clone());
    let variant = "cron-cap-one_size-navy";
    adjust(
        &db,
        &LedgerEntry {
            mode: LedgerMode::AuditCount,
            batch_id: "audit".into(),
            actor_email: "ops@example.com".into(),
            source: "test".into(),
            reason: "set to 50".into(),
        },
        &[Adjustment {
            variant_id: variant.into(),
            change: StockChange::Set(50),
            note: String::new(),
        }],
    )
    .await
    .unwrap();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let order = format!("ord_{i:08}");
                let first = reserve_for_order(&db, &order, &[line(variant, 1)], "system").await;
                let replay = reserve_for_order(&db, &order, &[line(variant, 1)], "system").await;
                (first, replay)
            })
        })
        .collect();
    let mut reserved = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (Ok(outcome), Ok(replay)) => {
                assert!(!outcome.replayed && replay.replayed);
                reserved += 1;
            }
            (Err(InventoryError::Insufficient { .. }), _) => refused += 1,
            other => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((reserved, refused), (50, 150));
    assert_eq!(stock(&db, variant).await, 0);
    assert_conserved(&db).await;
}
