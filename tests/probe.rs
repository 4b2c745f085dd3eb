//! The probe: the GPU kernel computes the chains it is credited with, `gdbench probe` prints
//! positive arithmetic peaks (a run, which does not measure them, says nothing of them), and an
//! all-core figure below its one-core figure is measured again and flagged only when it stays
//! below. The tests here take turns ([`one_at_a_time`]): two probes at once would disturb each
//! other, and a quiet probe must not be flagged.

mod common;

use std::sync::{Mutex, MutexGuard};

use common::{Run, gdbench, gpu_or_skip, stderr, stdout};
use gdbench::gpu::stream::{FMA_MAX_ITERATIONS, fma_chain_params, fma_expected, fma_sums};

/// Held by every test here for its whole run.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn the_gpu_fma_kernel_computes_the_chains_it_counts() {
    let _turn = one_at_a_time();
    let Some(ctx) = gpu_or_skip("GPU FMA kernel") else {
        return;
    };
    // Three workgroups and more: the seeds repeat every 1 024 invocations.
    let invocations = 3 * 256 + 1024;
    for iterations in [0, 1, 2, 64, 300, FMA_MAX_ITERATIONS] {
        // The probe's m and c for this count, and a fast-contracting pair.
        for (m, c) in [fma_chain_params(iterations), (0.9, 0.1)] {
            let sums = fma_sums(&ctx, invocations, m, c, iterations)
                .unwrap_or_else(|e| panic!("the FMA kernel failed: {e}"));
            assert!(sums.len() >= invocations as usize, "{}", sums.len());
            for (i, &got) in sums.iter().enumerate().take(invocations as usize) {
                let want = fma_expected(i as u32, m, c, iterations);
                // WGSL may round an fma once or twice: where it rounds twice, a drift of some
                // ulps (remembered for 1.44 × iterations at most).
                let off = ((got - want) / want).abs();
                assert!(
                    off < 1e-4,
                    "m = {m}, {iterations} iterations: invocation {i} wrote {got}, its CPU twin {want}"
                );
            }
        }
    }
    // The check has power: half the iterations would be far outside its tolerance (for the
    // invocations whose seeds lie far from the chains' limit, 1), with the probe's m and c at
    // any count.
    let fast = [(2, (0.9, 0.1)), (64, (0.9, 0.1))];
    let probes = [2, 16, 64, 300, FMA_MAX_ITERATIONS].map(|n| (n, fma_chain_params(n)));
    for (iterations, (m, c)) in fast.into_iter().chain(probes) {
        let (all, half) = (
            fma_expected(1023, m, c, iterations),
            fma_expected(1023, m, c, iterations / 2),
        );
        assert!(((all - half) / all).abs() > 1e-2, "{all} {half}");
    }
}

/// The numbers before each ` GFLOP/s` in `line`.
fn gflops(line: &str) -> Vec<f64> {
    line.split(" GFLOP/s")
        .filter_map(|before| before.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn gdbench_probe_prints_positive_flop_rates() {
    let _turn = one_at_a_time();
    let out = gdbench(&["probe"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let cpu: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("CPU arithmetic peak: "))
        .collect();
    assert_eq!(cpu.len(), 1, "{text}");
    let rates = gflops(cpu[0]);
    assert_eq!(rates.len(), 4, "f32 and f64, one core and all: {text}");
    assert!(rates.iter().all(|&r| r > 0.0), "{text}");
    assert!(cpu[0].contains("an FMA counts as 2 flops"), "{text}");
    // Every adapter measured for bandwidth has its f32 FLOP/s too, and no probe failed.
    let adapters = text
        .lines()
        .filter(|l| l.contains(": read bandwidth "))
        .count();
    let peaks: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(": f32 arithmetic peak "))
        .collect();
    assert_eq!(peaks.len(), adapters, "{text}");
    if adapters == 0 {
        // No adapter: a failure under CI (which installs lavapipe), a loud skip elsewhere.
        common::missing_in_ci_or_skip(
            "the GPU FLOP/s probe: no adapter",
            "install mesa-vulkan-drivers",
        );
    }
    for line in peaks {
        let rates = gflops(line);
        assert!(rates.len() == 1 && rates[0] > 0.0, "{line}");
    }
    assert!(!text.contains("probe failed"), "{text}");
}

#[test]
fn a_run_measures_flops_beside_bandwidth_for_its_rows_walls() {
    let _turn = one_at_a_time();
    let out = gdbench(&[
        "--n",
        "2000",
        "--epochs",
        "2",
        "--repeat",
        "1",
        "--warmup",
        "0",
        "--solvers",
        "cpu-fused",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r: serde_json::Value = common::document(&stdout(&out));
    let cpu = &r["ceilings"]["cpu"];
    assert!(cpu["read_gb_s_one_core"].as_f64().unwrap() > 0.0, "{cpu}");
    // The FMA ceilings a row's compute share is held against (src/suite/bound.rs).
    for key in [
        "gflops_f32_one_core",
        "gflops_f32_all_cores",
        "gflops_f64_one_core",
        "gflops_f64_all_cores",
    ] {
        assert!(cpu[key].as_f64().unwrap() > 0.0, "{key}: {cpu}");
    }
    // With the operation rates (where the kernels have FMA), a CPU row in cache is held against
    // its compute limit; without them, against the FMA ceiling.
    let run = common::row(&r, "cpu-fused");
    let bound = &run["bound"];
    if cpu["ops"].is_null() {
        assert_eq!(bound["ceiling"], cpu["gflops_f64_one_core"], "{bound}");
    } else {
        for key in [
            "fma_per_ns",
            "add_per_ns",
            "fma_add_per_ns",
            "add_latency_ns",
        ] {
            assert!(cpu["ops"][key].as_f64().unwrap() > 0.0, "{key}: {cpu}");
        }
        assert_eq!(bound["ceiling"], run["compute_limit_us"], "{bound}");
        assert_eq!(bound["unit"], "µs/epoch (compute limit)", "{bound}");
    }
    // Quiet (no other test runs beside it): all cores read at least about what one core does.
    assert_eq!(cpu["disturbed"], false, "{cpu}");
    assert!(cpu["note"].is_null(), "{cpu}");
}

#[test]
fn an_all_core_figure_below_one_core_twice_is_flagged_and_rows_meet_the_larger() {
    let _turn = one_at_a_time();
    // The testing aid halves every all-core measurement, as another program would.
    let (r, code, err) = Run::bare()
        .args(&[
            "--n", "40000", "--epochs", "2", "--repeat", "1", "--warmup", "0",
        ])
        .args(&["--solvers", "cpu-threads"])
        .env("GDBENCH_FAULT", "busy-probe")
        .json();
    assert_eq!(code, 0, "{err}");
    let cpu = &r["ceilings"]["cpu"];
    assert_eq!(cpu["disturbed"], true, "{cpu}");
    let (one, all) = (
        cpu["read_gb_s_one_core"].as_f64().unwrap(),
        cpu["read_gb_s_all_cores"].as_f64().unwrap(),
    );
    assert!(all < one, "{cpu}");
    assert!(
        cpu["note"]
            .as_str()
            .unwrap()
            .contains("read bandwidth: all"),
        "{cpu}"
    );
    // cpu-threads on several threads (its tree forks at N = 40 000): held against the one-core
    // figure, the larger.
    let threads = &r["runs"][0];
    if r["machine"]["threads"].as_u64().unwrap() > 1 {
        assert!(threads["threads"].as_u64().unwrap() > 1, "{threads}");
        assert_eq!(threads["peak_gb_s"].as_f64().unwrap(), one, "{threads}");
    }
    // `gdbench probe` says so, FLOP/s included.
    let out = Run::bare()
        .args(&["probe"])
        .env("GDBENCH_FAULT", "busy-probe")
        .output();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        text.contains("CPU probe disturbed: read bandwidth"),
        "{text}"
    );
    assert!(text.contains("f32 FLOP/s: all"), "{text}");
}
