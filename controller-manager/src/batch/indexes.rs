//! Sets of completion indexes in the compressed interval text the Job API
//! uses for `status.completedIndexes`, `status.failedIndexes` and success
//! policy rules: ascending, comma-separated, runs of three or more written
//! `first-last`, a run of two written `a,b` (e.g. `1,3-5,7,8`).

use std::fmt;

/// An inclusive run of indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First index of the run.
    pub first: i32,
    /// Last index of the run (`>= first`).
    pub last: i32,
}

impl Interval {
    fn len(self) -> i32 {
        self.last - self.first + 1
    }
}

/// Sorted, disjoint, non-adjacent runs of indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indexes(Vec<Interval>);

impl Indexes {
    /// No index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the interval text, keeping indexes below `completions`.
    /// Pieces that do not parse are skipped (the field may have been
    /// written by someone else), as upstream does.
    pub fn parse(text: &str, completions: i32) -> Self {
        let mut runs = Vec::new();
        for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match piece.split_once('-') {
                Some((a, b)) => (a.trim().parse::<i32>(), b.trim().parse::<i32>()),
                None => (piece.parse::<i32>(), piece.parse::<i32>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                continue;
            };
            if first < 0 || first >= completions || last < first {
                continue;
            }
            runs.push(Interval {
                first,
                last: last.min(completions - 1),
            });
        }
        Self::normalized(runs)
    }

    /// The set holding exactly `indexes` (any order, repeats allowed).
    pub fn from_indexes(indexes: impl IntoIterator<Item = i32>) -> Self {
        Self::normalized(
            indexes
                .into_iter()
                .filter(|i| *i >= 0)
                .map(|i| Interval { first: i, last: i })
                .collect(),
        )
    }

    fn normalized(mut runs: Vec<Interval>) -> Self {
        runs.sort_by_key(|r| (r.first, r.last));
        let mut out: Vec<Interval> = Vec::with_capacity(runs.len());
        for run in runs {
            match out.last_mut() {
                Some(prev) if run.first <= prev.last.saturating_add(1) => {
                    prev.last = prev.last.max(run.last);
                }
                _ => out.push(run),
            }
        }
        Self(out)
    }

    /// The union of both sets.
    pub fn union(&self, other: &Indexes) -> Self {
        let mut runs = self.0.clone();
        runs.extend_from_slice(&other.0);
        Self::normalized(runs)
    }

    /// This set plus `indexes`.
    pub fn with(&self, indexes: impl IntoIterator<Item = i32>) -> Self {
        self.union(&Self::from_indexes(indexes))
    }

    /// How many indexes the set holds.
    pub fn total(&self) -> i32 {
        self.0.iter().map(|r| r.len()).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `index` is in the set.
    pub fn contains(&self, index: i32) -> bool {
        let at = self.0.partition_point(|r| r.last < index);
        self.0.get(at).is_some_and(|r| r.first <= index)
    }

    /// How many indexes both sets hold.
    pub fn overlap(&self, other: &Indexes) -> i32 {
        let (mut i, mut j, mut count) = (0, 0, 0);
        while let (Some(a), Some(b)) = (self.0.get(i), other.0.get(j)) {
            let common = a.last.min(b.last) - a.first.max(b.first) + 1;
            if common > 0 {
                count += common;
            }
            if a.last < b.last {
                i += 1;
            } else {
                j += 1;
            }
        }
        count
    }

    /// The runs, ascending.
    pub fn intervals(&self) -> &[Interval] {
        &self.0
    }

    /// The first `count` indexes below `completions` this set does not hold.
    pub fn first_missing(&self, count: usize, completions: i32) -> Vec<i32> {
        let mut out = Vec::with_capacity(count);
        let mut candidate = 0;
        let mut runs = self.0.iter().peekable();
        while out.len() < count && candidate < completions {
            match runs.peek() {
                Some(run) if run.last < candidate => {
                    runs.next();
                }
                Some(run) if run.first <= candidate => {
                    candidate = run.last + 1;
                    runs.next();
                }
                _ => {
                    out.push(candidate);
                    candidate += 1;
                }
            }
        }
        out
    }
}

impl fmt::Display for Indexes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, run) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            match run.last - run.first {
                0 => write!(f, "{}", run.first)?,
                1 => write!(f, "{},{}", run.first, run.last)?,
                _ => write!(f, "{}-{}", run.first, run.last)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_runs_of_three_or_more_with_a_dash_and_pairs_with_a_comma() {
        let set = Indexes::from_indexes([5, 1, 3, 4, 7, 8, 10, 11, 12, 13]);
        assert_eq!(set.to_string(), "1,3-5,7,8,10-13");
        assert_eq!(set.total(), 10);
        assert_eq!(Indexes::new().to_string(), "");
        assert_eq!(Indexes::from_indexes([0]).to_string(), "0");
    }

    #[test]
    fn parsing_round_trips_and_clips_to_completions() {
        let set = Indexes::parse("1,3-5,7,8", 100);
        assert_eq!(set.to_string(), "1,3-5,7,8");
        assert_eq!(Indexes::parse("0-9", 5).to_string(), "0-4");
        assert_eq!(Indexes::parse("2,7,9", 8).to_string(), "2,7");
        // Corrupt pieces are skipped; unordered or overlapping input is normalised.
        assert_eq!(Indexes::parse("x,4-2,3,1-2,a-b", 10).to_string(), "1-3");
        assert!(Indexes::parse("", 3).is_empty());
    }

    #[test]
    fn membership_union_and_overlap() {
        let set = Indexes::parse("1,3-5,9", 10);
        assert!(set.contains(1) && set.contains(4) && set.contains(9));
        assert!(!set.contains(0) && !set.contains(2) && !set.contains(6));
        let more = set.with([2, 6]);
        assert_eq!(more.to_string(), "1-6,9");
        assert_eq!(set.overlap(&Indexes::parse("0-4", 10)), 3);
        assert_eq!(
            set.union(&Indexes::parse("0,10", 11)).to_string(),
            "0,1,3-5,9,10"
        );
    }

    #[test]
    fn first_missing_skips_held_indexes() {
        let held = Indexes::parse("0,2-3,6", 10);
        assert_eq!(held.first_missing(3, 10), vec![1, 4, 5]);
        assert_eq!(held.first_missing(10, 8), vec![1, 4, 5, 7]);
        assert_eq!(Indexes::new().first_missing(2, 5), vec![0, 1]);
        assert!(held.first_missing(0, 10).is_empty());
    }
}
