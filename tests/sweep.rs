//! `gdbench sweep`: every point written, one plotted series per solver, bad options refused.

mod common;

use common::{Run, gdbench, refuses, stderr, stdout};

#[test]
fn a_small_sweep_writes_every_point_and_a_plot_with_a_series_per_solver() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sweep.json");
    let svg = dir.path().join("sweep.svg");
    let out = Run::small_sweep()
        .args(&["--output", json.to_str().unwrap()])
        .args(&["--plot", svg.to_str().unwrap()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = common::document(&std::fs::read_to_string(&json).unwrap());
    let points = report["points"].as_array().unwrap();
    let sizes: Vec<u64> = points.iter().map(|p| p["n"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [100, 1000, 10_000]);
    for p in points {
        assert!(p["epochs"].as_u64().unwrap() >= 3);
        let runs = p["runs"].as_array().unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r["solver"].as_str().unwrap()).collect();
        assert_eq!(names, ["cpu-fused", "cpu-moments"]);
        assert!(
            runs.iter()
                .all(|r| r["status"] == "ok" && r["epoch_us"].as_f64().unwrap() > 0.0)
        );
    }
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") || plot.contains("<svg"), "not SVG");
    for name in ["cpu-fused", "cpu-moments"] {
        assert!(
            plot.contains(&format!(">{name}<")) || plot.contains(name),
            "no legend for {name}"
        );
    }
    // One polyline per series in each panel, plus the legend's sample lines and the axes.
    assert!(
        plot.matches("<polyline").count() >= 4,
        "too few lines in the plot"
    );
    assert!(stdout(&out).contains("N = 10000"), "{}", stdout(&out));
}

#[test]
fn a_ladder_sweep_labels_each_rung_and_draws_its_accuracy() {
    // The CPU rungs (the GPU ones need an adapter; tests/gpu.rs runs them): f64, f32, f16.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("ladder.json");
    let svg = dir.path().join("ladder.svg");
    let out = gdbench(&[
        "sweep",
        "--no-probe",
        "--quiet",
        "--solvers",
        "cpu-fused,cpu-fused-f32,cpu-fused-f16",
        "--n-min",
        "100",
        "--n-max",
        "10000",
        "--points",
        "2",
        "--budget",
        "0.05",
        "--output",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plot = std::fs::read_to_string(&svg).unwrap();
    for label in [
        "cpu-fused [f64]",
        "cpu-fused-f32 [f32]",
        "cpu-fused-f16 [f16]",
        "Δ ref: relative distance from the f64 reference",
        "f64 and df64 tolerance, at most",
    ] {
        assert!(plot.contains(label), "{label} missing from the plot");
    }
    let report: serde_json::Value = common::document(&std::fs::read_to_string(&json).unwrap());
    for p in report["points"].as_array().unwrap() {
        let f16 = p["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["solver"] == "cpu-fused-f16")
            .unwrap();
        // What the accuracy panel adds to its Δ: the cost of rounding the data to f16.
        assert!(
            f16["data_rounding_rel_diff"].as_f64().unwrap() > 0.0,
            "{f16}"
        );
    }
}

#[test]
fn a_sweep_can_write_csv() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("sweep.csv");
    let out = Run::small_sweep()
        .args(&["--output", csv_path.to_str().unwrap()])
        .output();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .take(3)
        .map(String::from)
        .collect();
    assert_eq!(header, ["n", "epochs", "solver"]);
    assert_eq!(reader.records().count(), 6, "3 points × 2 solvers");
}

#[test]
fn bad_sweep_options_are_refused() {
    for (args, expected) in [
        (vec!["sweep", "--n-min", "1"], "need 2 ≤ --n-min ≤ --n-max"),
        (
            vec!["sweep", "--n-min", "1000", "--n-max", "10"],
            "need 2 ≤ --n-min ≤ --n-max",
        ),
        (vec!["sweep", "--budget", "0"], "invalid --budget"),
        (
            vec!["sweep", "--output", "sweep.txt"],
            "a sweep writes .json or .csv",
        ),
        (vec!["sweep", "--points", "0"], "--points"),
    ] {
        refuses(&args, expected);
    }
}

#[test]
fn a_sweep_over_models_runs_k_descents_per_point_and_plots_them_against_k() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("models.json");
    let svg = dir.path().join("models.svg");
    let out = gdbench(&[
        "sweep",
        "--over",
        "models",
        "--no-probe",
        "--quiet",
        "--solvers",
        "cpu-fused,cpu-fused-f32,gpu-fused",
        "--n",
        "3001",
        "--k-min",
        "1",
        "--k-max",
        "37",
        "--points",
        "3",
        "--budget",
        "0.05",
        "--output",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = common::document(&std::fs::read_to_string(&json).unwrap());
    let points = report["points"].as_array().unwrap();
    let ks: Vec<u64> = points.iter().map(|p| p["k"].as_u64().unwrap()).collect();
    assert_eq!(ks, [1, 6, 37]);
    for p in points {
        assert_eq!(p["n"], 3001);
        let k = p["k"].as_u64().unwrap() as usize;
        for r in p["runs"].as_array().unwrap() {
            if r["status"] == "unavailable" {
                // Only gpu-fused, and only without an adapter: under CI that is a failure.
                assert_eq!(r["solver"], "gpu-fused", "{r}");
                assert!(
                    r["message"].as_str().unwrap().contains("no GPU adapter"),
                    "{r}"
                );
                common::missing_in_ci_or_skip(
                    "gpu-fused in a sweep over models",
                    "install mesa-vulkan-drivers",
                );
                continue;
            }
            assert_eq!(r["status"], "ok", "{r}");
            let descents = r["descents"].as_array().unwrap();
            assert_eq!(descents.len(), k, "{r}");
            // K steps from --mu up to 90 % of the stability limit: every one converges.
            let mus: Vec<f64> = descents.iter().map(|d| d["mu"].as_f64().unwrap()).collect();
            assert_eq!(mus[0], 0.001);
            assert!(mus.windows(2).all(|w| w[0] < w[1]), "{mus:?}");
            assert!(descents.iter().all(|d| d["status"] == "ok"), "{r}");
            // GFLOP/s counts 6 flops per sample, step and epoch: all K steps, not one.
            let (us, gflop) = (
                r["epoch_us"].as_f64().unwrap(),
                r["gflop_s"].as_f64().unwrap(),
            );
            let flops = gflop * us * 1e3;
            let expected = 6.0 * 3001.0 * k as f64;
            assert!(
                (flops / expected - 1.0).abs() < 1e-9,
                "{flops} vs {expected}: {r}"
            );
        }
    }
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(
        plot.contains("K (step sizes run at once)"),
        "not a plot against K"
    );
    assert!(
        plot.contains("cpu-fused-f32"),
        "no legend for cpu-fused-f32"
    );
    // No probe, no ceilings: none is drawn rather than one made up.
    assert!(!plot.contains("ceiling:"), "a ceiling without a probe");
    let text = stdout(&out);
    assert!(text.contains("K = 37 at N = 3001"), "{text}");
    // The summary's time is per descent-epoch: the run's µs per epoch over K.
    let at_37 = text.split("K = 37 at N = 3001").nth(1).unwrap();
    let line = at_37.lines().find(|l| l.contains("cpu-fused ")).unwrap();
    let shown: f64 = line
        .split(" µs per descent-epoch")
        .next()
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap();
    let run = &points[2]["runs"][0];
    assert_eq!(run["solver"], "cpu-fused");
    let per_descent = run["epoch_us"].as_f64().unwrap() / 37.0;
    assert!(
        (shown / per_descent - 1.0).abs() < 0.01,
        "{shown} vs {per_descent}: {line}"
    );
}

#[test]
fn sweep_options_of_the_other_kind_and_bad_k_are_refused() {
    refuses(
        &["sweep", "--k-max", "64", "--no-probe"],
        "--k-max does not apply to --over n",
    );
    refuses(
        &["sweep", "--over", "models", "--n-min", "10", "--no-probe"],
        "--n-min does not apply to --over models",
    );
    refuses(
        &["sweep", "--over", "models", "--k-max", "5000", "--no-probe"],
        "need 1 ≤ --k-min ≤ --k-max ≤ 4096",
    );
    refuses(
        &["sweep", "--over", "models", "--k-min", "0", "--no-probe"],
        "need 1 ≤ --k-min",
    );
    refuses(
        &[
            "sweep",
            "--over",
            "models",
            "--n",
            "1000",
            "--mu",
            "0.9",
            "--no-probe",
        ],
        "leaves no room for a search",
    );
}

#[test]
fn a_sweep_exits_like_a_run_over_all_its_points() {
    // The reference nudged at every point: every point's cross-check fails, so the sweep exits 3.
    let out = Run::small_sweep()
        .env("GDBENCH_FAULT", "reference")
        .output();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // Nothing measured at any point (a GPU solver with no adapter, or one whose kernels do not
    // compile): 4, never 0.
    let dir = tempfile::tempdir().unwrap();
    let shaders = dir.path().to_str().unwrap();
    let dumped = gdbench(&["shaders", "dump", shaders]);
    assert_eq!(dumped.status.code(), Some(0), "{}", stderr(&dumped));
    let common_wgsl = dir.path().join("common.wgsl");
    let text = std::fs::read_to_string(&common_wgsl).unwrap();
    std::fs::write(&common_wgsl, text + "\nfn broken( {\n").unwrap();
    let out = gdbench(&[
        "sweep",
        "--no-probe",
        "--quiet",
        "--solvers",
        "gpu-fused",
        "--shaders",
        shaders,
        "--n-min",
        "100",
        "--n-max",
        "1000",
        "--points",
        "2",
        "--budget",
        "0.05",
    ]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn sweep_repeat_times_every_row_that_many_times() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("sweep.json");
    for repeat in [3, 7] {
        let out = Run::small_sweep()
            .args(&["--repeat", &repeat.to_string()])
            .args(&["--output", json.to_str().unwrap()])
            .output();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let report: serde_json::Value = common::document(&std::fs::read_to_string(&json).unwrap());
        for p in report["points"].as_array().unwrap() {
            for r in p["runs"].as_array().unwrap() {
                let repeats = r["time_s"]["repeats"].as_array().unwrap().len();
                assert_eq!(repeats, repeat, "{r}");
            }
        }
    }
    refuses(
        &["sweep", "--repeat", "0", "--solvers", "cpu-fused"],
        "--repeat",
    );
}

#[test]
fn a_variant_is_a_series_of_its_own_in_a_sweep() {
    if common::gpu_or_skip("a sweep with a variant").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kernels = dir.path().join("k");
    let out = gdbench(&["shaders", "dump", kernels.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (json, svg) = (dir.path().join("s.json"), dir.path().join("s.svg"));
    let spec = format!("same={}", kernels.display());
    let out = gdbench(&[
        "sweep",
        "--no-probe",
        "--quiet",
        "--solvers",
        "gpu-fused",
        "--variant",
        &spec,
        "--n-min",
        "1000",
        "--n-max",
        "4000",
        "--points",
        "2",
        "--budget",
        "0.1",
        "--output",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = common::document(&std::fs::read_to_string(&json).unwrap());
    for p in report["points"].as_array().unwrap() {
        let names: Vec<&str> = p["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["solver"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["gpu-fused", "gpu-fused@same"], "{p}");
    }
    assert!(
        std::fs::read_to_string(&svg)
            .unwrap()
            .contains("gpu-fused@same")
    );
}
