//! Cron schedules as CronJobs read them: the standard five fields
//! (minute, hour, day of month, month, day of week) with lists, ranges,
//! steps, `*`/`?`, month and weekday names; the `@yearly`, `@annually`,
//! `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly` macros;
//! `@every <duration>`; and a leading `TZ=<zone>` / `CRON_TZ=<zone>`.
//!
//! Semantics follow the parser upstream's controller uses: when both the
//! day of month and the day of week are restricted (neither starts with
//! `*` or `?`, or uses a step), a day matches if either does; otherwise
//! both must. Times are wall-clock times in the schedule's zone: a time
//! that does not exist (skipped by a DST jump forward) does not fire that
//! day, a time that exists twice (DST fall back) fires at both instants.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use std::fmt;

/// How far ahead [`Schedule::next`] looks before giving up.
const SEARCH_YEARS: i32 = 5;

/// Why a schedule does not parse; the text mirrors upstream's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

fn err(message: impl Into<String>) -> CronError {
    CronError(message.into())
}

/// The five fields as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Day of month written as `*` or `?` (without a step).
    dom_any: bool,
    /// Day of week written as `*` or `?` (without a step).
    dow_any: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Fields(Fields),
    /// `@every`: a fixed period in whole seconds (at least one).
    Every(i64),
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
    zone: Option<TimeZone>,
}

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
    name_base: u32,
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
    name_base: 0,
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
    name_base: 0,
};
const DAYS_OF_MONTH: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
    name_base: 0,
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    name_base: 1,
};
const DAYS_OF_WEEK: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    name_base: 0,
};

fn span(min: u32, max: u32) -> u64 {
    (min..=max).fold(0, |bits, i| bits | (1u64 << i))
}

fn number(text: &str) -> Result<u32, CronError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!(
            "failed to parse int from {text}: strconv.Atoi: parsing \"{text}\": invalid syntax"
        )));
    }
    let value: i64 = text.parse().map_err(|_| {
        err(format!(
            "failed to parse int from {text}: strconv.Atoi: parsing \"{text}\": value out of range"
        ))
    })?;
    if value < 0 {
        return Err(err(format!(
            "negative number ({value}) not allowed: {text}"
        )));
    }
    u32::try_from(value).map_err(|_| err(format!("end of range ({value}) above maximum: {text}")))
}

fn number_or_name(text: &str, bounds: &Bounds) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    match bounds.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(u32::try_from(i).unwrap_or(0) + bounds.name_base),
        None => number(text),
    }
}

/// One comma-separated piece of a field: bits, and whether it was `*`/`?`.
fn range(expr: &str, bounds: &Bounds) -> Result<(u64, bool), CronError> {
    let parts: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = parts.first().copied().unwrap_or("").split('-').collect();
    let single = low_high.len() == 1;
    let first = low_high.first().copied().unwrap_or("");
    let (start, mut end, mut any) = if first == "*" || first == "?" {
        (bounds.min, bounds.max, true)
    } else {
        let start = number_or_name(first, bounds)?;
        let end = match low_high.as_slice() {
            [_] => start,
            [_, high] => number_or_name(high, bounds)?,
            _ => return Err(err(format!("too many hyphens: {expr}"))),
        };
        (start, end, false)
    };
    let step = match parts.as_slice() {
        [_] => 1,
        [_, step] => {
            let step = number(step)?;
            if single {
                end = bounds.max;
            }
            if step > 1 {
                any = false;
            }
            step
        }
        _ => return Err(err(format!("too many slashes: {expr}"))),
    };
    if start < bounds.min {
        return Err(err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            bounds.min
        )));
    }
    if end > bounds.max {
        return Err(err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            bounds.max
        )));
    }
    if start > end {
        return Err(err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        )));
    }
    if step == 0 {
        return Err(err(format!(
            "step of range should be a positive number: {expr}"
        )));
    }
    let bits = (start..=end)
        .step_by(usize::try_from(step).unwrap_or(usize::MAX))
        .fold(0u64, |bits, i| bits | (1u64 << i));
    Ok((bits, any))
}

fn field(text: &str, bounds: &Bounds) -> Result<(u64, bool), CronError> {
    let mut bits = 0;
    let mut any = false;
    for expr in text.split(',').filter(|e| !e.is_empty()) {
        let (b, a) = range(expr, bounds)?;
        bits |= b;
        any |= a;
    }
    Ok((bits, any))
}

fn fields(text: &str) -> Result<Fields, CronError> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = parts.as_slice() else {
        return Err(err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            parts.len(),
            parts.join(" ")
        )));
    };
    let (minutes, _) = field(minute, &MINUTES)?;
    let (hours, _) = field(hour, &HOURS)?;
    let (days_of_month, dom_any) = field(dom, &DAYS_OF_MONTH)?;
    let (months, _) = field(month, &MONTHS)?;
    let (days_of_week, dow_any) = field(dow, &DAYS_OF_WEEK)?;
    Ok(Fields {
        minutes,
        hours,
        days_of_month,
        months,
        days_of_week,
        dom_any,
        dow_any,
    })
}

fn macro_fields(name: &str) -> Option<Fields> {
    let every = |b: &Bounds| span(b.min, b.max);
    let at = |i: u32| 1u64 << i;
    let (dom, dom_any, month, dow, dow_any, hours) = match name {
        "@yearly" | "@annually" => (at(1), false, at(1), every(&DAYS_OF_WEEK), true, at(0)),
        "@monthly" => (
            at(1),
            false,
            every(&MONTHS),
            every(&DAYS_OF_WEEK),
            true,
            at(0),
        ),
        "@weekly" => (
            every(&DAYS_OF_MONTH),
            true,
            every(&MONTHS),
            at(0),
            false,
            at(0),
        ),
        "@daily" | "@midnight" => (
            every(&DAYS_OF_MONTH),
            true,
            every(&MONTHS),
            every(&DAYS_OF_WEEK),
            true,
            at(0),
        ),
        "@hourly" => (
            every(&DAYS_OF_MONTH),
            true,
            every(&MONTHS),
            every(&DAYS_OF_WEEK),
            true,
            every(&HOURS),
        ),
        _ => return None,
    };
    Some(Fields {
        minutes: at(0),
        hours,
        days_of_month: dom,
        months: month,
        days_of_week: dow,
        dom_any,
        dow_any,
    })
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn go_duration(text: &str) -> Result<i128, CronError> {
    let invalid = || err(format!("time: invalid duration \"{text}\""));
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let value: f64 = rest
            .get(..n)
            .filter(|v| !v.is_empty() && *v != ".")
            .and_then(|v| v.parse().ok())
            .ok_or_else(invalid)?;
        rest = rest.get(n..).unwrap_or("");
        let u = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = rest.get(..u).unwrap_or("");
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(err(format!("time: missing unit in duration \"{text}\""))),
            other => {
                return Err(err(format!(
                    "time: unknown unit \"{other}\" in duration \"{text}\""
                )));
            }
        };
        total += value * scale;
        rest = rest.get(u..).unwrap_or("");
    }
    #[allow(clippy::cast_possible_truncation)]
    let nanos = total as i128;
    Ok(if negative { -nanos } else { nanos })
}

impl Schedule {
    /// Parses a schedule (upstream's "standard" parser).
    pub fn parse(spec: &str) -> Result<Self, CronError> {
        if spec.is_empty() {
            return Err(err("empty spec string"));
        }
        let mut text = spec;
        let mut zone = None;
        if text.starts_with("TZ=") || text.starts_with("CRON_TZ=") {
            let Some(space) = text.find(' ') else {
                return Err(err(format!(
                    "provided bad location {text}: missing schedule"
                )));
            };
            let eq = text.find('=').unwrap_or(0);
            let name = text.get(eq + 1..space).unwrap_or("");
            zone = Some(TimeZone::get(name).map_err(|e| {
                err(format!(
                    "provided bad location {name}: unknown time zone {name} ({e})"
                ))
            })?);
            text = text.get(space..).unwrap_or("").trim();
        }
        let kind = if text.starts_with('@') {
            if let Some(period) = text.strip_prefix("@every ") {
                let nanos = go_duration(period.trim())
                    .map_err(|e| err(format!("failed to parse duration {text}: {e}")))?;
                let seconds = i64::try_from(nanos / 1_000_000_000).unwrap_or(i64::MAX);
                Kind::Every(seconds.max(1))
            } else {
                Kind::Fields(
                    macro_fields(text)
                        .ok_or_else(|| err(format!("unrecognized descriptor: {text}")))?,
                )
            }
        } else {
            Kind::Fields(fields(text)?)
        };
        Ok(Self { kind, zone })
    }

    /// The zone named in the schedule itself (`TZ=`), if any.
    pub fn zone(&self) -> Option<&TimeZone> {
        self.zone.as_ref()
    }

    /// The first time strictly after `after` the schedule fires, reading
    /// wall-clock times in the schedule's own `TZ=` zone, else in
    /// `default_zone`. `None` when nothing fires within five years (e.g.
    /// `0 0 30 2 *`).
    pub fn next(&self, after: Timestamp, default_zone: &TimeZone) -> Option<Timestamp> {
        let zone = self.zone.as_ref().unwrap_or(default_zone);
        match &self.kind {
            Kind::Every(seconds) => {
                Timestamp::from_second(after.as_second().checked_add(*seconds)?).ok()
            }
            Kind::Fields(fields) => next_in_zone(fields, after, zone),
        }
    }
}

impl Fields {
    fn day_matches(&self, date: Date) -> bool {
        let dom = self.days_of_month & (1u64 << date.day()) != 0;
        let dow = self.days_of_week & (1u64 << date.weekday().to_sunday_zero_offset()) != 0;
        if self.dom_any || self.dow_any {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn bits(set: u64, max: i8) -> impl Iterator<Item = i8> {
        (0..=max).filter(move |i| set & (1u64 << i) != 0)
    }
}

/// The instants a civil time names in `zone`: none in a gap, two in a fold.
fn instants(zone: &TimeZone, dt: DateTime) -> Vec<Timestamp> {
    match zone.to_ambiguous_timestamp(dt).offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            offset.to_timestamp(dt).ok().into_iter().collect()
        }
        AmbiguousOffset::Gap { .. } => Vec::new(),
        AmbiguousOffset::Fold { before, after } => [before, after]
            .into_iter()
            .filter_map(|o| o.to_timestamp(dt).ok())
            .collect(),
    }
}

fn next_in_zone(fields: &Fields, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    // The first whole minute strictly after `after`.
    let start = Timestamp::from_second(after.as_second().div_euclid(60) * 60 + 60).ok()?;
    let local = zone.to_datetime(start);
    let first_day = local.date();
    // Wall-clock hours worth looking at again on the first day (a DST
    // fold can repeat up to a few hours of wall-clock time).
    let earliest_hour = local.hour().saturating_sub(3);
    let last_day = first_day
        .checked_add(jiff::Span::new().years(SEARCH_YEARS))
        .ok()?;
    let mut day = first_day;
    while day <= last_day {
        let month_ok = fields.months & (1u64 << day.month()) != 0;
        if month_ok && fields.day_matches(day) {
            let mut best: Option<(Timestamp, i8)> = None;
            for hour in Fields::bits(fields.hours, 23) {
                if day == first_day && hour < earliest_hour {
                    continue;
                }
                if best.is_some_and(|(_, h)| hour > h.saturating_add(3)) {
                    break;
                }
                for minute in Fields::bits(fields.minutes, 59) {
                    for at in instants(zone, day.at(hour, minute, 0, 0)) {
                        if at >= start && best.is_none_or(|(b, _)| at < b) {
                            best = Some((at, hour));
                        }
                    }
                }
            }
            if let Some((at, _)) = best {
                return Some(at);
            }
        }
        day = day.tomorrow().ok()?;
    }
    None
}

/// The duration between two instants, never negative.
pub fn until(from: Timestamp, to: Timestamp) -> std::time::Duration {
    let d: SignedDuration = to.duration_since(from);
    std::time::Duration::try_from(d).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Timestamp {
        text.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn next(spec: &str, after: &str) -> String {
        let schedule = Schedule::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        schedule
            .next(utc(after), &TimeZone::UTC)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    fn next_in(spec: &str, zone: &str, after: &str) -> String {
        let schedule = Schedule::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
        schedule
            .next(utc(after), &tz)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn every_minute_fires_at_the_next_whole_minute() {
        assert_eq!(
            next("* * * * *", "2024-01-01T10:00:00Z"),
            "2024-01-01T10:01:00Z"
        );
        assert_eq!(
            next("* * * * *", "2024-01-01T10:00:30.5Z"),
            "2024-01-01T10:01:00Z"
        );
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        assert_eq!(
            next("*/15 * * * *", "2024-01-01T10:16:00Z"),
            "2024-01-01T10:30:00Z"
        );
        assert_eq!(
            next("5,10-12 3 * * *", "2024-01-01T03:10:00Z"),
            "2024-01-01T03:11:00Z"
        );
        assert_eq!(
            next("30 6-16/4 * * *", "2024-01-01T10:30:00Z"),
            "2024-01-01T14:30:00Z"
        );
        // `N/step` runs from N to the end of the range.
        assert_eq!(
            next("50/5 * * * *", "2024-01-01T10:56:00Z"),
            "2024-01-01T11:50:00Z"
        );
        // Names, any case; 2024-01-01 is a Monday.
        assert_eq!(
            next("0 9 * JAN-mar Fri", "2024-01-01T00:00:00Z"),
            "2024-01-05T09:00:00Z"
        );
        assert_eq!(
            next("0 0 1 jun ?", "2024-01-01T00:00:00Z"),
            "2024-06-01T00:00:00Z"
        );
    }

    #[test]
    fn restricted_day_of_month_and_week_match_either() {
        // The 15th or any Monday: Monday 2024-01-08 comes first.
        assert_eq!(
            next("0 0 15 * 1", "2024-01-02T00:00:00Z"),
            "2024-01-08T00:00:00Z"
        );
        // A `*` day of week means the day of month alone decides.
        assert_eq!(
            next("0 0 15 * *", "2024-01-02T00:00:00Z"),
            "2024-01-15T00:00:00Z"
        );
        // A stepped `*` is a restriction: either matches.
        assert_eq!(
            next("0 0 */10 * 1", "2024-01-02T00:00:00Z"),
            "2024-01-08T00:00:00Z"
        );
    }

    #[test]
    fn macros() {
        let after = "2024-05-15T10:20:00Z";
        assert_eq!(next("@yearly", after), "2025-01-01T00:00:00Z");
        assert_eq!(next("@annually", after), "2025-01-01T00:00:00Z");
        assert_eq!(next("@monthly", after), "2024-06-01T00:00:00Z");
        // 2024-05-15 is a Wednesday.
        assert_eq!(next("@weekly", after), "2024-05-19T00:00:00Z");
        assert_eq!(next("@daily", after), "2024-05-16T00:00:00Z");
        assert_eq!(next("@midnight", after), "2024-05-16T00:00:00Z");
        assert_eq!(next("@hourly", after), "2024-05-15T11:00:00Z");
        assert_eq!(next("@every 90s", after), "2024-05-15T10:21:30Z");
        assert_eq!(next("@every 1h30m", after), "2024-05-15T11:50:00Z");
    }

    #[test]
    fn impossible_dates_never_fire() {
        assert_eq!(next("0 0 30 2 *", "2024-01-01T00:00:00Z"), "");
        // Feb 29 fires in leap years only.
        assert_eq!(
            next("0 0 29 2 *", "2024-03-01T00:00:00Z"),
            "2028-02-29T00:00:00Z"
        );
    }

    #[test]
    fn time_zones_read_wall_clock_time() {
        // 09:00 in Tokyo (+09) is midnight UTC.
        assert_eq!(
            next_in("0 9 * * *", "Asia/Tokyo", "2024-01-01T01:00:00Z"),
            "2024-01-02T00:00:00Z"
        );
        // TZ= in the schedule wins over the default zone.
        assert_eq!(
            next("TZ=Asia/Tokyo 0 9 * * *", "2024-01-01T01:00:00Z"),
            "2024-01-02T00:00:00Z"
        );
        assert_eq!(
            next("CRON_TZ=Europe/Paris 30 8 * * *", "2024-07-01T00:00:00Z"),
            "2024-07-01T06:30:00Z"
        );
    }

    #[test]
    fn dst_gap_skips_the_missing_time_and_fold_fires_twice() {
        // New York springs forward on 2024-03-10 at 02:00 -> 03:00: 02:30
        // does not exist that day.
        assert_eq!(
            next_in("30 2 * * *", "America/New_York", "2024-03-09T08:00:00Z"),
            "2024-03-11T06:30:00Z"
        );
        // 03:30 exists (EDT, -04).
        assert_eq!(
            next_in("30 3 * * *", "America/New_York", "2024-03-10T05:00:00Z"),
            "2024-03-10T07:30:00Z"
        );
        // It falls back on 2024-11-03 at 02:00 -> 01:00: 01:30 happens in
        // EDT (05:30Z) and again in EST (06:30Z).
        let first = next_in("30 1 * * *", "America/New_York", "2024-11-03T04:00:00Z");
        assert_eq!(first, "2024-11-03T05:30:00Z");
        let second = next_in("30 1 * * *", "America/New_York", &first);
        assert_eq!(second, "2024-11-03T06:30:00Z");
        let third = next_in("30 1 * * *", "America/New_York", &second);
        assert_eq!(third, "2024-11-04T06:30:00Z");
        // Hourly across the fold: 01:00 EDT, 01:00 EST, 02:00 EST.
        let a = next_in("0 * * * *", "America/New_York", "2024-11-03T04:30:00Z");
        let b = next_in("0 * * * *", "America/New_York", &a);
        let c = next_in("0 * * * *", "America/New_York", &b);
        assert_eq!(
            [a, b, c],
            [
                "2024-11-03T05:00:00Z",
                "2024-11-03T06:00:00Z",
                "2024-11-03T07:00:00Z"
            ]
        );
    }

    #[test]
    fn errors_read_like_upstream() {
        let e = |s: &str| Schedule::parse(s).err().map(|e| e.0).unwrap_or_default();
        assert_eq!(e(""), "empty spec string");
        assert_eq!(
            e("* * * *"),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(e("60 * * * *"), "end of range (60) above maximum (59): 60");
        assert_eq!(
            e("* * 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            e("5-1 * * * *"),
            "beginning of range (5) beyond end of range (1): 5-1"
        );
        assert_eq!(
            e("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(e("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert_eq!(e("1/2/3 * * * *"), "too many slashes: 1/2/3");
        assert_eq!(e("@often"), "unrecognized descriptor: @often");
        assert!(e("* * * * 7").contains("above maximum (6)"));
        assert!(e("x * * * *").contains("failed to parse int from x"));
        assert!(e("TZ=Nowhere/Land * * * * *").contains("provided bad location Nowhere/Land"));
        assert!(e("@every 5x").contains("unknown unit"));
    }
}
