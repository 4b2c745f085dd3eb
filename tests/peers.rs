//! Peer rows (`--peers`): the article's contestants on the same data, read back and validated.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Run, refuses, row};
use serde_json::Value;

/// An executable shell script standing in for the interpreter.
fn fake_python(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("python");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The small problem with `extra`, as JSON: report, exit code, stderr.
fn run(extra: &[&str]) -> (Value, i32, String) {
    Run::small().args(extra).json()
}

/// The numpy peer beside cpu-fused, on the interpreter `python`.
fn numpy_peer_args(python: &str) -> [&str; 6] {
    [
        "--solvers",
        "cpu-fused",
        "--peers",
        "numpy",
        "--python",
        python,
    ]
}

#[test]
fn python_and_numpy_agree_with_cpu_fused() {
    if !common::numpy_or_skip("python and numpy peers") {
        return;
    }
    let (r, code, err) = run(&["--solvers", "cpu-fused", "--peers", "numpy,python"]);
    assert_eq!(code, 0, "{err}");
    let reference = r["reference"]["w"].as_array().unwrap().clone();
    for name in ["python", "numpy"] {
        let peer = row(&r, name);
        assert_eq!(peer["status"], "ok", "{peer}");
        assert_eq!(peer["precision"], "f64");
        assert_eq!(peer["device_type"], "cpu");
        assert!(peer["library"].as_str().unwrap().len() > 3, "{peer}");
        for (got, want) in peer["w"].as_array().unwrap().iter().zip(&reference) {
            let (got, want) = (got.as_f64().unwrap(), want.as_f64().unwrap());
            assert!(
                (got - want).abs() <= 1e-12 * want.abs(),
                "{name}: {got} vs {want}"
            );
        }
        assert_eq!(peer["time_s"]["repeats"].as_array().unwrap().len(), 2);
        assert!(peer["epoch_us"].as_f64().unwrap() > 0.0);
        // The spot check ran (untimed, as the first call) and agrees.
        assert_eq!(peer["spot_check"]["status"], "ok", "{peer}");
        assert_eq!(peer["spot_check"]["epochs"], 8, "{peer}");
    }
}

/// Whether `python3` can import `module`.
fn importable(module: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn tensorflow_torch_and_jax_peers_run_and_validate_where_installed() {
    if !common::numpy_or_skip("optional peers") {
        return;
    }
    for (peer, module, rows) in [
        (
            "tensorflow",
            "tensorflow",
            &["tensorflow-v1", "tensorflow"][..],
        ),
        ("torch", "torch", &["torch"][..]),
        ("jax", "jax", &["jax"][..]),
    ] {
        if !importable(module) {
            // Not installed by CI (each is hundreds of MB): skipped loudly, never silently passed.
            let banner = format!(
                "\n!!!!!!!! SKIPPED the {peer} peer: python3 cannot import {module} (pip install {module} to run it) !!!!!!!!\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
            continue;
        }
        let (r, code, err) = run(&["--solvers", "cpu-fused", "--peers", peer]);
        assert_eq!(code, 0, "{peer}: {err}");
        for name in rows {
            let row = row(&r, name);
            assert_eq!(row["status"], "ok", "{row}");
            assert_eq!(row["precision"], "f32", "{row}");
            assert!(row["max_rel_diff"].as_f64().unwrap() <= row["tolerance"].as_f64().unwrap());
            assert_eq!(row["spot_check"]["status"], "ok", "{row}");
            // Compilation, tracing and the first call are setup, never in the timed repeat.
            assert!(row["prepare_s"].as_f64().unwrap() > 0.0, "{row}");
            assert_eq!(row["time_s"]["repeats"].as_array().unwrap().len(), 2);
        }
    }
}

#[test]
fn a_missing_module_is_an_unavailable_row_with_the_pip_hint() {
    let dir = tempfile::tempdir().unwrap();
    // `-S` drops site-packages: numpy cannot be imported, whatever is installed.
    let python = fake_python(dir.path(), "exec python3 -S \"$@\"");
    let (r, code, err) = run(&[
        "--solvers",
        "cpu-fused",
        "--peers",
        "all",
        "--python",
        python.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "peers from `all` may be unavailable: {err}");
    for name in ["python", "numpy", "tensorflow", "torch", "jax"] {
        let peer = row(&r, name);
        assert_eq!(peer["status"], "unavailable", "{peer}");
        assert!(
            peer["message"]
                .as_str()
                .unwrap()
                .contains("pip install numpy"),
            "{peer}"
        );
    }
    let (_, code, _) = run(&numpy_peer_args(python.to_str().unwrap()));
    assert_eq!(code, 4, "a named peer that cannot run fails the command");
}

#[test]
fn a_failing_interpreter_is_an_error_row_with_its_last_stderr_line() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(
        dir.path(),
        "echo 'starting' >&2; echo 'Fatal: the interpreter broke' >&2; exit 3",
    );
    let (r, code, err) = run(&numpy_peer_args(python.to_str().unwrap()));
    assert_eq!(code, 4, "{err}");
    let peer = row(&r, "numpy");
    assert_eq!(peer["status"], "error", "{peer}");
    assert_eq!(peer["message"], "Fatal: the interpreter broke");
}

#[test]
fn a_bad_python_path_is_a_clear_error() {
    let run = Run::small().args(&numpy_peer_args("/no/such/python3"));
    refuses(
        &run.arg_list(),
        "invalid --python: cannot run /no/such/python3",
    );
}

#[test]
fn unknown_peers_are_refused() {
    refuses(
        &["--peers", "matlab", "--n", "100", "--epochs", "1"],
        "unknown peer `matlab`: choose from python, numpy, tensorflow, torch, jax, all",
    );
}

/// A step-size search whose last step diverges: x spans [0, 2], so 2/λ_max ≈ 0.46 and the steps
/// 1e-3 .. 1.5 (5, log-spaced) end with one beyond it.
const SEARCH: [&str; 2] = ["--mu", "1e-3..1.5:5"];

fn descents(row: &Value) -> &Vec<Value> {
    row["descents"]
        .as_array()
        .unwrap_or_else(|| panic!("no descents in {row}"))
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

#[test]
fn peers_run_a_step_size_search_judged_step_by_step() {
    if !common::numpy_or_skip("peers on a step-size search") {
        return;
    }
    let (r, code, err) = run(&[
        "--solvers",
        "cpu",
        SEARCH[0],
        SEARCH[1],
        "--peers",
        "numpy,python",
    ]);
    assert_eq!(code, 0, "{err}");
    let mus = f64s(&r["problem"]["mu"]);
    assert_eq!(mus.len(), 5, "{}", r["problem"]);
    // Which steps diverge, from the CPU rows: every one of them agrees, and at least one step
    // converges and one diverges, or the search tests nothing.
    let reference = descents(row(&r, "cpu-fused"));
    let diverges: Vec<bool> = reference
        .iter()
        .map(|d| d["status"] == "diverged")
        .collect();
    assert!(
        diverges.contains(&true) && diverges.contains(&false),
        "{reference:?}"
    );
    for cpu in r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "cpu")
    {
        let seen: Vec<bool> = descents(cpu)
            .iter()
            .map(|d| d["status"] == "diverged")
            .collect();
        assert_eq!(seen, diverges, "{}", cpu["solver"]);
    }
    for name in ["python", "numpy"] {
        let peer = row(&r, name);
        assert_eq!(peer["status"], "ok", "{peer}");
        let steps = descents(peer);
        assert_eq!(steps.len(), 5, "{name}: {peer}");
        for (i, (d, want)) in steps.iter().zip(reference).enumerate() {
            assert_eq!(d["mu"].as_f64(), Some(mus[i]), "{name} step {i}: {d}");
            if diverges[i] {
                assert_eq!(d["status"], "diverged", "{name} step {i}: {d}");
                continue;
            }
            assert_eq!(d["status"], "ok", "{name} step {i}: {d}");
            let rel = d["max_rel_diff"].as_f64().unwrap();
            assert!(rel <= 1e-12, "{name} step {i}: Δ ref {rel}");
            let (got, want) = (f64s(&d["w"]), f64s(&want["w"]));
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() <= 1e-12 * scale,
                    "{name} step {i}: {g} vs {w}"
                );
            }
        }
        // A search's time per descent is its solve over the steps, as for the solvers.
        let median = peer["time_s"]["median"].as_f64().unwrap();
        let per = peer["descent_s"].as_f64().unwrap();
        assert!(
            (per * 5.0 / median - 1.0).abs() < 1e-12,
            "{per} × 5 vs {median}"
        );
    }
}

/// The numpy peer on the search, its report rewritten on the way by `edit` (Python code that
/// changes `r`, the row as a dict) before gdbench reads it.
fn doctored_numpy_search(edit: &str) -> (Value, i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let filter = dir.path().join("edit.py");
    std::fs::write(
        &filter,
        format!(
            "import json, sys\nfor line in sys.stdin:\n    r = json.loads(line)\n    if r.get('ws'):\n        {edit}\n    print(json.dumps(r), flush=True)\n"
        ),
    )
    .unwrap();
    let python = fake_python(
        dir.path(),
        &format!("python3 \"$@\" | python3 {}", filter.display()),
    );
    run(&[&numpy_peer_args(python.to_str().unwrap())[..], &SEARCH[..]].concat())
}

#[test]
fn a_peer_search_with_a_wrong_step_is_a_mismatch() {
    if !common::numpy_or_skip("planted faults in a peer's search") {
        return;
    }
    // The third step's w0 off by 1 %: that step, and so the row, mismatch; the others stand.
    let (r, code, err) = doctored_numpy_search("r['ws'][2][0] *= 1.01");
    assert_eq!(code, 3, "a mismatch exits 3: {err}");
    let peer = row(&r, "numpy");
    assert_eq!(peer["status"], "mismatch", "{peer}");
    let statuses: Vec<&Value> = descents(peer).iter().map(|d| &d["status"]).collect();
    assert_eq!(
        statuses,
        ["ok", "ok", "mismatch", "ok", "diverged"],
        "{peer}"
    );
    let message = peer["message"].as_str().unwrap();
    assert!(
        message.contains("1 of 5 descents mismatch; at mu = "),
        "{message}"
    );

    // The first two steps' weights swapped: both mismatch.
    let (r, code, err) = doctored_numpy_search("r['ws'][0], r['ws'][1] = r['ws'][1], r['ws'][0]");
    assert_eq!(code, 3, "{err}");
    let peer = row(&r, "numpy");
    assert_eq!(peer["status"], "mismatch", "{peer} {err}");
    let statuses: Vec<&Value> = descents(peer).iter().map(|d| &d["status"]).collect();
    assert_eq!(statuses[..2], ["mismatch", "mismatch"], "{peer}");
}

#[test]
fn a_peer_search_reads_null_weights_as_diverged_and_refuses_a_short_list() {
    if !common::numpy_or_skip("a peer's search as JSON") {
        return;
    }
    // Weights that overflowed arrive as null: that step diverged, as expected beyond 2/λ_max.
    let (r, code, err) = doctored_numpy_search("r['ws'][4] = [None, None]");
    assert_eq!(code, 0, "{err}");
    let peer = row(&r, "numpy");
    assert_eq!(peer["status"], "ok", "{peer}");
    assert_eq!(descents(peer)[4]["status"], "diverged", "{peer}");
    // The same null on a step that converges is a fault.
    let (r, code, _) = doctored_numpy_search("r['ws'][1] = [None, None]");
    assert_eq!(code, 3);
    assert_eq!(descents(row(&r, "numpy"))[1]["status"], "mismatch");
    // One pair short: not judged at all, an error row (and a named peer's error fails the run).
    let (r, code, err) = doctored_numpy_search("r['ws'].pop()");
    assert_eq!(code, 4, "{err}");
    let peer = row(&r, "numpy");
    assert_eq!(peer["status"], "error", "{peer}");
    assert_eq!(
        peer["message"],
        "the peer reported 4 pair(s) of final weights for 5 step size(s)"
    );
}
