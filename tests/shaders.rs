//! Shader experiments: dump the kernels, check them with naga, run edited ones with --shaders.

mod common;

use common::{gdbench, gpu_or_skip, refuses, stderr, stdout};

const RUN: &[&str] = &[
    "--n",
    "3000",
    "--epochs",
    "50",
    "--repeat",
    "1",
    "--warmup",
    "0",
    "--format",
    "json",
    "--no-probe",
];

fn dump(dir: &std::path::Path) {
    let out = gdbench(&["shaders", "dump", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in [
        "common.wgsl",
        "error.wgsl",
        "reduce.wgsl",
        "update.wgsl",
        "fused.wgsl",
        "persistent.wgsl",
        "subgroup.wgsl",
    ] {
        assert!(dir.join(name).is_file(), "{name} not dumped");
        assert!(stdout(&out).contains(name));
    }
}

#[test]
fn dumped_kernels_pass_the_check() {
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let out = gdbench(&["shaders", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with("ok: "))
            .count(),
        6
    );
    assert!(
        !dir.path().join("probe.wgsl").exists(),
        "the probe's kernel is not for editing"
    );
}

#[test]
fn a_broken_kernel_is_reported_at_its_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let path = dir.path().join("update.wgsl");
    let text = std::fs::read_to_string(&path).unwrap();
    let (line, _) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("w = w + params.mu"))
        .unwrap();
    std::fs::write(
        &path,
        text.replace("w = w + params.mu", "w = w + undefined_thing + params.mu"),
    )
    .unwrap();
    let out = gdbench(&["shaders", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let expected = format!("{}:{}:", path.display(), line + 1);
    let report = stdout(&out);
    assert!(
        report.starts_with(&expected),
        "{report:?} should start with {expected:?}"
    );
    assert!(report.contains("undefined_thing"), "{report}");
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn check_refuses_what_is_not_there() {
    refuses(
        &["shaders", "check", "/no/such/kernels"],
        "neither a .wgsl file nor a folder",
    );
}

#[test]
fn an_edited_kernel_runs_in_the_table_and_a_broken_one_is_an_error_row() {
    let Some(_ctx) = gpu_or_skip("edited kernel") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let fused = dir.path().join("fused.wgsl");
    let text = std::fs::read_to_string(&fused).unwrap();
    let edited = text.replace(
        "acc = acc + vec2<f32>(ei, ei * xi);",
        "acc = acc + vec2<f32>(ei, ei * xi) * 1.0;",
    );
    assert_ne!(edited, text, "the edit must apply");
    std::fs::write(&fused, edited).unwrap();
    let shaders = dir.path().to_str().unwrap();
    let out = gdbench(&[RUN, &["--solvers", "gpu-fused", "--shaders", shaders]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let run = &r["runs"][0];
    assert_eq!(run["status"], "ok", "{run}");
    assert!(
        run["message"].as_str().unwrap().contains("custom shaders"),
        "{run}"
    );

    std::fs::write(&fused, "this is not wgsl\n").unwrap();
    let out = gdbench(&[RUN, &["--solvers", "gpu-fused", "--shaders", shaders]].concat());
    assert_eq!(out.status.code(), Some(4), "a named solver that cannot run");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let run = &r["runs"][0];
    assert_eq!(run["status"], "error", "{run}");
    let message = run["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{}:1:", fused.display())),
        "{message}"
    );
}
