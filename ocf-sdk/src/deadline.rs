//! Time budgets: every action, child process and wait ends before the cluster's timeout.
//!
//! The budget of an action is the caller's timeout (`OCF_RESKEY_CRM_meta_timeout` in ms from
//! Pacemaker, `OCF_RESKEY_RGMANAGER_meta_timeout` in s from rgmanager) or, when the caller
//! gives none, the advertised timeout of the action; minus a safety margin of 10 % clamped to
//! 0.5–5 s, so the agent can still print an exit reason and exit cleanly before the executor
//! sends SIGKILL to the process group.

use crate::exit::{Error, Result};
use std::time::{Duration, Instant};

/// A point in time by which work must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

/// The safety margin kept back from a caller's timeout.
pub fn margin(total: Duration) -> Duration {
    (total / 10)
        .clamp(Duration::from_millis(500), Duration::from_secs(5))
        .min(total / 2)
}

impl Deadline {
    /// A deadline `d` from now.
    pub fn after(d: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + d,
        }
    }

    /// A deadline at an instant.
    pub fn at(at: Instant) -> Deadline {
        Deadline { at }
    }

    /// The action budget for a total timeout (margin applied), counted from `start`.
    pub fn for_timeout(start: Instant, total: Duration) -> Deadline {
        let budget = total
            .saturating_sub(margin(total))
            .max(Duration::from_millis(100));
        Deadline { at: start + budget }
    }

    /// The instant.
    pub fn instant(&self) -> Instant {
        self.at
    }

    /// Time left (zero when passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The earlier of this deadline and `d` from now.
    #[must_use]
    pub fn within(&self, d: Duration) -> Deadline {
        Deadline {
            at: self.at.min(Instant::now() + d),
        }
    }

    /// A deadline that leaves `fraction` (0.0–1.0) of the remaining time for later work,
    /// e.g. `fraction(0.5)` ends half-way to this deadline.
    #[must_use]
    pub fn fraction(&self, fraction: f64) -> Deadline {
        let f = fraction.clamp(0.0, 1.0);
        Deadline {
            at: Instant::now() + self.remaining().mul_f64(f),
        }
    }

    /// `Err(1)` with "`what`: timed out after ..." if the deadline has passed.
    ///
    /// # Errors
    /// Code 1 when expired.
    pub fn check(&self, what: &str) -> Result<()> {
        if self.expired() {
            Err(Error::generic(format!("{what}: out of time")))
        } else {
            Ok(())
        }
    }

    /// Sleep for `d` or until the deadline, whichever comes first.
    pub fn sleep(&self, d: Duration) {
        std::thread::sleep(d.min(self.remaining()));
    }

    /// Poll `pred` until it returns `Some`, sleeping with back-off from 5 ms to `max_step`,
    /// never past the deadline. Returns `None` on expiry (after one last check).
    pub fn wait_until<T>(
        &self,
        max_step: Duration,
        mut pred: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        let mut step = Duration::from_millis(5).min(max_step);
        loop {
            if let Some(v) = pred() {
                return Some(v);
            }
            if self.expired() {
                return None;
            }
            self.sleep(step);
            step = (step * 2).min(max_step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins() {
        assert_eq!(margin(Duration::from_secs(20)), Duration::from_secs(2));
        assert_eq!(margin(Duration::from_secs(120)), Duration::from_secs(5));
        assert_eq!(margin(Duration::from_secs(2)), Duration::from_millis(500));
        assert_eq!(
            margin(Duration::from_millis(400)),
            Duration::from_millis(200)
        );
        let now = Instant::now();
        let d = Deadline::for_timeout(now, Duration::from_secs(20));
        assert_eq!(d.instant() - now, Duration::from_secs(18));
    }

    #[test]
    fn wait_until_gives_up_at_deadline() {
        let d = Deadline::after(Duration::from_millis(50));
        let t = Instant::now();
        assert_eq!(d.wait_until(Duration::from_millis(10), || None::<()>), None);
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert!(t.elapsed() < Duration::from_secs(2));
        let mut n = 0;
        assert_eq!(
            Deadline::after(Duration::from_secs(5)).wait_until(Duration::from_millis(1), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
        assert!(d.check("x").is_err());
        assert!(Deadline::after(Duration::from_secs(5)).check("x").is_ok());
    }
}
