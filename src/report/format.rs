//! One formatter for every human format (table, Markdown, sweep summary): times, ratios,
//! differences, spreads, devices and verdicts read the same wherever they appear.

use crate::bench::TimeStats;
use crate::solver::DeviceType;
use crate::validate::Status;

use super::{BoundKind, RunReport};

/// The placeholder for a figure that does not exist.
pub const DASH: &str = "–";

/// Seconds in the unit that keeps 3–4 significant digits.
pub fn time(s: f64) -> String {
    match s {
        s if s >= 1.0 => format!("{s:.3} s"),
        s if s >= 1e-3 => format!("{:.2} ms", s * 1e3),
        s if s >= 1e-6 => format!("{:.2} µs", s * 1e6),
        s => format!("{:.0} ns", s * 1e9),
    }
}

/// Microseconds per epoch with 4–5 significant digits and at most 3 decimals.
pub fn epoch_us(us: f64) -> String {
    match us {
        u if u >= 1000.0 => format!("{u:.0}"),
        u if u >= 100.0 => format!("{u:.1}"),
        u if u >= 10.0 => format!("{u:.2}"),
        u => format!("{u:.3}"),
    }
}

/// A speed-up: `12.6×`, `3387×`, `0.061×`.
pub fn ratio(x: f64) -> String {
    match x {
        x if x >= 100.0 => format!("{x:.0}×"),
        x if x >= 1.0 => format!("{x:.1}×"),
        x => format!("{x:.3}×"),
    }
}

/// A relative difference from the reference: `0` or `2.2e-6`.
pub fn rel_diff(d: f64) -> String {
    if d == 0.0 {
        "0".into()
    } else {
        format!("{d:.1e}")
    }
}

/// Effective bandwidth in GB/s.
pub fn gb_s(g: f64) -> String {
    format!("{g:.1}")
}

/// A share of a ceiling in percent.
pub fn pct(p: f64) -> String {
    format!("{p:.0}")
}

/// Bytes in KiB, MiB or GiB.
pub fn bytes(b: f64) -> String {
    match b {
        b if b >= (1u64 << 30) as f64 => format!("{:.1} GiB", b / (1u64 << 30) as f64),
        b if b >= (1u64 << 20) as f64 => format!("{:.1} MiB", b / (1u64 << 20) as f64),
        b => format!("{:.0} KiB", b / 1024.0),
    }
}

/// The median's 95 % confidence interval as its larger side over the median (`±0.4%`), or the
/// number of repeats when there are too few to give one (`1 rep`, `5 reps`): never a spread that
/// was not measured.
pub fn spread(t: &TimeStats) -> String {
    match t.ci_half_width() {
        None if t.repeats.len() == 1 => "1 rep".into(),
        None if t.ci95.is_none() => format!("{} reps", t.repeats.len()),
        None => DASH.into(),
        Some(h) => {
            let half = 100.0 * h;
            if half < 0.05 {
                "±0.0%".into()
            } else if half < 10.0 {
                format!("±{half:.1}%")
            } else {
                format!("±{half:.0}%")
            }
        }
    }
}

/// The verdict as a reader sees it: `ref` for the reference's own row, `ok`, or the failure in
/// capitals so it stands out without colour.
pub fn verdict(run: &RunReport) -> String {
    match run.status {
        Status::Ok if run.reference => "ref".into(),
        Status::Ok => "ok".into(),
        other => other.to_string().to_uppercase(),
    }
}

/// A GPU adapter's label (`NAME [backend]`) shortened for a table column: the name without its
/// vendor and parenthesised details, then the backend, e.g. `llvmpipe·vk`, `RTX 4090·vk`,
/// `M2 Max·mtl`.
pub fn short_device_name(label: &str) -> String {
    let (name, backend) = match label.rsplit_once(" [") {
        Some((name, backend)) => (name, backend.trim_end_matches(']')),
        None => (label, ""),
    };
    let name = name.split(" (").next().unwrap_or(name).trim();
    let mut words: Vec<&str> = name.split_whitespace().collect();
    const VENDORS: [&str; 7] = [
        "NVIDIA", "AMD", "Intel(R)", "Intel", "Apple", "GeForce", "ATI",
    ];
    while words.len() > 1 && VENDORS.contains(&words[0]) {
        words.remove(0);
    }
    let mut short = words.join(" ");
    if short.chars().count() > 16 {
        short = short.chars().take(15).collect::<String>() + "…";
    }
    let backend = match backend {
        "vulkan" => "vk",
        "metal" => "mtl",
        "dx12" => "dx12",
        "gl" => "gl",
        "" => return short,
        other => other,
    };
    format!("{short}·{backend}")
}

/// A row's device in a few characters (`cpu ×2`, `llvmpipe·vk (emu)`, `H200·vk`); the legend
/// under the table gives the full name.
pub fn short_device(run: &RunReport) -> String {
    match (run.kind, run.device_type) {
        (_, DeviceType::Cpu) if run.is_gpu_emulation() => {
            format!("{} (emu)", short_device_name(&run.device))
        }
        (_, DeviceType::Cpu) => format!("cpu ×{}", run.threads),
        (_, _) => short_device_name(&run.device),
    }
}

/// A row's device in full: the CPU model with its threads, or the adapter with its type; peers
/// add their library.
pub fn full_device(run: &RunReport) -> String {
    let device = match run.device_type {
        DeviceType::Cpu if run.is_gpu_emulation() => format!("{} (cpu emulation)", run.device),
        DeviceType::Cpu => format!("cpu ×{}", run.threads),
        other => format!("{} ({other})", run.device),
    };
    match &run.library {
        Some(library) => format!("{library} · {device}"),
        None => device,
    }
}

/// `Some(f(v))` as text, or the dash.
pub fn or_dash(value: Option<f64>, f: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| DASH.into(), f)
}

/// One column of a human report (table, Markdown): its header, alignment, how dispensable it is, and its cell.
pub(super) struct Column {
    pub header: String,
    pub right: bool,
    /// 0: always shown; higher numbers are dropped first on a narrow terminal.
    pub drop_rank: u8,
    pub cell: fn(&RunReport) -> String,
}

impl Column {
    fn new(header: &str, right: bool, drop_rank: u8, cell: fn(&RunReport) -> String) -> Self {
        Self {
            header: header.into(),
            right,
            drop_rank,
            cell,
        }
    }
}

/// The default columns: solver, device (short), precision, verdict, µs/epoch and its spread,
/// GB/s, the bound and the speed-up; GB/s is dropped first where they do not fit, then the bound.
pub(super) fn compact_columns(baseline: &str) -> Vec<Column> {
    vec![
        Column::new("solver", false, 0, |r| r.solver.clone()),
        Column::new("device", false, 3, short_device),
        Column::new("prec", false, 2, |r| r.precision.to_string()),
        Column::new("verdict", false, 0, verdict),
        Column::new("µs/epoch", true, 0, |r| or_dash(r.epoch_us, epoch_us)),
        Column::new("spread", true, 1, |r| {
            r.time_s.as_ref().map_or_else(|| DASH.into(), spread)
        }),
        Column::new("GB/s", true, 5, |r| or_dash(r.effective_gb_s, gb_s)),
        Column::new("bound", false, 4, bound),
        Column::new(&format!("× {baseline}"), true, 0, |r| {
            or_dash(r.speedup, ratio)
        }),
    ]
}

/// The wall a row hits, short: `lat 82%`, `bw 94%`, `fma 61%`, `limit 66%` (a CPU row at its
/// compute limit), `cache 38%` (a CPU row in cache: its share of that limit), `cache`,
/// `overhead`, or a dash.
pub fn bound(run: &RunReport) -> String {
    let Some(b) = &run.bound else {
        return DASH.into();
    };
    let share = |p: Option<f64>| p.map_or(String::new(), |p| format!(" {:.0}%", p.min(100.0)));
    let of_limit = b.of_limit();
    match b.kind {
        BoundKind::Latency => format!("lat{}", share(b.share)),
        BoundKind::Bandwidth => format!("bw{}", share(b.share)),
        BoundKind::Compute if of_limit => format!("limit{}", share(b.share)),
        BoundKind::Compute => format!("fma{}", share(b.share)),
        BoundKind::Cache if of_limit => format!("cache{}", share(b.share)),
        BoundKind::Cache => "cache".into(),
        BoundKind::Overhead => "overhead".into(),
    }
}

/// The columns a step-size search adds after the spread: the time per descent (a solve over
/// its steps) and GFLOP/s (6 flops per sample, step and epoch).
pub(super) fn search_columns() -> Vec<Column> {
    vec![
        Column::new("per descent", true, 0, |r| or_dash(r.descent_s, time)),
        Column::new("GFLOP/s", true, 1, |r| or_dash(r.gflop_s, gflop_s)),
    ]
}

/// GFLOP/s with three significant digits.
pub fn gflop_s(g: f64) -> String {
    match g {
        g if g >= 100.0 => format!("{g:.0}"),
        g if g >= 10.0 => format!("{g:.1}"),
        g => format!("{g:.2}"),
    }
}

/// Every column of the report (`--wide`).
pub(super) fn wide_columns(baseline: &str) -> Vec<Column> {
    vec![
        Column::new("solver", false, 0, |r| r.solver.clone()),
        Column::new("device", false, 0, full_device),
        Column::new("prec", false, 0, |r| r.precision.to_string()),
        Column::new("w0", true, 0, |r| weight(r, 0)),
        Column::new("w1", true, 0, |r| weight(r, 1)),
        Column::new("Δ ref", true, 0, |r| or_dash(r.max_rel_diff, rel_diff)),
        Column::new("verdict", false, 0, verdict),
        Column::new("median", true, 0, |r| {
            or_dash(r.time_s.as_ref().map(|t| t.median), time)
        }),
        Column::new("GPU kernel", true, 0, |r| {
            or_dash(r.phases.as_ref().and_then(|p| p.gpu_kernel_s), time)
        }),
        Column::new("min … max", true, 0, |r| {
            r.time_s.as_ref().map_or_else(
                || DASH.into(),
                |t| format!("{} … {}", time(t.min), time(t.max)),
            )
        }),
        Column::new("reps", true, 0, |r| {
            r.time_s
                .as_ref()
                .map_or_else(|| DASH.into(), |t| t.repeats.len().to_string())
        }),
        Column::new("µs/epoch", true, 0, |r| or_dash(r.epoch_us, epoch_us)),
        Column::new("GB/s", true, 0, |r| or_dash(r.effective_gb_s, gb_s)),
        Column::new("% peak", true, 0, |r| or_dash(r.peak_pct, pct)),
        Column::new("bound", false, 0, bound),
        Column::new(&format!("× {baseline}"), true, 0, |r| {
            or_dash(r.speedup, ratio)
        }),
    ]
}

/// Weight `i` with ten decimals.
fn weight(run: &RunReport, i: usize) -> String {
    run.w
        .map_or_else(|| DASH.into(), |w| format!("{:.10}", w[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_pick_a_readable_unit() {
        assert_eq!(time(2.5), "2.500 s");
        assert_eq!(time(0.01863), "18.63 ms");
        assert_eq!(time(3.2e-5), "32.00 µs");
        assert_eq!(time(4e-8), "40 ns");
    }

    #[test]
    fn ratios_and_epochs_keep_a_few_digits() {
        assert_eq!(ratio(3386.6), "3387×");
        assert_eq!(ratio(12.58), "12.6×");
        assert_eq!(ratio(0.0612), "0.061×");
        assert_eq!(epoch_us(303.266), "303.3");
        assert_eq!(epoch_us(1.4621), "1.462");
        assert_eq!(epoch_us(18.407), "18.41");
    }

    #[test]
    fn a_spread_is_only_given_where_it_was_measured() {
        assert_eq!(spread(&TimeStats::from_samples(vec![1.0])), "1 rep");
        assert_eq!(spread(&TimeStats::from_samples(vec![1.0, 1.1])), "2 reps");
        assert_eq!(spread(&TimeStats::from_samples(vec![1.0; 5])), "5 reps");
        // Six repeats: the interval is their extremes, 0.98 … 1.03 around a median of 1.0.
        let t = TimeStats::from_samples(vec![0.98, 1.0, 1.0, 1.0, 1.0, 1.03]);
        assert_eq!(spread(&t), "±3.0%");
        let wide = TimeStats::from_samples(vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.5]);
        assert_eq!(spread(&wide), "±50%");
    }

    #[test]
    fn adapter_names_shorten_to_name_and_backend() {
        assert_eq!(
            short_device_name("llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]"),
            "llvmpipe·vk"
        );
        assert_eq!(
            short_device_name("NVIDIA GeForce RTX 4090 [vulkan]"),
            "RTX 4090·vk"
        );
        assert_eq!(short_device_name("NVIDIA H200 [vulkan]"), "H200·vk");
        assert_eq!(short_device_name("Apple M2 Max [metal]"), "M2 Max·mtl");
        assert_eq!(
            short_device_name("AMD Radeon RX 7900 XTX Graphics Card [dx12]"),
            "Radeon RX 7900 …·dx12"
        );
    }
}
