//! The report as CSV (one row per run, for spreadsheets) and as a Markdown table (for issues).

use super::{Report, RunReport};
use crate::error::{GdError, Result};

/// CSV columns, in order; `solver` first.
pub const CSV_COLUMNS: [&str; 30] = [
    "solver",
    "library",
    "device",
    "device_type",
    "precision",
    "threads",
    "status",
    "w0",
    "w1",
    "max_abs_diff",
    "max_rel_diff",
    "tolerance",
    "diverged_at_epoch",
    "median_s",
    "min_s",
    "max_s",
    "mean_s",
    "stddev_s",
    "repeats",
    "outliers",
    "prepare_s",
    "epoch_us",
    "effective_gb_s",
    "speedup",
    "message",
    "setup_s",
    "upload_s",
    "compute_s",
    "readback_s",
    "gpu_kernel_s",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn csv_row(r: &RunReport) -> Vec<String> {
    let t = r.time_s.as_ref();
    vec![
        r.solver.clone(),
        r.library.clone().unwrap_or_default(),
        r.device.clone(),
        r.device_type.to_string(),
        r.precision.to_string(),
        r.threads.to_string(),
        r.status.to_string(),
        opt(r.w.map(|w| w[0])),
        opt(r.w.map(|w| w[1])),
        opt(r.max_abs_diff),
        opt(r.max_rel_diff),
        opt(r.tolerance),
        opt(r.diverged_at_epoch),
        opt(t.map(|t| t.median)),
        opt(t.map(|t| t.min)),
        opt(t.map(|t| t.max)),
        opt(t.map(|t| t.mean)),
        opt(t.map(|t| t.stddev)),
        opt(t.map(|t| t.repeats.len())),
        opt(t.map(|t| t.outliers)),
        opt(r.prepare_s),
        opt(r.epoch_us),
        opt(r.effective_gb_s),
        opt(r.speedup),
        r.message.clone(),
        opt(r.phases.as_ref().map(|p| p.setup_s)),
        opt(r.phases.as_ref().and_then(|p| p.upload_s)),
        opt(r.phases.as_ref().map(|p| p.compute_s)),
        opt(r.phases.as_ref().and_then(|p| p.readback_s)),
        opt(r.phases.as_ref().and_then(|p| p.gpu_kernel_s)),
    ]
}

/// The runs as CSV: a header row of [`CSV_COLUMNS`], then one row per run; empty cells where a
/// value does not exist (a run that did not happen has no times).
pub fn render_csv(report: &Report) -> Result<String> {
    let fail = |e: csv::Error| GdError::Output {
        path: "standard output".into(),
        source: std::io::Error::other(e),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_COLUMNS).map_err(fail)?;
    for run in &report.runs {
        writer.write_record(csv_row(run)).map_err(fail)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| fail(e.into_error().into()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}

/// A sweep as CSV: `n`, `epochs`, then [`CSV_COLUMNS`]; one row per run per point.
pub fn render_sweep_csv(points: &[crate::sweep::SweepPoint]) -> Result<String> {
    let fail = |e: csv::Error| GdError::Output {
        path: "the sweep".into(),
        source: std::io::Error::other(e),
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = ["n", "epochs"].into_iter().chain(CSV_COLUMNS).collect();
    writer.write_record(&header).map_err(fail)?;
    for p in points {
        for run in &p.runs {
            let row: Vec<String> = [p.n.to_string(), p.epochs.to_string()]
                .into_iter()
                .chain(csv_row(run))
                .collect();
            writer.write_record(&row).map_err(fail)?;
        }
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| fail(e.into_error().into()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}

/// The runs as a Markdown table, with the problem above it and the closed form below.
pub fn render_markdown(report: &Report) -> String {
    let p = &report.problem;
    let mut out = format!(
        "**gdbench {}**: N = {}, {} epochs, mu = {}, on {} ({} threads)\n\n",
        report.gdbench_version, p.n, p.epochs, p.mu, report.machine.cpu, report.machine.threads
    );
    out += &format!(
        "| solver | device | prec | w0 | w1 | Δ ref | verdict | median | µs/epoch | GB/s | × {} |\n",
        report.baseline
    );
    out += "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|\n";
    let cell = |s: String| s.replace('|', "\\|");
    for r in &report.runs {
        let device = match &r.library {
            Some(lib) => format!("{lib} · {} ({})", r.device, r.device_type),
            None => format!("{} ({})", r.device, r.device_type),
        };
        let w = |i: usize| r.w.map_or_else(|| "–".into(), |w| format!("{:.10}", w[i]));
        let num = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "–".into(), f);
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(r.solver.clone()),
            cell(device),
            r.precision,
            w(0),
            w(1),
            num(r.max_rel_diff, &|d| if d == 0.0 {
                "0".into()
            } else {
                format!("{d:.1e}")
            }),
            r.status,
            num(r.time_s.as_ref().map(|t| t.median), &|m| format!(
                "{m:.6} s"
            )),
            num(r.epoch_us, &|u| format!("{u:.3}")),
            num(r.effective_gb_s, &|g| format!("{g:.1}")),
            num(r.speedup, &|s| format!("{s:.3}×")),
        );
    }
    if let Some([w0, w1]) = report.closed_form.w {
        out += &format!("\nClosed form (least squares): w0 = {w0:.8}, w1 = {w1:.8}.\n");
    }
    out
}
