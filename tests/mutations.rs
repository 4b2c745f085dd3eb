//! Bugs planted in the built-in kernels through `--shaders`, each of which validation must catch:
//! a step 1 % too large, the last samples skipped, the scalar tail dropped, a grid stride that
//! skips sweeps, and a wrong step that a converged long run hides but the spot check does not. Every one must make its rows `mismatch` and exit 3.

mod common;

use common::{gdbench, gpu_or_skip, row, stderr, stdout};
use serde_json::Value;

/// The article's size, one timed repeat.
const ARTICLE: &[&str] = &[
    "--n",
    "10000",
    "--epochs",
    "10000",
    "--mu",
    "0.001",
    "--repeat",
    "1",
    "--warmup",
    "0",
    "--format",
    "json",
    "--no-probe",
];

/// gpu-persistent's step 1 % too large in its subgroup kernel (what it runs with SUBGROUP).
const PERSISTENT_SUBGROUP_STEP: (&str, &str, &str) = (
    "subgroup.wgsl",
    "w_now = w_now + params_persistent.mu * (params_persistent.scale * total);",
    "w_now = w_now + 1.01 * params_persistent.mu * (params_persistent.scale * total);",
);

/// Dumps the built-in kernels into a new folder and applies `edits` (file, from, to) to them;
/// every edit must change its file.
fn mutated(edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = gdbench(&["shaders", "dump", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (file, from, to) in edits {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replace(from, to);
        assert_ne!(edited, text, "the edit of {file} must apply");
        std::fs::write(&path, edited).unwrap();
    }
    dir
}

/// Runs `args` with the built-in kernels changed by `edits`, asserts the run was caught (exit 3,
/// no panic), and returns the GPU rows that ran, every one a `mismatch`. gpu-fused-df64 runs its
/// kernels on a probe problem before its row (its descent check): a fault that shows there makes
/// the row an error saying so, caught before the descent, and left out of the rows returned.
/// `None` (after a loud skip, or a failure in CI) when there is no adapter.
fn caught(what: &str, edits: &[(&str, &str, &str)], args: &[&str]) -> Option<Vec<Value>> {
    gpu_or_skip(what)?;
    let dir = mutated(edits);
    let shaders = dir.path().to_str().unwrap();
    let out = gdbench(&[args, &["--shaders", shaders]].concat());
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let report: Value = common::document_or(&stdout(&out), &stderr(&out));
    assert_eq!(out.status.code(), Some(3), "{what}: {}", report["runs"]);
    let rows: Vec<Value> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "gpu")
        .filter(|r| r["status"] != "unavailable")
        .filter(|r| {
            let stopped = r["solver"] == "gpu-fused-df64" && r["status"] == "error";
            if stopped {
                let message = r["message"].as_str().unwrap();
                assert!(message.contains("descent kernels"), "{what}: {message}");
            }
            !stopped
        })
        .cloned()
        .collect();
    for run in &rows {
        assert_eq!(run["status"], "mismatch", "{what}: {run}");
    }
    Some(rows)
}

#[test]
fn a_step_one_percent_too_large_is_a_mismatch_at_the_articles_size() {
    // Every kernel that updates w: multipass and batched (update), fused (and fused-f64 and
    // fused-f16), persistent, subgroup, fused-df64 (stopped by its descent check).
    let edits = [
        (
            "update.wgsl",
            "w = w + params.mu * (params.scale * sums[0]);",
            "w = w + 1.01 * params.mu * (params.scale * sums[0]);",
        ),
        (
            "fused.wgsl",
            "w = w + mu_of(params_finish) * (scale_of(params_finish) * total);",
            "w = w + 1.01 * mu_of(params_finish) * (scale_of(params_finish) * total);",
        ),
        (
            "persistent.wgsl",
            "w_shared = w_now + params.mu * (params.scale * total);",
            "w_shared = w_now + 1.01 * params.mu * (params.scale * total);",
        ),
        (
            "subgroup.wgsl",
            "w = w + params_finish.mu * (params_finish.scale * total);",
            "w = w + 1.01 * params_finish.mu * (params_finish.scale * total);",
        ),
        // gpu-persistent's kernel where the adapter has SUBGROUP.
        PERSISTENT_SUBGROUP_STEP,
        (
            "df64.wgsl",
            "let mu = vec2<f32>(params_finish.mu, params_finish.mu_lo);",
            "let mu = vec2<f32>(1.01 * params_finish.mu, params_finish.mu_lo);",
        ),
    ];
    let args = [ARTICLE, &["--solvers", "gpu"]].concat();
    let Some(rows) = caught("1 % step mutation", &edits, &args) else {
        return;
    };
    assert!(rows.len() >= 4, "{rows:?}");
    for run in rows {
        // Caught by the full descent itself: its difference is far beyond the tolerance.
        let diff = run["max_rel_diff"].as_f64().unwrap();
        let tol = run["tolerance"].as_f64().unwrap();
        assert!(diff > 3.0 * tol, "{run}");
        assert_eq!(run["spot_check"]["status"], "mismatch", "{run}");
    }
}

#[test]
fn skipping_samples_is_a_mismatch() {
    let args = [ARTICLE, &["--solvers", "gpu-fused"]].concat();
    // The grid-stride loop reads vec4s: skip the last WG of them (1 024 samples), then the last
    // 25 (100 samples: 1 % of the article's, what the old f32 tolerance let through).
    for (what, bound) in [
        ("skipped workgroup mutation", "        if j + WG < quads {"),
        ("last 100 samples mutation", "        if j + 25u < quads {"),
    ] {
        let edits = [("fused.wgsl", "        if j < quads {", bound)];
        let Some(rows) = caught(what, &edits, &args) else {
            return;
        };
        assert_eq!(rows.len(), 1);
        let message = rows[0]["message"].as_str().unwrap();
        assert!(
            message.contains("differs from the reference"),
            "{what}: {message}"
        );
        assert_eq!(rows[0]["spot_check"]["status"], "mismatch", "{what}");
    }
}

/// `ARTICLE` with another N and epoch count, for `solvers`.
fn sized(n: &'static str, epochs: &'static str, solvers: &'static str) -> Vec<&'static str> {
    let mut args = ARTICLE.to_vec();
    args[1] = n;
    args[3] = epochs;
    args.extend(["--solvers", solvers]);
    args
}

#[test]
fn dropping_the_scalar_tail_is_a_mismatch() {
    // N = 10 003 leaves 3 samples after the last whole vec4: the kernels add them one by one.
    let Some(ctx) = gpu_or_skip("tail mutation") else {
        return;
    };
    for (file, solvers) in [
        ("fused.wgsl", "gpu-fused"),
        ("subgroup.wgsl", "gpu-subgroup"),
    ] {
        if solvers == "gpu-subgroup" && !ctx.features.contains(wgpu::Features::SUBGROUP) {
            eprintln!(
                "tail mutation: {} has no SUBGROUP: gpu-subgroup not run",
                ctx.label()
            );
            continue;
        }
        let edits = [(
            file,
            "if wid.x == 0u && lid < params_errors.n % 4u {",
            "if false {",
        )];
        let what = format!("{file} tail mutation");
        let Some(rows) = caught(&what, &edits, &sized("10003", "10000", solvers)) else {
            return;
        };
        assert_eq!(rows.len(), 1, "{what}: {rows:?}");
        for row in rows {
            assert_eq!(row["spot_check"]["status"], "mismatch", "{what}: {row}");
        }
    }
}

#[test]
fn df64_arithmetic_that_loses_its_error_terms_fails_the_self_check() {
    // What a reassociating compiler makes of two_sum ((a + b) − s = 0), and a two_prod whose
    // error is lost both ways (what an fma that rounds twice and a folded split give): the row
    // is an error naming the operation, before any descent runs. Faults that only the descent
    // kernels hold are caught by the descent check, which names them.
    let cases = [
        (
            "two_sum",
            vec![(
                "df64.wgsl",
                "    let e = (a - (s - bb)) + (b - bb);\n",
                "    let e = (a + b) - s;\n",
            )],
        ),
        (
            "two_prod",
            vec![
                (
                    "df64.wgsl",
                    "return vec2<f32>(p, fma(a, b, -p));",
                    "return vec2<f32>(p, 0.0);",
                ),
                (
                    "df64.wgsl",
                    "return vec2<f32>(p, e);",
                    "return vec2<f32>(p, 0.0);",
                ),
            ],
        ),
        // The probe problem has an odd N: the sample df64 adds alone must count.
        (
            "descent kernels",
            vec![(
                "df64.wgsl",
                "if wid.x == 0u && lid == 0u && params_errors.n % 2u == 1u {",
                "if false {",
            )],
        ),
        // w1·x in f32 in the errors kernel alone (df64_ops never runs it): what Mesa did to
        // two_sum there before `kept`, which the operations' check did not see.
        (
            "descent kernels",
            vec![(
                "df64.wgsl",
                "let e = df_add(di, -df_add(w.xy, df_mul(w.zw, xi)));",
                "let e = df_add(di, -df_add(w.xy, vec2<f32>(w.z * xi.x, 0.0)));",
            )],
        ),
    ];
    for (operation, edits) in cases {
        if gpu_or_skip("df64 self-check mutation").is_none() {
            return;
        }
        let dir = mutated(&edits);
        let args = [
            &sized("2000", "100", "gpu-fused-df64,gpu-fused")[..],
            &["--shaders", dir.path().to_str().unwrap()],
        ]
        .concat();
        let out = gdbench(&args);
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        let report: Value = common::document(&stdout(&out));
        let runs = report["runs"].as_array().unwrap();
        let row = |name: &str| runs.iter().find(|r| r["solver"] == name).unwrap();
        let df64 = row("gpu-fused-df64");
        assert_eq!(df64["status"], "error", "{operation}: {df64}");
        let message = df64["message"].as_str().unwrap();
        assert!(
            message.contains("self-check") && message.contains(operation),
            "{operation}: {message}"
        );
        assert_eq!(row("gpu-fused")["status"], "ok", "{operation}");
        assert_ne!(out.status.code(), Some(0), "{operation}");
    }
}

#[test]
fn a_grid_stride_that_skips_sweeps_is_a_mismatch() {
    // 2²² samples are two sweeps of 2 048 workgroups × 256 invocations × 4 samples: stepping
    // two sweeps at a time skips the second half of the data.
    let edits = [(
        "fused.wgsl",
        "first = first + stride) {",
        "first = first + 2u * stride) {",
    )];
    let Some(rows) = caught(
        "stride mutation",
        &edits,
        &sized("4194304", "3", "gpu-fused"),
    ) else {
        return;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
}

#[test]
fn the_spot_check_catches_a_wrong_step_that_a_converged_run_hides() {
    // Long converged: a step 1 % off changes the way, not the destination. The full descent
    // passes; the 8-epoch spot check, where the step is everything, does not.
    let edits = [
        (
            "persistent.wgsl",
            "w_shared = w_now + params.mu * (params.scale * total);",
            "w_shared = w_now + 1.01 * params.mu * (params.scale * total);",
        ),
        PERSISTENT_SUBGROUP_STEP,
    ];
    let args = [
        "--n",
        "1000",
        "--epochs",
        "20000",
        "--mu",
        "0.2",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--format",
        "json",
        "--no-probe",
        "--solvers",
        "gpu-persistent",
    ];
    let Some(rows) = caught("spot check mutation", &edits, &args) else {
        return;
    };
    let run = &rows[0];
    assert!(
        run["max_rel_diff"].as_f64().unwrap() <= run["tolerance"].as_f64().unwrap(),
        "the long run alone would pass: {run}"
    );
    assert_eq!(run["spot_check"]["status"], "mismatch", "{run}");
    assert!(
        run["message"].as_str().unwrap().contains("spot check"),
        "{run}"
    );
}

/// A step-size search over three steps, N with a scalar tail, one timed repeat.
fn search_args(solvers: &str) -> Vec<&str> {
    vec![
        "--n",
        "2001",
        "--epochs",
        "2000",
        "--mu",
        "0.001,0.002,0.005",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--format",
        "json",
        "--no-probe",
        "--solvers",
        solvers,
    ]
}

#[test]
fn search_kernels_updating_a_step_with_another_steps_mu_are_caught() {
    let edits = [
        (
            "search.wgsl",
            "let mu = real(steps_finish[step].x) + real(steps_finish[step].y);",
            "let mu = real(steps_finish[0u].x) + real(steps_finish[0u].y);",
        ),
        (
            "search.wgsl",
            "let mu = vec4<real>(vec4<f32>(steps_persistent[s].x, steps_persistent[s + 1u].x, steps_persistent[s + 2u].x, steps_persistent[s + 3u].x));",
            "let mu = vec4<real>(vec4<f32>(steps_persistent[s].x));",
        ),
    ];
    let args = search_args("gpu-fused,gpu-persistent,gpu-fused-f64,gpu-fused-f16");
    let Some(rows) = caught("search step mutation", &edits, &args) else {
        return;
    };
    assert!(rows.len() >= 2, "{rows:?}");
    for run in rows {
        // Step 0 is right; the others ran with its mu, and the row names the first of them.
        let descents = run["descents"].as_array().unwrap();
        assert_eq!(descents[0]["status"], "ok", "{run}");
        assert_eq!(descents[1]["status"], "mismatch", "{run}");
        assert!(
            run["message"].as_str().unwrap().contains("at mu = 0.002"),
            "{run}"
        );
    }
}

#[test]
fn a_search_dropping_the_scalar_tail_is_a_mismatch() {
    let edits = [(
        "search.wgsl",
        "for (var t = 0u; t < params_errors.n % 4u; t = t + 1u) {",
        "for (var t = 0u; t < 0u; t = t + 1u) {",
    )];
    let Some(rows) = caught("search tail mutation", &edits, &search_args("gpu-fused")) else {
        return;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
}

#[test]
fn a_search_adding_its_lanes_across_vec4s_of_steps_is_a_mismatch() {
    // Six steps: two vec4s per workgroup, whose lanes a tree that runs down to stride 1 would
    // add into each other.
    let edits = [(
        "search.wgsl",
        "        if stride < STEP_VECS {",
        "        if stride < 1u {",
    )];
    let mut args = search_args("gpu-fused");
    let mu = args.iter().position(|a| *a == "--mu").unwrap() + 1;
    args[mu] = "1e-3..1e-2:6";
    let Some(rows) = caught("search lane mutation", &edits, &args) else {
        return;
    };
    assert_eq!(rows.len(), 1, "{rows:?}");
}

/// gpu-fused's loads with the data passed through f32 first: nothing changes for gpu-fused (f32
/// already), f16 widens exactly, and gpu-fused-f64 computes on f32-rounded data while credited
/// 16 bytes a sample.
const DATA_THROUGH_F32: [(&str, &str, &str); 2] = [
    (
        "fused.wgsl",
        "let xv = vec4<real>(x[j]);",
        "let xv = vec4<real>(vec4<f32>(x[j]));",
    ),
    (
        "fused.wgsl",
        "let ev = vec4<real>(d[j])",
        "let ev = vec4<real>(vec4<f32>(d[j]))",
    ),
];

/// `args` (which end in `--solvers`) with the kernels changed by `edits`: the exit code and the
/// report.
fn run_mutated(edits: &[(&str, &str, &str)], args: &[&str]) -> (Option<i32>, Value) {
    let dir = mutated(edits);
    let out = gdbench(&[args, &["--shaders", dir.path().to_str().unwrap()]].concat());
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let report: Value = common::document_or(&stdout(&out), &stderr(&out));
    (out.status.code(), report)
}

#[test]
fn an_f64_rung_reading_its_data_through_f32_is_a_mismatch() {
    let Some(ctx) = gpu_or_skip("f64 data-through-f32 mutation") else {
        return;
    };
    if !ctx.features.contains(wgpu::Features::SHADER_F64) {
        eprintln!(
            "f64 data-through-f32 mutation: {} has no SHADER_F64: gpu-fused-f64 not run",
            ctx.label()
        );
        return;
    }
    let fixture = common::article_fixture();
    // The article's data, and the default synthetic data: f32 storage moves the answer by
    // 8.8e-10 and 4.5e-10, which the old constant 1e-9 let through.
    for data in [
        &["--data", fixture.to_str().unwrap()][..],
        &["--n", "10000"],
    ] {
        // ARTICLE without its `--n 10000` (a data file brings its own N).
        let args = [
            &ARTICLE[2..],
            data,
            &["--solvers", "gpu-fused,gpu-fused-f64"],
        ]
        .concat();
        let (code, report) = run_mutated(&DATA_THROUGH_F32, &args);
        assert_eq!(code, Some(3), "{data:?}: {}", report["runs"]);
        assert_eq!(row(&report, "gpu-fused")["status"], "ok", "{data:?}");
        let f64_row = row(&report, "gpu-fused-f64");
        assert_eq!(f64_row["status"], "mismatch", "{data:?}: {f64_row}");
        let diff = f64_row["max_rel_diff"].as_f64().unwrap();
        let tolerance = f64_row["tolerance"].as_f64().unwrap();
        assert!(tolerance <= 1e-11, "{data:?}: {f64_row}");
        assert!(diff > 100.0 * tolerance, "{data:?}: {f64_row}");
        assert_eq!(f64_row["spot_check"]["status"], "mismatch", "{data:?}");
    }
}

/// The article's size on gpu-fused-df64 with df64.wgsl's loads dropping each pair's low word
/// (the data as f32) for problems of more than `above` samples: the exit code and the row.
fn df64_low_words_dropped(above: u32) -> (Option<i32>, Value) {
    let guard = format!(
        "select(vec4<f32>(1.0), vec4<f32>(1.0, 0.0, 1.0, 0.0), params_errors.n > {above}u)"
    );
    let (x, d) = (
        format!("let xv = x[j] * {guard};"),
        format!("let dv = d[j] * {guard};"),
    );
    let edits = [
        ("df64.wgsl", "let xv = x[j];", x.as_str()),
        ("df64.wgsl", "let dv = d[j];", d.as_str()),
    ];
    let args = [ARTICLE, &["--solvers", "gpu-fused-df64"]].concat();
    let (code, report) = run_mutated(&edits, &args);
    (code, row(&report, "gpu-fused-df64").clone())
}

#[test]
fn a_df64_rung_dropping_its_datas_low_words_is_caught() {
    if gpu_or_skip("df64 low-word mutation").is_none() {
        return;
    }
    // Everywhere: the descent self-check (x near 1 000, where the low words matter most) stops
    // the row before it runs.
    let (code, df64) = df64_low_words_dropped(0);
    assert_eq!(code, Some(4), "{df64}");
    assert_eq!(df64["status"], "error", "{df64}");
    let message = df64["message"].as_str().unwrap();
    assert!(message.contains("descent kernels"), "{df64}");
    // Only beyond the self-check's size: the tolerance alone must catch it.
    let (code, df64) = df64_low_words_dropped(gdbench::gpu::df64_check::probe_problem().n() as u32);
    assert_eq!(code, Some(3), "{df64}");
    assert_eq!(df64["status"], "mismatch", "{df64}");
    let diff = df64["max_rel_diff"].as_f64().unwrap();
    let tolerance = df64["tolerance"].as_f64().unwrap();
    assert!(diff > 10.0 * tolerance, "{df64}");
}

#[test]
fn edge_sizes_catch_a_dropped_tail_at_the_default_n() {
    // N = 10 000 is a multiple of 4: the tail is never run there, and the solve alone passes.
    // The edge sizes (N % 4 = 1, 2, 3 among them) catch the kernel before it is timed.
    let edits = [(
        "fused.wgsl",
        "if wid.x == 0u && lid < params_errors.n % 4u {",
        "if false {",
    )];
    let Some(rows) = caught("edge sizes", &edits, &sized("10000", "200", "gpu-fused")) else {
        return;
    };
    let row = &rows[0];
    let edges = row["edge_sizes"].as_array().unwrap();
    let status = |n: u64| {
        edges
            .iter()
            .find(|e| e["n"] == n)
            .unwrap_or_else(|| panic!("no edge size {n}: {row}"))["status"]
            .clone()
    };
    // A tail of 1, 2 or 3 samples is lost at every edge size (each has one).
    for n in [1001, 1002, 1003, 2049] {
        assert_eq!(status(n), "mismatch", "N = {n}: {row}");
    }
    let message = row["message"].as_str().unwrap();
    assert!(message.contains("edge sizes: at N = 1001"), "{message}");
    // The solve itself, at N = 10 000, agrees with the reference: only the edge sizes saw it.
    assert!(
        row["max_rel_diff"].as_f64().unwrap() < row["tolerance"].as_f64().unwrap(),
        "{row}"
    );
}

#[test]
fn a_correct_edit_passes_every_edge_size_and_built_in_kernels_run_none() {
    let Some(_ctx) = gpu_or_skip("edge sizes of a correct kernel") else {
        return;
    };
    // A comment changes the file, not the arithmetic.
    let dir = mutated(&[(
        "fused.wgsl",
        "let total = reduce_workgroup(lid, acc);",
        "let total = reduce_workgroup(lid, acc); // edited",
    )]);
    let shaders = dir.path().to_str().unwrap();
    let args = sized("10000", "200", "gpu-fused,gpu-multipass");
    let out = gdbench(&[&args[..], &["--shaders", shaders]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: Value = common::document(&stdout(&out));
    let fused = row(&r, "gpu-fused");
    let edges = fused["edge_sizes"].as_array().unwrap();
    assert!(edges.len() >= 6, "{fused}");
    assert!(edges.iter().all(|e| e["status"] == "ok"), "{fused}");
    // gpu-multipass compiled only unchanged copies: no edge sizes.
    assert!(row(&r, "gpu-multipass").get("edge_sizes").is_none(), "{r}");
}

/// A diagnosis's entry point, buffer, element and epoch.
fn named(d: &Value) -> (&str, &str, u64, u64) {
    let text = |k: &str| d[k].as_str().unwrap_or_else(|| panic!("{k}: {d}"));
    let number = |k: &str| d[k].as_u64().unwrap_or_else(|| panic!("{k}: {d}"));
    (
        text("entry_point"),
        text("buffer"),
        number("index"),
        number("epoch"),
    )
}

#[test]
fn a_planted_step_is_diagnosed_at_the_first_epoch_by_the_kernel_that_writes_w() {
    let edits = [
        (
            "fused.wgsl",
            "w = w + mu_of(params_finish) * (scale_of(params_finish) * total);",
            "w = w + 1.01 * mu_of(params_finish) * (scale_of(params_finish) * total);",
        ),
        (
            "persistent.wgsl",
            "w_shared = w_now + params.mu * (params.scale * total);",
            "w_shared = w_now + 1.01 * params.mu * (params.scale * total);",
        ),
        PERSISTENT_SUBGROUP_STEP,
    ];
    let args = sized("3000", "200", "gpu-fused,gpu-persistent");
    let Some(rows) = caught("diagnosis", &edits, &args) else {
        return;
    };
    for row in &rows {
        let d = &row["diagnosis"];
        let writer = match row["solver"].as_str().unwrap() {
            "gpu-fused" => vec!["finish"],
            _ => vec!["persistent", "persistent_subgroup"],
        };
        assert!(
            writer.contains(&d["entry_point"].as_str().unwrap()),
            "{row}"
        );
        // Its first pass, fused_errors, held: the finish is named, from the partials it read.
        // The weights as each kernel binds them.
        let buffer = match d["entry_point"].as_str().unwrap() {
            "persistent_subgroup" => "w_persistent",
            _ => "w",
        };
        assert_eq!(d["buffer"], buffer, "{row}");
        assert_eq!(d["against"], "twin", "{row}");
        assert_eq!((&d["index"], &d["epoch"]), (&0.into(), &1.into()), "{row}");
        // From w = 0 the first epoch's weights are one step: 1 % too large.
        for i in 0..2 {
            let ratio = d["got"][i].as_f64().unwrap() / d["want"][i].as_f64().unwrap();
            assert!((ratio - 1.01).abs() < 1e-4, "{ratio}: {row}");
        }
        let message = row["message"].as_str().unwrap();
        assert!(message.contains("diagnosis: in epoch 1, `"), "{message}");
        assert!(message.contains("; the spot check, after "), "{message}");
    }
    // A search has no twins: its weights are held against the reference's, epoch by epoch.
    let edit = (
        "search.wgsl",
        "w_finish[step] = w_finish[step] + mu * (scale_of(params_finish) * total);",
        "w_finish[step] = w_finish[step] + 1.01 * mu * (scale_of(params_finish) * total);",
    );
    let mut args = sized("3000", "200", "gpu-fused");
    args[5] = "0.001,0.002";
    let Some(rows) = caught("search diagnosis", &[edit], &args) else {
        return;
    };
    let d = &rows[0]["diagnosis"];
    assert_eq!(named(d), ("search_finish", "w", 0, 1), "{d}");
    assert_eq!(d["against"], "reference", "{d}");
    let message = rows[0]["message"].as_str().unwrap();
    assert!(
        message.contains("a search is not replayed pass by pass"),
        "{message}"
    );
}

/// The tree's loop in common.wgsl's `reduce_workgroup`: its first stride, and its barrier.
const TREE: &str = "    var stride = WG / 2u;";
const TREE_BARRIER: &str =
    "            shared_sums[lid] = shared_sums[lid] + shared_sums[lid + stride];
        }
        workgroupBarrier();";

#[test]
fn a_wrong_reduction_stride_a_missing_barrier_and_a_wrong_error_are_each_named_by_their_pass() {
    // The workgroup tree starting at WG/4 drops half of every workgroup's sums; without the
    // barrier in its loop, invocations add what others have not yet written. Both break the
    // first pass that sums (fused_errors; multipass's reduce_errors), not the passes after it.
    let no_barrier = TREE_BARRIER.replace("        workgroupBarrier();", "");
    let bugs = [
        ("stride", ("common.wgsl", TREE, "    var stride = WG / 4u;")),
        (
            "barrier",
            ("common.wgsl", TREE_BARRIER, no_barrier.as_str()),
        ),
    ];
    for (what, edit) in bugs {
        let args = sized("10003", "200", "gpu-fused,gpu-multipass");
        let Some(rows) = caught(what, &[edit], &args) else {
            return;
        };
        assert_eq!(rows.len(), 2, "{what}: {rows:?}");
        for row in &rows {
            let d = &row["diagnosis"];
            let (entry, buffer) = match row["solver"].as_str().unwrap() {
                "gpu-fused" => ("fused_errors", "partials_out"),
                _ => ("reduce_errors", "partials"),
            };
            assert_eq!(
                (&d["entry_point"], &d["buffer"]),
                (&entry.into(), &buffer.into()),
                "{what}: {row}"
            );
            assert_eq!(
                (&d["epoch"], &d["against"]),
                (&1.into(), &"twin".into()),
                "{what}: {row}"
            );
            assert!(
                d["covers"].as_str().unwrap().contains("workgroup "),
                "{what}: {row}"
            );
            // The partial holds a fraction of its workgroup's sums.
            let (got, want) = (
                d["got"][0].as_f64().unwrap(),
                d["want"][0].as_f64().unwrap(),
            );
            assert!(got < 0.9 * want, "{what}: {row}");
        }
    }
    // One sample's error off by 1 in multipass's error pass: that sample, in that pass.
    let line = "            e[i] = d[i] - (w_now.x + w_now.y * x[i]);";
    let wrong =
        "            e[i] = d[i] - (w_now.x + w_now.y * x[i]) + select(0.0, 1.0, i == 4321u);";
    let args = sized("10003", "200", "gpu-multipass");
    let Some(rows) = caught("one error", &[("error.wgsl", line, wrong)], &args) else {
        return;
    };
    let d = &rows[0]["diagnosis"];
    assert_eq!(named(d), ("error", "e", 4321, 1), "{d}");
    let (got, want) = (
        d["got"][0].as_f64().unwrap(),
        d["want"][0].as_f64().unwrap(),
    );
    assert!((got - want - 1.0).abs() < 1e-5, "{d}");
}
