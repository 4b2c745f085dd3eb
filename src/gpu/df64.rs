//! Double-float arithmetic: the CPU twin of `shaders/df64.wgsl`'s error-free transforms, the
//! split of an f64 into a pair, and the hard cases the transforms are checked on (the check
//! itself, on an adapter, is `df64_check.rs`).

use crate::error::GdError;

/// A double-float: the value `hi + lo`, with `|lo| ≤ ulp(hi)/2`.
pub type Df = [f32; 2];

/// `a + b` and its exact rounding error (Knuth's branch-free two-sum).
pub fn two_sum(a: f32, b: f32) -> Df {
    let s = a + b;
    let bb = s - a;
    [s, (a - (s - bb)) + (b - bb)]
}

/// `a + b` and its exact error when `|a| ≥ |b|` (Dekker's fast two-sum).
pub fn quick_two_sum(a: f32, b: f32) -> Df {
    let s = a + b;
    [s, b - (s - a)]
}

/// `a·b` and its exact rounding error, through a fused multiply-add.
pub fn two_prod(a: f32, b: f32) -> Df {
    let p = a * b;
    [p, a.mul_add(b, -p)]
}

/// The accurate sum of two double-floats (relative error below 3·2⁻⁴⁸, cancellation included).
pub fn add(a: Df, b: Df) -> Df {
    let s = two_sum(a[0], b[0]);
    let t = two_sum(a[1], b[1]);
    let r = quick_two_sum(s[0], s[1] + t[0]);
    quick_two_sum(r[0], r[1] + t[1])
}

/// The product of two double-floats (relative error below 7·2⁻⁴⁸).
pub fn mul(a: Df, b: Df) -> Df {
    let p = two_prod(a[0], b[0]);
    quick_two_sum(p[0], p[1] + (a[0] * b[1] + a[1] * b[0]))
}

/// Largest magnitude df64 takes: Dekker's split multiplies by 4 097, which overflows f32 above
/// f32::MAX / 4 097 (about 8.3e34). Data beyond it is refused at upload.
pub const MAX_MAGNITUDE: f64 = 8.0e34;

/// Why gpu-fused-df64 cannot take data beyond [`MAX_MAGNITUDE`].
pub fn outside_range() -> GdError {
    GdError::Unavailable {
        reason: format!(
            "x or d exceeds {MAX_MAGNITUDE:e} in magnitude: df64 keeps f32's exponent range (its split overflows there)"
        ),
    }
}

/// `v` as a double-float: its f32 rounding and what that loses (about 48 bits of `v`).
pub fn split(v: f64) -> Df {
    let hi = v as f32;
    [hi, (v - f64::from(hi)) as f32]
}

/// The value a double-float stands for.
pub fn value(v: Df) -> f64 {
    f64::from(v[0]) + f64::from(v[1])
}

/// Pairs `(a, b)` on which the transforms are checked: sums whose error is all that is left,
/// products whose low half only a fused fma keeps, cancellations, values that need the low word.
pub fn hard_cases() -> Vec<(Df, Df)> {
    let p = |v: f64| split(v);
    let exact = |hi: f32, lo: f32| [hi, lo];
    vec![
        // two_sum: 2²⁴ + 1 rounds to 2²⁴ (ties to even); the error is the whole 1.
        (exact(16_777_216.0, 0.0), exact(1.0, 0.0)),
        // two_sum: the error of a sum of unlike magnitudes, negative.
        (exact(1.0e8, 0.0), exact(-3.25, 0.0)),
        // two_prod: (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴; the 2⁻²⁴ is below f32's ulp of 1.
        (
            exact(1.0 + 2f32.powi(-12), 0.0),
            exact(1.0 + 2f32.powi(-12), 0.0),
        ),
        // two_prod: (2²⁴ − 1)², whose low half is 1.
        (exact(16_777_215.0, 0.0), exact(16_777_215.0, 0.0)),
        // Cancellation: (1 + 2⁻²³ + 2⁻⁴⁰) − (1 − 2⁻⁴¹) = 2⁻²³ + 2⁻⁴⁰ + 2⁻⁴¹, all of it from low words.
        (
            exact(1.0 + 2f32.powi(-23), 2f32.powi(-40)),
            exact(-1.0, 2f32.powi(-41)),
        ),
        // Values that need the low word: 0.1 + 0.2 and 0.1·0.2 to about 2⁻⁴⁸.
        (p(0.1), p(0.2)),
        // π·e and π − e, low words of both signs.
        (p(std::f64::consts::PI), p(std::f64::consts::E)),
        (p(std::f64::consts::PI), p(-std::f64::consts::E)),
        // The article's kind of residual: d − (w0 + w1·x) far from 0, nearly cancelling.
        (p(1_000.123_456_789_012_3), p(-1_000.123_456_789)),
        // Large magnitudes of opposite sign whose sum is small.
        (p(1.0e10 + 0.375), p(-1.0e10)),
        // A small weight and a large product, both ways round (w0 + w1·x at x near 1 000).
        (p(0.001_999_991_740_700_171), p(2_003.012_345_678_9)),
        (p(2_003.012_345_678_9), p(0.001_999_991_740_700_171)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact in f64: each case's operands and results have at most 53 significant bits.
    #[test]
    fn the_error_free_transforms_are_exact() {
        for (a, b) in hard_cases() {
            let (x, y) = (a[0], b[0]);
            let s = two_sum(x, y);
            assert_eq!(value(s), f64::from(x) + f64::from(y), "two_sum({x}, {y})");
            let p = two_prod(x, y);
            assert_eq!(value(p), f64::from(x) * f64::from(y), "two_prod({x}, {y})");
        }
    }

    #[test]
    fn the_hard_cases_need_the_error_terms() {
        let cases = hard_cases();
        // Each transform has a case whose error term is not zero: a compiler that drops it
        // (reassociation, an unfused fma) changes an answer the self-check compares.
        assert!(cases.iter().any(|(a, b)| two_sum(a[0], b[0])[1] != 0.0));
        assert!(cases.iter().any(|(a, b)| two_prod(a[0], b[0])[1] != 0.0));
        assert_eq!(two_sum(16_777_216.0, 1.0), [16_777_216.0, 1.0]);
        assert_eq!(
            two_prod(1.0 + 2f32.powi(-12), 1.0 + 2f32.powi(-12)),
            [1.0 + 2f32.powi(-11), 2f32.powi(-24)]
        );
    }

    #[test]
    fn pairs_carry_about_48_bits_through_add_and_mul() {
        for (a, b) in hard_cases() {
            let (x, y) = (value(a), value(b));
            let sum = value(add(a, b));
            let product = value(mul(a, b));
            assert!(
                (sum - (x + y)).abs() <= 3.0 * 2f64.powi(-48) * (x + y).abs(),
                "{x} + {y}: {sum}"
            );
            assert!(
                (product - x * y).abs() <= 7.0 * 2f64.powi(-48) * (x * y).abs(),
                "{x} · {y}: {product}"
            );
        }
        // The cancellation case is exact: everything left comes from the low words.
        let (a, b) = hard_cases()[4];
        assert_eq!(
            value(add(a, b)),
            2f64.powi(-23) + 2f64.powi(-40) + 2f64.powi(-41)
        );
    }

    #[test]
    fn split_keeps_about_48_bits() {
        for v in [
            0.1,
            std::f64::consts::PI,
            -1_000.123_456_789_012_3,
            1.0e10 + 0.375,
        ] {
            let pair = split(v);
            assert!((value(pair) - v).abs() <= 2f64.powi(-48) * v.abs(), "{v}");
            assert!(pair[1].abs() <= pair[0].abs() * 2f32.powi(-24), "{v}");
        }
    }
}
