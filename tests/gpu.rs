//! GPU solvers against the f64 reference, on whatever adapter is here (lavapipe in CI).
//! With no adapter these tests fail when `CI` is set and skip loudly elsewhere.

mod common;

use common::{
    Run, gdbench, gpu_or_skip, gpu_solvers, may_be_unavailable, refuses, solve, solve_on, stderr,
    stdout, synthetic,
};
use gdbench::gpu::{GpuSettings, PERSISTENT_LOOP_BUDGET, guard};
use gdbench::validate::{Arithmetic, Expectations, Status, judge, spot_check};
use gdbench::{GdError, Precision, Problem, SolverId};

/// Asserts every GPU solver that can run on the adapter at hand agrees with the reference on
/// `problem`, full descent and spot check, and that only the expected ones could not run.
/// Returns the solvers that ran, and how many chunks each split the data into.
fn all_agree(problem: &Problem, settings: GpuSettings, what: &str) -> Vec<(SolverId, usize)> {
    let Some(ctx) = gpu_or_skip(what) else {
        return Vec::new();
    };
    // f16-storage solvers are held against the descent on the f16-rounded data.
    let rounded = problem.rounded_to_f16().unwrap();
    let references = |p: &Problem| {
        let expect = Expectations::of(p);
        let mut solver = SolverId::REFERENCE.prepare(p).unwrap();
        let full = solver.solve().unwrap();
        let spot = solver.solve_for(expect.spot_epochs).unwrap();
        (expect, full, spot)
    };
    let (full_precision, on_f16_data) = (references(problem), references(&rounded));
    let mut ran = Vec::new();
    for id in gpu_solvers() {
        let (expect, reference, reference_spot) = match id.precision() {
            Precision::F16 => &on_f16_data,
            _ => &full_precision,
        };
        let solver = id.prepare_on(problem, Some(&ctx), &settings);
        let mut solver = match solver {
            Err(GdError::Unavailable { reason }) => {
                assert!(
                    may_be_unavailable(id, &ctx, &reason),
                    "{what}: {id} must run on {} but: {reason}",
                    ctx.label()
                );
                eprintln!("{what}: {id} unavailable here: {reason}");
                continue;
            }
            other => other.unwrap_or_else(|e| panic!("{what}: {id}: {e}")),
        };
        let out = solver
            .solve()
            .unwrap_or_else(|e| panic!("{what}: {id}: {e}"));
        let v = judge(&out, reference, id.arithmetic(), expect);
        assert_eq!(
            v.status,
            Status::Ok,
            "{what}: {id} on {}: {}",
            ctx.label(),
            v.message
        );
        let spot = solver.solve_for(expect.spot_epochs).unwrap();
        let c = spot_check(&spot, reference_spot, id.arithmetic(), expect);
        assert_eq!(c.status, Status::Ok, "{what}: {id} spot check: {c:?}");
        ran.push((
            id,
            solver.chunks().expect("GPU solvers report their chunks"),
        ));
    }
    ran
}

/// The solvers of `ran`.
fn ids(ran: &[(SolverId, usize)]) -> Vec<SolverId> {
    ran.iter().map(|(id, _)| *id).collect()
}

#[test]
fn every_gpu_solver_matches_the_reference_at_awkward_sizes() {
    for n in [2, 3, 255, 256, 257, 2047, 2048, 2049, 65_537, 1_000_000] {
        let problem = synthetic(n, 0.1, 5, 0.05, 7);
        let ran = all_agree(&problem, GpuSettings::default(), &format!("N = {n}"));
        assert!(
            ran.is_empty() || ids(&ran).contains(&SolverId::GpuFused),
            "N = {n}: {ran:?}"
        );
    }
}

#[test]
fn other_workgroup_sizes_give_the_same_answers() {
    let problem = synthetic(10_001, 0.1, 6, 0.01, 20);
    for workgroup_size in [32, 64, 1024] {
        let settings = GpuSettings {
            workgroup_size: Some(workgroup_size),
            ..GpuSettings::default()
        };
        let ran = all_agree(
            &problem,
            settings,
            &format!("workgroup size {workgroup_size}"),
        );
        assert!(
            ran.is_empty() || ran.len() >= 4,
            "WG {workgroup_size}: {ran:?}"
        );
    }
}

#[test]
fn data_split_across_many_bindings_gives_the_same_answers() {
    // A 64 KiB binding cap forces 16 384-sample chunks: 7 chunks, and three reduction levels
    // (8 192-sample chunks in f64: 13).
    // An odd N: the last chunk ends on a sample df64 and the vec4 kernels add on their own.
    let problem = synthetic(100_001, 0.1, 7, 0.01, 5);
    let settings = GpuSettings {
        max_binding_bytes: Some(64 << 10),
        ..GpuSettings::default()
    };
    let ran = all_agree(&problem, settings, "64 KiB bindings");
    for (id, chunks) in &ran {
        // Persistent reads one binding, so it cannot run here; the others split 7 ways in f32
        // (13 in f64 and df64, 4 in f16: the chunk is 64 KiB of whatever the data is stored in).
        assert_ne!(*id, SolverId::GpuPersistent);
        let expected = match id.precision() {
            Precision::F16 => 4,
            Precision::F32 => 7,
            Precision::Df64 | Precision::F64 => 13,
        };
        assert_eq!(*chunks, expected, "{id}");
    }
    assert!(ran.is_empty() || ran.len() >= 3, "{ran:?}");
}

#[test]
fn arrays_larger_than_one_real_binding_are_split() {
    let Some(ctx) = gpu_or_skip("larger than one binding") else {
        return;
    };
    // Just over the adapter's binding limit (128 MiB = 2^25 f32 on lavapipe), capped for CI's memory.
    let binding_floats = (ctx.limits.max_storage_buffer_binding_size / 4).min(1 << 26);
    let n = binding_floats as usize + 3_001;
    let problem = synthetic(n, 0.1, 8, 0.01, 2);
    // Where the real binding limit is above the cap, a cap just under N still forces the split.
    let settings = GpuSettings {
        max_binding_bytes: Some(binding_floats * 4),
        ..GpuSettings::default()
    };
    let ran = all_agree(&problem, settings, &format!("N = {n} > one binding"));
    assert!(
        ran.iter().any(|(id, _)| *id == SolverId::GpuFused),
        "{ran:?}"
    );
    for (id, chunks) in &ran {
        // f16 data is half the bytes: it fits the binding the f32 data overflows.
        let least = if id.precision() == Precision::F16 {
            1
        } else {
            2
        };
        assert!(*chunks >= least, "{id}: {chunks} chunk(s) for {n} samples");
    }
}

#[test]
fn persistent_splits_epochs_past_the_driver_loop_cap() {
    let Some(ctx) = gpu_or_skip("persistent loop cap") else {
        return;
    };
    // 40 000 samples at 256 invocations: 157 + 8 + 3 loop iterations per epoch (and invocation 0
    // adds the subgroups' totals where there are subgroups), so 2 000 epochs are over 336 000
    // iterations for one invocation; in a single dispatch llvmpipe returns wrong weights (checked
    // by hand; a budget that forgot the subgroups' loop failed here too), split they are right.
    let problem = synthetic(40_000, 0.1, 9, 0.01, 2_000);
    const {
        assert!(
            2_000 * 168 > PERSISTENT_LOOP_BUDGET,
            "the test must cross the budget"
        )
    };
    let reference = solve(SolverId::REFERENCE, &problem);
    let out = solve_on(SolverId::GpuPersistent, &problem, &ctx);
    let v = judge(
        &out,
        &reference,
        Arithmetic::F32,
        &Expectations::of(&problem),
    );
    assert_eq!(v.status, Status::Ok, "{}", v.message);
}

#[test]
fn persistent_is_unavailable_for_large_n_with_a_reason() {
    let Some(ctx) = gpu_or_skip("persistent large N") else {
        return;
    };
    // On a software adapter the loop budget caps N near 15 M; on a GPU only one storage binding
    // does (gigabytes: too large a problem for a test).
    if ctx.info.device_type != wgpu::DeviceType::Cpu {
        eprintln!(
            "persistent large N: {} is a GPU: no loop budget to cross",
            ctx.label()
        );
        return;
    }
    let problem = synthetic(20_000_000, 0.1, 1, 0.01, 1);
    let reason = common::unavailable_reason(
        "gpu-persistent at N = 2e7",
        SolverId::GpuPersistent.prepare_on(&problem, Some(&ctx), &GpuSettings::default()),
    );
    assert!(reason.contains("use gpu-fused"), "{reason}");
}

#[test]
fn bad_workgroup_sizes_are_refused() {
    let Some(ctx) = gpu_or_skip("bad workgroup size") else {
        return;
    };
    let problem = synthetic(100, 0.1, 1, 0.01, 1);
    for workgroup_size in [0, 3, 100, 1 << 20] {
        let settings = GpuSettings {
            workgroup_size: Some(workgroup_size),
            ..GpuSettings::default()
        };
        let err = SolverId::GpuFused
            .prepare_on(&problem, Some(&ctx), &settings)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("power of two"), "{err}");
    }
}

#[test]
fn adapters_command_lists_the_adapter() {
    let Some(ctx) = gpu_or_skip("adapters command") else {
        return;
    };
    let out = gdbench(&["adapters"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&ctx.info.name), "{text}");
    assert!(text.contains("max storage binding"), "{text}");
    if ctx.device_type() == gdbench::DeviceType::Cpu {
        assert!(text.contains("software: CPU emulation"), "{text}");
    }
}

#[test]
fn gpu_rows_name_their_adapter_in_json_and_table() {
    let Some(ctx) = gpu_or_skip("gpu rows") else {
        return;
    };
    let args = [
        "--n",
        "3000",
        "--epochs",
        "50",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--solvers",
        "gpu,cpu-naive",
        "--no-probe",
    ];
    let out = gdbench(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = common::document(&stdout(&out));
    let runs = r["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1 + gpu_solvers().count());
    let expected_type = ctx.device_type().to_string();
    for run in &runs[1..] {
        assert_eq!(run["kind"], "gpu", "{run}");
        assert!(run["solver"].as_str().unwrap().starts_with("gpu-"));
        assert!(
            run["device"].as_str().unwrap().contains(&ctx.info.name),
            "{run}"
        );
        assert_eq!(run["device_type"], expected_type.as_str());
        // Every strategy runs, but one the adapter has no feature for (subgroups, f64 on GL).
        let solver = SolverId::from_name(run["solver"].as_str().unwrap()).unwrap();
        assert_eq!(run["precision"], solver.precision().to_string(), "{run}");
        match run["status"].as_str() {
            Some("ok") => {}
            Some("unavailable") => assert!(
                may_be_unavailable(solver, &ctx, run["message"].as_str().unwrap()),
                "{run}"
            ),
            _ => panic!("{run}"),
        }
        if run["status"] == "ok" {
            let phases = &run["phases"];
            assert!(phases["upload_s"].as_f64().unwrap() > 0.0, "{phases}");
            assert!(phases["readback_s"].as_f64().unwrap() > 0.0, "{phases}");
            if ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
                let kernel = phases["gpu_kernel_s"].as_f64();
                let note = run["message"].as_str().unwrap();
                // A median over instrumented solves run apart from the timed one (each reading
                // checked against its own solve's wall time), never above the row's median wall
                // time, or a note says why there is none.
                let solves = phases["gpu_kernel_solves"].as_u64().unwrap();
                let median = run["time_s"]["median"].as_f64().unwrap();
                match kernel {
                    Some(k) => {
                        assert!(k > 0.0 && (1..=3).contains(&solves), "{run}");
                        assert!(k <= median && phases["gpu_kernel_note"].is_null(), "{run}");
                    }
                    None if phases["gpu_kernel_note"].is_string() => {
                        assert!(note.contains("kernel time not shown"), "{run}")
                    }
                    // A software adapter's kernel time is its CPU time: not measured apart.
                    None if run["device_type"] == "cpu" => {
                        assert_eq!(solves, 0, "{run}");
                        assert!(
                            note.contains("kernel time not measured: on a software adapter"),
                            "{run}"
                        );
                    }
                    None => assert!(note.contains("kernel time not reported"), "{run}"),
                }
            }
        }
    }
    let adapters = r["machine"]["adapters"].as_array().unwrap();
    assert_eq!(adapters.len(), 1);
    assert!(
        adapters[0]["device"]
            .as_str()
            .unwrap()
            .contains(&ctx.info.name)
    );
    assert_eq!(
        adapters[0]["software"],
        ctx.device_type() == gdbench::DeviceType::Cpu
    );
    // The table's text with its line breaks as spaces: notes and legend wrap at 100 columns.
    let table = stdout(&gdbench(&args))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if ctx.device_type() == gdbench::DeviceType::Cpu {
        assert!(table.contains("(emu)"), "{table}");
        assert!(table.contains("CPU timings, not GPU speed"), "{table}");
    }
}

#[test]
fn unknown_adapters_are_errors_listing_the_real_ones() {
    let Some(ctx) = gpu_or_skip("unknown adapter") else {
        return;
    };
    for choice in ["no-such-gpu", "99"] {
        let args = [
            "--solvers",
            "gpu-fused",
            "--adapter",
            choice,
            "--n",
            "100",
            "--epochs",
            "1",
        ];
        refuses(&args, &ctx.info.name);
    }
}

#[test]
fn the_adapter_has_a_ceiling_of_its_own_and_gpu_rows_are_held_against_it() {
    let Some(ctx) = gpu_or_skip("GPU ceiling") else {
        return;
    };
    let c = gdbench::probe::gpu_ceilings(&ctx).unwrap_or_else(|e| panic!("the probe failed: {e}"));
    assert!(c.read_gb_s > 0.0 && c.round_trip_us > 0.0, "{c:?}");
    assert!(
        matches!(c.timed_by.as_str(), "timestamps" | "wall clock"),
        "{c:?}"
    );
    // Two arrays of up to 256 MiB each, or what one binding holds.
    let per_array = (256u64 << 20).min(ctx.limits.max_storage_buffer_binding_size) / 16 * 16;
    assert_eq!(c.buffer_bytes, 2 * per_array, "{c:?}");
    // A run with the probe carries it, and a GPU row big enough to leave any cache is held to it.
    let out = gdbench(&[
        "--n",
        "20000000",
        "--epochs",
        "2",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--solvers",
        "gpu-fused",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = common::document(&stdout(&out));
    let gpu = r["ceilings"]["gpu"].as_array().unwrap();
    assert_eq!(gpu.len(), 1, "{}", r["ceilings"]);
    assert!(gpu[0]["read_gb_s"].as_f64().unwrap() > 0.0);
    assert!(r["ceilings"]["gpu_failures"].as_array().unwrap().is_empty());
    let run = &r["runs"][0];
    assert_eq!(run["peak_gb_s"], gpu[0]["read_gb_s"], "{run}");
    let message = run["message"].as_str().unwrap();
    match run["peak_pct"].as_f64() {
        Some(pct) => assert!(pct > 0.0 && pct <= 100.0, "{run}"),
        // 160 MB of f32 data may still sit in a software adapter's host cache.
        None => assert!(
            message.contains("in cache") || message.contains("suspect"),
            "{run}"
        ),
    }
}

#[test]
fn a_lost_device_costs_its_rows_not_the_run() {
    if gpu_or_skip("device lost").is_none() {
        return;
    }
    let solvers = "cpu-fused,gpu-multipass,gpu-fused,gpu-persistent";
    let (r, code, err) = Run::small()
        .args(&["--solvers", solvers])
        .env("GDBENCH_FAULT", "device-lost")
        .json();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, 4, "named GPU solvers did not run: {}", r["runs"]);
    let runs = r["runs"].as_array().unwrap();
    let status = |name: &str| {
        let run = runs.iter().find(|run| run["solver"] == name).unwrap();
        (
            run["status"].clone(),
            run["message"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(status("cpu-fused").0, "ok");
    // The first GPU row loses its device; the rest are not attempted.
    let (first, why) = status("gpu-multipass");
    assert_eq!(first, "error", "{why}");
    assert!(why.contains("device was lost"), "{why}");
    for later in ["gpu-fused", "gpu-persistent"] {
        let (state, why) = status(later);
        assert_eq!(state, "unavailable", "{later}: {why}");
        assert!(why.contains("device was lost"), "{later}: {why}");
    }
}

#[test]
fn a_panic_inside_a_gpu_row_becomes_its_error_and_breaks_the_adapter() {
    let Some(ctx) = gpu_or_skip("guarded row") else {
        return;
    };
    let first: Result<(), GdError> = guard::run_row(&ctx, || panic!("simulated wgpu panic"));
    let message = first.unwrap_err().to_string();
    assert!(
        message.contains("panicked (in wgpu or gdbench): simulated wgpu panic"),
        "{message}"
    );
    let second = guard::run_row(&ctx, || Ok(()));
    match second {
        Err(GdError::Unavailable { reason }) => {
            assert!(reason.contains("simulated wgpu panic"), "{reason}")
        }
        other => panic!("a broken adapter must refuse later rows: {other:?}"),
    }
}

/// A problem whose x sits far from 0 (around `offset`), at half the largest stable step.
fn far_from_zero(n: usize, offset: f64, epochs: u64) -> Problem {
    let x: Vec<f64> = (0..n).map(|i| offset + i as f64 / n as f64).collect();
    let d: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, x)| 3.0 + 2.0 * x + ((i * 7_919) % 101) as f64 * 1e-3 - 0.05)
        .collect();
    let source = gdbench::Source::Synthetic {
        seed: 0,
        sigma: 0.05,
    };
    let data = gdbench::Dataset::new(x, d, source).unwrap();
    let probe = Problem::new(data.clone(), 1e-9, 1).unwrap();
    let mu = 0.5 * Expectations::of(&probe).max_stable_mu;
    Problem::new(data, mu, epochs).unwrap()
}

#[test]
fn the_f64_and_df64_rungs_hold_the_f64_tolerance_where_f32_cannot() {
    let Some(ctx) = gpu_or_skip("f64 and df64 rungs") else {
        return;
    };
    let settings = GpuSettings::default();
    for (what, problem) in [
        ("N = 10 003", synthetic(10_003, 0.1, 3, 0.001, 2_000)),
        ("x near 1 000", far_from_zero(4_099, 1_000.0, 3_000)),
    ] {
        let expect = Expectations::of(&problem);
        let reference = solve(SolverId::REFERENCE, &problem);
        let f32_out = solve_on(SolverId::GpuFused, &problem, &ctx);
        let f32_diff = judge(&f32_out, &reference, Arithmetic::F32, &expect).max_rel_diff;
        // f64 differs from the reference in summation order only; df64 carries about 48 bits.
        for (id, most) in [
            (SolverId::GpuFusedF64, 1e-12),
            (SolverId::GpuFusedDf64, 1e-10),
        ] {
            let solver = id.prepare_on(&problem, Some(&ctx), &settings);
            let mut solver = match solver {
                Err(GdError::Unavailable { reason }) => {
                    assert!(may_be_unavailable(id, &ctx, &reason), "{id}: {reason}");
                    eprintln!("{what}: {id} unavailable on {}: {reason}", ctx.label());
                    continue;
                }
                other => other.unwrap(),
            };
            let out = solver.solve().unwrap();
            let v = judge(&out, &reference, id.arithmetic(), &expect);
            assert_eq!(v.status, Status::Ok, "{what}: {id}: {}", v.message);
            assert!(v.max_rel_diff < most, "{what}: {id}: {v:?}");
            // The same data in f32 is far from that: the rung is not f32 in disguise.
            assert!(
                f32_diff > 1e3 * v.max_rel_diff.max(1e-16),
                "{what}: {id}: f32 {f32_diff:e} against {v:?}"
            );
            eprintln!("{what}: {id} Δ {:.1e} (f32 {f32_diff:.1e})", v.max_rel_diff);
        }
    }
}

#[test]
fn df64_arithmetic_survives_this_adapters_compiler() {
    // The self-check compares the adapter's two_sum and two_prod bit for bit with IEEE f32 (the
    // CPU twin) on cases whose error terms are not zero: a compiler that reassociates or rounds
    // fma twice fails it. Here it must pass, by fma or by Dekker's split.
    let Some(ctx) = gpu_or_skip("df64 self-check") else {
        return;
    };
    match gdbench::gpu::df64_check::self_check(&ctx, &Default::default()) {
        Ok(product) => eprintln!("df64 on {}: products by {product:?}", ctx.label()),
        Err(GdError::Unavailable { reason })
            if may_be_unavailable(SolverId::GpuFusedDf64, &ctx, &reason) =>
        {
            eprintln!("df64 unavailable on {}: {reason}", ctx.label())
        }
        Err(e) => panic!("df64 must survive {}: {e}", ctx.label()),
    }
}

#[test]
fn gpu_fused_f64_needs_the_real_alias_in_common_wgsl() {
    if gpu_or_skip("f64 alias").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = gdbench(&["shaders", "dump", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let common = dir.path().join("common.wgsl");
    let text = std::fs::read_to_string(&common).unwrap();
    let edited = text.replace("alias real = f32;", "alias real=f32;");
    assert_ne!(edited, text);
    std::fs::write(&common, edited).unwrap();
    let (r, _, _) = Run::small()
        .args(&["--solvers", "gpu-fused-f64,gpu-fused"])
        .args(&["--shaders", dir.path().to_str().unwrap()])
        .json();
    let runs = r["runs"].as_array().unwrap();
    let row = |name: &str| runs.iter().find(|r| r["solver"] == name).unwrap().clone();
    assert_eq!(
        row("gpu-fused")["status"],
        "ok",
        "the f32 rung does not need it"
    );
    let f64_row = row("gpu-fused-f64");
    if f64_row["status"] != "unavailable" {
        assert_eq!(f64_row["status"], "error", "{f64_row}");
        let message = f64_row["message"].as_str().unwrap();
        assert!(message.contains("alias real = f32;"), "{message}");
    }
}

#[test]
fn gpu_fused_f16_is_judged_on_the_rounded_data_and_reports_the_roundings_cost() {
    let Some(ctx) = gpu_or_skip("f16 rung") else {
        return;
    };
    let (r, _, err) = Run::bare()
        .args(&[
            "--n", "10003", "--epochs", "3000", "--repeat", "2", "--warmup", "0",
        ])
        .args(&[
            "--no-probe",
            "--solvers",
            "cpu-fused,gpu-fused,gpu-fused-f16",
        ])
        .json();
    let runs = r["runs"].as_array().unwrap();
    let row = |name: &str| runs.iter().find(|r| r["solver"] == name).unwrap().clone();
    let f16 = row("gpu-fused-f16");
    if !ctx.features.contains(wgpu::Features::SHADER_F16) {
        assert_eq!(f16["status"], "unavailable", "{f16}");
        assert!(f16["data_rounding_rel_diff"].is_null(), "{f16}");
        return;
    }
    assert_eq!(f16["status"], "ok", "{f16} {err}");
    assert_eq!(f16["precision"], "f16");
    assert!(row("gpu-fused")["data_rounding_rel_diff"].is_null());
    // The rounding's cost: the f64 descent on f16-rounded data against the full reference.
    let problem = synthetic(10_003, 0.1, 444, 0.001, 3_000);
    let full = solve(SolverId::REFERENCE, &problem);
    let on_f16 = solve(SolverId::REFERENCE, &problem.rounded_to_f16().unwrap());
    let scale = full.w[0].abs().max(full.w[1].abs());
    let cost = (0..2)
        .map(|i| (on_f16.w[i] - full.w[i]).abs())
        .fold(0.0, f64::max)
        / scale;
    let reported = f16["data_rounding_rel_diff"].as_f64().unwrap();
    assert!(
        (reported - cost).abs() <= 1e-12 * cost.max(1e-300),
        "{reported} vs {cost}"
    );
    assert!(cost > 0.0 && cost < 1e-3, "{cost:e}");
    // It matters where f16 rounds every x the same way (near 100 its spacing is 1/16, and each x
    // sits 0.03 above a representable value): held against the full-precision reference the f16
    // rung fails; against the rounded data it passes.
    let x: Vec<f64> = (0..4_099)
        .map(|i| 100.0 + (i % 16) as f64 / 16.0 + 0.03)
        .collect();
    let d: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, x)| 3.0 + 2.0 * x + (i % 7) as f64 * 1e-3)
        .collect();
    let source = gdbench::Source::Synthetic {
        seed: 0,
        sigma: 0.0,
    };
    let data = gdbench::Dataset::new(x, d, source).unwrap();
    let mu = 0.5 * Expectations::of(&Problem::new(data.clone(), 1e-9, 1).unwrap()).max_stable_mu;
    let far = Problem::new(data, mu, 3_000).unwrap();
    let rounded = far.rounded_to_f16().unwrap();
    let out = solve_on(SolverId::GpuFusedF16, &far, &ctx);
    let against_full = judge(
        &out,
        &solve(SolverId::REFERENCE, &far),
        SolverId::GpuFusedF16.arithmetic(),
        &Expectations::of(&far),
    );
    assert_eq!(against_full.status, Status::Mismatch, "{against_full:?}");
    let against_rounded = judge(
        &out,
        &solve(SolverId::REFERENCE, &rounded),
        SolverId::GpuFusedF16.arithmetic(),
        &Expectations::of(&rounded),
    );
    assert_eq!(against_rounded.status, Status::Ok, "{against_rounded:?}");
}

#[test]
fn f16_storage_refuses_data_beyond_its_range_on_both_sides() {
    let Some(ctx) = gpu_or_skip("f16 range") else {
        return;
    };
    let problem = spread_line(70.0, 1e-12);
    for id in [SolverId::CpuFusedF16, SolverId::GpuFusedF16] {
        let reason = common::unavailable_reason(
            &format!("{id} with x up to 69 930"),
            id.prepare_on(&problem, Some(&ctx), &GpuSettings::default()),
        );
        assert!(
            reason.contains("SHADER_F16") || reason.contains("65 504"),
            "{id}: {reason}"
        );
    }
}

/// The line d = 1 + x/2 at x = 0, step, 2·step, … (1 000 samples), with step size `mu`.
fn spread_line(step: f64, mu: f64) -> Problem {
    let x: Vec<f64> = (0..1_000).map(|i| step * i as f64).collect();
    let d: Vec<f64> = x.iter().map(|x| 1.0 + 0.5 * x).collect();
    let source = gdbench::Source::Synthetic {
        seed: 0,
        sigma: 0.0,
    };
    Problem::new(gdbench::Dataset::new(x, d, source).unwrap(), mu, 5).unwrap()
}

#[test]
fn df64_refuses_data_beyond_its_range() {
    // Dekker's split multiplies by 4 097: past f32::MAX / 4 097 it would overflow to NaN.
    let Some(ctx) = gpu_or_skip("df64 range") else {
        return;
    };
    let problem = spread_line(1e32, 1e-72);
    let reason = common::unavailable_reason(
        "gpu-fused-df64 with x up to 1e35",
        SolverId::GpuFusedDf64.prepare_on(&problem, Some(&ctx), &GpuSettings::default()),
    );
    assert!(reason.contains("8e34"), "{reason}");
}
