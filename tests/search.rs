//! Step-size searches (`--mu LIST` or `LO..HI:K`): K descents in one run equal K single runs,
//! steps past the stability limit diverge while the others validate, the best step matches a
//! NumPy loop over the steps, and bad lists are refused.

mod common;

use std::sync::Arc;

use common::{Run, cpu_solvers, refuses};
use gdbench::solver::Precision;
use gdbench::validate::{Arithmetic, Expectations, differences};
use gdbench::{Dataset, Problem, SolverId};
use serde_json::Value;

/// `k` steps from 1e-4 up to 1.3 × the data's stability limit, log-spaced: the last few diverge.
fn steps_across_the_limit(data: &Dataset, k: usize) -> Vec<f64> {
    let limit = gdbench::validate::Expectations::of(&Problem::new(data.clone(), 1e-3, 1).unwrap())
        .max_stable_mu;
    let (lo, hi) = (1e-4f64.ln(), (1.3 * limit).ln());
    (0..k)
        .map(|i| (lo + (hi - lo) * i as f64 / (k - 1).max(1) as f64).exp())
        .collect()
}

/// Synthetic data of `n` samples (seed 7), [`steps_across_the_limit`] for `k` steps, and the
/// search of `epochs` epochs over them.
fn search_across_the_limit(n: usize, k: usize, epochs: u64) -> (Arc<Dataset>, Vec<f64>, Problem) {
    let data = Arc::new(Dataset::synthetic(n, 0.1, 7).unwrap());
    let steps = steps_across_the_limit(&data, k);
    let search = Problem::search(Arc::clone(&data), steps.clone(), epochs).unwrap();
    (data, steps, search)
}

#[test]
fn k_descents_in_one_run_equal_k_single_runs_bit_for_bit() {
    for (n, k, epochs) in [
        (1_000, 1, 50),
        (5_000, 3, 40),
        (4_099, 37, 30),
        (300, 256, 20),
    ] {
        let (data, steps, search) = search_across_the_limit(n, k, epochs);
        for id in cpu_solvers() {
            let all = id.prepare(&search).unwrap().solve_all().unwrap();
            assert_eq!(all.len(), k, "{id}");
            for (i, &mu) in steps.iter().enumerate() {
                let single = Problem::shared(Arc::clone(&data), mu, epochs).unwrap();
                let alone = id.prepare(&single).unwrap().solve().unwrap();
                assert_eq!(all[i], alone, "{id}: N={n}, K={k}, step {i} (mu = {mu})");
            }
        }
    }
}

#[test]
fn steps_past_the_limit_diverge_while_the_others_validate() {
    let (r, code, err) = Run::small()
        .args(&["--solvers", "cpu", "--mu", "1e-3..1.0:9"])
        .json();
    assert_eq!(code, 0, "{err}");
    let limit = r["problem"]["max_stable_mu"].as_f64().unwrap();
    let mus: Vec<f64> = r["problem"]["mu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(mus.len(), 9);
    assert!(mus.iter().any(|&m| m >= limit) && mus.iter().any(|&m| m < limit));
    for run in r["runs"].as_array().unwrap() {
        assert_eq!(run["status"], "ok", "{run}");
        let descents = run["descents"].as_array().unwrap();
        assert_eq!(descents.len(), 9, "{}", run["solver"]);
        for (d, &mu) in descents.iter().zip(&mus) {
            assert_eq!(d["mu"].as_f64().unwrap(), mu);
            if mu >= limit {
                assert_eq!(d["status"], "diverged", "{d}");
                assert!(d["loss"].is_null(), "{d}");
            } else {
                assert_eq!(d["status"], "ok", "{d}");
                assert!(d["loss"].as_f64().unwrap() > 0.0, "{d}");
                assert_eq!(d["w"].as_array().unwrap().len(), 2);
            }
        }
        // Each row reads the data once per step or once for all: no single bandwidth to claim.
        assert!(run["effective_gb_s"].is_null(), "{run}");
    }
    // The best step is one of the reference's converging steps, and the reference's weights
    // shown are its (which step is best is held against exact arithmetic below).
    let reference = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|run| run["reference"] == true)
        .unwrap();
    let best = reference["descents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["mu"] == r["best_mu"])
        .expect("the best step is one of the steps");
    assert_eq!(best["status"], "ok", "{best}");
    assert_eq!(r["best"]["w"], best["w"]);
    assert_eq!(r["best"]["loss"], best["loss"]);
    assert!(r["best"]["tied"].as_u64().unwrap() >= 1);
    assert_eq!(r["reference"]["mu"], best["mu"]);
}

/// Exact losses of a report's reference descents, in Python's rational arithmetic (no rounding
/// anywhere): for each converging step `mu excess`, where excess is its loss minus the lowest
/// step's over the variance of d, then a line `best_excess` for gdbench's best step.
const EXACT_LOSSES: &str = r#"
import csv, json, sys
from fractions import Fraction as F
xs, ds = [], []
for row in csv.reader(open(sys.argv[1])):
    xs.append(F(float(row[0]))); ds.append(F(float(row[1])))
n = len(xs)
md = sum(ds) / n
var = sum((d - md) ** 2 for d in ds) / n
r = json.load(open(sys.argv[2]))
ref = next(run for run in r["runs"] if run["reference"])
loss = {}
for step in ref["descents"]:
    if step["status"] == "ok":
        w0, w1 = F(step["w"][0]), F(step["w"][1])
        loss[step["mu"]] = sum((d - w0 - w1 * x) ** 2 for x, d in zip(xs, ds)) / n
low = min(loss.values())
for mu, l in sorted(loss.items()):
    print(repr(mu), repr(float((l - low) / var)))
"#;

/// What [`EXACT_LOSSES`] says of `report` on the data in `csv`: (mu, excess over the lowest,
/// relative to the variance of d) for each converging step.
fn exact_excess(csv: &std::path::Path, report: &std::path::Path) -> Vec<(f64, f64)> {
    let out = std::process::Command::new("python3")
        .args(["-c", EXACT_LOSSES])
        .arg(csv)
        .arg(report)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v = l.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            (v.next().unwrap(), v.next().unwrap())
        })
        .collect()
}

#[test]
fn the_best_step_holds_against_exact_arithmetic() {
    // Steps whose weights agree to about 1e-13 got final losses 2e-16 apart from the cancelling
    // expansion of the loss, and a rule on those losses named the wrong one. Held here against
    // losses in exact rational arithmetic, on low-noise data, noiseless data (the lowest loss
    // near 0, where a tie relative to it ties nothing) and the article's.
    //
    // Within 1e-28 of the variance of d two steps' weights agree to about 1e-14, inside the f64
    // descent's own rounding: they must be tied (no smaller step may sit there). Beyond 1e-20
    // they are 1e-10 apart, far outside it: the best must not sit there.
    const SAME: f64 = 1e-28;
    const APART: f64 = 1e-20;
    let dir = tempfile::tempdir().unwrap();
    let article = Dataset::load(&common::article_fixture()).unwrap();
    for (what, data) in [
        (
            "sigma 0.001",
            Dataset::synthetic(10_000, 0.001, 444).unwrap(),
        ),
        ("sigma 0", Dataset::synthetic(10_000, 0.0, 444).unwrap()),
        ("the article's data", article),
    ] {
        let csv = dir.path().join("data.csv");
        let rows: String = data
            .x()
            .iter()
            .zip(data.d())
            .map(|(x, d)| format!("{x:?},{d:?}\n"))
            .collect();
        std::fs::write(&csv, rows).unwrap();
        let json = dir.path().join("report.json");
        let out = Run::bare()
            .args(&["--data", csv.to_str().unwrap(), "--solvers", "cpu-fused"])
            .args(&["--mu", "0.02..0.4:9", "--epochs", "1000", "--repeat", "1"])
            .args(&["--warmup", "0", "--no-probe", "--format", "json"])
            .args(&["--output", json.to_str().unwrap()])
            .output();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}",
            common::stderr(&out)
        );
        let r: Value = common::document(&std::fs::read_to_string(&json).unwrap());
        let best = r["best_mu"].as_f64().unwrap();
        let excess = exact_excess(&csv, &json);
        // serde_json reads floats to within an ulp, not always exactly: steps are far apart.
        let is_best = |mu: f64| (mu / best - 1.0).abs() < 1e-12;
        let of_best = excess
            .iter()
            .find(|(mu, _)| is_best(*mu))
            .unwrap_or_else(|| panic!("{what}: best {best} is not a converging step: {excess:?}"))
            .1;
        assert!(
            of_best <= APART,
            "{what}: best {best} is {of_best:e} above the lowest: {excess:?}"
        );
        for &(mu, e) in excess.iter().filter(|(mu, _)| *mu < best && !is_best(*mu)) {
            assert!(
                e > SAME,
                "{what}: {mu} reaches the lowest loss ({e:e}) and is smaller than best {best}: {excess:?}"
            );
        }
        // Every step at the lowest loss is counted as tied.
        let same = excess.iter().filter(|(_, e)| *e <= SAME).count() as u64;
        let tied = r["best"]["tied"].as_u64().unwrap();
        assert!(tied >= same, "{what}: tied {tied} of {excess:?}");
        eprintln!("{what}: best {best}, tied {tied}; exact excess {excess:?}");
    }
}

#[test]
fn a_mismatching_step_makes_the_row_a_mismatch_and_names_it() {
    // The reference perturbed (fault injection) at every step: every other row disagrees at 1e-8.
    let (r, code, _) = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-moments", "--mu", "0.001,0.01"])
        .env("GDBENCH_FAULT", "reference")
        .json();
    assert_eq!(code, 3);
    let moments = &r["runs"][1];
    assert_eq!(moments["solver"], "cpu-moments");
    assert_eq!(moments["status"], "mismatch", "{moments}");
    assert!(
        moments["message"]
            .as_str()
            .unwrap()
            .contains("2 of 2 descents mismatch; at mu = 0.001"),
        "{moments}"
    );
    for d in moments["descents"].as_array().unwrap() {
        assert_eq!(d["status"], "mismatch", "{d}");
    }
}

#[test]
fn gpu_searches_agree_with_single_gpu_runs_and_the_reference() {
    let Some(ctx) = common::gpu_or_skip("gpu searches") else {
        return;
    };
    // Awkward K (a part-filled block, many blocks with padding, 256) and N (an odd tail).
    for (n, k, epochs) in [
        (1_000, 3, 50),
        (2_001, 6, 40),
        (4_099, 37, 30),
        (300, 256, 20),
    ] {
        let (data, steps, search) = search_across_the_limit(n, k, epochs);
        let expect = Expectations::each(&search);
        let reference = SolverId::REFERENCE
            .prepare(&search)
            .unwrap()
            .solve_all()
            .unwrap();
        for id in common::gpu_solvers() {
            let all = match id.prepare_on(&search, Some(&ctx), &Default::default()) {
                Ok(mut solver) => solver.solve_all().unwrap_or_else(|e| panic!("{id}: {e}")),
                Err(gdbench::GdError::Unavailable { reason }) => {
                    // Only the designs that take one step, or what the adapter lacks.
                    let one_step = [
                        SolverId::GpuMultipass,
                        SolverId::GpuBatched,
                        SolverId::GpuSubgroup,
                        SolverId::GpuFusedDf64,
                    ];
                    assert!(
                        (one_step.contains(&id) && reason.contains("gpu-fused"))
                            || common::may_be_unavailable(id, &ctx, &reason),
                        "{id} K={k}: {reason}"
                    );
                    continue;
                }
                Err(e) => panic!("{id}: {e}"),
            };
            assert_eq!(all.len(), k, "{id}");
            let precision = id.precision();
            // Steps checked against the same solver run alone: a few, each run costs a prepare.
            let alone_at = [0, k / 2, k - 1];
            for (i, &mu) in steps.iter().enumerate() {
                let what = format!("{id}: N={n}, K={k}, step {i} (mu = {mu})");
                if !expect[i].converges() {
                    // Past the limit: out of range by the end exactly when the reference is.
                    let (gpu, cpu) = (all[i].diverged_at, reference[i].diverged_at);
                    assert_eq!(gpu.is_some(), cpu.is_some(), "{what}: {gpu:?} {cpu:?}");
                    continue;
                }
                assert_eq!(all[i].diverged_at, None, "{what}");
                let tolerance = expect[i].tolerance(Arithmetic::F32).max(1e-12);
                if precision != Precision::F16 {
                    // f16 stores rounded data: its own rows judge it on those (tests/gpu.rs).
                    let (_, rel) = differences(&all[i], &reference[i]);
                    assert!(rel <= tolerance, "{what}: {rel:e} from the reference");
                }
                if alone_at.contains(&i) {
                    let single = Problem::shared(Arc::clone(&data), mu, epochs).unwrap();
                    let alone = common::solve_on(id, &single, &ctx);
                    let (_, rel) = differences(&all[i], &alone);
                    assert!(rel <= 2.0 * tolerance, "{what}: {rel:e} from its run alone");
                }
            }
        }
    }
}

#[test]
fn a_gpu_search_over_several_blocks_and_chunks_agrees_with_the_reference() {
    let Some(ctx) = common::gpu_or_skip("gpu search blocks") else {
        return;
    };
    // gpu-fused on workgroups of 8: K = 37 needs two blocks of 32 steps (padded to 64) and tiles
    // of 32 samples, and a 4 KiB binding cap splits N = 4 099 into five chunks, each with its own
    // groups. gpu-persistent (one binding) on 64: 16 vec4s of steps × 4 lanes of samples.
    let settings = |wg, cap| gdbench::gpu::GpuSettings {
        workgroup_size: Some(wg),
        max_binding_bytes: cap,
        ..Default::default()
    };
    let (_, _, search) = search_across_the_limit(4_099, 37, 30);
    let expect = Expectations::each(&search);
    let reference = SolverId::REFERENCE
        .prepare(&search)
        .unwrap()
        .solve_all()
        .unwrap();
    for (id, wg, cap) in [
        (SolverId::GpuFused, 8, Some(4096)),
        (SolverId::GpuPersistent, 64, None),
    ] {
        let mut solver = id
            .prepare_on(&search, Some(&ctx), &settings(wg, cap))
            .unwrap();
        assert_eq!(
            solver.chunks(),
            Some(if cap.is_some() { 5 } else { 1 }),
            "{id}"
        );
        let all = solver.solve_all().unwrap();
        for (i, (got, want)) in all.iter().zip(&reference).enumerate() {
            if expect[i].converges() {
                let (_, rel) = differences(got, want);
                let tolerance = expect[i].tolerance(Arithmetic::F32);
                assert!(rel <= tolerance, "{id}: step {i}: {rel:e} > {tolerance:e}");
            }
        }
    }
}

#[test]
fn the_best_step_matches_a_numpy_loop_over_the_steps() {
    if !common::numpy_or_skip("best step against NumPy") {
        return;
    }
    let fixture = common::article_fixture();
    let (r, code, err) = Run::bare()
        .args(&[
            "--data",
            fixture.to_str().unwrap(),
            "--epochs",
            "30",
            "--repeat",
            "1",
        ])
        .args(&["--warmup", "0", "--no-probe", "--solvers", "cpu-fused"])
        .args(&["--mu", "1e-3..0.6:12"])
        .json();
    assert_eq!(code, 0, "{err}");
    // The article's NumPy loop, once per step; the lowest final mean squared error wins.
    let script = r#"
import numpy as np, sys
a = np.load(sys.argv[1]); x, d = a[:, 0], a[:, 1]
best = None
for mu in np.exp(np.linspace(np.log(1e-3), np.log(0.6), 12)):
    w0 = w1 = 0.0
    with np.errstate(all="ignore"):
        for _ in range(30):
            e = d - (w0 + w1 * x)
            w0 += mu * 2 * e.mean()
            w1 += mu * 2 * (e * x).mean()
        loss = float(np.mean((d - w0 - w1 * x) ** 2))
    if np.isfinite(loss) and abs(w0) < 1e6 and (best is None or loss < best[1]):
        best = (float(mu), loss)
print(best[0], best[1])
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, fixture.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut parts = text.split_whitespace().map(|v| v.parse::<f64>().unwrap());
    let (mu, loss) = (parts.next().unwrap(), parts.next().unwrap());
    let best_mu = r["best_mu"].as_f64().unwrap();
    assert!(
        (best_mu / mu - 1.0).abs() < 1e-12,
        "gdbench {best_mu}, numpy {mu}"
    );
    let best_loss = r["best"]["loss"].as_f64().unwrap();
    assert!(
        (best_loss / loss - 1.0).abs() < 1e-9,
        "gdbench {best_loss}, numpy {loss}"
    );
}

#[test]
fn bad_step_lists_are_one_line_errors() {
    refuses(&["--mu", "1.0..1e-4:5"], "LO must be below HI");
    refuses(&["--mu", "1e-4..1:0"], "K ≥ 2");
    refuses(&["--mu", "0.1,nan"], "not a step size");
    refuses(&["--mu", "0.1,-0.2"], "not a step size");
    refuses(&["--mu", "-1..1:4"], "not a step size");
    refuses(&["--mu", "0.1,0.1"], "appears twice");
}

#[test]
fn a_search_table_lists_the_steps_and_the_best() {
    let out = Run::small()
        .args(&["--solvers", "cpu-fused", "--mu", "1e-3..1.0:5"])
        .output();
    let text = common::stdout(&out);
    assert!(
        text.contains("per descent") && text.contains("GFLOP/s"),
        "{text}"
    );
    assert!(
        text.contains("step-size search: 5 steps from 0.001 to 1"),
        "{text}"
    );
    let best = text
        .lines()
        .find(|l| l.starts_with("best step: mu = "))
        .unwrap_or_else(|| panic!("{text}"));
    let mu: f64 = best["best step: mu = ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("(best)") && l.trim_start().starts_with(&format!("{mu:.4e}"))),
        "{text}"
    );
    assert!(text.contains("diverged by epoch"), "{text}");
}

#[test]
fn plot_draws_the_loss_against_mu_with_the_best_step_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("search.svg");
    let (r, code, err) = Run::small()
        .args(&["--solvers", "cpu-fused,cpu-moments", "--mu", "1e-3..1.0:9"])
        .args(&["--plot", svg.to_str().unwrap()])
        .json();
    assert_eq!(code, 0, "{err}");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.contains("<svg"), "not SVG");
    let best = r["best_mu"].as_f64().unwrap();
    let loss = r["best"]["loss"].as_f64().unwrap();
    let limit = r["problem"]["max_stable_mu"].as_f64().unwrap();
    assert!(
        plot.contains(&format!("best: mu = {best:.4e}, loss {loss:.4e}")),
        "best step not marked as in the JSON"
    );
    assert!(plot.contains(&format!("2/λ_max = {limit:.4e}")));
    // Steps past the limit diverge here: they are drawn, as crosses, not left out.
    let diverged = r["runs"][0]["descents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "diverged")
        .count();
    assert!(diverged > 0);
    assert!(plot.contains(&format!("{diverged} diverged (drawn at the top)")));
    // Only a search has a loss against mu to draw.
    refuses(
        &[
            "--mu",
            "0.001",
            "--plot",
            svg.to_str().unwrap(),
            "--no-probe",
        ],
        "draws the loss against mu of a step-size search",
    );
    // No row that ran the search (gpu-multipass sits searches out): the report still comes,
    // with the row's exit code, and the plot is skipped with a warning.
    let skipped = dir.path().join("skipped.svg");
    let (r, code, err) = Run::small()
        .args(&["--solvers", "gpu-multipass", "--mu", "0.001,0.002"])
        .args(&["--plot", skipped.to_str().unwrap()])
        .json();
    assert_eq!(r["runs"][0]["status"], "unavailable");
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("no plot written"), "{err}");
    assert!(!skipped.exists());
}

#[test]
fn a_thousand_step_gpu_search_validates_every_step() {
    // 1 024 steps in one block (one lane of samples per vec4 of steps: the longest rounding
    // chains the kernel makes); every converging step must pass the spot check near f32 rounding.
    // (Summing each tile in one chain, as a first version did, failed it for 2 steps in f16.)
    if common::gpu_or_skip("a thousand-step gpu search").is_none() {
        return;
    }
    let (r, code, err) = Run::bare()
        .args(&["--n", "100000", "--epochs", "8", "--mu", "1e-3..1e-1:1024"])
        .args(&["--repeat", "1", "--warmup", "0", "--no-probe", "--quiet"])
        .args(&["--solvers", "cpu-fused,gpu-fused,gpu-fused-f16"])
        .json();
    // A named row that cannot run (f16 without SHADER_F16, as on GL) exits 4; nothing else may.
    let f16_missing = r["runs"][2]["status"] == "unavailable";
    assert_eq!(code, if f16_missing { 4 } else { 0 }, "{err}");
    for run in r["runs"].as_array().unwrap() {
        if run["solver"] == "gpu-fused-f16" && run["status"] == "unavailable" {
            assert!(
                run["message"].as_str().unwrap().contains("SHADER_F16"),
                "{run}"
            );
            continue;
        }
        assert_eq!(run["status"], "ok", "{}: {}", run["solver"], run["message"]);
        let descents = run["descents"].as_array().unwrap();
        assert_eq!(descents.len(), 1024);
        assert!(
            descents.iter().all(|d| d["status"] == "ok"),
            "{}",
            run["solver"]
        );
    }
}
