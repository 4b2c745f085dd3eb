//! `--explain`: each row in detail after the table: the wall it hits and the figures behind it,
//! its spread, its check against the reference, and every note in full.

use super::table::wrap;
use super::{BoundKind, Report, RunReport, format};
use crate::probe::GpuCeilings;

/// One paragraph per row.
pub fn explain(report: &Report, width: usize) -> String {
    let mut out = String::from("each row in detail:\n");
    for run in &report.runs {
        let mut parts = vec![format!(
            "{} on {}: {}",
            run.solver,
            format::short_device(run),
            format::verdict(run)
        )];
        parts.extend(timing(run));
        parts.extend(check(run));
        parts.extend(wall(report, run));
        parts.extend(run.notes.iter().map(|n| n.text.clone()));
        out += &wrap(&format!("  {}.", parts.join("; ")), width, "    ");
    }
    out
}

/// The median, its interval and the repeats behind it.
fn timing(run: &RunReport) -> Option<String> {
    let t = run.time_s.as_ref()?;
    let interval = match t.ci95 {
        Some([lo, hi]) => format!("95 % interval {} … {}", format::time(lo), format::time(hi)),
        None => "no interval".into(),
    };
    Some(format!(
        "median {} over {} timed solve{} ({interval}; range {} … {})",
        format::time(t.median),
        t.repeats.len(),
        if t.repeats.len() == 1 { "" } else { "s" },
        format::time(t.min),
        format::time(t.max)
    ))
}

/// Its distance from the reference against its tolerance.
fn check(run: &RunReport) -> Option<String> {
    let (d, tol) = (run.max_rel_diff?, run.tolerance?);
    Some(format!("Δ ref {d:.1e} (tolerance {tol:.1e})"))
}

/// The wall, with the figures it was judged from.
fn wall(report: &Report, run: &RunReport) -> Option<String> {
    let b = run.bound.as_ref()?;
    let share = b.share.map_or("–".to_string(), |s| format!("{s:.0} %"));
    let ceiling = b.ceiling.map_or("–".to_string(), |c| {
        format!("{} {}", format::gb_s(c), b.unit.unwrap_or(""))
    });
    let of_limit = b.of_limit();
    let limit = b.ceiling.map_or("–".to_string(), |c| {
        format!(
            "{} µs/epoch{}",
            format::epoch_us(c),
            limit_parts(report, run)
        )
    });
    let mut text = match b.kind {
        BoundKind::Compute if of_limit => {
            format!("compute-bound: its compute limit, {limit}, is {share} of its epoch")
        }
        BoundKind::Cache if of_limit => format!(
            "data in cache, short of its compute limit: the limit, {limit}, is {share} of its epoch"
        ),
        BoundKind::Latency => {
            format!("latency-bound: the modelled fixed costs, {ceiling}, are {share} of its epoch")
        }
        BoundKind::Bandwidth if b.share.is_none() => {
            format!("bandwidth-bound: it reads past the {ceiling} read ceiling (see its note)")
        }
        BoundKind::Bandwidth => format!("bandwidth-bound: {share} of the {ceiling} read ceiling"),
        BoundKind::Compute => format!("compute-bound: {share} of the {ceiling} FMA ceiling"),
        BoundKind::Cache => format!(
            "data in cache, neither bandwidth- nor compute-bound: {share} of the {ceiling} FMA ceiling"
        ),
        BoundKind::Overhead => {
            "no wall explains its time: neither latency, bandwidth, compute nor cache".into()
        }
    };
    let adapter = report
        .ceilings
        .as_ref()
        .and_then(|c| c.gpu.iter().find(|g| g.device == run.device));
    if let (Some(p), Some(g)) = (run.pacing, adapter) {
        text += &format!(" ({})", latency_model(p, g));
    }
    Some(text)
}

/// What a CPU row's compute limit is made of: its kernel's operations, and where its data are
/// beyond L1d and within L2, reading them from L2 (the limit is the longer).
fn limit_parts(report: &Report, run: &RunReport) -> String {
    let parts = report
        .ceilings
        .as_ref()
        .and_then(|c| crate::suite::bound::compute_limit(run, report.problem.n, c));
    match parts {
        Some(crate::cpu::work::Limit {
            ops_us,
            l2_reads_us: Some(reads),
        }) => format!(
            " (the longer of its kernel's operations, {} µs, and its reads from L2, {} µs, at this core's measured rates)",
            format::epoch_us(ops_us),
            format::epoch_us(reads)
        ),
        _ => " (its kernel's operations per sample at this core's measured rates)".into(),
    }
}

/// The latency model's terms: counts per epoch times the adapter's measured costs.
fn latency_model(p: crate::solver::Pacing, g: &GpuCeilings) -> String {
    let Some(l) = g.latency else {
        return "the adapter's dispatch and barrier costs were not measured".into();
    };
    format!(
        "per epoch {:.3} dispatches × {:.2} µs + {:.4} submissions × {:.1} µs + {:.0} barriers × {:.0} ns",
        p.dispatches_per_epoch,
        l.dispatch_us,
        p.submissions_per_epoch,
        g.round_trip_us,
        p.barriers_per_epoch,
        l.barrier_ns
    )
}
