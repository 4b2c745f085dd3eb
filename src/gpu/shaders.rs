//! The WGSL kernels: sources compiled into the binary (or taken from a folder with `--shaders`),
//! checked with naga, and built into pipelines with the workgroup size and items per invocation
//! set as override constants.

use std::path::{Path, PathBuf};

use crate::error::{GdError, Result, one_line};

use super::buffers::Real;
use super::context::GpuContext;

/// Default invocations per workgroup (the `WG` override constant) of the streaming kernels.
pub const DEFAULT_WORKGROUP_SIZE: u32 = 256;
/// Most invocations of the one-workgroup kernels (gpu-persistent, the fused finish), where the
/// adapter allows them: every current GPU does.
pub const MAX_SINGLE_WORKGROUP: u32 = 1024;
/// Samples each invocation reads per tile (the `ITEMS` override constant).
pub const ITEMS_PER_INVOCATION: u32 = 8;

/// File name of the part prepended to every kernel file.
pub const COMMON_FILE: &str = "common.wgsl";
/// The built-in common part: override constants, `Params`, the workgroup tree.
pub(super) const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// A kernel file of `shaders/`, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaderFile {
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
    /// `df64.wgsl`: fused in double-float arithmetic, and its self-check.
    Df64,
    /// `search.wgsl`: many step sizes over the same data (gpu-fused's and gpu-persistent's search).
    Search,
    /// `probe.wgsl`: a read-only streaming kernel for the adapter's bandwidth ceiling.
    Probe,
}

impl ShaderFile {
    /// Every solver kernel file: what `shaders dump` writes and `--shaders` may replace. The
    /// probe's kernel is not among them: a ceiling must not depend on an experiment.
    pub const ALL: [ShaderFile; 8] = [
        ShaderFile::Error,
        ShaderFile::Reduce,
        ShaderFile::Update,
        ShaderFile::Fused,
        ShaderFile::Persistent,
        ShaderFile::Subgroup,
        ShaderFile::Df64,
        ShaderFile::Search,
    ];

    /// The file's name in `shaders/`.
    pub fn file_name(self) -> &'static str {
        match self {
            ShaderFile::Error => "error.wgsl",
            ShaderFile::Reduce => "reduce.wgsl",
            ShaderFile::Update => "update.wgsl",
            ShaderFile::Fused => "fused.wgsl",
            ShaderFile::Persistent => "persistent.wgsl",
            ShaderFile::Subgroup => "subgroup.wgsl",
            ShaderFile::Df64 => "df64.wgsl",
            ShaderFile::Search => "search.wgsl",
            ShaderFile::Probe => "probe.wgsl",
        }
    }

    /// The built-in text of the file.
    pub fn builtin(self) -> &'static str {
        match self {
            ShaderFile::Error => include_str!("../../shaders/error.wgsl"),
            ShaderFile::Reduce => include_str!("../../shaders/reduce.wgsl"),
            ShaderFile::Update => include_str!("../../shaders/update.wgsl"),
            ShaderFile::Fused => include_str!("../../shaders/fused.wgsl"),
            ShaderFile::Persistent => include_str!("../../shaders/persistent.wgsl"),
            ShaderFile::Subgroup => include_str!("../../shaders/subgroup.wgsl"),
            ShaderFile::Df64 => include_str!("../../shaders/df64.wgsl"),
            ShaderFile::Search => include_str!("../../shaders/search.wgsl"),
            ShaderFile::Probe => include_str!("../../shaders/probe.wgsl"),
        }
    }
}

/// Where each kernel's text comes from: built in, or a file of the `--shaders` folder that has
/// the same name (`common.wgsl` included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShaderSources {
    dir: Option<PathBuf>,
}

/// A kernel's complete WGSL and where its parts came from, for error positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    /// The common part then the file: what is compiled.
    pub source: String,
    /// Where the common part came from.
    pub common_path: String,
    /// Where the file came from.
    pub file_path: String,
    /// Lines the common part and its separator take before the file starts.
    pub offset: u32,
}

impl ShaderSources {
    /// The built-in kernels.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Kernels from `dir` where a file of the same name exists there, built-in otherwise.
    pub fn with_overrides(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(GdError::InvalidParameter {
                name: "--shaders",
                problem: format!(
                    "{} is not a folder; `gdbench shaders dump DIR` makes one to start from",
                    dir.display()
                ),
            });
        }
        Ok(Self {
            dir: Some(dir.to_path_buf()),
        })
    }

    /// The custom files in use, by name.
    pub fn overridden(&self) -> Vec<String> {
        let Some(dir) = &self.dir else {
            return Vec::new();
        };
        std::iter::once(COMMON_FILE)
            .chain(ShaderFile::ALL.iter().map(|k| k.file_name()))
            .filter(|f| dir.join(f).is_file())
            .map(str::to_string)
            .collect()
    }

    /// True when `file` (or `common.wgsl`, which every kernel includes) comes from the `--shaders`
    /// folder and differs from the built-in text (`shaders dump` copies every file unchanged).
    pub fn customizes(&self, file: ShaderFile) -> bool {
        let Some(dir) = &self.dir else {
            return false;
        };
        [(COMMON_FILE, COMMON), (file.file_name(), file.builtin())]
            .iter()
            .any(|(name, builtin)| {
                std::fs::read_to_string(dir.join(name)).is_ok_and(|text| text != *builtin)
            })
    }

    fn read(&self, name: &str, builtin: &'static str) -> Result<(String, String)> {
        if let Some(dir) = &self.dir {
            let path = dir.join(name);
            if path.is_file() {
                let text =
                    std::fs::read_to_string(&path).map_err(|e| GdError::InvalidParameter {
                        name: "--shaders",
                        problem: format!("cannot read {}: {e}", path.display()),
                    })?;
                return Ok((text, path.display().to_string()));
            }
        }
        Ok((builtin.to_string(), format!("shaders/{name} (built in)")))
    }

    /// The common part followed by `file`, as compiled.
    pub fn assemble(&self, file: ShaderFile) -> Result<Assembled> {
        let (common, common_path) = self.read(COMMON_FILE, COMMON)?;
        let (body, file_path) = self.read(file.file_name(), file.builtin())?;
        Ok(assemble(common, common_path, &body, file_path))
    }
}

pub(super) fn assemble(
    common: String,
    common_path: String,
    body: &str,
    file_path: String,
) -> Assembled {
    let mut source = common;
    if !source.ends_with('\n') {
        source.push('\n');
    }
    let offset = source.lines().count() as u32;
    source.push_str(body);
    Assembled {
        source,
        common_path,
        file_path,
        offset,
    }
}

/// Parses and validates `body` (with the common part before it) with naga, as the GPU solvers
/// would; an error comes back as `path:line:col: message`.
pub fn check_wgsl(
    common: &str,
    common_path: &str,
    body: &str,
    file_path: &str,
) -> std::result::Result<(), String> {
    check_assembled(&assemble(
        common.to_string(),
        common_path.to_string(),
        body,
        file_path.to_string(),
    ))
}

/// [`check_wgsl`] for an already assembled kernel.
pub fn check_assembled(a: &Assembled) -> std::result::Result<(), String> {
    validated(a).map(|_| ())
}

/// The position `line:col` of the assembled source as a `path:line:col` in the file it came from.
pub fn position(a: &Assembled, line: u32, col: u32) -> String {
    if line > a.offset {
        format!("{}:{}:{col}", a.file_path, line - a.offset)
    } else {
        format!("{}:{line}:{col}", a.common_path)
    }
}

/// Parses and validates an assembled kernel with naga (every capability allowed, as a device
/// with every feature would); an error comes back as `path:line:col: message`.
pub fn validated(
    a: &Assembled,
) -> std::result::Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let module =
        // A label at offset 0 with no length is naga saying "somewhere": name the file alone.
        naga::front::wgsl::parse_str(&a.source).map_err(|e| {
            match e.location(&a.source).filter(|l| l.offset != 0 || l.length != 0) {
                Some(l) => format!("{}: {}", position(a, l.line_number, l.line_position), e.message()),
                None => format!("{}: {}", a.file_path, e.message()),
            }
        })?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    );
    let info = validator.validate(&module).map_err(|e| {
        let message = one_line(&format!("{}", e.as_inner()));
        match e.spans().next() {
            Some((span, _)) if span.is_defined() => {
                let l = span.location(&a.source);
                format!("{}: {message}", position(a, l.line_number, l.line_position))
            }
            _ => format!("{}: {message}", a.file_path),
        }
    })?;
    Ok((module, info))
}

/// Compiles `entry` of `file` into a compute pipeline with workgroup size `wg`; a shader or
/// pipeline validation error comes back as an error naming the file, never a panic.
pub fn pipeline(
    ctx: &GpuContext,
    sources: &ShaderSources,
    file: ShaderFile,
    entry: &str,
    wg: u32,
) -> Result<wgpu::ComputePipeline> {
    pipeline_with(ctx, sources, file, entry, wg, &[], Real::F32)
}

/// The line of `common.wgsl` that names the ladder's arithmetic type.
pub const REAL_ALIAS: &str = "alias real = f32;";
/// The line of `common.wgsl` that names the type x and d are stored in.
pub const STORED_ALIAS: &str = "alias stored = f32;";

/// [`pipeline`] with more override constants than `WG` and `ITEMS` (those the file declares), and
/// WGSL's `real` read as `real` (the [`REAL_ALIAS`] line rewritten).
pub fn pipeline_with(
    ctx: &GpuContext,
    sources: &ShaderSources,
    file: ShaderFile,
    entry: &str,
    wg: u32,
    extra: &[(&str, f64)],
    real: Real,
) -> Result<wgpu::ComputePipeline> {
    let mut assembled = sources.assemble(file)?;
    if sources.dir.is_some() {
        // A user's kernel: naga's own check names the file, line and column.
        check_assembled(&assembled).map_err(|message| GdError::Gpu { message })?;
    }
    retype(&mut assembled, file, real)?;
    let device = &ctx.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(file.file_name()),
        source: wgpu::ShaderSource::Wgsl(assembled.source.as_str().into()),
    });
    let mut constants = vec![
        ("WG", f64::from(wg)),
        ("ITEMS", f64::from(ITEMS_PER_INVOCATION)),
    ];
    // A custom kernel from before an override existed simply does without it.
    constants.extend(
        extra
            .iter()
            .filter(|(name, _)| assembled.source.contains(&format!("override {name}"))),
    );
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
                "{} ({entry}): {}",
                assembled.file_path,
                one_line(&e.to_string())
            ),
        }),
    }
}

/// Rewrites `common.wgsl`'s `real` and `stored` aliases for f64 or f16 data (f16 with its
/// `enable` directive); an error when a custom common.wgsl lost the lines.
fn retype(assembled: &mut Assembled, file: ShaderFile, real: Real) -> Result<()> {
    // df64.wgsl spells its pairs of f32 out: no alias to rewrite.
    if !matches!(real, Real::F64 | Real::F16) {
        return Ok(());
    }
    for line in [REAL_ALIAS, STORED_ALIAS] {
        if !assembled.source.contains(line) {
            return Err(GdError::Gpu {
                message: format!(
                    "{}: no `{line}` line to compile {} with {} data: keep it as the built-in common.wgsl has it",
                    assembled.common_path,
                    file.file_name(),
                    real.stored_wgsl()
                ),
            });
        }
    }
    let source = assembled
        .source
        .replacen(REAL_ALIAS, &format!("alias real = {};", real.wgsl()), 1)
        .replacen(
            STORED_ALIAS,
            &format!("alias stored = {};", real.stored_wgsl()),
            1,
        );
    // WGSL wants its enable directives before anything else.
    assembled.source = match real {
        Real::F16 => format!("enable f16;\n{source}"),
        _ => source,
    };
    Ok(())
}

/// Writes the built-in shaders (and `common.wgsl`) into `dir`, creating it; returns the paths.
pub fn dump(dir: &Path) -> Result<Vec<PathBuf>> {
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GdError::Output { path, source }
    };
    std::fs::create_dir_all(dir).map_err(fail(dir))?;
    let mut written = Vec::new();
    let files = std::iter::once((COMMON_FILE, COMMON))
        .chain(ShaderFile::ALL.iter().map(|k| (k.file_name(), k.builtin())));
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(fail(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_kernel_passes_naga() {
        for k in ShaderFile::ALL.into_iter().chain([ShaderFile::Probe]) {
            check_wgsl(COMMON, COMMON_FILE, k.builtin(), k.file_name())
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn errors_point_into_the_users_file() {
        let body = "fn f() -> f32 {\n    return 1.0;\n}\nfn g() {\n    let x: u32 = oops;\n}\n";
        let err = check_wgsl(COMMON, COMMON_FILE, body, "mine.wgsl").unwrap_err();
        assert!(err.starts_with("mine.wgsl:5:"), "{err}");
        assert!(err.contains("oops"), "{err}");
        let err = check_wgsl(
            COMMON,
            COMMON_FILE,
            "fn h() -> u32 { return 1.0; }\n",
            "h.wgsl",
        )
        .unwrap_err();
        assert!(err.starts_with("h.wgsl"), "{err}");
        assert!(err.contains("u32"), "{err}");
    }
}
