//! The picture of a sweep over models (`gdbench sweep --over models`): µs per descent-epoch
//! against K (log-log), one labelled series per solver, the K where a GPU solver overtakes the
//! best CPU solver marked; and GFLOP/s against K with the machine's measured compute ceilings
//! (`gdbench probe`'s FLOP/s figures) as labelled horizontal lines.

use plotters::prelude::*;

use super::plot::{
    crossovers, dashed_level, line_with_points, log_log_chart, log_range, plot_error, series_over,
    time_series,
};
use crate::error::Result;
use crate::probe::Ceilings;
use crate::sweep::{SweepOver, SweepPoint};

/// The measured compute ceilings as (label, GFLOP/s): CPU f64 and f32 on one core and on all
/// (single-threaded rows meet the first), each adapter's f32; only those measured. A disturbed
/// all-core figure is labelled so.
pub fn compute_lines(ceilings: Option<&Ceilings>) -> Vec<(String, f64)> {
    let Some(c) = ceilings else {
        return Vec::new();
    };
    let threads = c.cpu.threads;
    let all = if c.cpu.disturbed {
        format!("{threads} threads (disturbed)")
    } else {
        format!("{threads} threads")
    };
    let mut lines: Vec<(String, Option<f64>)> = vec![
        ("CPU f64, 1 core".into(), c.cpu.gflops_f64_one_core),
        (format!("CPU f64, {all}"), c.cpu.gflops_f64_all_cores),
        ("CPU f32, 1 core".into(), c.cpu.gflops_f32_one_core),
        (format!("CPU f32, {all}"), c.cpu.gflops_f32_all_cores),
    ];
    if threads <= 1 {
        // One core is all cores: one line each.
        lines.retain(|(label, _)| !label.ends_with("1 core"));
    }
    lines.extend(c.gpu.iter().map(|g| {
        (
            format!("{} f32", super::short_device_name(&g.device)),
            g.gflops_f32,
        )
    }));
    lines
        .into_iter()
        .filter_map(|(label, g)| Some((label, g.filter(|g| g.is_finite() && *g > 0.0)?)))
        .collect()
}

/// Renders a sweep over models as SVG text: µs per descent-epoch and GFLOP/s against K, the
/// crossovers marked and the measured compute `ceilings` drawn.
pub fn render_models_plot(points: &[SweepPoint], ceilings: Option<&Ceilings>) -> Result<String> {
    let roofs = compute_lines(ceilings);
    let all = series_over(points, SweepOver::Models);
    let crossings = crossovers(&all);
    let n = points.first().map_or(0, |p| p.n);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 1000)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let (top, bottom) = root.split_vertically(540);
        let (k_lo, k_hi) = log_range(all.iter().flat_map(|s| s.points.iter().map(|p| p.0)));
        let (t_lo, t_hi) = log_range(all.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
        let (g_lo, g_hi) = log_range(
            all.iter()
                .flat_map(|s| s.points.iter().filter_map(|p| p.2))
                .chain(roofs.iter().map(|r| r.1)),
        );

        let caption =
            format!("µs per descent-epoch against K descents at once, N = {n} (lower is faster)");
        let mut chart = log_log_chart(&top, &caption, 20, (k_lo, k_hi), (t_lo, t_hi))?;
        chart
            .configure_mesh()
            .x_desc("K (step sizes run at once)")
            .y_desc("µs per descent-epoch")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_error)?;
        let axis = ("K", SeriesLabelPosition::UpperRight);
        time_series(&mut chart, &all, &crossings, (t_lo, t_hi), axis)?;

        let mut flops = log_log_chart(
            &bottom,
            "GFLOP/s (6 per sample, step and epoch; higher is better) and measured ceilings (FMA = 2 flops)",
            16,
            (k_lo, k_hi),
            (g_lo, g_hi),
        )?;
        flops
            .configure_mesh()
            .x_desc("K (step sizes run at once)")
            .y_desc("GFLOP/s")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .draw()
            .map_err(plot_error)?;
        for (i, s) in all.iter().enumerate() {
            let line = s.points.iter().filter_map(|p| Some((p.0, p.2?))).collect();
            line_with_points(&mut flops, line, Palette99::pick(i).to_rgba(), None)?;
        }
        for (i, (label, ceiling)) in roofs.iter().enumerate() {
            // Staggered along K, so labels of close ceilings do not overlap.
            let at = (k_lo * 1.1 * 3f64.powi(i as i32), *ceiling * 1.04);
            let text = format!(
                "ceiling: {label} {} GFLOP/s",
                crate::probe::three_digits(*ceiling)
            );
            dashed_level(&mut flops, (k_lo, k_hi), *ceiling, text, at)?;
        }
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{CpuCeilings, GpuCeilings};

    #[test]
    fn the_flops_panel_draws_the_measured_compute_ceilings_and_only_those() {
        let mut ceilings = Ceilings {
            cpu: CpuCeilings {
                threads: 2,
                gflops_f32_one_core: Some(118.0),
                gflops_f32_all_cores: Some(234.7),
                gflops_f64_one_core: Some(59.0),
                gflops_f64_all_cores: Some(117.4),
                ..Default::default()
            },
            gpu: vec![
                GpuCeilings {
                    device: "NVIDIA H200 [vulkan]".into(),
                    gflops_f32: Some(61_000.0),
                    ..Default::default()
                },
                // Bandwidth probed, FLOP/s not: no line.
                GpuCeilings {
                    device: "llvmpipe [vulkan]".into(),
                    ..Default::default()
                },
            ],
            gpu_failures: Vec::new(),
        };
        let lines = compute_lines(Some(&ceilings));
        let labels: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "CPU f64, 1 core",
                "CPU f64, 2 threads",
                "CPU f32, 1 core",
                "CPU f32, 2 threads",
                "H200·vk f32"
            ]
        );
        let svg = render_models_plot(&[], Some(&ceilings)).unwrap();
        assert!(svg.contains("ceiling: H200·vk f32 61000 GFLOP/s"), "{svg}");
        let cpu_only = Ceilings {
            cpu: CpuCeilings {
                threads: 2,
                gflops_f64_all_cores: Some(117.355),
                ..Default::default()
            },
            gpu: Vec::new(),
            gpu_failures: Vec::new(),
        };
        let svg = render_models_plot(&[], Some(&cpu_only)).unwrap();
        assert!(
            svg.contains("ceiling: CPU f64, 2 threads 117 GFLOP/s"),
            "{svg}"
        );
        // A disturbed probe says so on its all-core lines.
        ceilings.cpu.disturbed = true;
        let labels: Vec<String> = compute_lines(Some(&ceilings))
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert!(
            labels.contains(&"CPU f32, 2 threads (disturbed)".to_string()),
            "{labels:?}"
        );
        // Not measured (a run's probe skips FLOP/s): nothing drawn.
        ceilings.cpu.gflops_f32_one_core = None;
        ceilings.cpu.gflops_f32_all_cores = None;
        ceilings.cpu.gflops_f64_one_core = None;
        ceilings.cpu.gflops_f64_all_cores = None;
        ceilings.gpu.clear();
        assert!(compute_lines(Some(&ceilings)).is_empty());
        assert!(!render_models_plot(&[], None).unwrap().contains("ceiling:"));
    }
}
