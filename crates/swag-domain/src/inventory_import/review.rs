//! The deterministic review: resolves each parsed row to a catalog variant, merges rows naming
//! the same variant, turns parse errors and missing variants into blocking issues, notes what
//! deserves a second look, and plans the stock changes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalog_index::{CatalogIndex, CatalogProduct, CatalogVariant};
use super::parse::{ParsedDocument, ParsedRow};
use super::ImportMode;

/// How serious an issue is; any `Error` blocks the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Something a reviewer noticed, on a document line when `row` is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub severity: Severity,
    pub message: String,
    pub row: Option<usize>,
}

impl Issue {
    pub fn new(severity: Severity, message: impl Into<String>, row: Option<usize>) -> Self {
        Self {
            severity,
            message: message.into(),
            row,
        }
    }
}

/// A variant the document names that the catalog lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingVariant {
    pub product: String,
    pub size: String,
    pub color: String,
}

/// A reviewer's verdict: the shape both the deterministic review and the LLM answer in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Findings {
    pub ok: bool,
    pub summary: String,
    pub issues: Vec<Issue>,
    pub missing_variants: Vec<MissingVariant>,
}

impl Findings {
    /// Whether any issue blocks the import.
    pub fn blocking(&self) -> bool {
        !self.ok || self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    /// Adds a second reviewer's findings: issues and missing variants join, either can block.
    pub fn absorb(&mut self, other: Findings) {
        self.ok = self.ok && other.ok;
        if !other.summary.trim().is_empty() {
            self.summary = format!("{} Reviewer: {}", self.summary, other.summary.trim());
        }
        self.issues.extend(other.issues);
        for missing in other.missing_variants {
            if !self.missing_variants.contains(&missing) {
                self.missing_variants.push(missing);
            }
        }
        self.ok = !self.blocking();
    }

    /// The error messages, one per line, for the failed run's record.
    pub fn error_text(&self) -> String {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| match i.row {
                Some(row) => format!("line {row}: {}", i.message),
                None => i.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One variant's planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    pub variant_id: String,
    pub sku: String,
    /// The document lines it adds up.
    pub lines: Vec<usize>,
    /// Units received, or the count.
    pub quantity: i32,
    pub current_stock: i32,
    pub new_stock: i32,
}

/// The review and the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    pub findings: Findings,
    pub changes: Vec<PlannedChange>,
}

/// Audit counts that drop stock by at least this many units (and by half) are flagged.
const SUSPICIOUS_DROP: i32 = 10;

/// Reviews `document` for an import in `mode`.
pub fn review(document: &ParsedDocument, catalog: &CatalogIndex, mode: ImportMode) -> Review {
    let mut issues: Vec<Issue> = document
        .errors
        .iter()
        .map(|e| Issue::new(Severity::Error, e.message.clone(), Some(e.line)))
        .collect();
    let mut missing_variants = Vec::new();
    if document.rows.is_empty() {
        issues.push(Issue::new(
            Severity::Error,
            "the document has no inventory rows",
            None,
        ));
    }
    let mut merged: BTreeMap<String, PlannedChange> = BTreeMap::new();
    for row in &document.rows {
        let Some(product) = catalog.product(&row.product_id) else {
            issues.push(Issue::new(
                Severity::Error,
                format!("unknown product \"{}\"", row.product_id),
                Some(row.line),
            ));
            continue;
        };
        note_price(product, row, &mut issues);
        let variant = match resolve_variant(product, row) {
            Ok(variant) => variant,
            Err(message) => {
                if let Some(size) = &row.size {
                    missing_variants.push(MissingVariant {
                        product: product.id.clone(),
                        size: size.clone(),
                        color: row.color.clone().unwrap_or_default(),
                    });
                }
                issues.push(Issue::new(Severity::Error, message, Some(row.line)));
                continue;
            }
        };
        let planned = merged
            .entry(variant.id.clone())
            .or_insert_with(|| PlannedChange {
                variant_id: variant.id.clone(),
                sku: format!("{}-{}", product.sku, variant.size),
                lines: Vec::new(),
                quantity: 0,
                current_stock: variant.stock,
                new_stock: variant.stock,
            });
        if !planned.lines.is_empty() {
            issues.push(Issue::new(
                Severity::Warning,
                format!(
                    "{} appears on several lines; their quantities are added",
                    planned.sku
                ),
                Some(row.line),
            ));
        }
        planned.lines.push(row.line);
        planned.quantity = planned.quantity.saturating_add(row.quantity);
    }
    let mut changes = Vec::new();
    for mut planned in merged.into_values() {
        planned.new_stock = match mode {
            ImportMode::ReceiveShipment => planned.current_stock.saturating_add(planned.quantity),
            ImportMode::AuditCount => planned.quantity,
        };
        let drop = planned.current_stock - planned.new_stock;
        if mode == ImportMode::AuditCount
            && drop >= SUSPICIOUS_DROP
            && planned.new_stock * 2 <= planned.current_stock
        {
            issues.push(Issue::new(
                Severity::Warning,
                format!(
                    "the count of {} ({}) is far below the stock on record ({})",
                    planned.sku, planned.new_stock, planned.current_stock
                ),
                planned.lines.first().copied(),
            ));
        }
        if planned.new_stock == planned.current_stock {
            issues.push(Issue::new(
                Severity::Info,
                format!("{} is unchanged", planned.sku),
                planned.lines.first().copied(),
            ));
        } else {
            changes.push(planned);
        }
    }
    let findings = Findings {
        ok: true,
        summary: summary(mode, &changes, &issues),
        issues,
        missing_variants,
    };
    let ok = !findings.blocking();
    Review {
        findings: Findings { ok, ..findings },
        changes,
    }
}

fn summary(mode: ImportMode, changes: &[PlannedChange], issues: &[Issue]) -> String {
    let errors = issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .count();
    let net: i64 = changes
        .iter()
        .map(|c| i64::from(c.new_stock) - i64::from(c.current_stock))
        .sum();
    let verb = match mode {
        ImportMode::ReceiveShipment => "received",
        ImportMode::AuditCount => "counted",
    };
    let mut text = format!(
        "{} variant(s) {verb}, net change {net:+} units.",
        changes.len()
    );
    if errors > 0 {
        text.push_str(&format!(" {errors} error(s) block the import."));
    }
    text
}

/// An informational note when the document's price differs from the catalog's (imports never
/// change prices).
fn note_price(product: &CatalogProduct, row: &ParsedRow, issues: &mut Vec<Issue>) {
    if let Some(price) = row.price_cents.filter(|p| *p != product.price_cents) {
        issues.push(Issue::new(
            Severity::Info,
            format!(
                "price {} differs from the catalog's {} for {}; imports do not change prices",
                dollars(price),
                dollars(product.price_cents),
                product.name
            ),
            Some(row.line),
        ));
    }
}

fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

fn resolve_variant<'a>(
    product: &'a CatalogProduct,
    row: &ParsedRow,
) -> Result<&'a CatalogVariant, String> {
    let candidates: Vec<&CatalogVariant> = product
        .variants
        .iter()
        .filter(|v| {
            row.size
                .as_ref()
                .is_none_or(|s| v.size.eq_ignore_ascii_case(s))
        })
        .filter(|v| {
            row.color
                .as_ref()
                .is_none_or(|c| v.color.eq_ignore_ascii_case(c))
        })
        .collect();
    match (candidates.as_slice(), &row.size) {
        ([only], _) => Ok(only),
        ([], Some(size)) => Err(format!(
            "catalog variant missing: {} has no size {size}{}",
            product.name,
            row.color
                .as_ref()
                .map(|c| format!(" in {c}"))
                .unwrap_or_default()
        )),
        ([], None) => Err(format!(
            "catalog variant missing: {} has no colour {}",
            product.name,
            row.color.as_deref().unwrap_or_default()
        )),
        (_, None) => Err(format!(
            "no size given for {}, which comes in several sizes",
            product.name
        )),
        (_, Some(_)) => Err(format!(
            "no colour given for {}, which comes in several colours",
            product.name
        )),
    }
}
