//! How the ceilings read: one line under the report's header, or `gdbench probe`'s account.

use std::fmt::Formatter;

use super::{Ceilings, CpuCeilings, FLOP_PASSES, GpuCeilings, three_digits};

/// One line for the report's header (`{}`), or `gdbench probe`'s full account with buffer sizes
/// and timing method, a line per device (`{:#}`).
impl std::fmt::Display for Ceilings {
    fn fmt(&self, f: &mut Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            cpu_account(f, &self.cpu)?;
            for g in &self.gpu {
                adapter_account(f, g)?;
            }
            for failure in &self.gpu_failures {
                writeln!(f, "{}: the probe failed: {}", failure.device, failure.error)?;
            }
            return Ok(());
        }
        cpu_line(f, &self.cpu)?;
        for g in &self.gpu {
            adapter_line(f, g)?;
        }
        for failure in &self.gpu_failures {
            write!(
                f,
                "; {}: the probe failed ({})",
                crate::report::short_device_name(&failure.device),
                failure.error
            )?;
        }
        Ok(())
    }
}

/// `gdbench probe`'s lines on the host: bandwidth, arithmetic peaks (when measured), disturbance.
fn cpu_account(f: &mut Formatter<'_>, c: &CpuCeilings) -> std::fmt::Result {
    writeln!(
        f,
        "CPU read bandwidth: {:.1} GB/s on one core, {:.1} GB/s on {} threads ({}; streaming read over {} MiB)",
        c.read_gb_s_one_core,
        c.read_gb_s_all_cores,
        c.threads,
        crate::machine::cpu_model(),
        c.buffer_bytes >> 20
    )?;
    if let Some(l2) = &c.l2 {
        writeln!(
            f,
            "CPU reads from L2: {} GB/s on one core (the faster of buffers of 4 L1d and of half the L2; L1d {} KiB, L2 {} KiB; the CPU rows' limit for data between them)",
            three_digits(l2.read_gb_s),
            l2.l1d_bytes >> 10,
            l2.l2_bytes >> 10
        )?;
    }
    if let (Some(f32_one), Some(f32_all), Some(f64_one), Some(f64_all)) = (
        c.gflops_f32_one_core,
        c.gflops_f32_all_cores,
        c.gflops_f64_one_core,
        c.gflops_f64_all_cores,
    ) {
        writeln!(
            f,
            "CPU arithmetic peak: f32 {} GFLOP/s on one core, {} GFLOP/s on {} threads; f64 {} GFLOP/s on one core, {} GFLOP/s on {} threads ({}; an FMA counts as 2 flops; best of {FLOP_PASSES} passes)",
            three_digits(f32_one),
            three_digits(f32_all),
            c.threads,
            three_digits(f64_one),
            three_digits(f64_all),
            c.threads,
            c.flops_kernel.as_deref().unwrap_or("FMA chains"),
        )?;
    }
    if let Some(ops) = &c.ops {
        writeln!(
            f,
            "CPU operations on one core, {}-bit registers: {} FMAs, {} adds, {} of both together per ns; one add waits {} ns for the one before (the CPU rows' compute limits)",
            ops.bits,
            three_digits(ops.fma_per_ns),
            three_digits(ops.add_per_ns),
            three_digits(ops.fma_add_per_ns),
            three_digits(ops.add_latency_ns),
        )?;
    }
    if let Some(note) = &c.note {
        writeln!(f, "CPU probe disturbed: {note}")?;
    }
    Ok(())
}

/// `gdbench probe`'s lines on one adapter: bandwidth and round trip, arithmetic peak, latency.
fn adapter_account(f: &mut Formatter<'_>, g: &GpuCeilings) -> std::fmt::Result {
    writeln!(
        f,
        "{}: read bandwidth {:.1} GB/s (streaming shader over {} MiB, timed by {}), submission round trip {:.1} µs",
        g.device,
        g.read_gb_s,
        g.buffer_bytes >> 20,
        g.timed_by,
        g.round_trip_us
    )?;
    if let Some(gflops) = g.gflops_f32 {
        writeln!(
            f,
            "{}: f32 arithmetic peak {} GFLOP/s ({} independent FMA chains on vec4<f32> per invocation, an FMA counts as 2 flops; timed by {})",
            g.device,
            three_digits(gflops),
            crate::gpu::stream::FMA_CHAINS,
            g.gflops_f32_timed_by.as_deref().unwrap_or("?"),
        )?;
    }
    if let Some(l) = &g.latency {
        writeln!(
            f,
            "{}: one more dispatch in a dependent chain {:.2} µs, one workgroup barrier {:.0} ns ({} invocations; wall clock, the fastest of 5 each)",
            g.device, l.dispatch_us, l.barrier_ns, l.barrier_wg,
        )?;
    }
    Ok(())
}

/// The header line's part on the host.
fn cpu_line(f: &mut Formatter<'_>, c: &CpuCeilings) -> std::fmt::Result {
    write!(
        f,
        "CPU reads {:.1} / {:.1} GB/s",
        c.read_gb_s_one_core, c.read_gb_s_all_cores
    )?;
    if let (Some(one), Some(all)) = (c.gflops_f32_one_core, c.gflops_f32_all_cores) {
        write!(
            f,
            ", FMA {} / {} f32 GFLOP/s",
            three_digits(one),
            three_digits(all)
        )?;
    }
    write!(f, " (1 / {} threads)", c.threads)?;
    if let Some(note) = &c.note {
        write!(f, " (disturbed: {note})")?;
    }
    Ok(())
}

/// The header line's part on one adapter.
fn adapter_line(f: &mut Formatter<'_>, g: &GpuCeilings) -> std::fmt::Result {
    write!(
        f,
        "; {} reads {:.1} GB/s",
        crate::report::short_device_name(&g.device),
        g.read_gb_s,
    )?;
    if let Some(gflops) = g.gflops_f32 {
        write!(f, ", FMA {} f32 GFLOP/s", three_digits(gflops))?;
    }
    write!(f, ", {:.0} µs a submission", g.round_trip_us)?;
    if let Some(l) = &g.latency {
        write!(
            f,
            ", {:.1} µs a dispatch, {:.1} µs a barrier",
            l.dispatch_us,
            l.barrier_ns * 1e-3
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FlopKernel;

    /// Ceilings as a run measures them (no FLOP/s), with one adapter.
    fn bandwidth_only() -> Ceilings {
        Ceilings {
            cpu: CpuCeilings {
                read_gb_s_one_core: 20.0,
                read_gb_s_all_cores: 30.0,
                threads: 2,
                buffer_bytes: 1 << 30,
                ..CpuCeilings::default()
            },
            gpu: vec![GpuCeilings {
                device: "Some GPU [vulkan]".into(),
                read_gb_s: 1000.0,
                buffer_bytes: 1 << 29,
                timed_by: "timestamps".into(),
                measured_s: 0.05,
                round_trip_us: 20.0,
                ..GpuCeilings::default()
            }],
            gpu_failures: Vec::new(),
        }
    }

    #[test]
    fn unmeasured_flops_are_left_out_and_measured_ones_shown() {
        let mut c = bandwidth_only();
        let json = serde_json::to_value(&c).unwrap();
        for key in [
            "gflops_f32_one_core",
            "gflops_f32_all_cores",
            "gflops_f64_one_core",
            "gflops_f64_all_cores",
            "flops_kernel",
        ] {
            assert!(json["cpu"].get(key).is_none(), "{key}: {json}");
        }
        assert!(json["gpu"][0].get("gflops_f32").is_none(), "{json}");
        assert!(!format!("{c}").contains("FLOP"), "{c}");
        assert!(!format!("{c:#}").contains("FLOP"), "{c:#}");

        c.cpu.gflops_f32_one_core = Some(118.37);
        c.cpu.gflops_f32_all_cores = Some(230.1);
        c.cpu.gflops_f64_one_core = Some(59.2);
        c.cpu.gflops_f64_all_cores = Some(115.0);
        c.cpu.flops_kernel = Some(FlopKernel::Avx512.describe());
        c.gpu[0].gflops_f32 = Some(66_943.0);
        c.gpu[0].gflops_f32_timed_by = Some("timestamps".into());
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["cpu"]["gflops_f32_one_core"], 118.37);
        assert_eq!(json["cpu"]["gflops_f64_all_cores"], 115.0);
        assert_eq!(json["gpu"][0]["gflops_f32"], 66_943.0);
        let full = format!("{c:#}");
        assert!(
            full.contains(
                "CPU arithmetic peak: f32 118 GFLOP/s on one core, 230 GFLOP/s on 2 threads; \
                 f64 59.2 GFLOP/s on one core, 115 GFLOP/s on 2 threads \
                 (avx512 FMA, 12 chains × 512 bits; an FMA counts as 2 flops"
            ),
            "{full}"
        );
        assert!(
            full.contains("Some GPU [vulkan]: f32 arithmetic peak 66900 GFLOP/s"),
            "{full}"
        );
        let line = format!("{c}");
        assert!(
            line.contains("FMA 118 / 230 f32 GFLOP/s (1 / 2 threads)"),
            "{line}"
        );
        assert!(line.contains("FMA 66900 f32 GFLOP/s"), "{line}");
    }
}
