//! The roofline of one run (`gdbench run --roofline FILE.svg`): for each device (the host CPU,
//! each GPU adapter) attained GFLOP/s against arithmetic intensity, flops per byte of x and d
//! read, log-log, under the machine's measured ceilings: read bandwidth as slopes (GFLOP/s =
//! GB/s × flop/byte), FMA peaks as horizontal lines, each labelled with its figure. Each `ok` row
//! with a FLOP/s figure is a point labelled with its name and coloured by its wall (`bound`).
//!
//! The axes, ceilings and titles are drawn by plotters; the points are written as SVG of their
//! own (one `<g class="roofline-point">` each, inside a `<g class="roofline-panel">` giving the
//! panel's ranges and pixel box), so a tool (or a test) reads every point's exact figures back
//! from `data-x` and `data-y` and a browser shows them in the point's `<title>`.

use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::{LogLog, log_log_chart, plot_error};
use super::{Bound, BoundKind, Report, RowKind, RunReport};
use crate::error::{GdError, Result};
use crate::probe::{Ceilings, three_digits};
use crate::solver::DeviceType;
use crate::solver::{FLOPS_PER_SAMPLE, bytes_per_sample};
use crate::validate::Status;

/// Width of the picture, pixels.
const WIDTH: u32 = 1000;
/// Height of one device's panel, pixels.
const PANEL_HEIGHT: u32 = 520;
/// Height of the title and the marker legend above the panels, pixels.
const HEADER_HEIGHT: u32 = 64;
/// Colour of the read-bandwidth slopes and their labels.
const READ_COLOR: RGBColor = RGBColor(40, 90, 160);
/// Colour of the FMA ceilings and their labels.
const FMA_COLOR: RGBColor = RGBColor(150, 50, 20);

/// A row's arithmetic intensity, flops per byte of x and d read: [`FLOPS_PER_SAMPLE`] per sample
/// and step over the bytes a sample takes in its precision ([`bytes_per_sample`]), times the
/// steps of a step-size search (its K descents share each epoch's pass over the data).
pub fn intensity(run: &RunReport) -> f64 {
    let steps = run.descents.len().max(1) as f64;
    FLOPS_PER_SAMPLE * steps / bytes_per_sample(run.precision)
}

/// A measured ceiling as a panel draws it.
#[derive(Debug, Clone, PartialEq)]
struct Roof {
    /// What it is, with its figure: `read, 1 core: 31.5 GB/s`, `f64 FMA, 2 threads: 117 GFLOP/s`.
    label: String,
    /// True for a read bandwidth (a slope, `value` in GB/s); false for an FMA peak (a
    /// horizontal line, `value` in GFLOP/s).
    read: bool,
    /// The figure.
    value: f64,
}

/// One `ok` row as a point.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    /// The row's name: a solver or a peer.
    solver: String,
    /// Its precision and threads, for the point's title.
    detail: String,
    /// Flops per byte read ([`intensity`]).
    x: f64,
    /// Attained GFLOP/s (the row's `gflop_s`).
    y: f64,
    /// The wall it hits, when one was classified.
    bound: Option<Bound>,
}

/// One device's chart.
#[derive(Debug, Clone, PartialEq)]
struct Panel {
    /// The device as the report's rows name it (`machine.cpu` for the host).
    device: String,
    /// The chart's caption: the device, "CPU emulation" for a software adapter.
    title: String,
    /// Its measured ceilings.
    roofs: Vec<Roof>,
    /// Its rows.
    points: Vec<Point>,
}

/// A positive finite figure, or none.
fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v > 0.0)
}

/// The host's ceilings: read bandwidth on one core and on all, f64 and f32 FMA peaks on one core
/// and on all; on a single thread the one-core figures are left out (one core is all cores).
fn cpu_roofs(ceilings: &Ceilings) -> Vec<Roof> {
    let c = &ceilings.cpu;
    let all = if c.disturbed {
        format!("{} threads (disturbed)", c.threads)
    } else {
        format!("{} threads", c.threads)
    };
    let one = c.threads > 1;
    let read = |who: &str, v: f64| (format!("read, {who}: {v:.1} GB/s"), true, Some(v));
    let fma = |what: &str, who: &str, v: Option<f64>| {
        let text = v.map_or(String::new(), three_digits);
        (format!("{what} FMA, {who}: {text} GFLOP/s"), false, v)
    };
    let mut roofs = Vec::new();
    if one {
        roofs.push(read("1 core", c.read_gb_s_one_core));
    }
    roofs.push(read(&all, c.read_gb_s_all_cores));
    if one {
        roofs.push(fma("f64", "1 core", c.gflops_f64_one_core));
    }
    roofs.push(fma("f64", &all, c.gflops_f64_all_cores));
    if one {
        roofs.push(fma("f32", "1 core", c.gflops_f32_one_core));
    }
    roofs.push(fma("f32", &all, c.gflops_f32_all_cores));
    roofs
        .into_iter()
        .filter_map(|(label, read, v)| {
            Some(Roof {
                label,
                read,
                value: positive(v)?,
            })
        })
        .collect()
}

/// An adapter's ceilings: its read bandwidth and its f32 FMA peak, where measured.
fn adapter_roofs(ceilings: &Ceilings, device: &str) -> Vec<Roof> {
    let Some(g) = ceilings.gpu.iter().find(|g| g.device == device) else {
        return Vec::new();
    };
    let mut roofs = Vec::new();
    if let Some(v) = positive(Some(g.read_gb_s)) {
        roofs.push(Roof {
            label: format!("read: {v:.1} GB/s"),
            read: true,
            value: v,
        });
    }
    if let Some(v) = positive(g.gflops_f32) {
        roofs.push(Roof {
            label: format!("f32 FMA: {} GFLOP/s", three_digits(v)),
            read: false,
            value: v,
        });
    }
    roofs
}

/// `run` as a point: `ok`, with a positive finite GFLOP/s (cpu-moments has none).
fn point(run: &RunReport) -> Option<Point> {
    if run.status != Status::Ok {
        return None;
    }
    let y = positive(run.gflop_s)?;
    let threads = match run.threads {
        1 => "1 thread".to_string(),
        t => format!("{t} threads"),
    };
    Some(Point {
        solver: run.solver.clone(),
        detail: format!("{}, {threads}", run.precision),
        x: intensity(run),
        y,
        bound: run.bound.clone(),
    })
}

/// The panels of `report`: the host first (gdbench's CPU solvers and the peers that ran on the
/// CPU), then each adapter the GPU solvers ran on, then any other device a row ran on (a peer on
/// a GPU), which has no measured ceilings.
fn panels(report: &Report, ceilings: &Ceilings) -> Vec<Panel> {
    let m = &report.machine;
    let mut panels = vec![Panel {
        device: m.cpu.clone(),
        title: format!("CPU: {} ({} threads)", m.cpu, m.threads),
        roofs: cpu_roofs(ceilings),
        points: report
            .runs
            .iter()
            .filter(|r| on_host(r))
            .filter_map(point)
            .collect(),
    }];
    for a in &m.adapters {
        let mut title = format!("GPU adapter: {}", a.device);
        if a.software {
            title += " — CPU emulation: its timings are CPU timings";
        }
        panels.push(Panel {
            device: a.device.clone(),
            title,
            roofs: adapter_roofs(ceilings, &a.device),
            points: report
                .runs
                .iter()
                .filter(|r| r.kind == RowKind::Gpu && r.device == a.device)
                .filter_map(point)
                .collect(),
        });
    }
    stray_panels(report, ceilings, &mut panels);
    for p in &mut panels {
        p.title += &missing(p, ceilings);
    }
    panels
}

/// Panels for the rows on devices neither the host nor an open adapter (a peer's GPU), one per
/// device, appended to `panels`.
fn stray_panels(report: &Report, ceilings: &Ceilings, panels: &mut Vec<Panel>) {
    let m = &report.machine;
    let fixed = panels.len();
    for run in &report.runs {
        let drawn = on_host(run)
            || (run.kind == RowKind::Gpu && m.adapters.iter().any(|a| a.device == run.device));
        let Some(p) = point(run).filter(|_| !drawn) else {
            continue;
        };
        match panels[fixed..].iter_mut().find(|q| q.device == run.device) {
            Some(q) => q.points.push(p),
            None => panels.push(Panel {
                device: run.device.clone(),
                title: run.device.clone(),
                roofs: adapter_roofs(ceilings, &run.device),
                points: vec![p],
            }),
        }
    }
}

/// What a panel's title adds when it has no ceilings or no points.
fn missing(p: &Panel, ceilings: &Ceilings) -> String {
    let mut more = String::new();
    if p.roofs.is_empty() {
        let failed = ceilings.gpu_failures.iter().any(|f| f.device == p.device);
        more += match failed {
            true => " (its probe failed: no ceilings)",
            false => " (no ceilings measured for it)",
        };
    }
    if p.points.is_empty() {
        more += ": no ok row with a FLOP/s figure";
    }
    more
}

/// True for a row on the host's CPU (not a GPU row on a CPU-type adapter).
fn on_host(r: &RunReport) -> bool {
    r.kind != RowKind::Gpu && r.device_type == DeviceType::Cpu
}

/// The whole decades around `values` (the finite positive ones) widened by 1.25× either side, or
/// 0.1 to 10 when there is none.
fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !(lo.is_finite() && hi > 0.0) {
        return (0.1, 10.0);
    }
    let (lo, hi) = (
        10f64.powf((lo / 1.25).log10().floor()),
        10f64.powf((hi * 1.25).log10().ceil()),
    );
    // Beyond f64's range both ends would be 0 or infinite: no axis to draw.
    if lo > 0.0 && hi.is_finite() && lo < hi {
        (lo, hi)
    } else {
        (0.1, 10.0)
    }
}

/// An axis tick: three significant digits, no trailing zeros (0.375, 1, 20).
fn tick(v: f64) -> String {
    let text = three_digits(v);
    match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.').to_string(),
        false => text,
    }
}

/// A panel's axes: x from its points and ridge points (where a slope meets a horizontal
/// ceiling), y from its points, its horizontal ceilings and its slopes where x starts.
fn ranges(panel: &Panel) -> ((f64, f64), (f64, f64)) {
    let slopes: Vec<f64> = panel
        .roofs
        .iter()
        .filter(|r| r.read)
        .map(|r| r.value)
        .collect();
    let flats: Vec<f64> = panel
        .roofs
        .iter()
        .filter(|r| !r.read)
        .map(|r| r.value)
        .collect();
    let ridges = flats.iter().flat_map(|f| slopes.iter().map(move |s| f / s));
    let x = decades(panel.points.iter().map(|p| p.x).chain(ridges));
    let slope_ends = slopes.iter().flat_map(|s| {
        // Without a horizontal ceiling the slopes' far end bounds the picture too.
        let far = flats.is_empty().then_some(s * x.1);
        [Some(s * x.0), far].into_iter().flatten()
    });
    let y = decades(
        panel
            .points
            .iter()
            .map(|p| p.y)
            .chain(flats.iter().copied())
            .chain(slope_ends),
    );
    (x, y)
}

/// The colour of a point: its wall.
fn bound_color(bound: Option<&Bound>) -> RGBColor {
    match bound.map(|b| b.kind) {
        Some(BoundKind::Bandwidth) => RGBColor(31, 119, 180),
        Some(BoundKind::Compute) => RGBColor(214, 39, 40),
        Some(BoundKind::Cache) => RGBColor(44, 160, 44),
        Some(BoundKind::Latency) => RGBColor(255, 127, 14),
        Some(BoundKind::Overhead) => RGBColor(127, 127, 127),
        None => RGBColor(255, 255, 255),
    }
}

/// The wall in words: `bandwidth, 85 % of 36.5 GB/s`.
fn bound_text(bound: Option<&Bound>) -> String {
    let Some(b) = bound else {
        return "no wall claimed".into();
    };
    let kind = match b.kind {
        BoundKind::Latency => "latency",
        BoundKind::Bandwidth => "bandwidth",
        BoundKind::Compute => "compute",
        BoundKind::Cache => "cache",
        BoundKind::Overhead => "overhead",
    };
    match (b.share, b.ceiling, b.unit) {
        (Some(share), Some(ceiling), Some(unit)) => {
            format!("{kind}, {share:.0} % of {} {unit}", three_digits(ceiling))
        }
        _ => kind.into(),
    }
}

/// `text` with the characters XML reserves escaped.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Draws `panel`'s ceilings on `chart` over the ranges `x` and `y`: slopes clipped to the frame,
/// labelled between the highest point and the lowest horizontal line; horizontal lines labelled
/// at the left (where the slopes run below them), staggered rightwards when close to the one
/// below.
fn draw_roofs<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    panel: &Panel,
    x: (f64, f64),
    y: (f64, f64),
) -> Result<()> {
    draw_slopes(chart, panel, x, y)?;
    draw_flats(chart, panel, x, y)
}

/// A roof's label style: `color`, at `pos` from its anchor.
fn roof_label(color: RGBColor, pos: Pos) -> TextStyle<'static> {
    ("sans-serif", 12).into_font().color(&color).pos(pos)
}

/// The read roofs: slopes (GFLOP/s = intensity × GB/s), each labelled just above its line.
fn draw_slopes<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    panel: &Panel,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> Result<()> {
    let slopes: Vec<&Roof> = panel.roofs.iter().filter(|r| r.read).collect();
    let below = panel
        .roofs
        .iter()
        .filter(|r| !r.read)
        .map(|r| r.value)
        .fold(y_hi, f64::min);
    let above = 1.5 * panel.points.iter().map(|p| p.y).fold(y_lo, f64::max);
    let label_y = if above < below {
        (above * below).sqrt()
    } else {
        below / 3.0
    };
    for (i, roof) in slopes.iter().enumerate() {
        let a = x_lo.max(y_lo / roof.value);
        let b = x_hi.min(y_hi / roof.value);
        if a >= b {
            continue;
        }
        chart
            .draw_series(LineSeries::new(
                [(a, roof.value * a), (b, roof.value * b)],
                READ_COLOR.stroke_width(2),
            ))
            .map_err(plot_error)?;
        // Just above the line, midway (on the log scale) between the highest point and the
        // lowest horizontal ceiling, clear of both's labels; each further slope's lower down.
        let at = (label_y / 1.7f64.powi(i as i32) / roof.value).clamp(a, b);
        let style = roof_label(READ_COLOR, Pos::new(HPos::Right, VPos::Bottom));
        chart
            .draw_series(std::iter::once(Text::new(
                roof.label.clone(),
                (at, roof.value * at * 1.1),
                style,
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// The FMA roofs: dashed horizontal lines, labels of close ones moved apart.
fn draw_flats<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    panel: &Panel,
    (x_lo, x_hi): (f64, f64),
    (y_lo, _): (f64, f64),
) -> Result<()> {
    let mut flats: Vec<&Roof> = panel.roofs.iter().filter(|r| !r.read).collect();
    flats.sort_by(|a, b| a.value.total_cmp(&b.value));
    // Labels of ceilings within this factor of each other would overlap: each moves one label's
    // width to the right of the one before.
    let (left, _) = chart.backend_coord(&(x_lo, y_lo));
    let (right, _) = chart.backend_coord(&(x_hi, y_lo));
    let per_pixel = (x_hi / x_lo).ln() / f64::from((right - left).max(1));
    let mut slot = 0;
    for (i, roof) in flats.iter().enumerate() {
        chart
            .draw_series(DashedLineSeries::new(
                [(x_lo, roof.value), (x_hi, roof.value)],
                8,
                4,
                FMA_COLOR.stroke_width(2),
            ))
            .map_err(plot_error)?;
        slot = match i {
            0 => 0,
            _ if roof.value < flats[i - 1].value * 1.35 => slot + 1,
            _ => 0,
        };
        let at = x_lo * ((8.0 + 230.0 * slot as f64) * per_pixel).exp();
        let style = roof_label(FMA_COLOR, Pos::new(HPos::Left, VPos::Bottom));
        chart
            .draw_series(std::iter::once(Text::new(
                roof.label.clone(),
                (at.min(x_hi), roof.value * 1.02),
                style,
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// One panel drawn in `area`: its axes, roofs and mesh (the points come later, in SVG); where
/// its frame and points landed.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &Panel,
) -> Result<Placed> {
    let (x, y) = ranges(panel);
    let mut chart = log_log_chart(area, &panel.title, 15, x, y)?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity (flops per byte read)")
        .y_desc("attained GFLOP/s")
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()
        .map_err(plot_error)?;
    draw_roofs(&mut chart, panel, x, y)?;
    Ok(Placed {
        x,
        y,
        corners: (
            chart.backend_coord(&(x.0, y.0)),
            chart.backend_coord(&(x.1, y.1)),
        ),
        points: panel
            .points
            .iter()
            .map(|p| chart.backend_coord(&(p.x, p.y)))
            .collect(),
    })
}

/// Where a panel's frame and points sit in the picture, for the SVG written after plotters'.
#[derive(Debug, Clone)]
struct Placed {
    /// The panel's axes.
    x: (f64, f64),
    /// Likewise y.
    y: (f64, f64),
    /// Pixels of (x_lo, y_lo) and (x_hi, y_hi).
    corners: ((i32, i32), (i32, i32)),
    /// Each point's pixel.
    points: Vec<(i32, i32)>,
}

/// A label's box in pixels: left, top, right, bottom.
type LabelBox = (i32, i32, i32, i32);

/// Where the label of a point at `(cx, cy)`, `chars` long, goes: to its right, else its left,
/// above right, below right, then further down, the first place that covers no other point and
/// no label placed before. Returns the text's x, y, whether it ends at x (`text-anchor: end`),
/// and its box.
fn label_place(
    (cx, cy): (i32, i32),
    chars: usize,
    points: &[(i32, i32)],
    taken: &[LabelBox],
) -> (i32, i32, bool, LabelBox) {
    // About 7 pixels per character of 12-pixel sans-serif; the baseline 3 above the box's bottom.
    let width = 7 * i32::try_from(chars).unwrap_or(i32::MAX / 8);
    let place = |x: i32, y: i32, end: bool| {
        let left = if end { x - width } else { x };
        (x, y, end, (left, y - 10, left + width, y + 3))
    };
    let overlaps = |b: &LabelBox, c: &LabelBox| b.0 < c.2 && c.0 < b.2 && b.1 < c.3 && c.1 < b.3;
    let free = |b: &LabelBox| {
        !taken.iter().any(|t| overlaps(b, t))
            && !points
                .iter()
                .filter(|&&p| p != (cx, cy))
                .any(|&(x, y)| overlaps(b, &(x - 6, y - 6, x + 6, y + 6)))
    };
    let candidates = [
        place(cx + 9, cy + 4, false),
        place(cx - 9, cy + 4, true),
        place(cx + 7, cy - 9, false),
        place(cx + 7, cy + 17, false),
    ];
    if let Some(c) = candidates.into_iter().find(|c| free(&c.3)) {
        return c;
    }
    let mut c = place(cx + 9, cy + 17, false);
    while !free(&c.3) && c.1 < cy + 13 * 20 {
        c = place(cx + 9, c.1 + 13, false);
    }
    c
}

/// The SVG of `panel`'s points, placed by `placed`: a group per panel with its ranges and pixel
/// box, a group per point with its exact figures, its circle, its label and its title. Labels
/// are placed by [`label_place`], top to bottom.
fn points_svg(panel: &Panel, placed: &Placed) -> String {
    let ((left, bottom), (right, top)) = placed.corners;
    let mut svg = format!(
        "<g class=\"roofline-panel\" data-device=\"{}\" data-x-lo=\"{}\" data-x-hi=\"{}\" data-y-lo=\"{}\" data-y-hi=\"{}\" data-px=\"{left} {bottom} {right} {top}\">\n",
        xml(&panel.device),
        placed.x.0,
        placed.x.1,
        placed.y.0,
        placed.y.1
    );
    let mut order: Vec<usize> = (0..panel.points.len()).collect();
    order.sort_by_key(|&i| (placed.points[i].1, placed.points[i].0));
    let mut taken: Vec<LabelBox> = Vec::new();
    for i in order {
        let p = &panel.points[i];
        let (cx, cy) = placed.points[i];
        let (lx, ly, end, area) =
            label_place((cx, cy), p.solver.chars().count(), &placed.points, &taken);
        taken.push(area);
        let anchor = if end { " text-anchor=\"end\"" } else { "" };
        let color = bound_color(p.bound.as_ref());
        let bound = bound_text(p.bound.as_ref());
        let _ = writeln!(
            svg,
            "<g class=\"roofline-point\" data-solver=\"{solver}\" data-x=\"{x}\" data-y=\"{y}\" data-bound=\"{bound_attr}\">\
<title>{solver} ({detail}): {x_text} flop/byte, {y_text} GFLOP/s; {bound_attr}</title>\
<circle cx=\"{cx}\" cy=\"{cy}\" r=\"5\" fill=\"#{r:02x}{g:02x}{b:02x}\" stroke=\"#000000\" stroke-width=\"1\"/>\
<text x=\"{lx}\" y=\"{ly}\"{anchor} font-family=\"sans-serif\" font-size=\"12\" fill=\"#000000\">{solver}</text></g>",
            solver = xml(&p.solver),
            detail = xml(&p.detail),
            x = p.x,
            y = p.y,
            x_text = three_digits(p.x),
            y_text = three_digits(p.y),
            bound_attr = xml(&bound),
            r = color.0,
            g = color.1,
            b = color.2,
        );
    }
    svg.push_str("</g>\n");
    svg
}

/// Draws the marker legend (what a point's colour says) across `area`.
fn marker_legend<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>) -> Result<()> {
    let kinds = [
        ("bandwidth", Some(BoundKind::Bandwidth)),
        ("compute", Some(BoundKind::Compute)),
        ("cache", Some(BoundKind::Cache)),
        ("latency", Some(BoundKind::Latency)),
        ("overhead", Some(BoundKind::Overhead)),
        ("none claimed", None),
    ];
    area.draw(&Text::new(
        "a point's colour: the wall its row hits (bound) —",
        (20, 6),
        ("sans-serif", 13),
    ))
    .map_err(plot_error)?;
    for (i, (name, kind)) in kinds.into_iter().enumerate() {
        let x = 330 + 105 * i as i32;
        let bound = kind.map(|kind| Bound {
            kind,
            share: None,
            ceiling: None,
            unit: None,
        });
        let color = bound_color(bound.as_ref());
        area.draw(&Circle::new((x, 13), 5, color.filled()))
            .map_err(plot_error)?;
        area.draw(&Circle::new((x, 13), 5, BLACK.stroke_width(1)))
            .map_err(plot_error)?;
        area.draw(&Text::new(name, (x + 9, 6), ("sans-serif", 13)))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// Renders the roofline of `report` as SVG text: one panel per device, its measured ceilings and
/// its `ok` rows (see the module's documentation). An error when the report has no ceilings (a
/// run with `--no-probe`): a roofline without its roofs would mislead.
pub fn render_roofline(report: &Report) -> Result<String> {
    let Some(ceilings) = &report.ceilings else {
        return Err(GdError::InvalidParameter {
            name: "--roofline",
            problem: "draws the measured ceilings, which this run did not probe (--no-probe)"
                .into(),
        });
    };
    let panels = panels(report, ceilings);
    let p = &report.problem;
    let height = HEADER_HEIGHT + PANEL_HEIGHT * panels.len() as u32;
    let mut placed: Vec<Placed> = Vec::new();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let steps = match p.mu.as_slice().len() {
            1 => String::new(),
            k => format!(" × {k} steps"),
        };
        let title = format!(
            "roofline: attained GFLOP/s against flops per byte of x and d read ({} flops per sample{steps}); N = {}, {} epochs",
            FLOPS_PER_SAMPLE, p.n, p.epochs
        );
        let body = root
            .titled(&title, ("sans-serif", 16))
            .map_err(plot_error)?;
        let (legend, body) = body.split_vertically(30);
        marker_legend(&legend)?;
        for (panel, area) in panels.iter().zip(body.split_evenly((panels.len(), 1))) {
            placed.push(draw_panel(&area, panel)?);
        }
        root.present().map_err(plot_error)?;
    }
    let points: String = panels
        .iter()
        .zip(&placed)
        .map(|(panel, placed)| points_svg(panel, placed))
        .collect();
    let end = svg
        .rfind("</svg>")
        .ok_or_else(|| plot_error("the SVG backend wrote no closing tag"))?;
    svg.insert_str(end, &points);
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{CpuCeilings, GpuCeilings, ProbeFailure};
    use crate::progress::Progress;
    use crate::report::AdapterReport;
    use crate::solver::{Precision, select};
    use crate::suite::{SuiteOptions, run_suite};
    use crate::{Dataset, Problem};

    /// A real report of three CPU rows (cpu-moments among them) with made-up ceilings, a
    /// software adapter with one GPU row on it and a peer on a GPU beside them.
    fn report() -> Report {
        let problem = Problem::new(Dataset::synthetic(1000, 0.1, 7).unwrap(), 0.01, 50).unwrap();
        let mut options = SuiteOptions::new(select("cpu-fused,cpu-fused-f32,cpu-moments").unwrap());
        options.bench.repeat = Some(3);
        let mut report = run_suite(&problem, &options, &Progress::hidden()).unwrap();
        report.ceilings = Some(Ceilings {
            cpu: CpuCeilings {
                read_gb_s_one_core: 31.5,
                read_gb_s_all_cores: 55.25,
                threads: 2,
                gflops_f32_one_core: Some(118.0),
                gflops_f32_all_cores: Some(234.7),
                gflops_f64_one_core: Some(59.0),
                gflops_f64_all_cores: Some(117.4),
                ..Default::default()
            },
            gpu: vec![GpuCeilings {
                device: "llvmpipe [vulkan]".into(),
                read_gb_s: 12.25,
                gflops_f32: Some(80.0),
                ..Default::default()
            }],
            gpu_failures: Vec::new(),
        });
        report.machine.adapters.push(AdapterReport {
            device: "llvmpipe [vulkan]".into(),
            device_type: DeviceType::Cpu,
            driver: "llvmpipe".into(),
            driver_info: "Mesa".into(),
            software: true,
            backend: "vulkan".into(),
            vendor_id: 0x10005,
            device_id: 0,
        });
        let f32_row = report
            .runs
            .iter()
            .find(|r| r.solver == "cpu-fused-f32")
            .unwrap();
        let mut gpu = f32_row.clone();
        gpu.solver = "gpu-fused".into();
        gpu.kind = RowKind::Gpu;
        gpu.device = "llvmpipe [vulkan]".into();
        let mut peer = f32_row.clone();
        peer.solver = "torch-cuda".into();
        peer.kind = RowKind::Peer;
        peer.device = "NVIDIA H200".into();
        peer.device_type = DeviceType::DiscreteGpu;
        report.runs.extend([gpu, peer]);
        report
    }

    fn names(panel: &Panel) -> Vec<&str> {
        panel.points.iter().map(|p| p.solver.as_str()).collect()
    }

    #[test]
    fn intensity_is_six_flops_per_sample_and_step_over_the_bytes_of_its_precision() {
        let mut run = report().runs[0].clone();
        for (precision, x) in [
            (Precision::F16, 1.5),
            (Precision::F32, 0.75),
            (Precision::Df64, 0.375),
            (Precision::F64, 0.375),
        ] {
            run.precision = precision;
            assert_eq!(intensity(&run), x, "{precision}");
        }
        // A search of three steps shares each epoch's pass: three times the flops per byte.
        run.descents = vec![run.descents[0].clone(); 3];
        assert_eq!(intensity(&run), 3.0 * 0.375);
    }

    #[test]
    fn each_device_gets_a_panel_with_its_ceilings_and_its_ok_rows() {
        let report = report();
        let panels = panels(&report, report.ceilings.as_ref().unwrap());
        assert_eq!(panels.len(), 3, "{panels:#?}");
        // cpu-moments has no FLOP/s: no point.
        assert_eq!(names(&panels[0]), ["cpu-fused", "cpu-fused-f32"]);
        assert!(panels[0].title.starts_with("CPU: "), "{}", panels[0].title);
        let labels: Vec<&str> = panels[0].roofs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "read, 1 core: 31.5 GB/s",
                "read, 2 threads: 55.2 GB/s",
                "f64 FMA, 1 core: 59.0 GFLOP/s",
                "f64 FMA, 2 threads: 117 GFLOP/s",
                "f32 FMA, 1 core: 118 GFLOP/s",
                "f32 FMA, 2 threads: 235 GFLOP/s",
            ]
        );
        assert_eq!(names(&panels[1]), ["gpu-fused"]);
        assert!(
            panels[1].title.contains("CPU emulation"),
            "{}",
            panels[1].title
        );
        assert_eq!(panels[1].roofs.len(), 2);
        assert_eq!(names(&panels[2]), ["torch-cuda"]);
        assert!(
            panels[2].title.contains("no ceilings"),
            "{}",
            panels[2].title
        );
        let svg = render_roofline(&report).unwrap();
        for text in [
            "read: 12.2 GB/s",
            "f32 FMA: 80.0 GFLOP/s",
            "f64 FMA, 2 threads: 117 GFLOP/s",
            "CPU emulation",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        assert_eq!(svg.matches("class=\"roofline-point\"").count(), 4);
        assert_eq!(svg.matches("class=\"roofline-panel\"").count(), 3);
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn no_ok_row_and_unmeasured_ceilings_draw_what_there_is_without_panicking() {
        let mut report = report();
        for run in &mut report.runs {
            run.status = Status::Error;
        }
        let c = report.ceilings.as_mut().unwrap();
        c.cpu.read_gb_s_one_core = f64::NAN;
        c.cpu.read_gb_s_all_cores = f64::INFINITY;
        c.cpu.gflops_f32_one_core = None;
        c.cpu.gflops_f64_all_cores = Some(0.0);
        c.gpu.clear();
        c.gpu_failures.push(ProbeFailure {
            device: "llvmpipe [vulkan]".into(),
            error: "device lost".into(),
        });
        let svg = render_roofline(&report).unwrap();
        assert!(!svg.contains("class=\"roofline-point\""));
        assert!(svg.contains("no ok row with a FLOP/s figure"));
        assert!(svg.contains("its probe failed: no ceilings"));
        assert!(!svg.contains("read, ") && !svg.contains("NaN") && !svg.contains("inf GB/s"));
        assert!(svg.contains("f64 FMA, 1 core: 59.0 GFLOP/s"));
        // Nothing measured at all: still a picture, of empty panels.
        let c = report.ceilings.as_mut().unwrap();
        c.cpu = CpuCeilings::default();
        assert!(
            render_roofline(&report)
                .unwrap()
                .contains("no ceilings measured")
        );
        // Without a probe there is nothing to draw a roof from.
        report.ceilings = None;
        let err = render_roofline(&report).unwrap_err().to_string();
        assert!(
            err.contains("--roofline") && err.contains("--no-probe"),
            "{err}"
        );
    }

    #[test]
    fn names_are_escaped_in_the_written_svg() {
        let mut report = report();
        report.runs[0].solver = "a<b & \"c\"".into();
        let svg = render_roofline(&report).unwrap();
        assert!(
            svg.contains("data-solver=\"a&lt;b &amp; &quot;c&quot;\""),
            "{svg}"
        );
    }
}
