//! gdbench's command line: parse, call the library, map failures to exit codes.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command, Format, RunArgs, ShadersCommand};
use gdbench::bench::BenchSettings;
use gdbench::gpu::{self, AdapterChoice, kernels};
use gdbench::peers::{PeerOptions, parse_peers};
use gdbench::report::{self, Report, render_csv, render_markdown, render_table, write_atomically};
use gdbench::solver::{Group, Selected, SolverId, select};
use gdbench::suite::{SuiteOptions, run_suite};
use gdbench::validate::Status;
use gdbench::{Dataset, GdError, Problem, interrupt};

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
        Some(Command::Shaders(ShadersCommand::Dump { dir })) => dump_shaders(&dir),
        Some(Command::Shaders(ShadersCommand::Check { path })) => check_shaders(&path),
        Some(Command::Run(args)) => run(&args),
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

fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let solvers = select(&args.solvers)?;
    let data = match &args.data {
        Some(path) => Dataset::load(path)?,
        None => Dataset::synthetic(to_usize(args.n)?, args.sigma, args.seed)?,
    };
    let problem = Problem::new(data, args.mu, args.epochs)?;
    let mut options = SuiteOptions::new(solvers.clone());
    options.baseline = checked_baseline(&args.baseline)?;
    options.bench = BenchSettings {
        warmup: args.warmup,
        repeat: args.repeat,
        ..BenchSettings::default()
    };
    options.gpu.workgroup_size = args.workgroup_size;
    if let Some(dir) = &args.shaders {
        options.gpu.shaders = kernels::KernelSources::with_overrides(dir)?;
    }
    if solvers.iter().any(|s| s.id.group() == Group::Gpu) {
        let backends = args
            .backend
            .as_deref()
            .map(gpu::parse_backend)
            .transpose()?;
        let opened = gpu::open(&AdapterChoice::parse(&args.adapter), backends)?;
        if opened.contexts.is_empty() && !opened.failures.is_empty() {
            options.no_adapter_reason = Some(opened.failures.join("; "));
        }
        options.adapters = opened.contexts;
    }
    let mut named_peers = Vec::new();
    if let Some(spec) = &args.peers {
        let peers = parse_peers(spec)?;
        named_peers = spec
            .split(',')
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty() && w != "all")
            .collect();
        options.peers = Some(PeerOptions {
            peers,
            python: args.python.clone().unwrap_or_else(|| "python3".into()),
            python_given: args.python.is_some(),
            warmup: args.warmup,
            repeat: args.repeat,
            budget: options.bench.budget,
        });
    }
    let show_progress = !args.quiet && std::io::stderr().is_terminal();
    let report = run_suite(&problem, &options, &mut |line| {
        if show_progress {
            eprintln!("gdbench: {line}");
        }
    })?;

    let text = match args.format {
        Format::Table => render_table(&report),
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

/// The worst outcome decides: mismatch, then a named solver or peer that did not run, then
/// divergence.
fn exit_code(report: &Report, solvers: &[Selected], named_peers: &[String]) -> u8 {
    let named = |name: &str| {
        solvers.iter().any(|s| s.explicit && s.id.name() == name)
            || named_peers.iter().any(|p| name.starts_with(p.as_str()))
    };
    let runs = &report.runs;
    if runs.iter().any(|r| r.status == Status::Mismatch) {
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
