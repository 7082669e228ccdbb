//! Shared score normalisation.

/// The highest score a plugin gives a node after normalisation.
pub const MAX_NODE_SCORE: i64 = 100;

/// Upstream's `DefaultNormalizeScore`: scales scores so the highest becomes
/// `max_priority`; with `reverse`, the lowest becomes `max_priority` instead.
/// All-zero scores become `max_priority` when reversed and stay 0 otherwise.
pub fn default_normalize_score(max_priority: i64, reverse: bool, scores: &mut [i64]) {
    let max = scores.iter().copied().max().unwrap_or(0).max(0);
    if max == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = max_priority);
        }
        return;
    }
    for s in scores.iter_mut() {
        let mut v = max_priority * *s / max;
        if reverse {
            v = max_priority - v;
        }
        *s = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_reverses() {
        let mut s = [0, 1, 2, 4];
        default_normalize_score(100, false, &mut s);
        assert_eq!(s, [0, 25, 50, 100]);
        let mut s = [0, 1, 2, 4];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 75, 50, 0]);
        let mut s = [0, 0];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 100]);
        let mut s = [0, 0];
        default_normalize_score(100, false, &mut s);
        assert_eq!(s, [0, 0]);
    }
}
