//! Go behaviours the checks have to match byte for byte: `strconv.Quote`, the scalar
//! parsers behind upstream's custom unmarshalers (`resource.ParseQuantity`, `time.Parse`
//! with the RFC 3339 layouts, `base64.StdEncoding.Decode`) and their error texts.
//! Written from the documented/observed Go behaviour; no Go code is reproduced.

use std::fmt::Write as _;

/// `strconv.Quote`: double-quoted, `"` and `\` escaped, printable runes kept, the rest as
/// `\a \b \f \n \r \t \v`, `\xNN` (below U+0020 and U+007F), `\uNNNN` or `\UNNNNNNNN`.
///
/// "Printable" follows Go's `strconv.IsPrint` for everything that matters in field names
/// (ASCII, letters, marks, symbols); Unicode format, private-use, non-character and
/// non-ASCII space code points are escaped. Unassigned code points are kept, where Go would
/// escape them (no Unicode tables here).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_go_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn is_go_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        c as u32,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x206f
            | 0xd800..=0xdfff
            | 0xe000..=0xf8ff
            | 0xfdd0..=0xfdef
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xfffe..=0xffff
            | 0x110bd
            | 0x110cd
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
            | 0xf0000..=0x10ffff
    ) && (c as u32 & 0xfffe) != 0xfffe
}

/// The quoting of Go's `time` package error messages: ASCII kept (with `"` and `\`
/// backslashed), every byte of a non-ASCII or control character as `\xNN`.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if (c as u32) < 0x20 || !c.is_ascii() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// `resource.ParseQuantity` errors, verbatim.
pub(crate) const QUANTITY_FORMAT_WRONG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_NUMERIC: &str = "unable to parse numeric part of quantity";
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";

/// What `Quantity.UnmarshalJSON` says about `text` (the JSON value's bytes, surrounding
/// quotes already removed): `Ok` when upstream accepts it.
pub(crate) fn check_quantity(text: &str) -> Result<(), &'static str> {
    let s = text.trim();
    if s.is_empty() {
        return Err(QUANTITY_FORMAT_WRONG);
    }
    if s == "0" {
        return Ok(());
    }
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        pos += 1;
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(());
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return Ok(());
    }
    let num_len = (pos - num_start).max(1) as i64;
    let mut denom_len = 0i64;
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos >= end {
            return Ok(());
        }
        denom_len = (pos - denom_start) as i64;
    }
    let value_end = pos;
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end {
        if matches!(b[pos], b'-' | b'+') {
            pos += 1;
        }
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos < end {
            return Err(QUANTITY_FORMAT_WRONG);
        }
    }
    let Some((binary, exponent)) = s.get(suffix_start..).and_then(quantity_suffix) else {
        return Err(QUANTITY_SUFFIX);
    };
    // Upstream takes an int64 fast path when the digits fit; otherwise it parses the numeric
    // text as an arbitrary-precision decimal, which needs at least one digit.
    let fast = if binary {
        exponent >= 0 && denom_len == 0 && 15 - num_len - exponent * 3 / 10 > 0
    } else {
        18 - (num_len + denom_len) >= 0 && exponent - denom_len >= -9
    };
    if !fast
        && !s
            .get(..value_end)
            .is_some_and(|v| v.bytes().any(|c| c.is_ascii_digit()))
    {
        return Err(QUANTITY_NUMERIC);
    }
    Ok(())
}

/// `(is_binary, exponent)` of a quantity suffix (`Ki` → `(true, 10)`, `m` → `(false, -3)`,
/// `e3` → `(false, 3)`).
fn quantity_suffix(suffix: &str) -> Option<(bool, i64)> {
    let dec = match suffix {
        "n" => Some(-9),
        "u" => Some(-6),
        "m" => Some(-3),
        "" => Some(0),
        "k" => Some(3),
        "M" => Some(6),
        "G" => Some(9),
        "T" => Some(12),
        "P" => Some(15),
        "E" => Some(18),
        _ => None,
    };
    if let Some(e) = dec {
        return Some((false, e));
    }
    let bin = match suffix {
        "Ki" => Some(10),
        "Mi" => Some(20),
        "Gi" => Some(30),
        "Ti" => Some(40),
        "Pi" => Some(50),
        "Ei" => Some(60),
        _ => None,
    };
    if let Some(e) = bin {
        return Some((true, e));
    }
    let rest = suffix.strip_prefix(['e', 'E'])?;
    if rest.is_empty() {
        return None;
    }
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    rest.parse::<i64>().ok().map(|e| (false, e))
}

/// The two layouts upstream parses timestamps with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeLayout {
    /// `metav1.Time`: `time.RFC3339`.
    Rfc3339,
    /// `metav1.MicroTime`: `2006-01-02T15:04:05.000000Z07:00`.
    Rfc3339Micro,
}

impl TimeLayout {
    fn text(self) -> &'static str {
        match self {
            TimeLayout::Rfc3339 => "2006-01-02T15:04:05Z07:00",
            TimeLayout::Rfc3339Micro => "2006-01-02T15:04:05.000000Z07:00",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Elem {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Micros,
    Zone,
}

/// `time.Parse(layout, value)`: `Err` with Go's `*time.ParseError` text when it fails.
pub(crate) fn check_time(layout: TimeLayout, value: &str) -> Result<(), String> {
    let seq: &[(&str, Elem, &str)] = match layout {
        TimeLayout::Rfc3339 => &[
            ("", Elem::Year, "2006"),
            ("-", Elem::Month, "01"),
            ("-", Elem::Day, "02"),
            ("T", Elem::Hour, "15"),
            (":", Elem::Minute, "04"),
            (":", Elem::Second, "05"),
            ("", Elem::Zone, "Z07:00"),
        ],
        TimeLayout::Rfc3339Micro => &[
            ("", Elem::Year, "2006"),
            ("-", Elem::Month, "01"),
            ("-", Elem::Day, "02"),
            ("T", Elem::Hour, "15"),
            (":", Elem::Minute, "04"),
            (":", Elem::Second, "05"),
            ("", Elem::Micros, ".000000"),
            ("", Elem::Zone, "Z07:00"),
        ],
    };
    let cannot_parse = |elem_value: &str, elem_layout: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            time_quote(value),
            time_quote(layout.text()),
            time_quote(elem_value),
            time_quote(elem_layout)
        )
    };
    let out_of_range =
        |what: &str| format!("parsing time {}: {what} out of range", time_quote(value));

    let (mut year, mut month, mut day) = (0i64, 0i64, 0i64);
    let mut rest = value;
    for (prefix, elem, text) in seq {
        match rest.strip_prefix(prefix) {
            Some(r) => rest = r,
            None => return Err(cannot_parse(rest, prefix)),
        }
        let hold = rest;
        let b = rest.as_bytes();
        let mut range = None;
        let ok = match elem {
            Elem::Year => {
                if b.len() < 4 || !b[0].is_ascii_digit() {
                    false
                } else {
                    match rest.get(..4).and_then(go_atoi) {
                        Some(y) => {
                            year = y;
                            rest = rest.get(4..).unwrap_or("");
                            true
                        }
                        None => false,
                    }
                }
            }
            Elem::Month | Elem::Day | Elem::Minute | Elem::Second | Elem::Hour => {
                match getnum(rest, *elem != Elem::Hour) {
                    None => false,
                    Some((n, r)) => {
                        rest = r;
                        match elem {
                            Elem::Month => {
                                month = n;
                                if !(1..=12).contains(&n) {
                                    range = Some("month");
                                }
                            }
                            Elem::Day => day = n,
                            Elem::Hour if n >= 24 => range = Some("hour"),
                            Elem::Minute if n >= 60 => range = Some("minute"),
                            Elem::Second if n >= 60 => range = Some("second"),
                            _ => {}
                        }
                        if *elem == Elem::Second && range.is_none() && layout == TimeLayout::Rfc3339
                        {
                            // A fraction the layout does not spell out is still accepted.
                            let rb = rest.as_bytes();
                            if rb.len() >= 2
                                && matches!(rb[0], b'.' | b',')
                                && rb[1].is_ascii_digit()
                            {
                                let n =
                                    1 + rb[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                                rest = rest.get(n..).unwrap_or("");
                            }
                        }
                        true
                    }
                }
            }
            Elem::Micros => {
                if b.len() < 7 || !matches!(b[0], b'.' | b',') {
                    false
                } else {
                    match rest.get(1..7).and_then(go_atoi) {
                        Some(ns) => {
                            if ns < 0 {
                                range = Some("fractional second");
                            }
                            rest = rest.get(7..).unwrap_or("");
                            true
                        }
                        None => false,
                    }
                }
            }
            Elem::Zone => {
                if b.first() == Some(&b'Z') {
                    rest = rest.get(1..).unwrap_or("");
                    true
                } else if b.len() < 6 || b[3] != b':' {
                    false
                } else {
                    let hour = rest.get(1..3).and_then(|h| getnum(h, true));
                    let minute = rest.get(4..6).and_then(|m| getnum(m, true));
                    let hr = hour.map_or(0, |(h, _)| h);
                    let mm = match hour {
                        Some(_) => minute.map_or(0, |(m, _)| m),
                        None => 0,
                    };
                    if hr > 24 {
                        range = Some("time zone offset hour");
                    }
                    if mm > 60 {
                        range = Some("time zone offset minute");
                    }
                    let digits_ok = hour.is_some() && minute.is_some();
                    if digits_ok && matches!(b[0], b'+' | b'-') {
                        // Bytes 1..6 are ASCII here, so 6 is a character boundary.
                        rest = rest.get(6..).unwrap_or("");
                        true
                    } else {
                        false
                    }
                }
            }
        };
        if let Some(what) = range {
            return Err(out_of_range(what));
        }
        if !ok {
            return Err(cannot_parse(hold, text));
        }
    }
    if !rest.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            time_quote(value),
            time_quote(rest)
        ));
    }
    if day < 1 || day > days_in(month, year) {
        return Err(out_of_range("day"));
    }
    Ok(())
}

/// Go's `time` `getnum`: one or (when `fixed`) exactly two leading digits.
fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    let d0 = *b.first().filter(|c| c.is_ascii_digit())?;
    match b.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((
            i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'),
            s.get(2..).unwrap_or(""),
        )),
        None if fixed => None,
        None => Some((i64::from(d0 - b'0'), s.get(1..).unwrap_or(""))),
    }
}

/// Go's `time` `atoi`: optional sign, then only digits.
fn go_atoi(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if neg { -n } else { n })
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `base64.StdEncoding.Decode` as Go's `[]byte` JSON decoding uses it: the decoded bytes, or
/// Go's `illegal base64 data at input byte N` text. Newlines (`\r`, `\n`) are skipped.
pub(crate) fn go_base64_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let corrupt = |at: usize| format!("illegal base64 data at input byte {at}");
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut quad = [0u8; 4];
        let mut len = 4;
        let mut j = 0;
        let mut trailing_error = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                // An incomplete quantum without padding.
                return Err(corrupt(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c) {
                quad[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(corrupt(si - 1));
            }
            // Padding.
            match j {
                0 | 1 => return Err(corrupt(si - 1)),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(corrupt(src.len()));
                    }
                    if src[si] != b'=' {
                        return Err(corrupt(si - 1));
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                trailing_error = Some(corrupt(si));
            }
            len = j;
            break;
        }
        let v = (u32::from(quad[0]) << 18)
            | (u32::from(quad[1]) << 12)
            | (u32::from(quad[2]) << 6)
            | u32::from(quad[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..len.saturating_sub(1)]);
        if let Some(err) = trailing_error {
            return Err(err);
        }
    }
    Ok(out)
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Standard padded base64 (what Go's JSON encoding of `[]byte` produces).
pub(crate) fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    #[test]
    fn go_quote_escapes_quotes_backslashes_and_controls() {
        assert_eq!(go_quote("spec.foo"), "\"spec.foo\"");
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("a\nb\t\u{1}\u{7f}"), "\"a\\nb\\t\\x01\\x7f\"");
        assert_eq!(go_quote("ünï ✓"), "\"ünï ✓\"");
        assert_eq!(go_quote("a\u{200b}b\u{a0}"), "\"a\\u200bb\\u00a0\"");
        assert_eq!(go_quote("\u{f0000}"), "\"\\U000f0000\"");
    }

    #[test]
    fn quantities_accepted_like_parse_quantity() {
        for ok in [
            "0",
            "1",
            "100m",
            "1.5Gi",
            "1e3",
            "-1.5E+3",
            "+",
            ".",
            "1.",
            " 2Ki ",
            "0.000000001",
            "12345678901234567890",
        ] {
            assert_eq!(check_quantity(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn quantities_rejected_with_upstream_messages() {
        assert_eq!(check_quantity(""), Err(QUANTITY_FORMAT_WRONG));
        assert_eq!(check_quantity("abc"), Err(QUANTITY_FORMAT_WRONG));
        assert_eq!(check_quantity("1x"), Err(QUANTITY_FORMAT_WRONG));
        assert_eq!(check_quantity("true"), Err(QUANTITY_FORMAT_WRONG));
        assert_eq!(check_quantity("{\"a\":1}"), Err(QUANTITY_FORMAT_WRONG));
        assert_eq!(check_quantity("1e"), Err(QUANTITY_SUFFIX));
        assert_eq!(check_quantity("1Mi5"), Err(QUANTITY_SUFFIX));
        assert_eq!(check_quantity("1KiB"), Err(QUANTITY_FORMAT_WRONG));
    }

    #[test]
    fn rfc3339_times_accepted() {
        for ok in [
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.123Z",
            "2024-01-02T03:04:05+02:00",
            "2024-02-29T00:00:00Z",
            "2024-01-02T3:04:05Z",
        ] {
            assert_eq!(check_time(TimeLayout::Rfc3339, ok), Ok(()), "{ok}");
        }
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02T03:04:05,5+01:30"),
            Ok(())
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339Micro, "2024-01-02T03:04:05.123456Z"),
            Ok(())
        );
    }

    #[test]
    fn zone_offsets_are_range_checked_with_go_wording() {
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02T03:04:05+01:61").unwrap_err(),
            "parsing time \"2024-01-02T03:04:05+01:61\": time zone offset minute out of range"
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02T03:04:05*01:00").unwrap_err(),
            "parsing time \"2024-01-02T03:04:05*01:00\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"*01:00\" as \"Z07:00\""
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02T24:04:05Z").unwrap_err(),
            "parsing time \"2024-01-02T24:04:05Z\": hour out of range"
        );
    }

    #[test]
    fn time_errors_quote_non_ascii_as_bytes() {
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "é").unwrap_err(),
            "parsing time \"\\xc3\\xa9\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\\xc3\\xa9\" as \"2006\""
        );
    }

    #[test]
    fn rfc3339_errors_use_go_parse_error_text() {
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "abc").unwrap_err(),
            "parsing time \"abc\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"abc\" as \"2006\""
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02 03:04:05Z").unwrap_err(),
            "parsing time \"2024-01-02 03:04:05Z\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \" 03:04:05Z\" as \"T\""
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-13-02T03:04:05Z").unwrap_err(),
            "parsing time \"2024-13-02T03:04:05Z\": month out of range"
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2023-02-29T03:04:05Z").unwrap_err(),
            "parsing time \"2023-02-29T03:04:05Z\": day out of range"
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02T03:04:05Zjunk").unwrap_err(),
            "parsing time \"2024-01-02T03:04:05Zjunk\": extra text: \"junk\""
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339, "2024-01-02T03:04:05").unwrap_err(),
            "parsing time \"2024-01-02T03:04:05\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"Z07:00\""
        );
        assert_eq!(
            check_time(TimeLayout::Rfc3339Micro, "2024-01-02T03:04:05Z").unwrap_err(),
            "parsing time \"2024-01-02T03:04:05Z\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"Z\" as \".000000\""
        );
    }

    #[test]
    fn base64_errors_report_go_offsets() {
        assert_eq!(go_base64_decode(b"aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(go_base64_decode(b"aGVs\nbG8="), Ok(b"hello".to_vec()));
        assert_eq!(go_base64_decode(b""), Ok(vec![]));
        assert_eq!(
            go_base64_decode(b"aGVsbG8").unwrap_err(),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            go_base64_decode(b"a!==").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
        assert_eq!(
            go_base64_decode(b"aGVsbG8=x").unwrap_err(),
            "illegal base64 data at input byte 8"
        );
        assert_eq!(
            go_base64_decode(b"aG=").unwrap_err(),
            "illegal base64 data at input byte 3"
        );
    }

    #[test]
    fn base64_encode_pads() {
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_encode(b"hi"), "aGk=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
        assert_eq!(base64_encode(b""), "");
    }
}
