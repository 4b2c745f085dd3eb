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
    let r: serde_json::Value = common::document(&stdout(&out));
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
    let r: serde_json::Value = common::document(&stdout(&out));
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

#[test]
fn a_folder_gdbench_would_not_run_is_refused_naming_the_known_files() {
    let refused = |dir: &std::path::Path, expected: &str| {
        let d = dir.to_str().unwrap();
        refuses(
            &[&["--solvers", "gpu-fused", "--shaders", d][..], RUN].concat(),
            expected,
        );
    };
    // A kernel under a name gdbench does not run: it would be ignored and the built-in timed.
    let dir = tempfile::tempdir().unwrap();
    let unrolled = dir.path().join("fused_unrolled.wgsl");
    std::fs::write(&unrolled, ShaderFile::Fused.builtin()).unwrap();
    refused(
        dir.path(),
        "fused_unrolled.wgsl is not a kernel file gdbench runs",
    );
    refused(dir.path(), "common.wgsl, error.wgsl, reduce.wgsl");
    // Beside a kernel it does run, too.
    std::fs::write(dir.path().join("fused.wgsl"), ShaderFile::Fused.builtin()).unwrap();
    refused(
        dir.path(),
        "fused_unrolled.wgsl is not a kernel file gdbench runs",
    );
    // An empty folder, and one with no .wgsl.
    let empty = tempfile::tempdir().unwrap();
    refused(empty.path(), "has no .wgsl file");
    std::fs::write(empty.path().join("README.md"), "notes\n").unwrap();
    refused(empty.path(), "has no .wgsl file");
    // The probe's kernel is not the experimenter's to replace.
    let probe = tempfile::tempdir().unwrap();
    std::fs::write(probe.path().join("probe.wgsl"), "").unwrap();
    refused(probe.path(), "probe's kernel cannot be replaced");
    // A full dump, every file identical to the built-in, is a valid folder.
    let full = tempfile::tempdir().unwrap();
    dump(full.path());
    assert!(ShaderSources::with_overrides(full.path()).is_ok());
}

/// SHA-256 of `text`, in hex, computed here apart from gdbench's own helper.
fn sha256(text: &str) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn every_gpu_row_names_and_hashes_the_kernels_it_compiled() {
    let Some(_ctx) = gpu_or_skip("kernel provenance") else {
        return;
    };
    let run = |extra: &[&str]| -> Vec<serde_json::Value> {
        let args = [
            RUN,
            &["--solvers", "cpu-fused,gpu-fused,gpu-multipass"],
            extra,
        ]
        .concat();
        let out = gdbench(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let r: serde_json::Value = common::document(&stdout(&out));
        r["runs"].as_array().unwrap().clone()
    };
    let builtin = run(&[]);
    let row = |runs: &[serde_json::Value], solver: &str| {
        runs.iter()
            .find(|r| r["solver"] == solver)
            .unwrap_or_else(|| panic!("no {solver} in {runs:?}"))
            .clone()
    };
    // A CPU row has no kernels.
    let cpu = row(&builtin, "cpu-fused");
    assert!(cpu.get("kernels").is_none() && cpu.get("kernel_hash").is_none());
    // gpu-fused compiles common.wgsl and fused.wgsl, gpu-multipass its three kernels.
    let expect = |files: &[ShaderFile]| {
        let texts: Vec<(&str, &str)> = [("common.wgsl", common_wgsl())]
            .into_iter()
            .chain(files.iter().map(|f| (f.file_name(), f.builtin())))
            .collect();
        let joined: String = texts
            .iter()
            .map(|(name, text)| format!("{name}\n{}\n", sha256(text)))
            .collect();
        (texts, sha256(&joined))
    };
    for (solver, files) in [
        ("gpu-fused", vec![ShaderFile::Fused]),
        (
            "gpu-multipass",
            vec![ShaderFile::Error, ShaderFile::Reduce, ShaderFile::Update],
        ),
    ] {
        let r = row(&builtin, solver);
        let (texts, hash) = expect(&files);
        let kernels = r["kernels"].as_array().unwrap();
        assert_eq!(kernels.len(), texts.len(), "{r}");
        for (k, (name, text)) in kernels.iter().zip(&texts) {
            assert_eq!(k["file"], *name, "{r}");
            assert_eq!(k["source"], "builtin", "{r}");
            assert_eq!(k["hash"], sha256(text), "{r}");
        }
        assert_eq!(r["kernel_hash"], hash, "{r}");
    }
    // A folder with an edited fused.wgsl and an unchanged copy of common.wgsl.
    let dir = tempfile::tempdir().unwrap();
    let edited = format!("{}\n// edited\n", ShaderFile::Fused.builtin());
    std::fs::write(dir.path().join("fused.wgsl"), &edited).unwrap();
    std::fs::write(dir.path().join("common.wgsl"), common_wgsl()).unwrap();
    let custom = run(&["--shaders", dir.path().to_str().unwrap()]);
    let fused = row(&custom, "gpu-fused");
    let message = fused["message"].as_str().unwrap();
    assert!(
        message.contains("custom shaders: fused.wgsl (common.wgsl unchanged)"),
        "{message}"
    );
    let kernels = fused["kernels"].as_array().unwrap();
    assert_eq!(
        kernels[1]["source"],
        dir.path().join("fused.wgsl").display().to_string()
    );
    assert_eq!(kernels[1]["hash"], sha256(&edited));
    assert_eq!(kernels[0]["hash"], sha256(common_wgsl()));
    assert_ne!(
        fused["kernel_hash"],
        row(&builtin, "gpu-fused")["kernel_hash"]
    );
    // gpu-multipass compiled no edited file: the same hash, and no edited file named.
    let multipass = row(&custom, "gpu-multipass");
    assert_eq!(
        multipass["kernel_hash"],
        row(&builtin, "gpu-multipass")["kernel_hash"]
    );
    let message = multipass["message"].as_str().unwrap();
    assert!(
        message.contains("custom shaders, all identical to the built-in: common.wgsl"),
        "{message}"
    );
}

/// The built-in common.wgsl, as the repository holds it.
fn common_wgsl() -> &'static str {
    include_str!("../shaders/common.wgsl")
}

/// A dumped folder with `fused.wgsl` edited from `from` to `to`, and `shaders check`'s report on
/// it (it must fail: exit 2, no panic).
fn check_edited(from: &str, to: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let path = dir.path().join("fused.wgsl");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen(from, to, 1);
    assert_ne!(edited, text, "the edit must apply");
    std::fs::write(&path, edited).unwrap();
    let out = gdbench(&["shaders", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (dir, path, stdout(&out))
}

/// The 1-based line of the first line of `path` containing `needle`.
fn line_of(path: &std::path::Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn check_refuses_what_the_run_would_reject_at_its_position() {
    // A renamed entry point: the run would not find `fused_errors`.
    let (_dir, path, report) = check_edited("fn fused_errors(", "fn fused_errs(");
    let at = format!("{}:{}:1:", path.display(), line_of(&path, "fn fused_errs("));
    assert!(report.contains(&at), "{report:?} lacks {at:?}");
    assert!(report.contains("no entry point `fused_errors`"), "{report}");
    assert!(
        report.contains("`fused_errs` here is not one it runs"),
        "{report}"
    );
    assert!(
        report.contains("the host runs fused_errors, finish"),
        "{report}"
    );
    // A hard-coded workgroup size: the host dispatches as if the kernel had WG invocations.
    let (_dir, path, report) = check_edited(
        "@compute @workgroup_size(WG)\nfn fused_errors(",
        "@compute @workgroup_size(64)\nfn fused_errors(",
    );
    let line = line_of(&path, "@workgroup_size(64)");
    let at = format!("{}:{line}:", path.display());
    assert!(report.contains(&at), "{report:?} lacks {at:?}");
    assert!(
        report.contains("fixed @workgroup_size(64, 1, 1)"),
        "{report}"
    );
    assert!(report.contains("write @workgroup_size(WG)"), "{report}");
    // A binding of another type than the host binds.
    let (_dir, _path, report) = check_edited(
        "var<storage, read> w_in: vec2<real>;",
        "var<storage, read> w_in: vec4<real>;",
    );
    assert!(
        report.contains("declares @group(0) @binding(2) var<storage, read> vec4<f32> where the host binds @group(0) @binding(2) var<storage, read> vec2<f32>"),
        "{report}"
    );
    // Every dumped kernel keeps the contract (the check is not refusing everything).
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let out = gdbench(&["shaders", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn a_type_error_shows_nagas_cause_under_a_caret() {
    // A vec2 added to a vec4: naga's validator says which operation and which types.
    let (_dir, path, report) = check_edited("acc_e = acc_e + ev;", "acc_e = acc_e + w_now;");
    let line = line_of(&path, "acc_e = acc_e + w_now;");
    let at = format!("{}:{line}:21: ", path.display());
    assert!(report.contains(&at), "{report:?} lacks {at:?}");
    // The cause, not only "Entry point fused_errors at Compute is invalid".
    assert!(
        report.contains("Entry point fused_errors at Compute is invalid: Expression"),
        "{report}"
    );
    assert!(report.contains("Operation Add can't work with"), "{report}");
    assert!(
        report.contains("size: Quad") && report.contains("size: Bi"),
        "{report}"
    );
    // The line quoted, a caret under the sum.
    assert!(
        report.contains(&format!("{line} |             acc_e = acc_e + w_now;")),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{} |                     ^^^^^^^^^^^^^",
            " ".repeat(line.to_string().len())
        )),
        "{report}"
    );
}

#[test]
fn variants_are_refused_unless_named_once_with_a_folder_and_a_gpu_solver() {
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let d = dir.path().to_str().unwrap();
    let spec = format!("mine={d}");
    fn run<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [RUN, extra].concat()
    }
    refuses(
        &run(&["--solvers", "gpu-fused", "--variant", d]),
        "is not NAME=DIR",
    );
    refuses(
        &run(&["--solvers", "gpu-fused", "--variant", &format!("a b={d}")]),
        "is not a variant name",
    );
    refuses(
        &run(&[
            "--solvers",
            "gpu-fused",
            "--variant",
            &spec,
            "--variant",
            &spec,
        ]),
        "`mine` names two variants",
    );
    refuses(
        &run(&["--solvers", "cpu-fused", "--variant", &spec]),
        "--solvers selects none",
    );
    let empty = tempfile::tempdir().unwrap();
    let bad = format!("mine={}", empty.path().display());
    refuses(
        &run(&["--solvers", "gpu-fused", "--variant", &bad]),
        "--variant",
    );
}

#[test]
fn a_variant_runs_beside_the_built_in_row_with_a_ratio_and_a_verdict() {
    let Some(_ctx) = gpu_or_skip("variants") else {
        return;
    };
    // An unchanged copy, and a finish that takes a step 1 % too large.
    let same = tempfile::tempdir().unwrap();
    dump(same.path());
    let step = tempfile::tempdir().unwrap();
    let fused = ShaderFile::Fused.builtin();
    let update = "        w = w + mu_of(params_finish) * (scale_of(params_finish) * total);";
    assert!(fused.contains(update));
    let wrong = fused.replace(
        update,
        "        w = w + 1.01 * mu_of(params_finish) * (scale_of(params_finish) * total);",
    );
    std::fs::write(step.path().join("fused.wgsl"), wrong).unwrap();
    let (same_spec, step_spec) = (
        format!("same={}", same.path().display()),
        format!("step={}", step.path().display()),
    );
    let variants = [
        "--solvers",
        "gpu-fused",
        "--variant",
        &same_spec,
        "--variant",
        &step_spec,
    ];
    let args = [RUN, &variants[..]].concat();
    let out = gdbench(&args);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the step variant is a mismatch: {}",
        stderr(&out)
    );
    let r: serde_json::Value = common::document(&stdout(&out));
    let names: Vec<&str> = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["solver"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gpu-fused", "gpu-fused@same", "gpu-fused@step"]);
    let row = |name: &str| common::row(&r, name).clone();
    let (builtin, same_row, step_row) = (
        row("gpu-fused"),
        row("gpu-fused@same"),
        row("gpu-fused@step"),
    );
    assert!(builtin.get("variant").is_none() && builtin.get("vs_builtin").is_none());
    // The unchanged copy: ok, the same kernels, and a ratio whose interval holds 1.
    assert_eq!(same_row["status"], "ok", "{same_row}");
    assert_eq!(same_row["variant"], "same");
    assert_eq!(same_row["kernel_hash"], builtin["kernel_hash"]);
    let vs = &same_row["vs_builtin"];
    assert!(vs["pairs"].as_u64().unwrap() >= 5, "{vs}");
    let (lo, hi) = (
        vs["ci95"][0].as_f64().unwrap(),
        vs["ci95"][1].as_f64().unwrap(),
    );
    assert!(
        lo <= vs["ratio"].as_f64().unwrap() && vs["ratio"].as_f64().unwrap() <= hi,
        "{vs}"
    );
    assert_eq!(vs["verdict"], "no clear change", "{vs}");
    let message = same_row["message"].as_str().unwrap();
    assert!(message.contains("against gpu-fused: "), "{message}");
    assert!(message.contains("interleaved pairs"), "{message}");
    // The planted step: a mismatch, caught, and no speed claimed for it.
    assert_eq!(step_row["status"], "mismatch", "{step_row}");
    assert!(step_row.get("vs_builtin").is_none(), "{step_row}");
    let message = step_row["message"].as_str().unwrap();
    assert!(
        message.contains("not compared with gpu-fused: its answer is mismatch"),
        "{message}"
    );
    assert_ne!(step_row["kernel_hash"], builtin["kernel_hash"]);
}

#[test]
fn a_variant_doing_sixteen_times_the_error_pass_is_called_slower() {
    let Some(_ctx) = gpu_or_skip("a slower variant") else {
        return;
    };
    // The error pass run sixteen times over (its sums reset each time): the same answer, slower.
    let fused = ShaderFile::Fused.builtin();
    let stride = "    for (var first = wid.x * WG; first < quads; first = first + stride) {";
    let sums = "    var acc = vec2<real>(dot(acc_e";
    assert!(fused.contains(stride) && fused.contains(sums));
    let slow = fused
        .replacen(
            stride,
            &format!(
                "    for (var rep = 0u; rep < 16u; rep = rep + 1u) {{\n    acc_e = vec4<real>(0.0);\n    acc_ex = vec4<real>(0.0);\n{stride}"
            ),
            1,
        )
        .replacen(sums, &format!("    }}\n{sums}"), 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fused.wgsl"), slow).unwrap();
    let spec = format!("slow={}", dir.path().display());
    let out = gdbench(&[
        "--n",
        "200000",
        "--epochs",
        "20",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--format",
        "json",
        "--no-probe",
        "--solvers",
        "gpu-fused",
        "--variant",
        &spec,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = common::document(&stdout(&out));
    let vs = &common::row(&r, "gpu-fused@slow")["vs_builtin"];
    assert_eq!(vs["verdict"], "slower", "{vs}");
    assert!(vs["ratio"].as_f64().unwrap() > 1.2, "{vs}");
    assert!(vs["ci95"][0].as_f64().unwrap() > 1.02, "{vs}");
}

/// Lines of a running `shaders watch`, one screen at a time.
struct Screens(std::sync::mpsc::Receiver<String>);

impl Screens {
    /// The next screen: its lines up to the one that ends it (a minute at most per line).
    fn next(&self) -> String {
        let mut screen = String::new();
        loop {
            let line = self
                .0
                .recv_timeout(std::time::Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("no screen end ({e}) after: {screen}"));
            screen += &line;
            screen += "\n";
            if line == gdbench::watch::SCREEN_END {
                return screen;
            }
        }
    }
}

#[test]
fn watch_shows_a_broken_then_a_fixed_kernel_one_screen_per_save() {
    use std::io::BufRead;
    let Some(_ctx) = gpu_or_skip("shaders watch") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    dump(dir.path());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .args(["shaders", "watch", dir.path().to_str().unwrap()])
        .args([
            "--solvers",
            "gpu-fused",
            "--n",
            "3000",
            "--epochs",
            "50",
            "--budget",
            "0.3",
        ])
        .env("XDG_RUNTIME_DIR", "/tmp")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let screens = Screens(rx);
    let first = screens.next();
    assert!(
        first.contains("── save 1: the folder as it is ──"),
        "{first}"
    );
    assert!(
        first.contains("no kernel differs from the built-in ones"),
        "{first}"
    );
    // A type error: the check's screen, with naga's cause at its position.
    let fused = dir.path().join("fused.wgsl");
    let text = std::fs::read_to_string(&fused).unwrap();
    std::fs::write(
        &fused,
        text.replace("acc_e = acc_e + ev;", "acc_e = acc_e + w_now;"),
    )
    .unwrap();
    let broken = screens.next();
    assert!(broken.contains("── save 2: fused.wgsl ──"), "{broken}");
    assert!(broken.contains("check: 1 failure"), "{broken}");
    assert!(broken.contains("Operation Add can't work with"), "{broken}");
    assert!(
        broken.contains(&format!("{}:", fused.display())),
        "{broken}"
    );
    // Fixed (an edit that keeps the arithmetic): validated and timed beside the built-in kernel
    // and the last save that passed.
    std::fs::write(&fused, format!("{text}\n// tuned\n")).unwrap();
    let fixed = screens.next();
    assert!(fixed.contains("── save 3: fused.wgsl ──"), "{fixed}");
    assert!(fixed.contains("check: ok"), "{fixed}");
    assert!(fixed.contains("gpu-fused@save3 on "), "{fixed}");
    assert!(fixed.contains(": ok, "), "{fixed}");
    assert!(fixed.contains("edge sizes ok"), "{fixed}");
    assert!(fixed.contains("against gpu-fused: "), "{fixed}");
    assert!(fixed.contains("against save 1: "), "{fixed}");
    // Ctrl-C ends it, with exit code 0.
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed().as_secs() < 60,
            "watch did not end on Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}
