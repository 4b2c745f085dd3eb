//! Translating the kernels as each backend's driver would receive them: naga's SPIR-V (Vulkan),
//! MSL (Metal), HLSL (DX12) and GLSL (GL) back ends, with the override constants resolved for
//! the workgroup sizes gdbench uses, so a kernel that only one platform would reject is caught
//! on any machine (`gdbench shaders check --targets`).

use std::fmt;

use super::plan::MAX_HELD;
use super::shaders::{
    Assembled, DEFAULT_WORKGROUP_SIZE, ITEMS_PER_INVOCATION, MAX_SINGLE_WORKGROUP, position,
    validated,
};
use crate::error::{GdError, Result, one_line};

/// A shading language naga can translate WGSL into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// SPIR-V, for Vulkan.
    Spirv,
    /// Metal Shading Language, for Metal.
    Msl,
    /// HLSL (shader model 6.0), for DX12.
    Hlsl,
    /// GLSL (ES 3.1, as wgpu's GL backend), for GL.
    Glsl,
}

impl Target {
    /// Every target, in the order they are reported.
    pub const ALL: [Target; 4] = [Target::Spirv, Target::Msl, Target::Hlsl, Target::Glsl];

    /// The name `--targets` takes.
    pub fn name(self) -> &'static str {
        match self {
            Target::Spirv => "spirv",
            Target::Msl => "msl",
            Target::Hlsl => "hlsl",
            Target::Glsl => "glsl",
        }
    }

    /// Parses a comma-separated list (`all` for every target); empty means none.
    pub fn parse_list(text: &str) -> Result<Vec<Target>> {
        let mut targets = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let found: Vec<Target> = if part.eq_ignore_ascii_case("all") {
                Target::ALL.to_vec()
            } else {
                let t = Target::ALL
                    .into_iter()
                    .find(|t| t.name().eq_ignore_ascii_case(part))
                    .ok_or_else(|| GdError::InvalidParameter {
                        name: "--targets",
                        problem: format!(
                            "unknown target `{part}`: choose from spirv, msl, hlsl, glsl, all"
                        ),
                    })?;
                vec![t]
            };
            for t in found {
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
        Ok(targets)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry point translated for one target with one set of constants.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The entry point.
    pub entry: String,
    /// The override constants it was resolved with, e.g. `WG=256`.
    pub constants: String,
    /// The translated code: SPIR-V words as bytes (little-endian), or the text of the others.
    pub code: Vec<u8>,
}

/// The override constant sets gdbench compiles a kernel with: the streaming and the
/// one-workgroup sizes, and for the persistent kernel streaming and register-held samples.
/// Only the constants the module declares are set.
fn constant_sets(module: &naga::Module) -> Vec<Vec<(String, f64)>> {
    let declared = |name: &str| {
        module
            .overrides
            .iter()
            .any(|(_, o)| o.name.as_deref() == Some(name))
    };
    let mut sets = Vec::new();
    for wg in [DEFAULT_WORKGROUP_SIZE, MAX_SINGLE_WORKGROUP] {
        let helds: &[u32] = if declared("HELD") {
            &[0, MAX_HELD]
        } else {
            &[0]
        };
        for &held in helds {
            let mut set = vec![("WG".to_string(), f64::from(wg))];
            if declared("ITEMS") {
                set.push(("ITEMS".to_string(), f64::from(ITEMS_PER_INVOCATION)));
            }
            if declared("HELD") {
                set.push(("HELD".to_string(), f64::from(held)));
            }
            set.retain(|(name, _)| declared(name));
            sets.push(set);
        }
    }
    sets
}

/// Where entry point `entry` is declared, as `path:line:col` (back ends report no positions).
fn entry_position(a: &Assembled, entry: &str) -> String {
    let needle = format!("fn {entry}(");
    match a.source.find(&needle) {
        Some(at) => {
            let before = &a.source[..at];
            let line = before.matches('\n').count() as u32 + 1;
            let col = (at - before.rfind('\n').map_or(0, |p| p + 1)) as u32 + 1;
            position(a, line, col)
        }
        None => format!("{}:1:1", a.file_path),
    }
}

/// Translates every compute entry point of `a` for `target` with each constant set gdbench
/// uses; a failure is `path:line:col: target: message` (validation failures as naga gives them).
pub fn translate(a: &Assembled, target: Target) -> std::result::Result<Vec<Translation>, String> {
    let (module, info) = validated(a)?;
    let mut out = Vec::new();
    for ep in module
        .entry_points
        .iter()
        .filter(|e| e.stage == naga::ShaderStage::Compute)
    {
        let fail = |message: String| {
            format!(
                "{}: {target}: {}",
                entry_position(a, &ep.name),
                one_line(&message)
            )
        };
        for set in constant_sets(&module) {
            let constants: naga::back::PipelineConstants = set.iter().cloned().collect();
            let (resolved, resolved_info) = naga::back::pipeline_constants::process_overrides(
                &module,
                &info,
                Some((naga::ShaderStage::Compute, &ep.name)),
                &constants,
            )
            .map_err(|e| fail(format!("{e}")))?;
            // naga's back ends panic on some input they cannot express (MSL on f64).
            let code =
                super::guard::catch_panic(|| write(&resolved, &resolved_info, target, &ep.name))
                    .map_err(|panic| format!("naga's {target} back end gave up: {panic}"))
                    .and_then(|written| written)
                    .map_err(fail)?;
            out.push(Translation {
                entry: ep.name.clone(),
                constants: set
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                code,
            });
        }
    }
    Ok(out)
}

/// One back end's output for `entry` of a module whose overrides are resolved.
fn write(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    target: Target,
    entry: &str,
) -> std::result::Result<Vec<u8>, String> {
    let text = |e: &dyn std::fmt::Display| e.to_string();
    match target {
        Target::Spirv => spirv(module, info, entry).map_err(|e| text(&e)),
        Target::Msl => msl(module, info, entry).map_err(|e| text(&e)),
        Target::Hlsl => hlsl(module, info, entry).map_err(|e| text(&e)),
        Target::Glsl => glsl(module, info, entry).map_err(|e| text(&e)),
    }
}

/// `entry` of `module` in SPIR-V 1.3, as wgpu's Vulkan backend asks for.
fn spirv(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> std::result::Result<Vec<u8>, naga::back::spv::Error> {
    let options = naga::back::spv::Options {
        lang_version: (1, 3),
        ..Default::default()
    };
    let pipeline = naga::back::spv::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: entry.to_string(),
    };
    let words = naga::back::spv::write_vec(module, info, &options, Some(&pipeline))?;
    Ok(words.iter().flat_map(|w| w.to_le_bytes()).collect())
}

/// `entry` of `module` in MSL 2.3.
fn msl(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> std::result::Result<Vec<u8>, naga::back::msl::Error> {
    let options = naga::back::msl::Options {
        lang_version: (2, 3),
        ..Default::default()
    };
    let pipeline = naga::back::msl::PipelineOptions {
        entry_point: Some((naga::ShaderStage::Compute, entry.to_string())),
        ..Default::default()
    };
    let (text, _) = naga::back::msl::write_string(module, info, &options, &pipeline)?;
    Ok(text.into_bytes())
}

/// `entry` of `module` in HLSL shader model 6.0.
fn hlsl(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> std::result::Result<Vec<u8>, naga::back::hlsl::Error> {
    // As wgpu-hal's DX12 backend: num_workgroups comes from a root constant buffer.
    let options = naga::back::hlsl::Options {
        shader_model: naga::back::hlsl::ShaderModel::V6_0,
        special_constants_binding: Some(naga::back::hlsl::BindTarget {
            space: 0,
            register: 15,
            binding_array_size: None,
            dynamic_storage_buffer_offsets_index: None,
            restrict_indexing: false,
        }),
        ..Default::default()
    };
    let pipeline = naga::back::hlsl::PipelineOptions {
        entry_point: Some((naga::ShaderStage::Compute, entry.to_string())),
    };
    let mut text = String::new();
    naga::back::hlsl::Writer::new(&mut text, &options, &pipeline).write(module, info, None)?;
    Ok(text.into_bytes())
}

/// `entry` of `module` in GLSL ES 3.10, as wgpu's GL backend.
fn glsl(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> std::result::Result<Vec<u8>, naga::back::glsl::Error> {
    let options = naga::back::glsl::Options {
        version: naga::back::glsl::Version::new_gles(310),
        ..Default::default()
    };
    let pipeline = naga::back::glsl::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: entry.to_string(),
        multiview: None,
    };
    let mut text = String::new();
    naga::back::glsl::Writer::new(
        &mut text,
        module,
        info,
        &options,
        &pipeline,
        naga::proc::BoundsCheckPolicies::default(),
    )
    .and_then(|mut w| w.write())?;
    Ok(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_lists_parse_and_unknown_ones_are_refused() {
        assert_eq!(
            Target::parse_list("spirv, MSL").unwrap(),
            [Target::Spirv, Target::Msl]
        );
        assert_eq!(Target::parse_list("all,glsl").unwrap(), Target::ALL);
        assert!(Target::parse_list("").unwrap().is_empty());
        let err = Target::parse_list("spirv,cuda").unwrap_err().to_string();
        assert!(
            err.contains("`cuda`") && err.contains("spirv, msl, hlsl, glsl"),
            "{err}"
        );
    }
}
