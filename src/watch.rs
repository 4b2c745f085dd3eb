//! `gdbench shaders watch DIR`: on every save of a kernel in DIR (debounced), the edited kernels
//! are checked (naga and the host's contract), validated at the edge sizes and against the f64
//! reference, and timed side by side with the built-in kernels and with the previous save's, for
//! the solvers that compile a changed file; each save prints one compact screen.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::error::{GdError, Result};
use crate::gpu::check::check_path;
use crate::gpu::shaders::{COMMON_FILE, ShaderFile, ShaderSources};
use crate::interrupt;
use crate::problem::Problem;
use crate::progress::Progress;
use crate::report::{RunReport, format};
use crate::solver::{Group, Selected};
use crate::suite::side_by_side::versus;
use crate::suite::{SuiteOptions, Variant, run_suite};
use crate::validate::Status;

/// Quiet time after the last file event before a save is handled: editors write a file in
/// several steps (truncate, write, rename).
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The line that ends every screen, so a reader (or a test) knows it is whole.
pub const SCREEN_END: &str = "── waiting for the next save (Ctrl-C ends) ──";

/// The `.wgsl` files of a folder, by name, with their text.
type Snapshot = BTreeMap<String, String>;

/// A save of the folder that passed the check: its number, and a copy of its files to run.
struct Save {
    number: usize,
    copy: tempfile::TempDir,
}

/// Watches `dir` until Ctrl-C: on every save, a screen on `out`. `options` holds the adapters
/// (opened), the GPU solvers to consider and the timing budget; `problem` is what each save
/// runs. The first screen comes from the folder as it is.
pub fn watch(
    dir: &Path,
    problem: &Problem,
    options: &SuiteOptions,
    out: &mut dyn Write,
) -> Result<()> {
    let (_watcher, events) = watcher(dir)?;
    let mut previous: Option<Save> = None;
    // The first screen shows the files that differ from the built-in ones.
    let mut seen = Snapshot::new();
    let mut number = 0;
    writeln!(out, "watching {} (Ctrl-C ends)", dir.display()).map_err(io)?;
    loop {
        let files = snapshot(dir)?;
        if files != seen || number == 0 {
            number += 1;
            let changed = changed_files(&seen, &files);
            seen = files.clone();
            let saved = screen(
                dir,
                problem,
                options,
                (number, files, &changed),
                previous.as_ref(),
                out,
            );
            match saved {
                Ok(Some(save)) => previous = Some(save),
                Ok(None) => {}
                // A save the watch cannot run (a folder caught mid-change, say) ends its
                // screen, not the watch.
                Err(e) => writeln!(out, "this save could not be run: {e}").map_err(io)?,
            }
            writeln!(out, "{SCREEN_END}").map_err(io)?;
            out.flush().map_err(io)?;
        }
        if !wait_for_change(&events) {
            return Ok(());
        }
    }
}

/// A file watcher on `dir` (kept alive as long as it is held) and its events.
type Watching = (
    notify::RecommendedWatcher,
    Receiver<notify::Result<notify::Event>>,
);

/// A file watcher on `dir` and its events.
fn watcher(dir: &Path) -> Result<Watching> {
    use notify::Watcher;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut w = notify::recommended_watcher(tx).map_err(|e| watch_error(dir, e))?;
    w.watch(dir, notify::RecursiveMode::NonRecursive)
        .map_err(|e| watch_error(dir, e))?;
    Ok((w, rx))
}

/// Waits for a file event followed by [`DEBOUNCE`] of quiet; false on Ctrl-C.
fn wait_for_change(events: &Receiver<notify::Result<notify::Event>>) -> bool {
    loop {
        if interrupt::requested() {
            return false;
        }
        match events.recv_timeout(Duration::from_millis(100)) {
            Ok(_) => break,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
    while events.recv_timeout(DEBOUNCE).is_ok() {}
    !interrupt::requested()
}

/// The `.wgsl` files of `dir` and their text.
fn snapshot(dir: &Path) -> Result<Snapshot> {
    let entries = std::fs::read_dir(dir).map_err(|e| GdError::InvalidParameter {
        name: "shaders watch",
        problem: format!("cannot read {}: {e}", dir.display()),
    })?;
    let mut files = Snapshot::new();
    for path in entries.filter_map(|e| e.ok()).map(|e| e.path()) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".wgsl") {
            // A file caught mid-write reads again at the next event.
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.insert(name, text);
            }
        }
    }
    Ok(files)
}

/// The kernel files whose compiled text differs between two states of the folder: a file the
/// folder does not hold compiles as the built-in one.
fn changed_files(before: &Snapshot, now: &Snapshot) -> Vec<String> {
    let builtin = |name: &str| match ShaderFile::named(name) {
        Some(f) => Some(f.builtin()),
        None if name == COMMON_FILE => Some(crate::gpu::shaders::builtin_common()),
        None => None,
    };
    let text = |snapshot: &Snapshot, name: &str| {
        snapshot
            .get(name)
            .map(String::as_str)
            .or_else(|| builtin(name))
            .map(str::to_string)
    };
    let mut names: Vec<String> = before.keys().chain(now.keys()).cloned().collect();
    names.sort();
    names.dedup();
    names.retain(|n| text(before, n) != text(now, n));
    names
}

/// One save's screen: the check, then (when it passes) each affected solver's row beside the
/// built-in kernels and the previous save. The save, when it passed.
fn screen(
    dir: &Path,
    problem: &Problem,
    options: &SuiteOptions,
    (number, files, changed): (usize, Snapshot, &[String]),
    previous: Option<&Save>,
    out: &mut dyn Write,
) -> Result<Option<Save>> {
    let w = |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(io);
    let what = match changed {
        [] => "the folder as it is".to_string(),
        names => names.join(", "),
    };
    w(out, format!("── save {number}: {what} ──"))?;
    // The check and the rows run the same copy of the files, whatever the editor does next.
    let copy = tempfile::tempdir().map_err(io)?;
    for (name, text) in &files {
        std::fs::write(copy.path().join(name), text).map_err(io)?;
    }
    let failures: Vec<String> = if files.keys().any(|n| n != COMMON_FILE) {
        check_path(copy.path(), &[])?
            .into_iter()
            .flat_map(|v| v.failures)
            .collect()
    } else {
        Vec::new()
    };
    if !failures.is_empty() {
        w(out, format!("check: {} failure(s)", failures.len()))?;
        for f in failures {
            // Positions name the watched folder's files, not the copy's.
            let copy_dir = copy.path().display().to_string();
            w(out, f.replace(&copy_dir, &dir.display().to_string()))?;
        }
        return Ok(None);
    }
    w(out, format!("check: ok ({} files)", files.len()))?;
    let save = Save { number, copy };
    if changed.is_empty() {
        w(
            out,
            "no kernel differs from the built-in ones: edit one and save".into(),
        )?;
        return Ok(Some(save));
    }
    let solvers = affected(options, changed);
    if solvers.is_empty() {
        w(
            out,
            "no selected GPU solver compiles the changed files".into(),
        )?;
        return Ok(Some(save));
    }
    let name = format!("save{number}");
    let shaders = ShaderSources::from_folder(save.copy.path(), "shaders watch")?;
    let run_options = SuiteOptions {
        solvers,
        variants: vec![Variant {
            name: name.clone(),
            shaders: shaders.clone(),
        }],
        ..options.clone()
    };
    let report = run_suite(problem, &run_options, &Progress::new(true))?;
    for row in report.runs.iter().filter(|r| r.variant.is_some()) {
        w(out, row_line(row))?;
        for note in row.notes.iter().filter(|n| {
            n.kind == crate::report::NoteKind::Variant || n.kind == crate::report::NoteKind::Verdict
        }) {
            w(out, format!("  {}", note.text))?;
        }
        if let Some(prev) = previous.filter(|_| row.status == Status::Ok) {
            let line = against_previous(problem, options, row, &shaders, prev);
            w(out, format!("  {line}"))?;
        }
    }
    Ok(Some(save))
}

/// A variant row in one line: its name, verdict, time and edge sizes.
fn row_line(row: &RunReport) -> String {
    let time = row.epoch_us.map_or("–".to_string(), format::epoch_us);
    let edges = match row.edge_sizes.iter().filter(|e| e.failed()).count() {
        _ if row.edge_sizes.is_empty() => String::new(),
        0 => format!(", edge sizes ok ({})", row.edge_sizes.len()),
        k => format!(", {k} edge size(s) wrong"),
    };
    format!(
        "{} on {}: {}, {time} µs/epoch{edges}",
        row.solver,
        format::short_device_name(&row.device),
        row.status
    )
}

/// The row's solver with this save's kernels against the previous save's, in words.
fn against_previous(
    problem: &Problem,
    options: &SuiteOptions,
    row: &RunReport,
    now: &ShaderSources,
    prev: &Save,
) -> String {
    let Some(id) = crate::solver::SolverId::from_name(row.solver.split('@').next().unwrap_or(""))
    else {
        return "against the previous save: unknown solver".into();
    };
    let Some(ctx) = options.adapters.iter().find(|c| c.label() == row.device) else {
        return "against the previous save: its adapter is gone".into();
    };
    let before = match ShaderSources::from_folder(prev.copy.path(), "shaders watch") {
        Ok(s) => s,
        Err(e) => return format!("against save {}: {e}", prev.number),
    };
    let (mut a, mut b) = (options.gpu.clone(), options.gpu.clone());
    (a.shaders, b.shaders) = (before, now.clone());
    let solve_s = row.time_s.as_ref().map_or(0.0, |t| t.median);
    let task = Progress::new(true).task("");
    match versus(
        problem,
        id,
        Some(ctx),
        (&a, &b),
        solve_s,
        &options.bench,
        &task,
    ) {
        Ok(vs) => format!(
            "against save {}: {:.3}× [{:.3}, {:.3}], {} ({} interleaved pairs)",
            prev.number, vs.ratio, vs.ci95[0], vs.ci95[1], vs.verdict, vs.pairs
        ),
        Err(e) => format!("against save {}: not measured: {e}", prev.number),
    }
}

/// The selected GPU solvers that compile one of the `changed` files (every one when common.wgsl
/// changed, or on the first save).
fn affected(options: &SuiteOptions, changed: &[String]) -> Vec<Selected> {
    let all = changed.iter().any(|c| c == COMMON_FILE);
    options
        .solvers
        .iter()
        .filter(|s| s.id.group() == Group::Gpu)
        .filter(|s| {
            all || s.id.strategy().is_some_and(|st| {
                st.kernel_files()
                    .iter()
                    .any(|f| changed.iter().any(|c| c == f.file_name()))
            })
        })
        .cloned()
        .collect()
}

/// An I/O failure of the watch (its screen, its copy of a save).
fn io(e: std::io::Error) -> GdError {
    GdError::InvalidParameter {
        name: "shaders watch",
        problem: e.to_string(),
    }
}

/// Why `dir` cannot be watched.
fn watch_error(dir: &Path, e: notify::Error) -> GdError {
    GdError::InvalidParameter {
        name: "shaders watch",
        problem: format!("cannot watch {}: {e}", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_whose_compiled_text_changed_are_changed() {
        let fused = ShaderFile::Fused;
        let snap = |text: &str| Snapshot::from([(fused.file_name().to_string(), text.to_string())]);
        let edited = format!("{}\n// edited\n", fused.builtin());
        // A folder holding a copy of one built-in file compiles as the built-in kernels.
        assert!(changed_files(&Snapshot::new(), &snap(fused.builtin())).is_empty());
        assert_eq!(
            changed_files(&Snapshot::new(), &snap(&edited)),
            ["fused.wgsl"]
        );
        assert_eq!(
            changed_files(&snap(fused.builtin()), &snap(&edited)),
            ["fused.wgsl"]
        );
        // Removing an edited file brings the built-in one back: a change.
        assert_eq!(
            changed_files(&snap(&edited), &Snapshot::new()),
            ["fused.wgsl"]
        );
        assert!(changed_files(&snap(&edited), &snap(&edited)).is_empty());
    }
}
