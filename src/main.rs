//! gdbench's command line: parse, call the library, map failures to exit codes.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, Format, RunArgs, ShadersCommand, SolverArgs, SweepArgs};
use gdbench::bench::BenchSettings;
use gdbench::gpu::{self, AdapterChoice, kernels};
use gdbench::peers::{PeerOptions, parse_peers};
use gdbench::report::{self, Report, render_csv, render_markdown, render_table, write_atomically};
use gdbench::report::{crossovers, render_plot, series};
use gdbench::solver::{Group, Selected, SolverId, select};
use gdbench::suite::{SuiteOptions, run_suite};
use gdbench::sweep::{SweepPoint, SweepSettings, log_spaced, run_sweep};
use gdbench::validate::Status;
use gdbench::{Dataset, GdError, Problem, interrupt, probe};

/// Exit codes, documented in README.
mod exit {
    /// Something outside the user's input failed (e.g. writing the report).
    pub const FAILURE: u8 = 1;
    /// Bad input: an option, a solver name or a data file.
    pub const BAD_INPUT: u8 = 2;
    /// A run disagreed with the reference.
    pub const MISMATCH: u8 = 3;
    /// A solver named in --solvers could not run.
    pub const NOT_RUN: u8 = 4;
    /// The descent diverged (mu too large); reported, not a fault of gdbench.
    pub const DIVERGED: u8 = 5;
    /// Ctrl-C: the report holds what was measured before it.
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: nothing else runs yet; no other thread can read the environment concurrently.
        // Mesa's drivers print an error at start-up when this is unset; a temp dir quiets them.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's report spans several lines; keep the problem and any list of valid values.
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("error: bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let values = lines.find(|l| l.starts_with("[possible values:"));
            match values {
                Some(v) => eprintln!("gdbench: error: {first} {v} (see gdbench --help)"),
                None => eprintln!("gdbench: error: {first} (see gdbench --help)"),
            }
            return ExitCode::from(exit::BAD_INPUT);
        }
    };
    // First Ctrl-C: finish the current solve and report what was measured. Second: quit now.
    let _ = ctrlc::set_handler(|| {
        if interrupt::request() {
            std::process::exit(exit::INTERRUPTED.into());
        }
        eprintln!("gdbench: interrupted: reporting what was measured (Ctrl-C again quits at once)");
    });
    let result = match cli.command {
        Some(Command::Solvers) => {
            list_solvers();
            Ok(0)
        }
        Some(Command::Adapters { backend }) => list_adapters(backend.as_deref()),
        Some(Command::Compare { a, b }) => compare_reports(&a, &b),
        Some(Command::Probe { adapter, backend }) => print_probe(&adapter, backend.as_deref()),
        Some(Command::Shaders(ShadersCommand::Dump { dir })) => dump_shaders(&dir),
        Some(Command::Shaders(ShadersCommand::Check { path })) => check_shaders(&path),
        Some(Command::Run(args)) => run(&args),
        Some(Command::Sweep(args)) => sweep(&args),
        None => run(&cli.run),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("gdbench: error: {e:#}");
            let code = match e.downcast_ref::<GdError>() {
                Some(GdError::Output { .. }) | None => exit::FAILURE,
                Some(GdError::Solver { .. }) => exit::NOT_RUN,
                Some(_) => exit::BAD_INPUT,
            };
            ExitCode::from(code)
        }
    }
}

fn list_solvers() {
    for id in SolverId::ALL {
        println!("{:<14} {}", id.name(), id.summary());
    }
    println!(
        "{:<14} every solver above that this machine can run (the default)",
        "all"
    );
    println!("{:<14} the CPU solvers", "cpu");
    println!("{:<14} the GPU solvers", "gpu");
}

fn print_probe(adapter: &str, backend: Option<&str>) -> anyhow::Result<u8> {
    let backends = backend.map(gpu::parse_backend).transpose()?;
    let opened = gpu::open(&AdapterChoice::parse(adapter), backends)?;
    let c = probe::measure(&opened.contexts);
    println!(
        "CPU read bandwidth: {:.1} GB/s on one core, {:.1} GB/s on {} threads ({}; streaming read over {} MiB)",
        c.cpu.read_gb_s_one_core,
        c.cpu.read_gb_s_all_cores,
        c.cpu.threads,
        gdbench::machine::cpu_model(),
        c.cpu.buffer_bytes >> 20
    );
    for g in &c.gpu {
        println!(
            "{}: read bandwidth {:.1} GB/s (streaming kernel over {} MiB, timed by {}), submission round trip {:.1} µs",
            g.device,
            g.read_gb_s,
            g.buffer_bytes >> 20,
            g.timed_by,
            g.round_trip_us
        );
    }
    for f in &c.gpu_failures {
        println!("{}: the probe failed: {}", f.device, f.error);
    }
    if opened.contexts.is_empty() {
        println!("{}", gpu::NO_ADAPTER_HINT);
    }
    Ok(0)
}

fn compare_reports(a: &std::path::Path, b: &std::path::Path) -> anyhow::Result<u8> {
    let (ra, rb) = (report::read_report(a, "A")?, report::read_report(b, "B")?);
    let comparison = report::compare(&ra, &rb)?;
    print!(
        "{}",
        report::render_comparison(
            &comparison,
            &a.display().to_string(),
            &b.display().to_string()
        )
    );
    Ok(0)
}

fn dump_shaders(dir: &std::path::Path) -> anyhow::Result<u8> {
    let written = kernels::dump(dir)
        .with_context(|| format!("cannot write kernels into {}", dir.display()))?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(0)
}

/// Checks one .wgsl or every .wgsl in a folder and prints a line per file.
fn check_shaders(path: &std::path::Path) -> anyhow::Result<u8> {
    let results = kernels::check_path(path)?;
    for (file, result) in &results {
        match result {
            Ok(()) => println!("ok: {}", file.display()),
            Err(e) => println!("{e}"),
        }
    }
    let failed = results.iter().any(|(_, r)| r.is_err());
    Ok(if failed { exit::BAD_INPUT } else { 0 })
}

fn list_adapters(backend: Option<&str>) -> anyhow::Result<u8> {
    let backends = backend.map(gpu::parse_backend).transpose()?;
    let adapters = gpu::list_adapters(backends);
    if adapters.is_empty() {
        println!("{}", gpu::NO_ADAPTER_HINT);
        return Ok(0);
    }
    let yes_no = |f| if f { "yes" } else { "no" };
    for a in &adapters {
        let i = &a.info;
        let software = if a.is_software() {
            "  (software: CPU emulation, its timings are CPU timings)"
        } else {
            ""
        };
        println!("{}: {}{software}", a.index, i.name);
        println!(
            "   backend {}, device type {:?}, driver {} {}",
            i.backend, i.device_type, i.driver, i.driver_info
        );
        let f = a.features;
        println!(
            "   timestamp queries {}, subgroups {}, shader f64 {}",
            yes_no(f.contains(wgpu::Features::TIMESTAMP_QUERY)),
            yes_no(f.contains(wgpu::Features::SUBGROUP)),
            yes_no(f.contains(wgpu::Features::SHADER_F64)),
        );
        let l = &a.limits;
        println!(
            "   max storage binding {} MiB, max buffer {} MiB, workgroup ≤ {} invocations (x ≤ {}), {} KiB workgroup memory",
            l.max_storage_buffer_binding_size >> 20,
            l.max_buffer_size >> 20,
            l.max_compute_invocations_per_workgroup,
            l.max_compute_workgroup_size_x,
            l.max_compute_workgroup_storage_size >> 10,
        );
    }
    Ok(0)
}

/// Solvers, kernels and timing shared by `run` and `sweep`, checked; nothing opened or probed yet.
fn suite_options(common: &SolverArgs, repeat: Option<u32>) -> anyhow::Result<SuiteOptions> {
    let solvers = select(&common.solvers)?;
    let mut options = SuiteOptions::new(solvers.clone());
    options.baseline = checked_baseline(&common.baseline)?;
    options.bench = BenchSettings {
        warmup: common.warmup,
        repeat,
        ..BenchSettings::default()
    };
    options.gpu.workgroup_size = common.workgroup_size;
    if let Some(dir) = &common.shaders {
        options.gpu.shaders = kernels::KernelSources::with_overrides(dir)?;
    }
    Ok(options)
}

/// Opens the adapters the GPU solvers need and probes the machine's ceilings: the slow part,
/// done once every input has been checked.
fn open_and_probe(common: &SolverArgs, options: &mut SuiteOptions) -> anyhow::Result<()> {
    if options.solvers.iter().any(|s| s.id.group() == Group::Gpu) {
        let backends = common
            .backend
            .as_deref()
            .map(gpu::parse_backend)
            .transpose()?;
        let opened = gpu::open(&AdapterChoice::parse(&common.adapter), backends)?;
        if opened.contexts.is_empty() && !opened.failures.is_empty() {
            options.no_adapter_reason = Some(opened.failures.join("; "));
        }
        options.adapters = opened.contexts;
    }
    if !common.no_probe {
        options.ceilings = Some(probe::measure(&options.adapters));
    }
    Ok(())
}

/// Progress lines on stderr, only on a terminal and without --quiet.
fn progress_printer(quiet: bool) -> impl FnMut(&str) {
    let show = !quiet && std::io::stderr().is_terminal();
    move |line: &str| {
        if show {
            eprintln!("gdbench: {line}");
        }
    }
}

fn run(args: &RunArgs) -> anyhow::Result<u8> {
    // Every input is checked before the machine is probed or any adapter opened.
    let mut options = suite_options(&args.common, args.repeat)?;
    let solvers = options.solvers.clone();
    let peers = args.peers.as_deref().map(parse_peers).transpose()?;
    let data = match &args.data {
        Some(path) => Dataset::load(path)?,
        None => Dataset::synthetic(to_usize(args.n)?, args.sigma, args.seed)?,
    };
    let problem = Problem::new(data, args.mu, args.epochs)?;
    open_and_probe(&args.common, &mut options)?;
    let mut named_peers = Vec::new();
    if let (Some(spec), Some(peers)) = (&args.peers, peers) {
        named_peers = spec
            .split(',')
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty() && w != "all")
            .collect();
        options.peers = Some(PeerOptions {
            peers,
            python: args.python.clone().unwrap_or_else(|| "python3".into()),
            python_given: args.python.is_some(),
            warmup: args.common.warmup,
            repeat: args.repeat,
            budget: options.bench.budget,
        });
    }
    let report = run_suite(&problem, &options, &mut progress_printer(args.quiet))?;

    let text = match args.format {
        Format::Table => render_table(
            &report,
            args.output.is_none() && std::io::stdout().is_terminal(),
        ),
        Format::Csv => render_csv(&report)?,
        Format::Markdown => render_markdown(&report),
        Format::Json => {
            serde_json::to_string_pretty(&report).context("serialising the report")? + "\n"
        }
    };
    match &args.output {
        Some(path) => {
            write_atomically(path, &text)?;
            if !args.quiet {
                eprintln!("gdbench: wrote {}", path.display());
            }
        }
        None => print!("{text}"),
    }
    if interrupt::requested() {
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit_code(&report, &solvers, &named_peers))
}

fn sweep(args: &SweepArgs) -> anyhow::Result<u8> {
    let (n_min, n_max) = (to_usize(args.n_min)?, to_usize(args.n_max)?);
    if n_min < 2 || n_max < n_min {
        return Err(GdError::InvalidParameter {
            name: "--n-min/--n-max",
            problem: format!("need 2 ≤ --n-min ≤ --n-max, got {n_min} and {n_max}"),
        }
        .into());
    }
    if !(args.budget.is_finite() && args.budget > 0.0) {
        return Err(GdError::InvalidParameter {
            name: "--budget",
            problem: format!("{} is not a time: give seconds > 0, e.g. 2", args.budget),
        }
        .into());
    }
    let output_kind = match &args.output {
        Some(path) => Some(sweep_output_kind(path)?),
        None => None,
    };
    gdbench::problem::check_fits(n_max)?;
    // Each point's problem is validated as a whole before any work.
    Problem::new(Dataset::synthetic(2, args.sigma, args.seed)?, args.mu, 1)?;
    let mut options = suite_options(&args.common, None)?;
    open_and_probe(&args.common, &mut options)?;
    options.bench.budget = std::time::Duration::from_secs_f64(args.budget);
    let settings = SweepSettings {
        sizes: log_spaced(n_min, n_max, args.points as usize),
        budget: options.bench.budget,
        sigma: args.sigma,
        seed: args.seed,
        mu: args.mu,
    };
    let mut write_point = |points: &[SweepPoint]| -> gdbench::Result<()> {
        if let (Some(path), Some(kind)) = (&args.output, output_kind) {
            write_atomically(path, &sweep_text(points, kind)?)?;
        }
        if let Some(plot) = &args.plot {
            write_atomically(plot, &render_plot(points)?)?;
        }
        Ok(())
    };
    let points = run_sweep(
        &settings,
        &options,
        &mut write_point,
        &mut progress_printer(args.quiet),
    )?;
    for p in &points {
        println!("N = {} ({} epochs)", p.n, p.epochs);
        for r in &p.runs {
            let us = r
                .epoch_us
                .map_or("–".to_string(), |u| format!("{u:.3} µs/epoch"));
            let gbs = r
                .effective_gb_s
                .map_or(String::new(), |g| format!(", {g:.1} GB/s"));
            let status = r.status.to_string();
            println!("  {:<16} {status:<11} {us}{gbs}  [{}]", r.solver, r.device);
        }
    }
    for (label, n) in crossovers(&series(&points)) {
        println!("{label} overtakes the best CPU solver at N = {n}");
    }
    Ok(if interrupt::requested() {
        exit::INTERRUPTED
    } else {
        0
    })
}

/// Sweep output formats, by extension.
#[derive(Debug, Clone, Copy)]
enum SweepOutput {
    Json,
    Csv,
}

fn sweep_output_kind(path: &std::path::Path) -> Result<SweepOutput, GdError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => Ok(SweepOutput::Json),
        Some("csv") => Ok(SweepOutput::Csv),
        _ => Err(GdError::InvalidParameter {
            name: "--output",
            problem: format!("{}: a sweep writes .json or .csv", path.display()),
        }),
    }
}

/// The points so far as JSON (`{"points": [...]}`) or CSV (`n,epochs,` then the run columns).
fn sweep_text(points: &[SweepPoint], kind: SweepOutput) -> gdbench::Result<String> {
    Ok(match kind {
        SweepOutput::Json => {
            let value = serde_json::json!({
                "gdbench_version": env!("CARGO_PKG_VERSION"),
                "points": points,
            });
            serde_json::to_string_pretty(&value).expect("points serialise") + "\n"
        }
        SweepOutput::Csv => report::render_sweep_csv(points)?,
    })
}

/// A `--baseline` must name a solver or a peer row.
fn checked_baseline(name: &str) -> Result<String, GdError> {
    let name = name.trim().to_ascii_lowercase();
    let known = SolverId::from_name(&name).is_some()
        || gdbench::peers::PEER_NAMES
            .iter()
            .any(|p| name.starts_with(p));
    if known {
        Ok(name)
    } else {
        Err(GdError::InvalidParameter {
            name: "--baseline",
            problem: format!(
                "`{name}` is neither a solver nor a peer: choose from {}, or a peer row ({})",
                SolverId::ALL.map(|s| s.name()).join(", "),
                gdbench::peers::PEER_NAMES.join(", ")
            ),
        })
    }
}

fn to_usize(n: u64) -> Result<usize, GdError> {
    usize::try_from(n).map_err(|_| GdError::InvalidParameter {
        name: "--n",
        problem: format!("{n} does not fit this machine's address space"),
    })
}

/// The worst outcome decides: a mismatch (a row, or the reference against cpu-moments), then a
/// named solver or peer that did not run, then divergence.
fn exit_code(report: &Report, solvers: &[Selected], named_peers: &[String]) -> u8 {
    let named = |name: &str| {
        solvers.iter().any(|s| s.explicit && s.id.name() == name)
            || named_peers.iter().any(|p| name.starts_with(p.as_str()))
    };
    let runs = &report.runs;
    let cross_check_failed = report.reference.cross_check.status == Status::Mismatch;
    if cross_check_failed || runs.iter().any(|r| r.status == Status::Mismatch) {
        exit::MISMATCH
    } else if runs
        .iter()
        .any(|r| matches!(r.status, Status::Error | Status::Unavailable) && named(&r.solver))
    {
        exit::NOT_RUN
    } else if runs.iter().any(|r| r.status == Status::Diverged) {
        exit::DIVERGED
    } else {
        0
    }
}
