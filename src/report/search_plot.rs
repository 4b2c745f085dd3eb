//! The picture of a step-size search (`gdbench run --mu LIST --plot FILE.svg`): final mean
//! squared error against mu (log-log) from the reference's descents, the best step marked, the
//! steps that diverged drawn as crosses along the top, and the stability limit 2/λ_max.

use plotters::prelude::*;

use super::Report;
use super::plot::{LogLog, legend, line_with_points, log_log_chart, log_range, plot_error};
use crate::error::{GdError, Result};
use crate::validate::Status;

/// Renders the search in `report` as SVG text; `None` when no row ran it (nothing to draw), an
/// error when the report is not a search.
pub fn render_search_plot(report: &Report) -> Result<Option<String>> {
    let p = &report.problem;
    if !p.mu.is_search() {
        return Err(GdError::InvalidParameter {
            name: "--plot",
            problem:
                "draws the loss against mu of a step-size search: give --mu a list or LO..HI:K"
                    .into(),
        });
    }
    let Some(run) = report.search_row() else {
        return Ok(None);
    };
    let converged: Vec<(f64, f64)> = run
        .descents
        .iter()
        .filter(|d| d.status != Status::Diverged)
        .filter_map(|d| Some((d.mu, d.loss.filter(|l| l.is_finite() && *l > 0.0)?)))
        .collect();
    let diverged: Vec<f64> = run
        .descents
        .iter()
        .filter(|d| d.status == Status::Diverged)
        .map(|d| d.mu)
        .collect();
    let (mu_lo, mu_hi) = log_range(run.descents.iter().map(|d| d.mu).chain([p.max_stable_mu]));
    let (l_lo, l_hi) = loss_range(&converged);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let caption = format!(
            "final mean squared error against mu: {} ({}, N = {}, {} epochs)",
            p.mu, run.solver, p.n, p.epochs
        );
        let mut chart = log_log_chart(&root, &caption, 17, (mu_lo, mu_hi), (l_lo, l_hi))?;
        chart
            .configure_mesh()
            .x_desc("mu (step size)")
            .y_desc("loss (mean squared error)")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&|v| format!("{v:.1e}"))
            .draw()
            .map_err(plot_error)?;
        let blue = BLUE.to_rgba();
        line_with_points(&mut chart, converged, blue, Some("converged descents"))?;
        if !diverged.is_empty() {
            let red = RED.to_rgba();
            chart
                .draw_series(
                    diverged
                        .iter()
                        .map(|&mu| Cross::new((mu, l_hi / 1.5), 5, red.stroke_width(2))),
                )
                .map_err(plot_error)?
                .label(format!("{} diverged (drawn at the top)", diverged.len()))
                .legend(move |(x, y)| Cross::new((x + 10, y), 5, red.stroke_width(2)));
        }
        marks(&mut chart, report, (l_lo, l_hi))?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(plot_error)?;
    }
    Ok(Some(svg))
}

/// The loss axis: a little beyond the converged descents' losses (a default when none has one).
fn loss_range(converged: &[(f64, f64)]) -> (f64, f64) {
    let (lo, hi) = converged
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &(_, l)| {
            (lo.min(l), hi.max(l))
        });
    if lo.is_finite() {
        (lo / 2.0, hi * 4.0)
    } else {
        (1e-3, 1.0)
    }
}

/// The stability limit as a dashed line with its value, and the best step circled.
fn marks<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, LogLog>,
    report: &Report,
    (l_lo, l_hi): (f64, f64),
) -> Result<()> {
    let p = &report.problem;
    chart
        .draw_series(DashedLineSeries::new(
            [(p.max_stable_mu, l_lo), (p.max_stable_mu, l_hi)],
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(plot_error)?;
    chart
        .draw_series(std::iter::once(Text::new(
            format!("2/λ_max = {:.4e}", p.max_stable_mu),
            (p.max_stable_mu / 1.4, l_lo * 1.3),
            ("sans-serif", 12),
        )))
        .map_err(plot_error)?;
    if let Some(best) = &report.best {
        chart
            .draw_series(std::iter::once(Circle::new(
                (best.mu, best.loss),
                7,
                GREEN.stroke_width(2),
            )))
            .map_err(plot_error)?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("best: mu = {:.4e}, loss {:.4e}", best.mu, best.loss),
                (best.mu * 1.1, best.loss * 1.6),
                ("sans-serif", 13),
            )))
            .map_err(plot_error)?;
    }
    Ok(())
}
