//! Clocks watched: the adapter's FMA probe measured again after the GPU rows flags
//! `clocks_drifted` when it fell beyond its own spread. A quiet run on this machine's adapter
//! (lavapipe in CI, whose probe varies by tens of per cent) is not flagged; a planted fall
//! (`GDBENCH_FAULT=clock-drift`) is, on the adapter and on each of its rows. Alone in its
//! binary, so no other test disturbs the quiet run.

mod common;

use common::{Run, gpu_or_skip};
use serde_json::Value;

/// A probed run of cpu-fused and two GPU solvers at N = 10 000; the report and the table.
fn run(fault: Option<&str>) -> (Value, String) {
    let mut run = Run::bare().args(&[
        "--n",
        "10000",
        "--epochs",
        "200",
        "--repeat",
        "3",
        "--solvers",
        "cpu-fused,gpu-fused,gpu-persistent",
    ]);
    if let Some(fault) = fault {
        run = run.env("GDBENCH_FAULT", fault);
    }
    let (report, code, err) = run.json();
    assert_eq!(code, 0, "{err}");
    let table = common::stdout(&run.output());
    (report, table)
}

/// Each adapter's clock check, which every adapter with a GPU row has.
fn checks(report: &Value) -> Vec<&Value> {
    let gpu = report["ceilings"]["gpu"].as_array().unwrap();
    assert!(!gpu.is_empty(), "no adapter probed: {}", report["ceilings"]);
    gpu.iter()
        .map(|g| {
            let check = &g["clock_check"];
            assert!(check.is_object(), "{} has no clock check: {g}", g["device"]);
            check
        })
        .collect()
}

#[test]
fn a_quiet_run_is_not_flagged_and_a_planted_fall_is() {
    if gpu_or_skip("clock drift").is_none() {
        return;
    }
    let (quiet, _) = run(None);
    let gpu = quiet["ceilings"]["gpu"].as_array().unwrap();
    for (check, g) in checks(&quiet).into_iter().zip(gpu) {
        assert_eq!(
            check["clocks_drifted"], false,
            "a quiet run flagged: {check}"
        );
        // Measured again, not the first figures read twice.
        let after = check["after_gflops"].as_array().unwrap();
        assert!(after.len() >= 3, "{check}");
        assert_ne!(after, g["gflops_f32_attempts"].as_array().unwrap(), "{g}");
    }
    for row in quiet["runs"].as_array().unwrap() {
        let notes = row["notes"].as_array().unwrap();
        assert!(!notes.iter().any(|n| n["kind"] == "clocks"), "{row}");
    }

    let (planted, table) = run(Some("clock-drift"));
    for check in checks(&planted) {
        assert_eq!(
            check["clocks_drifted"], true,
            "the planted fall passed: {check}"
        );
        assert!(check["change_pct"].as_f64().unwrap() < -50.0, "{check}");
    }
    for row in planted["runs"].as_array().unwrap() {
        let drifted = row["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "clocks" && n["text"].as_str().unwrap().contains("drifted"));
        // The GPU rows say so; the CPU row, on no adapter, does not.
        assert_eq!(drifted, row["kind"] == "gpu", "{row}");
    }
    assert!(table.contains("clocks drifted"), "{table}");
}
