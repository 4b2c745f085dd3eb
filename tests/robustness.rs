//! Bad input that must never panic, divergence as a result, Ctrl-C keeping what was measured, and
//! cpu-persistent's workers: one that panics costs its row, one that is parked costs nothing.

mod common;

use common::{gpu_or_skip, gpu_solvers, may_be_unavailable, refuses, row, synthetic};
use gdbench::Dataset;
use gdbench::gpu::GpuSettings;
use proptest::prelude::*;

fn load_bytes(name: &str, bytes: &[u8]) -> Result<Dataset, gdbench::GdError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Dataset::load(&path)
}

#[test]
fn an_npy_header_of_length_zero_is_refused_in_one_line() {
    // Found by `npy_with_a_valid_magic_never_panics`: npyz's parse error for an empty header is
    // six lines with a caret.
    let err = load_bytes("empty-header.npy", b"\x93NUMPY\x01\x00\x00\x00").unwrap_err();
    let text = err.to_string();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("unreadable .npy header"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Err(e) = load_bytes("random.csv", &bytes) {
            prop_assert_eq!(e.to_string().lines().count(), 1);
        }
    }

    #[test]
    fn csv_like_text_never_panics(text in "[0-9eE.,+\\-naif#x \n]{0,200}") {
        if let Err(e) = load_bytes("text.csv", text.as_bytes()) {
            prop_assert_eq!(e.to_string().lines().count(), 1);
        }
    }

    #[test]
    fn npy_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = load_bytes("random.npy", &bytes);
    }

    #[test]
    fn npy_with_a_valid_magic_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend(tail);
        if let Err(e) = load_bytes("magic.npy", &bytes) {
            prop_assert_eq!(e.to_string().lines().count(), 1);
        }
    }

    #[test]
    fn npy_headers_with_random_shapes_never_panic(rows in 0u64..5, cols in 0u64..4, descr in "[<>|][fiu][1248]", extra in 0usize..64) {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        while (10 + header.len() + 1) % 64 != 0 { header.push(' '); }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(std::iter::repeat_n(0x3fu8, extra));
        let _ = load_bytes("shaped.npy", &bytes);
    }
}

#[test]
fn gpu_divergence_is_reported_with_an_epoch() {
    let Some(ctx) = gpu_or_skip("GPU divergence") else {
        return;
    };
    let problem = synthetic(3_000, 0.1, 1, 10.0, 3_000);
    for id in gpu_solvers() {
        let solver = id.prepare_on(&problem, Some(&ctx), &GpuSettings::default());
        if let Err(gdbench::GdError::Unavailable { reason }) = &solver {
            // Only a missing feature excuses a solver (gpu-subgroup, gpu-fused-f64 on GL).
            assert!(
                may_be_unavailable(id, &ctx, reason) && !reason.contains("too large"),
                "{id}: {reason}"
            );
            continue;
        }
        let out = solver
            .and_then(|mut s| s.solve())
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let epoch = out
            .diverged_at
            .unwrap_or_else(|| panic!("{id} did not report divergence: {:?}", out.w));
        assert!((1..=3_000).contains(&epoch), "{id}: {epoch}");
    }
}

#[test]
fn ctrl_c_keeps_what_was_measured() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("partial.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .args([
            "--solvers",
            "cpu-fused,cpu-naive",
            "--n",
            "20000",
            "--epochs",
            "300000",
        ])
        .args([
            "--repeat",
            "3",
            "--warmup",
            "0",
            "--no-probe",
            "--format",
            "json",
            "--output",
        ])
        .arg(&output)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let report: serde_json::Value = common::document(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(report["interrupted"], true);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "every requested row is in the report");
    let fused = runs.iter().find(|r| r["solver"] == "cpu-fused").unwrap();
    assert_eq!(
        fused["status"], "ok",
        "the reference was measured before Ctrl-C: {fused}"
    );
    assert!(!fused["time_s"]["repeats"].as_array().unwrap().is_empty());
}

#[test]
fn bad_names_list_the_valid_ones() {
    refuses(
        &["--format", "xml"],
        "[possible values: table, json, csv, markdown]",
    );
    refuses(
        &["--shaders", "/no/such/dir", "--n", "100", "--epochs", "1"],
        "gdbench shaders dump DIR",
    );
}

#[test]
fn without_an_adapter_gpu_rows_are_unavailable_and_cpu_rows_still_run() {
    // No Vulkan driver file and only the Vulkan backend: wgpu finds no adapter at all.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .args([
            "--n",
            "500",
            "--epochs",
            "20",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--format",
            "json",
            "--no-probe",
        ])
        .env("WGPU_BACKEND", "vulkan")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "GPU solvers came in a group: {text}"
    );
    let report: serde_json::Value = common::document(&text);
    for run in report["runs"].as_array().unwrap() {
        if run["kind"] == "gpu" {
            assert_eq!(run["status"], "unavailable", "{run}");
            assert!(
                run["message"]
                    .as_str()
                    .unwrap()
                    .contains("mesa-vulkan-drivers"),
                "{run}"
            );
        } else {
            assert_eq!(run["status"], "ok", "{run}");
        }
    }
}

/// Runs gdbench with `args` and `GDBENCH_FAULT=fault`, failing the test if it has not ended
/// after a minute (a worker spinning forever would hang it): the parsed JSON and exit code.
fn run_with_fault(args: &[&str], fault: &str) -> (serde_json::Value, Option<i32>) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .args(args)
        .args(["--no-probe", "--warmup", "0", "--format", "json"])
        .env("GDBENCH_FAULT", fault)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{args:?} with {fault} still running after a minute: a worker hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let report = common::document_or(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
    );
    (report, out.status.code())
}

#[test]
fn a_cpu_persistent_worker_that_panics_ends_as_its_rows_error_and_the_run_goes_on() {
    // N = 10 000: two workers where there are two cores (one elsewhere, which panics alone).
    let args = ["--n", "10000", "--epochs", "2000", "--repeat", "2"];
    let args = [
        &args[..],
        &["--solvers", "cpu-fused,cpu-persistent,cpu-moments"],
    ]
    .concat();
    let (r, code) = run_with_fault(&args, "worker-panic");
    let persistent = row(&r, "cpu-persistent");
    if persistent["threads"] == 1 {
        // One core: the descent runs on the calling thread, with no worker to panic.
        eprintln!("SKIPPED: one core, so cpu-persistent has no worker thread to panic");
        assert_eq!(persistent["status"], "ok", "{persistent}");
        return;
    }
    assert_eq!(persistent["status"], "error", "{persistent}");
    let message = persistent["message"].as_str().unwrap();
    assert!(
        message.contains("worker thread panicked") && message.contains("worker-panic"),
        "{message}"
    );
    for solver in ["cpu-fused", "cpu-moments"] {
        assert_eq!(row(&r, solver)["status"], "ok", "{solver}");
    }
    assert_eq!(code, Some(4), "an error row fails the command");
}

#[test]
fn a_parked_cpu_persistent_worker_changes_nothing_in_the_answer() {
    // The last worker sleeps 20 ms at epoch 50: the others go on without it (for hundreds of
    // epochs, of the 4 000), and it rejoins from their posted weights (one step) or leaves the
    // team (a search). Either way the weights are bit for bit those of an undisturbed run.
    for mu in ["0.01", "0.001,0.01,0.1"] {
        let args = [
            "--n", "10000", "--epochs", "4000", "--repeat", "2", "--mu", mu,
        ];
        let solvers = ["cpu-persistent", "cpu-persistent-f32"];
        let list = solvers.join(",");
        let args = [&args[..], &["--solvers", &list]].concat();
        let (quiet, code) = run_with_fault(&args, "none");
        assert_eq!(code, Some(0), "{}", quiet["runs"]);
        let (parked, code) = run_with_fault(&args, "worker-park");
        assert_eq!(code, Some(0), "{}", parked["runs"]);
        for solver in solvers {
            let (quiet, parked) = (row(&quiet, solver), row(&parked, solver));
            assert_eq!(parked["status"], "ok", "{parked}");
            assert_eq!(quiet["descents"], parked["descents"], "{solver}, mu {mu}");
        }
    }
}
