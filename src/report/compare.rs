//! `gdbench compare A.json B.json`: per solver and device, the two per-epoch medians, their ratio,
//! and whether the repeats' spreads overlap (then the difference may be noise).

use serde_json::Value;

use super::table::styled_table;
use crate::error::{GdError, Result};

/// One row present in both reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    /// Solver (or peer) name.
    pub solver: String,
    /// Device name.
    pub device: String,
    /// µs per epoch in A and B (median), when both ran.
    pub a_us: Option<f64>,
    /// See `a_us`.
    pub b_us: Option<f64>,
    /// B over A: above 1, B is slower.
    pub ratio: Option<f64>,
    /// True when the [min, max] ranges per epoch overlap: the difference may be noise.
    pub overlap: bool,
    /// Why the two cannot be compared (a side that is not `ok`, or has fewer than
    /// [`MIN_REPEATS`] repeats), when they cannot.
    pub caveat: Option<String>,
}

/// Repeats each side needs before a difference in speed can be told from noise.
pub const MIN_REPEATS: usize = 3;

/// Why a run cannot take part in a comparison of speed, if it cannot.
fn unfit(run: &Value, which: &str) -> Option<String> {
    let status = run["status"].as_str().unwrap_or("unknown");
    if status != "ok" {
        let shown = match status {
            "unavailable" | "error" => format!("{status}: not run"),
            other => other.to_string(),
        };
        return Some(format!("{which} is {shown}"));
    }
    let repeats = run["time_s"]["repeats"].as_array().map_or(0, Vec::len);
    (repeats < MIN_REPEATS).then(|| {
        format!(
            "cannot tell: {which} has {repeats} repeat{} ({MIN_REPEATS} needed for a spread)",
            if repeats == 1 { "" } else { "s" }
        )
    })
}

/// The comparison of two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Rows in both, in A's order.
    pub rows: Vec<Compared>,
    /// `solver (device)` rows only one report has.
    pub unmatched: Vec<String>,
    /// Differences in the problem (N, epochs, mu, data) worth knowing.
    pub warnings: Vec<String>,
}

fn bad(which: &str, problem: &str) -> GdError {
    GdError::InvalidParameter {
        name: "compare",
        problem: format!("{which} is not a gdbench JSON report: {problem}"),
    }
}

/// Per-epoch median, min and max in µs of a run object, if it has times.
fn per_epoch(run: &Value) -> Option<(f64, f64, f64)> {
    let t = &run["time_s"];
    let (median, min, max) = (
        t["median"].as_f64()?,
        t["min"].as_f64()?,
        t["max"].as_f64()?,
    );
    let us = run["epoch_us"].as_f64()?;
    let scale = us / median;
    Some((us, min * scale, max * scale))
}

fn key(run: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&run["solver"]), text(&run["device"]))
}

/// Compares report `b` against report `a`.
pub fn compare(a: &Value, b: &Value) -> Result<Comparison> {
    let runs = |v: &Value, which: &str| -> Result<Vec<Value>> {
        v["runs"]
            .as_array()
            .cloned()
            .ok_or_else(|| bad(which, "it has no `runs` list"))
    };
    let (ra, rb) = (runs(a, "A")?, runs(b, "B")?);
    let mut warnings = Vec::new();
    for field in ["n", "epochs", "mu", "source", "data", "seed", "sigma"] {
        let (x, y) = (&a["problem"][field], &b["problem"][field]);
        if x != y {
            warnings.push(format!(
                "the problems differ in {field}: A has {x}, B has {y}"
            ));
        }
    }
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for run in &ra {
        let k = key(run);
        match rb.iter().find(|r| key(r) == k) {
            Some(other) => {
                let (pa, pb) = (per_epoch(run), per_epoch(other));
                let caveat = unfit(run, "A").or_else(|| unfit(other, "B"));
                rows.push(Compared {
                    solver: k.0,
                    device: k.1,
                    a_us: pa.map(|p| p.0),
                    b_us: pb.map(|p| p.0),
                    ratio: pa
                        .zip(pb)
                        .filter(|_| caveat.is_none())
                        .map(|(x, y)| y.0 / x.0),
                    overlap: pa.zip(pb).is_some_and(|(x, y)| x.1 <= y.2 && y.1 <= x.2),
                    caveat,
                });
            }
            None => unmatched.push(format!("{} ({}) only in A", k.0, k.1)),
        }
    }
    for run in &rb {
        let k = key(run);
        if !ra.iter().any(|r| key(r) == k) {
            unmatched.push(format!("{} ({}) only in B", k.0, k.1));
        }
    }
    Ok(Comparison {
        rows,
        unmatched,
        warnings,
    })
}

/// The comparison as a table with its notes.
pub fn render_comparison(c: &Comparison, a_name: &str, b_name: &str) -> String {
    let mut table = styled_table(
        &[
            "solver",
            "device",
            "A µs/epoch",
            "B µs/epoch",
            "B / A",
            "note",
        ],
        &[2, 3, 4],
    );
    let num = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "–".to_string(), f);
    for r in &c.rows {
        let note = match (&r.caveat, r.ratio) {
            (Some(caveat), _) => caveat.clone(),
            (None, None) => "not timed in both".to_string(),
            (None, Some(_)) if r.overlap => "spreads overlap: may be noise".to_string(),
            (None, Some(x)) if x > 1.0 => format!("B {:.1}× slower", x),
            (None, Some(x)) => format!("B {:.1}× faster", 1.0 / x),
        };
        table.add_row([
            r.solver.clone(),
            r.device.clone(),
            num(r.a_us, &|v| format!("{v:.3}")),
            num(r.b_us, &|v| format!("{v:.3}")),
            num(r.ratio, &|v| format!("{v:.3}")),
            note,
        ]);
    }
    let mut out = format!("A: {a_name}\nB: {b_name}\n\n{table}\n");
    for line in c.warnings.iter().chain(&c.unmatched) {
        out += &format!("  {line}\n");
    }
    out
}

/// Reads and parses a report file for `compare`.
pub fn read_report(path: &std::path::Path, which: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| GdError::InvalidParameter {
        name: "compare",
        problem: format!("cannot read {} ({which}): {e}", path.display()),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(which, &format!("{e}")))?;
    if value.get("runs").is_none() {
        return Err(bad(which, "it has no `runs` list"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(n: u64, runs: Value) -> Value {
        json!({"problem": {"n": n, "epochs": 10, "mu": 0.001}, "runs": runs})
    }

    fn run(solver: &str, us: f64, min: f64, max: f64) -> Value {
        // 10 epochs: the medians and extremes in seconds are 10 × µs × 1e-6.
        json!({"solver": solver, "device": "cpu", "epoch_us": us, "status": "ok",
               "time_s": {"median": us * 1e-5, "min": min * 1e-5, "max": max * 1e-5,
                          "repeats": [0.1, 0.1, 0.1]}})
    }

    #[test]
    fn ratios_overlaps_and_unmatched_rows() {
        let a = report(
            100,
            json!([
                run("x", 10.0, 9.0, 11.0),
                run("y", 10.0, 9.9, 10.1),
                run("a-only", 1.0, 1.0, 1.0)
            ]),
        );
        let b = report(
            200,
            json!([
                run("x", 10.5, 10.0, 12.0),
                run("y", 5.0, 4.9, 5.1),
                run("b-only", 1.0, 1.0, 1.0)
            ]),
        );
        let c = compare(&a, &b).unwrap();
        assert_eq!(c.rows.len(), 2);
        assert!(c.rows[0].overlap && (c.rows[0].ratio.unwrap() - 1.05).abs() < 1e-12);
        assert!(!c.rows[1].overlap && (c.rows[1].ratio.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(
            c.unmatched,
            ["a-only (cpu) only in A", "b-only (cpu) only in B"]
        );
        assert_eq!(
            c.warnings,
            ["the problems differ in n: A has 100, B has 200"]
        );
        let text = render_comparison(&c, "a.json", "b.json");
        assert!(
            text.contains("spreads overlap") && text.contains("B 2.0× faster"),
            "{text}"
        );
    }

    #[test]
    fn rows_that_failed_or_have_no_spread_get_no_speed_verdict() {
        let mut mismatch = run("x", 5.0, 4.9, 5.1);
        mismatch["status"] = json!("mismatch");
        let mut once = run("y", 5.0, 5.0, 5.0);
        once["time_s"]["repeats"] = json!([0.1]);
        let mut missing = run("z", 5.0, 5.0, 5.0);
        missing["status"] = json!("unavailable");
        let a = report(
            100,
            json!([
                run("x", 10.0, 9.9, 10.1),
                run("y", 10.0, 9.9, 10.1),
                run("z", 1.0, 1.0, 1.0)
            ]),
        );
        let b = report(100, json!([mismatch, once, missing]));
        let c = compare(&a, &b).unwrap();
        assert!(c.rows.iter().all(|r| r.ratio.is_none()), "{c:?}");
        let text = render_comparison(&c, "a.json", "b.json");
        assert!(text.contains("B is mismatch"), "{text}");
        assert!(text.contains("cannot tell: B has 1 repeat"), "{text}");
        assert!(text.contains("B is unavailable: not run"), "{text}");
        assert!(
            !text.contains("faster") && !text.contains("slower"),
            "{text}"
        );
    }
}
