//! The curvature of the squared error: the 2×2 Hessian `H = (2/N)·XᵀX` of the design `X = [1, x]`,
//! its eigenvalues and eigenvectors. One epoch maps the distance to the least-squares point by
//! `I − mu·H`, so each eigen-direction shrinks by `|1 − mu·λ|` per epoch: the descent converges
//! if and only if `mu < 2/λ_max`, and `1/(mu·λ)` is how many epochs that direction remembers.

use crate::problem::DataSums;

/// Eigen-decomposition of `H = (2/N)·[[N, Σx], [Σx, Σx²]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curvature {
    /// `[λ_min, λ_max]`.
    pub lambda: [f64; 2],
    /// Unit eigenvectors: `vectors[i]` belongs to `lambda[i]`.
    pub vectors: [[f64; 2]; 2],
}

impl Curvature {
    /// The Hessian of the data summarised by `s`. `λ_min` comes from the determinant
    /// `4·Σ(x − x̄)²/N` over `λ_max`, so it keeps its digits when x lies far from 0.
    pub fn of(s: &DataSums) -> Self {
        let (a, b, c) = (2.0, 2.0 * s.sx / s.n, 2.0 * s.sxx / s.n);
        let lmax = (a + c) / 2.0 + ((a - c) / 2.0).hypot(b);
        let det = 4.0 * s.sxx_centred / s.n;
        let lmin = (det / lmax).max(0.0);
        // (b, λ − a) and (λ − c, b) both solve (H − λ)v = 0; take the longer for accuracy.
        let (p, q) = ((b, lmax - a), (lmax - c, b));
        let v = if p.0.hypot(p.1) >= q.0.hypot(q.1) {
            p
        } else {
            q
        };
        let norm = v.0.hypot(v.1);
        let vmax = if norm > 0.0 {
            [v.0 / norm, v.1 / norm]
        } else {
            [1.0, 0.0]
        };
        let vmin = [-vmax[1], vmax[0]];
        Self {
            lambda: [lmin, lmax],
            vectors: [vmin, vmax],
        }
    }

    /// The largest step that converges: `2/λ_max` (the descent diverges at or above it).
    pub fn max_stable_mu(&self) -> f64 {
        2.0 / self.lambda[1]
    }

    /// How much each direction keeps of an error per epoch at step `mu`: `|1 − mu·λ|`.
    pub fn decay(&self, mu: f64) -> [f64; 2] {
        self.lambda.map(|l| (1.0 - mu * l).abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Rounding;

    fn curvature_of(x: &[f64]) -> Curvature {
        let d = vec![1.0; x.len()];
        Curvature::of(&DataSums::of(x, &d, Rounding::None))
    }

    #[test]
    fn eigen_pairs_solve_the_hessian() {
        for x in [
            vec![0.0, 1.0, 2.0],
            vec![1000.0, 1001.0, 1002.0],
            vec![-3.0, 3.0],
            vec![1e-3, 2e-3, 5e-3],
        ] {
            let c = curvature_of(&x);
            let n = x.len() as f64;
            let h = [
                [2.0, 2.0 * x.iter().sum::<f64>() / n],
                [
                    2.0 * x.iter().sum::<f64>() / n,
                    2.0 * x.iter().map(|v| v * v).sum::<f64>() / n,
                ],
            ];
            for i in 0..2 {
                let (l, v) = (c.lambda[i], c.vectors[i]);
                for row in 0..2 {
                    let hv = h[row][0] * v[0] + h[row][1] * v[1];
                    assert!(
                        (hv - l * v[row]).abs() <= 1e-9 * c.lambda[1],
                        "{x:?}: λ{i} = {l}"
                    );
                }
                assert!((v[0].hypot(v[1]) - 1.0).abs() < 1e-12);
            }
            assert!(c.lambda[0] <= c.lambda[1]);
        }
    }

    #[test]
    fn the_articles_curvature_and_stability_bound() {
        // x = linspace(0, 2): Σx/N = 1, Σx²/N ≈ 4/3, so λ = 7/3 ± √(1/9 + 4).
        let x: Vec<f64> = (0..10_001).map(|i| i as f64 * 2.0 / 10_000.0).collect();
        let c = curvature_of(&x);
        let mean_sq = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
        let expected_max = (2.0 + 2.0 * mean_sq) / 2.0 + ((2.0 - 2.0 * mean_sq) / 2.0).hypot(2.0);
        assert!((c.lambda[1] - expected_max).abs() < 1e-12);
        assert!((c.lambda[1] - 4.36).abs() < 0.01 && (c.lambda[0] - 0.305).abs() < 0.01);
        assert!((c.max_stable_mu() - 2.0 / expected_max).abs() < 1e-15);
        assert_eq!(c.decay(0.0), [1.0, 1.0]);
    }
}
