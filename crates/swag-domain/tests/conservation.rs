//! Stock conservation: after a seeded random mix of 500 orders (reserved, some released),
//! document imports through the import apply path, received shipments and audit counts, every
//! variant's stock equals its initial stock plus the sum of its ledger changes, and no stock
//! ever went negative. Runs on SQLite, and on Postgres when `TEST_DATABASE_URL` is set.

mod support;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{DatabaseConnection, EntityTrait};
use swag_domain::catalog::{self, seed_products};
use swag_domain::entity::{inventory_adjustment, product_variant};
use swag_domain::inventory::{
    self, Adjustment, InventoryError, LedgerEntry, LedgerMode, ReserveLine, StockChange,
};
use swag_domain::inventory_import::apply::{apply, ImportOrigin};
use swag_domain::inventory_import::catalog_index::CatalogIndex;
use swag_domain::inventory_import::{parse, review, ImportMode};

const ORDERS: usize = 500;

fn variants() -> Vec<(String, &'static str, &'static str)> {
    seed_products()
        .into_iter()
        .flat_map(|p| {
            p.stock
                .iter()
                .map(|(size, _)| (p.variant_id(size), p.name, *size))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Imports a random document through parse, review and apply; returns whether it applied.
async fn import_document(db: &DatabaseConnection, rng: &mut StdRng, batch: &str) -> bool {
    let all = variants();
    let mode = if rng.gen_bool(0.5) {
        ImportMode::ReceiveShipment
    } else {
        ImportMode::AuditCount
    };
    let mut text = String::from("product,size,quantity\n");
    for _ in 0..rng.gen_range(1..4) {
        let (_, name, size) = &all[rng.gen_range(0..all.len())];
        text.push_str(&format!("{name},{size},{}\n", rng.gen_range(0..15)));
    }
    let catalog = CatalogIndex::load(db).await.expect("catalog");
    let document = parse::parse(&text, &catalog);
    let reviewed = review::review(&document, &catalog, mode);
    assert!(
        !reviewed.findings.blocking(),
        "{text}: {:?}",
        reviewed.findings
    );
    let origin = ImportOrigin {
        mode,
        batch_id: batch.to_owned(),
        actor_email: "conservation@example.com".to_owned(),
        source: "test:document".to_owned(),
        reason: "conservation".to_owned(),
    };
    let outcome = apply(db, &origin, &reviewed.changes)
        .await
        .expect("import applies");
    !outcome.replayed
}

async fn check_conservation(db: &DatabaseConnection) {
    let totals = inventory::ledger_totals(db).await.expect("ledger totals");
    for variant in product_variant::Entity::find()
        .all(db)
        .await
        .expect("variants")
    {
        let change = totals.get(&variant.id).copied().unwrap_or(0);
        assert!(variant.stock >= 0, "{} is negative", variant.id);
        assert_eq!(
            i64::from(variant.stock),
            i64::from(variant.initial_stock) + change,
            "{} does not add up",
            variant.id
        );
    }
    for row in inventory_adjustment::Entity::find()
        .all(db)
        .await
        .expect("ledger")
    {
        assert!(row.new_stock >= 0 && row.previous_stock >= 0, "{row:?}");
        assert_eq!(
            row.previous_stock + row.quantity_change,
            row.new_stock,
            "{row:?}"
        );
    }
}

#[tokio::test]
async fn stock_equals_initial_plus_ledger_after_a_random_mix() {
    let test = support::test_db().await;
    let db = &test.db;
    catalog::seed(db).await.expect("seed");
    let all = variants();
    let mut rng = StdRng::seed_from_u64(0x5eed_2026);
    let (mut reserved, mut refused, mut released, mut imports) = (0, 0, 0, 0);
    for n in 0..ORDERS {
        let order_id = format!("ord_{n:05}");
        let lines: Vec<ReserveLine> = (0..rng.gen_range(1..4))
            .map(|_| ReserveLine {
                variant_id: all[rng.gen_range(0..all.len())].0.clone(),
                quantity: rng.gen_range(1..4),
            })
            .collect();
        match inventory::reserve_for_order(db, &order_id, &lines, "test").await {
            Ok(_) => reserved += 1,
            Err(InventoryError::Insufficient { .. }) => refused += 1,
            Err(error) => panic!("{order_id}: {error}"),
        }
        if rng.gen_bool(0.3) {
            let reason = if rng.gen_bool(0.5) {
                "failed"
            } else {
                "compensated"
            };
            if !inventory::release_for_order(db, &order_id, reason, "test")
                .await
                .expect("release")
                .is_empty()
            {
                released += 1;
            }
        }
        if n % 20 == 0 {
            if import_document(db, &mut rng, &format!("imp_mix_{n}")).await {
                imports += 1;
            }
            let variant = all[rng.gen_range(0..all.len())].0.clone();
            let shipment = LedgerEntry {
                mode: LedgerMode::ReceiveShipment,
                batch_id: format!("ship_{n}"),
                actor_email: "test".to_owned(),
                source: "test".to_owned(),
                reason: "shipment".to_owned(),
            };
            let add = Adjustment {
                variant_id: variant.clone(),
                change: StockChange::Add(rng.gen_range(1..20)),
                note: String::new(),
            };
            inventory::adjust(db, &shipment, &[add])
                .await
                .expect("shipment");
            let audit = LedgerEntry {
                mode: LedgerMode::AuditCount,
                batch_id: format!("audit_{n}"),
                reason: "count".to_owned(),
                ..shipment
            };
            let count = Adjustment {
                variant_id: all[rng.gen_range(0..all.len())].0.clone(),
                change: StockChange::Set(rng.gen_range(0..30)),
                note: String::new(),
            };
            inventory::adjust(db, &audit, &[count])
                .await
                .expect("audit");
        }
    }
    // The mix exercised every path.
    assert!(
        reserved > 100 && refused > 0 && released > 50 && imports > 10,
        "reserved {reserved}, refused {refused}, released {released}, imports {imports}"
    );
    check_conservation(db).await;
}

#[tokio::test]
async fn a_replayed_import_batch_changes_nothing() {
    let test = support::test_db().await;
    let db = &test.db;
    catalog::seed(db).await.expect("seed");
    let catalog = CatalogIndex::load(db).await.expect("catalog");
    let document = parse::parse("3 x Durable Tee (M)\n", &catalog);
    let reviewed = review::review(&document, &catalog, ImportMode::ReceiveShipment);
    let origin = ImportOrigin {
        mode: ImportMode::ReceiveShipment,
        batch_id: "imp_replay".to_owned(),
        actor_email: "test@example.com".to_owned(),
        source: "test".to_owned(),
        reason: "replay".to_owned(),
    };
    let first = apply(db, &origin, &reviewed.changes).await.expect("apply");
    let again = apply(db, &origin, &reviewed.changes).await.expect("replay");
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.moves, again.moves);
    let tee = product_variant::Entity::find_by_id("durable-tee-m-black")
        .one(db)
        .await
        .expect("read")
        .expect("tee");
    assert_eq!(tee.stock, tee.initial_stock + 3);
    check_conservation(db).await;
}
