//! Resource quantities for validation messages, over `bosun_types::quantity`
//! (the one parser and canonical form of the project): parsing with
//! upstream's error texts, comparison, and the canonical `String()` form
//! upstream prints in messages such as `must be less than or equal to cpu
//! limit of 1`.

use bosun_types::quantity::{Format, Quantity as Exact, QuantityError};
use std::cmp::Ordering;

/// Upstream's `ErrFormatWrong` text.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// Upstream's `ErrSuffix` text.
pub const QUANTITY_SUFFIX_ERROR: &str = "unable to parse quantity's suffix";

/// A parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(Exact);

impl Quantity {
    /// Zero.
    pub fn zero() -> Quantity {
        Quantity(Exact::ZERO)
    }

    /// An integer quantity in DecimalSI.
    pub fn from_int(v: i64) -> Quantity {
        Quantity(Exact::from_value(v, Format::DecimalSI))
    }

    /// Parses like upstream's `ParseQuantity`; the error is upstream's text.
    pub fn parse(s: &str) -> Result<Quantity, &'static str> {
        Exact::parse(s).map(Quantity).map_err(|e| match e {
            QuantityError::Suffix => QUANTITY_SUFFIX_ERROR,
            _ => QUANTITY_FORMAT_ERROR,
        })
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    /// Whether the value is negative.
    pub fn is_negative(&self) -> bool {
        self.0.sign() < 0
    }

    /// Compares values (ignoring format).
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.0.cmp(&other.0)
    }

    /// Upstream's `Value()`: rounded up (away from zero) to an integer.
    pub fn value_ceil(&self) -> i128 {
        i128::from(self.0.value())
    }

    /// Upstream's `MilliValue()`.
    pub fn milli_value(&self) -> i128 {
        i128::from(self.0.milli_value())
    }

    /// Whether `self` is an exact integer multiple of `other` (`other` > 0).
    pub fn is_multiple_of(&self, other: &Quantity) -> bool {
        let divisor = other.0.nanos();
        divisor != 0 && self.0.nanos() % divisor == 0
    }

    /// The canonical string upstream's `Quantity.String()` prints.
    pub fn canonical(&self) -> String {
        self.0.to_canonical_string()
    }

    /// The quantity as a bad value. Upstream prints a `Quantity` through its
    /// `String()` method, i.e. unquoted: integers become JSON numbers so they
    /// print bare; other forms stay strings (and print quoted).
    pub fn as_bad_value(&self) -> serde_json::Value {
        let s = self.canonical();
        match s.parse::<i64>() {
            Ok(i) => serde_json::Value::from(i),
            Err(_) => serde_json::Value::from(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        match Quantity::parse(s) {
            Ok(q) => q.canonical(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn canonical_forms_match_upstream() {
        assert_eq!(c("1"), "1");
        assert_eq!(c("1000m"), "1");
        assert_eq!(c("500m"), "500m");
        assert_eq!(c("1.5"), "1500m");
        assert_eq!(c("1Gi"), "1Gi");
        assert_eq!(c("1024Mi"), "1Gi");
        assert_eq!(c("1536Mi"), "1536Mi");
        assert_eq!(c("0.5Gi"), "512Mi");
        assert_eq!(c("0.5Ki"), "512");
        assert_eq!(c("1e3"), "1e3");
        assert_eq!(c("100M"), "100M");
        assert_eq!(c("0"), "0");
        assert_eq!(c("-2"), "-2");
        assert_eq!(c("0.0000000001"), "1n");
        assert_eq!(c("128974848"), "128974848");
    }

    #[test]
    fn bad_syntax_reports_upstream_text() {
        assert_eq!(c("abc"), QUANTITY_FORMAT_ERROR);
        assert_eq!(c("1.5.5"), QUANTITY_FORMAT_ERROR);
        assert_eq!(c("10Q"), QUANTITY_FORMAT_ERROR);
        assert_eq!(c("10ki"), QUANTITY_SUFFIX_ERROR);
        assert_eq!(c(""), QUANTITY_FORMAT_ERROR);
    }

    #[test]
    fn comparison_crosses_formats() {
        let a = Quantity::parse("1Gi").ok();
        let b = Quantity::parse("1073741824").ok();
        assert_eq!(
            a.zip(b).map(|(a, b)| a.cmp_value(&b)),
            Some(Ordering::Equal)
        );
        let x = Quantity::parse("2").ok();
        let y = Quantity::parse("1500m").ok();
        assert_eq!(
            x.zip(y).map(|(a, b)| a.cmp_value(&b)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn milli_value_rounds_up() {
        assert_eq!(Quantity::parse("1.5").map(|q| q.milli_value()), Ok(1500));
        assert_eq!(Quantity::parse("0.0001").map(|q| q.milli_value()), Ok(1));
    }
}
