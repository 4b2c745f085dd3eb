//! gdbench's command line: parse, call the library, print, exit.

mod cli;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use cli::{
    Cli, Command, CompareArgs, RunArgs, ShadersCommand, SweepArgs, TextFormat, WatchArgs, backends,
};
use gdbench::error::exit;
use gdbench::gpu::{self, AdapterChoice, shaders, translate::Target};
use gdbench::progress::Progress;
use gdbench::report::{
    self, TextStyle, render_models_plot, render_plot, render_sweep_summary, write_atomically,
};
use gdbench::suite::run_suite;
use gdbench::sweep::{SweepFormat, SweepOver, SweepPoint, run_sweep};
use gdbench::{GdError, interrupt, probe};

fn main() -> ExitCode {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: nothing else runs yet; no other thread can read the environment concurrently.
        // Mesa's drivers print an error at start-up when this is unset; a temp dir quiets them.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    let cli: Cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    interrupt::install_handler();
    // Its time is the command's start.
    let _ = gdbench::provenance::Provenance::now();
    let timed = matches!(
        cli.command,
        None | Some(Command::Run(_) | Command::Sweep(_) | Command::Probe { .. })
    );
    // For people watching a sweep or a probe; a run's report says it on its own first line.
    if cfg!(debug_assertions) && timed && std::io::stderr().is_terminal() {
        eprintln!(
            "gdbench: this is a debug build: its timings are not representative (use `cargo run --release`)"
        );
    }
    let result = match cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(&args),
        Some(Command::Sweep(args)) => sweep(&args),
        Some(Command::Solvers) => Ok(print(&gdbench::solver::catalogue())),
        Some(Command::Adapters { backend }) => adapters(backend.as_deref()),
        Some(Command::Probe {
            adapter,
            backend,
            format,
        }) => probe(&adapter, backend.as_deref(), format),
        Some(Command::Compare(args)) => compare(&args),
        Some(Command::Gallery { dir }) => gallery(&dir),
        Some(Command::Shaders(ShadersCommand::Dump { dir })) => dump_shaders(&dir),
        Some(Command::Shaders(ShadersCommand::Check { path, targets })) => {
            check_shaders(&path, &targets)
        }
        Some(Command::Shaders(ShadersCommand::Watch(args))) => watch_shaders(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("gdbench: error: {e:#}");
            let code = e
                .downcast_ref::<GdError>()
                .map_or(exit::FAILURE, GdError::exit_code);
            ExitCode::from(code)
        }
    }
}

/// Prints `text` as it is; the command succeeded.
fn print(text: &str) -> u8 {
    print!("{text}");
    exit::SUCCESS
}

/// `gdbench run`: every input checked, then adapters and ceilings, the suite, the report.
fn run(args: &RunArgs) -> anyhow::Result<u8> {
    args.check_roofline()?;
    let mut options = args.common.options(args.repeat)?;
    let problem = args.problem()?;
    options.peers = args.peers(options.bench.budget)?;
    args.common.open_and_probe(&mut options)?;
    let report = run_suite(&problem, &options, &Progress::new(args.quiet))?;

    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let style = TextStyle {
        color: to_terminal,
        terminal_width: to_terminal
            .then(|| console::Term::stdout().size_checked())
            .flatten()
            .map(|(_, columns)| usize::from(columns)),
        wide: args.wide,
        explain: args.explain,
    };
    let text = report::render(&report, args.format.into(), &style)?;
    match &args.output {
        Some(path) => {
            write_atomically(path, &text)?;
            if !args.quiet {
                eprintln!("gdbench: wrote {}", path.display());
            }
        }
        None => print!("{text}"),
    }
    // After the report, so a plot that cannot be drawn never costs the run its report.
    if let Some(plot) = &args.plot {
        match report::render_search_plot(&report)? {
            Some(svg) => {
                write_atomically(plot, &svg)?;
                if !args.quiet {
                    eprintln!("gdbench: wrote {}", plot.display());
                }
            }
            None => eprintln!(
                "gdbench: no plot written to {}: no row ran the search (add cpu-fused to --solvers)",
                plot.display()
            ),
        }
    }
    if let Some(path) = &args.roofline {
        write_atomically(path, &report::render_roofline(&report)?)?;
        if !args.quiet {
            eprintln!("gdbench: wrote {}", path.display());
        }
    }
    Ok(report.exit_status(|row| options.named(row)))
}

/// `gdbench shaders watch DIR`: a screen per save until Ctrl-C.
fn watch_shaders(args: &WatchArgs) -> anyhow::Result<u8> {
    let problem = args.problem()?;
    let mut options = args.options()?;
    let choice = AdapterChoice::parse(&args.adapter);
    options.open_and_probe(&choice, backends(args.backend.as_deref())?, false)?;
    if options.adapters.is_empty() {
        return Err(GdError::Unavailable {
            reason: options
                .no_adapter_reason
                .clone()
                .unwrap_or_else(|| gpu::NO_ADAPTER_HINT.into()),
        }
        .into());
    }
    gdbench::watch::watch(&args.dir, &problem, &options, &mut std::io::stdout())?;
    Ok(exit::SUCCESS)
}

/// `gdbench sweep`: every point written (and plotted) as soon as it is measured.
fn sweep(args: &SweepArgs) -> anyhow::Result<u8> {
    let settings = args.settings()?;
    let output = args
        .output
        .as_deref()
        .map(SweepFormat::for_path)
        .transpose()?;
    let mut options = args.common.options(args.repeat)?;
    args.common.open_and_probe(&mut options)?;
    options.bench.budget = settings.budget;
    let ceilings = options.ceilings.clone();
    let adapters = options.adapters.clone();
    let mut write_points = |points: &[SweepPoint]| -> gdbench::Result<()> {
        if let (Some(path), Some(format)) = (&args.output, output) {
            write_atomically(path, &format.render(points, ceilings.as_ref(), &adapters)?)?;
        }
        if let Some(plot) = &args.plot {
            let svg = match settings.over {
                SweepOver::N => render_plot(points, ceilings.as_ref())?,
                SweepOver::Models => render_models_plot(points, ceilings.as_ref())?,
            };
            write_atomically(plot, &svg)?;
        }
        Ok(())
    };
    let progress = Progress::new(args.quiet);
    let points = run_sweep(&settings, &options, &mut write_points, &progress)?;
    print!("{}", render_sweep_summary(&points, settings.over));
    // As a run's, over every point, except that `unavailable` rows are excused even for a named
    // solver: strategies have sizes they do not handle.
    Ok(report::exit_status(
        points.iter().flat_map(|p| &p.runs),
        points.iter().any(|p| p.reference_mismatch),
        interrupt::requested(),
        |_| false,
    ))
}

fn adapters(backend: Option<&str>) -> anyhow::Result<u8> {
    let adapters = gpu::list_adapters(backends(backend)?);
    if adapters.is_empty() {
        return Ok(print(&format!("{}\n", gpu::NO_ADAPTER_HINT)));
    }
    Ok(print(
        &adapters.iter().map(ToString::to_string).collect::<String>(),
    ))
}

/// `gdbench probe`: the ceilings alone, as text or as a [`probe::ProbeDocument`].
fn probe(adapter: &str, backend: Option<&str>, format: TextFormat) -> anyhow::Result<u8> {
    let opened = gpu::open(&AdapterChoice::parse(adapter), backends(backend)?)?;
    let ceilings = probe::measure_with_flops(&opened.contexts);
    match format {
        TextFormat::Table => {
            print!("{ceilings:#}");
            if opened.contexts.is_empty() {
                println!("{}", gpu::NO_ADAPTER_HINT);
            }
        }
        TextFormat::Json => print!(
            "{}",
            probe::ProbeDocument::new(ceilings, &opened.contexts).to_json()
        ),
    }
    Ok(exit::SUCCESS)
}

/// `gdbench compare`: the flags checked before the files are read; exit 6 when `--fail-if-slower`
/// finds a row slower beyond its percentage (each such row named on stderr).
fn compare(args: &CompareArgs) -> anyhow::Result<u8> {
    let threshold = report::check_percent("--threshold", args.threshold)?;
    let fail_if_slower = args
        .fail_if_slower
        .map(|pct| report::check_percent("--fail-if-slower", pct))
        .transpose()?;
    let (ra, rb) = (
        report::read_report(&args.a, "A")?,
        report::read_report(&args.b, "B")?,
    );
    if !args.different_problems {
        report::check_same_problem(&ra, &rb)?;
    }
    let comparison = report::compare(&ra, &rb, threshold)?;
    let (a, b) = (args.a.display().to_string(), args.b.display().to_string());
    print!(
        "{}",
        match args.format {
            TextFormat::Table => report::render_comparison(&comparison, &a, &b),
            TextFormat::Json => report::render_comparison_json(&comparison, &a, &b),
        }
    );
    let Some(pct) = fail_if_slower else {
        return Ok(exit::SUCCESS);
    };
    let regressions = comparison.regressions(pct);
    for r in &regressions {
        let [lo, _] = r.ci95.unwrap_or_default();
        eprintln!(
            "gdbench: {} ({}) is slower in B beyond {pct} %: B / A is at least {lo:.3} (95 % interval)",
            r.solver, r.device
        );
    }
    Ok(if regressions.is_empty() {
        exit::SUCCESS
    } else {
        exit::REGRESSED
    })
}

/// `gdbench gallery DIR`: DIR/README.md written from the reports in DIR.
fn gallery(dir: &Path) -> anyhow::Result<u8> {
    let page = report::render_gallery(dir)?;
    let path = dir.join(report::gallery::PAGE);
    write_atomically(&path, &page)?;
    eprintln!("gdbench: wrote {}", path.display());
    Ok(exit::SUCCESS)
}

fn dump_shaders(dir: &Path) -> anyhow::Result<u8> {
    for path in shaders::dump(dir)? {
        println!("{}", path.display());
    }
    Ok(exit::SUCCESS)
}

/// Checks one .wgsl or every .wgsl in a folder (translating for `targets`) and prints each
/// failure, or the file with the targets it passed.
fn check_shaders(path: &Path, targets: &str) -> anyhow::Result<u8> {
    let targets = Target::parse_list(targets)?;
    let verdicts = gdbench::gpu::check::check_path(path, &targets)?;
    for v in &verdicts {
        if v.failures.is_empty() {
            let passed: Vec<&str> = v.passed.iter().map(|t| t.name()).collect();
            match passed.is_empty() {
                true => println!("ok: {}", v.path.display()),
                false => println!("ok: {} ({})", v.path.display(), passed.join(", ")),
            }
            if let Some(note) = &v.note {
                println!("  {note}");
            }
        }
        for failure in &v.failures {
            println!("{failure}");
        }
    }
    let failed = verdicts.iter().any(|v| !v.failures.is_empty());
    Ok(if failed {
        exit::BAD_INPUT
    } else {
        exit::SUCCESS
    })
}
