//! Peer rows (`--peers`): the article's contestants on the same data, read back and validated.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Run, refuses};
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

fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["solver"] == name)
        .unwrap_or_else(|| panic!("no {name} row in {report}"))
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
