//! The statistics of a row's repeats: median, range, mean, spread, outliers, and when to call
//! them noisy.

use serde::Serialize;

/// Median, fastest, slowest, mean, spread and every repeat's wall time, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TimeStats {
    /// Median of the repeats (the figure to quote).
    pub median: f64,
    /// Fastest repeat.
    pub min: f64,
    /// Slowest repeat.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (0 with one repeat).
    pub stddev: f64,
    /// Repeats whose modified z-score exceeds [`OUTLIER_Z`] (Iglewicz and Hoaglin).
    pub outliers: usize,
    /// Each repeat in the order run.
    pub repeats: Vec<f64>,
    /// A distribution-free 95 % confidence interval of the median, `[lo, hi]` (order statistics
    /// of the repeats); null with fewer than [`CI_MIN_REPEATS`] repeats, which cannot give one.
    pub ci95: Option<[f64; 2]>,
}

/// Fewest repeats whose extremes bracket the median with at least 95 % confidence (1 − 2/2⁶).
pub const CI_MIN_REPEATS: usize = 6;

/// The 1-based rank `j` of the order statistics `[x(j), x(n+1−j)]` that bracket the median of `n`
/// repeats with at least 95 % confidence: the largest `j` with P(Binomial(n, ½) < j) ≤ 2.5 %.
/// `None` below [`CI_MIN_REPEATS`].
fn median_ci_rank(n: usize) -> Option<usize> {
    if n < CI_MIN_REPEATS {
        return None;
    }
    // P(B ≤ k) for B ~ Binomial(n, ½), summed in logs so that large n does not underflow.
    let ln_half_n = n as f64 * 0.5f64.ln();
    let (mut ln_choose, mut cumulative, mut j) = (0.0f64, 0.0, 0);
    for k in 0..n {
        cumulative += (ln_choose + ln_half_n).exp();
        if cumulative > 0.025 {
            break;
        }
        j = k + 1;
        ln_choose += ((n - k) as f64).ln() - ((k + 1) as f64).ln();
    }
    Some(j.max(1))
}

/// Modified z-score beyond which a repeat counts as an outlier.
pub const OUTLIER_Z: f64 = 3.5;

/// Coefficient of variation above which a row is flagged as noisy.
pub const NOISY_CV: f64 = 0.05;

/// The median of an ascending, non-empty slice (the mean of the middle two when even).
pub(crate) fn median_of_sorted(sorted: &[f64]) -> f64 {
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

impl TimeStats {
    /// Summarises a non-empty list of durations in seconds.
    pub fn from_samples(samples: Vec<f64>) -> Self {
        assert!(!samples.is_empty(), "no samples to summarise");
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let median = median_of_sorted(&sorted);
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let stddev = if samples.len() > 1 {
            (samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        // Modified z-score: 0.6745·(x − median) / MAD; robust where one slow repeat skews the mean.
        let mut deviations: Vec<f64> = samples.iter().map(|s| (s - median).abs()).collect();
        deviations.sort_by(f64::total_cmp);
        let mad = median_of_sorted(&deviations);
        let outliers = if mad > 0.0 {
            samples
                .iter()
                .filter(|s| 0.6745 * (*s - median).abs() / mad > OUTLIER_Z)
                .count()
        } else {
            0
        };
        Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            mean,
            stddev,
            outliers,
            ci95: median_ci_rank(sorted.len()).map(|j| [sorted[j - 1], sorted[sorted.len() - j]]),
            repeats: samples,
        }
    }

    /// The 95 % interval's larger side over the median (0.02 for ±2 %), when there is one.
    pub fn ci_half_width(&self) -> Option<f64> {
        let [lo, hi] = self.ci95?;
        (self.median > 0.0).then(|| (self.median - lo).max(hi - self.median) / self.median)
    }

    /// A warning when the repeats disagree enough to doubt the median: a coefficient of variation
    /// over [`NOISY_CV`], or outliers that lie more than that fraction from the median.
    pub fn noise_warning(&self) -> Option<String> {
        let cv = if self.mean > 0.0 {
            self.stddev / self.mean
        } else {
            0.0
        };
        let far = (self.max - self.median).max(self.median - self.min) > NOISY_CV * self.median;
        (cv > NOISY_CV || (self.outliers > 0 && far)).then(|| {
            format!(
                "noisy: repeats vary by {:.0} % (stddev/mean), {} outlier(s); close other programs or add --repeat",
                cv * 100.0,
                self.outliers
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max_of_known_samples() {
        let odd = TimeStats::from_samples(vec![3.0, 1.0, 2.0]);
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        assert_eq!(odd.repeats, [3.0, 1.0, 2.0]);
        let even = TimeStats::from_samples(vec![4.0, 1.0, 3.0, 2.0]);
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
    }

    #[test]
    fn the_median_interval_takes_the_binomial_ranks() {
        // n = 6: only the extremes cover 95 % (1 − 2/64 = 96.9 %); n = 9: the 2nd and 8th
        // (1 − 2·10/512 = 96.1 %; the 3rd and 7th would cover 82 %); n = 5 has no 95 % interval.
        assert_eq!(median_ci_rank(5), None);
        assert_eq!(median_ci_rank(6), Some(1));
        assert_eq!(median_ci_rank(8), Some(1));
        assert_eq!(median_ci_rank(9), Some(2));
        // The normal approximation's rank for n = 100: 50 − 1.96·5 ≈ 40.2, so 40.
        assert_eq!(median_ci_rank(100), Some(40));
        let t = TimeStats::from_samples((1..=9).map(f64::from).rev().collect());
        assert_eq!(t.ci95, Some([2.0, 8.0]));
        assert_eq!(t.ci_half_width(), Some(0.6));
        assert_eq!(TimeStats::from_samples(vec![1.0; 5]).ci95, None);
    }

    #[test]
    fn mean_spread_and_outliers_of_known_samples() {
        let t = TimeStats::from_samples(vec![1.0, 1.0, 1.0, 1.0]);
        assert_eq!((t.mean, t.stddev, t.outliers), (1.0, 0.0, 0));
        assert_eq!(t.noise_warning(), None);
        let t = TimeStats::from_samples(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(t.mean, 5.0);
        assert!((t.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        // Median 4.5; deviations 2.5 0.5 0.5 0.5 0.5 0.5 2.5 4.5, so MAD 0.5: only 9 is beyond
        // 3.5 (z = 6.07); 2 and 7 give z = 3.37.
        assert_eq!(t.outliers, 1);
        let w = t.noise_warning().unwrap();
        assert!(w.starts_with("noisy: repeats vary by 43 %"), "{w}");
        // A tight cluster with one repeat 3.5 % off: an outlier by the rule, not worth a warning.
        let tight = TimeStats::from_samples(vec![134.015, 134.014, 138.743]);
        assert_eq!(tight.outliers, 1);
        assert_eq!(tight.noise_warning(), None);
        let one = TimeStats::from_samples(vec![0.3]);
        assert_eq!((one.stddev, one.outliers), (0.0, 0));
    }
}
