//! Where a result came from: which gdbench (version, git commit, build), which wgpu, which
//! command, when, and on which operating system. Every JSON gdbench writes carries it, beside
//! [`SCHEMA_VERSION`], so a saved result can be compared with another months later.

use serde::{Deserialize, Serialize};

/// The version of the JSON documents' shape (docs/json.md, "Versions"): raised when a field is
/// removed, renamed or changes meaning; fields added leave it alone.
pub const SCHEMA_VERSION: u32 = 1;

/// What made a result, recorded when it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    /// gdbench's version (Cargo.toml).
    pub gdbench_version: String,
    /// The git commit gdbench was built from; null when not built from a git checkout.
    pub git_commit: Option<String>,
    /// True when the checkout had uncommitted changes to tracked files at build time; null
    /// without a commit.
    pub git_dirty: Option<bool>,
    /// `release`, or `debug` for an unoptimised build whose timings are not representative.
    pub build: String,
    /// The wgpu version gdbench was built with (Cargo.lock), `unknown` without one.
    pub wgpu_version: String,
    /// The command line, program first.
    pub command: Vec<String>,
    /// When the command started, UTC, RFC 3339 to the second.
    pub utc: String,
    /// Operating system (`linux`, `macos`, `windows`, …).
    pub os: String,
    /// The kernel's release (`uname -r`); null where it cannot be read.
    pub kernel: Option<String>,
}

impl Provenance {
    /// This process's provenance, its time that of the first call (`main` makes it at start).
    pub fn now() -> Self {
        static STARTED: std::sync::OnceLock<std::time::SystemTime> = std::sync::OnceLock::new();
        let started = *STARTED.get_or_init(std::time::SystemTime::now);
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Self {
            gdbench_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: non_empty(env!("GDBENCH_GIT_COMMIT")),
            git_dirty: env!("GDBENCH_GIT_DIRTY").parse().ok(),
            build: build().to_string(),
            wgpu_version: env!("GDBENCH_WGPU_VERSION").to_string(),
            command: std::env::args().collect(),
            utc: humantime::format_rfc3339_seconds(started).to_string(),
            os: std::env::consts::OS.to_string(),
            kernel: kernel_release(),
        }
    }

    /// The version as a report's title gives it: `0.1.0 (1a2b3c4d5e)`, `+` after the commit for
    /// uncommitted changes, no parentheses without a commit.
    pub fn version(&self) -> String {
        match (&self.git_commit, self.git_dirty) {
            (Some(c), Some(true)) => format!("{} ({}+)", self.gdbench_version, short(c)),
            (Some(c), _) => format!("{} ({})", self.gdbench_version, short(c)),
            (None, _) => self.gdbench_version.clone(),
        }
    }

    /// The rest of where it came from, for one line under a report's title: `2026-12-03T21:10:00Z
    /// · wgpu 30.0.2 · linux 6.1.0`.
    pub fn line(&self) -> String {
        let os = match &self.kernel {
            Some(k) => format!("{} {k}", self.os),
            None => self.os.clone(),
        };
        format!("{} · wgpu {} · {os}", self.utc, self.wgpu_version)
    }
}

/// A commit's first 10 characters.
fn short(commit: &str) -> String {
    commit.chars().take(10).collect()
}

/// `release`, or `debug` for an unoptimised build.
pub fn build() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The running kernel's release: /proc on Linux, `uname -r` on other Unixes; `None` elsewhere.
fn kernel_release() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .or_else(|| {
            if !cfg!(unix) {
                return None;
            }
            let out = std::process::Command::new("uname")
                .arg("-r")
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        })?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wgpu_version_is_the_one_cargo_toml_pins() {
        let manifest = include_str!("../Cargo.toml");
        let pin = manifest
            .lines()
            .find_map(|l| l.strip_prefix("wgpu = { version = \"="))
            .and_then(|rest| rest.split('"').next())
            .expect("Cargo.toml pins wgpu with `=`");
        assert_eq!(Provenance::now().wgpu_version, pin);
    }

    #[test]
    fn the_commit_is_the_checkouts_and_the_time_is_utc() {
        let p = Provenance::now();
        if let Some(commit) = &p.git_commit {
            assert_eq!(commit.len(), 40, "{commit}");
            assert!(commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit}");
            assert!(p.git_dirty.is_some());
        }
        assert!(p.utc.ends_with('Z') && p.utc.len() == 20, "{}", p.utc);
        assert!(p.line().contains(&format!("wgpu {}", p.wgpu_version)));
        assert!(p.version().starts_with(env!("CARGO_PKG_VERSION")));
        assert_eq!(p.os, std::env::consts::OS);
    }
}
