//! Command-line definitions (clap derive) and their translation into the library's options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use gdbench::bench::BenchSettings;
use gdbench::error::exit;
use gdbench::gpu::{self, AdapterChoice, shaders::ShaderSources};
use gdbench::peers::PeerOptions;
use gdbench::problem::{ARTICLE_EPOCHS, ARTICLE_MU, ARTICLE_N, ARTICLE_SEED, ARTICLE_SIGMA};
use gdbench::problem::{parse_steps, sample_count};
use gdbench::report;
use gdbench::solver::{Group, select};
use gdbench::suite::{SuiteOptions, Variant, checked_baseline};
use gdbench::sweep::SweepSettings;
use gdbench::{Dataset, GdError, Problem};

/// Parses the command line. `--help` and `--version` print and give `Err(0)`; a bad argument
/// prints one line (the problem, and the valid values where clap lists them) and gives `Err(2)`.
pub fn parse() -> Result<Cli, u8> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(exit::SUCCESS)
        }
        Err(e) => {
            // clap's report spans several lines; keep the problem and any list of valid values.
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("error: bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            match lines.find(|l| l.starts_with("[possible values:")) {
                Some(v) => eprintln!("gdbench: error: {first} {v} (see gdbench --help)"),
                None => eprintln!("gdbench: error: {first} (see gdbench --help)"),
            }
            Err(exit::BAD_INPUT)
        }
    }
}

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
    /// Measure the machine's ceilings alone: CPU read bandwidth and f32/f64 FLOP/s (one core, all
    /// cores), and per adapter its read bandwidth, f32 FLOP/s and a dispatch's round trip (an FMA
    /// counts as 2 flops).
    Probe {
        /// GPU adapter(s) to probe: auto, all, an index or part of a name.
        #[arg(long, default_value = "auto")]
        adapter: String,
        /// Only adapters of this backend.
        #[arg(long)]
        backend: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextFormat::Table)]
        format: TextFormat,
    },
    /// Compare two JSON reports (two machines, or before and after a change): per solver, B's
    /// median time per epoch over A's with a 95 % bootstrap interval, and a verdict: faster,
    /// slower, no clear change or cannot tell (see docs/compare.md).
    Compare(CompareArgs),
    /// Write DIR/README.md: one line per machine over the run and sweep reports in DIR (its GPU,
    /// best CPU and GPU rows at N = 1e4, GPU ÷ CPU at 1e4 and 1e8, the crossover N).
    Gallery {
        /// The folder of reports, e.g. docs/results.
        dir: PathBuf,
    },
    /// Work with the WGSL shaders: write the built-in ones out, or check edited ones.
    #[command(subcommand)]
    Shaders(ShadersCommand),
    /// List the GPU adapters wgpu finds: backend, device type, driver, features, limits.
    Adapters {
        /// Only this backend: vulkan, metal, dx12 or gl (default: WGPU_BACKEND, or all).
        #[arg(long)]
        backend: Option<String>,
    },
}

/// Options of `gdbench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first report (A).
    pub a: PathBuf,
    /// The second report (B).
    pub b: PathBuf,
    /// Smallest change that counts, in percent: `slower` when the whole interval of B / A lies
    /// above 1 + PCT/100, `faster` when it lies below 1 / (1 + PCT/100).
    #[arg(long, default_value_t = report::DEFAULT_THRESHOLD_PCT, allow_negative_numbers = true, value_name = "PCT")]
    pub threshold: f64,
    /// Exit 6 when a row is `slower` with its interval's lower bound above 1 + PCT/100 as well;
    /// `cannot tell` rows never fail.
    #[arg(long, allow_negative_numbers = true, value_name = "PCT")]
    pub fail_if_slower: Option<f64>,
    /// Compare reports of different problems (N, epochs, mu or data differ): refused otherwise,
    /// since their times per epoch measure different work.
    #[arg(long)]
    pub different_problems: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextFormat::Table)]
    pub format: TextFormat,
}

/// Formats of `gdbench compare` and `gdbench probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextFormat {
    /// A table for people, within 100 columns.
    Table,
    /// One JSON object (docs/json.md lists its fields).
    Json,
}

/// `gdbench shaders ...`.
#[derive(Debug, Subcommand)]
pub enum ShadersCommand {
    /// Write the built-in shaders (and common.wgsl) into DIR, as a starting point for `--shaders`.
    Dump {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
    /// Check WGSL files (a file, or every .wgsl in a folder) with naga, as the GPU solvers compile
    /// them, and translate them for other platforms; errors print as file:line:col: message.
    Check {
        /// Also translate every kernel with naga's back ends (override constants resolved for the
        /// workgroup sizes gdbench uses): spirv, msl, hlsl, glsl or all, comma-separated.
        #[arg(long, default_value = "", value_name = "LIST")]
        targets: String,
        /// A .wgsl file or a folder of them.
        path: PathBuf,
    },
    /// Watch a folder of kernels: on every save, check them, validate them at the edge sizes
    /// and against the f64 reference, and time them against the built-in kernels and the
    /// previous save, for the GPU solvers that compile a changed file; one screen per save.
    Watch(WatchArgs),
}

/// Options of `gdbench shaders watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The folder of kernels to watch (`gdbench shaders dump DIR` makes one).
    pub dir: PathBuf,
    /// GPU solvers to consider: those that compile a changed file run (names or `gpu`).
    #[arg(long, default_value = "gpu", value_name = "LIST")]
    pub solvers: String,
    /// GPU adapter: auto, an index or part of a name (see `gdbench adapters`).
    #[arg(long, default_value = "auto", value_name = "ADAPTER")]
    pub adapter: String,
    /// Only adapters of this backend: vulkan, metal, dx12 or gl.
    #[arg(long)]
    pub backend: Option<String>,
    /// Invocations per GPU workgroup (a power of two; the override constant WG).
    #[arg(long)]
    pub workgroup_size: Option<u32>,
    /// Samples.
    #[arg(long, default_value_t = ARTICLE_N as u64, value_parser = parse_count)]
    pub n: u64,
    /// Epochs of each solve.
    #[arg(long, default_value_t = 1000)]
    pub epochs: u64,
    /// Step size mu (finite, > 0).
    #[arg(long, default_value_t = ARTICLE_MU, allow_negative_numbers = true)]
    pub mu: f64,
    /// Seconds of timing per row on each save (the side-by-side pairs share it).
    #[arg(long, default_value_t = 1.0)]
    pub budget: f64,
}

impl WatchArgs {
    /// The problem each save runs: the article's synthetic data at --n, --epochs and --mu.
    pub fn problem(&self) -> Result<Problem, GdError> {
        let data = Dataset::synthetic(sample_count(self.n)?, ARTICLE_SIGMA, ARTICLE_SEED)?;
        Problem::new(data, self.mu, self.epochs)
    }

    /// The GPU solvers, the timing budget and the workgroup size, checked.
    pub fn options(&self) -> Result<SuiteOptions, GdError> {
        let solvers: Vec<_> = select(&self.solvers)?
            .into_iter()
            .filter(|s| s.id.group() == Group::Gpu)
            .collect();
        if solvers.is_empty() {
            return Err(GdError::InvalidParameter {
                name: "--solvers",
                problem: format!(
                    "`{}` selects no GPU solver: watch runs GPU kernels (try gpu-fused)",
                    self.solvers
                ),
            });
        }
        if !(self.budget.is_finite() && self.budget > 0.0) {
            return Err(GdError::InvalidParameter {
                name: "--budget",
                problem: format!("{} is not a time: give seconds > 0, e.g. 1", self.budget),
            });
        }
        let mut options = SuiteOptions::new(solvers);
        options.bench.budget = std::time::Duration::from_secs_f64(self.budget);
        options.gpu.workgroup_size = self.workgroup_size;
        ShaderSources::from_folder(&self.dir, "shaders watch")?;
        Ok(options)
    }
}

/// Report formats (the library's [`report::Format`], for clap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table for people.
    Table,
    /// The JSON contract documented in docs/json.md.
    Json,
    /// One row per run with a header row, for spreadsheets.
    Csv,
    /// A Markdown table, ready to paste into an issue.
    Markdown,
}

impl From<Format> for report::Format {
    fn from(format: Format) -> Self {
        match format {
            Format::Table => report::Format::Table,
            Format::Json => report::Format::Json,
            Format::Csv => report::Format::Csv,
            Format::Markdown => report::Format::Markdown,
        }
    }
}

/// `--backend`, checked.
pub fn backends(backend: Option<&str>) -> Result<Option<wgpu::Backends>, GdError> {
    backend.map(gpu::parse_backend).transpose()
}

/// Options `run` and `sweep` share: which solvers, where, and how to time them.
#[derive(Debug, Args)]
pub struct SolverArgs {
    /// Solvers to run: names and the groups cpu, gpu, ladder (every precision of the fused pass), all, comma-separated (see `gdbench solvers`).
    #[arg(long, default_value = "all", value_name = "LIST")]
    pub solvers: String,
    /// Untimed warm-up solves per CPU row before timing; a GPU row warms up with short solves,
    /// then (on a real GPU) whole solves until three agree, so the card leaves its idle clocks;
    /// 0 skips warm-up altogether.
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// GPU adapter(s) for the GPU solvers: auto (a real GPU first), all, an index or part of a
    /// name (see `gdbench adapters`).
    #[arg(long, default_value = "auto", value_name = "ADAPTER")]
    pub adapter: String,
    /// Only adapters of this backend: vulkan, metal, dx12 or gl (default: WGPU_BACKEND, or all).
    #[arg(long)]
    pub backend: Option<String>,
    /// Take each kernel file in DIR (common.wgsl, error.wgsl, ..., search.wgsl: by name) instead of
    /// the built-in one; a .wgsl by any other name, or a DIR without one, is refused.
    #[arg(long, value_name = "DIR")]
    pub shaders: Option<PathBuf>,
    /// Also run every selected GPU solver with the kernels of DIR (as --shaders takes them), as
    /// rows SOLVER@NAME beside the built-in ones, their solves interleaved for a ratio with its
    /// 95 % interval and a verdict (repeatable).
    #[arg(long, value_name = "NAME=DIR")]
    pub variant: Vec<String>,
    /// Invocations per GPU workgroup (a power of two; the WGSL override constant WG) [default:
    /// 256; gpu-persistent and the fused kernels' finish: the adapter's most, up to 1024].
    #[arg(long)]
    pub workgroup_size: Option<u32>,
    /// Skip measuring the machine's ceilings (CPU read bandwidth and FLOP/s, each adapter's
    /// bandwidth, FLOP/s, round trip, dispatch and barrier costs) that rows are held against:
    /// saves a few seconds, and leaves the bound column and the verdict's reasons empty.
    #[arg(long)]
    pub no_probe: bool,
    /// The row speed-ups are relative to: a solver or a peer row name.
    #[arg(long, default_value = "cpu-naive", value_name = "NAME")]
    pub baseline: String,
}

impl SolverArgs {
    /// Solvers, shaders, baseline and timing, checked; nothing opened or probed yet.
    pub fn options(&self, repeat: Option<u32>) -> Result<SuiteOptions, GdError> {
        let mut options = SuiteOptions::new(select(&self.solvers)?);
        options.baseline = checked_baseline(&self.baseline)?;
        options.bench = BenchSettings {
            warmup: self.warmup,
            repeat,
            ..BenchSettings::default()
        };
        options.gpu.workgroup_size = self.workgroup_size;
        if let Some(dir) = &self.shaders {
            options.gpu.shaders = ShaderSources::with_overrides(dir)?;
        }
        options.variants = self.variants(&options)?;
        Ok(options)
    }

    /// The `--variant`s, checked: distinct names, and a GPU solver selected to run them.
    fn variants(&self, options: &SuiteOptions) -> Result<Vec<Variant>, GdError> {
        let bad = |problem: String| GdError::InvalidParameter {
            name: "--variant",
            problem,
        };
        let variants = self
            .variant
            .iter()
            .map(|spec| Variant::parse(spec))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, v) in variants.iter().enumerate() {
            if variants[..i].iter().any(|w| w.name == v.name) {
                return Err(bad(format!(
                    "`{}` names two variants: give each its own name",
                    v.name
                )));
            }
        }
        let gpu = options.solvers.iter().any(|s| s.id.group() == Group::Gpu);
        if !variants.is_empty() && !gpu {
            return Err(bad(
                "runs GPU solvers' kernels, and --solvers selects none: add gpu-fused (or gpu)"
                    .into(),
            ));
        }
        Ok(variants)
    }

    /// Opens the adapters and probes the ceilings (unless `--no-probe`): the slow part, after
    /// every input was checked.
    pub fn open_and_probe(&self, options: &mut SuiteOptions) -> Result<(), GdError> {
        let choice = AdapterChoice::parse(&self.adapter);
        options.open_and_probe(&choice, backends(self.backend.as_deref())?, !self.no_probe)
    }
}

/// Options of `gdbench sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub common: SolverArgs,
    /// What varies: `n` (the samples, one step size) or `models` (K descents at once on the
    /// same data, a step-size search of K steps, at a fixed --n).
    #[arg(long, value_enum, default_value_t = Over::N)]
    pub over: Over,
    /// Smallest N (--over n) [default: 1000].
    #[arg(long, value_parser = parse_count)]
    pub n_min: Option<u64>,
    /// Largest N (--over n) [default: 1e7].
    #[arg(long, value_parser = parse_count)]
    pub n_max: Option<u64>,
    /// The samples of every point (--over models) [default: 1e6].
    #[arg(long, value_parser = parse_count)]
    pub n: Option<u64>,
    /// Fewest descents at once (--over models) [default: 1].
    #[arg(long, value_parser = parse_count)]
    pub k_min: Option<u64>,
    /// Most descents at once (--over models; at most 4 096) [default: 1024].
    #[arg(long, value_parser = parse_count)]
    pub k_max: Option<u64>,
    /// Points between the ends, log-spaced (sizes, or values of K).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub points: u32,
    /// Seconds of timed solving per solver per point; epochs are chosen to fit.
    #[arg(long, default_value_t = 2.0)]
    pub budget: f64,
    /// Timed repeats per solver at every point [default: until the median's 95 % interval is
    /// within ±2 %, or the budget is spent].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: Option<u32>,
    /// Step size mu (finite, > 0); with --over models the smallest of the K steps, which run
    /// log-spaced up to 90 % of the data's stability limit.
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
    /// Draw µs/epoch, GB/s and Δ ref against N into FILE.svg (--over models: µs per
    /// descent-epoch and GFLOP/s against K), redrawn after every point.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// No progress bars on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

impl SweepArgs {
    /// The sizes (or values of K), budget and problem parameters, checked.
    pub fn settings(&self) -> Result<SweepSettings, GdError> {
        let problem = (self.mu, self.sigma, self.seed);
        // Each option belongs to one kind of sweep: given to the other, it would be ignored.
        let (own, other): (&str, &[(&str, Option<u64>)]) = match self.over {
            Over::N => (
                "n",
                &[
                    ("--n", self.n),
                    ("--k-min", self.k_min),
                    ("--k-max", self.k_max),
                ],
            ),
            Over::Models => (
                "models",
                &[("--n-min", self.n_min), ("--n-max", self.n_max)],
            ),
        };
        if let Some((flag, _)) = other.iter().find(|(_, v)| v.is_some()) {
            return Err(GdError::InvalidParameter {
                name: "--over",
                problem: format!(
                    "{flag} does not apply to --over {own}: --over n takes --n-min/--n-max, --over models takes --n, --k-min and --k-max"
                ),
            });
        }
        match self.over {
            Over::N => SweepSettings::new(
                (
                    self.n_min.unwrap_or(1_000),
                    self.n_max.unwrap_or(10_000_000),
                ),
                self.points,
                self.budget,
                problem,
            ),
            Over::Models => SweepSettings::models(
                self.n.unwrap_or(1_000_000),
                (self.k_min.unwrap_or(1), self.k_max.unwrap_or(1024)),
                self.points,
                self.budget,
                problem,
            ),
        }
    }
}

/// What a sweep varies (`--over`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Over {
    /// The samples N, one step size.
    N,
    /// K descents at once (step sizes) at one N.
    Models,
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
    /// Step size mu (finite, > 0); a list `0.001,0.002,0.005` or a log-spaced range `LO..HI:K`
    /// (K steps, e.g. 1e-4..1.0:37) runs one descent per step over the same data and reports the
    /// best.
    #[arg(long, default_value_t = ARTICLE_MU.to_string(), allow_hyphen_values = true, value_name = "MU|LIST|LO..HI:K")]
    pub mu: String,
    /// Standard deviation of the synthetic noise (≥ 0).
    #[arg(long, default_value_t = ARTICLE_SIGMA, allow_negative_numbers = true, conflicts_with = "data")]
    pub sigma: f64,
    /// Seed of the synthetic noise.
    #[arg(long, default_value_t = ARTICLE_SEED, conflicts_with = "data")]
    pub seed: u64,
    /// Load x,d from a file instead: .csv (two columns, optional header) or .npy (N×2 float64/float32).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Timed repeats per solver [default: until the median's 95 % interval is within ±2 %, or
    /// about 1.5 s of solving are spent].
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
    /// Draw a step-size search's final loss against mu into FILE.svg (with --mu LIST or
    /// LO..HI:K).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Draw the run's roofline into FILE.svg: per device, attained GFLOP/s against flops per
    /// byte read, under the measured read-bandwidth and FMA ceilings (needs the probe: not with
    /// --no-probe).
    #[arg(long, value_name = "FILE.svg")]
    pub roofline: Option<PathBuf>,
    /// Every column in the table (weights, Δ ref, median, GPU kernel time, min … max, repeats),
    /// however wide; the default fits 100 columns.
    #[arg(long)]
    pub wide: bool,
    /// After the table, each row in detail: its wall with the figures behind it (the latency
    /// model's dispatches, submissions and barriers), its spread, its tolerance and its notes.
    #[arg(long)]
    pub explain: bool,
    /// No progress bars on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

impl RunArgs {
    /// `--roofline`, checked before anything runs: an .svg path, and the probe on (the picture
    /// is its ceilings).
    pub fn check_roofline(&self) -> Result<(), GdError> {
        let Some(path) = &self.roofline else {
            return Ok(());
        };
        let refuse = |problem: String| GdError::InvalidParameter {
            name: "--roofline",
            problem,
        };
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
        {
            return Err(refuse(format!(
                "`{}` does not end in .svg: the roofline is an SVG picture",
                path.display()
            )));
        }
        if self.common.no_probe {
            return Err(refuse(
                "draws the measured ceilings, which --no-probe skips: drop --no-probe (the probe takes about a second)".into(),
            ));
        }
        Ok(())
    }

    /// The problem: synthetic or from `--data`, checked.
    pub fn problem(&self) -> Result<Problem, GdError> {
        let steps = parse_steps(&self.mu)?;
        if self.plot.is_some() && steps.len() < 2 {
            return Err(GdError::InvalidParameter {
                name: "--plot",
                problem: "draws the loss against mu of a step-size search: give --mu a list (0.001,0.002) or a range (1e-4..1:13)".into(),
            });
        }
        let data = match &self.data {
            Some(path) => Dataset::load(path)?,
            None => Dataset::synthetic(sample_count(self.n)?, self.sigma, self.seed)?,
        };
        Problem::search(std::sync::Arc::new(data), steps, self.epochs)
    }

    /// `--peers`, checked; `None` without it.
    pub fn peers(&self, budget: std::time::Duration) -> Result<Option<PeerOptions>, GdError> {
        self.peers
            .as_deref()
            .map(|spec| {
                PeerOptions::new(
                    spec,
                    self.python.clone(),
                    self.common.warmup,
                    self.repeat,
                    budget,
                )
            })
            .transpose()
    }
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
