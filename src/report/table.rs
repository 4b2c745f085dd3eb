//! The human-readable table: the problem and ceilings above, one row per solver, a legend of the
//! devices and the notes under it. The default fits [`MAX_WIDTH`] columns (fewer on a narrower
//! terminal, by dropping the least essential columns); `--wide` shows every column.

use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table};

use super::format::{self, Column, compact_columns, or_dash, search_columns, wide_columns};
use super::{Report, RunReport};
use crate::problem::Source;
use crate::sweep::SweepOver;
use crate::validate::Status;

/// The widest a default report gets, whatever it is written to.
pub const MAX_WIDTH: usize = 100;

/// How to draw the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    /// Colour the verdicts (a terminal, never a file).
    pub color: bool,
    /// The terminal's width, when writing to one: a narrower table drops columns to fit it.
    pub terminal_width: Option<usize>,
    /// Every column (weights, Δ ref, median, GPU kernel, min … max, repeats), however wide.
    pub wide: bool,
}

impl TextStyle {
    /// The width the default report keeps within.
    fn width(&self) -> usize {
        self.terminal_width.map_or(MAX_WIDTH, |w| w.min(MAX_WIDTH))
    }
}

/// A rule above and below the table and under its header; no lines between rows or columns.
const RULES_ONLY: comfy_table::TableStyle = comfy_table::TableStyle::new()
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
    for column in table.column_iter_mut() {
        // One space of padding beside the column separator: two between columns.
        column.set_padding((1, 0));
    }
    for &col in right {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// The rows under `columns`, verdicts coloured when `color`.
fn build(runs: &[RunReport], columns: &[Column], color: bool) -> Table {
    let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
    let right: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].right).collect();
    let mut table = styled_table(&header, &right);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for run in runs {
        table.add_row(columns.iter().map(|c| {
            let cell = Cell::new((c.cell)(run));
            if c.header != "verdict" {
                return cell;
            }
            match run.status {
                Status::Ok => cell.fg(Color::Green),
                Status::Mismatch => cell.fg(Color::Red),
                Status::Diverged => cell.fg(Color::Yellow),
                _ => cell.fg(Color::Magenta),
            }
        }));
    }
    table
}

/// The widest line of `text`, in terminal columns (colour codes excluded).
pub fn text_width(text: &str) -> usize {
    text.lines()
        .map(console::measure_text_width)
        .max()
        .unwrap_or(0)
}

/// The table alone: every column with `wide`; else the compact columns, dropping the most
/// dispensable ones until the table fits `width`.
fn runs_table(report: &Report, style: &TextStyle) -> String {
    let search = report.problem.mu.is_search();
    // A search's time per descent and GFLOP/s go after the spread (or µs/epoch, when wide).
    let with_search = |mut columns: Vec<Column>, after: &str| {
        if search {
            let at = columns
                .iter()
                .position(|c| c.header == after)
                .map_or(columns.len(), |i| i + 1);
            columns.splice(at..at, search_columns());
        }
        columns
    };
    if style.wide {
        let columns = with_search(wide_columns(&report.baseline), "µs/epoch");
        return build(&report.runs, &columns, style.color).to_string();
    }
    let mut columns = with_search(compact_columns(&report.baseline), "spread");
    loop {
        let text = build(&report.runs, &columns, style.color).to_string();
        let most_dispensable = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.drop_rank > 0)
            .max_by_key(|(_, c)| c.drop_rank)
            .map(|(i, _)| i);
        match most_dispensable {
            Some(i) if text_width(&text) > style.width() => {
                columns.remove(i);
            }
            _ => return text,
        }
    }
}

/// `text` wrapped to `width`, later lines indented by `indent`.
pub(super) fn wrap(text: &str, width: usize, indent: &str) -> String {
    // Never split a word at its hyphen: `gpu-persistent` and `--repeat` stay whole.
    let options = textwrap::Options::new(width)
        .subsequent_indent(indent)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::fill(text, options) + "\n"
}

/// Renders the report as text: the problem and ceilings, the table, the devices' legend, the
/// closed form, the reference's check and every row's notes.
pub fn render_table(report: &Report, style: &TextStyle) -> String {
    let width = if style.wide {
        usize::MAX / 2
    } else {
        style.width()
    };
    let p = &report.problem;
    let source = match &p.source {
        Source::Synthetic { seed, sigma } => format!("synthetic (seed {seed}, sigma {sigma})"),
        Source::File { data } => format!("file {}", data.display()),
    };
    let m = &report.machine;
    let mut out = match super::debug_build_warning(report) {
        Some(warning) => wrap(
            &format!("gdbench {}, {warning}", report.gdbench_version),
            width,
            "  ",
        ),
        None => String::new(),
    };
    out += &format!(
        "gdbench {}: batch gradient descent for y = w0 + w1·x\n",
        report.gdbench_version
    );
    out += &wrap(
        &format!(
            "problem: N = {}, {} epochs, mu = {}, {source}",
            p.n, p.epochs, p.mu
        ),
        width,
        "         ",
    );
    out += &wrap(
        &format!(
            "host:    {} ({} threads, {} SIMD, {}/{})",
            m.cpu, m.threads, m.simd, m.os, m.arch
        ),
        width,
        "         ",
    );
    out += "\n";
    if let Some(line) = super::instability(p) {
        out += &wrap(&format!("warning: {line}"), width, "         ");
        out += "\n";
    }
    if let Some(c) = &report.ceilings {
        out += &wrap(&format!("ceilings: {c}"), width, "          ");
        out += "\n";
    }

    out += &runs_table(report, style);
    out += "\n";
    out += &legend(report, width);
    out += "\n";

    out += &match report.closed_form.w {
        Some([c0, c1]) => wrap(
            &format!(
                "closed form (least squares): w0 = {c0:.8}, w1 = {c1:.8} (where the descent heads as epochs grow)"
            ),
            width,
            "  ",
        ),
        None => wrap(
            "closed form (least squares): undetermined (the spread of x under- or overflows f64)",
            width,
            "  ",
        ),
    };
    let c = &report.reference.cross_check;
    let agreement = match c.max_rel_diff {
        Some(0.0) => "identical".to_string(),
        Some(d) => format!("Δ {d:.1e}"),
        None => "not comparable".to_string(),
    };
    let w = report.reference.w;
    let at = if p.mu.is_search() {
        format!(" at mu = {}", report.reference.mu)
    } else {
        String::new()
    };
    out += &wrap(
        &format!(
            "reference: {} (f64, `ref`){at}: w0 = {:.10}, w1 = {:.10}; against cpu-moments' independent arithmetic: {agreement}, tolerance {:.0e}: {}",
            report.reference.solver, w[0], w[1], c.tolerance, c.status,
        ),
        width,
        "  ",
    );
    let spot = report
        .runs
        .iter()
        .find_map(|r| r.spot_check.as_ref().map(|s| s.epochs))
        .map_or(String::new(), |epochs| {
            format!("every row also runs {epochs} epochs checked near rounding. ")
        });
    let how = if report.measured_any() {
        format!(
            "verdicts hold each row's weights against the reference within its precision's tolerance (--wide shows them); \
             {spot}Times are the whole descent; spread is ± half the repeats' range over the median."
        )
    } else {
        "no row was measured: every row is unavailable or an error (each says why), so nothing was timed or checked."
            .to_string()
    };
    out += &wrap(&how, width, "");
    out += &notes(report, width);
    if p.mu.is_search() {
        out += "\n";
        out += &search_summary(report, width);
    }
    out
}

/// Steps a search's summary lists one by one; more are sampled evenly (JSON has them all).
const LISTED_STEPS: usize = 24;

/// Under a search's table: the best step, then loss against mu from the reference's descents.
fn search_summary(report: &Report, width: usize) -> String {
    let p = &report.problem;
    let mut out = wrap(
        &format!(
            "step-size search: {}; steps at or above 2/λ_max = {:.4e} diverge",
            p.mu, p.max_stable_mu
        ),
        width,
        "  ",
    );
    out += &match &report.best {
        Some(b) => wrap(
            &format!(
                "best step: mu = {} ({}): loss {:.6e}, w0 = {:.10}, w1 = {:.10}",
                b.mu,
                if b.tied > 1 {
                    format!(
                        "the smallest of {} steps whose final mean squared errors are the lowest within what rounding lets the descents tell apart",
                        b.tied
                    )
                } else {
                    "lowest final mean squared error among the steps that converge".into()
                },
                b.loss,
                b.w[0],
                b.w[1]
            ),
            width,
            "  ",
        ),
        None => wrap("best step: none (no step converges)", width, "  "),
    };
    let Some(run) = report.search_row() else {
        return out;
    };
    let k = run.descents.len();
    let stride = k.div_ceil(LISTED_STEPS);
    let mut table =
        super::table::styled_table(&["mu", "loss", "w0", "w1", "status"], &[0, 1, 2, 3]);
    for (i, d) in run.descents.iter().enumerate() {
        let best = report.best_mu == Some(d.mu);
        if i % stride != 0 && i != k - 1 && !best {
            continue;
        }
        let status = match d.diverged_at_epoch {
            Some(e) => format!("diverged by epoch {e}"),
            None if best => format!("{} (best)", d.status),
            None => d.status.to_string(),
        };
        table.add_row(vec![
            format!("{:.4e}", d.mu),
            or_dash(d.loss, |l| format!("{l:.6e}")),
            format!("{:.6}", d.w[0]),
            format!("{:.6}", d.w[1]),
            status,
        ]);
    }
    let sampled = if stride > 1 {
        format!(" (every {stride}th of {k}; JSON `descents` has all)")
    } else {
        String::new()
    };
    out += &format!("{}'s descents{sampled}:\n", run.solver);
    out += &table.to_string();
    out += "\n";
    out
}

/// The devices under their short names, and what a peer row ran.
fn legend(report: &Report, width: usize) -> String {
    let m = &report.machine;
    let mut lines: Vec<String> = Vec::new();
    let mut add = |line: String| {
        if !lines.contains(&line) {
            lines.push(line);
        }
    };
    for run in &report.runs {
        let short = format::short_device(run);
        let line = if run.is_gpu_emulation() {
            format!(
                "{short}: {}, CPU emulation of a GPU: CPU timings, not GPU speed",
                run.device
            )
        } else if run.device_type == crate::solver::DeviceType::Cpu {
            format!(
                "{short}: {} on {} of {} threads",
                m.cpu, run.threads, m.threads
            )
        } else {
            format!("{short}: {} ({})", run.device, run.device_type)
        };
        add(line);
        if let Some(library) = &run.library {
            add(format!("{}: {library}", run.solver));
        }
    }
    lines.into_iter().map(|l| wrap(&l, width, "    ")).collect()
}

/// One line per distinct note, naming every row that has it; a mismatch also gives its weights.
fn notes(report: &Report, width: usize) -> String {
    let mut notes: Vec<(Vec<&str>, String)> = Vec::new();
    for run in &report.runs {
        let mut message = run.message.clone();
        if let (Status::Mismatch, Some([w0, w1])) = (run.status, run.w) {
            let r = report.reference.w;
            message += &format!(
                "; w0 = {w0:.10}, w1 = {w1:.10} against the reference's {:.10}, {:.10}",
                r[0], r[1]
            );
        }
        if message.is_empty() {
            continue;
        }
        match notes.iter_mut().find(|(_, m)| *m == message) {
            Some((solvers, _)) if !solvers.contains(&run.solver.as_str()) => {
                solvers.push(&run.solver)
            }
            Some(_) => {}
            None => notes.push((vec![&run.solver], message)),
        }
    }
    notes
        .into_iter()
        .map(|(solvers, message)| {
            wrap(
                &format!(
                    "  {}: {}",
                    solvers.join(", "),
                    message.trim_start_matches("; ")
                ),
                width,
                "      ",
            )
        })
        .collect()
}

/// A sweep's summary: per N (or K) a line per row (verdict, µs/epoch and GB/s, or µs per
/// descent-epoch and GFLOP/s, device), then where each GPU solver overtakes the best CPU solver.
pub fn render_sweep_summary(points: &[crate::sweep::SweepPoint], over: SweepOver) -> String {
    let mut out = String::new();
    for p in points {
        out += &match over {
            SweepOver::N => format!("N = {} ({} epochs)\n", p.n, p.epochs),
            SweepOver::Models => format!("K = {} at N = {} ({} epochs)\n", p.k, p.n, p.epochs),
        };
        for r in &p.runs {
            let us = match over {
                SweepOver::N => {
                    or_dash(r.epoch_us, |u| format!("{} µs/epoch", format::epoch_us(u)))
                }
                SweepOver::Models => or_dash(r.epoch_us, |u| {
                    format!("{} µs per descent-epoch", format::epoch_us(u / p.k as f64))
                }),
            };
            let rate = match over {
                SweepOver::N => r
                    .effective_gb_s
                    .map_or(String::new(), |g| format!(", {} GB/s", format::gb_s(g))),
                SweepOver::Models => r
                    .gflop_s
                    .map_or(String::new(), |g| format!(", {} GFLOP/s", format::gb_s(g))),
            };
            let diff = r
                .max_rel_diff
                .map_or(String::new(), |d| format!(", Δ ref {d:.1e}"));
            out += &format!(
                "  {:<16} {:<11} {us}{rate}{diff}  [{}]\n",
                r.solver,
                format::verdict(r),
                format::short_device(r)
            );
        }
    }
    let what = match over {
        SweepOver::N => "N",
        SweepOver::Models => "K",
    };
    for (label, x) in super::crossovers(&super::series_over(points, over)) {
        out += &format!("{label} overtakes the best CPU solver at {what} = {x}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Progress;
    use crate::solver::select;
    use crate::suite::{SuiteOptions, run_suite};
    use crate::{Dataset, Problem};

    /// A real report of the CPU solvers on a small problem, three repeats each.
    fn report() -> Report {
        let problem = Problem::new(Dataset::synthetic(1000, 0.1, 7).unwrap(), 0.01, 50).unwrap();
        let mut options = SuiteOptions::new(select("cpu").unwrap());
        options.bench.repeat = Some(3);
        run_suite(&problem, &options, &Progress::hidden()).unwrap()
    }

    fn widest(text: &str) -> usize {
        text.lines().map(|l| l.chars().count()).max().unwrap()
    }

    #[test]
    fn the_default_report_fits_100_columns_and_wide_shows_every_column() {
        let report = report();
        let text = render_table(&report, &TextStyle::default());
        assert!(widest(&text) <= MAX_WIDTH, "{text}");
        let header = text.lines().find(|l| l.contains("verdict")).unwrap();
        for column in [
            "solver",
            "device",
            "prec",
            "µs/epoch",
            "spread",
            "GB/s",
            "% peak",
        ] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(
            header.contains("× cpu-naive") && !header.contains("w0"),
            "{header}"
        );
        // The short device is explained in the legend.
        assert!(
            text.contains("cpu ×1: ") && text.contains(&report.machine.cpu),
            "{text}"
        );
        let wide = render_table(
            &report,
            &TextStyle {
                wide: true,
                ..TextStyle::default()
            },
        );
        let header = wide.lines().find(|l| l.contains("verdict")).unwrap();
        for column in [
            "w0",
            "w1",
            "Δ ref",
            "median",
            "GPU kernel",
            "min … max",
            "reps",
        ] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(widest(&wide) > MAX_WIDTH);
    }

    #[test]
    fn a_narrow_terminal_drops_columns_instead_of_wrapping() {
        let report = report();
        let style = TextStyle {
            terminal_width: Some(60),
            ..TextStyle::default()
        };
        let text = render_table(&report, &style);
        assert!(widest(&text) <= 60, "{text}");
        let header = text.lines().find(|l| l.contains("verdict")).unwrap();
        for column in ["solver", "verdict", "µs/epoch", "× cpu-naive"] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(!header.contains("% peak"), "{header}");
        // Every row is still one line: as many lines between the rules as rows plus the header.
        let rules: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.starts_with('─'))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(rules[2] - rules[1] - 1, report.runs.len(), "{text}");
    }

    #[test]
    fn a_mismatch_shows_its_weights_in_its_note() {
        let mut report = report();
        let run = &mut report.runs[2];
        run.status = Status::Mismatch;
        run.w = Some([1.25, -0.5]);
        run.message = "differs from the reference".into();
        let text = render_table(&report, &TextStyle::default());
        let note = text
            .lines()
            .skip_while(|l| !l.contains(&format!("{}: differs", report.runs[2].solver)))
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            note.contains("w0 = 1.2500000000, w1 = -0.5000000000"),
            "{text}"
        );
        assert!(text.contains("MISMATCH"), "{text}");
    }
}
