//! `gdbench compare` on synthetic reports with known answers: the verdicts, the interval, the
//! exit codes of `--fail-if-slower`, the JSON and bad flags.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{gdbench, refuses, stderr, stdout};
use serde_json::{Value, json};

const EPOCHS: u64 = 1000;
const DEVICE: &str = "AMD EPYC 7B13 64-Core Processor";

/// Seven tight repeats (±0.3 %) in seconds per whole solve.
const TIGHT: [f64; 7] = [1.000, 1.002, 0.998, 1.001, 0.999, 1.003, 0.997];

/// Five repeats spread over 8 %: a quiet machine's noise.
const NOISY: [f64; 5] = [1.00, 1.05, 0.97, 1.02, 0.99];

fn scaled(seconds: &[f64], factor: f64) -> Vec<f64> {
    seconds.iter().map(|s| s * factor).collect()
}

/// An `ok` run of `solver` whose repeats are `seconds`, its median and epoch_us as gdbench
/// writes them.
fn run(solver: &str, seconds: &[f64]) -> Value {
    let mut sorted = seconds.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    let median = if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    };
    json!({
        "solver": solver, "device": DEVICE, "device_type": "cpu", "status": "ok",
        "epoch_us": median / EPOCHS as f64 * 1e6,
        "time_s": {"median": median, "min": sorted[0], "max": sorted[sorted.len() - 1],
                   "repeats": seconds},
    })
}

fn report(runs: &[Value]) -> Value {
    json!({"problem": {"n": 10000, "epochs": EPOCHS, "mu": 0.001, "source": "synthetic"},
           "runs": runs})
}

/// Two report files in a temporary folder (kept as long as the first value lives).
fn pair(a: &[Value], b: &[Value]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, runs: &[Value]| {
        let path = dir.path().join(name);
        std::fs::write(&path, report(runs).to_string()).unwrap();
        path
    };
    let (pa, pb) = (write("a.json", a), write("b.json", b));
    (dir, pa, pb)
}

fn compare(a: &Path, b: &Path, extra: &[&str]) -> Output {
    let args = [
        &["compare", a.to_str().unwrap(), b.to_str().unwrap()][..],
        extra,
    ]
    .concat();
    let out = gdbench(&args);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    out
}

/// `--format json`, parsed, and the exit code.
fn compare_json(a: &Path, b: &Path, extra: &[&str]) -> (Value, i32) {
    let out = compare(a, b, &[&["--format", "json"], extra].concat());
    let v = common::document_or(&stdout(&out), &stdout(&out));
    (v, out.status.code().unwrap())
}

fn row<'v>(v: &'v Value, solver: &str) -> &'v Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["solver"] == solver)
        .unwrap_or_else(|| panic!("no {solver} row in {v}"))
}

#[test]
fn a_ten_percent_slowdown_is_slower_and_fails_beyond_five_percent() {
    let mut slower = scaled(&TIGHT, 1.10);
    slower.rotate_left(3);
    let (_dir, a, b) = pair(&[run("cpu-fused", &TIGHT)], &[run("cpu-fused", &slower)]);
    let (v, code) = compare_json(&a, &b, &[]);
    assert_eq!(code, 0, "{v}");
    let r = row(&v, "cpu-fused");
    assert_eq!(r["verdict"], "slower", "{r}");
    let ratio = r["ratio"].as_f64().unwrap();
    assert!((ratio - 1.10).abs() < 1e-9, "{r}");
    let (lo, hi) = (
        r["ci95"][0].as_f64().unwrap(),
        r["ci95"][1].as_f64().unwrap(),
    );
    assert!(lo <= 1.10 && 1.10 <= hi, "the interval holds 1.10: {r}");
    assert!(lo > 1.0, "the interval excludes 1: {r}");
    assert!(hi - lo < 0.02, "tight repeats, a tight interval: {r}");

    let text = stdout(&compare(&a, &b, &[]));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("cpu-fused "))
        .unwrap_or_else(|| panic!("no cpu-fused row in\n{text}"));
    assert!(
        line.contains("1.100 [") && line.trim_end().ends_with("slower"),
        "{line}"
    );

    let out = compare(&a, &b, &["--fail-if-slower", "5"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cpu-fused") && stderr(&out).contains("slower"),
        "{}",
        stderr(&out)
    );
    let out = compare(&a, &b, &["--fail-if-slower", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The other way round, B is faster and nothing fails.
    let (v, code) = compare_json(&b, &a, &["--fail-if-slower", "0"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(row(&v, "cpu-fused")["verdict"], "faster", "{v}");
}

#[test]
fn the_same_distribution_twice_is_no_clear_change() {
    let mut shuffled = NOISY.to_vec();
    shuffled.reverse();
    shuffled.swap(0, 2);
    // A median 3 % slower, beyond the 2 % threshold, but within the repeats' 8 % noise.
    let mut shifted = scaled(&NOISY, 1.03);
    shifted.rotate_left(1);
    let (_dir, a, b) = pair(
        &[
            run("cpu-fused", &NOISY),
            run("cpu-threads", &NOISY),
            run("cpu-naive", &NOISY),
        ],
        &[
            run("cpu-fused", &NOISY),
            run("cpu-threads", &shuffled),
            run("cpu-naive", &shifted),
        ],
    );
    let (v, code) = compare_json(&a, &b, &["--fail-if-slower", "1"]);
    assert_eq!(code, 0, "{v}");
    for (solver, ratio) in [
        ("cpu-fused", 1.0),
        ("cpu-threads", 1.0),
        ("cpu-naive", 1.03),
    ] {
        let r = row(&v, solver);
        assert_eq!(r["verdict"], "no clear change", "{r}");
        assert!((r["ratio"].as_f64().unwrap() - ratio).abs() < 1e-9, "{r}");
        let (lo, hi) = (
            r["ci95"][0].as_f64().unwrap(),
            r["ci95"][1].as_f64().unwrap(),
        );
        assert!(
            lo < 0.99 && hi > 1.03,
            "the noise shows in the interval: {r}"
        );
    }
    let out = compare(&a, &b, &["--fail-if-slower", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).matches("no clear change").count(), 3);
}

#[test]
fn two_repeats_cannot_tell_and_never_fail() {
    let (_dir, a, b) = pair(
        &[run("cpu-fused", &TIGHT), run("cpu-naive", &[1.0, 1.0])],
        &[run("cpu-fused", &[3.0, 3.0]), run("cpu-naive", &TIGHT)],
    );
    let (v, code) = compare_json(&a, &b, &["--fail-if-slower", "0"]);
    assert_eq!(code, 0, "three times slower, but from two repeats: {v}");
    let fused = row(&v, "cpu-fused");
    assert_eq!(fused["verdict"], "cannot tell", "{fused}");
    assert_eq!(fused["caveat"], "B has only 2 repeats", "{fused}");
    assert!(
        fused["ratio"].is_null() && fused["ci95"].is_null(),
        "{fused}"
    );
    assert_eq!(row(&v, "cpu-naive")["caveat"], "A has only 2 repeats");
    let out = compare(&a, &b, &["--fail-if-slower", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("B has only 2 repeats  cannot tell"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_json_carries_rows_unmatched_warnings_and_threshold() {
    let mut failed = run("gpu-fused", &TIGHT);
    failed["status"] = json!("mismatch");
    let (dir, a, b) = pair(
        &[
            run("cpu-fused", &TIGHT),
            run("gpu-fused", &TIGHT),
            run("cpu-naive", &TIGHT),
        ],
        &[
            run("cpu-fused", &scaled(&TIGHT, 0.5)),
            failed,
            run("cpu-moments", &TIGHT),
        ],
    );
    // B's problem differs in N.
    let mut other: Value = serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    other["problem"]["n"] = json!(20000);
    std::fs::write(&b, other.to_string()).unwrap();
    let (v, code) = compare_json(&a, &b, &["--threshold", "5", "--different-problems"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["a"], a.to_str().unwrap());
    assert_eq!(v["b"], b.to_str().unwrap());
    assert_eq!(v["threshold"], 5.0);
    assert_eq!(v["resamples"], 10_000);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2, "{v}");
    let fused = row(&v, "cpu-fused");
    assert_eq!(fused["device"], DEVICE);
    let a_us = fused["a_us"].as_f64().unwrap();
    assert!(
        (a_us - 1000.0).abs() < 1e-9,
        "1 s over 1000 epochs: {fused}"
    );
    assert!(
        (fused["b_us"].as_f64().unwrap() - 500.0).abs() < 1e-9,
        "{fused}"
    );
    assert!(
        (fused["ratio"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{fused}"
    );
    assert_eq!(fused["ci95"].as_array().unwrap().len(), 2, "{fused}");
    assert_eq!(fused["verdict"], "faster");
    assert!(fused["caveat"].is_null(), "{fused}");
    let gpu = row(&v, "gpu-fused");
    assert_eq!(gpu["verdict"], "cannot tell");
    assert_eq!(gpu["caveat"], "B is mismatch");
    assert!(gpu["ratio"].is_null() && gpu["ci95"].is_null(), "{gpu}");
    assert_eq!(
        v["unmatched"],
        json!([
            format!("cpu-naive ({DEVICE}) only in A"),
            format!("cpu-moments ({DEVICE}) only in B")
        ])
    );
    assert_eq!(
        v["warnings"],
        json!(["the problems differ in n: A has 10000, B has 20000"])
    );
    drop(dir);
}

#[test]
fn bad_percentages_are_refused_in_one_line() {
    let (_dir, a, b) = pair(&[run("cpu-fused", &TIGHT)], &[run("cpu-fused", &TIGHT)]);
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    refuses(
        &["compare", a, b, "--threshold", "-1"],
        "invalid --threshold",
    );
    refuses(
        &["compare", a, b, "--fail-if-slower", "NaN"],
        "invalid --fail-if-slower",
    );
    refuses(
        &["compare", a, b, "--fail-if-slower", "-5"],
        "invalid --fail-if-slower",
    );
    refuses(&["compare", a, b, "--threshold", "two"], "--threshold");
    refuses(&["compare", a, b, "--format", "csv"], "--format");
}

#[test]
fn a_row_whose_kernels_changed_says_so_beside_its_verdict() {
    let with_hash = |solver: &str, seconds: &[f64], hash: &str| {
        let mut r = run(solver, seconds);
        r["kernel_hash"] = json!(hash);
        r
    };
    let slower = scaled(&TIGHT, 1.2);
    let (_dir, a, b) = pair(
        &[
            with_hash("gpu-fused", &TIGHT, "aaaa"),
            with_hash("gpu-batched", &TIGHT, "bbbb"),
            run("cpu-fused", &TIGHT),
        ],
        &[
            with_hash("gpu-fused", &slower, "cccc"),
            with_hash("gpu-batched", &slower, "bbbb"),
            run("cpu-fused", &slower),
        ],
    );
    let (v, _) = compare_json(&a, &b, &[]);
    assert_eq!(row(&v, "gpu-fused")["kernels_changed"], true, "{v}");
    for same in ["gpu-batched", "cpu-fused"] {
        assert_eq!(row(&v, same)["kernels_changed"], false, "{v}");
        assert_eq!(row(&v, same)["verdict"], "slower", "{v}");
    }
    let text = stdout(&compare(&a, &b, &[]));
    let line = |solver: &str| {
        text.lines()
            .find(|l| l.contains(solver))
            .unwrap_or_else(|| panic!("no {solver} line in {text}"))
            .to_string()
    };
    assert!(line("gpu-fused").contains("slower*"), "{text}");
    assert!(!line("gpu-batched").contains('*'), "{text}");
    assert!(
        text.contains("*: the row compiled different kernels in A and B"),
        "{text}"
    );
    // No legend line when no row's kernels changed.
    let (_dir, a, b) = pair(&[run("cpu-fused", &TIGHT)], &[run("cpu-fused", &slower)]);
    assert!(!stdout(&compare(&a, &b, &[])).contains("different kernels"));
}

/// `path`'s report with `edit` applied.
fn edit(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
}

#[test]
fn reports_of_different_problems_are_refused_unless_asked() {
    let changes = [
        ("n", json!(20000)),
        ("epochs", json!(10)),
        ("mu", json!(0.002)),
        ("data_sha256", json!("ff00")),
    ];
    for (field, value) in changes {
        let (_dir, a, b) = pair(&[run("cpu-fused", &TIGHT)], &[run("cpu-fused", &TIGHT)]);
        for path in [&a, &b] {
            edit(path, |r| r["problem"]["data_sha256"] = json!("aa11"));
        }
        edit(&b, |r| r["problem"][field] = value.clone());
        let out = compare(&a, &b, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{field}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{field}: A has")), "{err}");
        assert!(err.contains("--different-problems"), "{err}");
        assert!(stdout(&out).is_empty());
        let out = compare(&a, &b, &["--different-problems"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("the problems differ in {field}")),
            "{}",
            stdout(&out)
        );
    }
    // With both hashes equal, where the data came from does not matter (a file and its copy).
    let (_dir, a, b) = pair(&[run("cpu-fused", &TIGHT)], &[run("cpu-fused", &TIGHT)]);
    for path in [&a, &b] {
        edit(path, |r| r["problem"]["data_sha256"] = json!("aa11"));
    }
    edit(&b, |r| r["problem"]["source"] = json!("file"));
    assert_eq!(compare(&a, &b, &[]).status.code(), Some(0));
}

#[test]
fn two_machines_pair_by_solver_and_stand_side_by_side() {
    let on = |solver: &str, device: &str, factor: f64| {
        let mut r = run(solver, &scaled(&TIGHT, factor));
        r["device"] = json!(device);
        r
    };
    let (_dir, a, b) = pair(
        &[
            run("cpu-fused-f32", &TIGHT),
            on("gpu-fused", "NVIDIA H200 [vulkan]", 0.1),
        ],
        &[
            on("cpu-fused-f32", "Intel(R) Xeon(R) Processor", 2.0),
            on(
                "gpu-fused",
                "llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]",
                50.0,
            ),
        ],
    );
    let made = |version: &'static str, cpu: &'static str| {
        move |r: &mut Value| {
            r["provenance"] = json!({"gdbench_version": version, "git_commit": "0123456789abcdef",
                "git_dirty": false, "build": "release", "wgpu_version": "30.0.2",
                "command": ["gdbench"], "utc": "2026-12-01T10:00:00Z", "os": "linux",
                "kernel": "6.8.0"});
            r["machine"] = json!({"cpu": cpu, "threads": 16, "simd": "avx512", "arch": "x86_64",
                "adapters": []});
        }
    };
    edit(&a, made("0.1.0", DEVICE));
    edit(&b, made("0.2.0", "Intel(R) Xeon(R) Processor"));
    let (v, code) = compare_json(&a, &b, &[]);
    assert_eq!(code, 0, "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert_eq!(
        row(&v, "cpu-fused-f32")["b_device"],
        "Intel(R) Xeon(R) Processor"
    );
    assert_eq!(row(&v, "cpu-fused-f32")["verdict"], "slower");
    let gpu = row(&v, "gpu-fused");
    assert_eq!(gpu["device"], "NVIDIA H200 [vulkan]");
    assert!(
        (gpu["ratio"].as_f64().unwrap() - 500.0).abs() < 1e-6,
        "{gpu}"
    );
    assert!(v["unmatched"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["machines"]["b"]["provenance"]["gdbench_version"], "0.2.0");
    let text = stdout(&compare(&a, &b, &[]));
    for want in [
        "B device",
        "EPYC 7B13",
        "0.1.0 0123456789 release",
        "0.2.0",
        "linux 6.8.0",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let widest = text.lines().map(|l| l.trim_end().chars().count()).max();
    assert!(
        widest <= Some(gdbench::report::MAX_WIDTH),
        "{widest:?}: {text}"
    );
}
