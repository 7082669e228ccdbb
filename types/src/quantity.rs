//! Kubernetes resource quantities (`resource.Quantity` in apimachinery).
//!
//! A quantity is a signed decimal number with a suffix, such as `100m`, `1.5`,
//! `512Mi` or `1e3`. The grammar accepted by [`Quantity::from_str`] is:
//!
//! ```text
//! quantity        ::= signed-number suffix
//! signed-number   ::= [ "+" | "-" ] number
//! number          ::= digits | digits "." digits | digits "." | "." digits
//! suffix          ::= binary-si | decimal-si | decimal-exponent
//! binary-si       ::= "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"          (powers of 1024)
//! decimal-si      ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"
//! decimal-exponent::= ( "e" | "E" ) signed-integer                     (e.g. "e3", "E-6")
//! ```
//!
//! # Representation and limits
//!
//! A [`Quantity`] stores its value exactly as a signed count of nano units
//! (`i128`, value × 10⁹) together with the [`Format`] of the suffix it was
//! written with. Consequences:
//!
//! * Precision is 10⁻⁹. Parsing rounds anything finer *up*, away from zero, to
//!   the next nano unit (`0.1n` → `1n`, `-0.1n` → `-1n`, `3.001n` → `4n`), as
//!   Kubernetes does: asking for a tiny amount of a resource still asks for some.
//! * The magnitude must stay below 10²⁹ (at most 29 integer digits), i.e.
//!   `|nanos| <= MAX_NANOS = 10³⁸ − 1`. That covers every `i64` value at full
//!   nano precision with lots of headroom for sums. Parsing a larger value, or
//!   arithmetic that would leave this range, fails with
//!   [`QuantityError::OutOfRange`]; nothing wraps, saturates silently or panics.
//! * Binary-SI inputs larger than `i64::MAX` are capped at `i64::MAX`, as
//!   upstream does (`8Ei` → `9223372036854775807`).
//!
//! # Canonical form
//!
//! [`Display`](fmt::Display) (and serialization) emits the canonical form:
//! the largest suffix of the quantity's format that leaves no fractional digits.
//! Decimal-SI and decimal-exponent values use an exponent that is a multiple of
//! three (`1000m` → `1`, `0.1` → `100m`, `1e3` → `1e3`, `1.2e3` → `1200`,
//! `1e-1` → `100e-3`). Binary-SI values use the largest power of 1024 dividing the
//! value (`1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`); values strictly between −1024
//! and 1024, and values that are not whole numbers, fall back to decimal SI
//! (`0.5Ki` → `512`, `1.5Ki` → `1536`, `.001Ki` → `1024m`).
//!
//! # Differences from upstream
//!
//! * Range: upstream falls back to unbounded decimals, so it accepts values such
//!   as `1e999999999`; here anything of magnitude ≥ 10²⁹ is rejected.
//! * Exponents that do not fit in `i32` (but do in `i64`) are applied exactly
//!   (`1e-9999999999` → `1n`, `1e9999999999` → out of range) instead of being
//!   silently truncated to 32 bits.
//! * A number without any digit is rejected: `.` and `-.` fail with
//!   [`QuantityError::Numeric`]; `+`, `-`, `Gi` and the like fail with
//!   [`QuantityError::Format`]. Upstream's scanner reads them as zero, which
//!   contradicts its own documented grammar.
//! * Output is always the canonical form. Upstream re-emits the original input
//!   string when its heuristics deem it canonical, which lets a few non-canonical
//!   spellings through (`+1`, `1E3`, `1.230k`); here they print as `1`, `1e3`
//!   and `1230`.
//! * Decimal-SI values of 10²¹ and more print with the `E` suffix (`1000E`);
//!   upstream has no suffix for those exponents and drops it, printing a wrong
//!   value. Likewise binary-SI values divisible by 1024⁷ print as `…Ei`.
//! * [`Quantity::value`], [`Quantity::milli_value`] and
//!   [`Quantity::scaled_value`] saturate at the `i64` bounds instead of
//!   overflowing; the `checked_*` variants report overflow.
//! * Deserializing a JSON number goes through serde's number types, so the
//!   original spelling is lost: `1e3` (a number, not a string) becomes `1k`
//!   (decimal SI) rather than keeping the exponent format.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// Nano units in one unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// The largest magnitude a [`Quantity`] can hold, in nano units: 10³⁸ − 1,
/// i.e. values strictly between −10²⁹ and 10²⁹.
pub const MAX_NANOS: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

/// Decimal digits of [`MAX_NANOS`].
const MAX_NANO_DIGITS: usize = 38;

/// Binary-SI values are capped at `i64::MAX` units when parsed (upstream rule).
const BINARY_CAP_NANOS: i128 = i64::MAX as i128 * NANOS_PER_UNIT;

/// The regular expression upstream uses to describe the shape of a quantity;
/// it appears in the text of [`QuantityError::Format`].
pub const QUANTITY_REGEX: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// Characters that may start a suffix.
const SUFFIX_CHARS: &[u8] = b"eEinumkKMGTP";

/// Why a quantity could not be parsed or computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string is not shaped like `<signed number><suffix>` (empty string,
    /// stray characters, whitespace, a second decimal point...).
    #[error("quantities must match the regular expression '{re}'", re = QUANTITY_REGEX)]
    Format,
    /// The numeric part contains no digit (e.g. `.`).
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The suffix is not one of the known binary-SI, decimal-SI or exponent
    /// suffixes (e.g. `1ki`, `1e`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The value's magnitude is 10²⁹ or more (see [`MAX_NANOS`]).
    #[error("quantity out of range: magnitude must be less than 10^29")]
    OutOfRange,
}

/// How a quantity is written: which family of suffixes its canonical form uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Decimal exponent, e.g. `12e6`.
    DecimalExponent,
    /// Binary SI suffixes (powers of 1024), e.g. `12Mi`.
    BinarySI,
    /// Decimal SI suffixes (powers of 1000), e.g. `12M`. The default.
    #[default]
    DecimalSI,
}

impl Format {
    /// The upstream name of the format (`"DecimalExponent"`, `"BinarySI"`,
    /// `"DecimalSI"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Format::DecimalExponent => "DecimalExponent",
            Format::BinarySI => "BinarySI",
            Format::DecimalSI => "DecimalSI",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fixed-point resource amount such as `100m` CPU or `1Gi` of memory.
///
/// Equality, ordering and hashing consider the value only, never the format:
/// `1Gi == 1024Mi` and `1000m == 1`. See the [module documentation](self) for
/// the representation, its limits and the canonical string form.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quantity {
    /// The value in units of 10⁻⁹; `|nanos| <= MAX_NANOS`.
    nanos: i128,
    /// The suffix family used when printing.
    format: Format,
}

impl Quantity {
    /// The zero quantity, in decimal-SI format.
    pub const ZERO: Quantity = Quantity {
        nanos: 0,
        format: Format::DecimalSI,
    };

    /// Parses a quantity string such as `"100m"`, `"1.5Gi"` or `"1e3"`.
    ///
    /// Same as [`str::parse`]; surrounding whitespace is not allowed.
    ///
    /// # Errors
    ///
    /// Fails with [`QuantityError`] when the string is not a valid quantity or is out of range.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        parse_quantity(s)
    }

    /// A quantity of `value` whole units printed in `format`
    /// (upstream `NewQuantity`).
    #[must_use]
    pub fn from_value(value: i64, format: Format) -> Self {
        Quantity {
            nanos: i128::from(value) * NANOS_PER_UNIT,
            format,
        }
    }

    /// A decimal-SI quantity of `value` thousandths of a unit
    /// (upstream `NewMilliQuantity(value, DecimalSI)`): `from_milli(1500)` is `1500m`.
    #[must_use]
    pub fn from_milli(value: i64) -> Self {
        Quantity {
            nanos: i128::from(value) * 1_000_000,
            format: Format::DecimalSI,
        }
    }

    /// A decimal-SI quantity of `value` × 10^`scale` (upstream `NewScaledQuantity`).
    ///
    /// A scale below −9 is rounded up (away from zero) to nano precision.
    ///
    /// # Errors
    ///
    /// [`QuantityError::OutOfRange`] when the magnitude reaches 10²⁹.
    pub fn from_scaled(value: i64, scale: i32) -> Result<Self, QuantityError> {
        let magnitude = scale_magnitude(u128::from(value.unsigned_abs()), i64::from(scale) + 9)
            .ok_or(QuantityError::OutOfRange)?;
        Quantity::from_nanos(apply_sign(magnitude, value < 0)?, Format::DecimalSI)
    }

    /// A quantity of exactly `nanos` × 10⁻⁹ printed in `format`.
    ///
    /// # Errors
    ///
    /// [`QuantityError::OutOfRange`] when `|nanos| > MAX_NANOS`.
    pub fn from_nanos(nanos: i128, format: Format) -> Result<Self, QuantityError> {
        check_range(nanos)?;
        Ok(Quantity { nanos, format })
    }

    /// The exact value in units of 10⁻⁹.
    #[must_use]
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The format used when printing this quantity.
    #[must_use]
    pub fn format(&self) -> Format {
        self.format
    }

    /// The same value, printed in `format` from now on.
    #[must_use]
    pub fn with_format(self, format: Format) -> Self {
        Quantity { format, ..self }
    }

    /// Whether the value is zero.
    #[must_use]
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// −1, 0 or 1 according to the sign of the value.
    #[must_use]
    pub fn sign(&self) -> i32 {
        match self.nanos.cmp(&0) {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }
    }

    /// The canonical string form (same as [`Display`](fmt::Display)).
    #[must_use]
    pub fn to_canonical_string(&self) -> String {
        self.to_string()
    }

    /// `self + other`, keeping the format of `self` unless `self` is zero, in
    /// which case the result takes the format of `other` (upstream `Add`).
    ///
    /// # Errors
    ///
    /// [`QuantityError::OutOfRange`] when the sum leaves the supported range.
    pub fn checked_add(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        let nanos = self
            .nanos
            .checked_add(other.nanos)
            .ok_or(QuantityError::OutOfRange)?;
        Quantity::from_nanos(nanos, self.result_format(other))
    }

    /// `self - other`, with the same format rule as [`checked_add`](Self::checked_add)
    /// (upstream `Sub`).
    ///
    /// # Errors
    ///
    /// [`QuantityError::OutOfRange`] when the difference leaves the supported range.
    pub fn checked_sub(&self, other: &Quantity) -> Result<Quantity, QuantityError> {
        let nanos = self
            .nanos
            .checked_sub(other.nanos)
            .ok_or(QuantityError::OutOfRange)?;
        Quantity::from_nanos(nanos, self.result_format(other))
    }

    /// `self × factor`, keeping the format (upstream `Mul`).
    ///
    /// # Errors
    ///
    /// [`QuantityError::OutOfRange`] when the product leaves the supported range.
    pub fn checked_mul(&self, factor: i64) -> Result<Quantity, QuantityError> {
        let nanos = self
            .nanos
            .checked_mul(i128::from(factor))
            .ok_or(QuantityError::OutOfRange)?;
        Quantity::from_nanos(nanos, self.format)
    }

    /// The value in whole units, rounded up away from zero (`1.5` → 2,
    /// `-1.5` → −2, `1n` → 1), saturating at the `i64` bounds (upstream `Value`).
    #[must_use]
    pub fn value(&self) -> i64 {
        self.scaled_value(0)
    }

    /// The value in thousandths, rounded up away from zero (`1n` → 1),
    /// saturating at the `i64` bounds (upstream `MilliValue`).
    #[must_use]
    pub fn milli_value(&self) -> i64 {
        self.scaled_value(-3)
    }

    /// The value in units of 10^`scale`, rounded up away from zero, saturating
    /// at the `i64` bounds (upstream `ScaledValue`): `scaled_value(-3)` is the
    /// milli value, `scaled_value(-9)` the nano value.
    #[must_use]
    pub fn scaled_value(&self, scale: i32) -> i64 {
        self.checked_scaled_value(scale)
            .unwrap_or(if self.nanos < 0 { i64::MIN } else { i64::MAX })
    }

    /// [`value`](Self::value), or `None` if it does not fit in an `i64`.
    #[must_use]
    pub fn checked_value(&self) -> Option<i64> {
        self.checked_scaled_value(0)
    }

    /// [`milli_value`](Self::milli_value), or `None` if it does not fit in an `i64`.
    #[must_use]
    pub fn checked_milli_value(&self) -> Option<i64> {
        self.checked_scaled_value(-3)
    }

    /// [`scaled_value`](Self::scaled_value), or `None` if it does not fit in an `i64`.
    #[must_use]
    pub fn checked_scaled_value(&self, scale: i32) -> Option<i64> {
        // value / 10^scale = nanos / 10^(scale + 9)
        let magnitude = scale_magnitude(self.nanos.unsigned_abs(), -(i64::from(scale) + 9))?;
        let signed = i128::try_from(magnitude).ok()?;
        i64::try_from(if self.nanos < 0 { -signed } else { signed }).ok()
    }

    /// The value as a floating-point number, for scoring and ratios; exact
    /// arithmetic should use the quantity itself.
    #[must_use]
    pub fn as_f64(&self) -> f64 {
        let whole = (self.nanos / NANOS_PER_UNIT) as f64;
        let fraction = (self.nanos % NANOS_PER_UNIT) as f64 / NANOS_PER_UNIT as f64;
        whole + fraction
    }

    /// Upstream rule for `Add`/`Sub`: a zero left operand adopts the right
    /// operand's format.
    fn result_format(&self, other: &Quantity) -> Format {
        if self.is_zero() {
            other.format
        } else {
            self.format
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

impl std::ops::Neg for Quantity {
    type Output = Quantity;

    /// The negated value, same format. Never overflows: the range is symmetric.
    fn neg(self) -> Quantity {
        Quantity {
            nanos: -self.nanos,
            format: self.format,
        }
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_quantity(s)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_canonical(self.nanos, self.format, f)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// Accepts a quantity string (surrounding whitespace is trimmed, as upstream
    /// does), a number, or null (the zero quantity, as upstream does).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// Serde visitor turning strings and numbers into quantities.
struct QuantityVisitor;

impl<'de> Visitor<'de> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity such as \"100m\" or \"1Gi\", or a number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        parse_quantity(v.trim()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Ok(Quantity::from_value(v, Format::DecimalSI))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        // u64::MAX × 10⁹ < 10³⁸: always in range.
        Quantity::from_nanos(i128::from(v) * NANOS_PER_UNIT, Format::DecimalSI).map_err(E::custom)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Quantity, E> {
        parse_quantity(&v.to_string()).map_err(E::custom)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Quantity, E> {
        parse_quantity(&v.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        if !v.is_finite() {
            return Err(E::custom("quantity must be a finite number"));
        }
        // `Display` for f64 prints the shortest round-tripping decimal and never
        // uses exponent notation, so the result is always a valid quantity.
        parse_quantity(&v.to_string()).map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::ZERO)
    }

    fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::ZERO)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Quantity, D::Error> {
        Quantity::deserialize(deserializer)
    }
}

/// Fails unless `|nanos| <= MAX_NANOS`.
fn check_range(nanos: i128) -> Result<(), QuantityError> {
    if nanos.unsigned_abs() > MAX_NANOS.unsigned_abs() {
        Err(QuantityError::OutOfRange)
    } else {
        Ok(())
    }
}

/// Turns a magnitude and a sign into a signed value within range.
fn apply_sign(magnitude: u128, negative: bool) -> Result<i128, QuantityError> {
    if magnitude > MAX_NANOS.unsigned_abs() {
        return Err(QuantityError::OutOfRange);
    }
    let signed = i128::try_from(magnitude).map_err(|_| QuantityError::OutOfRange)?;
    Ok(if negative { -signed } else { signed })
}

/// `magnitude × 10^shift`, rounding up (away from zero) when `shift` is
/// negative; `None` on `u128` overflow.
fn scale_magnitude(magnitude: u128, shift: i64) -> Option<u128> {
    if magnitude == 0 {
        return Some(0);
    }
    if shift >= 0 {
        let factor = 10u128.checked_pow(u32::try_from(shift).ok()?)?;
        return magnitude.checked_mul(factor);
    }
    match u32::try_from(shift.unsigned_abs())
        .ok()
        .and_then(|s| 10u128.checked_pow(s))
    {
        // The divisor exceeds any u128: a non-zero magnitude rounds up to 1.
        None => Some(1),
        Some(divisor) => {
            let quotient = magnitude / divisor;
            Some(if magnitude.is_multiple_of(divisor) {
                quotient
            } else {
                quotient + 1
            })
        }
    }
}

/// How a suffix scales the number in front of it.
#[derive(Debug, Clone, Copy)]
enum Multiplier {
    /// × 10^exponent.
    Decimal(i64),
    /// × 2^exponent (exponent ≤ 60).
    Binary(u32),
}

/// Looks up a suffix (upstream `interpret`).
fn interpret_suffix(suffix: &[u8]) -> Option<(Multiplier, Format)> {
    use Multiplier::{Binary, Decimal};
    let found = match suffix {
        b"" => (Decimal(0), Format::DecimalSI),
        b"n" => (Decimal(-9), Format::DecimalSI),
        b"u" => (Decimal(-6), Format::DecimalSI),
        b"m" => (Decimal(-3), Format::DecimalSI),
        b"k" => (Decimal(3), Format::DecimalSI),
        b"M" => (Decimal(6), Format::DecimalSI),
        b"G" => (Decimal(9), Format::DecimalSI),
        b"T" => (Decimal(12), Format::DecimalSI),
        b"P" => (Decimal(15), Format::DecimalSI),
        b"E" => (Decimal(18), Format::DecimalSI),
        b"Ki" => (Binary(10), Format::BinarySI),
        b"Mi" => (Binary(20), Format::BinarySI),
        b"Gi" => (Binary(30), Format::BinarySI),
        b"Ti" => (Binary(40), Format::BinarySI),
        b"Pi" => (Binary(50), Format::BinarySI),
        b"Ei" => (Binary(60), Format::BinarySI),
        [b'e' | b'E', rest @ ..] if !rest.is_empty() => {
            // Accepts an optional sign, like Go's strconv.ParseInt.
            let exponent: i64 = std::str::from_utf8(rest).ok()?.parse().ok()?;
            (Decimal(exponent), Format::DecimalExponent)
        }
        _ => return None,
    };
    Some(found)
}

/// Advances `pos` past every byte of `bytes` satisfying `pred`.
fn skip_while(bytes: &[u8], mut pos: usize, pred: impl Fn(u8) -> bool) -> usize {
    while bytes.get(pos).is_some_and(|&b| pred(b)) {
        pos += 1;
    }
    pos
}

/// Parses a quantity string (see the module documentation for the grammar).
fn parse_quantity(s: &str) -> Result<Quantity, QuantityError> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(QuantityError::Format);
    }

    // Sign.
    let (negative, mut pos) = match bytes.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };

    // Integer digits, optional point and fraction digits.
    let int_start = pos;
    pos = skip_while(bytes, pos, |b| b.is_ascii_digit());
    let int_digits = bytes.get(int_start..pos).unwrap_or_default();
    let mut has_point = false;
    let mut frac_digits: &[u8] = &[];
    if bytes.get(pos) == Some(&b'.') {
        has_point = true;
        pos += 1;
        let frac_start = pos;
        pos = skip_while(bytes, pos, |b| b.is_ascii_digit());
        frac_digits = bytes.get(frac_start..pos).unwrap_or_default();
    }

    // Suffix: letters, then an optional sign and digits, then the end.
    let suffix_start = pos;
    pos = skip_while(bytes, pos, |b| SUFFIX_CHARS.contains(&b));
    if matches!(bytes.get(pos), Some(b'+' | b'-')) {
        pos += 1;
    }
    pos = skip_while(bytes, pos, |b| b.is_ascii_digit());
    if pos != bytes.len() {
        return Err(QuantityError::Format);
    }
    let no_digits = int_digits.is_empty() && frac_digits.is_empty();
    if no_digits && !has_point {
        // The regular expression requires at least one of [0-9.].
        return Err(QuantityError::Format);
    }
    let suffix = bytes.get(suffix_start..).unwrap_or_default();
    let (multiplier, mut format) = interpret_suffix(suffix).ok_or(QuantityError::Suffix)?;
    if no_digits {
        return Err(QuantityError::Numeric);
    }

    // All significant digits as one integer D; value = D × 10^-len(frac) × multiplier.
    let mut digits: Vec<u8> = int_digits
        .iter()
        .chain(frac_digits)
        .map(|c| c.wrapping_sub(b'0'))
        .skip_while(|&d| d == 0)
        .collect();
    let frac_len = i128::try_from(frac_digits.len()).map_err(|_| QuantityError::OutOfRange)?;
    let exponent10 = match multiplier {
        Multiplier::Decimal(e) => i128::from(e),
        Multiplier::Binary(e) => {
            multiply_digits(&mut digits, 1u64 << e);
            0
        }
    };
    // nanos = D' × 10^shift where D' = D × (binary multiplier).
    let shift = exponent10 - frac_len + 9;
    let magnitude = digits_to_nanos(&digits, shift);

    let magnitude = if format == Format::BinarySI {
        // Upstream caps binary-SI values at i64::MAX instead of failing.
        let cap = BINARY_CAP_NANOS.unsigned_abs();
        let capped = magnitude.map_or(cap, |m| m.min(cap));
        if capped > 0 && capped < NANOS_PER_UNIT.unsigned_abs() {
            // Fractions of a unit cannot be written in binary SI.
            format = Format::DecimalSI;
        }
        capped
    } else {
        magnitude.ok_or(QuantityError::OutOfRange)?
    };

    Ok(Quantity {
        nanos: apply_sign(magnitude, negative)?,
        format,
    })
}

/// Multiplies a big-endian vector of decimal digits by `factor` in place.
fn multiply_digits(digits: &mut Vec<u8>, factor: u64) {
    let factor = u128::from(factor);
    let mut carry: u128 = 0;
    for digit in digits.iter_mut().rev() {
        let v = u128::from(*digit) * factor + carry;
        *digit = (v % 10) as u8;
        carry = v / 10;
    }
    let mut prefix = Vec::new();
    while carry > 0 {
        prefix.push((carry % 10) as u8);
        carry /= 10;
    }
    prefix.reverse();
    digits.splice(0..0, prefix);
}

/// `digits × 10^shift`, rounded up to an integer, as long as it does not exceed
/// [`MAX_NANOS`]; `None` otherwise. `digits` has no leading zero.
fn digits_to_nanos(digits: &[u8], shift: i128) -> Option<u128> {
    if digits.is_empty() {
        return Some(0);
    }
    let len = i128::try_from(digits.len()).ok()?;
    let max_digits = i128::try_from(MAX_NANO_DIGITS).ok()?;
    let (head, round_up) = if shift >= 0 {
        if len + shift > max_digits {
            return None;
        }
        (digits, false)
    } else {
        let drop = shift.unsigned_abs();
        match usize::try_from(drop).ok().filter(|&d| d < digits.len()) {
            // Every digit lies below 10⁻⁹: the value rounds up to one nano unit.
            None => return Some(1),
            Some(drop) => {
                let (head, tail) = digits.split_at(digits.len() - drop);
                if head.len() > MAX_NANO_DIGITS {
                    return None;
                }
                (head, tail.iter().any(|&d| d != 0))
            }
        }
    };
    let mut value: u128 = 0;
    for &d in head {
        value = value.checked_mul(10)?.checked_add(u128::from(d))?;
    }
    if shift > 0 {
        value = value.checked_mul(10u128.checked_pow(u32::try_from(shift).ok()?)?)?;
    }
    if round_up {
        value = value.checked_add(1)?;
    }
    (value <= MAX_NANOS.unsigned_abs()).then_some(value)
}

/// Writes the canonical form of `nanos` in `format` (upstream `CanonicalizeBytes`).
fn write_canonical(nanos: i128, format: Format, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if nanos == 0 {
        return f.write_str("0");
    }
    if nanos < 0 {
        f.write_str("-")?;
    }
    let magnitude = nanos.unsigned_abs();
    let unit = NANOS_PER_UNIT.unsigned_abs();

    // Binary SI only for whole numbers of magnitude ≥ 1024; otherwise decimal SI.
    if format == Format::BinarySI && magnitude >= 1024 * unit && magnitude.is_multiple_of(unit) {
        const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        let mut mantissa = magnitude / unit;
        let mut power = 0;
        while power + 1 < BINARY_SUFFIXES.len() && mantissa.is_multiple_of(1024) {
            mantissa /= 1024;
            power += 1;
        }
        let suffix = BINARY_SUFFIXES.get(power).copied().unwrap_or_default();
        return write!(f, "{mantissa}{suffix}");
    }

    // Move factors of ten into the exponent, then lower the exponent to a
    // multiple of three. Every step keeps mantissa × 10^exponent == the value,
    // with mantissa ≤ magnitude, so nothing can overflow.
    let mut mantissa = magnitude;
    let mut exponent: i32 = -9;
    while mantissa.is_multiple_of(10) {
        mantissa /= 10;
        exponent += 1;
    }
    let excess = exponent.rem_euclid(3);
    mantissa = mantissa.saturating_mul(10u128.pow(excess.unsigned_abs()));
    exponent -= excess;

    if format == Format::DecimalExponent {
        return if exponent == 0 {
            write!(f, "{mantissa}")
        } else {
            write!(f, "{mantissa}e{exponent}")
        };
    }
    if exponent > 18 {
        // No decimal-SI suffix beyond E: stay at E with a larger mantissa.
        let factor = 10u128.saturating_pow((exponent - 18).unsigned_abs());
        mantissa = mantissa.saturating_mul(factor);
        exponent = 18;
    }
    let suffix = match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    };
    write!(f, "{mantissa}{suffix}")
}

impl TryFrom<&k8s_openapi::apimachinery::pkg::api::resource::Quantity> for Quantity {
    type Error = QuantityError;

    /// Parses the wire form of a quantity.
    fn try_from(
        q: &k8s_openapi::apimachinery::pkg::api::resource::Quantity,
    ) -> Result<Self, Self::Error> {
        Self::parse(&q.0)
    }
}

impl From<Quantity> for k8s_openapi::apimachinery::pkg::api::resource::Quantity {
    /// The canonical wire form.
    fn from(q: Quantity) -> Self {
        Self(q.to_canonical_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn q(s: &str) -> Quantity {
        match s.parse::<Quantity>() {
            Ok(q) => q,
            Err(e) => panic!("{s:?} should parse: {e}"),
        }
    }

    fn err(s: &str) -> QuantityError {
        match s.parse::<Quantity>() {
            Ok(q) => panic!("{s:?} should not parse, got {q:?}"),
            Err(e) => e,
        }
    }

    fn canon(s: &str) -> String {
        q(s).to_string()
    }

    const NANO: i128 = 1;
    const MILLI: i128 = 1_000_000;
    const UNIT: i128 = 1_000_000_000;

    #[test]
    fn parses_decimal_si_suffixes_to_exact_values() {
        let table: &[(&str, i128)] = &[
            ("5n", 5 * NANO),
            ("4u", 4_000 * NANO),
            ("3m", 3 * MILLI),
            ("9", 9 * UNIT),
            ("8k", 8_000 * UNIT),
            ("50k", 50_000 * UNIT),
            ("7M", 7_000_000 * UNIT),
            ("6G", 6_000_000_000 * UNIT),
            ("5T", 5 * 10i128.pow(12) * UNIT),
            ("300T", 3 * 10i128.pow(14) * UNIT),
            ("2P", 2 * 10i128.pow(15) * UNIT),
            ("1E", 10i128.pow(18) * UNIT),
            ("12E", 12 * 10i128.pow(18) * UNIT),
            ("100m", 100 * MILLI),
            ("1.5", 1_500 * MILLI),
            ("100.035k", 100_035 * UNIT),
            ("10.035M", 10_035_000 * UNIT),
            ("6.987654321G", 6_987_654_321 * UNIT),
            ("0.0005k", 500 * MILLI),
        ];
        for &(input, nanos) in table {
            let parsed = q(input);
            assert_eq!(parsed.nanos(), nanos, "{input}");
            assert_eq!(parsed.format(), Format::DecimalSI, "{input}");
        }
    }

    #[test]
    fn parses_binary_si_suffixes_to_exact_values() {
        let table: &[(&str, i128)] = &[
            ("1Ki", 1 << 10),
            ("8Ki", 8 << 10),
            ("7Mi", 7 << 20),
            ("6Gi", 6 << 30),
            ("5Ti", 5 << 40),
            ("4Pi", 4 << 50),
            ("3Ei", 3 << 60),
            ("500Mi", 500 << 20),
            ("0.5Gi", 1 << 29),
            ("0.5Mi", 1 << 19),
        ];
        for &(input, units) in table {
            let parsed = q(input);
            assert_eq!(parsed.nanos(), units * UNIT, "{input}");
            assert_eq!(parsed.format(), Format::BinarySI, "{input}");
        }
        // 100.035 × 1024 = 102435.84
        assert_eq!(q("100.035Ki").nanos(), 102_435_840_000_000);
        assert_eq!(q("100.035Ki").format(), Format::BinarySI);
    }

    #[test]
    fn parses_decimal_exponents_with_either_case_and_sign() {
        let table: &[(&str, i128)] = &[
            ("1e3", 1_000 * UNIT),
            ("1E6", 1_000_000 * UNIT),
            ("1E-3", MILLI),
            ("1e-9", NANO),
            ("1.2e3", 1_200 * UNIT),
            ("1.3E+6", 1_300_000 * UNIT),
            ("1.40e9", 1_400_000_000 * UNIT),
            ("0.5e-2", 5 * MILLI),
            ("1e0", UNIT),
        ];
        for &(input, nanos) in table {
            let parsed = q(input);
            assert_eq!(parsed.nanos(), nanos, "{input}");
            assert_eq!(parsed.format(), Format::DecimalExponent, "{input}");
        }
    }

    #[test]
    fn accepts_explicit_signs_and_bare_decimal_points() {
        assert_eq!(q("+2").nanos(), 2 * UNIT);
        assert_eq!(q("-1").nanos(), -UNIT);
        assert_eq!(q(".5").nanos(), 500 * MILLI);
        assert_eq!(q("5.").nanos(), 5 * UNIT);
        assert_eq!(q("1.G").nanos(), 1_000_000_000 * UNIT);
        assert_eq!(q(".001").nanos(), MILLI);
        assert_eq!(q("-.5Ki").nanos(), -512 * UNIT);
        assert_eq!(q("+1Gi"), q("1Gi"));
        assert_eq!(q("007").nanos(), 7 * UNIT);
    }

    #[test]
    fn rejects_malformed_strings_with_the_upstream_format_error() {
        for input in [
            "", " 1", "1 ", "1 Gi", "1.2.3", "1.1.M", "1+1.0M", "1Z", "1gi", "1KI", "0.1am",
            "aoeu", "Gi", "+", "-", "--1", "1e--3", "1e3.5", "½", "1\n", "1Gi ", "1KiB",
        ] {
            assert_eq!(err(input), QuantityError::Format, "{input:?}");
        }
        assert_eq!(
            QuantityError::Format.to_string(),
            "quantities must match the regular expression \
             '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    #[test]
    fn rejects_unknown_suffixes_with_the_upstream_suffix_error() {
        for input in [
            "1ki",
            "0.1mi",
            "1i",
            ".5i",
            "-3.01i",
            "1e",
            "1E+",
            "-3.01e-",
            "1Mi3",
            "1mm",
            "1Kii",
            "1eE3",
            "1e99999999999999999999",
        ] {
            assert_eq!(err(input), QuantityError::Suffix, "{input:?}");
        }
        assert_eq!(
            QuantityError::Suffix.to_string(),
            "unable to parse quantity's suffix"
        );
    }

    #[test]
    fn rejects_numbers_without_digits() {
        for input in [".", "-.", "+.", ".Ki", ".e3"] {
            assert_eq!(err(input), QuantityError::Numeric, "{input:?}");
        }
        assert_eq!(
            QuantityError::Numeric.to_string(),
            "unable to parse numeric part of quantity"
        );
    }

    #[test]
    fn rounds_values_finer_than_a_nano_up_away_from_zero() {
        let table: &[(&str, &str)] = &[
            ("0.0000000001", "1n"),
            ("0.0000000005", "1n"),
            ("0.00000000050", "1n"),
            ("0.1n", "1n"),
            ("0.9n", "1n"),
            ("3.001n", "4n"),
            ("1.1E-9", "2e-9"),
            ("0.5e-9", "1e-9"),
            ("0.00000012345", "124n"),
            ("0.00000012354", "124n"),
            ("-0.1n", "-1n"),
            ("-3.001n", "-4n"),
            ("0.000000000001Ki", "2n"),
            ("1e-999999999", "1e-9"),
            ("1e-9999999999", "1e-9"),
            ("1.0000000000n", "1n"),
        ];
        for &(input, expected) in table {
            assert_eq!(canon(input), expected, "{input}");
        }
        let long = format!("0.{}1", "0".repeat(100_000));
        assert_eq!(canon(&long), "1n");
        let exact = format!("1.{}", "0".repeat(100_000));
        assert_eq!(canon(&exact), "1");
    }

    #[test]
    fn zero_in_any_spelling_is_zero_and_prints_as_0() {
        for input in [
            "0",
            "-0",
            "+0",
            "0n",
            "0m",
            "0k",
            "0Ki",
            "0Gi",
            "0.000",
            "-0.0Mi",
            "0e999999999",
            "00000",
            "0e-5",
        ] {
            let parsed = q(input);
            assert!(parsed.is_zero(), "{input}");
            assert_eq!(parsed.sign(), 0, "{input}");
            assert_eq!(parsed.to_string(), "0", "{input}");
        }
        assert_eq!(q("0Ki").format(), Format::BinarySI);
        assert_eq!(q("0").format(), Format::DecimalSI);
        assert_eq!(Quantity::default().to_string(), "0");
    }

    #[test]
    fn keeps_large_decimal_values_exact() {
        let table: &[(&str, &str)] = &[
            ("9223372036854775807", "9223372036854775807"),
            ("9223372036854775808", "9223372036854775808"),
            ("-9223372036854775809", "-9223372036854775809"),
            ("999999999999999999.1", "999999999999999999100m"),
            ("9999999999999999999", "9999999999999999999"),
            ("1000000000000000000", "1E"),
            ("1.0000000000000000001E", "1000000000000000000100m"),
            ("1.000000000000000001E", "1000000000000000001"),
            ("10000000000000000000", "10E"),
            ("10E", "10E"),
            ("-10000000000000000000000m", "-10E"),
            ("9223372036854775807.1", "9223372036854775807100m"),
            (
                "99999999999999999999999999999",
                "99999999999999999999999999999",
            ),
            ("1e28", "10e27"),
        ];
        for &(input, expected) in table {
            assert_eq!(canon(input), expected, "{input}");
        }
    }

    #[test]
    fn caps_binary_si_values_at_i64_max_like_upstream() {
        let max = i128::from(i64::MAX) * UNIT;
        for input in [
            "8Ei",
            "9Ei",
            "9223372036854775807Ki",
            "100000000000000000000000000000000Ei",
        ] {
            let parsed = q(input);
            assert_eq!(parsed.nanos(), max, "{input}");
            assert_eq!(parsed.format(), Format::BinarySI, "{input}");
            assert_eq!(parsed.to_string(), "9223372036854775807", "{input}");
        }
        assert_eq!(q("-8Ei").nanos(), -max);
        assert_eq!(q("7Ei").nanos(), (7i128 << 60) * UNIT);
        assert_eq!(q("7Ei").to_string(), "7Ei");
    }

    #[test]
    fn rejects_values_beyond_the_supported_range() {
        for input in [
            "1e29",
            "100000000000000000000000000000",
            "-100000000000000000000000000000",
            "1e999999999",
            "-1e999999999",
            "1e9999999999",
            "100000000000E",
            "99999999999999999999999999999.9999999999",
        ] {
            assert_eq!(err(input), QuantityError::OutOfRange, "{input}");
        }
        let huge = "9".repeat(100_000);
        assert_eq!(err(&huge), QuantityError::OutOfRange);
        let huge_fraction = format!("{}.5", "9".repeat(50));
        assert_eq!(err(&huge_fraction), QuantityError::OutOfRange);
        assert_eq!(
            QuantityError::OutOfRange.to_string(),
            "quantity out of range: magnitude must be less than 10^29"
        );
    }

    #[test]
    fn canonical_form_matches_upstream_table() {
        let table: &[(&str, &str)] = &[
            ("1000m", "1"),
            ("1536Mi", "1536Mi"),
            ("1024Mi", "1Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.1", "100m"),
            ("1.5", "1500m"),
            ("1e3", "1e3"),
            ("100k", "100k"),
            ("1Ki", "1Ki"),
            ("1Mi", "1Mi"),
            ("1Gi", "1Gi"),
            ("1000M", "1G"),
            ("0.001T", "1G"),
            ("1000000k", "1G"),
            ("1000000000", "1G"),
            ("300Mi", "300Mi"),
            ("307200Ki", "300Mi"),
            ("6Ki", "6Ki"),
            ("1025024Mi", "1001Gi"),
            ("1024Gi", "1Ti"),
            ("5000m", "5"),
            ("1000u", "1m"),
            ("80m", "80m"),
            ("1.08", "1080m"),
            ("1080000000n", "1080m"),
            ("300M", "300M"),
            ("1234567M", "1234567M"),
            ("3k", "3k"),
            ("1025Ki", "1025Ki"),
            (".001e12", "1e9"),
            ("0.001e0", "1e-3"),
            ("1000e-12", "1e-9"),
            ("80e-3", "80e-3"),
            ("300e6", "300e6"),
            ("3e3", "3e3"),
            ("12e2", "1200"),
            ("1.2e3", "1200"),
            ("1e1", "10"),
            ("1e-1", "100e-3"),
            ("1080n", "1080n"),
            ("1.08u", "1080n"),
            ("80u", "80u"),
            ("1n", "1n"),
            ("+1", "1"),
            ("1E3", "1e3"),
            ("1e+3", "1e3"),
            ("1.230k", "1230"),
            ("100.035k", "100035"),
            ("00", "0"),
        ];
        for &(input, expected) in table {
            assert_eq!(canon(input), expected, "{input}");
            let negated = format!("-{}", input.trim_start_matches('+'));
            let expected_negated = if expected == "0" {
                "0".to_string()
            } else {
                format!("-{expected}")
            };
            assert_eq!(canon(&negated), expected_negated, "{negated}");
        }
    }

    #[test]
    fn binary_si_values_that_are_fractional_or_below_1024_print_as_decimal_si() {
        let table: &[(&str, &str)] = &[
            ("1.5Ki", "1536"),
            ("0.5Ki", "512"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            ("0.5Mi", "512Ki"),
            ("1023.5Ki", "1048064"),
            ("1.0001Ki", "1024102400u"),
        ];
        for &(input, expected) in table {
            assert_eq!(canon(input), expected, "{input}");
        }
        // Below one unit the parsed format itself becomes decimal SI.
        assert_eq!(q("0.000000000001Ki").format(), Format::DecimalSI);
        assert_eq!(q(".001Ki").format(), Format::BinarySI);
        // Constructed values follow the same rule.
        assert_eq!(Quantity::from_value(5, Format::BinarySI).to_string(), "5");
        assert_eq!(
            Quantity::from_value(1025, Format::BinarySI).to_string(),
            "1025"
        );
        assert_eq!(
            Quantity::from_value(1024, Format::BinarySI).to_string(),
            "1Ki"
        );
        assert_eq!(
            Quantity::from_value(-1024, Format::BinarySI).to_string(),
            "-1Ki"
        );
        assert_eq!(
            Quantity::from_value(-1023, Format::BinarySI).to_string(),
            "-1023"
        );
    }

    #[test]
    fn values_beyond_the_largest_suffix_keep_that_suffix() {
        assert_eq!(canon("1000E"), "1000E");
        assert_eq!(canon("1e21"), "1e21");
        assert_eq!(canon("12345E"), "12345E");
        let ei = Quantity::from_value(1 << 60, Format::BinarySI);
        let big = ei.checked_mul(1024 * 1024).map(|v| v.to_string());
        assert_eq!(big, Ok("1048576Ei".to_string()));
    }

    #[test]
    fn canonical_strings_parse_back_to_the_same_value() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..5_000 {
            let mantissa = i128::from(next() as i64) >> (next() % 64);
            let nanos = mantissa * 10i128.pow((next() % 12) as u32);
            let format = match next() % 3 {
                0 => Format::DecimalExponent,
                1 => Format::BinarySI,
                _ => Format::DecimalSI,
            };
            let Ok(original) = Quantity::from_nanos(nanos, format) else {
                continue;
            };
            if format == Format::BinarySI && nanos.abs() > BINARY_CAP_NANOS {
                // Parsing caps binary-SI values at i64::MAX, so these cannot round-trip.
                continue;
            }
            let text = original.to_string();
            let reparsed = q(&text);
            assert_eq!(reparsed, original, "{text}");
            if format != Format::BinarySI || text.ends_with('i') {
                // Binary SI values printed in decimal reparse as decimal SI.
                assert_eq!(reparsed.to_string(), text, "{text}");
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        let alphabet = b"0123456789.+-eEinumkKMGTPZ ";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let s: String = (0..len)
                .map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize]))
                .collect();
            if let Ok(parsed) = s.parse::<Quantity>() {
                let text = parsed.to_string();
                assert_eq!(q(&text), parsed, "{s:?} -> {text:?}");
                let _ = (
                    parsed.value(),
                    parsed.milli_value(),
                    parsed.as_f64(),
                    -parsed,
                );
            }
        }
    }

    #[test]
    fn equality_and_ordering_ignore_the_format() {
        assert_eq!(q("1Gi"), q("1024Mi"));
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("1024"), q("1Ki"));
        assert_ne!(q("1Ki"), q("1k"));
        assert!(q("100m") > q("50m"));
        assert!(q("10000T") > q("100Gi"));
        assert!(q("-1") < q("1n"));
        assert!(q("1n") > q("0"));
        let mut sorted = [q("1Gi"), q("1"), q("-5m"), q("999M")];
        sorted.sort();
        let texts: Vec<String> = sorted.iter().map(Quantity::to_string).collect();
        assert_eq!(texts, ["-5m", "1", "999M", "1Gi"]);
        let set: HashSet<Quantity> = [q("1Gi"), q("1024Mi"), q("1073741824")]
            .into_iter()
            .collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn add_and_sub_keep_the_left_format_unless_it_is_zero() {
        let sum = q("10").checked_add(&q("1Ki"));
        assert_eq!(
            sum.map(|s| (s.to_string(), s.format())),
            Ok(("1034".into(), Format::DecimalSI))
        );
        let sum = q("1Gi").checked_add(&q("512Mi"));
        assert_eq!(sum.map(|s| s.to_string()), Ok("1536Mi".into()));
        let sum = q("1Gi").checked_add(&q("1"));
        assert_eq!(
            sum.map(|s| (s.to_string(), s.format())),
            Ok(("1073741825".into(), Format::BinarySI))
        );
        let sum = q("1Gi").checked_add(&q("100m"));
        assert_eq!(sum.map(|s| s.to_string()), Ok("1073741824100m".into()));
        let sum = q("0").checked_add(&q("1Gi"));
        assert_eq!(sum.map(|s| s.to_string()), Ok("1Gi".into()));
        let sum = q("100m").checked_add(&q("0"));
        assert_eq!(sum.map(|s| s.to_string()), Ok("100m".into()));
        let diff = q("0").checked_sub(&q("1Gi"));
        assert_eq!(diff.map(|d| d.to_string()), Ok("-1Gi".into()));
        let diff = q("10").checked_sub(&q("1e1"));
        assert_eq!(diff.map(|d| d.to_string()), Ok("0".into()));
        let diff = q("100m").checked_sub(&q("1"));
        assert_eq!(diff.map(|d| d.to_string()), Ok("-900m".into()));
        let diff = q("1e3").checked_sub(&q("1k"));
        assert_eq!(diff.map(|d| d.is_zero()), Ok(true));
    }

    #[test]
    fn add_sub_and_mul_report_overflow_instead_of_wrapping() {
        let big = q("99999999999999999999999999999.999999999");
        assert_eq!(big.nanos(), MAX_NANOS);
        assert_eq!(big.checked_add(&q("1")), Err(QuantityError::OutOfRange));
        assert_eq!(big.checked_add(&q("1n")), Err(QuantityError::OutOfRange));
        assert_eq!((-big).checked_sub(&q("1n")), Err(QuantityError::OutOfRange));
        assert_eq!(big.checked_add(&big), Err(QuantityError::OutOfRange));
        assert_eq!(big.checked_mul(2), Err(QuantityError::OutOfRange));
        assert_eq!(big.checked_mul(i64::MIN), Err(QuantityError::OutOfRange));
        assert_eq!(big.checked_sub(&big), Ok(Quantity::ZERO));
        assert_eq!(big.checked_mul(-1), Ok(-big));
        assert_eq!(
            q("10").checked_mul(-10).map(|v| v.to_string()),
            Ok("-100".into())
        );
        assert_eq!(q("1Gi").checked_mul(0).map(|v| v.is_zero()), Ok(true));
        let max = Quantity::from_value(i64::MAX, Format::DecimalSI);
        assert_eq!(
            max.checked_mul(2).map(|v| v.to_string()),
            Ok("18446744073709551614".into())
        );
    }

    #[test]
    fn neg_flips_the_sign_and_keeps_the_format() {
        assert_eq!((-q("9.01")).to_string(), "-9010m");
        assert_eq!((-q("10Ki")).to_string(), "-10Ki");
        assert_eq!((-q("-10Ki")).format(), Format::BinarySI);
        assert_eq!(-q("0"), q("0"));
        assert_eq!(-(-q("123.456m")), q("123.456m"));
        assert_eq!(q("-2").sign(), -1);
        assert_eq!(q("2n").sign(), 1);
        assert!(!q("1n").is_zero());
    }

    #[test]
    fn value_and_milli_value_round_up_away_from_zero() {
        assert_eq!(q("5Gi").value(), 5_368_709_120);
        assert_eq!(q("5G").value(), 5_000_000_000);
        assert_eq!(q("5300m").milli_value(), 5_300);
        assert_eq!(q("5.4").milli_value(), 5_400);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("1.4").value(), 2);
        assert_eq!(q("-1.5").value(), -2);
        assert_eq!(q("1n").value(), 1);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("-1n").milli_value(), -1);
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("0").milli_value(), 0);
        assert_eq!(q("1").scaled_value(-9), 1_000_000_000);
        assert_eq!(q("1u").scaled_value(-9), 1_000);
        assert_eq!(q("1n").scaled_value(-6), 1);
        assert_eq!(q("2").scaled_value(-2), 200);
        assert_eq!(q("100").scaled_value(2), 1);
        assert_eq!(q("101").scaled_value(2), 2);
        assert_eq!(q("1").scaled_value(i32::MAX), 1);
        assert_eq!(q("-1").scaled_value(i32::MAX), -1);
        assert_eq!(q("1").scaled_value(i32::MIN), i64::MAX);
    }

    #[test]
    fn value_saturates_and_checked_value_reports_overflow() {
        assert_eq!(q("9223372036854775807").value(), i64::MAX);
        assert_eq!(q("-9223372036854775808").value(), i64::MIN);
        assert_eq!(q("9223372036854775807").checked_value(), Some(i64::MAX));
        assert_eq!(q("-9223372036854775808").checked_value(), Some(i64::MIN));
        assert_eq!(q("1e20").value(), i64::MAX);
        assert_eq!(q("-1e20").value(), i64::MIN);
        assert_eq!(q("1e20").checked_value(), None);
        assert_eq!(q("9223372036854775807.1").checked_value(), None);
        assert_eq!(q("1E").milli_value(), i64::MAX);
        assert_eq!(q("1E").checked_milli_value(), None);
        assert_eq!(
            q("9223372036854775807m").checked_milli_value(),
            Some(i64::MAX)
        );
        assert_eq!(
            q("9223372036854775807n").checked_scaled_value(-9),
            Some(i64::MAX)
        );
    }

    #[test]
    fn constructors_print_like_upstream() {
        let milli: &[(i64, &str)] = &[(1, "1m"), (1000, "1"), (1_234_000, "1234"), (5300, "5300m")];
        for &(value, expected) in milli {
            assert_eq!(Quantity::from_milli(value).to_string(), expected);
            assert_eq!(q(expected).milli_value(), value);
        }
        let whole: &[(i64, Format, &str)] = &[
            (1, Format::DecimalSI, "1"),
            (1000, Format::DecimalSI, "1k"),
            (1_234_000, Format::DecimalSI, "1234k"),
            (1024, Format::BinarySI, "1Ki"),
            (1_000_000, Format::DecimalExponent, "1e6"),
            (1024 * 1024, Format::BinarySI, "1Mi"),
            (5 * 1024 * 1024 * 1024, Format::BinarySI, "5Gi"),
            (5_000_000_000, Format::DecimalSI, "5G"),
            (i64::MIN, Format::DecimalSI, "-9223372036854775808"),
        ];
        for &(value, format, expected) in whole {
            assert_eq!(Quantity::from_value(value, format).to_string(), expected);
            assert_eq!(q(expected).value(), value);
        }
        let scaled: &[(i64, i32, &str)] = &[
            (1, -9, "1n"),
            (1000, -9, "1u"),
            (1, -6, "1u"),
            (1000, -6, "1m"),
            (1, -3, "1m"),
            (1000, -3, "1"),
            (1, 0, "1"),
            (0, -9, "0"),
            (1, 2, "100"),
            (15, -10, "2n"),
            (-15, -10, "-2n"),
            (1, i32::MIN, "1n"),
        ];
        for &(value, scale, expected) in scaled {
            let built = Quantity::from_scaled(value, scale).map(|v| v.to_string());
            assert_eq!(built, Ok(expected.to_string()), "{value}e{scale}");
        }
        assert_eq!(Quantity::from_scaled(1, 29), Err(QuantityError::OutOfRange));
        assert_eq!(
            Quantity::from_scaled(1, i32::MAX),
            Err(QuantityError::OutOfRange)
        );
        assert_eq!(Quantity::from_scaled(0, i32::MAX), Ok(Quantity::ZERO));
        assert_eq!(
            Quantity::from_nanos(MAX_NANOS + 1, Format::DecimalSI),
            Err(QuantityError::OutOfRange)
        );
        assert_eq!(
            Quantity::from_nanos(i128::MIN, Format::DecimalSI),
            Err(QuantityError::OutOfRange)
        );
        assert_eq!(
            Quantity::from_value(3, Format::DecimalSI)
                .with_format(Format::DecimalExponent)
                .to_string(),
            "3"
        );
        assert_eq!(Format::BinarySI.to_string(), "BinarySI");
    }

    #[test]
    fn as_f64_approximates_the_value() {
        assert_eq!(q("0").as_f64(), 0.0);
        assert_eq!(q("1").as_f64(), 1.0);
        assert_eq!(q("1.5").as_f64(), 1.5);
        assert_eq!(q("-250m").as_f64(), -0.25);
        assert_eq!(q("1Ki").as_f64(), 1024.0);
        assert_eq!(q("12E").as_f64(), 1.2e19);
        assert_eq!(q("9223372036854775807").as_f64(), 9.223_372_036_854_776e18);
        assert!((q("1n").as_f64() - 1e-9).abs() < 1e-24);
    }

    // --- serde -------------------------------------------------------------

    use serde::de::IntoDeserializer;
    use serde::de::value::Error as ValueError;

    fn from_de<'de, D: IntoDeserializer<'de, ValueError>>(
        input: D,
    ) -> Result<Quantity, ValueError> {
        Quantity::deserialize(input.into_deserializer())
    }

    #[test]
    fn deserializes_strings_trimming_surrounding_whitespace() {
        assert_eq!(from_de("1Gi"), Ok(q("1Gi")));
        assert_eq!(from_de(" 1"), Ok(q("1")));
        assert_eq!(from_de("100m\n").map(|v| v.to_string()), Ok("100m".into()));
        assert_eq!(
            from_de(String::from("1.5Gi")).map(|v| v.format()),
            Ok(Format::BinarySI)
        );
        let error = from_de("1ki").map_err(|e| e.to_string());
        assert_eq!(error, Err("unable to parse quantity's suffix".into()));
        assert!(from_de("").is_err());
    }

    #[test]
    fn deserializes_numbers_and_null() {
        assert_eq!(from_de(10i64).map(|v| v.to_string()), Ok("10".into()));
        assert_eq!(from_de(-1i64).map(|v| v.to_string()), Ok("-1".into()));
        assert_eq!(from_de(u64::MAX).map(|v| v.value()), Ok(i64::MAX));
        assert_eq!(
            from_de(u64::MAX).map(|v| v.nanos()),
            Ok(i128::from(u64::MAX) * UNIT)
        );
        assert_eq!(from_de(1.5f64).map(|v| v.to_string()), Ok("1500m".into()));
        assert_eq!(from_de(0.1f64).map(|v| v.to_string()), Ok("100m".into()));
        assert_eq!(from_de(1e3f64).map(|v| v.to_string()), Ok("1k".into()));
        assert_eq!(from_de(1e-7f64).map(|v| v.to_string()), Ok("100n".into()));
        assert_eq!(from_de(-0.0f64).map(|v| v.to_string()), Ok("0".into()));
        assert_eq!(from_de(5u8).map(|v| v.to_string()), Ok("5".into()));
        assert_eq!(from_de(-7i128).map(|v| v.to_string()), Ok("-7".into()));
        assert!(from_de(f64::NAN).is_err());
        assert!(from_de(f64::INFINITY).is_err());
        assert!(from_de(1e300f64).is_err());
        assert_eq!(from_de(()), Ok(Quantity::ZERO));
    }

    /// A serializer that only accepts strings, enough to observe `Serialize`.
    struct StringOnly;

    impl Serializer for StringOnly {
        type Ok = String;
        type Error = ValueError;
        type SerializeSeq = serde::ser::Impossible<String, ValueError>;
        type SerializeTuple = serde::ser::Impossible<String, ValueError>;
        type SerializeTupleStruct = serde::ser::Impossible<String, ValueError>;
        type SerializeTupleVariant = serde::ser::Impossible<String, ValueError>;
        type SerializeMap = serde::ser::Impossible<String, ValueError>;
        type SerializeStruct = serde::ser::Impossible<String, ValueError>;
        type SerializeStructVariant = serde::ser::Impossible<String, ValueError>;

        fn serialize_str(self, v: &str) -> Result<String, ValueError> {
            Ok(v.to_string())
        }
        fn serialize_bool(self, _: bool) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_i8(self, _: i8) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_i16(self, _: i16) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_i32(self, _: i32) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_i64(self, _: i64) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_u8(self, _: u8) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_u16(self, _: u16) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_u32(self, _: u32) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_u64(self, _: u64) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_f32(self, _: f32) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_f64(self, _: f64) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_char(self, _: char) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_bytes(self, _: &[u8]) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_none(self) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_unit(self) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
        ) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<String, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, ValueError> {
            Err(serde::ser::Error::custom("not a string"))
        }
    }

    #[test]
    fn serializes_as_the_canonical_string() {
        for (input, expected) in [
            ("1.5Gi", "1536Mi"),
            ("1000m", "1"),
            ("1e3", "1e3"),
            ("-0", "0"),
        ] {
            assert_eq!(
                q(input).serialize(StringOnly),
                Ok(expected.to_string()),
                "{input}"
            );
        }
        // Round trip through the deserializer keeps value and canonical text.
        let original = q("1.5Gi");
        let text = original.serialize(StringOnly);
        let back = text.as_deref().map_err(Clone::clone).and_then(from_de);
        assert_eq!(back.map(|v| v.to_string()), Ok("1536Mi".into()));
    }
}
