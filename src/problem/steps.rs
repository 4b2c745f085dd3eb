//! `--mu`: one step size, a comma-separated list, or a log-spaced range `LO..HI:K`.

use crate::error::{GdError, Result};

/// The most step sizes one run takes: every solver runs every one of them.
pub const MAX_STEPS: usize = 4096;

/// Parses `--mu`: `0.001`, `0.001,0.002,0.005` or `1e-4..1.0:37` (K values from LO to HI
/// inclusive, equally spaced in log). Every value finite and > 0, no value twice.
pub fn parse_steps(text: &str) -> Result<Vec<f64>> {
    let text = text.trim();
    let steps = match text.split_once("..") {
        Some((lo, rest)) => {
            let (hi, k) = rest.split_once(':').ok_or_else(|| {
                bad(format!(
                    "`{text}` is a range without a count: write LO..HI:K, e.g. 1e-4..1.0:37"
                ))
            })?;
            log_range(value(lo)?, value(hi)?, count(k)?)?
        }
        None => text.split(',').map(value).collect::<Result<Vec<f64>>>()?,
    };
    if steps.len() > MAX_STEPS {
        return Err(bad(format!(
            "{} step sizes: give at most {MAX_STEPS}",
            steps.len()
        )));
    }
    for (i, mu) in steps.iter().enumerate() {
        if steps[..i].contains(mu) {
            return Err(bad(format!("{mu} appears twice: give each step size once")));
        }
    }
    Ok(steps)
}

/// `k` values from `lo` to `hi` inclusive, equally spaced in log, the ends exact.
fn log_range(lo: f64, hi: f64, k: usize) -> Result<Vec<f64>> {
    if lo >= hi {
        return Err(bad(format!(
            "the range {lo}..{hi} is empty or reversed: LO must be below HI"
        )));
    }
    if k > MAX_STEPS {
        return Err(bad(format!("{k} step sizes: give at most {MAX_STEPS}")));
    }
    if k < 2 {
        return Err(bad(format!(
            "a range of {k} value(s) from {lo} to {hi}: give K ≥ 2, or one step size without `..`"
        )));
    }
    let (a, b) = (lo.ln(), hi.ln());
    let steps: Vec<f64> = (0..k)
        .map(|i| match i {
            0 => lo,
            i if i == k - 1 => hi,
            i => (a + (b - a) * i as f64 / (k - 1) as f64).exp(),
        })
        .collect();
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad(format!(
            "{k} values between {lo} and {hi} are too close to tell apart in f64: give fewer"
        )));
    }
    Ok(steps)
}

/// One step size: a finite number > 0.
fn value(text: &str) -> Result<f64> {
    let t = text.trim();
    let mu: f64 = t.parse().map_err(|_| {
        bad(if t.is_empty() {
            "an empty step size: write e.g. 0.001, 0.001,0.002 or 1e-4..1.0:37".into()
        } else {
            format!("`{t}` is not a number: write e.g. 0.001, 0.001,0.002 or 1e-4..1.0:37")
        })
    })?;
    checked_step(mu)
}

/// `mu` if it is a step size (finite, > 0), else the one error every path gives for it.
pub fn checked_step(mu: f64) -> Result<f64> {
    if !mu.is_finite() || mu <= 0.0 {
        return Err(bad(format!(
            "{mu} is not a step size: give a finite number > 0, e.g. 0.001"
        )));
    }
    Ok(mu)
}

/// A range's count K: a whole number.
fn count(text: &str) -> Result<usize> {
    let t = text.trim();
    t.parse().map_err(|_| {
        bad(format!(
            "`{t}` is not a count: K in LO..HI:K is a whole number ≥ 2, e.g. 1e-4..1.0:37"
        ))
    })
}

fn bad(problem: String) -> GdError {
    GdError::InvalidParameter {
        name: "--mu",
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_a_list_and_a_range() {
        assert_eq!(parse_steps("0.001").unwrap(), [0.001]);
        assert_eq!(
            parse_steps(" 0.001, 0.002,0.005 ").unwrap(),
            [0.001, 0.002, 0.005]
        );
        let r = parse_steps("1e-4..1.0:5").unwrap();
        assert_eq!(r.len(), 5);
        assert_eq!((r[0], r[4]), (1e-4, 1.0));
        for (got, want) in r.iter().zip([1e-4, 1e-3, 1e-2, 1e-1, 1.0]) {
            assert!((got / want - 1.0).abs() < 1e-14, "{got} vs {want}");
        }
        assert_eq!(parse_steps("1e-4..1.0:37").unwrap().len(), 37);
    }

    #[test]
    fn bad_lists_and_ranges_are_one_line_errors() {
        for (text, expected) in [
            ("0", "not a step size"),
            ("-0.1", "not a step size"),
            ("nan", "not a step size"),
            ("inf", "not a step size"),
            ("0.1,,0.2", "empty step size"),
            ("0.1,x", "`x` is not a number"),
            ("0.1,0.2,0.1", "appears twice"),
            ("1.0..1e-4:5", "LO must be below HI"),
            ("0.1..0.1:5", "LO must be below HI"),
            ("1e-4..1:0", "K ≥ 2"),
            ("1e-4..1:1", "K ≥ 2"),
            ("1e-4..1:-3", "not a count"),
            ("1e-4..1", "without a count"),
            ("1e-4..inf:3", "not a step size"),
            ("-1..1:3", "not a step size"),
            ("1e-4..1:5000", "at most 4096"),
            ("1e-4..1:18446744073709551615", "at most 4096"),
            ("1..1.0000000000000002:3", "too close"),
        ] {
            let err = parse_steps(text).unwrap_err().to_string();
            assert!(err.starts_with("invalid --mu"), "{text}: {err}");
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "{text}: {err}");
        }
    }
}
