//! Turns an inventory document into rows matched to the catalog, and an error naming the line
//! and the reason for every row that cannot be used.
//!
//! # Grammar
//!
//! The text is read after dropping a UTF-8 byte-order mark and turning CRLF/CR into LF. Lines
//! are numbered from 1 as the author sees them.
//!
//! **Tables.** The delimiter (tab, `;` or `,`) is the one whose header row names the most known
//! columns. The header is the first row naming a product column and a quantity or size column;
//! lines above it (an email's greeting, a title) are ignored. Fields may be quoted with `"`
//! (`""` is a quote; quoted fields may hold delimiters and line breaks). Headers are compared in
//! snake_case (`On Hand` → `on_hand`, `Price ($)` → `price`):
//! - product: `product`, `product_id`, `product_name`, `product_slug`, `product_sku`, `id`,
//!   `slug`, `sku`, `name`, `item`, `item_name`, `title`, `style`, `variant_id`, `variant_sku`
//!   — matched to a product by id, slug, SKU or name, case-insensitive (a variant id or a
//!   `{SKU}-{SIZE}` variant SKU names the size too);
//! - quantity: `stock`, `quantity`, `qty`, `on_hand`, `inventory`, `count`, `counted`, `units`,
//!   `received`, `qty_received`, `quantity_received`;
//! - `size`, `color`/`colour`;
//! - size columns `XS`, `S`, `M`, `L`, `XL`, `XXL`/`2XL`, `XXXL`/`3XL`, `one_size`/`OS`: each
//!   non-empty cell becomes a row of that size (a grid);
//! - price: `price_cents`/`cents` hold cents, `price`/`unit_price`/`price_usd`/`retail_price`
//!   hold dollars; a `$` or a decimal point always means dollars (`32`, `$32.00`, `32.5`).
//!
//! **Text** (anything without such a header: a pasted email or packing manifest). Each line is
//! read on its own; `>` quote marks and bullets (`-`, `*`, `•`) are dropped. A line is an item
//! when it reads `QTY x ITEM` (`x`, `X`, `×` or `*`; `3 x Durable Tee (L)`, `3x Retry Socks`)
//! or `ITEM x QTY` / `ITEM: QTY` (`Durable Tee (L) x 3`); the `:` form counts only when ITEM is
//! a known product, so `Total: 12` is prose. ITEM is a product optionally followed by a size:
//! `(L)`, `(L, black)`, `(size L)`, `- L`, or a last word that is a size (`Durable Tee XL`).
//! Every other line is prose and ignored. A quantity in words (`three x Durable Tee`) is an
//! error when ITEM names a product.
//!
//! Quantities are whole numbers from 0 to 100,000 (`1,200` allowed).

use serde::{Deserialize, Serialize};

use super::catalog_index::{CatalogIndex, ProductMatch};

/// The largest quantity a row may carry.
pub const MAX_QUANTITY: i32 = 100_000;

/// How the document was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    Csv,
    Tsv,
    Semicolon,
    Text,
}

/// A usable row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedRow {
    /// The document line it came from.
    pub line: usize,
    pub product_id: String,
    /// Catalog size (`XS`…`XXXL`, `ONE_SIZE`) or as written when it is none of those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    pub quantity: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cents: Option<i64>,
}

/// Why a row cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("no product named")]
    MissingProduct,
    #[error("unknown product \"{0}\"")]
    UnknownProduct(String),
    #[error("no quantity")]
    MissingQuantity,
    #[error("quantity \"{0}\" is not a whole number")]
    NonNumericQuantity(String),
    #[error("quantity {0} is negative")]
    NegativeQuantity(String),
    #[error("quantity {0} is over the limit of 100000")]
    QuantityTooLarge(String),
    #[error("price \"{0}\" is not an amount")]
    InvalidPrice(String),
}

/// A row that cannot be used: the line and the reason, as shown to the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

impl RowError {
    pub fn new(line: usize, problem: RowProblem) -> Self {
        Self {
            line,
            message: problem.to_string(),
        }
    }
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedDocument {
    pub format: DocumentFormat,
    pub rows: Vec<ParsedRow>,
    pub errors: Vec<RowError>,
}

/// Parses `text` against `catalog`.
pub fn parse(text: &str, catalog: &CatalogIndex) -> ParsedDocument {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let table = [
        ('\t', DocumentFormat::Tsv),
        (';', DocumentFormat::Semicolon),
        (',', DocumentFormat::Csv),
    ]
    .into_iter()
    .filter_map(|(delimiter, format)| {
        let records = split_records(&text, delimiter);
        let (index, header) = find_header(&records)?;
        Some((header.known, format, records, index, header))
    })
    .max_by_key(|(known, ..)| *known);
    let mut document = ParsedDocument {
        format: DocumentFormat::Text,
        rows: Vec::new(),
        errors: Vec::new(),
    };
    match table {
        Some((_, format, records, index, header)) => {
            document.format = format;
            for record in &records[index + 1..] {
                read_record(record, &header, catalog, &mut document);
            }
        }
        None => {
            for (number, line) in text.lines().enumerate() {
                read_text_line(number + 1, line, catalog, &mut document);
            }
        }
    }
    document
}

/// A record and the line it starts on.
struct Record {
    line: usize,
    fields: Vec<String>,
}

fn split_records(text: &str, delimiter: char) -> Vec<Record> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start = 1;
    let mut quoted = false;
    let mut at_field_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start && field.trim().is_empty() => {
                field.clear();
                quoted = true;
                at_field_start = false;
            }
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push(Record {
                    line: start,
                    fields: std::mem::take(&mut fields),
                });
                line += 1;
                start = line;
                at_field_start = true;
            }
            c if c == delimiter => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            _ => {
                field.push(c);
                if !c.is_whitespace() {
                    at_field_start = false;
                }
            }
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push(Record {
            line: start,
            fields,
        });
    }
    for record in &mut records {
        for field in &mut record.fields {
            *field = field.trim().to_owned();
        }
    }
    records
}

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Product,
    Quantity,
    Size,
    Color,
    PriceCents,
    PriceDollars,
    /// A size grid column.
    SizeGrid(&'static str),
    Other,
}

struct Header {
    columns: Vec<Column>,
    known: usize,
}

/// `On Hand` → `on_hand`.
fn snake_case(header: &str) -> String {
    let mut out = String::new();
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

fn column(header: &str) -> Column {
    let name = snake_case(header);
    match name.as_str() {
        "product" | "product_id" | "product_name" | "product_slug" | "product_sku" | "id"
        | "slug" | "sku" | "name" | "item" | "item_name" | "title" | "style" | "variant_id"
        | "variant_sku" => Column::Product,
        "stock" | "quantity" | "qty" | "on_hand" | "inventory" | "count" | "counted" | "units"
        | "received" | "qty_received" | "quantity_received" => Column::Quantity,
        "size" | "variant_size" => Column::Size,
        "color" | "colour" => Column::Color,
        "price_cents" | "cents" | "unit_price_cents" => Column::PriceCents,
        "price" | "unit_price" | "price_usd" | "retail_price" => Column::PriceDollars,
        "xs" | "s" | "m" | "l" | "xl" | "xxl" | "2xl" | "xxxl" | "3xl" | "one_size" | "onesize"
        | "os" => normalize_size(&name).map_or(Column::Other, Column::SizeGrid),
        _ => Column::Other,
    }
}

fn find_header(records: &[Record]) -> Option<(usize, Header)> {
    records.iter().enumerate().find_map(|(index, record)| {
        let columns: Vec<Column> = record.fields.iter().map(|f| column(f)).collect();
        let has = |wanted: fn(&Column) -> bool| columns.iter().any(wanted);
        let usable = has(|c| *c == Column::Product)
            && has(|c| matches!(c, Column::Quantity | Column::SizeGrid(_)));
        usable.then(|| {
            let known = columns.iter().filter(|c| **c != Column::Other).count();
            (index, Header { columns, known })
        })
    })
}

/// A catalog size for `token`, if it is one (`2XL` → `XXL`, `Medium` → `M`, `OS` → `ONE_SIZE`).
pub fn normalize_size(token: &str) -> Option<&'static str> {
    let squashed: String = token
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    Some(match squashed.as_str() {
        "XS" | "XSMALL" | "EXTRASMALL" => "XS",
        "S" | "SM" | "SMALL" => "S",
        "M" | "MD" | "MED" | "MEDIUM" => "M",
        "L" | "LG" | "LARGE" => "L",
        "XL" | "XLARGE" | "EXTRALARGE" => "XL",
        "XXL" | "2XL" | "XXLARGE" => "XXL",
        "XXXL" | "3XL" | "XXXLARGE" => "XXXL",
        "ONESIZE" | "OS" | "OSFA" | "ONESIZEFITSALL" => "ONE_SIZE",
        _ => return None,
    })
}

/// A quantity as written, or why not.
fn parse_quantity(value: &str) -> Result<i32, RowProblem> {
    let digits: String = value
        .trim()
        .trim_start_matches('+')
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' '))
        .collect();
    let (negative, digits) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits.as_str()),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(RowProblem::NonNumericQuantity(value.trim().to_owned()));
    }
    if negative {
        return Err(RowProblem::NegativeQuantity(value.trim().to_owned()));
    }
    match digits.parse::<i32>() {
        Ok(quantity) if quantity <= MAX_QUANTITY => Ok(quantity),
        _ => Err(RowProblem::QuantityTooLarge(value.trim().to_owned())),
    }
}

/// A price in cents; `in_cents` says what a bare whole number means.
fn parse_price(value: &str, in_cents: bool) -> Result<i64, RowProblem> {
    let invalid = || RowProblem::InvalidPrice(value.trim().to_owned());
    let trimmed = value.trim().trim_end_matches("USD").trim();
    // A comma before exactly two final digits, with no point, is a decimal comma (`32,00`).
    let decimal_comma = !trimmed.contains('.')
        && trimmed
            .rsplit_once(',')
            .is_some_and(|(_, tail)| tail.len() == 2 && tail.chars().all(|c| c.is_ascii_digit()));
    let trimmed = if decimal_comma {
        let (head, tail) = trimmed.rsplit_once(',').unwrap_or((trimmed, ""));
        format!("{head}.{tail}")
    } else {
        trimmed.to_owned()
    };
    let cleaned: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ',' | ' '))
        .collect();
    let dollars = cleaned.starts_with('$') || cleaned.contains('.') || !in_cents;
    let number = cleaned.trim_start_matches('$');
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > 2
    {
        return Err(invalid());
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    if !dollars {
        return Ok(whole);
    }
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or_else(invalid)
}

fn read_record(
    record: &Record,
    header: &Header,
    catalog: &CatalogIndex,
    document: &mut ParsedDocument,
) {
    if record.fields.iter().all(String::is_empty) || record.fields[0].starts_with('#') {
        return;
    }
    let line = record.line;
    let cell = |index: usize| record.fields.get(index).map_or("", String::as_str);
    let cells_of = |wanted: Column| {
        header
            .columns
            .iter()
            .enumerate()
            .filter(move |(_, c)| **c == wanted)
            .map(move |(i, _)| cell(i))
            .filter(|v| !v.is_empty())
    };
    let mut fail = |problem| document.errors.push(RowError::new(line, problem));
    let references: Vec<&str> = cells_of(Column::Product).collect();
    let Some(first) = references.first() else {
        return fail(RowProblem::MissingProduct);
    };
    let Some(found) = references.iter().find_map(|r| catalog.find(r)) else {
        return fail(RowProblem::UnknownProduct((*first).to_owned()));
    };
    let price = match (
        cells_of(Column::PriceCents).next(),
        cells_of(Column::PriceDollars).next(),
    ) {
        (Some(cents), _) => Some(parse_price(cents, true)),
        (None, Some(dollars)) => Some(parse_price(dollars, false)),
        (None, None) => None,
    }
    .transpose();
    let price_cents = match price {
        Ok(price) => price,
        Err(problem) => return fail(problem),
    };
    let size = cells_of(Column::Size)
        .next()
        .map(|s| normalize_size(s).map_or_else(|| s.to_uppercase(), str::to_owned))
        .or_else(|| found.size.clone());
    let color = cells_of(Column::Color)
        .next()
        .map(str::to_lowercase)
        .or_else(|| found.color.clone());
    let grid: Vec<(&'static str, &str)> = header
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Column::SizeGrid(size) if !cell(i).is_empty() => Some((*size, cell(i))),
            _ => None,
        })
        .collect();
    let row = |size: Option<String>, quantity| ParsedRow {
        line,
        product_id: found.product_id.clone(),
        size,
        color: color.clone(),
        quantity,
        price_cents,
    };
    if !grid.is_empty() {
        for (grid_size, value) in grid {
            match parse_quantity(value) {
                Ok(quantity) => document
                    .rows
                    .push(row(Some(grid_size.to_owned()), quantity)),
                Err(problem) => document.errors.push(RowError::new(line, problem)),
            }
        }
        return;
    }
    let Some(quantity) = cells_of(Column::Quantity).next() else {
        return fail(RowProblem::MissingQuantity);
    };
    match parse_quantity(quantity) {
        Ok(quantity) => document.rows.push(row(size, quantity)),
        Err(problem) => fail(problem),
    }
}

/// `(quantity text, item text, whether the item must be a known product to count)`.
fn split_text_item(line: &str) -> Option<(&str, &str, bool)> {
    let is_times = |c: char| matches!(c, 'x' | 'X' | '×' | '*');
    // QTY x ITEM: a first word ending in the sign ("3x") or followed by it ("3 x").
    let (first, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if let Some(quantity) = first.strip_suffix(is_times) {
        if !quantity.is_empty() && !rest.trim().is_empty() {
            return Some((quantity, rest.trim(), false));
        }
    }
    if let Some((sign, item)) = rest.trim_start().split_once(char::is_whitespace) {
        if sign.chars().count() == 1 && sign.chars().all(is_times) && !item.trim().is_empty() {
            return Some((first, item.trim(), false));
        }
    }
    // ITEM x QTY / ITEM: QTY
    let (item, quantity) = line.rsplit_once(char::is_whitespace)?;
    let item = item.trim_end();
    if let Some(item) = item.strip_suffix(is_times) {
        if item.ends_with(char::is_whitespace) && !item.trim().is_empty() {
            return Some((quantity, item.trim(), false));
        }
    }
    if let Some((item, quantity)) = line.rsplit_once(':') {
        if !item.trim().is_empty() && !quantity.trim().is_empty() {
            return Some((quantity.trim(), item.trim(), true));
        }
    }
    None
}

/// The product and size an item text names.
fn read_item(item: &str, catalog: &CatalogIndex) -> Option<(ProductMatch, Option<String>)> {
    if let Some(found) = catalog.find(item) {
        return Some((found.clone(), None));
    }
    if let Some(open) = item.rfind('(') {
        if let Some(inside) = item[open + 1..].strip_suffix(')') {
            let mut parts = inside.split([',', '/']).map(str::trim);
            let size = parts.next().unwrap_or("");
            let size = size
                .strip_prefix("size")
                .or_else(|| size.strip_prefix("Size"))
                .unwrap_or(size)
                .trim_start_matches(':')
                .trim();
            let mut found = catalog.find(item[..open].trim())?.clone();
            found.size = normalize_size(size).map(str::to_owned).or(found.size);
            if let Some(color) = parts.next().filter(|c| !c.is_empty()) {
                found.color = Some(color.to_lowercase());
            }
            return Some((found, None));
        }
    }
    for separator in [" - ", " – ", ", size ", " size "] {
        if let Some((product, size)) = item.rsplit_once(separator) {
            if let (Some(found), Some(size)) = (catalog.find(product), normalize_size(size)) {
                return Some((found.clone(), Some(size.to_owned())));
            }
        }
    }
    let (product, size) = item.rsplit_once(char::is_whitespace)?;
    let size = normalize_size(size)?;
    Some((catalog.find(product)?.clone(), Some(size.to_owned())))
}

/// The product words of an item for an error: before any `(`.
fn item_name(item: &str) -> &str {
    item.split('(').next().unwrap_or(item).trim()
}

fn read_text_line(line: usize, text: &str, catalog: &CatalogIndex, document: &mut ParsedDocument) {
    let text = text.trim_start_matches(|c: char| c == '>' || c.is_whitespace());
    let text = text.strip_prefix(['-', '*', '•']).unwrap_or(text).trim();
    let Some((quantity, item, must_be_known)) = split_text_item(text) else {
        return;
    };
    let found = read_item(item, catalog);
    let quantity = parse_quantity(quantity);
    let problem = match (&found, &quantity) {
        (None, _) if must_be_known => return,
        (None, Ok(_)) => RowProblem::UnknownProduct(item_name(item).to_owned()),
        (None, Err(_)) => return,
        (Some((found, size)), Ok(quantity)) => {
            document.rows.push(ParsedRow {
                line,
                product_id: found.product_id.clone(),
                size: size.clone().or_else(|| found.size.clone()),
                color: found.color.clone(),
                quantity: *quantity,
                price_cents: None,
            });
            return;
        }
        (Some(_), Err(problem)) => problem.clone(),
    };
    document.errors.push(RowError::new(line, problem));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_prices() {
        assert_eq!(parse_quantity("1,200"), Ok(1200));
        assert_eq!(parse_quantity(" +7 "), Ok(7));
        assert!(matches!(
            parse_quantity("-3"),
            Err(RowProblem::NegativeQuantity(_))
        ));
        assert!(matches!(
            parse_quantity("ten"),
            Err(RowProblem::NonNumericQuantity(_))
        ));
        assert!(matches!(
            parse_quantity("100001"),
            Err(RowProblem::QuantityTooLarge(_))
        ));
        assert_eq!(parse_price("$32.00", true), Ok(3200));
        assert_eq!(parse_price("3200", true), Ok(3200));
        assert_eq!(parse_price("32", false), Ok(3200));
        assert_eq!(parse_price("32.5", false), Ok(3250));
        assert_eq!(parse_price("32,00", false), Ok(3200));
        assert_eq!(parse_price("1,200", true), Ok(1200));
        assert!(parse_price("32.555", false).is_err());
        assert!(parse_price("cheap", false).is_err());
    }

    #[test]
    fn headers_in_snake_case() {
        assert_eq!(snake_case(" On Hand "), "on_hand");
        assert_eq!(snake_case("Price ($)"), "price");
        assert_eq!(column("2XL"), Column::SizeGrid("XXL"));
        assert_eq!(column("One Size"), Column::SizeGrid("ONE_SIZE"));
    }
}
