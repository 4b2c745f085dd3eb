//! The verdict above the table: which validated row is fastest, how each adapter's fastest GPU row
//! compares with the fastest CPU row and why, and a search's best step, in words and as facts
//! (JSON `summary`).

use serde::Serialize;

use super::format;
use super::{BoundKind, Report, RowKind, RunReport};
use crate::validate::Status;

/// A row the verdict names.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
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
        BoundKind::Bandwidth if b.share.is_none() => {
            format!("bandwidth: past the measured {}", ceiling("GB/s"))
        }
        BoundKind::Bandwidth => format!("bandwidth: {share} of the measured {}", ceiling("GB/s")),
        BoundKind::Compute if b.of_limit() => {
            format!("at {share} of its compute limit")
        }
        BoundKind::Compute => format!("compute: {share} of the measured {}", ceiling("GFLOP/s")),
        BoundKind::Cache if b.of_limit() => {
            format!("in cache, at {share} of its compute limit")
        }
        BoundKind::Cache => match b.share {
            Some(_) => format!("in cache, at {share} of the FMA ceiling"),
            None => "in cache".into(),
        },
        BoundKind::Overhead => "overhead: no measured wall explains its time".into(),
    }
}

/// A row that reads the data every epoch: not cpu-moments' O(1) shortcut.
fn reads_data(r: &&RunReport) -> bool {
    !(r.kind == RowKind::Cpu && r.effective_gb_s.is_none() && r.gflop_s.is_none())
}

/// The verdict of a report whose rows, speed-ups and walls are in.
pub fn summarise(report: &Report) -> Summary {
    let runs = &report.runs;
    let (first, fastest_array) = fastest_line(report);
    let mut lines = vec![first];
    let cpu = fastest(
        runs.iter()
            .filter(|r| r.kind == RowKind::Cpu)
            .filter(reads_data),
    );
    let mut gpu_vs_cpu = Vec::new();
    for adapter in &report.machine.adapters {
        let (line, versus) = gpu_line(report, adapter, cpu);
        lines.extend(line);
        gpu_vs_cpu.extend(versus);
    }
    if report.machine.adapters.is_empty() && runs.iter().any(|r| r.kind == RowKind::Gpu) {
        lines.push("GPU: no adapter found, so no GPU row ran (see the gpu rows' note)".into());
    }
    let search = report.problem.mu.is_search();
    if let Some(b) = report.best.as_ref().filter(|_| search) {
        let tied = match b.tied {
            1 => String::new(),
            k => format!(" (the smallest of {k} tied steps)"),
        };
        lines.push(format!("best step: mu = {}{tied}", b.mu));
    }
    Summary {
        fastest: fastest(runs.iter()).and_then(row_ref),
        fastest_array,
        gpu_vs_cpu,
        best_mu: report.best_mu.filter(|_| search),
        lines,
    }
}

/// `1.234 µs/epoch, 5.6× cpu-naive`: a row's median and its speed-up over the baseline.
fn figures(report: &Report, r: &RunReport) -> String {
    let speed = r.speedup.map_or(String::new(), |s| {
        format!(", {} {}", format::ratio(s), report.baseline)
    });
    format!(
        "{} µs/epoch{speed}",
        format::epoch_us(r.epoch_us.unwrap_or(0.0))
    )
}

/// The verdict's first line: the fastest validated row and its wall (cpu-moments' shortcut
/// named apart, then the fastest row that reads the data is returned too).
fn fastest_line(report: &Report) -> (String, Option<RowRef>) {
    let runs = &report.runs;
    match (
        fastest(runs.iter()),
        fastest(runs.iter().filter(reads_data)),
    ) {
        (None, _) => (
            "no row was validated: nothing to compare (each row says why below)".into(),
            None,
        ),
        (Some(t), Some(a)) if !std::ptr::eq(t, a) => (
            format!(
                "fastest: {} ({}{}); only cpu-moments' O(1)-per-epoch shortcut beats it ({})",
                a.solver,
                figures(report, a),
                reason(a),
                figures(report, t)
            ),
            row_ref(a),
        ),
        (Some(t), _) => (
            format!(
                "fastest: {} ({}{})",
                t.solver,
                figures(report, t),
                reason(t)
            ),
            None,
        ),
    }
}

/// An adapter's line: its fastest validated GPU row against `cpu`, the fastest CPU row that
/// reads the data, in words with the GPU row's wall (or why there is none to compare).
fn gpu_line(
    report: &Report,
    adapter: &super::AdapterReport,
    cpu: Option<&RunReport>,
) -> (Option<String>, Option<GpuVsCpu>) {
    let short = format::short_device_name(&adapter.device);
    let on = report
        .runs
        .iter()
        .filter(|r| r.kind == RowKind::Gpu && r.device == adapter.device);
    let Some(gpu) = fastest(on) else {
        let line = format!("GPU: no row ran validated on {short} (each row says why below)");
        return (Some(line), None);
    };
    let Some(cpu) = cpu else {
        return (None, None);
    };
    let gpu_speedup = cpu.epoch_us.unwrap_or(0.0) / gpu.epoch_us.unwrap_or(f64::NAN);
    let place = if adapter.software {
        format!("on {short} (CPU emulation: CPU timings, not GPU speed)")
    } else {
        format!("on {short} ({})", adapter.device_type)
    };
    let line = format!(
        "GPU against CPU: {place} the fastest GPU row, {}, is {} than {}{}",
        gpu.solver,
        faster_or_slower(gpu_speedup),
        cpu.solver,
        reason(gpu)
    );
    let versus = row_ref(gpu).zip(row_ref(cpu)).map(|(g, c)| GpuVsCpu {
        gpu: g,
        cpu: c,
        gpu_speedup,
        software: adapter.software,
    });
    (Some(line), versus)
}
