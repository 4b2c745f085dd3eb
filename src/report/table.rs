//! The human-readable table: the problem and ceilings above, one row per solver, a legend of the
//! devices and the notes under it. The default fits [`MAX_WIDTH`] columns (fewer on a narrower
//! terminal, by dropping the least essential columns); `--wide` shows every column.

use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table};

use super::format::{self, Column, compact_columns, or_dash, search_columns, wide_columns};
use super::{NoteKind, Report, RowKind, RunReport};
use crate::problem::Source;
use crate::solver::SolverId;
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
    /// Each row in detail after the notes (`--explain`).
    pub explain: bool,
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
    let mut out = header(report, width);
    out += &verdict(report, width);
    out += "\n";
    out += &runs_table(report, style);
    out += "\n";
    out += &legend(report, width);
    out += &reference_line(report, width);
    out += &how_to_read(report, width);
    out += &notes(report, width);
    if style.explain {
        out += "\n";
        out += &super::explain::explain(report, width);
    }
    if report.problem.mu.is_search() {
        out += "\n";
        out += &search_summary(report, width);
    }
    out
}

/// The report's head: a debug build's warning, the title, the problem and the host.
fn header(report: &Report, width: usize) -> String {
    let p = &report.problem;
    let source = match &p.source {
        Source::Synthetic { seed, sigma } => format!("synthetic (seed {seed}, sigma {sigma})"),
        Source::File { data } => format!("file {}", data.display()),
    };
    let m = &report.machine;
    let mut out = match super::debug_build_warning(report) {
        Some(warning) => wrap(
            &format!("gdbench {}, {warning}", report.provenance.gdbench_version),
            width,
            "  ",
        ),
        None => String::new(),
    };
    out += &wrap(
        &format!(
            "gdbench {}: batch gradient descent for y = w0 + w1·x",
            report.provenance.version()
        ),
        width,
        "  ",
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
            m.cpu, m.threads, m.simd, report.provenance.os, m.arch
        ),
        width,
        "         ",
    );
    out += &wrap(
        &format!(
            "made:    {} · data sha256 {}",
            report.provenance.line(),
            p.data_sha256.chars().take(12).collect::<String>()
        ),
        width,
        "         ",
    );
    out + "\n"
}

/// An unstable step's warning, the ceilings' line and the summary's verdict lines.
fn verdict(report: &Report, width: usize) -> String {
    let mut out = String::new();
    if let Some(line) = super::instability(&report.problem) {
        out += &wrap(&format!("warning: {line}"), width, "         ");
        out += "\n";
    }
    if let Some(c) = &report.ceilings {
        out += &wrap(&format!("ceilings: {c}"), width, "          ");
    }
    if let Some(note) = &report.baseline_note {
        out += &wrap(&format!("note:    {note}"), width, "         ");
    }
    for (i, line) in report.summary.lines.iter().enumerate() {
        let head = if i == 0 { "verdict: " } else { "         " };
        out += &wrap(&format!("{head}{line}"), width, "           ");
    }
    out
}

/// How to read the table, or, when no row was measured, why nothing was.
fn how_to_read(report: &Report, width: usize) -> String {
    let how = if report.measured_any() {
        let spot = report
            .runs
            .iter()
            .find_map(|r| r.spot_check.as_ref().map(|s| s.epochs))
            .map_or(String::new(), |epochs| {
                format!(" (and {epochs} epochs near rounding)")
            });
        format!(
            "how to read: verdict: within its precision's tolerance of the reference{spot}; spread: \
             the median's 95 % interval; bound: the wall it hits (lat, bw, fma, limit: its share of \
             that ceiling or limit; cache; overhead); --explain: each row in detail"
        )
    } else {
        "no row was measured: every row is unavailable or an error (each says why), so nothing was timed or checked."
            .to_string()
    };
    wrap(&how, width, "  ")
}

/// The reference's weights and its cross-check against cpu-moments, and the closed form.
fn reference_line(report: &Report, width: usize) -> String {
    let c = &report.reference.cross_check;
    let agreement = match c.max_rel_diff {
        Some(0.0) => "identical to".to_string(),
        Some(d) => format!("Δ {d:.1e} from"),
        None => "not comparable with".to_string(),
    };
    let w = report.reference.w;
    let at = if report.problem.mu.is_search() {
        format!(" at mu = {}", report.reference.mu)
    } else {
        String::new()
    };
    let closed = match report.closed_form.w {
        Some([c0, c1]) => format!("closed form (least squares): w0 = {c0:.8}, w1 = {c1:.8}"),
        None => {
            "closed form (least squares): undetermined (the spread of x under- or overflows f64)"
                .into()
        }
    };
    wrap(
        &format!(
            "reference: {} (f64){at}: w0 = {:.10}, w1 = {:.10}, {agreement} cpu-moments (tolerance {:.0e}): {}; {closed}",
            report.reference.solver, w[0], w[1], c.tolerance, c.status,
        ),
        width,
        "  ",
    )
}

/// Steps a search's summary lists one by one; more are sampled evenly (JSON has them all).
const LISTED_STEPS: usize = 24;

/// Under a search's table: the best step, then loss against mu from the reference's descents.
fn search_summary(report: &Report, width: usize) -> String {
    let mut out = search_head(report, width);
    let Some(run) = report.search_row() else {
        return out;
    };
    out += &search_descents(report, run);
    out
}

/// The search's steps and stability limit, and its best step.
fn search_head(report: &Report, width: usize) -> String {
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
    out
}

/// The search row's descents, a sample of at most [`LISTED_STEPS`] (the best always among them).
fn search_descents(report: &Report, run: &RunReport) -> String {
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
    format!("{}'s descents{sampled}:\n{table}\n", run.solver)
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
    // The CPU rows' short names in one line: `cpu ×1, cpu ×2: MODEL on 1, 2 of its N threads`.
    let mut cpu: Vec<(String, usize)> = Vec::new();
    for run in report
        .runs
        .iter()
        .filter(|r| r.device_type == crate::solver::DeviceType::Cpu && !r.is_gpu_emulation())
    {
        let short = format::short_device(run);
        if !cpu.iter().any(|(s, _)| *s == short) {
            cpu.push((short, run.threads));
        }
    }
    if !cpu.is_empty() {
        let names: Vec<&str> = cpu.iter().map(|(s, _)| s.as_str()).collect();
        let threads: Vec<String> = cpu.iter().map(|(_, t)| t.to_string()).collect();
        add(format!(
            "{}: {} on {} of its {} threads",
            names.join(", "),
            m.cpu,
            threads.join(", "),
            m.threads
        ));
    }
    for run in &report.runs {
        let short = format::short_device(run);
        if run.is_gpu_emulation() {
            add(format!(
                "{short}: {}: CPU emulation, CPU timings",
                run.device
            ));
        } else if run.device_type != crate::solver::DeviceType::Cpu {
            add(format!("{short}: {} ({})", run.device, run.device_type));
        }
        if let Some(library) = &run.library {
            add(format!("{}: {library}", run.solver));
        }
    }
    lines.into_iter().map(|l| wrap(&l, width, "    ")).collect()
}

/// One note line: the sentence its rows share and the rows, each with its own figure.
struct NoteLine<'a> {
    kind: NoteKind,
    sentence: String,
    /// True when rows share `sentence` as a headline and each has a figure of its own.
    shared: bool,
    rows: Vec<(&'a RunReport, String)>,
}

/// The notes grouped: one line per kind of note and sentence, naming the rows it concerns
/// (`every CPU row` when it is all of them), in the order of [`NoteKind`]; a mismatch also
/// gives its weights.
fn notes(report: &Report, width: usize) -> String {
    let mut lines: Vec<NoteLine> = Vec::new();
    for run in &report.runs {
        for note in &run.notes {
            let (sentence, detail, shared) = match &note.shared {
                Some((headline, detail)) => (headline.clone(), detail.clone(), true),
                None => (note.text.clone(), String::new(), false),
            };
            match lines
                .iter_mut()
                .find(|l| l.kind == note.kind && l.sentence == sentence)
            {
                Some(line) => line.rows.push((run, detail)),
                None => lines.push(NoteLine {
                    kind: note.kind,
                    sentence,
                    shared,
                    rows: vec![(run, detail)],
                }),
            }
        }
        if let (Status::Mismatch, Some([w0, w1])) = (run.status, run.w) {
            let r = report.reference.w;
            lines.push(NoteLine {
                kind: NoteKind::Verdict,
                sentence: format!(
                    "w0 = {w0:.10}, w1 = {w1:.10} against the reference's {:.10}, {:.10}",
                    r[0], r[1]
                ),
                shared: false,
                rows: vec![(run, String::new())],
            });
        }
    }
    lines.sort_by_key(|l| l.kind as u8);
    lines
        .into_iter()
        .map(|line| {
            let rows = name_rows(report, &line.rows);
            let text = if line.shared {
                format!("{}: {rows}", line.sentence)
            } else {
                format!("{rows}: {}", line.sentence)
            };
            wrap(&format!("  {text}"), width, "      ")
        })
        .collect()
}

/// The rows of a note: `every row`, `every array row` (all but cpu-moments), `every CPU row`,
/// `every GPU row` or `every peer row` when they are all of those that ran (with their distinct
/// figures), else each by name with its figure (at most [`MOST_NAMED`], then how many more).
fn name_rows(report: &Report, rows: &[(&RunReport, String)]) -> String {
    let ran: Vec<&RunReport> = report.runs.iter().filter(|r| r.ran()).collect();
    let is_all = |keep: &dyn Fn(&RunReport) -> bool| {
        let of: Vec<&RunReport> = ran.iter().copied().filter(|r| keep(r)).collect();
        of.len() > 1
            && of
                .iter()
                .all(|r| rows.iter().any(|(x, _)| std::ptr::eq(*x, *r)))
            && rows
                .iter()
                .all(|(x, _)| of.iter().any(|r| std::ptr::eq(*x, *r)))
    };
    type Keep<'k> = &'k dyn Fn(&RunReport) -> bool;
    let groups: [(&str, Keep); 5] = [
        ("every row", &|_| true),
        ("every array row", &|r| {
            r.gflop_s.is_some() || r.kind != RowKind::Cpu
        }),
        ("every CPU row", &|r| r.kind == RowKind::Cpu),
        ("every GPU row", &|r| r.kind == RowKind::Gpu),
        ("every peer row", &|r| r.kind == RowKind::Peer),
    ];
    if let Some((name, _)) = groups.iter().find(|(_, keep)| is_all(*keep)) {
        let mut details: Vec<&str> = Vec::new();
        for (_, d) in rows {
            if !d.is_empty() && !details.contains(&d.as_str()) {
                details.push(d);
            }
        }
        return match details.len() {
            0 => name.to_string(),
            1..=4 => format!("{name} ({})", details.join(", ")),
            _ => name.to_string(),
        };
    }
    let mut names: Vec<String> = Vec::new();
    for (run, detail) in rows {
        let name = match detail.as_str() {
            "" => run.solver.clone(),
            d => format!("{} ({d})", run.solver),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    // A long list (a busy machine makes most rows noisy) would push the report past a screen.
    if names.len() > MOST_NAMED {
        let more = names.len() - (MOST_NAMED - 1);
        names.truncate(MOST_NAMED - 1);
        return format!("{} and {more} more (--explain: each)", names.join(", "));
    }
    names.join(", ")
}

/// Rows a note names one by one; past that, the first few and how many more.
const MOST_NAMED: usize = 5;

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
            let width = SolverId::NAME_WIDTH;
            out += &format!(
                "  {:<width$} {:<11} {us}{rate}{diff}  [{}]\n",
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
        let header = text.lines().find(|l| l.starts_with(" solver")).unwrap();
        for column in [
            "solver",
            "device",
            "prec",
            "µs/epoch",
            "spread",
            "GB/s",
            "bound",
        ] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(
            header.contains("× cpu-naive") && !header.contains("w0"),
            "{header}"
        );
        // The short device is explained in the legend.
        assert!(
            text.lines()
                .any(|l| l.starts_with("cpu ×1") && l.contains(&report.machine.cpu)),
            "{text}"
        );
        let wide = render_table(
            &report,
            &TextStyle {
                wide: true,
                ..TextStyle::default()
            },
        );
        let header = wide.lines().find(|l| l.starts_with(" solver")).unwrap();
        for column in [
            "w0",
            "w1",
            "Δ ref",
            "median",
            "GPU kernel",
            "min … max",
            "reps",
            "% peak",
            "bound",
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
        let header = text.lines().find(|l| l.starts_with(" solver")).unwrap();
        for column in ["solver", "verdict", "µs/epoch", "× cpu-naive"] {
            assert!(header.contains(column), "{column} missing: {header}");
        }
        assert!(!header.contains("bound"), "{header}");
        // One column short of the whole: GB/s goes first, the bound (the answer) stays.
        let whole = render_table(&report, &TextStyle::default());
        let full = whole
            .lines()
            .find(|l| l.starts_with('─'))
            .unwrap()
            .chars()
            .count();
        let one_short = TextStyle {
            terminal_width: Some(full - 1),
            ..TextStyle::default()
        };
        let short = render_table(&report, &one_short);
        let head = short.lines().find(|l| l.starts_with(" solver")).unwrap();
        assert!(head.contains("bound") && !head.contains("GB/s"), "{head}");
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
    fn a_note_on_many_rows_names_a_few_and_counts_the_rest() {
        let mut report = report();
        assert_eq!(report.runs.len(), 8);
        // Seven rows of eight, not a group: four named, three counted.
        for (i, run) in report.runs.iter_mut().enumerate().filter(|(i, _)| *i != 5) {
            run.add_note(crate::report::Note::shared(
                NoteKind::Noisy,
                "noisy",
                "noisy (stddev/mean)",
                format!("{}%", 10 + i),
            ));
        }
        let text = render_table(&report, &TextStyle::default());
        let line = text
            .lines()
            .skip_while(|l| !l.contains("noisy (stddev/mean)"))
            .take_while(|l| l.contains("noisy (stddev/mean)") || l.starts_with("      "))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        let names = &report.runs;
        assert!(
            line.contains(&format!("{} (10%)", names[0].solver))
                && line.contains(&format!("{} (13%)", names[3].solver))
                && !line.contains(&names[4].solver)
                && line.ends_with("and 3 more (--explain: each)"),
            "{text}"
        );
    }

    #[test]
    fn a_mismatch_shows_its_weights_in_its_note() {
        let mut report = report();
        let run = &mut report.runs[2];
        run.status = Status::Mismatch;
        run.w = Some([1.25, -0.5]);
        run.add_note(crate::report::Note::new(
            NoteKind::Verdict,
            "differs from the reference",
        ));
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
