//! The wall each row hits (`bound`), the verdict above the table (`summary`) and the default
//! report's size, on runs whose answer is known: a CPU row whose data sit in cache, one that
//! streams data several times the last-level cache, a GPU row whose epoch is a few tiny
//! dispatches. Each run probes the machine; the tests take turns so none disturbs another's
//! timing.

mod common;

use std::sync::Mutex;

use common::{Run, stdout};
use serde_json::Value;

/// One probed run at a time: the bandwidth case needs the machine to itself.
static TURN: Mutex<()> = Mutex::new(());

/// A probed run of `args` (no `--no-probe`), three repeats: its JSON report.
fn probed(args: &[&str]) -> Value {
    probed_with(3, args)
}

/// The same with `repeat` repeats.
fn probed_with(repeat: u32, args: &[&str]) -> Value {
    let (report, code, stderr) = Run::bare()
        .args(&["--repeat", &repeat.to_string(), "--quiet"])
        .args(args)
        .json();
    assert_eq!(code, 0, "{stderr}");
    report
}

fn row<'a>(report: &'a Value, solver: &str) -> &'a Value {
    common::row(report, solver)
}

#[test]
fn a_cpu_row_whose_data_sit_in_cache_is_held_against_its_compute_limit() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // 10 000 samples: 156 KiB in f64, inside any last-level cache.
    let solvers = "cpu-fused,cpu-fused-f32,cpu-moments";
    let args = ["--solvers", solvers, "--n", "10000", "--epochs", "200"];
    let report = probed(&args);
    let ops = &report["ceilings"]["cpu"]["ops"];
    let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("{v} is no number"));
    if report["machine"]["simd"] == "baseline" {
        // The portable kernel has no FMA: no operation rates, so no limit.
        assert!(ops.is_null(), "{ops}");
        let run = row(&report, "cpu-fused");
        assert!(run.get("compute_limit_us").is_none(), "{run}");
        eprintln!("baseline SIMD: no compute limits to check");
        return;
    }
    // The limit, worked out here from the probe's rates: per sample, cpu-fused does 2
    // multiplies and 4 adds in f64; cpu-fused-f32 2 FMAs and 2 adds where the CPU has FMA (the
    // `simd` line of the machine says which), else as f64 does; multiplies pair with adds at
    // the rate of both together, the rest go at their own.
    let bits = f(&ops["bits"]);
    let fma_level = report["machine"]["simd"] != "baseline";
    let limit = |fmas: f64, adds: f64, lane_bits: f64| {
        let lanes = bits / lane_bits;
        let (fm, ad) = (fmas / lanes, adds / lanes);
        let paired = fm.min(ad);
        10_000.0
            * (2.0 * paired / f(&ops["fma_add_per_ns"])
                + (fm - paired) / f(&ops["fma_per_ns"])
                + (ad - paired) / f(&ops["add_per_ns"]))
            / 1e3
    };
    // Where the data (x and d) are beyond the core's L1d and within its L2, reading what L1d
    // cannot hold at the L2 probe's rate (or the row's, where faster) is a floor too: the limit
    // is the longer.
    let l2 = &report["ceilings"]["cpu"]["l2"];
    let reads = |bytes: f64, run: &Value| {
        let within = !l2.is_null() && bytes > f(&l2["l1d_bytes"]) && bytes <= f(&l2["l2_bytes"]);
        if within {
            let rate = f(&l2["read_gb_s"]).max(f(&run["effective_gb_s"]));
            (bytes - f(&l2["l1d_bytes"])) / rate / 1e3
        } else {
            0.0
        }
    };
    let f32_adds = if fma_level { 2.0 } else { 4.0 };
    for (solver, ops_limit, bytes) in [
        ("cpu-fused", limit(2.0, 4.0, 64.0), 16e4),
        ("cpu-fused-f32", limit(2.0, f32_adds, 32.0), 8e4),
    ] {
        let run = row(&report, solver);
        let want = ops_limit.max(reads(bytes, run));
        let got = f(&run["compute_limit_us"]);
        assert!(
            (got - want).abs() <= 1e-9 * want,
            "{solver}: {got} vs {want}"
        );
        // Its bound is its limit's share of its epoch: compute from half of it, else cache.
        let bound = &run["bound"];
        let share = 100.0 * want / f(&run["epoch_us"]);
        assert!(
            (f(&bound["share"]) - share).abs() <= 1e-9 * share,
            "{bound}"
        );
        assert_eq!(f(&bound["ceiling"]), got, "{bound}");
        assert_eq!(bound["unit"], "µs/epoch (compute limit)", "{bound}");
        let kind = if share >= 50.0 { "compute" } else { "cache" };
        assert_eq!(bound["kind"], kind, "{solver}: {bound}");
    }
    // cpu-moments reads no data: no limit, no wall.
    let moments = row(&report, "cpu-moments");
    assert!(moments.get("compute_limit_us").is_none(), "{moments}");
    assert!(moments["bound"].is_null(), "{moments}");
    // The verdict names the faster array row, in words and in facts (cpu-moments' shortcut
    // aside).
    let (a, b) = (row(&report, "cpu-fused"), row(&report, "cpu-fused-f32"));
    let fastest = if f(&a["epoch_us"]) < f(&b["epoch_us"]) {
        "cpu-fused"
    } else {
        "cpu-fused-f32"
    };
    let summary = &report["summary"];
    assert_eq!(summary["fastest_array"]["solver"], fastest, "{summary}");
    let line = summary["lines"][0].as_str().unwrap();
    assert!(line.starts_with(&format!("fastest: {fastest} (")), "{line}");
}

#[test]
fn cpu_threads_streaming_data_beyond_the_caches_is_bandwidth_bound() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // Data three times the rule's reach (twice the last-level cache), and at least 2e7 samples.
    let llc = gdbench::machine::last_level_cache().total as f64;
    let n = (3.0 * 2.0 * llc / 16.0).max(2e7) as u64;
    // The median of five 10-epoch solves. A shared VM's bandwidth moves with its neighbours
    // (74–97 % of the probe's ceiling in four runs here, and once under half), so a run that
    // reads under half its ceiling is run again, up to three times: each must be classified by
    // its own share, and one must reach the wall.
    let mut shares = Vec::new();
    for _ in 0..3 {
        let n = n.to_string();
        let args = ["--solvers", "cpu-threads", "--n", &n, "--epochs", "10"];
        let report = probed_with(5, &args);
        let run = row(&report, "cpu-threads");
        let bound = &run["bound"];
        // None when the row read past its ceiling even measured again (docs/report.md): at the
        // wall all the same, with no share (on a 2-core Zen 4 VM, 101 % of a 33 GB/s ceiling).
        let Some(share) = run["peak_pct"].as_f64() else {
            assert!(
                run["peak_note"]
                    .as_str()
                    .unwrap()
                    .contains("ceiling is suspect"),
                "{run}"
            );
            assert!(
                run["effective_gb_s"].as_f64().unwrap() > run["peak_gb_s"].as_f64().unwrap(),
                "{run}"
            );
            assert_eq!(bound["kind"], "bandwidth", "{bound}");
            assert_eq!(bound["share"], Value::Null, "{bound}");
            assert_eq!(bound["ceiling"], run["peak_gb_s"], "{bound}");
            return;
        };
        shares.push(share);
        if share < 50.0 {
            assert_eq!(bound["kind"], "overhead", "{bound}");
            continue;
        }
        assert_eq!(bound["kind"], "bandwidth", "{bound}");
        assert_eq!(bound["share"], run["peak_pct"], "{bound}");
        assert_eq!(bound["ceiling"], run["peak_gb_s"], "{bound}");
        return;
    }
    panic!("cpu-threads at N = {n} never read half its ceiling: {shares:?} %");
}

#[test]
fn a_gpu_row_of_tiny_dispatches_is_latency_bound_and_the_verdict_compares_it_with_the_cpu() {
    let Some(_) = common::gpu_or_skip("latency-bound GPU row") else {
        return;
    };
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    // N = 256: an epoch of gpu-multipass is three dispatches of one workgroup each and a
    // submission, of next to nothing, on any adapter. Nine repeats: a median a disturbed solve
    // does not move (the probe's costs are each the fastest of five).
    let report = probed_with(
        9,
        &[
            "--solvers",
            "cpu-fused,cpu-fused-f32,cpu-moments,gpu-multipass,gpu-persistent",
            "--n",
            "256",
            "--epochs",
            "500",
        ],
    );
    let multipass = row(&report, "gpu-multipass");
    let bound = &multipass["bound"];
    // The latency model: its counts times the adapter's measured costs.
    let adapter = report["ceilings"]["gpu"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["device"] == multipass["device"])
        .unwrap();
    let (p, l) = (&multipass["pacing"], &adapter["latency"]);
    let f = |v: &Value| v.as_f64().unwrap();
    // The counts are known: three one-workgroup dispatches of 256 invocations an epoch (a tree
    // of log2(256) + 1 = 9 barriers each) and a submission an epoch.
    assert_eq!(f(&p["dispatches_per_epoch"]), 3.0, "{p}");
    assert_eq!(f(&p["submissions_per_epoch"]), 1.0, "{p}");
    assert_eq!(f(&p["barriers_per_epoch"]), 27.0, "{p}");
    let floor = f(&p["dispatches_per_epoch"]) * f(&l["dispatch_us"])
        + f(&p["submissions_per_epoch"]) * f(&adapter["round_trip_us"])
        + f(&p["barriers_per_epoch"]) * f(&l["barrier_ns"]) * 1e-3;
    // Its wall is latency whenever the probed costs fill half its epoch: 76-106 % in most runs
    // on lavapipe, whose probed costs vary two- to threefold from run to run (its threads'
    // wake-ups), so a run may fall short; then no other wall is claimed for it either.
    let share = 100.0 * floor / f(&multipass["epoch_us"]);
    if share >= 50.0 {
        assert_eq!(bound["kind"], "latency", "{bound}");
        assert!(
            (f(&bound["share"]) - share).abs() <= 1e-9 * share,
            "{bound}"
        );
        assert!(
            (f(&bound["ceiling"]) - floor).abs() <= 1e-9 * floor,
            "{bound} vs {floor}"
        );
    } else {
        eprintln!("gpu-multipass: the probed fixed costs are {share:.0} % of its epoch here");
        assert!(
            matches!(bound["kind"].as_str(), Some("cache" | "overhead")),
            "{bound}"
        );
    }

    // The verdict: the fastest GPU row against the fastest CPU row that reads the data (not
    // cpu-moments), by their medians, in words that agree with the figure.
    let runs = report["runs"].as_array().unwrap();
    let fastest = |kind: &str| {
        runs.iter()
            .filter(|r| r["kind"] == kind && r["status"] == "ok" && r["solver"] != "cpu-moments")
            .min_by(|a, b| f(&a["epoch_us"]).total_cmp(&f(&b["epoch_us"])))
            .unwrap()
    };
    let (gpu, cpu) = (fastest("gpu"), fastest("cpu"));
    let versus = &report["summary"]["gpu_vs_cpu"][0];
    assert_eq!(versus["gpu"]["solver"], gpu["solver"], "{versus}");
    assert_eq!(versus["cpu"]["solver"], cpu["solver"], "{versus}");
    let speedup = f(&cpu["epoch_us"]) / f(&gpu["epoch_us"]);
    assert!(
        (f(&versus["gpu_speedup"]) - speedup).abs() <= 1e-9 * speedup,
        "{versus}"
    );
    let line = report["summary"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .find(|l| l.starts_with("GPU against CPU"))
        .unwrap();
    let word = if speedup >= 1.0 { "faster" } else { "slower" };
    assert!(
        line.contains(&format!("{}, is ", gpu["solver"].as_str().unwrap())),
        "{line}"
    );
    assert!(line.contains(word), "{line}");
    assert_eq!(
        line.contains("CPU emulation"),
        versus["software"].as_bool().unwrap(),
        "{line}"
    );
    // cpu-moments, an O(1) shortcut, is named apart from the fastest row that reads the data.
    let first = report["summary"]["lines"][0].as_str().unwrap();
    if report["summary"]["fastest"]["solver"] == "cpu-moments" {
        assert!(
            first.contains("cpu-moments' O(1)-per-epoch shortcut"),
            "{first}"
        );
    }
}

#[test]
fn the_default_report_of_every_solver_fits_fifty_lines_of_a_hundred_columns() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let out = Run::bare()
        .args(&["--n", "2000", "--epochs", "200", "--repeat", "3", "--quiet"])
        .output();
    let text = stdout(&out);
    // The test's binary is a debug build, whose report opens with a line saying so, and its 3
    // repeats get a note that they are too few for a spread: a release build's default report
    // (the one the README promises) has neither line.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("a debug build: its timings are not representative"))
        .filter(|l| !l.trim_start().starts_with("too few repeats for a spread"))
        .collect();
    assert!(lines.len() <= 50, "{} lines:\n{text}", lines.len());
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns:\n{text}");
    // The bound column, the table's answer, is among them (a longer solver name once pushed it
    // out of the 100 columns).
    let header = lines.iter().find(|l| l.starts_with(" solver")).unwrap();
    assert!(header.contains("bound"), "{header}");
    // Every solver has its row, and the verdict stands above the table.
    for id in gdbench::solver::SolverId::ALL {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!(" {} ", id.name()))),
            "{id} missing:\n{text}"
        );
    }
    let verdict = lines
        .iter()
        .position(|l| l.starts_with("verdict: "))
        .unwrap();
    let header = lines
        .iter()
        .position(|l| l.starts_with(" solver "))
        .unwrap();
    assert!(verdict < header, "{text}");
}
