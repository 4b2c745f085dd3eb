//! Shader experiments: dump the kernels, check them with naga, run edited ones with --shaders.

mod common;

use common::{gdbench, gpu_or_skip, refuses, stderr, stdout};
use gdbench::gpu::shaders::{ShaderFile, ShaderSources};
use gdbench::gpu::translate::{Target, translate};

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
        "df64.wgsl",
        "search.wgsl",
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
        ShaderFile::ALL.len()
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
        "acc = acc + vec2<real>(ei, ei * xi);",
        "acc = acc + vec2<real>(ei, ei * xi) * 1.0;",
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

#[test]
fn every_kernel_translates_for_every_platform() {
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let out = gdbench(&[
        "shaders",
        "check",
        "--targets",
        "spirv,msl,hlsl,glsl",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        ShaderFile::ALL.len(),
        "one line per kernel file: {lines:?}"
    );
    for line in lines {
        assert!(
            line.starts_with("ok: ") && line.ends_with(".wgsl (spirv, msl, hlsl, glsl)"),
            "{line}"
        );
    }
    refuses(
        &["shaders", "check", "--targets", "spirv,ptx", "."],
        "unknown target `ptx`",
    );
}

#[test]
fn a_kernel_one_platform_cannot_take_fails_there_with_its_position() {
    // Valid WGSL (f64 is a naga capability) that GLSL ES 3.1, wgpu's GL, cannot express.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.wgsl");
    let kernel = "@group(0) @binding(0) var<storage, read_write> out: array<f64>;\n\n\
                  @compute @workgroup_size(WG)\nfn wide(@builtin(local_invocation_index) lid: u32) {\n    \
                  out[lid] = f64(lid) * 0.5lf;\n}\n";
    std::fs::write(&path, kernel).unwrap();
    let file = path.to_str().unwrap();
    let out = gdbench(&["shaders", "check", "--targets", "all", file]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let text = stdout(&out);
    // MSL has no f64 either (naga's back end panics on it: caught, reported like the others).
    for target in ["msl", "glsl"] {
        assert!(text.contains(&format!("{file}:4:1: {target}: ")), "{text}");
    }
    assert!(!text.contains(": spirv: "), "SPIR-V has f64: {text}");
    // Without --targets only naga's validation runs, which accepts it.
    let out = gdbench(&["shaders", "check", file]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Runs `tool args… file` on each translation of every built-in kernel for `target`, written to
/// a file named with `extension`; the tool must accept every one.
fn external_validator(target: Target, tool: &str, args: &[&str], extension: &str) {
    if std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_err()
    {
        common::missing_in_ci_or_skip(
            &format!("{tool} is not on PATH"),
            "apt-get install spirv-tools glslang-tools",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for file in ShaderFile::ALL.into_iter().chain([ShaderFile::Probe]) {
        let a = ShaderSources::builtin().assemble(file).unwrap();
        for t in translate(&a, target).unwrap_or_else(|e| panic!("{e}")) {
            let name = format!(
                "{}-{}-{}.{extension}",
                file.file_name(),
                t.entry,
                t.constants.replace([',', '='], "_")
            );
            let path = dir.path().join(name);
            std::fs::write(&path, &t.code).unwrap();
            let out = std::process::Command::new(tool)
                .args(args)
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{tool} rejects {}: {}{}",
                path.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} translations checked");
}

#[test]
fn spirv_val_accepts_every_kernels_spirv() {
    external_validator(
        Target::Spirv,
        "spirv-val",
        &["--target-env", "vulkan1.1"],
        "spv",
    );
}

#[test]
fn glslang_accepts_every_kernels_glsl() {
    external_validator(Target::Glsl, "glslangValidator", &[], "comp");
}
