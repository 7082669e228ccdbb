//! The clock time-driven controllers read (CronJob schedules, Job
//! deadlines and backoff, TTL after finished): the system clock, or one a
//! test injects through [`Config::clock`](crate::Config::clock) so that a
//! schedule can fire without waiting for it.

use jiff::Timestamp;
use std::fmt;
use std::sync::Arc;

/// A cheap-to-clone source of "now".
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<dyn Fn() -> Timestamp + Send + Sync>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that asks `now` for the time.
    pub fn from_fn(now: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(now)))
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Some(now) => now(),
            None => Timestamp::now(),
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Clock(injected)"
        } else {
            "Clock(system)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_clock_is_used() {
        let fixed = Timestamp::from_second(1_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let clock = Clock::from_fn(move || fixed);
        assert_eq!(clock.now(), fixed);
        assert!(Clock::system().now() > fixed);
        assert_eq!(format!("{clock:?}"), "Clock(injected)");
    }
}
