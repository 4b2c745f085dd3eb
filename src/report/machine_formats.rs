//! The report as CSV (one row per run, for spreadsheets) and as a Markdown table (for issues).

use serde::Serialize;

use super::{Report, RunReport, format};
use crate::error::{GdError, Result};
use crate::validate::Check;

/// One CSV row: every figure of a JSON run, flattened (CSV has no nesting). The header is these
/// field names, in this order; `n` and `epochs` lead so sweep points and runs share one layout.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CsvRow {
    /// Samples.
    pub n: usize,
    /// Epochs of the descent.
    pub epochs: u64,
    /// Solver or peer name.
    pub solver: String,
    /// `cpu`, `gpu` or `peer`.
    pub kind: String,
    /// Peer rows: library and version.
    pub library: Option<String>,
    /// Device name.
    pub device: String,
    /// `cpu`, `discrete-gpu`, ...
    pub device_type: String,
    /// `f32` or `f64`.
    pub precision: String,
    /// Host threads.
    pub threads: usize,
    /// Verdict.
    pub status: String,
    /// True for the reference's own row.
    pub reference: bool,
    /// Final w0.
    pub w0: Option<f64>,
    /// Final w1.
    pub w1: Option<f64>,
    /// Largest absolute weight difference from the reference.
    pub max_abs_diff: Option<f64>,
    /// The same, relative.
    pub max_rel_diff: Option<f64>,
    /// f16 rows: the cost of storing the data in f16 (relative).
    pub data_rounding_rel_diff: Option<f64>,
    /// Relative tolerance applied.
    pub tolerance: Option<f64>,
    /// Epoch by which the weights left a converging descent's range.
    pub diverged_at_epoch: Option<u64>,
    /// Spot check: epochs.
    pub spot_epochs: Option<u64>,
    /// Spot check: relative difference.
    pub spot_max_rel_diff: Option<f64>,
    /// Spot check: tolerance.
    pub spot_tolerance: Option<f64>,
    /// Spot check: verdict.
    pub spot_status: Option<String>,
    /// Reference row: epochs of the cross-check.
    pub cross_check_epochs: Option<u64>,
    /// Reference row: relative difference from cpu-moments.
    pub cross_check_max_rel_diff: Option<f64>,
    /// Reference row: the cross-check's tolerance.
    pub cross_check_tolerance: Option<f64>,
    /// Reference row: the cross-check's verdict.
    pub cross_check_status: Option<String>,
    /// Median wall time of the whole descent, s.
    pub median_s: Option<f64>,
    /// Fastest repeat, s.
    pub min_s: Option<f64>,
    /// Slowest repeat, s.
    pub max_s: Option<f64>,
    /// Mean, s.
    pub mean_s: Option<f64>,
    /// Sample standard deviation, s.
    pub stddev_s: Option<f64>,
    /// Timed repeats.
    pub repeats: Option<usize>,
    /// Outlying repeats.
    pub outliers: Option<usize>,
    /// Every timed repeat in seconds, in the order run, separated by `;`.
    pub times_s: Option<String>,
    /// Untimed solves before timing.
    pub warmup: u32,
    /// Preparation, s.
    pub prepare_s: Option<f64>,
    /// Setup part of preparation, s.
    pub setup_s: Option<f64>,
    /// Upload part of preparation, s.
    pub upload_s: Option<f64>,
    /// Median solve less its read-back, s.
    pub compute_s: Option<f64>,
    /// Read-back of the weights, s.
    pub readback_s: Option<f64>,
    /// GPU kernel time (median of instrumented solves), s.
    pub gpu_kernel_s: Option<f64>,
    /// Instrumented solves behind it.
    pub gpu_kernel_solves: Option<usize>,
    /// Why no kernel time is given although one was measured.
    pub gpu_kernel_note: Option<String>,
    /// µs per epoch.
    pub epoch_us: Option<f64>,
    /// Epochs per second.
    pub epochs_per_s: Option<f64>,
    /// Effective bandwidth, GB/s.
    pub effective_gb_s: Option<f64>,
    /// GFLOP/s.
    pub gflop_s: Option<f64>,
    /// The ceiling the row is held against, GB/s.
    pub peak_gb_s: Option<f64>,
    /// Share of it, % (never above 100).
    pub peak_pct: Option<f64>,
    /// Why no share is given.
    pub peak_note: Option<String>,
    /// Baseline median over this median.
    pub speedup: Option<f64>,
    /// Step sizes of the problem, K (each row's descents are in the JSON's `descents`; a sweep
    /// over models varies it).
    pub steps: usize,
    /// Median time per descent, s.
    pub descent_s: Option<f64>,
    /// CPU array rows: the least µs an epoch can take for data in cache.
    pub compute_limit_us: Option<f64>,
    /// The wall the row hits: latency, bandwidth, compute, cache or overhead.
    pub bound: Option<String>,
    /// Its share of that wall's ceiling, %.
    pub bound_share: Option<f64>,
    /// That ceiling, in `bound_unit`.
    pub bound_ceiling: Option<f64>,
    /// µs/epoch, GB/s or GFLOP/s.
    pub bound_unit: Option<String>,
    /// GPU rows: dispatches per epoch.
    pub dispatches_per_epoch: Option<f64>,
    /// GPU rows: submissions per epoch.
    pub submissions_per_epoch: Option<f64>,
    /// GPU rows: one-workgroup barriers per epoch.
    pub barriers_per_epoch: Option<f64>,
    /// The median's 95 % interval, low end, s (none under 6 repeats).
    pub ci95_lo_s: Option<f64>,
    /// Its high end, s.
    pub ci95_hi_s: Option<f64>,
    /// Notes (their kinds are in the JSON's `notes`).
    pub message: String,
}

impl CsvRow {
    /// The row of `run` in a problem of `n` samples, `epochs` epochs and `steps` step sizes.
    pub fn new((n, epochs, steps): (usize, u64, usize), run: &RunReport) -> Self {
        let t = run.time_s.as_ref();
        let p = run.phases.as_ref();
        let spot: Option<&Check> = run.spot_check.as_ref();
        let cross: Option<&Check> = run.cross_check.as_ref();
        Self {
            n,
            epochs,
            solver: run.solver.clone(),
            kind: serde_json::to_value(run.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            library: run.library.clone(),
            device: run.device.clone(),
            device_type: run.device_type.to_string(),
            precision: run.precision.to_string(),
            threads: run.threads,
            status: run.status.to_string(),
            reference: run.reference,
            w0: run.w.map(|w| w[0]),
            w1: run.w.map(|w| w[1]),
            max_abs_diff: run.max_abs_diff,
            max_rel_diff: run.max_rel_diff,
            data_rounding_rel_diff: run.data_rounding_rel_diff,
            tolerance: run.tolerance,
            diverged_at_epoch: run.diverged_at_epoch,
            spot_epochs: spot.map(|c| c.epochs),
            spot_max_rel_diff: spot.and_then(|c| c.max_rel_diff),
            spot_tolerance: spot.map(|c| c.tolerance),
            spot_status: spot.map(|c| c.status.to_string()),
            cross_check_epochs: cross.map(|c| c.epochs),
            cross_check_max_rel_diff: cross.and_then(|c| c.max_rel_diff),
            cross_check_tolerance: cross.map(|c| c.tolerance),
            cross_check_status: cross.map(|c| c.status.to_string()),
            median_s: t.map(|t| t.median),
            min_s: t.map(|t| t.min),
            max_s: t.map(|t| t.max),
            mean_s: t.map(|t| t.mean),
            stddev_s: t.map(|t| t.stddev),
            repeats: t.map(|t| t.repeats.len()),
            outliers: t.map(|t| t.outliers),
            times_s: t.map(|t| {
                t.repeats
                    .iter()
                    .map(f64::to_string)
                    .collect::<Vec<_>>()
                    .join(";")
            }),
            warmup: run.warmup,
            prepare_s: run.prepare_s,
            setup_s: p.map(|p| p.setup_s),
            upload_s: p.and_then(|p| p.upload_s),
            compute_s: p.map(|p| p.compute_s),
            readback_s: p.and_then(|p| p.readback_s),
            gpu_kernel_s: p.and_then(|p| p.gpu_kernel_s),
            gpu_kernel_solves: p.and_then(|p| p.gpu_kernel_solves),
            gpu_kernel_note: p.and_then(|p| p.gpu_kernel_note.clone()),
            epoch_us: run.epoch_us,
            epochs_per_s: run.epochs_per_s,
            effective_gb_s: run.effective_gb_s,
            gflop_s: run.gflop_s,
            peak_gb_s: run.peak_gb_s,
            peak_pct: run.peak_pct,
            peak_note: run.peak_note.clone(),
            speedup: run.speedup,
            steps,
            descent_s: run.descent_s,
            compute_limit_us: run.compute_limit_us,
            bound: run.bound.as_ref().and_then(|b| {
                serde_json::to_value(b.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
            }),
            bound_share: run.bound.as_ref().and_then(|b| b.share),
            bound_ceiling: run.bound.as_ref().and_then(|b| b.ceiling),
            bound_unit: run.bound.as_ref().and_then(|b| b.unit.map(str::to_owned)),
            dispatches_per_epoch: run.pacing.map(|p| p.dispatches_per_epoch),
            submissions_per_epoch: run.pacing.map(|p| p.submissions_per_epoch),
            barriers_per_epoch: run.pacing.map(|p| p.barriers_per_epoch),
            ci95_lo_s: t.and_then(|t| t.ci95).map(|c| c[0]),
            ci95_hi_s: t.and_then(|t| t.ci95).map(|c| c[1]),
            message: run.message.clone(),
        }
    }
}

/// Rows as CSV text: a header from [`CsvRow`]'s fields, then one line per row.
fn write_csv(rows: impl IntoIterator<Item = CsvRow>, what: &str) -> Result<String> {
    let fail = |e: csv::Error| GdError::Output {
        path: what.into(),
        source: std::io::Error::other(e),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| fail(e.into_error().into()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}

/// The runs as CSV, one [`CsvRow`] each; empty cells where a value does not exist.
pub fn render_csv(report: &Report) -> Result<String> {
    let p = &report.problem;
    let shape = (p.n, p.epochs, p.mu.as_slice().len());
    write_csv(
        report.runs.iter().map(|r| CsvRow::new(shape, r)),
        "standard output",
    )
}

/// A sweep as CSV: one [`CsvRow`] per run per point.
pub fn render_sweep_csv(points: &[crate::sweep::SweepPoint]) -> Result<String> {
    write_csv(
        points
            .iter()
            .flat_map(|p| p.runs.iter().map(|r| CsvRow::new((p.n, p.epochs, p.k), r))),
        "the sweep",
    )
}

/// The runs as a Markdown table (every column of `--wide`, formatted as the table formats them),
/// with the problem above it, and the closed form, the devices and every row's notes below.
pub fn render_markdown(report: &Report) -> String {
    let p = &report.problem;
    let mut out = format!(
        "**gdbench {}**: N = {}, {} epochs, mu = {}, on {} ({} threads)\n\nMade {}; data \
         sha256 `{}`.\n\n",
        report.provenance.version(),
        p.n,
        p.epochs,
        p.mu,
        report.machine.cpu,
        report.machine.threads,
        report.provenance.line(),
        p.data_sha256
    );
    if let Some(line) = super::debug_build_warning(report) {
        out = format!("> **Warning**: {line}\n\n{out}");
    }
    if let Some(line) = super::instability(p) {
        out += &format!("> **Warning**: {line}\n\n");
    }
    let cell = |s: String| s.replace('|', "\\|");
    let columns = format::wide_columns(&report.baseline);
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    out += &line(columns.iter().map(|c| cell(c.header.clone())).collect());
    let rules: Vec<&str> = columns
        .iter()
        .map(|c| if c.right { "---:" } else { "---" })
        .collect();
    out += &format!("|{}|\n", rules.join("|"));
    for r in &report.runs {
        out += &line(columns.iter().map(|c| cell((c.cell)(r))).collect());
    }
    if let Some([w0, w1]) = report.closed_form.w {
        out += &format!("\nClosed form (least squares): w0 = {w0:.8}, w1 = {w1:.8}.\n");
    }
    let notes: Vec<String> = report
        .runs
        .iter()
        .filter(|r| !r.message.is_empty())
        .map(|r| {
            format!(
                "- **{}** ({}): {}",
                cell(r.solver.clone()),
                cell(format::short_device(r)),
                r.message
            )
        })
        .collect();
    if !notes.is_empty() {
        out += "\nNotes:\n";
        out += &notes.join("\n");
        out += "\n";
    }
    if report.runs.iter().any(RunReport::is_gpu_emulation) {
        out += "\nRows on a cpu-type adapter are CPU emulation of a GPU: CPU timings, not GPU speed.\n";
    }
    out
}
