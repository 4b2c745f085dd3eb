//! Command-line definitions (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use gdbench::problem::{ARTICLE_EPOCHS, ARTICLE_MU, ARTICLE_N, ARTICLE_SEED, ARTICLE_SIGMA};

/// How much faster is batch gradient descent on this machine's GPU than on its CPU, and why?
///
/// With no command, runs the article's problem (N = 10 000, 10 000 epochs, mu = 0.001) on every
/// solver available, validates each answer against the f64 reference and prints a table.
#[derive(Debug, Parser)]
#[command(name = "gdbench", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// gdbench's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Time and validate solvers on one problem (the default command).
    Run(Box<RunArgs>),
    /// The same solvers over log-spaced N: points written as measured, an SVG plot.
    Sweep(Box<SweepArgs>),
    /// List the solvers and what each one does.
    Solvers,
    /// Measure the machine's ceilings alone: CPU read bandwidth (one core, all cores), and per
    /// adapter its read bandwidth on this workload and a dispatch's round trip.
    Probe {
        /// GPU adapter(s) to probe: auto, all, an index or part of a name.
        #[arg(long, default_value = "auto")]
        adapter: String,
        /// Only adapters of this backend.
        #[arg(long)]
        backend: Option<String>,
    },
    /// Compare two JSON reports (two machines, or before and after a change): per solver, the
    /// medians per epoch, their ratio, and whether the spreads overlap.
    Compare {
        /// The first report (A).
        a: PathBuf,
        /// The second report (B).
        b: PathBuf,
    },
    /// Work with the WGSL kernels: write the built-in ones out, or check edited ones.
    #[command(subcommand)]
    Shaders(ShadersCommand),
    /// List the GPU adapters wgpu finds: backend, device type, driver, features, limits.
    Adapters {
        /// Only this backend: vulkan, metal, dx12 or gl (default: WGPU_BACKEND, or all).
        #[arg(long)]
        backend: Option<String>,
    },
}

/// `gdbench shaders ...`.
#[derive(Debug, Subcommand)]
pub enum ShadersCommand {
    /// Write the built-in kernels (and common.wgsl) into DIR, as a starting point for `--shaders`.
    Dump {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
    /// Check WGSL files (a file, or every .wgsl in a folder) with naga, as the GPU solvers compile
    /// them; errors print as file:line:col: message.
    Check {
        /// A .wgsl file or a folder of them.
        path: PathBuf,
    },
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// The JSON contract documented in README.
    Json,
    /// One row per run with a header row, for spreadsheets.
    Csv,
    /// A Markdown table, ready to paste into an issue.
    Markdown,
}

/// Options `run` and `sweep` share: which solvers, where, and how to time them.
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// Solvers to run: names and the groups cpu, gpu, all, comma-separated (see `gdbench solvers`).
    #[arg(long, default_value = "all", value_name = "LIST")]
    pub solvers: String,
    /// Untimed warm-up solves per solver before timing.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// GPU adapter(s) for the GPU solvers: auto (a real GPU first), all, an index or part of a
    /// name (see `gdbench adapters`).
    #[arg(long, default_value = "auto", value_name = "ADAPTER")]
    pub adapter: String,
    /// Only adapters of this backend: vulkan, metal, dx12 or gl (default: WGPU_BACKEND, or all).
    #[arg(long)]
    pub backend: Option<String>,
    /// Take any kernel file found in DIR (by name, common.wgsl included) instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub shaders: Option<PathBuf>,
    /// Invocations per GPU workgroup (a power of two; the WGSL override constant WG).
    #[arg(long, default_value_t = gdbench::gpu::kernels::DEFAULT_WORKGROUP_SIZE)]
    pub workgroup_size: u32,
    /// Skip measuring the machine's ceilings (CPU read bandwidth, each adapter's bandwidth and
    /// round trip) that rows are held against; saves about a second.
    #[arg(long)]
    pub no_probe: bool,
    /// The row speed-ups are relative to: a solver or a peer row name.
    #[arg(long, default_value = "cpu-naive", value_name = "NAME")]
    pub baseline: String,
}

/// Options of `gdbench sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub common: SolverArgs,
    /// Smallest N.
    #[arg(long, value_parser = parse_count, default_value_t = 1_000)]
    pub n_min: u64,
    /// Largest N.
    #[arg(long, value_parser = parse_count, default_value_t = 10_000_000)]
    pub n_max: u64,
    /// Sizes between them, log-spaced.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub points: u32,
    /// Seconds of timed solving per solver per point; epochs are chosen to fit.
    #[arg(long, default_value_t = 2.0)]
    pub budget: f64,
    /// Step size mu (finite, > 0).
    #[arg(long, default_value_t = ARTICLE_MU, allow_negative_numbers = true)]
    pub mu: f64,
    /// Standard deviation of the synthetic noise (≥ 0).
    #[arg(long, default_value_t = ARTICLE_SIGMA, allow_negative_numbers = true)]
    pub sigma: f64,
    /// Seed of the synthetic noise.
    #[arg(long, default_value_t = ARTICLE_SEED)]
    pub seed: u64,
    /// Write every point as soon as it is measured: FILE.json or FILE.csv.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Draw µs/epoch and GB/s against N into FILE.svg (redrawn after every point).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// No progress lines on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `gdbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: SolverArgs,
    /// Number of samples N (accepts 10000, 10_000 or 1e4).
    #[arg(long, value_parser = parse_count, default_value_t = ARTICLE_N as u64, conflicts_with = "data")]
    pub n: u64,
    /// Epochs of gradient descent.
    #[arg(long, value_parser = parse_count, default_value_t = ARTICLE_EPOCHS)]
    pub epochs: u64,
    /// Step size mu (finite, > 0).
    #[arg(long, default_value_t = ARTICLE_MU, allow_negative_numbers = true)]
    pub mu: f64,
    /// Standard deviation of the synthetic noise (≥ 0).
    #[arg(long, default_value_t = ARTICLE_SIGMA, allow_negative_numbers = true, conflicts_with = "data")]
    pub sigma: f64,
    /// Seed of the synthetic noise.
    #[arg(long, default_value_t = ARTICLE_SEED, conflicts_with = "data")]
    pub seed: u64,
    /// Load x,d from a file instead: .csv (two columns, optional header) or .npy (N×2 float64/float32).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Timed repeats per solver [default: as many as fit about 3 s, between 1 and 10].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: Option<u32>,
    /// Peer rows on the same data: python, numpy, tensorflow, torch, jax, or all (comma-separated).
    #[arg(long, value_name = "LIST")]
    pub peers: Option<String>,
    /// Python interpreter for --peers.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress lines on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

/// A count: `10000`, `10_000` or `1e4` (an exact integer).
fn parse_count(text: &str) -> Result<u64, String> {
    let plain = text.trim().replace('_', "");
    let bad = || format!("`{text}` is not a whole number: write e.g. 10000, 10_000 or 1e4");
    if let Ok(v) = plain.parse::<u64>() {
        return Ok(v);
    }
    let v: f64 = plain.parse().map_err(|_| bad())?;
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64 {
        Ok(v as u64)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts_accept_underscores_and_exponents() {
        assert_eq!(parse_count("1_000_000"), Ok(1_000_000));
        assert_eq!(parse_count("1e6"), Ok(1_000_000));
        assert_eq!(parse_count("2.5e3"), Ok(2500));
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("-3").is_err());
        assert!(parse_count("ten").is_err());
    }
}
