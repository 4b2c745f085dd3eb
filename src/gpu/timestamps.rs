//! GPU kernel time from timestamp queries: each compute pass writes a timestamp at its start and
//! end; the pairs are resolved and summed. Readings that are zero, run backwards (wrapped) or add
//! up to more than the wall time are discarded, with a note, not reported.

use super::context::GpuContext;
use crate::error::Result;

/// Passes timed before the queries are resolved and read back.
const PASSES: u32 = 256;

/// A set of timestamp queries for up to [`PASSES`] passes, and what they have summed so far.
pub struct PassTimer {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period_ns: f64,
    /// Passes recorded since the last read.
    used: u32,
    /// Nanoseconds summed since `reset`.
    total_ns: f64,
    /// Passes whose reading was discarded since `reset`.
    discarded: u32,
}

impl PassTimer {
    /// A timer on `ctx`, or `None` when the adapter has no TIMESTAMP_QUERY.
    pub fn new(ctx: &GpuContext) -> Option<Self> {
        if !ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let count = 2 * PASSES;
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pass timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let size = u64::from(count) * 8;
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = super::buffers::readback(ctx, size);
        Some(Self {
            queries,
            resolved,
            readback,
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
            used: 0,
            total_ns: 0.0,
            discarded: 0,
        })
    }

    /// Starts a new solve's sum.
    pub fn reset(&mut self) {
        self.used = 0;
        self.total_ns = 0.0;
        self.discarded = 0;
    }

    /// True when every query pair is taken and [`PassTimer::read`] must run before the next pass.
    pub fn full(&self) -> bool {
        self.used == PASSES
    }

    /// The timestamp writes for the next pass.
    pub fn next_pass(&mut self) -> wgpu::ComputePassTimestampWrites<'_> {
        let i = self.used;
        self.used += 1;
        wgpu::ComputePassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(2 * i),
            end_of_pass_write_index: Some(2 * i + 1),
        }
    }

    /// Resolves and reads the pairs recorded since the last read (waiting for the GPU), adding
    /// each valid pass to the sum.
    pub fn read(&mut self, ctx: &GpuContext) -> Result<()> {
        if self.used == 0 {
            return Ok(());
        }
        let count = 2 * self.used;
        let bytes = u64::from(count) * 8;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.resolve_query_set(&self.queries, 0..count, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readback, 0, bytes);
        let data = ctx.read_back(encoder, &self.readback, bytes, "timestamps")?;
        let ticks: Vec<u64> = data
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        for pair in ticks.chunks_exact(2) {
            match (pair[0], pair[1]) {
                (start, end) if start > 0 && end > start => {
                    self.total_ns += (end - start) as f64 * self.period_ns;
                }
                _ => self.discarded += 1,
            }
        }
        self.used = 0;
        Ok(())
    }

    /// The summed kernel time in seconds if every reading was valid and within `wall_s`, else a
    /// note saying why it is not reported.
    pub fn result(&self, wall_s: f64) -> std::result::Result<f64, String> {
        kernel_time(self.total_ns, self.discarded, wall_s)
    }
}

/// Kernel seconds from `total_ns` summed over valid passes, unless `discarded` passes had zero or
/// wrapped readings, the sum is zero, or it exceeds `wall_s`: then the note to print instead.
fn kernel_time(total_ns: f64, discarded: u32, wall_s: f64) -> std::result::Result<f64, String> {
    let seconds = total_ns * 1e-9;
    if discarded > 0 {
        Err(format!(
            "{discarded} timestamp reading(s) were zero or wrapped: kernel time not reported"
        ))
    } else if seconds <= 0.0 {
        Err("timestamps read zero: kernel time not reported".into())
    } else if seconds > wall_s {
        Err(format!(
            "timestamps sum to {:.3} ms, more than the {:.3} ms wall time: kernel time not reported",
            seconds * 1e3,
            wall_s * 1e3
        ))
    } else {
        Ok(seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::kernel_time;

    #[test]
    fn only_plausible_readings_are_reported() {
        assert_eq!(kernel_time(2e6, 0, 0.01), Ok(0.002));
        assert!(
            kernel_time(2e6, 1, 0.01)
                .unwrap_err()
                .contains("1 timestamp reading(s)")
        );
        assert!(kernel_time(0.0, 0, 0.01).unwrap_err().contains("read zero"));
        assert!(
            kernel_time(2e7, 0, 0.01)
                .unwrap_err()
                .contains("more than the 10.000 ms wall time")
        );
    }
}
