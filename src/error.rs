//! The library's error type: every failure a user can cause or meet, each with a one-line message.

use std::path::PathBuf;

/// Everything that can go wrong in gdbench's library, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum GdError {
    /// A command-line or API parameter is out of range.
    #[error("invalid {name}: {problem}")]
    InvalidParameter {
        /// The parameter's name as the user typed it, e.g. `--mu`.
        name: &'static str,
        /// What is wrong and what would be right.
        problem: String,
    },

    /// A solver or group name that gdbench does not know.
    #[error("unknown solver `{name}`: choose from {valid}")]
    UnknownSolver {
        /// The name as given.
        name: String,
        /// The valid names and groups, comma-separated.
        valid: String,
    },

    /// A data file that could not be opened or read.
    #[error("cannot read data file {}: {source}", path.display())]
    DataIo {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// A data file whose content is not usable (malformed, wrong shape, non-finite values...).
    #[error("bad data file {}: {problem}", path.display())]
    DataFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column where they exist.
        problem: String,
    },

    /// The problem, or a solver's copy of it, would not fit in memory.
    #[error(
        "{what} needs about {need_mib} MiB, but only {available_mib} MiB is available: choose a smaller --n"
    )]
    OutOfMemory {
        /// What was to be allocated, e.g. "x and d in f64 for N = 100000000".
        what: String,
        /// Estimated need in MiB.
        need_mib: u64,
        /// Memory the OS reports available, in MiB.
        available_mib: u64,
    },

    /// A solver could not prepare or run (a device fault, an unsupported feature...).
    #[error("{solver} failed: {message}")]
    Solver {
        /// The solver's name.
        solver: &'static str,
        /// What went wrong.
        message: String,
    },

    /// A GPU device could not be opened or failed (validation error, device lost, timeout).
    #[error("GPU: {message}")]
    Gpu {
        /// What went wrong, with wgpu's own message where there is one.
        message: String,
    },

    /// A solver that cannot run here (no adapter, a missing feature, a size it does not handle).
    #[error("{reason}")]
    Unavailable {
        /// Why, and what would make it available.
        reason: String,
    },

    /// The peer script could not be set up or run, or a peer failed (its last line of stderr).
    #[error("{message}")]
    Peers {
        /// What went wrong.
        message: String,
    },

    /// Ctrl-C stopped the run before this part could be measured.
    #[error("interrupted (Ctrl-C) before it was measured")]
    Interrupted,

    /// Writing a report failed.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The destination.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = GdError> = std::result::Result<T, E>;

/// The exit codes of the `gdbench` command, documented in README ("Exit codes").
pub mod exit {
    /// Every run is `ok`.
    pub const SUCCESS: u8 = 0;
    /// Something outside the user's input failed (writing the report, a GPU fault, the peers).
    pub const FAILURE: u8 = 1;
    /// Bad input: an option, a solver name or a data file.
    pub const BAD_INPUT: u8 = 2;
    /// A run disagreed with the reference.
    pub const MISMATCH: u8 = 3;
    /// A row failed (`error`), a solver named in --solvers could not run, or no row ran at all.
    pub const NOT_RUN: u8 = 4;
    /// The descent diverged (mu too large); reported, not a fault of gdbench.
    pub const DIVERGED: u8 = 5;
    /// `gdbench compare --fail-if-slower PCT`: a row of B is `slower` than A's, with its 95 %
    /// interval's lower bound above 1 + PCT/100.
    pub const REGRESSED: u8 = 6;
    /// Ctrl-C: the report holds what was measured before it.
    pub const INTERRUPTED: u8 = 130;
}

impl GdError {
    /// The exit code this failure ends the command with, when nothing was reported.
    pub fn exit_code(&self) -> u8 {
        match self {
            GdError::InvalidParameter { .. }
            | GdError::UnknownSolver { .. }
            | GdError::DataIo { .. }
            | GdError::DataFormat { .. }
            | GdError::OutOfMemory { .. } => exit::BAD_INPUT,
            GdError::Solver { .. } | GdError::Unavailable { .. } => exit::NOT_RUN,
            GdError::Gpu { .. } | GdError::Peers { .. } | GdError::Output { .. } => exit::FAILURE,
            GdError::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// wgpu's and naga's multi-line error reports folded into one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_the_exit_code_readme_promises() {
        let bad = GdError::InvalidParameter {
            name: "--mu",
            problem: String::new(),
        };
        assert_eq!(bad.exit_code(), 2);
        let gpu = GdError::Gpu {
            message: "device lost".into(),
        };
        assert_eq!(gpu.exit_code(), 1);
        let peers = GdError::Peers {
            message: "python died".into(),
        };
        assert_eq!(peers.exit_code(), 1);
        assert_eq!(GdError::Interrupted.exit_code(), 130);
        let solver = GdError::Solver {
            solver: "gpu-fused",
            message: String::new(),
        };
        assert_eq!(solver.exit_code(), 4);
        // Not an error's: `compare --fail-if-slower` returns it, as README's table says.
        assert_eq!(exit::REGRESSED, 6);
    }
}
