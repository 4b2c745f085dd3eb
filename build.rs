//! Records what a report's provenance needs at build time: the git commit gdbench was built from
//! (and whether the tree had changes), and the wgpu version Cargo.lock resolved.

use std::path::Path;
use std::process::Command;

fn main() {
    for watched in [
        ".git/HEAD",
        ".git/index",
        ".git/refs",
        "Cargo.lock",
        "src",
        "shaders",
    ] {
        if Path::new(watched).exists() {
            println!("cargo:rerun-if-changed={watched}");
        }
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Empty when not built from a git checkout (a crates.io download, a tarball).
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = match commit.is_empty() {
        true => String::new(),
        false => git(&["status", "--porcelain", "--untracked-files=no"])
            .map(|s| (!s.is_empty()).to_string())
            .unwrap_or_default(),
    };
    println!("cargo:rustc-env=GDBENCH_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=GDBENCH_GIT_DIRTY={dirty}");
    println!("cargo:rustc-env=GDBENCH_WGPU_VERSION={}", wgpu_version());
}

/// wgpu's version as Cargo.lock pins it; `unknown` without a lock file.
fn wgpu_version() -> String {
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wgpu\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return version.trim_matches('"').to_string();
        }
    }
    "unknown".to_string()
}
