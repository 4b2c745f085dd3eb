//! The WGSL kernels: sources compiled into the binary, pipelines built with the workgroup size
//! and items per invocation set as override constants.

use crate::error::{GdError, Result};

use super::context::GpuContext;

/// Default invocations per workgroup (the `WG` override constant).
pub const DEFAULT_WORKGROUP_SIZE: u32 = 256;
/// Samples each invocation reads per tile (the `ITEMS` override constant).
pub const ITEMS_PER_INVOCATION: u32 = 8;

/// Prepended to every kernel file: the override constants, `Params`, the workgroup tree.
const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// A kernel file of `shaders/`, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelFile {
    /// `error.wgsl`: e = d − (w0 + w1·x).
    Error,
    /// `reduce.wgsl`: tree reductions to partials.
    Reduce,
    /// `update.wgsl`: w += mu·scale·Σ.
    Update,
    /// `fused.wgsl`: error folded into the reduction; last level fused with the update.
    Fused,
    /// `persistent.wgsl`: one workgroup looping over epochs.
    Persistent,
    /// `subgroup.wgsl`: fused with subgroup reductions.
    Subgroup,
}

impl KernelFile {
    /// The file's name in `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            KernelFile::Error => "error.wgsl",
            KernelFile::Reduce => "reduce.wgsl",
            KernelFile::Update => "update.wgsl",
            KernelFile::Fused => "fused.wgsl",
            KernelFile::Persistent => "persistent.wgsl",
            KernelFile::Subgroup => "subgroup.wgsl",
        }
    }

    fn source(self) -> &'static str {
        match self {
            KernelFile::Error => include_str!("../../shaders/error.wgsl"),
            KernelFile::Reduce => include_str!("../../shaders/reduce.wgsl"),
            KernelFile::Update => include_str!("../../shaders/update.wgsl"),
            KernelFile::Fused => include_str!("../../shaders/fused.wgsl"),
            KernelFile::Persistent => include_str!("../../shaders/persistent.wgsl"),
            KernelFile::Subgroup => include_str!("../../shaders/subgroup.wgsl"),
        }
    }

    /// The complete WGSL compiled for this file: its `enable` lines, the common part, the rest.
    pub fn full_source(self) -> String {
        // `enable` directives must precede every declaration, so they move above the common part.
        let (enables, body): (Vec<&str>, Vec<&str>) = self
            .source()
            .lines()
            .partition(|l| l.trim_start().starts_with("enable "));
        format!("{}\n{COMMON}\n{}", enables.join("\n"), body.join("\n"))
    }
}

/// Compiles `entry` of `file` into a compute pipeline with workgroup size `wg`; a shader or
/// pipeline validation error comes back as an error with wgpu's message, never a panic.
pub fn pipeline(
    ctx: &GpuContext,
    file: KernelFile,
    entry: &str,
    wg: u32,
) -> Result<wgpu::ComputePipeline> {
    let device = &ctx.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(file.file_name()),
        source: wgpu::ShaderSource::Wgsl(file.full_source().into()),
    });
    let constants = [
        ("WG", f64::from(wg)),
        ("ITEMS", f64::from(ITEMS_PER_INVOCATION)),
    ];
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &constants,
            zero_initialize_workgroup_memory: false,
        },
        cache: None,
    });
    match pollster::block_on(scope.pop()) {
        None => Ok(pipeline),
        Some(e) => Err(GdError::Gpu {
            message: format!(
                "{}: {entry}: {}",
                file.file_name(),
                one_line(&e.to_string())
            ),
        }),
    }
}

/// wgpu's multi-line error reports folded into one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
