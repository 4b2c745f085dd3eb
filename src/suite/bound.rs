//! Which wall each row hits: latency (fixed costs per epoch), bandwidth (data beyond the caches,
//! read at half the measured ceiling or more), compute (half the measured FMA ceiling or more),
//! cache (data in a cache, neither of those) or overhead (none of them), from the row's own
//! figures and the machine's measured ceilings.

use crate::cpu::work::Limit;
use crate::machine::LastLevelCache;
use crate::probe::{Ceilings, GpuCeilings};
use crate::report::{Bound, BoundKind, LIMIT_UNIT, RowKind, RunReport};
use crate::solver::{DeviceType, Precision};
use crate::validate::Status;

/// The share of a wall (%) from which a row counts as hitting it.
pub const BOUND_SHARE: f64 = 50.0;

/// The least time an epoch of a GPU row can take on its adapter, µs: its dispatches, submissions
/// and barriers per epoch times their measured costs.
pub fn latency_floor_us(run: &RunReport, adapter: &GpuCeilings) -> Option<f64> {
    let (pacing, latency) = (run.pacing?, adapter.latency?);
    Some(
        pacing.dispatches_per_epoch * latency.dispatch_us
            + pacing.submissions_per_epoch * adapter.round_trip_us
            + pacing.barriers_per_epoch * latency.barrier_ns * 1e-3,
    )
}

/// The FMA ceiling a row's arithmetic is held against, GFLOP/s: its device's, in its precision
/// (f16 storage computes in f32), on all cores when it runs on several. None for df64, whose
/// operations are many f32 ones, and where none was measured.
pub fn fma_ceiling(run: &RunReport, ceilings: &Ceilings) -> Option<f64> {
    let f32_like = matches!(run.precision, Precision::F32 | Precision::F16);
    if run.kind == RowKind::Gpu {
        let adapter = ceilings.gpu.iter().find(|g| g.device == run.device)?;
        return f32_like.then_some(adapter.gflops_f32).flatten();
    }
    if run.device_type != DeviceType::Cpu || run.precision == Precision::Df64 {
        return None;
    }
    let c = &ceilings.cpu;
    let (one, all) = if f32_like {
        (c.gflops_f32_one_core?, c.gflops_f32_all_cores?)
    } else {
        (c.gflops_f64_one_core?, c.gflops_f64_all_cores?)
    };
    Some(if run.threads > 1 { one.max(all) } else { one })
}

/// The compute limit of a CPU array row, µs/epoch ([`crate::cpu::work`]): its kernel's work
/// per sample at one core's measured rates, over its threads, or its reads from L2 where they
/// take longer (at the L2 probe's rate, or the row's own per thread where that is faster).
/// None for other rows, for rows whose solver is not this build's, and where the operation
/// probes did not run.
pub fn compute_limit(run: &RunReport, n: usize, ceilings: &Ceilings) -> Option<Limit> {
    if run.kind != RowKind::Cpu || run.device_type != DeviceType::Cpu {
        return None;
    }
    let solver = crate::solver::SolverId::from_name(&run.solver)?;
    let work = crate::cpu::work::Work::of(solver, crate::cpu::simd_level())?;
    let bytes = crate::solver::bytes_per_sample(solver.precision());
    // A row that read faster per thread than the L2 probe shows the probe's rate is no floor:
    // its own rate is the faster one L2 can give (the limit moves smoothly with it).
    let per_thread = run
        .effective_gb_s
        .map_or(0.0, |g| g / run.threads.max(1) as f64);
    let l2 = ceilings.cpu.l2.map(|c| crate::probe::CacheReads {
        read_gb_s: c.read_gb_s.max(per_thread),
        ..c
    });
    let ops = ceilings.cpu.ops.as_ref()?;
    Some(work.limit(n, run.threads, bytes, ops, l2.as_ref()))
}

/// [`compute_limit`], µs/epoch.
pub fn compute_limit_us(run: &RunReport, n: usize, ceilings: &Ceilings) -> Option<f64> {
    compute_limit(run, n, ceilings).map(|l| l.us())
}

/// The wall `run` hits (None for rows that are not `ok`, cpu-moments, or without a time). The
/// largest share of the latency, bandwidth and compute walls at or above [`BOUND_SHARE`] wins;
/// else `cache` when its data fits a cache, else `overhead`. A CPU row with its data in cache
/// and a compute limit is held against that limit instead of the FMA ceiling: one figure.
pub fn classify(
    run: &RunReport,
    n: usize,
    ceilings: &Ceilings,
    llc: LastLevelCache,
) -> Option<Bound> {
    let epoch_us = run.epoch_us?;
    if run.status != Status::Ok || run.gflop_s.is_none() {
        return None;
    }
    let bound = |kind, share: Option<f64>, ceiling: Option<f64>, unit| Bound {
        kind,
        share,
        ceiling,
        unit,
    };
    let mut walls: Vec<Bound> = Vec::new();
    let adapter = ceilings.gpu.iter().find(|g| g.device == run.device);
    if let Some(floor) = adapter
        .and_then(|a| latency_floor_us(run, a))
        .filter(|_| run.kind == RowKind::Gpu)
    {
        let share = 100.0 * floor / epoch_us;
        walls.push(bound(
            BoundKind::Latency,
            Some(share),
            Some(floor),
            Some("µs/epoch"),
        ));
    }
    let in_cache = super::ceiling::data_in_cache(run, n, llc);
    let past = |(ceiling, gb_s): (f64, f64)| gb_s > ceiling;
    if run.peak_pct.is_none()
        && !in_cache
        && run.peak_gb_s.zip(run.effective_gb_s).is_some_and(past)
    {
        // Past a read ceiling measured twice (no share is shown): at that wall all the same.
        return Some(bound(
            BoundKind::Bandwidth,
            None,
            run.peak_gb_s,
            Some("GB/s"),
        ));
    }
    if let Some(pct) = run.peak_pct {
        walls.push(bound(
            BoundKind::Bandwidth,
            Some(pct),
            run.peak_gb_s,
            Some("GB/s"),
        ));
    }
    let limit = run.compute_limit_us.filter(|_| in_cache);
    let (ceiling, unit, compute_share) = match limit {
        Some(limit) => (Some(limit), LIMIT_UNIT, Some(100.0 * limit / epoch_us)),
        None => {
            let fma = fma_ceiling(run, ceilings);
            (
                fma,
                "GFLOP/s",
                fma.zip(run.gflop_s).map(|(c, g)| 100.0 * g / c),
            )
        }
    };
    if let Some(share) = compute_share {
        walls.push(bound(BoundKind::Compute, Some(share), ceiling, Some(unit)));
    }
    let hit = walls
        .into_iter()
        .filter(|w| w.share.is_some_and(|s| s >= BOUND_SHARE))
        .max_by(|a, b| a.share.unwrap_or(0.0).total_cmp(&b.share.unwrap_or(0.0)));
    if let Some(wall) = hit {
        return Some(wall);
    }
    if in_cache {
        return Some(bound(BoundKind::Cache, compute_share, ceiling, Some(unit)));
    }
    Some(bound(BoundKind::Overhead, None, None, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::latency::Latency;
    use crate::probe::CpuCeilings;
    use crate::report::{Note, NoteKind};
    use crate::solver::Pacing;

    const LLC: LastLevelCache = LastLevelCache {
        per_core: 32 << 20,
        total: 32 << 20,
    };

    fn ceilings() -> Ceilings {
        Ceilings {
            cpu: CpuCeilings {
                read_gb_s_one_core: 10.0,
                read_gb_s_all_cores: 20.0,
                threads: 2,
                gflops_f32_one_core: Some(100.0),
                gflops_f32_all_cores: Some(200.0),
                gflops_f64_one_core: Some(50.0),
                gflops_f64_all_cores: Some(100.0),
                ..CpuCeilings::default()
            },
            gpu: vec![GpuCeilings {
                device: "gpu".into(),
                read_gb_s: 1000.0,
                round_trip_us: 20.0,
                gflops_f32: Some(10_000.0),
                latency: Some(Latency {
                    dispatch_us: 4.0,
                    barrier_ns: 100.0,
                    barrier_wg: 256,
                }),
                ..GpuCeilings::default()
            }],
            gpu_failures: Vec::new(),
        }
    }

    /// An `ok` row of `kind` on 1 thread in f64 with the given figures.
    fn row(kind: RowKind, epoch_us: f64, gflop_s: f64, peak_pct: Option<f64>) -> RunReport {
        let mut run = crate::suite::fixtures::empty_row();
        run.kind = kind;
        run.status = Status::Ok;
        run.epoch_us = Some(epoch_us);
        run.gflop_s = Some(gflop_s);
        run.peak_pct = peak_pct;
        run.peak_gb_s = peak_pct.map(|_| 10.0);
        if kind == RowKind::Gpu {
            run.device = "gpu".into();
            run.device_type = DeviceType::DiscreteGpu;
            run.precision = Precision::F32;
        }
        run
    }

    #[test]
    fn each_wall_is_named_from_its_share() {
        let c = ceilings();
        let kind = |run: &RunReport, n| classify(run, n, &c, LLC).map(|b| b.kind);
        // Bandwidth: data beyond the caches at 80 % of the read ceiling.
        assert_eq!(
            kind(&row(RowKind::Cpu, 1.0, 1.0, Some(80.0)), 1 << 26),
            Some(BoundKind::Bandwidth)
        );
        // Compute: 30 of f64's 50 GFLOP/s on one core, in cache.
        assert_eq!(
            kind(&row(RowKind::Cpu, 1.0, 30.0, None), 1000),
            Some(BoundKind::Compute)
        );
        // Neither, data in cache: cache, with its share of the FMA ceiling.
        let cache = classify(&row(RowKind::Cpu, 1.0, 10.0, None), 1000, &c, LLC).unwrap();
        assert_eq!(
            (cache.kind, cache.share, cache.ceiling),
            (BoundKind::Cache, Some(20.0), Some(50.0))
        );
        // Neither, data beyond the caches at 20 %: overhead.
        assert_eq!(
            kind(&row(RowKind::Cpu, 1.0, 10.0, Some(20.0)), 1 << 26),
            Some(BoundKind::Overhead)
        );
        // Past a read ceiling measured twice (no share shown): at the bandwidth wall all the
        // same, with no share; in cache a row reading faster than memory is no such thing.
        let mut past = row(RowKind::Cpu, 1.0, 10.0, None);
        (past.peak_gb_s, past.effective_gb_s) = (Some(10.0), Some(10.1));
        let wall = classify(&past, 1 << 26, &c, LLC).unwrap();
        assert_eq!(
            (wall.kind, wall.share, wall.ceiling),
            (BoundKind::Bandwidth, None, Some(10.0))
        );
        assert_eq!(kind(&past, 1000), Some(BoundKind::Cache));
        past.effective_gb_s = Some(9.9);
        assert_eq!(kind(&past, 1 << 26), Some(BoundKind::Overhead));
        // On two threads the all-core FMA ceiling (100): 30 GFLOP/s is no longer half of it.
        let mut two = row(RowKind::Cpu, 1.0, 30.0, None);
        two.threads = 2;
        assert_eq!(kind(&two, 1000), Some(BoundKind::Cache));
        // Not ok, or cpu-moments (no flops): no wall.
        let mut bad = row(RowKind::Cpu, 1.0, 30.0, None);
        bad.status = Status::Mismatch;
        assert_eq!(kind(&bad, 1000), None);
        let mut moments = row(RowKind::Cpu, 1.0, 30.0, None);
        moments.gflop_s = None;
        assert_eq!(kind(&moments, 1000), None);
    }

    #[test]
    fn a_row_that_reads_faster_than_the_l2_probe_is_held_to_its_own_rate() {
        let mut c = ceilings();
        c.cpu.ops = Some(crate::probe::CoreOps {
            bits: 512,
            fma_per_ns: 1.0,
            add_per_ns: 1.0,
            fma_add_per_ns: 2.0,
            add_latency_ns: 4.0,
        });
        c.cpu.l2 = Some(crate::probe::CacheReads {
            l1d_bytes: 32_000,
            l2_bytes: 1 << 20,
            read_gb_s: 10.0,
        });
        let mut run = row(RowKind::Cpu, 10.0, 1.0, None);
        (run.solver, run.device_type) = ("cpu-fused-f32".into(), DeviceType::Cpu);
        // 80 kB of f32 data, 48 kB beyond L1d: 4.8 µs at the probe's 10 GB/s...
        run.effective_gb_s = Some(8.0);
        let limit = compute_limit(&run, 10_000, &c).unwrap();
        assert_eq!(limit.l2_reads_us, Some(4.8));
        assert_eq!(compute_limit_us(&run, 10_000, &c), Some(4.8));
        // ...or at the row's own rate where it read faster: then the probe's is no floor.
        run.effective_gb_s = Some(12.0);
        let limit = compute_limit(&run, 10_000, &c).unwrap();
        assert_eq!(limit.l2_reads_us, Some(4.0));
    }

    #[test]
    fn a_gpu_row_is_latency_bound_when_its_fixed_costs_fill_an_epoch() {
        let c = ceilings();
        // 3 dispatches (12 µs), 1 submission (20 µs), 9 barriers (0.9 µs) an epoch: 32.9 µs.
        let mut multipass = row(RowKind::Gpu, 40.0, 1.0, None);
        multipass.pacing = Some(Pacing {
            dispatches_per_epoch: 3.0,
            submissions_per_epoch: 1.0,
            barriers_per_epoch: 9.0,
        });
        let b = classify(&multipass, 1000, &c, LLC).unwrap();
        assert_eq!(b.kind, BoundKind::Latency);
        assert!((b.ceiling.unwrap() - 32.9).abs() < 1e-9, "{b:?}");
        assert!((b.share.unwrap() - 82.25).abs() < 1e-9, "{b:?}");
        // The same row ten times slower: its fixed costs explain a tenth; data fits the GPU's
        // caches, so `cache`.
        multipass.epoch_us = Some(400.0);
        assert_eq!(
            classify(&multipass, 1000, &c, LLC).unwrap().kind,
            BoundKind::Cache
        );
        // Bandwidth wins over latency when its share is larger.
        multipass.epoch_us = Some(40.0);
        multipass.peak_pct = Some(95.0);
        multipass.peak_gb_s = Some(1000.0);
        assert_eq!(
            classify(&multipass, 1 << 28, &c, LLC).unwrap().kind,
            BoundKind::Bandwidth
        );
        let _ = Note::new(NoteKind::Check, "");
    }
}
