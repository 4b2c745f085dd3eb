//! The least-squares answer the descent converges to, for the report.

use super::sums::compensated_sum;

/// Ordinary least squares for `d ≈ w0 + w1·x` by the centred 2×2 normal equations:
/// `w1 = Σ(x−x̄)(d−d̄) / Σ(x−x̄)²`, `w0 = d̄ − w1·x̄`. Centring first keeps the system well
/// conditioned (the raw normal equations square the condition number); sums are compensated.
/// `None` when every x is equal and no line is determined.
pub fn closed_form(x: &[f64], d: &[f64]) -> Option<[f64; 2]> {
    let n = x.len() as f64;
    let xm = compensated_sum(x.iter().copied()) / n;
    let dm = compensated_sum(d.iter().copied()) / n;
    let sxx = compensated_sum(x.iter().map(|x| (x - xm) * (x - xm)));
    let sxd = compensated_sum(x.iter().zip(d).map(|(x, d)| (x - xm) * (d - dm)));
    if sxx == 0.0 || !sxx.is_finite() {
        return None;
    }
    let w1 = sxd / sxx;
    Some([dm - w1 * xm, w1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_line_and_refuses_a_vertical_one() {
        let x = [1e6, 1e6 + 1.0, 1e6 + 2.0, 1e6 + 3.0];
        let d: Vec<f64> = x.iter().map(|x| -4.0 + 0.5 * x).collect();
        let [w0, w1] = closed_form(&x, &d).unwrap();
        assert!(
            (w1 - 0.5).abs() < 1e-12 && (w0 + 4.0).abs() < 1e-6,
            "{w0} {w1}"
        );
        assert_eq!(closed_form(&[2.0, 2.0], &[1.0, 3.0]), None);
    }
}
