//! Each adapter's ceilings: the read bandwidth of its own streaming kernel, the round trip of an
//! empty submission, and the latency wall's prices (one dispatch, one barrier).

use std::sync::Arc;

use serde::Serialize;

use crate::error::Result;
use crate::gpu::GpuContext;
use crate::gpu::stream;

/// Measured ceilings of one GPU adapter. The FLOP/s fields are `None` (and absent from JSON)
/// where they were not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct GpuCeilings {
    /// The adapter, as GPU rows name it.
    pub device: String,
    /// Read bandwidth of the streaming kernel, GB/s.
    pub read_gb_s: f64,
    /// Bytes one dispatch of the kernel reads.
    pub buffer_bytes: u64,
    /// `timestamps` or `wall clock`.
    pub timed_by: String,
    /// Seconds of GPU work the measurement spanned.
    pub measured_s: f64,
    /// Median round trip of one empty submission and its wait, µs.
    pub round_trip_us: f64,
    /// f32 arithmetic peak of the FMA kernel, GFLOP/s (an FMA counted as 2 flops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_f32: Option<f64>,
    /// How the FLOP/s figure was timed: `timestamps` or `wall clock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gflops_f32_timed_by: Option<String>,
    /// Each attempt of the FLOP/s probe, GFLOP/s (`gflops_f32` is the best): its spread is the
    /// probe's own, which the clock check allows for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gflops_f32_attempts: Vec<f64>,
    /// The FLOP/s probe again after the GPU rows (`gdbench run`): whether the adapter's clocks
    /// drifted while they ran; absent when not checked (no GPU row ran, no FLOP/s figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_check: Option<super::drift::ClockCheck>,
    /// The cost of one dependent dispatch and of one workgroup barrier (the latency wall); absent
    /// when not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<crate::gpu::latency::Latency>,
}

/// The adapter's read bandwidth (its own streaming kernel) and submission round trip.
pub fn gpu_ceilings(ctx: &Arc<GpuContext>) -> Result<GpuCeilings> {
    let read = stream::read_bandwidth(ctx)?;
    let round_trip_us = stream::round_trip_us(ctx)?;
    Ok(GpuCeilings {
        device: ctx.label(),
        read_gb_s: read.read_gb_s,
        buffer_bytes: read.bytes,
        timed_by: read.timed_by.to_string(),
        measured_s: read.measured_s,
        round_trip_us,
        gflops_f32: None,
        gflops_f32_timed_by: None,
        gflops_f32_attempts: Vec::new(),
        clock_check: None,
        latency: Some(crate::gpu::latency::latency(
            ctx,
            crate::gpu::default_single_workgroup(ctx),
            round_trip_us,
        )?),
    })
}
