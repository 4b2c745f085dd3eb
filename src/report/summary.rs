//! The verdict above the table: which validated row is fastest, how each adapter's fastest GPU row
//! compares with the fastest CPU row and why, and a search's best step, in words and as facts
//! (JSON `summary`).

use serde::Serialize;

use super::format;
use super::{BoundKind, Report, RowKind, RunReport};
use crate::validate::Status;

/// A row the verdict names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowRef {
    /// Solver (or peer) name.
    pub solver: String,
    /// Its device.
    pub device: String,
    /// Median µs per epoch.
    pub epoch_us: f64,
    /// Speed-up over the baseline row, when it ran.
    pub speedup: Option<f64>,
    /// The wall it hits, when classified.
    pub bound: Option<BoundKind>,
}

/// An adapter's fastest GPU row against the fastest CPU row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuVsCpu {
    /// The fastest `ok` GPU row on the adapter.
    pub gpu: RowRef,
    /// The fastest `ok` CPU row that reads the data every epoch (not cpu-moments).
    pub cpu: RowRef,
    /// The CPU row's time over the GPU row's: above 1, the GPU row is faster.
    pub gpu_speedup: f64,
    /// True on a software adapter (CPU emulation): CPU timings, not GPU speed.
    pub software: bool,
}

/// The verdict: facts, and the lines printed above the table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// The fastest validated (`ok`) row.
    pub fastest: Option<RowRef>,
    /// The fastest validated row that reads the data every epoch, when `fastest` is cpu-moments'
    /// shortcut (else null).
    pub fastest_array: Option<RowRef>,
    /// Per adapter with an `ok` GPU row: its fastest against the fastest CPU row.
    pub gpu_vs_cpu: Vec<GpuVsCpu>,
    /// A search's best step (null for one step, or when none converges).
    pub best_mu: Option<f64>,
    /// The verdict in words, as the table shows it.
    pub lines: Vec<String>,
}

fn row_ref(run: &RunReport) -> Option<RowRef> {
    Some(RowRef {
        solver: run.solver.clone(),
        device: run.device.clone(),
        epoch_us: run.epoch_us?,
        speedup: run.speedup,
        bound: run.bound.as_ref().map(|b| b.kind),
    })
}

/// The fastest `ok` row among `rows`.
fn fastest<'a>(rows: impl Iterator<Item = &'a RunReport>) -> Option<&'a RunReport> {
    rows.filter(|r| r.status == Status::Ok && r.epoch_us.is_some())
        .min_by(|a, b| {
            a.epoch_us
                .unwrap_or(0.0)
                .total_cmp(&b.epoch_us.unwrap_or(0.0))
        })
}

/// `3.2× faster` or `42× slower`: how a row of `time` compares with one of `other`.
fn faster_or_slower(speedup: f64) -> String {
    if speedup >= 1.0 {
        format!("{}× faster", format::ratio(speedup).trim_end_matches('×'))
    } else {
        format!(
            "{}× slower",
            format::ratio(1.0 / speedup).trim_end_matches('×')
        )
    }
}

/// Why a row takes the time it does, from its wall, in a few words: `; latency: …`, or nothing
/// when no wall was classified (no probe).
pub fn reason(run: &RunReport) -> String {
    let Some(b) = &run.bound else {
        return String::new();
    };
    format!("; {}", wall(b))
}

/// A wall in a few words.
fn wall(b: &super::Bound) -> String {
    let share = b
        .share
        .map_or(String::new(), |s| format!("{:.0} %", s.min(100.0)));
    let ceiling = |unit: &str| {
        b.ceiling
            .map_or(String::new(), |c| format!("{} {unit}", format::gb_s(c)))
    };
    match b.kind {
        BoundKind::Latency => {
            format!("latency: dispatches, submissions, barriers take {share} of an epoch")
        }
        BoundKind::Bandwidth => format!("bandwidth: {share} of the measured {}", ceiling("GB/s")),
        BoundKind::Compute => format!("compute: {share} of the measured {}", ceiling("GFLOP/s")),
        BoundKind::Cache => match b.share {
            Some(_) => format!("in cache, at {share} of the FMA ceiling"),
            None => "in cache".into(),
        },
        BoundKind::Overhead => "overhead: no measured wall explains its time".into(),
    }
}

/// The verdict of a report whose rows, speed-ups and walls are in.
pub fn summarise(report: &Report) -> Summary {
    let runs = &report.runs;
    let baseline = &report.baseline;
    let array = |r: &&RunReport| {
        !(r.kind == RowKind::Cpu && r.effective_gb_s.is_none() && r.gflop_s.is_none())
    };
    let top = fastest(runs.iter());
    let top_array = fastest(runs.iter().filter(array));
    let mut lines = Vec::new();
    let speed = |r: &RunReport| {
        r.speedup.map_or(String::new(), |s| {
            format!(", {} {baseline}", format::ratio(s))
        })
    };
    let figures = |r: &RunReport| {
        format!(
            "{} µs/epoch{}",
            format::epoch_us(r.epoch_us.unwrap_or(0.0)),
            speed(r)
        )
    };
    let mut fastest_array = None;
    match (top, top_array) {
        (None, _) => {
            lines.push("no row was validated: nothing to compare (each row says why below)".into())
        }
        (Some(t), Some(a)) if !std::ptr::eq(t, a) => {
            lines.push(format!(
                "fastest: {} ({}{}); only cpu-moments' O(1)-per-epoch shortcut beats it ({})",
                a.solver,
                figures(a),
                reason(a),
                figures(t)
            ));
            fastest_array = row_ref(a);
        }
        (Some(t), _) => lines.push(format!(
            "fastest: {} ({}{})",
            t.solver,
            figures(t),
            reason(t)
        )),
    }
    let cpu = fastest(runs.iter().filter(|r| r.kind == RowKind::Cpu).filter(array));
    let mut gpu_vs_cpu = Vec::new();
    for adapter in &report.machine.adapters {
        let on = runs
            .iter()
            .filter(|r| r.kind == RowKind::Gpu && r.device == adapter.device);
        let Some(gpu) = fastest(on) else {
            lines.push(format!(
                "GPU: no row ran validated on {} (each row says why below)",
                format::short_device_name(&adapter.device)
            ));
            continue;
        };
        let Some(cpu) = cpu else { continue };
        let gpu_speedup = cpu.epoch_us.unwrap_or(0.0) / gpu.epoch_us.unwrap_or(f64::NAN);
        let place = if adapter.software {
            format!(
                "on {} (CPU emulation: CPU timings, not GPU speed)",
                format::short_device_name(&adapter.device)
            )
        } else {
            format!(
                "on {} ({})",
                format::short_device_name(&adapter.device),
                adapter.device_type
            )
        };
        lines.push(format!(
            "GPU against CPU: {place} the fastest GPU row, {}, is {} than {}{}",
            gpu.solver,
            faster_or_slower(gpu_speedup),
            cpu.solver,
            reason(gpu)
        ));
        if let (Some(g), Some(c)) = (row_ref(gpu), row_ref(cpu)) {
            gpu_vs_cpu.push(GpuVsCpu {
                gpu: g,
                cpu: c,
                gpu_speedup,
                software: adapter.software,
            });
        }
    }
    if report.machine.adapters.is_empty() && runs.iter().any(|r| r.kind == RowKind::Gpu) {
        lines.push("GPU: no adapter found, so no GPU row ran (see the gpu rows' note)".into());
    }
    if let Some(b) = report
        .best
        .as_ref()
        .filter(|_| report.problem.mu.is_search())
    {
        lines.push(format!(
            "best step: mu = {}{}",
            b.mu,
            if b.tied > 1 {
                format!(" (the smallest of {} tied steps)", b.tied)
            } else {
                String::new()
            }
        ));
    }
    Summary {
        fastest: top.and_then(row_ref),
        fastest_array,
        gpu_vs_cpu,
        best_mu: report.best_mu.filter(|_| report.problem.mu.is_search()),
        lines,
    }
}
