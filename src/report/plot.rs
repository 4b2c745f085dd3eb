//! The sweep's picture: µs per epoch against N (log-log), one labelled series per solver, the
//! point where a GPU solver overtakes the best CPU solver marked; effective GB/s below it, with
//! the measured ceilings (CPU one core, all cores, each adapter) as labelled horizontal lines;
//! and the accuracy of each series against the f64 reference (Δ ref), which is what tells the
//! precision ladder's rungs (`--solvers ladder`) apart.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::RowKind;
use crate::error::{GdError, Result};
use crate::probe::Ceilings;
use crate::solver::Precision;
use crate::sweep::{SweepOver, SweepPoint};
use crate::validate::Status;

/// One line of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text: the solver, with its device when several devices ran it.
    pub label: String,
    /// True for GPU solvers (on any adapter, software included).
    pub gpu: bool,
    /// True for gdbench's own CPU array solvers: what a GPU solver must beat.
    pub cpu_array: bool,
    /// (N, µs per epoch, GB/s, Δ ref) for the points that ran ok; in a sweep over models
    /// (K, µs per descent-epoch, GFLOP/s, Δ ref).
    pub points: Vec<(f64, f64, Option<f64>, Option<f64>)>,
}

/// A row's distance from the full-precision f64 reference: its `max_rel_diff`, plus, for rows
/// judged on f16-rounded data, what that rounding cost (a bound by the triangle inequality).
/// None for the reference itself.
fn distance_from_reference(r: &super::RunReport) -> Option<f64> {
    if r.reference {
        return None;
    }
    Some(r.max_rel_diff? + r.data_rounding_rel_diff.unwrap_or(0.0))
}

/// Where a difference of exactly 0 is drawn on the log-scaled accuracy panel.
pub const ZERO_DRAWN_AT: f64 = 1e-17;

/// Groups the sweep's rows into series, in first-seen order.
pub fn series(points: &[SweepPoint]) -> Vec<Series> {
    series_over(points, SweepOver::N)
}

/// [`series`] against what the sweep varied: N (µs per epoch, GB/s) or K (µs per
/// descent-epoch, GFLOP/s).
pub fn series_over(points: &[SweepPoint], over: SweepOver) -> Vec<Series> {
    let mut devices: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in points.iter().flat_map(|p| &p.runs) {
        let d = devices.entry(&r.solver).or_default();
        if !d.contains(&r.device.as_str()) {
            d.push(&r.device);
        }
    }
    let mut precisions: Vec<crate::Precision> = Vec::new();
    for r in points.iter().flat_map(|p| &p.runs) {
        if !precisions.contains(&r.precision) {
            precisions.push(r.precision);
        }
    }
    let mut out: Vec<Series> = Vec::new();
    for p in points {
        for r in &p.runs {
            let mut label = if devices[r.solver.as_str()].len() > 1 {
                format!("{} @ {}", r.solver, r.device)
            } else if r.is_gpu_emulation() {
                format!("{} (cpu emulation)", r.solver)
            } else {
                r.solver.clone()
            };
            // Several rungs of the ladder: each label says its precision.
            if precisions.len() > 1 {
                label = format!("{label} [{}]", r.precision);
            }
            let idx = match out.iter().position(|s| s.label == label) {
                Some(i) => i,
                None => {
                    out.push(Series {
                        label,
                        gpu: r.kind == RowKind::Gpu,
                        cpu_array: false,
                        points: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            out[idx].cpu_array |= r.is_cpu_array();
            if let (Status::Ok, Some(us)) = (r.status, r.epoch_us) {
                let accuracy = distance_from_reference(r);
                out[idx].points.push(match over {
                    SweepOver::N => (p.n as f64, us, r.effective_gb_s, accuracy),
                    SweepOver::Models => (p.k as f64, us / p.k as f64, r.gflop_s, accuracy),
                });
            }
        }
    }
    out
}

/// For each GPU series, the first N at which it is faster than every CPU array solver measured
/// at that N: (label, N). Only points where at least one CPU array solver actually ran (ok)
/// count: with no CPU row to beat there is no crossover to claim.
pub fn crossovers(series: &[Series]) -> Vec<(String, f64)> {
    let best_cpu = |n: f64| {
        series
            .iter()
            .filter(|s| s.cpu_array)
            .filter_map(|s| s.points.iter().find(|p| p.0 == n).map(|p| p.1))
            .fold(f64::INFINITY, f64::min)
    };
    series
        .iter()
        .filter(|s| s.gpu)
        .filter_map(|s| {
            let n = s
                .points
                .iter()
                .find(|&&(n, us, ..)| best_cpu(n).is_finite() && us < best_cpu(n))?
                .0;
            Some((s.label.clone(), n))
        })
        .collect()
}

pub(super) fn plot_error(e: impl std::fmt::Display) -> GdError {
    GdError::Output {
        path: "the plot".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The coordinates of every gdbench plot: log-log.
pub(super) type LogLog = Cartesian2d<LogCoord<f64>, LogCoord<f64>>;

/// A log-log chart on `area` titled `caption` (font size `size`) over the ranges `x` and `y`:
/// the frame every gdbench plot panel shares.
pub(super) fn log_log_chart<'a, DB: DrawingBackend + 'a>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
    size: u32,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
) -> Result<ChartContext<'a, DB, LogLog>> {
    ChartBuilder::on(area)
        .caption(caption, ("sans-serif", size))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(75)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())
        .map_err(plot_error)
}

/// The range of `values` (the finite positive ones) on a log axis with a margin of 1.5×
/// either side; (1, 10) when there is none.
pub(super) fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if lo.is_finite() && hi > 0.0 {
        (lo / 1.5, hi * 1.5)
    } else {
        (1.0, 10.0)
    }
}

/// A series as a line with a circle at each point, in the legend as `label` when given.
pub(super) fn line_with_points<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    points: Vec<(f64, f64)>,
    color: RGBAColor,
    label: Option<&str>,
) -> Result<()> {
    let line = chart
        .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
        .map_err(plot_error)?;
    if let Some(label) = label {
        line.label(label).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
        });
    }
    chart
        .draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, color.filled())),
        )
        .map_err(plot_error)?;
    Ok(())
}

/// The vertical line and note where each GPU series overtakes the CPU (`axis`: "N" or "K"),
/// across the panel's y range `(lo, hi)`.
pub(super) fn mark_crossovers<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    crossings: &[(String, f64)],
    (lo, hi): (f64, f64),
    axis: &str,
) -> Result<()> {
    for (label, x) in crossings {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(*x, lo), (*x, hi)],
                BLACK.mix(0.6).stroke_width(1),
            )))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("{label} overtakes the CPU at {axis} = {x}"),
                (*x * 1.05, hi / 1.6),
                ("sans-serif", 13),
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// A labelled dashed horizontal line at `y` across `(x_lo, x_hi)`, its text at `text_at`.
pub(super) fn dashed_level<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    (x_lo, x_hi): (f64, f64),
    y: f64,
    text: String,
    text_at: (f64, f64),
) -> Result<()> {
    chart
        .draw_series(DashedLineSeries::new(
            [(x_lo, y), (x_hi, y)],
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(plot_error)?;
    chart
        .draw_series(std::iter::once(Text::new(
            text,
            text_at,
            ("sans-serif", 12),
        )))
        .map_err(plot_error)?;
    Ok(())
}

/// The time panel of a sweep: each series' (x, µs) as a labelled line, the crossovers against
/// `axis` ("N" or "K") across `(t_lo, t_hi)`, the legend at `position`.
pub(super) fn time_series<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, LogLog>,
    all: &[Series],
    crossings: &[(String, f64)],
    (t_lo, t_hi): (f64, f64),
    (axis, position): (&str, SeriesLabelPosition),
) -> Result<()> {
    for (i, s) in all.iter().enumerate() {
        let line = s.points.iter().map(|p| (p.0, p.1)).collect();
        line_with_points(chart, line, Palette99::pick(i).to_rgba(), Some(&s.label))?;
    }
    mark_crossovers(chart, crossings, (t_lo, t_hi), axis)?;
    legend(chart, position)
}

/// The legend of a chart's labelled series, boxed, at `position`.
pub(super) fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, LogLog>,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(plot_error)
}

/// The measured ceilings as (label, GB/s): CPU one core, all cores, each adapter.
fn ceiling_lines(ceilings: Option<&Ceilings>) -> Vec<(String, f64)> {
    let Some(c) = ceilings else {
        return Vec::new();
    };
    let mut lines = vec![
        ("CPU, one core".to_string(), c.cpu.read_gb_s_one_core),
        (
            format!("CPU, {} threads", c.cpu.threads),
            c.cpu.read_gb_s_all_cores,
        ),
    ];
    lines.extend(
        c.gpu
            .iter()
            .map(|g| (super::short_device_name(&g.device), g.read_gb_s)),
    );
    lines.retain(|(_, g)| g.is_finite() && *g > 0.0);
    lines
}

/// Renders the sweep as SVG text: three panels against N: µs/epoch, GB/s with the measured
/// `ceilings` drawn as labelled lines, and Δ ref with the largest f64 and df64 tolerance.
pub fn render_plot(points: &[SweepPoint], ceilings: Option<&Ceilings>) -> Result<String> {
    let roofs = ceiling_lines(ceilings);
    let all = series(points);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 1400)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (top, rest) = root.split_vertically(560);
        let (bottom, accuracy) = rest.split_vertically(420);
        let n = log_range(all.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
        time_panel(&top, &all, n)?;
        bandwidth_panel(&bottom, &all, &roofs, n)?;
        accuracy_panel(&accuracy, points, &all, n)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// A panel of the sweep's picture.
type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// µs per epoch against N, each series with its crossovers marked.
fn time_panel(area: &Area, all: &[Series], (n_lo, n_hi): (f64, f64)) -> Result<()> {
    let (t_lo, t_hi) = log_range(all.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let mut chart = log_log_chart(
        area,
        "µs per epoch against N (log-log; lower is faster)",
        20,
        (n_lo, n_hi),
        (t_lo, t_hi),
    )?;
    chart
        .configure_mesh()
        .x_desc("N (samples)")
        .y_desc("µs per epoch")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v}"))
        .draw()
        .map_err(plot_error)?;
    let axis = ("N", SeriesLabelPosition::UpperLeft);
    time_series(&mut chart, all, &crossovers(all), (t_lo, t_hi), axis)
}

/// Effective GB/s against N, with the measured read ceilings as dashed levels.
fn bandwidth_panel(
    area: &Area,
    all: &[Series],
    roofs: &[(String, f64)],
    (n_lo, n_hi): (f64, f64),
) -> Result<()> {
    let (g_lo, g_hi) = log_range(
        all.iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.2))
            .chain(roofs.iter().map(|r| r.1)),
    );
    let mut gbs = log_log_chart(
        area,
        "effective GB/s (x and d read per epoch; higher is better)",
        18,
        (n_lo, n_hi),
        (g_lo, g_hi),
    )?;
    gbs.configure_mesh()
        .x_desc("N (samples)")
        .y_desc("GB/s")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(plot_error)?;
    for (i, s) in all.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line: Vec<(f64, f64)> = s.points.iter().filter_map(|p| Some((p.0, p.2?))).collect();
        gbs.draw_series(LineSeries::new(line, color.stroke_width(2)))
            .map_err(plot_error)?;
    }
    for (i, (label, ceiling)) in roofs.iter().enumerate() {
        // Staggered along N, so labels of close ceilings do not overlap.
        let at = (n_lo * 1.1 * 5f64.powi(i as i32), *ceiling * 1.04);
        let text = format!("ceiling: {label} {ceiling:.1} GB/s");
        dashed_level(&mut gbs, (n_lo, n_hi), *ceiling, text, at)?;
    }
    Ok(())
}

/// Δ ref against N, with the largest f64 and df64 tolerance as a dashed level.
fn accuracy_panel(
    area: &Area,
    points: &[SweepPoint],
    all: &[Series],
    (n_lo, n_hi): (f64, f64),
) -> Result<()> {
    // Δ ref: 1e-17 up to the largest difference measured or the largest f64 and df64
    // tolerance (each row's own, from its rounding model), whichever is higher.
    let tolerance = points
        .iter()
        .flat_map(|p| &p.runs)
        .filter(|r| matches!(r.precision, Precision::F64 | Precision::Df64))
        // The reference's own: what it is held to against cpu-moments.
        .filter_map(|r| r.tolerance.or(r.cross_check.as_ref().map(|c| c.tolerance)))
        .fold(f64::NAN, f64::max);
    let worst = all
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.3))
        .fold(if tolerance.is_nan() { 1e-12 } else { tolerance }, f64::max);
    let mut acc = log_log_chart(
        area,
        "Δ ref: relative distance from the f64 reference (lower is more exact; 0 drawn at 1e-17)",
        16,
        (n_lo, n_hi),
        (ZERO_DRAWN_AT / 2.0, worst * 10.0),
    )?;
    acc.configure_mesh()
        .x_desc("N (samples)")
        .y_desc("Δ ref")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()
        .map_err(plot_error)?;
    for (i, s) in all.iter().enumerate() {
        let line = s
            .points
            .iter()
            .filter_map(|p| Some((p.0, p.3?.max(ZERO_DRAWN_AT))))
            .collect();
        line_with_points(&mut acc, line, Palette99::pick(i).to_rgba(), None)?;
    }
    if tolerance.is_finite() {
        let text = format!(
            "f64 and df64 tolerance, at most {tolerance:.1e} (each row's own per N; f32 and f16 rows have theirs)"
        );
        let at = (n_lo * 1.1, tolerance * 1.5);
        dashed_level(&mut acc, (n_lo, n_hi), tolerance, text, at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(label: &str, gpu: bool, pts: &[(f64, f64)]) -> Series {
        Series {
            label: label.into(),
            gpu,
            cpu_array: !gpu,
            points: pts.iter().map(|&(n, us)| (n, us, None, None)).collect(),
        }
    }

    #[test]
    fn a_gpu_series_overtakes_where_it_first_beats_every_cpu_series() {
        let all = [
            s(
                "cpu-fused",
                false,
                &[(1e3, 1.0), (1e5, 100.0), (1e7, 10_000.0)],
            ),
            s(
                "cpu-threads",
                false,
                &[(1e3, 2.0), (1e5, 60.0), (1e7, 6_000.0)],
            ),
            s("gpu-fused", true, &[(1e3, 50.0), (1e5, 55.0), (1e7, 900.0)]),
            s(
                "gpu-slow",
                true,
                &[(1e3, 90.0), (1e5, 90.0), (1e7, 9_000.0)],
            ),
        ];
        assert_eq!(crossovers(&all), [("gpu-fused".to_string(), 1e5)]);
    }

    #[test]
    fn no_crossover_is_claimed_where_no_cpu_array_solver_ran() {
        // At 1e4 only the GPU ran (the CPU rows failed or were not selected): no claim there.
        let all = [
            s("cpu-fused", false, &[(1e3, 1.0), (1e5, 100.0)]),
            s("gpu-fused", true, &[(1e3, 50.0), (1e4, 5.0), (1e5, 200.0)]),
        ];
        assert!(crossovers(&all).is_empty());
    }
}

#[cfg(test)]
mod ceiling_tests {
    use super::*;
    use crate::probe::{CpuCeilings, GpuCeilings};

    #[test]
    fn the_gb_s_panel_draws_every_measured_ceiling_with_its_label() {
        let ceilings = Ceilings {
            cpu: CpuCeilings {
                read_gb_s_one_core: 31.5,
                read_gb_s_all_cores: 55.3,
                threads: 2,
                buffer_bytes: 1 << 30,
                ..Default::default()
            },
            gpu: vec![GpuCeilings {
                device: "NVIDIA H200 [vulkan]".into(),
                read_gb_s: 4321.0,
                buffer_bytes: 1 << 30,
                timed_by: "timestamps".into(),
                measured_s: 0.05,
                round_trip_us: 20.0,
                ..Default::default()
            }],
            gpu_failures: Vec::new(),
        };
        let svg = render_plot(&[], Some(&ceilings)).unwrap();
        for label in [
            "ceiling: CPU, one core 31.5 GB/s",
            "ceiling: CPU, 2 threads 55.3 GB/s",
            "ceiling: H200·vk 4321.0 GB/s",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        assert!(!render_plot(&[], None).unwrap().contains("ceiling:"));
    }
}
