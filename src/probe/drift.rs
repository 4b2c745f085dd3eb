//! The portable clock check: each adapter's FMA probe (the arithmetic ceiling) measured again
//! after the GPU rows. A GPU that slowed its clocks while they ran (heat, power, a driver's
//! idle policy) reads lower the second time; a fall beyond what the probe varies between its
//! own attempts in the same run flags the adapter `clocks_drifted`, and its rows say so.
//!
//! Only a fall counts. A GPU faster afterwards was still idling at the first probe: its rows
//! were timed after a warm-up that waits for steady solves, so their times stand (and a share
//! of a ceiling measured low is caught where shares above 100 % are).

use serde::Serialize;

/// The least change that counts as drift, whatever the spread: a quiet GPU's attempts can
/// agree within a fraction of a per cent.
pub const DRIFT_FLOOR_PCT: f64 = 5.0;

/// The least fall that counts on a software adapter (lavapipe, llvmpipe), whose "clocks" are the
/// host's cores shared with everything else: its probe moves by 30 % between two quiet
/// measurements in one run (seen here: 35 GFLOP/s before the rows, 25 after) and by up to 40 %
/// between runs.
pub const DRIFT_FLOOR_SOFTWARE_PCT: f64 = 40.0;

/// How many of its own spreads the probe must fall to count as drift: three attempts a side
/// estimate a spread poorly.
pub const DRIFT_SPREADS: f64 = 4.0;

/// A fall this large counts whatever the spread: lavapipe's probe, the noisiest seen, varies
/// by up to 40 % between runs, and a GPU at idle clocks reads a fifth of its figure.
pub const DRIFT_CAP_PCT: f64 = 50.0;

/// An adapter's FMA probe after the GPU rows, against its attempts before them (the ceiling's
/// `gflops_f32_attempts`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ClockCheck {
    /// Each attempt's GFLOP/s after them.
    pub after_gflops: Vec<f64>,
    /// The best after over the best before, less 1, in per cent.
    pub change_pct: f64,
    /// The probe's own spread, (largest − smallest) / largest over either side's attempts (the
    /// larger of the two), in per cent.
    pub spread_pct: f64,
    /// The fall allowed: [`DRIFT_SPREADS`] spreads, at least [`DRIFT_FLOOR_PCT`] (a software
    /// adapter's: [`DRIFT_FLOOR_SOFTWARE_PCT`]) and at most [`DRIFT_CAP_PCT`], in per cent.
    pub allowed_pct: f64,
    /// True when the probe fell by more than allowed: the adapter's clocks dropped during the
    /// run.
    pub clocks_drifted: bool,
}

impl ClockCheck {
    /// The check of attempts `before` against `after` (each non-empty, positive) on an adapter
    /// that is `software` or not.
    pub fn of(before: &[f64], after: &[f64], software: bool) -> Self {
        let spread = |v: &[f64]| {
            let low = v.iter().copied().fold(f64::INFINITY, f64::min);
            (best(v) - low) / best(v) * 100.0
        };
        let change_pct = (best(after) / best(before) - 1.0) * 100.0;
        let spread_pct = spread(before).max(spread(after));
        let floor = match software {
            true => DRIFT_FLOOR_SOFTWARE_PCT,
            false => DRIFT_FLOOR_PCT,
        };
        let allowed_pct = (DRIFT_SPREADS * spread_pct).clamp(floor, DRIFT_CAP_PCT);
        Self {
            after_gflops: after.to_vec(),
            change_pct,
            spread_pct,
            allowed_pct,
            // A change that is not a number (a probe that read nothing) counts as drift.
            clocks_drifted: change_pct.is_nan() || change_pct < -allowed_pct,
        }
    }

    /// The note for the adapter's rows when it drifted: both figures and the allowance.
    pub fn note(&self) -> Option<String> {
        let after = best(&self.after_gflops);
        let before = after / (1.0 + self.change_pct / 100.0);
        self.clocks_drifted.then(|| {
            format!(
                "clocks drifted: the adapter's FMA probe read {} GFLOP/s before the GPU rows and \
                 {} after ({:+.0} %, beyond the {:.0} % its own spread allows): these times may \
                 not be the adapter's steady speed",
                super::three_digits(before),
                super::three_digits(after),
                self.change_pct,
                self.allowed_pct
            )
        })
    }
}

/// The largest of the attempts `v` (the probe's figure).
fn best(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_a_change_beyond_the_probes_own_spread() {
        // Quiet: the same figures give no change.
        let quiet = ClockCheck::of(&[100.0, 99.0, 98.0], &[99.5, 100.0, 97.0], false);
        assert!(!quiet.clocks_drifted, "{quiet:?}");
        assert_eq!(quiet.change_pct, 0.0);
        // A clock 20 % lower after, with attempts within 2 %: drifted.
        let slower = ClockCheck::of(&[100.0, 99.0, 98.0], &[80.0, 79.5, 80.0], false);
        assert!(
            slower.clocks_drifted && slower.change_pct < -19.0,
            "{slower:?}"
        );
        let note = slower.note().unwrap();
        assert!(
            note.contains("read 100 GFLOP/s before") && note.contains("-20 %"),
            "{note}"
        );
        // The same 20 % from a probe whose own attempts vary by 10 % is within its noise, as
        // 30 % is on a software adapter.
        let noisy = ClockCheck::of(&[100.0, 90.0, 95.0], &[80.0, 72.0, 76.0], false);
        assert!((noisy.spread_pct - 10.0).abs() < 1e-9);
        assert!(!ClockCheck::of(&[35.0; 3], &[25.0; 3], true).clocks_drifted);
        assert!(ClockCheck::of(&[35.0; 3], &[25.0; 3], false).clocks_drifted);
        assert!(ClockCheck::of(&[35.0; 3], &[15.0; 3], true).clocks_drifted);
        assert!(!noisy.clocks_drifted, "{noisy:?}");
        assert!(noisy.note().is_none());
        // Faster afterwards does not count (a GPU still idling at the first probe); the floor
        // holds for a probe that repeats itself exactly, and the cap for a wild one.
        assert!(!ClockCheck::of(&[50.0; 3], &[80.0; 3], false).clocks_drifted);
        assert!(ClockCheck::of(&[50.0; 3], &[45.0; 3], false).clocks_drifted);
        assert!(!ClockCheck::of(&[50.0; 3], &[48.0; 3], false).clocks_drifted);
        let wild = ClockCheck::of(&[100.0, 60.0, 80.0], &[20.0, 12.0, 16.0], false);
        assert!(
            wild.allowed_pct == DRIFT_CAP_PCT && wild.clocks_drifted,
            "{wild:?}"
        );
    }
}
