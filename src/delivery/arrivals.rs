//! When published events arrive at the intake's writer: how long a batch may wait for company
//! before waiting only idles.

use std::time::{Duration, Instant};

/// When events arrive, as the writer sees them: the last arrival and the usual gap between two
/// (a moving average).
#[derive(Default)]
pub(super) struct Arrivals {
    last: Option<Instant>,
    gap: Duration,
}

impl Arrivals {
    pub(super) fn see(&mut self, at: Instant) {
        if let Some(last) = self.last {
            let gap = at.saturating_duration_since(last);
            self.gap = (self.gap * 7 + gap) / 8;
        }
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }

    /// Until when more are likely: twice the usual gap after the last one. Publishers that
    /// wait for their answers (at saturation, all of them are in the batch) send nothing more
    /// until it is stored, and waiting past that pause only idles.
    pub(super) fn likely_until(&self) -> Option<Instant> {
        self.last.map(|l| l + self.gap * 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_are_likely_until_twice_the_usual_gap_after_the_last() {
        let t = Instant::now();
        let mut a = Arrivals::default();
        assert_eq!(a.likely_until(), None);
        for n in 0..40 {
            a.see(t + Duration::from_micros(n * 100));
        }
        let until = a.likely_until().unwrap() - (t + Duration::from_micros(3900));
        assert!(until > Duration::from_micros(190) && until <= Duration::from_micros(200));
        // An arrival seen late (published before the last one seen) moves nothing back.
        a.see(t);
        assert!(a.likely_until().unwrap() > t + Duration::from_micros(3900));
    }
}
