//! `gdbench gallery DIR`: one page over the reports of real machines kept in a folder
//! (docs/results/): per machine its GPU, its best CPU and GPU rows at the article's size, the
//! GPU's speed against the CPU's at N = 1e4 and 1e8, and where the GPU starts to win.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::format::{epoch_us, short_device_name};
use crate::error::{GdError, Result};

/// The article's size: the gallery's first column of speeds.
pub const ARTICLE_N: u64 = 10_000;

/// The large size the gallery also reports.
pub const LARGE_N: u64 = 100_000_000;

/// The page's name in the folder.
pub const PAGE: &str = "README.md";

/// One report in the folder, as the page lists it.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// The file name.
    file: String,
    /// `run`, `sweep`, `probe` or `compare`.
    kind: &'static str,
    /// The machine it ran on, when it says.
    machine: Option<String>,
    /// `N = …` of a run, `N = a…b` of a sweep.
    what: String,
    /// gdbench version, commit and UTC day, as far as it says.
    made: String,
    /// The plot beside it (`NAME.svg` for `NAME.json`), when there is one.
    plot: Option<String>,
}

/// The rows measured at one N on one machine.
type Points = BTreeMap<u64, Vec<Value>>;

/// Reads every `*.json` report in `dir` (run and sweep reports count; probe and compare documents
/// are listed) and returns the page, Markdown. Refuses a folder with no report.
pub fn render_gallery(dir: &Path) -> Result<String> {
    let bad = |problem: String| GdError::InvalidParameter {
        name: "gallery",
        problem,
    };
    let listing = std::fs::read_dir(dir).map_err(|e| {
        bad(format!(
            "cannot read {}: {e} (name a folder of reports)",
            dir.display()
        ))
    })?;
    let mut files: Vec<_> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut entries = Vec::new();
    let mut machines: BTreeMap<String, Points> = BTreeMap::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("{name} is not JSON ({e}): remove it or fix it")))?;
        let Some(kind) = crate::schema::kind_of(&value) else {
            return Err(bad(format!(
                "{name} is not a gdbench report (no runs, points, rows or ceilings): remove it"
            )));
        };
        let machine = machine_name(&value);
        // Probe and compare documents are listed, not counted: they time no solver.
        if let (Some(m), "run" | "sweep") = (&machine, kind) {
            let points = machines.entry(m.clone()).or_default();
            for (n, runs) in observations(&value) {
                points.entry(n).or_default().extend(runs);
            }
        }
        entries.push(Entry {
            file: name,
            kind,
            machine,
            what: what(&value, kind),
            made: made(&value),
            plot: Some(path.with_extension("svg"))
                .filter(|svg| svg.is_file())
                .and_then(|svg| Some(svg.file_name()?.to_string_lossy().to_string())),
        });
    }
    merge_cpu_only(&mut machines);
    if machines.is_empty() {
        return Err(bad(format!(
            "{} holds no run or sweep report (*.json): add `gdbench run --format json --output \
             FILE.json` reports first",
            dir.display()
        )));
    }
    Ok(page(&machines, &entries))
}

/// The machine a report ran on: its CPU and its GPU adapters (`+`-joined), from `machine`, or
/// (older sweeps) from the rows' devices.
fn machine_name(v: &Value) -> Option<String> {
    let clean = |s: &str| s.replace("(R)", "").replace("(TM)", "").trim().to_string();
    let (cpu, adapters): (String, Vec<String>) = match v.get("machine") {
        Some(m) => (
            clean(m["cpu"].as_str()?),
            m["adapters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["device"].as_str().map(short_device_name))
                .collect(),
        ),
        None => {
            let runs: Vec<&Value> = all_runs(v).collect();
            let cpu = runs.iter().find(|r| r["kind"] == "cpu")?["device"].as_str()?;
            let mut adapters: Vec<String> = Vec::new();
            for r in runs.iter().filter(|r| r["kind"] == "gpu") {
                let d = short_device_name(r["device"].as_str().unwrap_or("?"));
                if !adapters.contains(&d) {
                    adapters.push(d);
                }
            }
            (clean(cpu), adapters)
        }
    };
    Some(match adapters.is_empty() {
        true => cpu,
        false => format!("{cpu} + {}", adapters.join(", ")),
    })
}

/// Folds the reports of a machine that opened no adapter (a CPU-only run) into the one machine
/// of the same CPU that did, when there is exactly one.
fn merge_cpu_only(machines: &mut BTreeMap<String, Points>) {
    let bare: Vec<String> = machines
        .keys()
        .filter(|k| !k.contains(" + "))
        .cloned()
        .collect();
    for cpu in bare {
        let prefix = format!("{cpu} + ");
        let mut with_gpu = machines.keys().filter(|k| k.starts_with(&prefix));
        if let (Some(target), None) = (with_gpu.next().cloned(), with_gpu.next()) {
            let points = machines.remove(&cpu).unwrap_or_default();
            let into = machines.entry(target).or_default();
            for (n, runs) in points {
                into.entry(n).or_default().extend(runs);
            }
        }
    }
}

/// Every row of a run report, or of every point of a sweep.
fn all_runs(v: &Value) -> impl Iterator<Item = &Value> {
    let direct = v["runs"].as_array().into_iter().flatten();
    let points = v["points"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["runs"].as_array().into_iter().flatten());
    direct.chain(points)
}

/// The report's rows by N: a run's at its N; a sweep's at each point (one step size only: a
/// sweep over K measures another thing).
fn observations(v: &Value) -> Vec<(u64, Vec<Value>)> {
    let rows = |r: &Value| r.as_array().cloned().unwrap_or_default();
    if let Some(n) = v["problem"]["n"].as_u64() {
        // A step-size search times many descents per epoch.
        if v["problem"]["mu"].is_array() {
            return Vec::new();
        }
        return vec![(n, rows(&v["runs"]))];
    }
    v["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["k"].as_u64().unwrap_or(1) == 1)
        .filter_map(|p| Some((p["n"].as_u64()?, rows(&p["runs"]))))
        .collect()
}

/// The fastest `ok` row of `kind` (`cpu`: array solvers only, not cpu-moments' shortcut).
fn best<'r>(runs: &'r [Value], kind: &str) -> Option<&'r Value> {
    runs.iter()
        .filter(|r| r["kind"] == kind && r["status"] == "ok")
        .filter(|r| kind != "cpu" || r["effective_gb_s"].is_number())
        .filter(|r| r["epoch_us"].as_f64().is_some_and(|us| us > 0.0))
        .min_by(|a, b| {
            let us = |r: &Value| r["epoch_us"].as_f64().unwrap_or(f64::INFINITY);
            us(a).total_cmp(&us(b))
        })
}

/// `solver µs` of a row, its device type when it is a software adapter's.
fn row_cell(row: Option<&Value>) -> String {
    let Some(r) = row else {
        return "–".to_string();
    };
    let software = r["device_type"] == "cpu" && r["kind"] == "gpu";
    format!(
        "{} {} µs{}",
        r["solver"].as_str().unwrap_or("?"),
        epoch_us(r["epoch_us"].as_f64().unwrap_or(f64::NAN)),
        if software { " (software)" } else { "" }
    )
}

/// The best GPU row's speed over the best CPU row's at `n` (CPU µs ÷ GPU µs), or `–`.
fn ratio_cell(points: &Points, n: u64) -> String {
    let Some(runs) = points.get(&n) else {
        return "–".to_string();
    };
    match (best(runs, "cpu"), best(runs, "gpu")) {
        (Some(c), Some(g)) => {
            let (c, g) = (
                c["epoch_us"].as_f64().unwrap(),
                g["epoch_us"].as_f64().unwrap(),
            );
            format!("{}×", crate::probe::three_digits(c / g))
        }
        _ => "–".to_string(),
    }
}

/// The smallest N from which the best GPU row beats the best CPU row at every larger N measured
/// (`none up to N` when it never does; `–` with fewer than two sizes that have both).
fn crossover_cell(points: &Points) -> String {
    let wins: Vec<(u64, bool)> = points
        .iter()
        .filter_map(|(&n, runs)| {
            let us = |r: &Value| r["epoch_us"].as_f64();
            Some((n, us(best(runs, "gpu")?)? < us(best(runs, "cpu")?)?))
        })
        .collect();
    if wins.len() < 2 {
        return "–".to_string();
    }
    let from = wins
        .iter()
        .rposition(|&(_, gpu_wins)| !gpu_wins)
        .map_or(0, |last_loss| last_loss + 1);
    match wins.get(from) {
        Some((n, _)) if from == 0 => format!("≤ {}", sci(*n)),
        Some((n, _)) => format!("{}–{}", sci(wins[from - 1].0), sci(*n)),
        None => format!("none up to {}", sci(wins[wins.len() - 1].0)),
    }
}

/// `1e4`, `3.2e5`: a size in two significant digits.
fn sci(n: u64) -> String {
    let text = format!("{:.1e}", n as f64);
    text.replace(".0e", "e")
}

/// A report's size: `N = …`, or a sweep's range.
fn what(v: &Value, kind: &str) -> String {
    match kind {
        "run" => match v["problem"]["n"].as_u64() {
            Some(n) => format!("N = {}", sci(n)),
            None => "N not recorded".to_string(),
        },
        "sweep" => {
            let points = v["points"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let of =
                |key: &str| -> Vec<u64> { points.iter().filter_map(|p| p[key].as_u64()).collect() };
            let (ns, ks) = (of("n"), of("k"));
            let span = |xs: &[u64]| (xs.iter().min().copied(), xs.iter().max().copied());
            match (span(&ns), span(&ks)) {
                // A sweep over the step sizes K at one N.
                ((Some(n), Some(top)), (Some(lo), Some(hi))) if n == top && lo != hi => format!(
                    "K = {lo}…{hi} step sizes at N = {} ({} points)",
                    sci(n),
                    points.len()
                ),
                ((Some(lo), Some(hi)), _) => {
                    format!("N = {}…{} ({} points)", sci(lo), sci(hi), points.len())
                }
                _ => "no points".to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// `gdbench 0.1.0 (1a2b3c4d5e), 2026-12-03` as far as the report says.
fn made(v: &Value) -> String {
    let p = &v["provenance"];
    let version = p["gdbench_version"]
        .as_str()
        .or(v["gdbench_version"].as_str())
        .unwrap_or("?");
    let commit = p["git_commit"].as_str().map_or(String::new(), |c| {
        format!(" ({})", c.chars().take(10).collect::<String>())
    });
    let day = p["utc"].as_str().map_or(String::new(), |t| {
        format!(", {}", t.chars().take(10).collect::<String>())
    });
    format!("gdbench {version}{commit}{day}")
}

/// The page: a line per machine, then the reports.
fn page(machines: &BTreeMap<String, Points>, entries: &[Entry]) -> String {
    let mut out = String::from(
        "# Results from real machines\n\n\
         Written by `gdbench gallery docs/results` from the reports in this folder; do not edit \
         by hand. Each line is one machine: its fastest validated CPU row (an array solver, not \
         cpu-moments' shortcut) and GPU row at the article's size (N = 1e4), the GPU's speed over \
         the CPU's (CPU µs ÷ GPU µs: above 1 the GPU is faster) at N = 1e4 and 1e8, and the \
         crossover: the sizes between which the GPU starts to win for good, over every size the \
         machine's runs and sweeps measured. Where several reports measured a size, each row is \
         its best. A software adapter's rows (lavapipe, llvmpipe) are CPU timings, not GPU \
         speed.\n\n\
         | machine | CPU row at 1e4 (µs/epoch) | GPU row at 1e4 (µs/epoch) | GPU ÷ CPU at 1e4 | \
         GPU ÷ CPU at 1e8 | crossover N |\n\
         |---|---|---|---|---|---|\n",
    );
    for (machine, points) in machines {
        let at = |n: u64| points.get(&n).map(Vec::as_slice).unwrap_or_default();
        out += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            machine.replace('|', "\\|"),
            row_cell(best(at(ARTICLE_N), "cpu")),
            row_cell(best(at(ARTICLE_N), "gpu")),
            ratio_cell(points, ARTICLE_N),
            ratio_cell(points, LARGE_N),
            crossover_cell(points),
        );
    }
    out += "\nTo hold your machine against one of these: `gdbench run --format json --output \
            mine.json`, then `gdbench compare mine.json docs/results/FILE.json` (rows pair by \
            solver across machines; different problems are refused unless \
            `--different-problems`).\n\n## Reports\n\n";
    for e in entries {
        let plot = e
            .plot
            .as_ref()
            .map_or(String::new(), |svg| format!(" ([plot]({svg}))"));
        out += &format!(
            "- [`{}`]({}){plot}: {} {}, {}; {}\n",
            e.file,
            e.file,
            e.kind,
            e.what,
            e.machine.as_deref().unwrap_or("machine not recorded"),
            e.made
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(solver: &str, kind: &str, device_type: &str, us: f64) -> Value {
        json!({"solver": solver, "kind": kind, "device": format!("{solver}-device"),
               "device_type": device_type, "status": "ok", "epoch_us": us,
               "effective_gb_s": if kind == "cpu" { json!(1.0) } else { Value::Null }})
    }

    fn points(sizes: &[(u64, f64, f64)]) -> Points {
        sizes
            .iter()
            .map(|&(n, cpu, gpu)| {
                (
                    n,
                    vec![
                        row("cpu-fused-f32", "cpu", "cpu", cpu),
                        row("gpu-fused", "gpu", "discrete-gpu", gpu),
                    ],
                )
            })
            .collect()
    }

    #[test]
    fn the_crossover_is_where_the_gpu_wins_for_good() {
        let p = points(&[
            (1_000, 1.0, 5.0),
            (10_000, 2.0, 5.0),
            (100_000, 20.0, 6.0),
            (1_000_000, 200.0, 20.0),
        ]);
        assert_eq!(crossover_cell(&p), "1e4–1e5");
        // A win that does not last is not the crossover.
        let p = points(&[(1_000, 1.0, 0.5), (10_000, 2.0, 5.0), (100_000, 20.0, 6.0)]);
        assert_eq!(crossover_cell(&p), "1e4–1e5");
        assert_eq!(
            crossover_cell(&points(&[(1_000, 9.0, 1.0), (10_000, 90.0, 2.0)])),
            "≤ 1e3"
        );
        assert_eq!(
            crossover_cell(&points(&[(1_000, 1.0, 5.0), (100_000_000, 9.0, 10.0)])),
            "none up to 1e8"
        );
        assert_eq!(crossover_cell(&points(&[(1_000, 1.0, 5.0)])), "–");
    }

    #[test]
    fn ratios_are_cpu_time_over_gpu_time_of_the_best_rows() {
        let mut p = points(&[(ARTICLE_N, 1.5, 3.0)]);
        // cpu-moments' shortcut (no bandwidth) and a mismatch are never the best.
        let runs = p.get_mut(&ARTICLE_N).unwrap();
        runs.push(
            json!({"solver": "cpu-moments", "kind": "cpu", "status": "ok", "epoch_us": 0.01}),
        );
        let mut wrong = row("gpu-persistent", "gpu", "discrete-gpu", 0.1);
        wrong["status"] = "mismatch".into();
        runs.push(wrong);
        assert_eq!(ratio_cell(&p, ARTICLE_N), "0.500×");
        assert_eq!(ratio_cell(&p, LARGE_N), "–");
        assert_eq!(
            row_cell(best(&p[&ARTICLE_N], "cpu")),
            "cpu-fused-f32 1.500 µs"
        );
    }

    #[test]
    fn a_cpu_only_run_joins_its_machine_and_a_probe_adds_none() {
        let dir = tempfile::tempdir().unwrap();
        let machine = |adapters: Value| json!({"cpu": "Xeon", "threads": 2, "adapters": adapters});
        let run = |n: u64, adapters: Value, runs: Value| json!({"problem": {"n": n, "mu": 0.001}, "machine": machine(adapters), "runs": runs});
        let lavapipe = json!([{"device": "llvmpipe [vulkan]"}]);
        let cpu = json!([row("cpu-fused-f32", "cpu", "cpu", 1.0)]);
        let gpu = json!([row("gpu-fused", "gpu", "cpu", 100.0)]);
        let files = [
            ("a.json", run(ARTICLE_N, json!([]), cpu)),
            ("b.json", run(ARTICLE_N, lavapipe.clone(), gpu)),
            (
                "c.json",
                json!({"machine": machine(json!([])), "ceilings": {}}),
            ),
        ];
        for (name, doc) in files {
            std::fs::write(dir.path().join(name), doc.to_string()).unwrap();
        }
        let page = render_gallery(dir.path()).unwrap();
        let lines: Vec<&str> = page.lines().filter(|l| l.starts_with("| Xeon")).collect();
        assert_eq!(lines.len(), 1, "{page}");
        assert!(lines[0].contains("| 0.0100× |"), "{page}");
        assert!(page.contains("[`c.json`](c.json): probe"), "{page}");
    }

    #[test]
    fn a_sweep_says_whether_it_went_over_n_or_over_k() {
        let sweep = |points: Value| json!({ "points": points });
        let over_n = sweep(json!([{"n": 1000, "k": 1}, {"n": 100_000_000, "k": 1}]));
        assert_eq!(what(&over_n, "sweep"), "N = 1e3…1e8 (2 points)");
        let over_k = sweep(json!([{"n": 10_000_000, "k": 1}, {"n": 10_000_000, "k": 323}]));
        assert_eq!(
            what(&over_k, "sweep"),
            "K = 1…323 step sizes at N = 1e7 (2 points)"
        );
        assert_eq!(what(&sweep(json!([])), "sweep"), "no points");
    }

    #[test]
    fn a_folder_without_reports_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = render_gallery(dir.path()).unwrap_err().to_string();
        assert!(err.contains("holds no run or sweep report"), "{err}");
        std::fs::write(dir.path().join("x.json"), "{\"a\": 1}").unwrap();
        let err = render_gallery(dir.path()).unwrap_err().to_string();
        assert!(err.contains("x.json is not a gdbench report"), "{err}");
        let err = render_gallery(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
