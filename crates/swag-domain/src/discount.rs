//! Discount codes: the code format, what a code takes off a subtotal, minting, and single-use
//! redemption that holds under concurrency and replays (one redemption per code, idempotent
//! for the same checkout session).

use chrono::Utc;
use rand::Rng;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde::Serialize;

use crate::entity::{discount_code, discount_redemption};

/// Why a code cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscountError {
    #[error("discount codes are 3–40 characters of A–Z, 0–9, _ and -")]
    InvalidFormat,
    #[error("discount code {0} does not exist")]
    Unknown(String),
    #[error("discount code {0} is paused")]
    Inactive(String),
    #[error("discount code {0} has already been redeemed")]
    AlreadyRedeemed(String),
    #[error("discount code {0} takes nothing off this order")]
    ZeroDiscount(String),
    #[error("invalid discount: {0}")]
    InvalidValue(&'static str),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sea_orm::DbErr> for DiscountError {
    fn from(error: sea_orm::DbErr) -> Self {
        DiscountError::Database(error.to_string())
    }
}

/// A well-formed code: uppercase `^[A-Z0-9_-]{3,40}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Code(String);

impl Code {
    /// Trims and uppercases `input`, then checks the format.
    pub fn parse(input: &str) -> Result<Code, DiscountError> {
        let code = input.trim().to_ascii_uppercase();
        let valid = (3..=40).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Code(code))
        } else {
            Err(DiscountError::InvalidFormat)
        }
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a code takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountValue {
    /// A fixed amount, capped at the subtotal.
    AmountOff { cents: i64 },
    /// A percentage in hundredths of a percent (1250 = 12.5 %), capped at the subtotal.
    PercentOff { bps: i32 },
}

impl DiscountValue {
    /// Checks the value's own bounds.
    pub fn validated(self) -> Result<Self, DiscountError> {
        match self {
            DiscountValue::AmountOff { cents } if cents <= 0 => Err(DiscountError::InvalidValue(
                "an amount off must be more than zero",
            )),
            DiscountValue::PercentOff { bps } if bps <= 0 || bps > 10_000 => Err(
                DiscountError::InvalidValue("a percentage must be above 0 and at most 100"),
            ),
            valid => Ok(valid),
        }
    }

    /// Cents taken off `subtotal_cents`: `min(amount, subtotal)` or
    /// `min(round(subtotal × pct / 100), subtotal)`.
    pub fn discount_cents(self, subtotal_cents: i64) -> i64 {
        let raw = match self {
            DiscountValue::AmountOff { cents } => cents,
            DiscountValue::PercentOff { bps } => (subtotal_cents * i64::from(bps) + 5_000) / 10_000,
        };
        raw.clamp(0, subtotal_cents.max(0))
    }

    fn from_row(row: &discount_code::Model) -> Result<Self, DiscountError> {
        match (
            row.discount_type.as_str(),
            row.amount_off_cents,
            row.percent_off_bps,
        ) {
            ("amount_off", Some(cents), None) => Ok(DiscountValue::AmountOff { cents }),
            ("percent_off", None, Some(bps)) => Ok(DiscountValue::PercentOff { bps }),
            _ => Err(DiscountError::InvalidValue(
                "stored code has an inconsistent value",
            )),
        }
    }
}

/// A code applied to a subtotal, as `POST /api/discounts/validate` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedDiscount {
    pub code: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub discount_cents: i64,
    pub amount_off_cents: Option<i64>,
    pub percent_off: Option<f64>,
}

/// Looks a code up and applies it to `subtotal_cents`; refuses paused, spent and zero-value codes.
pub async fn apply(
    db: &impl ConnectionTrait,
    input: &str,
    subtotal_cents: i64,
) -> Result<AppliedDiscount, DiscountError> {
    let code = Code::parse(input)?;
    let row = discount_code::Entity::find_by_id(code.as_str())
        .one(db)
        .await?
        .ok_or_else(|| DiscountError::Unknown(code.0.clone()))?;
    if !row.active {
        return Err(DiscountError::Inactive(row.code));
    }
    if row.times_redeemed >= row.max_redemptions {
        return Err(DiscountError::AlreadyRedeemed(row.code));
    }
    let value = DiscountValue::from_row(&row)?;
    let discount_cents = value.discount_cents(subtotal_cents);
    if discount_cents <= 0 {
        return Err(DiscountError::ZeroDiscount(row.code));
    }
    let (kind, amount_off_cents, percent_off) = match value {
        DiscountValue::AmountOff { cents } => ("amount_off", Some(cents), None),
        DiscountValue::PercentOff { bps } => ("percent_off", None, Some(f64::from(bps) / 100.0)),
    };
    Ok(AppliedDiscount {
        code: row.code,
        label: row.label,
        kind,
        discount_cents,
        amount_off_cents,
        percent_off,
    })
}

/// A new code to store.
#[derive(Debug, Clone)]
pub struct NewCode {
    pub code: Code,
    pub label: String,
    pub value: DiscountValue,
    pub created_by: String,
}

/// Stores a new single-use code.
pub async fn create(
    db: &impl ConnectionTrait,
    new: NewCode,
) -> Result<discount_code::Model, DiscountError> {
    let value = new.value.validated()?;
    let now = Utc::now();
    let (kind, amount, bps) = match value {
        DiscountValue::AmountOff { cents } => ("amount_off", Some(cents), None),
        DiscountValue::PercentOff { bps } => ("percent_off", None, Some(bps)),
    };
    let row = discount_code::ActiveModel {
        code: Set(new.code.0),
        label: Set(new.label),
        discount_type: Set(kind.to_owned()),
        amount_off_cents: Set(amount),
        percent_off_bps: Set(bps),
        max_redemptions: Set(1),
        times_redeemed: Set(0),
        active: Set(true),
        stripe_coupon_id: Set(None),
        created_by: Set(new.created_by),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(discount_code::Entity::insert(row)
        .exec_with_returning(db)
        .await?)
}

/// The characters of generated codes (no 0/O, 1/I/L).
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A generated code `{PREFIX}-{8 chars}`, the prefix cut to 16 characters.
pub fn generate_code(prefix: &str) -> Result<Code, DiscountError> {
    let prefix: String = prefix
        .trim()
        .to_ascii_uppercase()
        .chars()
        .take(16)
        .collect();
    let mut rng = rand::thread_rng();
    let tail: String = (0..8)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    Code::parse(&format!("{prefix}-{tail}"))
}

/// A recorded redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redemption {
    pub code: String,
    pub stripe_session_id: String,
    pub order_id: String,
    pub amount_cents: i64,
    /// False when this call found the redemption already recorded for the same session.
    pub newly_recorded: bool,
}

/// Redeems `code` for a checkout session, once: the same session again is a no-op, any other
/// session is refused, even when both race.
pub async fn redeem(
    db: &DatabaseConnection,
    code: &str,
    stripe_session_id: &str,
    order_id: &str,
    amount_cents: i64,
) -> Result<Redemption, DiscountError> {
    let code = Code::parse(code)?;
    let txn = db.begin().await?;
    // Write first, so that SQLite takes its write lock before reading anything.
    let inserted = discount_redemption::Entity::insert(discount_redemption::ActiveModel {
        stripe_session_id: Set(stripe_session_id.to_owned()),
        code: Set(code.0.clone()),
        order_id: Set(order_id.to_owned()),
        amount_cents: Set(amount_cents),
        created_at: Set(Utc::now()),
    })
    .on_conflict(OnConflict::new().do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        let existing = discount_redemption::Entity::find_by_id(stripe_session_id)
            .one(&txn)
            .await?;
        txn.rollback().await?;
        return match existing {
            Some(row) if row.code == code.0 => Ok(Redemption {
                code: row.code,
                stripe_session_id: row.stripe_session_id,
                order_id: row.order_id,
                amount_cents: row.amount_cents,
                newly_recorded: false,
            }),
            _ => Err(DiscountError::AlreadyRedeemed(code.0)),
        };
    }
    let counted = discount_code::Entity::update_many()
        .col_expr(
            discount_code::Column::TimesRedeemed,
            Expr::col(discount_code::Column::TimesRedeemed).add(1),
        )
        .col_expr(discount_code::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(discount_code::Column::Code.eq(code.as_str()))
        .filter(discount_code::Column::Active.eq(true))
        .filter(
            Expr::col(discount_code::Column::TimesRedeemed)
                .lt(Expr::col(discount_code::Column::MaxRedemptions)),
        )
        .exec(&txn)
        .await?;
    if counted.rows_affected == 0 {
        let row = discount_code::Entity::find_by_id(code.as_str())
            .one(&txn)
            .await?;
        txn.rollback().await?;
        return Err(match row {
            None => DiscountError::Unknown(code.0),
            Some(row) if !row.active => DiscountError::Inactive(code.0),
            Some(_) => DiscountError::AlreadyRedeemed(code.0),
        });
    }
    txn.commit().await?;
    Ok(Redemption {
        code: code.0,
        stripe_session_id: stripe_session_id.to_owned(),
        order_id: order_id.to_owned(),
        amount_cents,
        newly_recorded: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_uppercased_and_checked() {
        assert_eq!(Code::parse(" save-10 ").unwrap().as_str(), "SAVE-10");
        for bad in ["AB", "has space", "émoji", &"X".repeat(41)] {
            assert_eq!(Code::parse(bad), Err(DiscountError::InvalidFormat), "{bad}");
        }
    }

    #[test]
    fn discounts_are_capped_and_rounded() {
        let amount = DiscountValue::AmountOff { cents: 10_000 };
        assert_eq!(amount.discount_cents(4_500), 4_500);
        assert_eq!(amount.discount_cents(20_000), 10_000);
        let pct = DiscountValue::PercentOff { bps: 1_250 };
        assert_eq!(
            pct.discount_cents(999),
            125,
            "12.5 % of $9.99 rounds half up"
        );
        assert_eq!(
            DiscountValue::PercentOff { bps: 10_000 }.discount_cents(3_200),
            3_200
        );
        assert!(DiscountValue::PercentOff { bps: 10_001 }
            .validated()
            .is_err());
        assert!(DiscountValue::AmountOff { cents: 0 }.validated().is_err());
    }

    #[test]
    fn generated_codes_use_the_unambiguous_alphabet() {
        let code = generate_code("devrel-comp-extra-long-prefix").unwrap();
        let (prefix, tail) = code.as_str().rsplit_once('-').unwrap();
        assert_eq!(prefix, "DEVREL-COMP-EXTR");
        assert_eq!(tail.len(), 8);
        assert!(tail.bytes().all(|b| CODE_ALPHABET.contains(&b)));
    }
}
