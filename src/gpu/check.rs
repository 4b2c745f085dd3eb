//! `gdbench shaders check`: each kernel file validated by naga as the solvers would compile it,
//! then translated for each backend's shading language.

use std::path::{Path, PathBuf};

use super::contract::{self, Checked};
use super::shaders::{
    Assembled, COMMON, COMMON_FILE, ShaderFile, assemble, validated_with_excerpt,
};
use super::translate::{Target, translate};
use crate::error::{GdError, Result};

/// What `shaders check` found in one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileVerdict {
    /// The file.
    pub path: PathBuf,
    /// The targets every entry point translated for (none when validation failed).
    pub passed: Vec<Target>,
    /// One entry per failure: `path:line:col: message`, or `path:line:col: target: message`
    /// (naga's errors followed by more lines: the source line and a caret under the span).
    pub failures: Vec<String>,
    /// What was not checked, when something was not: a file checked alone under a name gdbench
    /// does not run has no host contract to keep.
    pub note: Option<String>,
}

/// Checks `path` (one .wgsl, or every .wgsl in a folder but `common.wgsl`) as the solvers would
/// compile it: the folder's `common.wgsl` (or the built-in one) before each file, validated by
/// naga, then translated for each of `targets`. An unreadable path or an empty folder is an error.
pub fn check_path(path: &Path, targets: &[Target]) -> Result<Vec<FileVerdict>> {
    let bad = |problem: String| GdError::InvalidParameter {
        name: "shaders check",
        problem,
    };
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| bad(format!("cannot read {}: {e}", p.display())))
    };
    let (dir, files) = files_to_check(path)?;
    if files.is_empty() {
        return Err(bad(format!("no .wgsl files in {}", path.display())));
    }
    let common_path = dir.join(COMMON_FILE);
    let (common, common_name) = if common_path.is_file() && common_path != path {
        (read(&common_path)?, common_path.display().to_string())
    } else {
        (COMMON.to_string(), format!("{COMMON_FILE} (built in)"))
    };
    files
        .into_iter()
        .map(|file| {
            let text = read(&file)?;
            let a = assemble(
                common.clone(),
                common_name.clone(),
                &text,
                file.display().to_string(),
            );
            let mut verdict = FileVerdict {
                path: file,
                passed: Vec::new(),
                failures: Vec::new(),
                note: None,
            };
            let (module, info) = match validated_with_excerpt(&a) {
                Ok(checked) => checked,
                Err((line, excerpt)) => {
                    verdict.failures.push(match excerpt {
                        Some(excerpt) => format!("{line}\n{excerpt}"),
                        None => line,
                    });
                    return Ok(verdict);
                }
            };
            hold_to_contract(&mut verdict, &a, &module, &info, path.is_dir());
            for &target in targets {
                match translate(&a, target) {
                    Ok(_) => verdict.passed.push(target),
                    Err(e) => verdict.failures.push(e),
                }
            }
            Ok(verdict)
        })
        .collect()
}

/// The folder of `path` (a .wgsl file, or a folder) and the kernel files in it to check: the
/// file, or every .wgsl of the folder but `common.wgsl`, in name order.
fn files_to_check(path: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    let bad = |problem: String| GdError::InvalidParameter {
        name: "shaders check",
        problem,
    };
    if path.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wgsl"))
            .filter(|p| p.file_name().is_some_and(|n| n != COMMON_FILE))
            .collect();
        files.sort();
        Ok((path.to_path_buf(), files))
    } else if path.is_file() {
        Ok((
            path.parent().map(Path::to_path_buf).unwrap_or_default(),
            vec![path.to_path_buf()],
        ))
    } else {
        Err(bad(format!(
            "{} is neither a .wgsl file nor a folder",
            path.display()
        )))
    }
}

/// The file name of `path`, as text.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Holds the file `a` came from to the host's contract for its name ([`contract::broken`]); a
/// file by another name fails in a folder (what `--shaders` would refuse), and alone is noted
/// as checked by naga only.
fn hold_to_contract(
    verdict: &mut FileVerdict,
    a: &Assembled,
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    in_folder: bool,
) {
    match ShaderFile::named(&file_name(&verdict.path)) {
        Some(kernel) => verdict
            .failures
            .extend(contract::broken(kernel, &Checked::new(a, module, info))),
        None if in_folder => verdict.failures.push(format!(
            "{}: not a kernel file gdbench runs, so --shaders refuses it: name it after the file it replaces ({})",
            a.file_path,
            crate::gpu::shaders::known_files()
        )),
        None => {
            verdict.note = Some(
                "not a kernel file gdbench runs: checked by naga alone, with no host contract"
                    .into(),
            )
        }
    }
}
