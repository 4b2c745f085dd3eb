//! Each row held against the ceiling the probe measured for its device: its share of the read
//! bandwidth, or why none is claimed (data in a cache, a failed probe, a share over 100 % that
//! puts the ceiling in doubt and has it measured again).

use std::sync::Arc;

use crate::gpu::GpuContext;
use crate::machine::LastLevelCache;
use crate::probe::Ceilings;
use crate::report::{Note, NoteKind, RowKind, RunReport};
use crate::solver::{DeviceType, bytes_per_sample};

/// A GPU row's data smaller than this may sit in the GPU's caches (wgpu does not report their
/// size; L2 is 50–96 MiB on current datacenter cards): no share of DRAM bandwidth is claimed.
pub const GPU_CACHE_GUESS_BYTES: f64 = 128.0 * 1024.0 * 1024.0;

/// How a row stands against its measured ceiling.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// The ceiling it is held against, GB/s (none when no probe measured one for it).
    pub ceiling: Option<f64>,
    /// Its share of that ceiling, % (never above 100).
    pub pct: Option<f64>,
    /// Why no share is claimed, when none is.
    pub note: Option<String>,
    /// True when the share came out above 100 %: the ceiling was under-measured.
    pub over: bool,
    /// Data in a cache: the headline rows in cache share and this row's data size.
    pub in_cache: Option<(String, String)>,
}

impl Share {
    fn none(ceiling: Option<f64>, note: Option<String>) -> Self {
        Self {
            ceiling,
            pct: None,
            note,
            over: false,
            in_cache: None,
        }
    }

    fn cached(ceiling: f64, note: String, headline: String, detail: String) -> Self {
        Self {
            in_cache: Some((headline, detail)),
            ..Self::none(Some(ceiling), Some(note))
        }
    }
}

/// The ceiling a row is held against and its share of it, or a note saying why none is claimed:
/// data in a cache (`llc`, the host's last-level cache, for CPU-type devices) has no share of
/// memory bandwidth, and a share over 100 % means the ceiling, not the row, is wrong (`over`:
/// the caller measures it again once). A row on several threads is held against the larger of the
/// one-core and all-core figures (more threads never read slower; a busy machine can make the
/// all-core probe read so).
pub fn peak(run: &RunReport, n: usize, ceilings: &Ceilings, llc: LastLevelCache) -> Share {
    let Some(gb_s) = run.effective_gb_s else {
        return Share::none(None, None);
    };
    let Some(ceiling) = read_ceiling(run, ceilings) else {
        return Share::none(None, failed_probe(run, ceilings));
    };
    if in_cache(run, n, cache_beside(run, llc)) {
        return cached_share(run, n, ceiling, cache_beside(run, llc));
    }
    let pct = 100.0 * gb_s / ceiling;
    if pct > 100.0 {
        let note = format!(
            "{pct:.0} % of the measured ceiling ({ceiling:.1} GB/s): the ceiling is suspect, so no share is shown"
        );
        return Share {
            over: true,
            ..Share::none(Some(ceiling), Some(note))
        };
    }
    Share {
        pct: Some(pct),
        ..Share::none(Some(ceiling), None)
    }
}

/// The read ceiling a row is held against, GB/s: its adapter's, or the host's (one core, or the
/// larger of one and all for several threads); none when nothing measured one for its device.
fn read_ceiling(run: &RunReport, ceilings: &Ceilings) -> Option<f64> {
    if run.kind == RowKind::Gpu {
        return ceilings
            .gpu
            .iter()
            .find(|g| g.device == run.device)
            .map(|g| g.read_gb_s);
    }
    if run.device_type != DeviceType::Cpu {
        return None;
    }
    let c = &ceilings.cpu;
    Some(if run.threads > 1 {
        c.read_gb_s_all_cores.max(c.read_gb_s_one_core)
    } else {
        c.read_gb_s_one_core
    })
}

/// The note of a GPU row whose adapter's probe failed, naming the failure.
fn failed_probe(run: &RunReport, ceilings: &Ceilings) -> Option<String> {
    if run.kind != RowKind::Gpu {
        return None;
    }
    let failure = ceilings
        .gpu_failures
        .iter()
        .find(|f| f.device == run.device)?;
    Some(format!(
        "no share of a ceiling: the probe failed on this adapter ({})",
        failure.error
    ))
}

/// The share of a row whose `n` samples may sit in a cache (`llc` bytes beside a CPU-type
/// device): none, and a note saying why.
fn cached_share(run: &RunReport, n: usize, ceiling: f64, llc: f64) -> Share {
    let bytes = human_bytes(n as f64 * bytes_per_sample(run.precision));
    if run.device_type == DeviceType::Cpu {
        let note = format!(
            "in cache: {bytes} of data beside a {} last-level cache, so no share of memory bandwidth",
            human_bytes(llc)
        );
        let headline = format!(
            "in cache (beside a {} last-level cache: no share of memory bandwidth)",
            human_bytes(llc)
        );
        return Share::cached(ceiling, note, headline, bytes);
    }
    let note =
        format!("{bytes} of data may sit in the GPU's caches, so no share of memory bandwidth");
    let headline =
        "data that may sit in the GPU's caches, so no share of memory bandwidth".to_string();
    Share::cached(ceiling, note, headline, bytes)
}

/// The last-level cache a CPU-type row's data sits beside, bytes: one thread's data can fill its
/// own cache instance; several threads' data, every instance.
fn cache_beside(run: &RunReport, llc: LastLevelCache) -> f64 {
    (if run.threads > 1 {
        llc.total
    } else {
        llc.per_core
    }) as f64
}

/// True when a row's data (in its precision) may sit in a cache: within twice the last-level
/// cache `llc_bytes` beside it on a CPU-type device, under [`GPU_CACHE_GUESS_BYTES`] on a GPU.
pub fn in_cache(run: &RunReport, n: usize, llc_bytes: f64) -> bool {
    let bytes = n as f64 * bytes_per_sample(run.precision);
    if run.device_type == DeviceType::Cpu {
        bytes <= 2.0 * llc_bytes
    } else {
        bytes < GPU_CACHE_GUESS_BYTES
    }
}

/// [`in_cache`] with the cache beside the row chosen from the host's.
pub fn data_in_cache(run: &RunReport, n: usize, llc: LastLevelCache) -> bool {
    in_cache(run, n, cache_beside(run, llc))
}

/// Holds every row against its measured ceiling ([`peak`]). A share above 100 % means the ceiling
/// was under-measured: each such ceiling is measured once more (`again`, false when it could
/// not be), and every row held against the figures then; a row still above gets no share, and a
/// note saying so.
pub(super) fn hold_to_ceilings(
    runs: &mut [RunReport],
    n: usize,
    ceilings: &mut Ceilings,
    llc: LastLevelCache,
    again: &mut dyn FnMut(&RunReport, &mut Ceilings) -> bool,
) {
    let key = |run: &RunReport| {
        if run.kind == RowKind::Gpu {
            run.device.clone()
        } else {
            "cpu".to_string()
        }
    };
    let mut tried: Vec<(String, bool)> = Vec::new();
    for run in runs.iter() {
        if peak(run, n, ceilings, llc).over && !tried.iter().any(|(k, _)| *k == key(run)) {
            let measured = again(run, ceilings);
            tried.push((key(run), measured));
        }
    }
    for run in runs.iter_mut() {
        let share = peak(run, n, ceilings, llc);
        (run.peak_gb_s, run.peak_pct) = (share.ceiling, share.pct);
        if let Some(mut note) = share.note {
            if share.over {
                let twice = tried
                    .iter()
                    .any(|(k, measured)| *k == key(run) && *measured);
                note += if twice {
                    ", though measured twice"
                } else {
                    ", and could not be measured again"
                };
            }
            run.add_note(match share.in_cache {
                Some((headline, detail)) => {
                    Note::shared(NoteKind::Ceiling, note.clone(), headline, detail)
                }
                None => Note::new(NoteKind::Ceiling, note.clone()),
            });
            run.peak_note = Some(note);
        }
    }
}

/// Bytes in KiB, MiB or GiB.
fn human_bytes(b: f64) -> String {
    match b {
        b if b >= (1u64 << 30) as f64 => format!("{:.1} GiB", b / (1u64 << 30) as f64),
        b if b >= (1u64 << 20) as f64 => format!("{:.1} MiB", b / (1u64 << 20) as f64),
        b => format!("{:.0} KiB", b / 1024.0),
    }
}

/// Measures the ceiling `run` is held against once more: its adapter's, or the host's read
/// bandwidth (one core and all). A probe's figure is a lower bound of what the device can read,
/// so the larger of the two measurements stands. False when it could not be measured again.
pub(super) fn remeasure(
    run: &RunReport,
    ceilings: &mut Ceilings,
    adapters: &[Arc<GpuContext>],
) -> bool {
    if run.kind != RowKind::Gpu {
        crate::probe::measure_cpu_bandwidth(&mut ceilings.cpu);
        return true;
    }
    let Some(ctx) = adapters.iter().find(|ctx| ctx.label() == run.device) else {
        return false;
    };
    let fresh = crate::gpu::guard::run_row(ctx, || crate::probe::gpu_ceilings(ctx));
    match (
        fresh,
        ceilings.gpu.iter_mut().find(|g| g.device == run.device),
    ) {
        (Ok(fresh), Some(old)) => {
            if fresh.read_gb_s > old.read_gb_s {
                (old.read_gb_s, old.measured_s) = (fresh.read_gb_s, fresh.measured_s);
            }
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::Precision;
    use crate::suite::fixtures::{LLC, hand_made};
    use crate::validate::Status;

    #[test]
    fn derived_figures_follow_independent_formulas_in_each_precision() {
        let n = 20_000_000;
        for (precision, bytes) in [(Precision::F32, 8.0), (Precision::F64, 16.0)] {
            let (run, mut ceilings) = hand_made(precision, false, n);
            assert_eq!(run.status, Status::Ok, "{}", run.message);
            let epoch_s = 0.25 / 40.0;
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
            assert!(close(run.epoch_us.unwrap(), 6250.0));
            assert!(close(run.epochs_per_s.unwrap(), 160.0));
            // 20 M samples × 8 or 16 bytes in 6.25 ms: 25.6 or 51.2 GB/s.
            let gb_s = n as f64 * bytes / epoch_s / 1e9;
            let by_hand = if bytes == 8.0 { 25.6 } else { 51.2 };
            assert!((gb_s - by_hand).abs() < 1e-9, "{gb_s}");
            assert!(close(run.effective_gb_s.unwrap(), gb_s), "{precision}");
            assert!(close(run.gflop_s.unwrap(), 6.0 * n as f64 / epoch_s / 1e9));
            // Far beyond the cache: the share of one core's ceiling is shown...
            ceilings.cpu.read_gb_s_one_core = 60.0;
            let share = peak(&run, n, &ceilings, LLC);
            assert_eq!(share.ceiling, Some(60.0));
            assert!(
                close(share.pct.unwrap(), 100.0 * gb_s / 60.0) && share.note.is_none(),
                "{precision}"
            );
            // ...up to 100 % of it exactly...
            ceilings.cpu.read_gb_s_one_core = gb_s;
            assert!(close(peak(&run, n, &ceilings, LLC).pct.unwrap(), 100.0));
            // ...and not one part in a thousand over it: then the ceiling is suspect, not the row.
            ceilings.cpu.read_gb_s_one_core = gb_s / 1.001;
            let share = peak(&run, n, &ceilings, LLC);
            assert!(share.over && share.pct.is_none(), "{share:?}");
            assert!(share.note.unwrap().contains("ceiling is suspect"));
        }
    }

    #[test]
    fn data_in_cache_gets_no_share_of_memory_bandwidth() {
        // 1 M f64 samples are 16 MiB: within twice one core's 32 MiB cache.
        let (run, ceilings) = hand_made(Precision::F64, false, 1_000_000);
        let share = peak(&run, 1_000_000, &ceilings, LLC);
        assert_eq!(share.pct, None);
        assert!(share.note.unwrap().starts_with("in cache"));
        // 6 M samples (96 MiB) are beyond one core's cache, but within all cores' for 2 threads.
        let (mut run, mut ceilings) = hand_made(Precision::F64, false, 6_000_000);
        ceilings.cpu.read_gb_s_one_core = 100.0;
        ceilings.cpu.read_gb_s_all_cores = 200.0;
        assert!(peak(&run, 6_000_000, &ceilings, LLC).pct.is_some());
        run.threads = 2;
        assert!(peak(&run, 6_000_000, &ceilings, LLC).pct.is_none());
        let (run, ceilings) = hand_made(Precision::F32, true, 1000);
        let share = peak(&run, 1000, &ceilings, LLC);
        assert_eq!((share.ceiling, share.pct), (Some(1000.0), None));
        assert!(share.note.unwrap().contains("GPU's caches"));
    }

    #[test]
    fn a_failed_gpu_probe_is_said_on_the_row() {
        let (run, mut ceilings) = hand_made(Precision::F32, true, 100_000_000);
        ceilings.gpu[0].device = "another GPU".into();
        ceilings.gpu_failures.push(crate::probe::ProbeFailure {
            device: run.device.clone(),
            error: "out of memory".into(),
        });
        let share = peak(&run, 100_000_000, &ceilings, LLC);
        assert_eq!((share.ceiling, share.pct), (None, None));
        assert!(
            share
                .note
                .unwrap()
                .contains("the probe failed on this adapter (out of memory)")
        );
    }

    #[test]
    fn a_share_over_100_percent_measures_its_ceiling_again_once_then_shows_none() {
        let n = 20_000_000;
        let (run, mut ceilings) = hand_made(Precision::F64, false, n);
        let gb_s = run.effective_gb_s.unwrap();
        // Two rows on one core, 120 % of its ceiling.
        ceilings.cpu.read_gb_s_one_core = gb_s / 1.2;
        let mut runs = vec![run.clone(), run.clone()];
        // A second measurement that finds twice the first: both rows get a share.
        let mut calls = 0;
        let mut doubled = |_: &RunReport, c: &mut Ceilings| {
            calls += 1;
            c.cpu.read_gb_s_one_core *= 2.0;
            true
        };
        hold_to_ceilings(&mut runs, n, &mut ceilings.clone(), LLC, &mut doubled);
        assert_eq!(calls, 1);
        for r in &runs {
            assert!((r.peak_pct.unwrap() - 60.0).abs() < 1e-9, "{r:?}");
            assert_eq!(r.peak_note, None);
        }
        // One that finds the same: no share, a note, and no third measurement.
        let mut runs = vec![run.clone(), run];
        let mut calls = 0;
        let mut same = |_: &RunReport, _: &mut Ceilings| {
            calls += 1;
            true
        };
        hold_to_ceilings(&mut runs, n, &mut ceilings.clone(), LLC, &mut same);
        assert_eq!(calls, 1);
        for r in &runs {
            assert_eq!(r.peak_pct, None);
            let note = r.peak_note.as_deref().unwrap();
            assert!(
                note.contains("ceiling is suspect, so no share is shown, though measured twice"),
                "{note}"
            );
            assert!(r.message.contains("ceiling is suspect"));
        }
        // One that cannot measure it again says so.
        let mut runs = vec![runs[0].clone()];
        hold_to_ceilings(&mut runs, n, &mut ceilings, LLC, &mut |_, _| false);
        let note = runs[0].peak_note.as_deref().unwrap();
        assert!(note.ends_with("could not be measured again"), "{note}");
    }

    #[test]
    fn several_threads_are_held_against_the_larger_read_ceiling() {
        let n = 20_000_000;
        let (mut run, mut ceilings) = hand_made(Precision::F64, false, n);
        run.threads = 2;
        let big = LastLevelCache {
            per_core: 1 << 20,
            total: 2 << 20,
        };
        // A busy probe: all cores read below one.
        ceilings.cpu.read_gb_s_one_core = 100.0;
        ceilings.cpu.read_gb_s_all_cores = 60.0;
        assert_eq!(peak(&run, n, &ceilings, big).ceiling, Some(100.0));
        ceilings.cpu.read_gb_s_all_cores = 150.0;
        assert_eq!(peak(&run, n, &ceilings, big).ceiling, Some(150.0));
    }

    #[test]
    fn measuring_a_cpu_ceiling_again_keeps_the_larger_figure() {
        let (run, mut ceilings) = hand_made(Precision::F64, false, 1000);
        // Far below anything a machine reads: the new measurement replaces it...
        ceilings.cpu.read_gb_s_one_core = 1e-3;
        ceilings.cpu.read_gb_s_all_cores = 1e-3;
        assert!(remeasure(&run, &mut ceilings, &[]));
        assert!(ceilings.cpu.read_gb_s_one_core > 1e-3, "{:?}", ceilings.cpu);
        assert!(
            ceilings.cpu.read_gb_s_all_cores > 1e-3,
            "{:?}",
            ceilings.cpu
        );
        // ...and far above: a lower figure does not replace a higher one.
        ceilings.cpu.read_gb_s_one_core = 1e9;
        assert!(remeasure(&run, &mut ceilings, &[]));
        assert_eq!(ceilings.cpu.read_gb_s_one_core, 1e9);
        // A GPU row whose adapter is not open cannot be measured again.
        let (gpu, mut ceilings) = hand_made(Precision::F32, true, 1000);
        assert!(!remeasure(&gpu, &mut ceilings, &[]));
    }
}
