//! The WGSL kernels: sources compiled into the binary (or taken from a folder with `--shaders`),
//! checked with naga, and built into pipelines with the workgroup size and items per invocation
//! set as override constants.

use std::path::{Path, PathBuf};

use serde::Serialize;

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

    /// The solver kernel file of this name (not the probe's).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.file_name() == name)
    }

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

/// The built-in `common.wgsl`.
pub fn builtin_common() -> &'static str {
    COMMON
}

/// The files a `--shaders` folder may hold, for its errors.
pub fn known_files() -> String {
    std::iter::once(COMMON_FILE)
        .chain(ShaderFile::ALL.iter().map(|k| k.file_name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where one kernel file a GPU row compiled came from (JSON `kernels`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KernelSource {
    /// The file's name: `common.wgsl`, `fused.wgsl`, ...
    pub file: String,
    /// `builtin`, or the path of the file read instead.
    pub source: String,
    /// SHA-256 of the file's text, in hex.
    pub hash: String,
    /// True when the text differs from the built-in file of that name (a custom file may be an
    /// unchanged copy).
    #[serde(skip)]
    pub changed: bool,
}

/// One hash over every file a row compiled (JSON `kernel_hash`): SHA-256 over each file's name
/// and the hash of its text, one `name\nhash\n` after another in the order given, in hex.
pub fn kernel_hash(kernels: &[KernelSource]) -> String {
    let joined: String = kernels
        .iter()
        .map(|k| format!("{}\n{}\n", k.file, k.hash))
        .collect();
    sha256_hex(joined.as_bytes())
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ShaderSources {
    /// The built-in kernels.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// Kernels from `dir` where a file of the same name exists there, built-in otherwise. Every
    /// `.wgsl` in `dir` must be a kernel file gdbench runs (`common.wgsl` or one of
    /// [`ShaderFile::ALL`]): a file by another name, or a folder with no `.wgsl` at all, would
    /// time the built-in kernel while the experimenter believes it timed theirs, so either is
    /// refused, naming the known files.
    pub fn with_overrides(dir: &Path) -> Result<Self> {
        Self::from_folder(dir, "--shaders")
    }

    /// [`ShaderSources::with_overrides`], its errors naming `option`.
    pub fn from_folder(dir: &Path, option: &'static str) -> Result<Self> {
        let bad = |problem: String| GdError::InvalidParameter {
            name: option,
            problem,
        };
        if !dir.is_dir() {
            return Err(bad(format!(
                "{} is not a folder; `gdbench shaders dump DIR` makes one to start from",
                dir.display()
            )));
        }
        let entries = std::fs::read_dir(dir)
            .map_err(|e| bad(format!("cannot read {}: {e}", dir.display())))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".wgsl"))
            .collect();
        names.sort();
        if names.is_empty() {
            return Err(bad(format!(
                "{} has no .wgsl file, so every kernel would be the built-in one: put the kernels you edit there ({}); `gdbench shaders dump DIR` writes them all",
                dir.display(),
                known_files()
            )));
        }
        for name in &names {
            if name == ShaderFile::Probe.file_name() {
                return Err(bad(format!(
                    "{}: the bandwidth probe's kernel cannot be replaced (a ceiling must not depend on an experiment); remove it from the folder",
                    dir.join(name).display()
                )));
            }
            if ShaderFile::named(name).is_none() && name != COMMON_FILE {
                return Err(bad(format!(
                    "{} is not a kernel file gdbench runs, so it would never be timed: name it after the file it replaces ({})",
                    dir.join(name).display(),
                    known_files()
                )));
            }
        }
        Ok(Self {
            dir: Some(dir.to_path_buf()),
        })
    }

    /// The custom folder, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Where `common.wgsl` and each of `files` come from, with the hash of each text: a GPU
    /// row's kernels (common first, then each file once, in the order given).
    pub fn kernels(&self, files: &[ShaderFile]) -> Result<Vec<KernelSource>> {
        let mut out: Vec<KernelSource> = Vec::new();
        let names = std::iter::once((COMMON_FILE, COMMON))
            .chain(files.iter().map(|f| (f.file_name(), f.builtin())));
        for (name, builtin) in names {
            if out.iter().any(|k| k.file == name) {
                continue;
            }
            let (text, path) = self.read(name, builtin)?;
            let custom = self.dir.as_ref().is_some_and(|d| d.join(name).is_file());
            out.push(KernelSource {
                file: name.to_string(),
                source: if custom { path } else { "builtin".into() },
                hash: sha256_hex(text.as_bytes()),
                changed: text != builtin,
            });
        }
        Ok(out)
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
/// with every feature would); an error comes back as `path:line:col: message`, naga's whole
/// chain of causes on one line.
pub fn validated(
    a: &Assembled,
) -> std::result::Result<(naga::Module, naga::valid::ModuleInfo), String> {
    validated_with_excerpt(a).map_err(|(line, _)| line)
}

/// [`validated`], with the error's source line quoted and a caret under its span (when naga
/// gives one) beside the one-line message.
pub fn validated_with_excerpt(
    a: &Assembled,
) -> std::result::Result<(naga::Module, naga::valid::ModuleInfo), (String, Option<String>)> {
    let module = naga::front::wgsl::parse_str(&a.source).map_err(|e| {
        // naga's labels say what each span is; the first is the error's own.
        let labels: Vec<&str> = e
            .labels()
            .map(|(_, m)| m)
            .filter(|m| !m.is_empty())
            .collect();
        let mut message = e.message().to_string();
        if !labels.is_empty() {
            message += &format!(" ({})", labels.join("; "));
        }
        let span = e.labels().next().map(|(span, _)| span);
        located(a, span, &one_line(&message))
    })?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    );
    let info = validator.validate(&module).map_err(|e| {
        let mut chain = vec![e.as_inner().to_string()];
        let mut cause = std::error::Error::source(e.as_inner());
        while let Some(c) = cause {
            chain.push(c.to_string());
            cause = c.source();
        }
        // The innermost span is the most precise: where the cause is.
        let span = e
            .spans()
            .map(|(span, _)| *span)
            .filter(|s| s.is_defined())
            .last();
        located(a, span, &one_line(&chain.join(": ")))
    })?;
    Ok((module, info))
}

/// `message` at `span`'s position (a span at offset 0 with no length is naga saying
/// "somewhere": the file alone), with the source line and a caret under the span.
fn located(a: &Assembled, span: Option<naga::Span>, message: &str) -> (String, Option<String>) {
    let Some(span) = span.filter(|s| s.is_defined() && s.to_range() != Some(0..0)) else {
        return (format!("{}: {message}", a.file_path), None);
    };
    let l = span.location(&a.source);
    let line = format!("{}: {message}", position(a, l.line_number, l.line_position));
    let text = a
        .source
        .lines()
        .nth(l.line_number as usize - 1)
        .unwrap_or("");
    let shown = if l.line_number > a.offset {
        l.line_number - a.offset
    } else {
        l.line_number
    };
    let gutter = " ".repeat(shown.to_string().len());
    let col = l.line_position as usize - 1;
    let width = (l.length as usize).clamp(1, text.len().saturating_sub(col).max(1));
    let caret = format!("{}{}", " ".repeat(col), "^".repeat(width));
    let excerpt = format!("{gutter} |\n{shown} | {text}\n{gutter} | {caret}");
    (line, Some(excerpt))
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

/// What wgpu adds to every kernel gdbench compiles: nothing. By default naga puts a counter in
/// each loop (`force_loop_bounding`, against a compiler taking an endless loop for undefined
/// behaviour) and clamps or guards every index (`bounds_checks`). On an H200 (driver
/// 580.159.04) the counter kept NVIDIA's compiler from unrolling and doubled gpu-persistent's
/// epoch at N = 1e4 (1.83 µs against 0.90); without either, a 256-step search at N = 1e7 ran
/// 22.4 TFLOP/s against 13.1. gdbench's kernels guard their own indices and run every loop to
/// a count they read, and every row's answer is validated, which is what catches a kernel that
/// does not (docs/shaders.md).
pub const RUNTIME_CHECKS: wgpu::ShaderRuntimeChecks = wgpu::ShaderRuntimeChecks::unchecked();

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
    let descriptor = wgpu::ShaderModuleDescriptor {
        label: Some(file.file_name()),
        source: wgpu::ShaderSource::Wgsl(assembled.source.as_str().into()),
    };
    // SAFETY: the kernels index within their bindings and arrays and end every loop (see
    // RUNTIME_CHECKS); a custom kernel is its author's, and its answers are validated.
    let module = unsafe { device.create_shader_module_trusted(descriptor, RUNTIME_CHECKS) };
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
