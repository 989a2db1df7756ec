//! Recording orders against a real database: idempotent upsert with items, session conflicts,
//! and the failed-order row ops follow up on.

mod support;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use support::test_db;
use swag_domain::entity::{order, order_item};
use swag_domain::order::OrderStatus;
use swag_domain::orders::{
    add_note, record_failed_order, record_order, status_of, Customer, NewOrder, NewOrderItem,
    OrderError, ShipTo,
};

fn new_order(order_id: &str, session: &str) -> NewOrder {
    NewOrder {
        order_id: order_id.into(),
        customer: Customer {
            email: "ada@example.com".into(),
            name: "Ada".into(),
            phone: String::new(),
        },
        ship_to: ShipTo {
            address: "1 Loop St".into(),
            city: "Oakland".into(),
            state: "CA".into(),
            zip: "94607".into(),
            country: "US".into(),
        },
        total_cents: 7_000,
        currency: "usd".into(),
        stripe_session_id: Some(session.into()),
        discount_code: None,
        discount_amount_cents: 0,
        items: vec![
            NewOrderItem {
                product_id: "durable-tee".into(),
                variant_id: "durable-tee-m-black".into(),
                sku: "TEE".into(),
                name: "Durable Tee".into(),
                size: "M".into(),
                color: "Black".into(),
                quantity: 2,
                amount_total: 6_000,
            },
            NewOrderItem {
                product_id: "event-mug".into(),
                variant_id: "event-mug-one_size-white".into(),
                sku: "MUG".into(),
                name: "Event Mug".into(),
                size: String::new(),
                color: String::new(),
                quantity: 1,
                amount_total: 1_000,
            },
        ],
    }
}

async fn row(db: &sea_orm::DatabaseConnection, order_id: &str) -> order::Model {
    order::Entity::find_by_id(order_id)
        .one(db)
        .await
        .unwrap()
        .expect("order row")
}

async fn items(db: &sea_orm::DatabaseConnection, order_id: &str) -> Vec<order_item::Model> {
    order_item::Entity::find()
        .filter(order_item::Column::OrderId.eq(order_id))
        .all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn recording_an_order_twice_writes_it_once() {
    let t = test_db().await;
    let order = new_order("ord_aaaa0001", "cs_1");
    let first = record_order(&t.db, &order).await.unwrap();
    assert!(first.created);
    assert_eq!((first.status, first.item_count), (OrderStatus::Pending, 2));
    let again = record_order(&t.db, &order).await.unwrap();
    assert!(!again.created);
    assert_eq!((again.status, again.item_count), (OrderStatus::Pending, 2));

    let stored = row(&t.db, "ord_aaaa0001").await;
    assert_eq!(stored.status, "pending");
    assert_eq!(stored.currency, "USD");
    assert_eq!(stored.items, "Durable Tee (M / Black) × 2, Event Mug × 1");
    assert_eq!(items(&t.db, "ord_aaaa0001").await.len(), 2);
}

#[tokio::test]
async fn concurrent_recordings_of_one_order_write_it_once() {
    let t = test_db().await;
    let order = new_order("ord_aaaa0002", "cs_2");
    let runs = (0..8).map(|_| record_order(&t.db, &order));
    let results = futures::future::join_all(runs).await;
    let created = results
        .iter()
        .filter(|r| r.as_ref().expect("recorded").created)
        .count();
    assert_eq!(created, 1);
    assert_eq!(items(&t.db, "ord_aaaa0002").await.len(), 2);
}

#[tokio::test]
async fn another_order_on_a_recorded_session_is_a_permanent_conflict() {
    let t = test_db().await;
    record_order(&t.db, &new_order("ord_aaaa0003", "cs_3"))
        .await
        .unwrap();
    let error = record_order(&t.db, &new_order("ord_aaaa0004", "cs_3"))
        .await
        .expect_err("the session belongs to another order");
    assert!(matches!(error, OrderError::Conflict { .. }), "{error:?}");
    assert!(error.is_permanent());
    assert_eq!(status_of(&t.db, "ord_aaaa0004").await.unwrap(), None);
    assert!(items(&t.db, "ord_aaaa0004").await.is_empty());
}

#[tokio::test]
async fn a_failed_order_is_recorded_cancelled_without_a_taken_session() {
    let t = test_db().await;
    record_order(&t.db, &new_order("ord_aaaa0005", "cs_5"))
        .await
        .unwrap();
    let failed = record_failed_order(
        &t.db,
        &new_order("ord_aaaa0006", "cs_5"),
        "NEEDS ATTENTION: test",
    )
    .await
    .unwrap();
    assert!(failed.created);
    assert_eq!(failed.previous_status, None);
    assert_eq!(failed.status, OrderStatus::Cancelled);
    let stored = row(&t.db, "ord_aaaa0006").await;
    assert_eq!(stored.status, "cancelled");
    assert_eq!(stored.stripe_session_id, None);
    assert!(stored.notes.starts_with("NEEDS ATTENTION: test"));
    assert!(stored
        .notes
        .contains("Stripe session cs_5 is already recorded on order ord_aaaa0005."));
    assert_eq!(items(&t.db, "ord_aaaa0006").await.len(), 2);
}

#[tokio::test]
async fn a_failed_pending_order_is_cancelled_once_and_a_shipped_one_keeps_its_status() {
    let t = test_db().await;
    let order = new_order("ord_aaaa0007", "cs_7");
    record_order(&t.db, &order).await.unwrap();
    for _ in 0..2 {
        let failed = record_failed_order(&t.db, &order, "NEEDS ATTENTION: x")
            .await
            .unwrap();
        assert!(!failed.created);
        assert_eq!(failed.status, OrderStatus::Cancelled);
    }
    assert_eq!(row(&t.db, "ord_aaaa0007").await.notes, "NEEDS ATTENTION: x");
    assert_eq!(items(&t.db, "ord_aaaa0007").await.len(), 2);

    let shipped = new_order("ord_aaaa0008", "cs_8");
    record_order(&t.db, &shipped).await.unwrap();
    order::Entity::update_many()
        .col_expr(
            order::Column::Status,
            sea_orm::sea_query::Expr::value("shipped"),
        )
        .filter(order::Column::OrderId.eq("ord_aaaa0008"))
        .exec(&t.db)
        .await
        .unwrap();
    let failed = record_failed_order(&t.db, &shipped, "NEEDS ATTENTION: y")
        .await
        .unwrap();
    assert_eq!(failed.previous_status, Some(OrderStatus::Shipped));
    assert_eq!(failed.status, OrderStatus::Shipped);
}

#[tokio::test]
async fn notes_are_added_once_and_only_to_recorded_orders() {
    let t = test_db().await;
    record_order(&t.db, &new_order("ord_aaaa0009", "cs_9"))
        .await
        .unwrap();
    add_note(&t.db, "ord_aaaa0009", "Refunded re_1.")
        .await
        .unwrap();
    add_note(&t.db, "ord_aaaa0009", "Refunded re_1.")
        .await
        .unwrap();
    assert_eq!(row(&t.db, "ord_aaaa0009").await.notes, "Refunded re_1.");
    assert_eq!(
        add_note(&t.db, "ord_missing1", "x").await,
        Err(OrderError::NotFound("ord_missing1".into()))
    );
}
