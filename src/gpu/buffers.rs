//! The GPU copies of x and d (f32, split into chunks that fit one storage binding), and the
//! small buffers every strategy shares: weights, partial sums, parameters, read-back.

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use crate::error::{GdError, Result};
use crate::problem::Problem;

/// The `Params` uniform of `shaders/common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    /// Elements this dispatch reads.
    pub n: u32,
    /// Index of this dispatch's first output partial.
    pub base: u32,
    /// Step size.
    pub mu: f32,
    /// 2/N.
    pub scale: f32,
    /// Epochs in one dispatch (persistent kernel).
    pub epochs: u32,
    /// What f32 loses of mu (`mu - f64(mu as f32)`), for f64 kernels.
    pub mu_lo: f32,
    /// What f32 loses of 2/N, for f64 kernels.
    pub scale_lo: f32,
    /// 0, read at run time: df64's guard against compilers that reassociate (see df64.wgsl).
    pub zero: u32,
}

impl Params {
    /// The step parameters of an update: `mu` and 2/N as f32 with what f32 loses of each.
    pub fn step(mu: f64, n: usize) -> Self {
        let scale = 2.0 / n as f64;
        Self {
            mu: mu as f32,
            mu_lo: (mu - f64::from(mu as f32)) as f32,
            scale: scale as f32,
            scale_lo: (scale - f64::from(scale as f32)) as f32,
            ..Self::default()
        }
    }
}

/// The types a kernel stores its data in and computes in: WGSL's `stored` and `real` (see
/// `shaders/common.wgsl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Real {
    /// f32 throughout: every strategy.
    F32,
    /// f64 throughout: gpu-fused-f64, where the adapter has SHADER_F64.
    F64,
    /// x and d stored in f16, arithmetic in f32: gpu-fused-f16, where the adapter has SHADER_F16.
    F16,
    /// Double-float: every value a pair of f32 (hi, lo), x and d too: gpu-fused-df64, anywhere.
    Df64,
}

impl Real {
    /// Bytes of one stored sample value (x or d).
    pub fn data_bytes(self) -> u64 {
        match self {
            Real::F32 => 4,
            Real::F64 | Real::Df64 => 8,
            Real::F16 => 2,
        }
    }

    /// Samples one vec4 load of x (or d) brings: 4, or 2 where a value is a pair (df64).
    pub fn samples_per_vec4(self) -> u64 {
        match self {
            Real::Df64 => 2,
            _ => 4,
        }
    }

    /// One pair (w0, w1), or (Σe, Σe·x), from its bytes on the device.
    pub fn decode_pair(self, bytes: &[u8]) -> [f64; 2] {
        match self {
            Real::F32 | Real::F16 => {
                let w: [f32; 2] = bytemuck::pod_read_unaligned(bytes);
                w.map(f64::from)
            }
            Real::F64 => bytemuck::pod_read_unaligned(bytes),
            Real::Df64 => {
                let w: [[f32; 2]; 2] = bytemuck::pod_read_unaligned(bytes);
                w.map(super::df64::value)
            }
        }
    }

    /// A sample as the device holds it, back in f64 (rounded to f32 or f16, or split into df64).
    pub fn stored(self, v: f64) -> f64 {
        match self {
            Real::F32 => f64::from(v as f32),
            Real::F16 => crate::problem::to_f16(v).to_f64(),
            Real::F64 => v,
            Real::Df64 => super::df64::value(super::df64::split(v)),
        }
    }

    /// Bytes of one value computed with (sums, weights).
    pub fn bytes(self) -> u64 {
        match self {
            Real::F64 | Real::Df64 => 8,
            Real::F32 | Real::F16 => 4,
        }
    }

    /// The WGSL type of the arithmetic (`real`; df64.wgsl spells its pairs of f32 out).
    pub fn wgsl(self) -> &'static str {
        match self {
            Real::F64 => "f64",
            Real::F32 | Real::F16 | Real::Df64 => "f32",
        }
    }

    /// The WGSL type of the stored data (`stored`).
    pub fn stored_wgsl(self) -> &'static str {
        match self {
            Real::F32 | Real::Df64 => "f32",
            Real::F64 => "f64",
            Real::F16 => "f16",
        }
    }
}

/// One chunk of the samples: its buffers and where it starts.
pub struct Chunk {
    /// x, f32.
    pub x: wgpu::Buffer,
    /// d, f32.
    pub d: wgpu::Buffer,
    /// Samples in the chunk.
    pub len: u32,
}

/// x and d on the GPU, chunked so that no binding exceeds the adapter's limit.
pub struct DeviceData {
    /// The chunks, in sample order.
    pub chunks: Vec<Chunk>,
}

/// Largest chunk (in samples) for `tile`-sized workgroups on this adapter: within one storage
/// binding, one buffer, and 65 535 workgroups per dispatch, and a whole number of tiles.
pub fn max_chunk_len(
    ctx: &GpuContext,
    tile: u32,
    binding_override: Option<u64>,
    real: Real,
) -> u64 {
    let limits = &ctx.limits;
    let binding = binding_override.unwrap_or(limits.max_storage_buffer_binding_size);
    let by_binding = binding.min(limits.max_buffer_size) / real.data_bytes();
    let by_dispatch = u64::from(limits.max_compute_workgroups_per_dimension) * u64::from(tile);
    let len = by_binding.min(by_dispatch).min(u64::from(u32::MAX));
    (len / u64::from(tile)).max(1) * u64::from(tile)
}

impl DeviceData {
    /// Uploads x and d as f32 in chunks of at most `chunk_len` samples, through at most one
    /// [`UPLOAD_PIECE`] of staging at a time; an allocation the device refuses is an error naming
    /// the size.
    pub fn upload(ctx: &GpuContext, problem: &Problem, chunk_len: u64, real: Real) -> Result<Self> {
        let mut chunks = Vec::new();
        for (xs, ds) in problem
            .x()
            .chunks(chunk_len as usize)
            .zip(problem.d().chunks(chunk_len as usize))
        {
            chunks.push(Chunk {
                x: upload(ctx, "x", xs, real)?,
                d: upload(ctx, "d", ds, real)?,
                len: xs.len() as u32,
            });
        }
        Ok(Self { chunks })
    }
}

/// Samples per upload piece: the most staging memory wgpu holds at once for an upload is one
/// piece's f32 (16 MiB), whatever N is.
pub const UPLOAD_PIECE: usize = 4 << 20;

/// A storage buffer holding `values` as `real` (rounded to f32 or f16, as they are in f64, or as
/// df64 pairs). It is
/// filled a piece at a time through wgpu's staging memory, each piece submitted and waited for
/// before the next is converted, so the host holds at most one piece beyond x and d (buffers mapped
/// at creation would keep a staging copy of everything until the first submission).
fn upload(ctx: &GpuContext, label: &str, values: &[f64], real: Real) -> Result<wgpu::Buffer> {
    let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let width = real.data_bytes() as usize;
    // Padded to whole vec4s (zeros, never read as samples) for the kernels' vec4 loads.
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (values.len().div_ceil(4) * 4 * width) as u64,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(GdError::Gpu {
            message: format!(
                "cannot allocate {} MiB for {label}: {e}",
                (values.len() * width) >> 20
            ),
        });
    }
    for (p, piece) in values.chunks(UPLOAD_PIECE).enumerate() {
        let offset = (p * UPLOAD_PIECE * width) as u64;
        // Copies move whole 4-byte words: an odd count of f16 gets a zero after it (padding).
        let bytes = piece.len() * width;
        let padded = bytes.next_multiple_of(4);
        let size = wgpu::BufferSize::new(padded as u64).expect("pieces are not empty");
        let mut view = ctx
            .queue
            .write_buffer_with(&buffer, offset, size)
            .ok_or_else(|| GdError::Gpu {
                message: format!("cannot stage {label} for upload"),
            })?;
        // Converted a page at a time: no copy of the piece on the host either.
        encode(piece, real, |at, bytes| {
            view.slice(at..at + bytes.len()).copy_from_slice(bytes)
        })?;
        view.slice(bytes..padded)
            .copy_from_slice(&[0u8; 4][..padded - bytes]);
        drop(view);
        ctx.wait(ctx.queue.submit([]))?;
    }
    Ok(buffer)
}

/// `values` in `real`'s storage format, a page at a time: `put(offset, bytes)` for each page.
/// An error when a value does not fit the format (f16's range, df64's split).
fn encode(values: &[f64], real: Real, mut put: impl FnMut(usize, &[u8])) -> Result<()> {
    let width = real.data_bytes() as usize;
    let mut page = [0f32; 1024];
    let mut half_page = [half::f16::ZERO; 1024];
    for (i, src) in values.chunks(page.len()).enumerate() {
        let at = i * page.len() * width;
        match real {
            Real::F16 => {
                for (p, &v) in half_page.iter_mut().zip(src) {
                    *p = crate::problem::to_f16(v);
                }
                // Checked where it is converted: no second pass over the data.
                if half_page[..src.len()].iter().any(|v| v.is_infinite()) {
                    return Err(crate::problem::outside_f16());
                }
                let bytes: &[u8] = bytemuck::cast_slice(&half_page[..src.len()]);
                put(at, bytes);
            }
            Real::F32 => {
                for (p, &v) in page.iter_mut().zip(src) {
                    *p = v as f32;
                }
                let bytes: &[u8] = bytemuck::cast_slice(&page[..src.len()]);
                put(at, bytes);
            }
            Real::F64 => {
                let bytes: &[u8] = bytemuck::cast_slice(src);
                put(at, bytes);
            }
            Real::Df64 => {
                if src.iter().any(|v| v.abs() > super::df64::MAX_MAGNITUDE) {
                    return Err(super::df64::outside_range());
                }
                let mut pairs = [[0f32; 2]; 1024];
                for (p, &v) in pairs.iter_mut().zip(src) {
                    *p = super::df64::split(v);
                }
                let bytes: &[u8] = bytemuck::cast_slice(&pairs[..src.len()]);
                put(at, bytes);
            }
        }
    }
    Ok(())
}

/// A storage buffer of `count` vec2<f32>.
pub fn pairs(ctx: &GpuContext, label: &str, count: u64) -> wgpu::Buffer {
    pairs_of(ctx, label, count, Real::F32)
}

/// A storage buffer of `count` vec2<real>.
pub fn pairs_of(ctx: &GpuContext, label: &str, count: u64, real: Real) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: count.max(1) * 2 * real.bytes(),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// A storage buffer of the step sizes as `vec2<f32>` (mu, what f32 loses of mu), padded with
/// zeros to `count` (the search kernels' `STEPS`).
pub fn step_sizes(ctx: &GpuContext, steps: &[f64], count: u64) -> wgpu::Buffer {
    let mut pairs = vec![[0f32; 2]; count as usize];
    for (pair, &mu) in pairs.iter_mut().zip(steps) {
        let p = Params::step(mu, 1);
        *pair = [p.mu, p.mu_lo];
    }
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("steps"),
            contents: bytemuck::cast_slice(&pairs),
            usage: wgpu::BufferUsages::STORAGE,
        })
}

/// A storage buffer of `count` f32 (the error vector of the multi-pass design).
pub fn floats(ctx: &GpuContext, label: &str, count: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: count.max(1) * 4,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding `params`.
pub fn uniform(ctx: &GpuContext, params: Params) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// A buffer the host can map to read `bytes` back.
pub fn readback(ctx: &GpuContext, bytes: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
