//! Resource quantities (`k8s.io/apimachinery/pkg/api/resource`): parsing,
//! comparison, and the canonical `String()` form upstream prints in messages
//! such as `must be less than or equal to cpu limit of 1`.

use std::cmp::Ordering;

/// Upstream's `ErrFormatWrong` text.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
/// Upstream's `ErrSuffix` text.
pub const QUANTITY_SUFFIX_ERROR: &str = "unable to parse quantity's suffix";

/// The notation a quantity was written in, which decides how it prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `1Ki`, `1Mi`, ...
    BinarySI,
    /// `1m`, `1`, `1k`, `1M`, ...
    DecimalSI,
    /// `1e3`.
    DecimalExponent,
}

/// A parsed quantity: `unscaled * 10^scale`, rounded up to nano precision as
/// upstream does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    unscaled: i128,
    scale: i32,
    /// The notation it was written in.
    pub format: Format,
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

impl Quantity {
    /// Zero.
    pub fn zero() -> Quantity {
        Quantity {
            unscaled: 0,
            scale: 0,
            format: Format::DecimalSI,
        }
    }

    /// An integer quantity in DecimalSI.
    pub fn from_int(v: i64) -> Quantity {
        Quantity {
            unscaled: i128::from(v),
            scale: 0,
            format: Format::DecimalSI,
        }
    }

    /// Parses like upstream's `ParseQuantity`; the error is upstream's text.
    pub fn parse(s: &str) -> Result<Quantity, &'static str> {
        if s.is_empty() {
            return Err(QUANTITY_FORMAT_ERROR);
        }
        let b = s.as_bytes();
        let mut pos = 0;
        let mut negative = false;
        match b.first() {
            Some(b'-') => {
                negative = true;
                pos = 1;
            }
            Some(b'+') => pos = 1,
            _ => {}
        }
        let int_start = pos;
        while b.get(pos).is_some_and(|c| c.is_ascii_digit()) {
            pos += 1;
        }
        let int_digits = s.get(int_start..pos).unwrap_or("");
        let mut frac_digits = "";
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let fs = pos;
            while b.get(pos).is_some_and(|c| c.is_ascii_digit()) {
                pos += 1;
            }
            frac_digits = s.get(fs..pos).unwrap_or("");
        }
        if int_digits.is_empty() && frac_digits.is_empty() && pos == int_start {
            return Err(QUANTITY_FORMAT_ERROR);
        }
        let suffix_start = pos;
        while b.get(pos).is_some_and(|c| b"eEinumkKMGTP".contains(c)) {
            pos += 1;
        }
        if matches!(b.get(pos), Some(b'-') | Some(b'+')) {
            pos += 1;
        }
        while b.get(pos).is_some_and(|c| c.is_ascii_digit()) {
            pos += 1;
        }
        if pos != b.len() {
            return Err(QUANTITY_FORMAT_ERROR);
        }
        let suffix = s.get(suffix_start..).unwrap_or("");
        let (base2, exponent, format) = interpret_suffix(suffix).ok_or(QUANTITY_SUFFIX_ERROR)?;

        let digits = format!("{int_digits}{frac_digits}");
        let digits = digits.trim_start_matches('0');
        let mut unscaled: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| QUANTITY_FORMAT_ERROR)?
        };
        let mut scale = -i32::try_from(frac_digits.len()).map_err(|_| QUANTITY_FORMAT_ERROR)?;
        if base2 {
            let factor = 1i128
                .checked_shl(u32::try_from(exponent).map_err(|_| QUANTITY_FORMAT_ERROR)?)
                .ok_or(QUANTITY_FORMAT_ERROR)?;
            unscaled = unscaled.checked_mul(factor).ok_or(QUANTITY_FORMAT_ERROR)?;
        } else {
            scale = scale.checked_add(exponent).ok_or(QUANTITY_FORMAT_ERROR)?;
        }
        // Round non-zero values up (away from zero) to nano precision.
        if scale < -9 && unscaled != 0 {
            let shift = u32::try_from(-9 - scale).map_err(|_| QUANTITY_FORMAT_ERROR)?;
            match pow10(shift) {
                Some(d) => {
                    let q = unscaled / d;
                    unscaled = if unscaled % d != 0 { q + 1 } else { q };
                }
                None => unscaled = 1,
            }
            scale = -9;
        }
        let mut format = format;
        let mut q = Quantity {
            unscaled,
            scale,
            format,
        };
        if format == Format::BinarySI
            && q.cmp_value(&Quantity::from_int(1)) == Ordering::Less
            && unscaled > 0
        {
            format = Format::DecimalSI;
        }
        if negative {
            q.unscaled = -q.unscaled;
        }
        q.format = format;
        Ok(q)
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.unscaled == 0
    }

    /// Whether the value is negative.
    pub fn is_negative(&self) -> bool {
        self.unscaled < 0
    }

    /// Compares values (ignoring format).
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        let s = self.scale.min(other.scale);
        let a = scale_to(self.unscaled, self.scale, s);
        let b = scale_to(other.unscaled, other.scale, s);
        match (a, b) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self
                .approx()
                .partial_cmp(&other.approx())
                .unwrap_or(Ordering::Equal),
        }
    }

    fn approx(&self) -> f64 {
        (self.unscaled as f64) * 10f64.powi(self.scale)
    }

    /// Upstream's `Value()`: rounded up (away from zero) to an integer.
    pub fn value_ceil(&self) -> i128 {
        if self.scale >= 0 {
            return scale_to(self.unscaled, self.scale, 0).unwrap_or(i128::MAX);
        }
        match pow10(self.scale.unsigned_abs()) {
            Some(d) => {
                let q = self.unscaled / d;
                if self.unscaled % d != 0 {
                    if self.unscaled > 0 { q + 1 } else { q - 1 }
                } else {
                    q
                }
            }
            None => 0,
        }
    }

    /// Upstream's `MilliValue()`.
    pub fn milli_value(&self) -> i128 {
        let m = Quantity {
            unscaled: self.unscaled,
            scale: self.scale + 3,
            format: self.format,
        };
        m.value_ceil()
    }

    /// Whether `self` is an exact integer multiple of `other` (`other` > 0).
    pub fn is_multiple_of(&self, other: &Quantity) -> bool {
        let s = self.scale.min(other.scale);
        match (
            scale_to(self.unscaled, self.scale, s),
            scale_to(other.unscaled, other.scale, s),
        ) {
            (Some(a), Some(b)) if b != 0 => a % b == 0,
            _ => false,
        }
    }

    /// The canonical string upstream's `Quantity.String()` prints.
    pub fn canonical(&self) -> String {
        if self.unscaled == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        let mut binary_value: Option<i128> = None;
        if format == Format::BinarySI {
            let small = self.cmp_value(&Quantity::from_int(-1024)) == Ordering::Greater
                && self.cmp_value(&Quantity::from_int(1024)) == Ordering::Less;
            if small {
                format = Format::DecimalSI;
            } else {
                match self.exact_integer() {
                    Some(v) => binary_value = Some(v),
                    None => format = Format::DecimalSI,
                }
            }
        }
        if let (Format::BinarySI, Some(mut v)) = (format, binary_value) {
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
            let mut k = 0;
            while k + 1 < suffixes.len() && v != 0 && v % 1024 == 0 {
                v /= 1024;
                k += 1;
            }
            return format!("{v}{}", suffixes.get(k).unwrap_or(&""));
        }
        // Decimal: strip trailing zeros, then make the exponent a multiple of 3.
        let mut m = self.unscaled;
        let mut e = self.scale;
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        match e.rem_euclid(3) {
            1 => {
                m = m.saturating_mul(10);
                e -= 1;
            }
            2 => {
                m = m.saturating_mul(100);
                e -= 2;
            }
            _ => {}
        }
        let suffix = match format {
            Format::DecimalExponent => {
                if e == 0 {
                    String::new()
                } else {
                    format!("e{e}")
                }
            }
            _ => match e {
                -9 => "n".into(),
                -6 => "u".into(),
                -3 => "m".into(),
                0 => String::new(),
                3 => "k".into(),
                6 => "M".into(),
                9 => "G".into(),
                12 => "T".into(),
                15 => "P".into(),
                18 => "E".into(),
                _ => format!("e{e}"),
            },
        };
        format!("{m}{suffix}")
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

    fn exact_integer(&self) -> Option<i128> {
        if self.scale >= 0 {
            return scale_to(self.unscaled, self.scale, 0);
        }
        let d = pow10(self.scale.unsigned_abs())?;
        if self.unscaled % d == 0 {
            Some(self.unscaled / d)
        } else {
            None
        }
    }
}

fn scale_to(unscaled: i128, scale: i32, target: i32) -> Option<i128> {
    let diff = u32::try_from(scale.checked_sub(target)?).ok()?;
    unscaled.checked_mul(pow10(diff)?)
}

/// Interprets a suffix: (binary?, exponent, format).
fn interpret_suffix(s: &str) -> Option<(bool, i32, Format)> {
    let dec = |e: i32| Some((false, e, Format::DecimalSI));
    match s {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => Some((true, 10, Format::BinarySI)),
        "Mi" => Some((true, 20, Format::BinarySI)),
        "Gi" => Some((true, 30, Format::BinarySI)),
        "Ti" => Some((true, 40, Format::BinarySI)),
        "Pi" => Some((true, 50, Format::BinarySI)),
        "Ei" => Some((true, 60, Format::BinarySI)),
        _ => {
            let rest = s.strip_prefix('e').or_else(|| s.strip_prefix('E'))?;
            if rest.is_empty() {
                return None;
            }
            let e: i64 = rest.parse().ok()?;
            let e = i32::try_from(e).ok()?;
            Some((false, e, Format::DecimalExponent))
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
