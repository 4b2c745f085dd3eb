//! The human-readable table: one row per solver, the closed form and notes under it.

use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table, TableStyle};

use super::{Report, RunReport};
use crate::problem::Source;
use crate::solver::DeviceType;
use crate::validate::Status;

/// A rule above and below the table and under its header; no lines between rows or columns.
const RULES_ONLY: TableStyle = TableStyle::new()
    .top_border(LineStyle::none().fill('─').junction('─'))
    .header_separator(LineStyle::none().fill('─').junction('─'))
    .bottom_border(LineStyle::none().fill('─').junction('─'));

/// A table in gdbench's style (rules above, under the header and below; no wrapping) with the
/// given header, its `right` columns right-aligned.
pub(super) fn styled_table(header: &[&str], right: &[usize]) -> Table {
    let mut table = Table::new();
    table
        .load_style(RULES_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.to_vec());
    for &col in right {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Renders the report as an aligned text table with a header and footnotes; `color` marks the
/// verdicts (for a terminal, never for a file).
pub fn render_table(report: &Report, color: bool) -> String {
    let p = &report.problem;
    let source = match &p.source {
        Source::Synthetic { seed, sigma } => format!("synthetic (seed {seed}, sigma {sigma})"),
        Source::File { data } => format!("file {}", data.display()),
    };
    let m = &report.machine;
    let mut out = format!(
        "gdbench {}: batch gradient descent for y = w0 + w1·x\n\
         problem: N = {}, {} epochs, mu = {}, {source}\n\
         host:    {} ({} threads, {} kernels, {}/{})\n\n",
        report.gdbench_version, p.n, p.epochs, p.mu, m.cpu, m.threads, m.simd, m.os, m.arch
    );
    if let Some(line) = super::instability(p) {
        out += &format!("warning: {line}\n\n");
    }

    if let Some(c) = &report.ceilings {
        out += &format!(
            "ceilings: CPU reads {:.1} GB/s on one core, {:.1} GB/s on {} threads",
            c.cpu.read_gb_s_one_core, c.cpu.read_gb_s_all_cores, c.cpu.threads
        );
        for g in &c.gpu {
            out += &format!(
                "; {} reads {:.1} GB/s, {:.0} µs per submission round trip",
                g.device, g.read_gb_s, g.round_trip_us
            );
        }
        for f in &c.gpu_failures {
            out += &format!("; {}: the probe failed ({})", f.device, f.error);
        }
        out += " (% peak is GB/s against these, shown only for data beyond the caches)\n\n";
    }
    let baseline = format!("× {}", report.baseline);
    let header = [
        "solver",
        "device",
        "prec",
        "w0",
        "w1",
        "Δ ref",
        "verdict",
        "median",
        "GPU kernel",
        "min … max",
        "reps",
        "µs/epoch",
        "GB/s",
        "% peak",
        &baseline,
    ];
    let mut table = styled_table(&header, &[3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14]);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for run in &report.runs {
        let cells: Vec<Cell> = row(run)
            .into_iter()
            .enumerate()
            .map(|(i, text)| {
                let cell = Cell::new(text);
                match (i, run.status) {
                    (VERDICT_COLUMN, Status::Ok) => cell.fg(Color::Green),
                    (VERDICT_COLUMN, Status::Mismatch) => cell.fg(Color::Red),
                    (VERDICT_COLUMN, Status::Diverged) => cell.fg(Color::Yellow),
                    (VERDICT_COLUMN, _) => cell.fg(Color::Magenta),
                    _ => cell,
                }
            })
            .collect();
        table.add_row(cells);
    }
    out += &table.to_string();
    out += "\n\n";

    out += &match report.closed_form.w {
        Some([c0, c1]) => format!(
            "closed form (least squares): w0 = {c0:.8}, w1 = {c1:.8}  (where the descent heads as epochs grow)\n"
        ),
        None => {
            "closed form (least squares): undetermined (the spread of x under- or overflows f64)\n"
                .into()
        }
    };
    let c = &report.reference.cross_check;
    let agreement = match c.max_rel_diff {
        Some(0.0) => "identical".to_string(),
        Some(d) => format!("Δ {d:.1e}"),
        None => "not comparable".to_string(),
    };
    out += &format!(
        "reference: {} (f64, `ref`), checked against cpu-moments' independent arithmetic: {agreement}, tolerance {:.0e}: {}\n\
         Δ ref is max|w − w_ref| / max|w_ref|; every row also runs {} epochs checked near rounding (a failure is in its note);\n\
         times are the whole descent, all epochs.\n",
        report.reference.solver,
        c.tolerance,
        c.status,
        report
            .runs
            .iter()
            .find_map(|r| r.spot_check.as_ref().map(|s| s.epochs))
            .unwrap_or(0),
    );
    if report.runs.iter().any(|r| r.solver.starts_with("gpu-")) {
        out += "GPU kernel is the median of solves timed by timestamp queries, run after the timed repeats\n\
                (no repeat carries timestamps).\n";
    }
    // One line per distinct message, naming every row that has it.
    let mut notes: Vec<(Vec<&str>, &str)> = Vec::new();
    for run in report.runs.iter().filter(|r| !r.message.is_empty()) {
        match notes.iter_mut().find(|(_, m)| *m == run.message) {
            Some((solvers, _)) if !solvers.contains(&run.solver.as_str()) => {
                solvers.push(&run.solver)
            }
            Some(_) => {}
            None => notes.push((vec![&run.solver], &run.message)),
        }
    }
    for (solvers, message) in notes {
        out += &format!("  {}: {message}\n", solvers.join(", "));
    }
    if report.runs.iter().any(is_gpu_emulation) {
        out += "note: rows on a cpu-type adapter are CPU emulation of a GPU: CPU timings, not GPU speed.\n";
    }
    out
}

/// A GPU solver's row on a CPU-type adapter (lavapipe, llvmpipe): CPU timings in a GPU's clothes.
fn is_gpu_emulation(run: &RunReport) -> bool {
    run.device_type == DeviceType::Cpu && run.solver.starts_with("gpu-")
}

/// The column of the verdict in [`row`].
const VERDICT_COLUMN: usize = 6;

fn row(run: &RunReport) -> Vec<String> {
    let device = match (&run.library, run.device_type) {
        (Some(library), DeviceType::Cpu) => format!("{library} · cpu ×{}", run.threads),
        (Some(library), other) => format!("{library} · {} ({other})", run.device),
        (None, _) if is_gpu_emulation(run) => format!("{} (cpu emulation)", run.device),
        (None, DeviceType::Cpu) => format!("cpu ×{}", run.threads),
        (None, other) => format!("{} ({other})", run.device),
    };
    let dash = || "–".to_string();
    let weight = |i: usize| run.w.map_or_else(dash, |w| format!("{:.10}", w[i]));
    let verdict = match run.status {
        Status::Ok if run.reference => "ref".to_string(),
        Status::Ok => "ok".to_string(),
        other => other.to_string().to_uppercase(),
    };
    let (median, range, reps) = match &run.time_s {
        Some(t) => (
            human_time(t.median),
            format!("{} … {}", human_time(t.min), human_time(t.max)),
            t.repeats.len().to_string(),
        ),
        None => (dash(), dash(), dash()),
    };
    vec![
        run.solver.to_string(),
        device,
        run.precision.to_string(),
        weight(0),
        weight(1),
        run.max_rel_diff.map_or_else(dash, |d| {
            if d == 0.0 {
                "0".into()
            } else {
                format!("{d:.1e}")
            }
        }),
        verdict,
        median,
        run.phases
            .as_ref()
            .and_then(|p| p.gpu_kernel_s)
            .map_or_else(dash, human_time),
        range,
        reps,
        run.epoch_us.map_or_else(dash, |u| format!("{u:.3}")),
        run.effective_gb_s.map_or_else(dash, |g| format!("{g:.1}")),
        run.peak_pct.map_or_else(dash, |p| format!("{p:.0}")),
        run.speedup.map_or_else(dash, |s| {
            if s >= 1.0 {
                format!("{s:.1}×")
            } else {
                format!("{s:.3}×")
            }
        }),
    ]
}

/// Seconds in the unit that keeps 3–4 significant digits.
fn human_time(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.3} s"),
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s if s >= 1e-6 => format!("{:.2} µs", s * 1e6),
        s => format!("{:.0} ns", s * 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::human_time;

    #[test]
    fn times_pick_a_readable_unit() {
        assert_eq!(human_time(2.5), "2.500 s");
        assert_eq!(human_time(0.01863), "18.63 ms");
        assert_eq!(human_time(3.2e-5), "32.00 µs");
        assert_eq!(human_time(4e-8), "40 ns");
    }
}
