//! Verdicts: every run is compared with the f64 reference, within a tolerance set by precision.
//!
//! Differences are relative to the reference's largest weight, `max|w − w_ref| / max|w_ref|`.
//! - f64: 1e-9. Solvers differ only in summation order (≈ log N ulps per epoch's sums), and
//!   gradient descent with a stable step does not amplify earlier rounding.
//! - f32: `u·(E + 2·⌈log2 N⌉ + 32)` with `u = 2⁻²³` (f32 epsilon) and `E` epochs. Each epoch
//!   rounds each weight once (≤ u/2 relative) and its gradient's f32 sums add about as much
//!   again; a stable descent does not amplify earlier errors, so they at most add up over the
//!   epochs (they do drift systematically near convergence, where every update rounds the
//!   same way, so a √E bound would be wrong). The log term covers one f32 tree sum of N terms,
//!   the constant the rounding of x, d and mu to f32: it dominates only when few epochs run.
//!   At the article's size (E = 10 000) that is 1.2e-3; the measured f32 difference is ~2e-6.

use serde::Serialize;

use crate::problem::Problem;
use crate::solver::{Outcome, Precision};

/// The verdict a run can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Agrees with the reference within tolerance.
    Ok,
    /// Finite weights that disagree with the reference beyond tolerance.
    Mismatch,
    /// Weights became NaN or infinite (mu too large for the data).
    Diverged,
    /// The solver cannot run here (no adapter, missing feature...).
    Unavailable,
    /// The solver failed while preparing or solving.
    Error,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Mismatch => "mismatch",
            Status::Diverged => "diverged",
            Status::Unavailable => "unavailable",
            Status::Error => "error",
        })
    }
}

/// A run's comparison with the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Ok, mismatch or diverged.
    pub status: Status,
    /// Largest absolute difference in a weight (NaN when either side diverged).
    pub max_abs_diff: f64,
    /// `max_abs_diff` relative to the reference's largest weight.
    pub max_rel_diff: f64,
    /// The relative tolerance applied.
    pub tolerance: f64,
    /// A sentence for the report; empty when ok.
    pub message: String,
}

/// Relative tolerance for a solver of `precision` on `problem` (see the module docs).
pub fn tolerance(precision: Precision, problem: &Problem) -> f64 {
    match precision {
        Precision::F64 => 1e-9,
        Precision::F32 => {
            let log2n = (problem.n() as f64).log2().ceil();
            f64::from(f32::EPSILON) * (problem.epochs() as f64 + 2.0 * log2n + 32.0)
        }
    }
}

/// Compares `outcome` with the reference outcome.
pub fn judge(
    outcome: &Outcome,
    reference: &Outcome,
    precision: Precision,
    problem: &Problem,
) -> Verdict {
    let tolerance = tolerance(precision, problem);
    let diverged = outcome.diverged_at.is_some() || reference.diverged_at.is_some();
    let max_abs_diff = if diverged {
        f64::NAN
    } else {
        (0..2)
            .map(|i| (outcome.w[i] - reference.w[i]).abs())
            .fold(0.0, f64::max)
    };
    let scale = reference.w[0].abs().max(reference.w[1].abs());
    let max_rel_diff = if max_abs_diff == 0.0 {
        0.0
    } else {
        max_abs_diff / scale
    };
    let (status, message) = match (outcome.diverged_at, reference.diverged_at) {
        (Some(epoch), _) => (
            Status::Diverged,
            format!("weights became non-finite by epoch {epoch}: mu is too large for this data"),
        ),
        (None, Some(epoch)) => (
            Status::Mismatch,
            format!("finite weights, but the reference diverged at epoch {epoch}"),
        ),
        (None, None) if max_rel_diff <= tolerance => (Status::Ok, String::new()),
        (None, None) => (
            Status::Mismatch,
            format!(
                "differs from the reference by {max_rel_diff:.2e} (relative), over the {precision} tolerance {tolerance:.1e}"
            ),
        ),
    };
    Verdict {
        status,
        max_abs_diff,
        max_rel_diff,
        tolerance,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    fn problem(epochs: u64) -> Problem {
        Problem::new(Dataset::synthetic(1024, 0.1, 1).unwrap(), 0.01, epochs).unwrap()
    }

    fn out(w0: f64, w1: f64) -> Outcome {
        Outcome {
            w: [w0, w1],
            diverged_at: None,
        }
    }

    #[test]
    fn within_tolerance_is_ok_beyond_is_mismatch() {
        let p = problem(100);
        let r = out(3.0, 2.0);
        assert_eq!(
            judge(&out(3.0 + 1e-10, 2.0), &r, Precision::F64, &p).status,
            Status::Ok
        );
        let v = judge(&out(3.0 + 1e-6, 2.0), &r, Precision::F64, &p);
        assert_eq!(v.status, Status::Mismatch);
        assert!(
            (v.max_abs_diff - 1e-6).abs() < 1e-12 && (v.max_rel_diff - 1e-6 / 3.0).abs() < 1e-12
        );
        assert_eq!(
            judge(&out(3.0 + 1e-6, 2.0), &r, Precision::F32, &p).status,
            Status::Ok
        );
        assert_eq!(
            judge(&out(3.01, 2.0), &r, Precision::F32, &p).status,
            Status::Mismatch
        );
    }

    #[test]
    fn f32_tolerance_grows_with_epochs() {
        let u = f64::from(f32::EPSILON);
        assert!(
            (tolerance(Precision::F32, &problem(10_000)) - u * (10_000.0 + 20.0 + 32.0)).abs()
                < 1e-15
        );
        assert!(tolerance(Precision::F32, &problem(1)) < 1e-5);
    }

    #[test]
    fn divergence_is_reported_with_its_epoch() {
        let p = problem(100);
        let gone = Outcome {
            w: [f64::INFINITY, f64::NAN],
            diverged_at: Some(37),
        };
        let v = judge(&gone, &out(3.0, 2.0), Precision::F64, &p);
        assert_eq!(v.status, Status::Diverged);
        assert!(v.message.contains("epoch 37"), "{}", v.message);
        assert_eq!(
            judge(&out(3.0, 2.0), &gone, Precision::F64, &p).status,
            Status::Mismatch
        );
    }
}
