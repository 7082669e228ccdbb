//! A token bucket on an explicit clock: `qps` tokens a second, at most
//! [`BURST`] saved up, starting full. A rate of zero (or less) never
//! grants a token.

use std::time::Instant;

/// Tokens a bucket holds at most: one eviction may happen at once, the
/// next waits for the rate (upstream's eviction limiter burst).
pub const BURST: f64 = 1.0;

/// The bucket.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    qps: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilling at `qps`.
    pub fn new(qps: f64, now: Instant) -> Self {
        Self {
            qps: sanitize(qps),
            tokens: if qps > 0.0 { BURST } else { 0.0 },
            last: now,
        }
    }

    /// The refill rate.
    pub fn qps(&self) -> f64 {
        self.qps
    }

    /// Takes a token if one is available at `now`.
    pub fn try_accept(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Changes the rate. A bucket that was empty stays empty (so a rate
    /// change never grants an extra eviction); one that had a token keeps
    /// a full bucket at the new rate. Zero stops granting tokens.
    pub fn set_qps(&mut self, qps: f64, now: Instant) {
        let qps = sanitize(qps);
        if qps == self.qps {
            return;
        }
        self.refill(now);
        let had_token = self.tokens >= 1.0;
        self.qps = qps;
        self.tokens = if qps > 0.0 && had_token { BURST } else { 0.0 };
        self.last = now;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        if self.qps > 0.0 {
            self.tokens = (self.tokens + elapsed * self.qps).min(BURST);
        }
    }
}

fn sanitize(qps: f64) -> f64 {
    if qps.is_finite() && qps > 0.0 {
        qps
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn starts_full_then_grants_one_token_per_period() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(0.1, t0);
        assert!(bucket.try_accept(t0));
        assert!(!bucket.try_accept(t0));
        assert!(!bucket.try_accept(t0 + secs(9.9)));
        assert!(bucket.try_accept(t0 + secs(10.0)));
        // The burst caps what is saved up.
        assert!(bucket.try_accept(t0 + secs(100.0)));
        assert!(!bucket.try_accept(t0 + secs(100.0)));
    }

    #[test]
    fn zero_rate_never_grants() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(0.0, t0);
        assert!(!bucket.try_accept(t0));
        assert!(!bucket.try_accept(t0 + secs(1e6)));
        let mut nan = TokenBucket::new(f64::NAN, t0);
        assert_eq!(nan.qps(), 0.0);
        assert!(!nan.try_accept(t0));
    }

    #[test]
    fn changing_the_rate_keeps_an_empty_bucket_empty() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1.0, t0);
        assert!(bucket.try_accept(t0));
        bucket.set_qps(10.0, t0);
        assert!(!bucket.try_accept(t0));
        assert!(bucket.try_accept(t0 + secs(0.1)));
    }

    #[test]
    fn changing_the_rate_keeps_a_full_bucket_full() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1.0, t0);
        bucket.set_qps(0.01, t0 + secs(5.0));
        assert_eq!(bucket.qps(), 0.01);
        assert!(bucket.try_accept(t0 + secs(5.0)));
        assert!(!bucket.try_accept(t0 + secs(50.0)));
    }

    #[test]
    fn stopping_and_resuming_starts_from_an_empty_bucket() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(1.0, t0);
        bucket.set_qps(0.0, t0);
        assert!(!bucket.try_accept(t0 + secs(10.0)));
        bucket.set_qps(1.0, t0 + secs(10.0));
        assert!(!bucket.try_accept(t0 + secs(10.0)));
        assert!(bucket.try_accept(t0 + secs(11.0)));
    }

    #[test]
    fn time_going_backwards_grants_nothing() {
        let t0 = Instant::now() + secs(10.0);
        let mut bucket = TokenBucket::new(1.0, t0);
        assert!(bucket.try_accept(t0));
        assert!(!bucket.try_accept(t0 - secs(5.0)));
        assert!(!bucket.try_accept(t0 + secs(0.5)));
        assert!(bucket.try_accept(t0 + secs(1.0)));
    }
}
