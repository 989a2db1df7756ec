//! Runs every document in `import_corpus/` through the parser against the seed catalog and
//! compares the rows and errors with the `.expected.json` beside it, naming each file that
//! differs.

use std::path::Path;

use serde_json::Value;
use swag_domain::catalog::seed_products;
use swag_domain::inventory_import::catalog_index::{CatalogIndex, CatalogProduct, CatalogVariant};
use swag_domain::inventory_import::parse::parse;

fn seed_catalog() -> CatalogIndex {
    CatalogIndex::new(
        seed_products()
            .into_iter()
            .map(|seed| CatalogProduct {
                id: seed.id.to_owned(),
                slug: seed.id.to_owned(),
                sku: seed.sku.to_owned(),
                name: seed.name.to_owned(),
                price_cents: seed.price_cents,
                variants: seed
                    .stock
                    .iter()
                    .map(|(size, stock)| CatalogVariant {
                        id: seed.variant_id(size),
                        size: (*size).to_owned(),
                        color: seed.color.0.to_owned(),
                        stock: *stock,
                    })
                    .collect(),
            })
            .collect(),
    )
}

#[test]
fn every_corpus_document_parses_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import_corpus");
    let catalog = seed_catalog();
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("the corpus directory")
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| !path.to_string_lossy().ends_with(".expected.json"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 20,
        "the corpus holds {} documents",
        inputs.len()
    );
    let mut failures = Vec::new();
    for input in &inputs {
        let name = input.file_name().expect("a file name").to_string_lossy();
        let stem = name.rsplit_once('.').map_or(&*name, |(stem, _)| stem);
        let expected_path = dir.join(format!("{stem}.expected.json"));
        let text = std::fs::read_to_string(input).expect("a UTF-8 document");
        let actual = serde_json::to_value(parse(&text, &catalog)).expect("serialisable");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            failures.push(format!(
                "{name}: no {stem}.expected.json; parsed as {actual:#}"
            ));
            continue;
        };
        let expected: Value = serde_json::from_str(&expected).expect("expected JSON");
        if actual != expected {
            failures.push(format!("{name}: expected {expected:#}\n  got {actual:#}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
