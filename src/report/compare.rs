//! `gdbench compare A.json B.json`: per solver and device, B's median time per epoch over A's,
//! with a 95 % bootstrap interval over both reports' repeats, and a verdict at a threshold:
//! `faster`, `slower`, `no clear change`, or `cannot tell`. docs/compare.md is its manual.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::Value;

use super::format::{epoch_us, short_device_name};
use super::table::{MAX_WIDTH, styled_table, wrap};
use crate::error::{GdError, Result};
use crate::stats::median_of_sorted;

/// Repeats each side needs before a difference in speed can be told from noise.
pub const MIN_REPEATS: usize = 3;

/// Bootstrap resamples per row.
pub const RESAMPLES: usize = 10_000;

/// The default `--threshold`, in percent.
pub const DEFAULT_THRESHOLD_PCT: f64 = 2.0;

/// Seed of every row's resampling stream ("gdbench!"): the same reports always give the same
/// intervals, whatever other rows they hold.
const SEED: u64 = 0x6764_6265_6e63_6821;

/// What a row says about B's speed against A's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Verdict {
    /// B's interval lies wholly below 1 / (1 + threshold): B is faster.
    #[serde(rename = "faster")]
    Faster,
    /// B's interval lies wholly above 1 + threshold: B is slower.
    #[serde(rename = "slower")]
    Slower,
    /// The interval reaches into [1 / (1 + threshold), 1 + threshold].
    #[serde(rename = "no clear change")]
    NoClearChange,
    /// A side is not `ok`, has no times or too few repeats (the row's caveat says which).
    #[serde(rename = "cannot tell")]
    CannotTell,
}

impl Verdict {
    /// The verdict as the table and the JSON write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoClearChange => "no clear change",
            Verdict::CannotTell => "cannot tell",
        }
    }

    /// The verdict of the interval `[lo, hi]` of B / A at `threshold_pct` percent.
    pub fn of_interval([lo, hi]: [f64; 2], threshold_pct: f64) -> Self {
        let bar = 1.0 + threshold_pct / 100.0;
        if lo > bar {
            Verdict::Slower
        } else if hi < 1.0 / bar {
            Verdict::Faster
        } else {
            Verdict::NoClearChange
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row present in both reports.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Compared {
    /// Solver (or peer) name.
    pub solver: String,
    /// Device name, in full.
    pub device: String,
    /// A's median µs per epoch, when it has one.
    pub a_us: Option<f64>,
    /// B's median µs per epoch, when it has one.
    pub b_us: Option<f64>,
    /// `b_us / a_us`: above 1, B is slower. None when the verdict is `cannot tell`.
    pub ratio: Option<f64>,
    /// The 95 % bootstrap interval of the ratio (percentiles 2.5 and 97.5). None when the
    /// verdict is `cannot tell`.
    pub ci95: Option<[f64; 2]>,
    /// What the interval says at the threshold.
    pub verdict: Verdict,
    /// Why the verdict is `cannot tell` (`B is mismatch`, `A has only 2 repeats`...), else None.
    pub caveat: Option<String>,
    /// True when the row compiled different WGSL in A and B (both have a `kernel_hash`, and
    /// they differ): the change may be the kernels', not the machine's.
    pub kernels_changed: bool,
    /// B's device when it is not A's: the reports are of two machines, and the row is the one
    /// solver each ran once; absent when the devices are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_device: Option<String>,
}

/// What one report says of where it came from (absent in reports of earlier versions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Side {
    /// The report's `provenance`.
    pub provenance: Option<crate::provenance::Provenance>,
    /// The report's `machine`: host and adapters.
    pub machine: Option<Value>,
    /// The report's `problem`.
    pub problem: Option<Value>,
}

impl Side {
    /// The side of report `v`.
    fn of(v: &Value) -> Self {
        let field = |name: &str| v.get(name).filter(|f| !f.is_null()).cloned();
        Side {
            provenance: field("provenance").and_then(|p| serde_json::from_value(p).ok()),
            machine: field("machine"),
            problem: field("problem"),
        }
    }
}

/// Both reports' sides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Sides {
    /// Report A's.
    pub a: Side,
    /// Report B's.
    pub b: Side,
}

/// The comparison of two reports.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    /// The smallest change in percent a verdict other than `no clear change` needs.
    pub threshold: f64,
    /// Bootstrap resamples behind each interval.
    pub resamples: usize,
    /// Rows in both, in A's order.
    pub rows: Vec<Compared>,
    /// `solver (device) only in A|B`: rows only one report has.
    pub unmatched: Vec<String>,
    /// Differences in the problem (N, epochs, mu, data) worth knowing.
    pub warnings: Vec<String>,
    /// Where each report came from, side by side.
    pub machines: Sides,
}

impl Comparison {
    /// The rows that fail `--fail-if-slower pct`: `slower`, with the interval's lower bound above
    /// 1 + pct/100 as well (so the bar is the larger of `pct` and the threshold). `cannot tell`
    /// rows never count, nor rows of two devices (paired by solver alone): another device is not
    /// a regression.
    pub fn regressions(&self, pct: f64) -> Vec<&Compared> {
        self.rows
            .iter()
            .filter(|r| r.verdict == Verdict::Slower && r.b_device.is_none())
            .filter(|r| r.ci95.is_some_and(|[lo, _]| lo > 1.0 + pct / 100.0))
            .collect()
    }
}

/// `value` as a percentage for the flag `name`: finite and ≥ 0, else a one-line error naming it.
pub fn check_percent(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(GdError::InvalidParameter {
            name,
            problem: format!("{value} is not a percentage: give a finite number ≥ 0, e.g. 2"),
        })
    }
}

fn bad(which: &str, problem: &str) -> GdError {
    GdError::InvalidParameter {
        name: "compare",
        problem: format!("{which} is not a gdbench JSON report: {problem}"),
    }
}

fn key(run: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&run["solver"]), text(&run["device"]))
}

/// A run's repeats in µs per epoch: each whole-solve time scaled by `epoch_us / time_s.median`,
/// so reports of different epoch counts compare per epoch. Or why the run cannot take part.
fn repeats_per_epoch(run: &Value, which: &str) -> std::result::Result<Vec<f64>, String> {
    let status = run["status"].as_str().unwrap_or("unknown");
    if status != "ok" {
        return Err(format!("{which} is {status}"));
    }
    let t = &run["time_s"];
    let usable = |v: f64| v.is_finite() && v > 0.0;
    let scale = t["median"]
        .as_f64()
        .zip(run["epoch_us"].as_f64())
        .filter(|&(median, us)| usable(median) && usable(us))
        .map(|(median, us)| us / median);
    let repeats: Option<Vec<f64>> = t["repeats"].as_array().and_then(|list| {
        list.iter()
            .map(|v| v.as_f64().filter(|&s| usable(s)))
            .collect()
    });
    let (Some(scale), Some(repeats)) = (scale, repeats.filter(|r| !r.is_empty())) else {
        return Err(format!("{which} has no times"));
    };
    if repeats.len() < MIN_REPEATS {
        let n = repeats.len();
        let s = if n == 1 { "" } else { "s" };
        return Err(format!("{which} has only {n} repeat{s}"));
    }
    Ok(repeats.into_iter().map(|s| s * scale).collect())
}

/// The median of `sample` resampled with replacement into `buffer` (as long as `sample`).
fn resampled_median(sample: &[f64], buffer: &mut [f64], rng: &mut ChaCha8Rng) -> f64 {
    for slot in buffer.iter_mut() {
        *slot = sample[rng.random_range(0..sample.len())];
    }
    buffer.sort_by(f64::total_cmp);
    median_of_sorted(buffer)
}

/// The `q` quantile of an ascending, non-empty slice, interpolating between neighbours.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (below, above) = (h.floor() as usize, h.ceil() as usize);
    sorted[below] + (h - below as f64) * (sorted[above] - sorted[below])
}

/// The 95 % percentile-bootstrap interval of median(B) / median(A): each side resampled with
/// replacement on its own, [`RESAMPLES`] times, from a fixed seed.
pub fn ratio_interval(a: &[f64], b: &[f64]) -> [f64; 2] {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let (mut buf_a, mut buf_b) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    let mut ratios: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let median_a = resampled_median(a, &mut buf_a, &mut rng);
            resampled_median(b, &mut buf_b, &mut rng) / median_a
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    [quantile(&ratios, 0.025), quantile(&ratios, 0.975)]
}

/// The row of two runs of the same solver (on the same device, or on two machines').
fn compare_runs(ra: &Value, rb: &Value, threshold: f64) -> Compared {
    let (solver, device) = key(ra);
    let b_device = Some(key(rb).1).filter(|b| *b != device);
    let (a_us, b_us) = (ra["epoch_us"].as_f64(), rb["epoch_us"].as_f64());
    let sides = repeats_per_epoch(ra, "A").and_then(|a| Ok((a, repeats_per_epoch(rb, "B")?)));
    let (ratio, ci95, verdict, caveat) = match sides {
        Ok((a, b)) => {
            let ci = ratio_interval(&a, &b);
            // Both medians were checked finite and positive with the repeats.
            let ratio = b_us.zip(a_us).map(|(b, a)| b / a);
            (ratio, Some(ci), Verdict::of_interval(ci, threshold), None)
        }
        Err(why) => (None, None, Verdict::CannotTell, Some(why)),
    };
    Compared {
        solver,
        device,
        a_us,
        b_us,
        ratio,
        ci95,
        verdict,
        caveat,
        // A report from before kernel hashes says nothing either way.
        kernels_changed: ra["kernel_hash"].is_string()
            && rb["kernel_hash"].is_string()
            && ra["kernel_hash"] != rb["kernel_hash"],
        b_device,
    }
}

/// The fields of `problem` that make two reports the same problem: N, epochs, the step(s) and
/// the data (its hash; reports of earlier versions, without one, by where the data came from).
const PROBLEM_FIELDS: [&str; 8] = [
    "n",
    "epochs",
    "mu",
    "data_sha256",
    "source",
    "data",
    "seed",
    "sigma",
];

/// How the problems of reports `a` and `b` differ, one `field: A …, B …` per field; empty when
/// they are the same problem. The data's provenance counts only when a side has no hash.
fn problem_differences(a: &Value, b: &Value) -> Vec<String> {
    let hashed = a["problem"]["data_sha256"].is_string() && b["problem"]["data_sha256"].is_string();
    PROBLEM_FIELDS
        .iter()
        // Hashes on both sides settle the data; else where it came from does.
        .filter(|f| match hashed {
            true => !["source", "data", "seed", "sigma"].contains(f),
            false => **f != "data_sha256",
        })
        .filter_map(|&field| {
            let (x, y) = (&a["problem"][field], &b["problem"][field]);
            // A hash's first 16 digits tell two apart.
            let cut = |v: &Value| match (field, v.as_str()) {
                ("data_sha256", Some(h)) => h.chars().take(16).collect(),
                _ => v.to_string(),
            };
            (x != y).then(|| format!("{field}: A has {}, B has {}", cut(x), cut(y)))
        })
        .collect()
}

/// Refuses reports of different problems (see [`problem_differences`]): their times per epoch
/// measure different work. `--different-problems` skips this.
pub fn check_same_problem(a: &Value, b: &Value) -> Result<()> {
    let differences = problem_differences(a, b);
    if differences.is_empty() {
        return Ok(());
    }
    Err(GdError::InvalidParameter {
        name: "compare",
        problem: format!(
            "A and B solved different problems ({}): their times per epoch measure different \
             work; rerun one with the other's --n/--epochs/--mu/--data, or pass \
             --different-problems to compare them anyway",
            differences.join("; ")
        ),
    })
}

/// Compares report `b` against report `a` at `threshold` percent (see [`Verdict`]). Rows pair
/// by solver and device; rows left over pair by solver where each report ran that solver once
/// (two machines). Different problems are only warned about here ([`check_same_problem`]).
pub fn compare(a: &Value, b: &Value, threshold: f64) -> Result<Comparison> {
    let threshold = check_percent("--threshold", threshold)?;
    let runs = |v: &Value, which: &str| -> Result<Vec<Value>> {
        v["runs"]
            .as_array()
            .cloned()
            .ok_or_else(|| bad(which, "it has no `runs` list"))
    };
    let (ra, rb) = (runs(a, "A")?, runs(b, "B")?);
    let mut warnings: Vec<String> = problem_differences(a, b)
        .into_iter()
        .map(|d| format!("the problems differ in {d}"))
        .collect();
    for (which, v) in [("A", a), ("B", b)] {
        let version = v["schema_version"].as_u64().unwrap_or(0);
        if version > u64::from(crate::provenance::SCHEMA_VERSION) {
            warnings.push(format!(
                "{which} has schema_version {version}, newer than this gdbench's {}: fields whose \
                 meaning changed may be misread (compare with a newer gdbench)",
                crate::provenance::SCHEMA_VERSION
            ));
        }
    }
    let pairs = pair_rows(&ra, &rb);
    let mut rows = Vec::new();
    let mut unmatched = Vec::new();
    for (i, run) in ra.iter().enumerate() {
        match pairs.iter().find(|&&(x, _)| x == i) {
            Some(&(_, j)) => rows.push(compare_runs(run, &rb[j], threshold)),
            None => unmatched.push(format!("{} ({}) only in A", key(run).0, key(run).1)),
        }
    }
    for (j, run) in rb.iter().enumerate() {
        if !pairs.iter().any(|&(_, y)| y == j) {
            unmatched.push(format!("{} ({}) only in B", key(run).0, key(run).1));
        }
    }
    Ok(Comparison {
        threshold,
        resamples: RESAMPLES,
        rows,
        unmatched,
        warnings,
        machines: Sides {
            a: Side::of(a),
            b: Side::of(b),
        },
    })
}

/// Index pairs `(in a, in b)` of the rows compared: the same solver and device first; then,
/// among rows left, the same solver where each side has exactly one such row left (the same
/// solver on two machines' devices).
fn pair_rows(ra: &[Value], rb: &[Value]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, run) in ra.iter().enumerate() {
        let taken = |j: usize| pairs.iter().any(|&(_, y)| y == j);
        if let Some(j) = (0..rb.len()).find(|&j| !taken(j) && key(&rb[j]) == key(run)) {
            pairs.push((i, j));
        }
    }
    // Pairing one solver leaves every other solver's rows as they were: the rows left over are
    // those of the first pass.
    let a_left: Vec<usize> = (0..ra.len())
        .filter(|&i| !pairs.iter().any(|p| p.0 == i))
        .collect();
    let b_left: Vec<usize> = (0..rb.len())
        .filter(|&j| !pairs.iter().any(|p| p.1 == j))
        .collect();
    let only = |left: &[usize], rows: &[Value], solver: &str| {
        let mut same = left.iter().filter(|&&k| key(&rows[k]).0 == solver);
        match (same.next(), same.next()) {
            (Some(&k), None) => Some(k),
            _ => None,
        }
    };
    for &i in &a_left {
        let solver = key(&ra[i]).0;
        if let (Some(_), Some(j)) = (only(&a_left, ra, &solver), only(&b_left, rb, &solver)) {
            pairs.push((i, j));
        }
    }
    pairs
}

/// `ratio [lo, hi]`: three decimals below 10, one below 100, none above; or the caveat.
fn ratio_cell(r: &Compared) -> String {
    match (r.ratio, r.ci95, &r.caveat) {
        (_, _, Some(caveat)) => caveat.clone(),
        (Some(x), Some([lo, hi]), None) => {
            let top = hi.max(x);
            let d = if top < 10.0 {
                3
            } else if top < 100.0 {
                1
            } else {
                0
            };
            format!("{x:.d$} [{lo:.d$}, {hi:.d$}]")
        }
        _ => "–".to_string(),
    }
}

/// Widest device cell, in characters.
const DEVICE_CHARS: usize = 16;

/// Widest device cell when the table has a column for B's devices too.
const TWO_DEVICE_CHARS: usize = 11;

/// A device in at most `chars` characters: [`short_device_name`] without trademark signs,
/// its name cut further (keeping the backend) when that is still too long.
fn device_cell(device: &str, chars: usize) -> String {
    let short = short_device_name(&device.replace("(R)", "").replace("(TM)", ""));
    if short.chars().count() <= chars {
        return short;
    }
    let (name, backend) = match short.rsplit_once('·') {
        Some((name, backend)) => (name, format!("·{backend}")),
        None => (short.as_str(), String::new()),
    };
    let keep = chars.saturating_sub(backend.chars().count() + 1);
    let name: String = name.trim_end_matches('…').chars().take(keep).collect();
    format!("{}…{backend}", name.trim_end())
}

/// One line of the side-by-side table: what a report says, or `None`.
type SideCell = fn(&Side) -> Option<String>;

/// The two reports' provenance side by side: file, host, adapters, gdbench, wgpu, OS, time,
/// problem and data hash; `–` where a report (of an earlier version) does not say.
fn sides_table(c: &Comparison, a_name: &str, b_name: &str) -> String {
    let mut table = styled_table(&["", "A", "B"], &[]);
    // Two long CPU names would pass the width: cells wrap instead.
    table
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_width(MAX_WIDTH as u16);
    let rows: [(&str, SideCell); 8] = [
        ("host", side_host),
        ("adapters", side_adapters),
        ("gdbench", |s| s.provenance.as_ref().map(gdbench_cell)),
        ("wgpu", |s| {
            s.provenance.as_ref().map(|p| p.wgpu_version.clone())
        }),
        ("os", |s| {
            let p = s.provenance.as_ref()?;
            Some(format!("{} {}", p.os, p.kernel.as_deref().unwrap_or("")))
        }),
        ("made", |s| s.provenance.as_ref().map(|p| p.utc.clone())),
        ("problem", |s| {
            let p = s.problem.as_ref()?;
            Some(format!(
                "N = {}, {} epochs, mu = {}",
                p["n"], p["epochs"], p["mu"]
            ))
        }),
        ("data sha256", |s| {
            let hash = s.problem.as_ref()?["data_sha256"].as_str()?;
            Some(hash.chars().take(16).collect())
        }),
    ];
    table.add_row(["file", a_name, b_name]);
    let cell = |v: Option<String>| v.map_or_else(|| "–".to_string(), |v| v.trim().to_string());
    for (name, of) in rows {
        table.add_row([
            name.to_string(),
            cell(of(&c.machines.a)),
            cell(of(&c.machines.b)),
        ]);
    }
    format!("{table}\n")
}

/// `CPU model (T threads, SIMD)` of a report's machine.
fn side_host(s: &Side) -> Option<String> {
    let m = s.machine.as_ref()?;
    let cpu = m["cpu"].as_str()?.replace("(R)", "").replace("(TM)", "");
    Some(format!(
        "{cpu} ({} threads, {})",
        m["threads"],
        m["simd"].as_str().unwrap_or("?")
    ))
}

/// A report's adapters, `name (device type)` each; `none` when it opened none.
fn side_adapters(s: &Side) -> Option<String> {
    let adapters = s.machine.as_ref()?["adapters"].as_array()?;
    let names: Vec<String> = adapters
        .iter()
        .map(|d| {
            format!(
                "{} ({})",
                short_device_name(d["device"].as_str().unwrap_or("?")),
                d["device_type"].as_str().unwrap_or("?")
            )
        })
        .collect();
    Some(match names.is_empty() {
        true => "none".to_string(),
        false => names.join(", "),
    })
}

/// `0.1.0 849097cc83+ release`: version, commit (`+`: uncommitted changes) and build.
fn gdbench_cell(p: &crate::provenance::Provenance) -> String {
    let commit = p.git_commit.as_deref().map_or(String::new(), |c| {
        let dirty = if p.git_dirty == Some(true) { "+" } else { "" };
        format!(" {}{dirty}", c.chars().take(10).collect::<String>())
    });
    format!("{}{commit} {}", p.gdbench_version, p.build)
}

/// The comparison as a table (within [`MAX_WIDTH`] columns) with its notes: the two reports'
/// provenance side by side, then a row per solver (with B's device when it is another machine's).
pub fn render_comparison(c: &Comparison, a_name: &str, b_name: &str) -> String {
    let two_machines = c.rows.iter().any(|r| r.b_device.is_some());
    let mut header = vec!["solver", "device"];
    if two_machines {
        header.push("B device");
    }
    // Three device columns would pass the width: `µs` is per epoch, as the rule below says.
    match two_machines {
        true => header.extend(["A µs", "B µs"]),
        false => header.extend(["A µs/epoch", "B µs/epoch"]),
    }
    header.extend(["B / A [95 % CI]", "verdict"]);
    let numeric: &[usize] = if two_machines { &[3, 4] } else { &[2, 3] };
    let mut table = styled_table(&header, numeric);

    let us = |v: Option<f64>| v.map_or_else(|| "–".to_string(), epoch_us);
    let mut legend: Vec<String> = Vec::new();
    for r in &c.rows {
        let chars = if two_machines {
            TWO_DEVICE_CHARS
        } else {
            DEVICE_CHARS
        };
        let device = device_cell(&r.device, chars);
        let entry = format!("{device}: {}", r.device);
        if device != r.device && !legend.contains(&entry) {
            legend.push(entry);
        }
        let mut cells = vec![r.solver.clone(), device];
        if two_machines {
            let b_device = r.b_device.as_deref().unwrap_or(&r.device);
            let cell = device_cell(b_device, chars);
            let entry = format!("{cell}: {b_device}");
            if cell != b_device && !legend.contains(&entry) {
                legend.push(entry);
            }
            cells.push(cell);
        }
        cells.extend([
            us(r.a_us),
            us(r.b_us),
            ratio_cell(r),
            if r.kernels_changed {
                format!("{}*", r.verdict)
            } else {
                r.verdict.to_string()
            },
        ]);
        table.add_row(cells);
    }
    let bar = 1.0 + c.threshold / 100.0;
    let rule = format!(
        "B / A: B's median µs per epoch over A's, with its 95 % bootstrap interval over both \
         reports' repeats; slower when the interval lies above {bar:.3}, faster when below {:.3} \
         (--threshold {} %)",
        1.0 / bar,
        c.threshold
    );
    let mut out = format!("{}\n{table}\n", sides_table(c, a_name, b_name));
    let kernels = c.rows.iter().any(|r| r.kernels_changed).then(|| {
        "*: the row compiled different kernels in A and B (its kernel_hash differs): the change \
         may be the kernels', not the machine's"
            .to_string()
    });
    for line in legend
        .iter()
        .chain(&kernels)
        .chain([&rule])
        .chain(&c.warnings)
        .chain(&c.unmatched)
    {
        out += &wrap(&format!("  {line}"), MAX_WIDTH, "    ");
    }
    out
}

/// The comparison as one [`CompareDocument`].
pub fn render_comparison_json(c: &Comparison, a_name: &str, b_name: &str) -> String {
    let document = CompareDocument {
        schema_version: crate::provenance::SCHEMA_VERSION,
        provenance: crate::provenance::Provenance::now(),
        a: a_name,
        b: b_name,
        comparison: c,
    };
    serde_json::to_string_pretty(&document).expect("a comparison serialises") + "\n"
}

/// What `gdbench compare --format json` writes (docs/compare.md, docs/json.md).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CompareDocument<'a> {
    /// The shape of this document ([`crate::provenance::SCHEMA_VERSION`]).
    #[schemars(extend("const" = crate::provenance::SCHEMA_VERSION))]
    pub schema_version: u32,
    /// Which gdbench and command made the comparison, and when.
    pub provenance: crate::provenance::Provenance,
    /// Report A, as named on the command line.
    pub a: &'a str,
    /// Report B, as named on the command line.
    pub b: &'a str,
    /// The comparison.
    #[serde(flatten)]
    pub comparison: &'a Comparison,
}

/// Reads and parses a report file for `compare`.
pub fn read_report(path: &std::path::Path, which: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| GdError::InvalidParameter {
        name: "compare",
        problem: format!("cannot read {} ({which}): {e}", path.display()),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| bad(which, &format!("{e}")))?;
    if value.get("runs").is_none() {
        return Err(bad(which, "it has no `runs` list"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::text_width;
    use serde_json::json;

    fn report(n: u64, epochs: u64, runs: Value) -> Value {
        json!({"problem": {"n": n, "epochs": epochs, "mu": 0.001}, "runs": runs})
    }

    /// A run of `epochs` epochs whose repeats are `seconds` (whole solves).
    fn run_on(solver: &str, device: &str, epochs: u64, seconds: &[f64]) -> Value {
        let mut sorted = seconds.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = median_of_sorted(&sorted);
        json!({"solver": solver, "device": device, "status": "ok",
               "epoch_us": median / epochs as f64 * 1e6,
               "time_s": {"median": median, "min": sorted[0], "max": sorted[sorted.len() - 1],
                          "repeats": seconds}})
    }

    fn run(solver: &str, seconds: &[f64]) -> Value {
        run_on(solver, "cpu", 10, seconds)
    }

    const A: [f64; 5] = [1.00, 1.01, 0.99, 1.005, 0.995];

    fn times(factor: f64) -> Vec<f64> {
        A.iter().map(|s| s * factor).collect()
    }

    fn row<'c>(c: &'c Comparison, solver: &str) -> &'c Compared {
        c.rows.iter().find(|r| r.solver == solver).unwrap()
    }

    #[test]
    fn a_clear_slowdown_a_clear_speedup_and_noise() {
        let mut shuffled = times(1.0);
        shuffled.reverse();
        let a = report(
            100,
            10,
            json!([
                run("slow", &A),
                run("fast", &A),
                run("same", &A),
                run("a-only", &A)
            ]),
        );
        let b = report(
            200,
            10,
            json!([
                run("slow", &times(1.10)),
                run("fast", &times(0.5)),
                run("same", &shuffled),
                run("b-only", &A)
            ]),
        );
        let c = compare(&a, &b, 2.0).unwrap();
        let slow = row(&c, "slow");
        let [lo, hi] = slow.ci95.unwrap();
        assert!((slow.ratio.unwrap() - 1.10).abs() < 1e-9, "{slow:?}");
        assert!(lo <= 1.10 && 1.10 <= hi && lo > 1.02, "{slow:?}");
        assert_eq!(slow.verdict, Verdict::Slower);
        let fast = row(&c, "fast");
        assert!((fast.ratio.unwrap() - 0.5).abs() < 1e-9, "{fast:?}");
        assert_eq!(fast.verdict, Verdict::Faster);
        let same = row(&c, "same");
        let [lo, hi] = same.ci95.unwrap();
        assert!(lo < 1.0 && 1.0 < hi, "{same:?}");
        assert_eq!(same.verdict, Verdict::NoClearChange);
        assert_eq!(
            c.unmatched,
            ["a-only (cpu) only in A", "b-only (cpu) only in B"]
        );
        assert_eq!(
            c.warnings,
            ["the problems differ in n: A has 100, B has 200"]
        );
        let text = render_comparison(&c, "a.json", "b.json");
        assert!(text.contains("1.100 ["), "{text}");
        assert!(text.contains("no clear change"), "{text}");
    }

    #[test]
    fn the_interval_is_reproducible_and_ignores_the_other_rows() {
        // Forty distinct repeats a side: resampled medians take many values, so another stream
        // would move the percentiles.
        let a: Vec<f64> = (0..40).map(|i| 1.0 + (i * 17 % 40) as f64 * 1e-3).collect();
        let b: Vec<f64> = (0..40)
            .map(|i| 1.03 + (i * 23 % 40) as f64 * 1.3e-3)
            .collect();
        let once = ratio_interval(&a, &b);
        assert_eq!(once, ratio_interval(&a, &b));
        let alone = compare(
            &report(1, 10, json!([run("x", &a)])),
            &report(1, 10, json!([run("x", &b)])),
            2.0,
        )
        .unwrap();
        let among = compare(
            &report(1, 10, json!([run("w", &A), run("x", &a)])),
            &report(1, 10, json!([run("w", &times(2.0)), run("x", &b)])),
            2.0,
        )
        .unwrap();
        assert_eq!(alone.rows[0].ci95, row(&among, "x").ci95);
    }

    #[test]
    fn three_repeats_give_the_range_of_the_ratios() {
        // With three repeats a resample's median is the smallest with probability 7/27, so the
        // percentiles are the extreme ratios: min(B)/max(A) and max(B)/min(A).
        let (a, b) = ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
        let [lo, hi] = ratio_interval(&a, &b);
        assert!(
            (lo - 4.0 / 3.0).abs() < 1e-12 && (hi - 6.0).abs() < 1e-12,
            "{lo} {hi}"
        );
    }

    #[test]
    fn the_verdict_needs_the_whole_interval_beyond_the_threshold() {
        assert_eq!(Verdict::of_interval([1.03, 1.2], 2.0), Verdict::Slower);
        assert_eq!(
            Verdict::of_interval([1.01, 1.2], 2.0),
            Verdict::NoClearChange
        );
        assert_eq!(Verdict::of_interval([1.01, 1.2], 0.0), Verdict::Slower);
        assert_eq!(Verdict::of_interval([0.5, 0.97], 2.0), Verdict::Faster);
        // 1/1.02 = 0.98039: symmetric with `slower` in the ratio's logarithm.
        assert_eq!(
            Verdict::of_interval([0.5, 0.981], 2.0),
            Verdict::NoClearChange
        );
        assert_eq!(
            Verdict::of_interval([0.9, 1.1], 2.0),
            Verdict::NoClearChange
        );
    }

    #[test]
    fn epochs_that_differ_are_compared_per_epoch() {
        // B ran twice the epochs in 2.2 times the time: 10 % slower per epoch.
        let a = report(1, 10, json!([run_on("x", "cpu", 10, &A)]));
        let b = report(1, 20, json!([run_on("x", "cpu", 20, &times(2.2))]));
        let c = compare(&a, &b, 2.0).unwrap();
        let [lo, hi] = c.rows[0].ci95.unwrap();
        assert!((c.rows[0].ratio.unwrap() - 1.1).abs() < 1e-9, "{c:?}");
        assert!(lo > 1.05 && hi < 1.15, "{c:?}");
        assert_eq!(c.rows[0].verdict, Verdict::Slower);
        assert_eq!(
            c.warnings,
            ["the problems differ in epochs: A has 10, B has 20"]
        );
    }

    #[test]
    fn rows_that_failed_or_have_no_spread_cannot_tell() {
        let mut mismatch = run("x", &A);
        mismatch["status"] = json!("mismatch");
        let twice = run("y", &[0.1, 0.1]);
        let mut missing = run("z", &A);
        missing["status"] = json!("unavailable");
        missing["epoch_us"] = Value::Null;
        let mut untimed = run("t", &A);
        untimed["time_s"] = Value::Null;
        let a = report(
            100,
            10,
            json!([run("x", &A), run("y", &A), run("z", &A), run("t", &A)]),
        );
        let b = report(100, 10, json!([mismatch, twice, missing, untimed]));
        let c = compare(&a, &b, 2.0).unwrap();
        for r in &c.rows {
            assert_eq!(r.verdict, Verdict::CannotTell, "{r:?}");
            assert!(r.ratio.is_none() && r.ci95.is_none(), "{r:?}");
        }
        let caveats: Vec<_> = c
            .rows
            .iter()
            .map(|r| r.caveat.as_deref().unwrap())
            .collect();
        assert_eq!(
            caveats,
            [
                "B is mismatch",
                "B has only 2 repeats",
                "B is unavailable",
                "B has no times"
            ]
        );
        assert!(c.regressions(0.0).is_empty());
        let text = render_comparison(&c, "a.json", "b.json");
        assert!(text.contains("B has only 2 repeats  cannot tell"), "{text}");
        assert_eq!(text.matches("cannot tell").count(), 4, "{text}");
    }

    #[test]
    fn regressions_need_the_lower_bound_beyond_the_percentage() {
        let a = report(1, 10, json!([run("x", &A), run("y", &A)]));
        let b = report(1, 10, json!([run("x", &times(1.10)), run("y", &A)]));
        let c = compare(&a, &b, 2.0).unwrap();
        let names = |pct| -> Vec<&str> {
            c.regressions(pct)
                .iter()
                .map(|r| r.solver.as_str())
                .collect()
        };
        assert_eq!(names(5.0), ["x"]);
        assert!(names(20.0).is_empty());
        // At a 20 % threshold the row is not `slower`, so a lower --fail-if-slower cannot fail it.
        let lenient = compare(&a, &b, 20.0).unwrap();
        assert!(lenient.regressions(0.0).is_empty());
    }

    #[test]
    fn percentages_must_be_finite_and_not_negative() {
        assert_eq!(check_percent("--threshold", 0.0).unwrap(), 0.0);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = check_percent("--threshold", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid --threshold: "), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let a = report(1, 10, json!([]));
        assert!(compare(&a, &a, -1.0).is_err());
    }

    #[test]
    fn the_table_fits_100_columns_with_long_names() {
        let devices = [
            "NVIDIA GeForce RTX 4090 Laptop GPU (discrete) [vulkan]",
            "AMD EPYC 9B14 96-Core Processor with a very long marketing name",
            "llvmpipe (LLVM 19.1.7, 256 bits) [vulkan]",
        ];
        let solvers = ["gpu-fused-df64", "cpu-persistent", "tensorflow-v1"];
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        // µs per epoch of 7 digits in A (10 s an epoch), and B from 4 000 times slower to 1 000
        // times faster.
        for (i, (solver, device)) in solvers.iter().zip(devices).enumerate() {
            ra.push(run_on(solver, device, 10, &times(100.0)));
            let factor = [4321.5, 1.0, 0.001][i];
            rb.push(run_on(solver, device, 10, &times(100.0 * factor)));
        }
        let mut failed = run_on("gpu-persistent", devices[0], 10, &times(100.0));
        ra.push(failed.clone());
        failed["status"] = json!("unavailable");
        rb.push(failed);
        rb.push(run_on("cpu-threads", devices[1], 10, &[1.0, 1.0]));
        ra.push(run_on("cpu-threads", devices[1], 10, &A));
        let c = compare(
            &report(100_000_000, 10, json!(ra)),
            &report(100, 10_000_000, json!(rb)),
            2.0,
        )
        .unwrap();
        let text = render_comparison(&c, "before.json", "after.json");
        for line in text.lines() {
            assert!(text_width(line) <= MAX_WIDTH, "{line:?} in\n{text}");
        }
        assert!(
            text.contains("A is unavailable") || text.contains("B is unavailable"),
            "{text}"
        );
        assert!(
            text.contains("RTX 4090 Lap…·vk: NVIDIA GeForce RTX 4090"),
            "{text}"
        );
        assert!(text.contains("EPYC 9B14 96-Co…: AMD EPYC"), "{text}");
    }

    #[test]
    fn two_machines_fit_100_columns_and_never_count_as_a_regression() {
        // Long solver names, times from 1 ms to 4 s an epoch, an interval of 4-digit ratios, the
        // longest verdict, and every device on a machine of its own.
        let solvers = [
            "gpu-fused-df64",
            "cpu-persistent",
            "tensorflow-v1",
            "gpu-fused@unrolled",
        ];
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        for (i, solver) in solvers.iter().enumerate() {
            let a = "AMD EPYC 9B14 96-Core Processor with a very long marketing name [vulkan]";
            let b = "NVIDIA GeForce RTX 4090 Laptop GPU (discrete) [vulkan]";
            ra.push(run_on(solver, a, 10, &times(0.01)));
            let factor = [4321.5, 1.0, 0.001, 1234.5][i];
            rb.push(run_on(solver, b, 10, &times(0.01 * factor)));
        }
        let (a, b) = (report(100, 10, json!(ra)), report(100, 10, json!(rb)));
        let c = compare(&a, &b, 2.0).unwrap();
        assert_eq!(c.rows.len(), 4, "{c:?}");
        assert!(c.rows.iter().all(|r| r.b_device.is_some()));
        let text = render_comparison(&c, "a-machine-with-a-long-name.json", "b.json");
        for line in text.lines() {
            assert!(text_width(line) <= MAX_WIDTH, "{line:?} in\n{text}");
        }
        // 4 321 times slower on the other machine is not a regression of either.
        assert_eq!(c.rows[0].verdict, Verdict::Slower);
        assert!(c.regressions(5.0).is_empty());
    }

    #[test]
    fn a_report_without_a_hash_is_judged_by_where_its_data_came_from() {
        let mut a = report(100, 10, json!([run("x", &A)]));
        let mut b = a.clone();
        a["problem"]["data_sha256"] = json!("aa11");
        assert!(problem_differences(&a, &b).is_empty());
        b["problem"]["seed"] = json!(7);
        assert_eq!(problem_differences(&a, &b), ["seed: A has null, B has 7"]);
        b["problem"]["data_sha256"] = json!("bb22");
        // Both hashed: the hashes decide, not the seed.
        assert_eq!(
            problem_differences(&a, &b),
            ["data_sha256: A has aa11, B has bb22"]
        );
        b["schema_version"] = json!(2);
        let c = compare(&a, &b, 2.0).unwrap();
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("B has schema_version 2")),
            "{c:?}"
        );
    }

    #[test]
    fn devices_shorten_to_16_characters_keeping_the_backend() {
        assert_eq!(
            device_cell("Intel(R) Xeon(R) Processor", DEVICE_CHARS),
            "Xeon Processor"
        );
        assert_eq!(
            device_cell("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", DEVICE_CHARS),
            "Core i7-8700K C…"
        );
        assert_eq!(
            device_cell(
                "NVIDIA GeForce RTX 4090 Laptop GPU (discrete) [vulkan]",
                DEVICE_CHARS
            ),
            "RTX 4090 Lap…·vk"
        );
        assert_eq!(device_cell("NVIDIA H200 [vulkan]", DEVICE_CHARS), "H200·vk");
        assert_eq!(device_cell("cpu", DEVICE_CHARS), "cpu");
    }

    #[test]
    fn the_json_carries_every_field() {
        let a = report(1, 10, json!([run("x", &A), run("y", &A)]));
        let b = report(1, 10, json!([run("x", &times(1.10)), run("y", &[0.1])]));
        let c = compare(&a, &b, 2.0).unwrap();
        let v: Value = serde_json::from_str(&render_comparison_json(&c, "a", "b")).unwrap();
        assert_eq!((v["a"].as_str(), v["b"].as_str()), (Some("a"), Some("b")));
        assert_eq!(v["threshold"], 2.0);
        assert_eq!(v["resamples"], RESAMPLES);
        let x = &v["rows"][0];
        assert_eq!(x["verdict"], "slower");
        assert_eq!(x["ci95"].as_array().unwrap().len(), 2);
        assert!(x["caveat"].is_null());
        let y = &v["rows"][1];
        assert_eq!(y["verdict"], "cannot tell");
        assert!(y["ratio"].is_null() && y["ci95"].is_null());
        assert_eq!(y["caveat"], "B has only 1 repeat");
        assert!(v["unmatched"].as_array().unwrap().is_empty());
    }
}
