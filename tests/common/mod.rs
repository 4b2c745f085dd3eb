//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::sync::Arc;

use gdbench::gpu::{AdapterChoice, GpuContext};
use gdbench::solver::Group;
use gdbench::{Dataset, Outcome, Problem, SolverId};

/// The CPU solvers, in catalogue order.
pub fn cpu_solvers() -> impl Iterator<Item = SolverId> {
    SolverId::ALL
        .into_iter()
        .filter(|s| s.group() == Group::Cpu)
}

/// The GPU solvers, in catalogue order.
pub fn gpu_solvers() -> impl Iterator<Item = SolverId> {
    SolverId::ALL
        .into_iter()
        .filter(|s| s.group() == Group::Gpu)
}

/// The adapter gdbench picks by default. With none: a failure when `CI` is set (CI installs
/// lavapipe, so a missing adapter is a broken setup), else a loud skip (`None`).
pub fn gpu_or_skip(test: &str) -> Option<Arc<GpuContext>> {
    let opened =
        gdbench::gpu::open(&AdapterChoice::Auto, None).expect("auto never names a missing adapter");
    if let Some(ctx) = opened.contexts.into_iter().next() {
        return Some(ctx);
    }
    let mut why = format!("{test}: no GPU adapter");
    if !opened.failures.is_empty() {
        why += &format!(" ({})", opened.failures.join("; "));
    }
    missing_in_ci_or_skip(&why, "install mesa-vulkan-drivers (or a GPU driver)");
    None
}

/// The reason a preparation was refused as `unavailable`; any other error, or a solver that
/// prepared, fails the test (`what` says what should have been refused).
pub fn unavailable_reason(
    what: &str,
    prepared: gdbench::Result<Box<dyn gdbench::Solver + '_>>,
) -> String {
    match prepared {
        Err(gdbench::GdError::Unavailable { reason }) => reason,
        Err(e) => panic!("{what}: expected unavailable, got {e}"),
        Ok(_) => panic!("{what}: expected unavailable, but it prepared"),
    }
}

/// Why GPU solver `id` may be unavailable on `ctx`: the only reasons a test accepts (a feature
/// the adapter lacks, a size the strategy does not handle). Everything else must run.
pub fn may_be_unavailable(id: SolverId, ctx: &GpuContext, reason: &str) -> bool {
    match id {
        SolverId::GpuSubgroup => {
            !ctx.features.contains(wgpu::Features::SUBGROUP) && reason.contains("SUBGROUP")
        }
        SolverId::GpuPersistent => reason.contains("too large for one workgroup"),
        SolverId::GpuFusedF64 => {
            !ctx.features.contains(wgpu::Features::SHADER_F64) && reason.contains("SHADER_F64")
        }
        SolverId::GpuFusedF16 => {
            !ctx.features.contains(wgpu::Features::SHADER_F16) && reason.contains("SHADER_F16")
        }
        // A compiler that reassociates past df64.wgsl's guards: possible on a user's driver, never
        // on CI's (lavapipe and llvmpipe GL keep them; a regression there must fail).
        SolverId::GpuFusedDf64 => {
            std::env::var_os("CI").is_none() && reason.contains("error-free transforms")
        }
        _ => false,
    }
}

/// What a test needs is missing: under `CI` (which installs it) that is a failure; elsewhere the
/// test is skipped with a banner written to the real stderr, past the harness's capture, so a
/// skip is never silent.
pub fn missing_in_ci_or_skip(why: &str, fix: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{why}; CI must provide it: {fix}");
    }
    let banner = format!("\n!!!!!!!! SKIPPED {why}: {fix} to run it !!!!!!!!\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
}

/// Whether `python3` can import numpy. Without it: a failure under CI (CI installs it), else a
/// loud skip.
pub fn numpy_or_skip(test: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        missing_in_ci_or_skip(
            &format!("{test}: python3 cannot import numpy"),
            "pip install numpy",
        );
    }
    ok
}

/// The article's dataset (NumPy seed 444), committed by `scripts/make_article_fixture.py`.
pub fn article_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/article.npy")
}

/// Prepares and solves once.
pub fn solve(id: SolverId, problem: &Problem) -> Outcome {
    id.prepare(problem).unwrap().solve().unwrap()
}

/// A synthetic problem.
pub fn synthetic(n: usize, sigma: f64, seed: u64, mu: f64, epochs: u64) -> Problem {
    Problem::new(Dataset::synthetic(n, sigma, seed).unwrap(), mu, epochs).unwrap()
}

/// Prepares a GPU solver on `ctx` and solves once.
pub fn solve_on(id: SolverId, problem: &Problem, ctx: &Arc<GpuContext>) -> Outcome {
    id.prepare_on(problem, Some(ctx), &Default::default())
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .solve()
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// A gdbench command line for tests: the small problem every CLI test starts from (N = 2 000,
/// 200 epochs, two repeats, no warm-up, no probe), then what the test adds.
#[derive(Debug, Clone)]
pub struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Run {
    /// The small problem's arguments.
    pub fn small() -> Self {
        let args = [
            "--n",
            "2000",
            "--epochs",
            "200",
            "--repeat",
            "2",
            "--warmup",
            "0",
            "--no-probe",
        ];
        Self {
            args: args.map(String::from).to_vec(),
            env: Vec::new(),
        }
    }

    /// A small `gdbench sweep`: cpu-fused and cpu-moments at N = 100, 1 000 and 10 000, 0.05 s
    /// per solver per point, no probe, no progress.
    pub fn small_sweep() -> Self {
        let args = [
            "sweep",
            "--no-probe",
            "--solvers",
            "cpu-fused,cpu-moments",
            "--n-min",
            "100",
            "--n-max",
            "10000",
            "--points",
            "3",
            "--budget",
            "0.05",
            "--quiet",
        ];
        Self {
            args: args.map(String::from).to_vec(),
            env: Vec::new(),
        }
    }

    /// No arguments yet (for runs that cannot take the small problem's, e.g. `--data`).
    pub fn bare() -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// `extra` after the arguments so far.
    pub fn args(mut self, extra: &[&str]) -> Self {
        self.args.extend(extra.iter().map(|a| a.to_string()));
        self
    }

    /// An environment variable for the process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The arguments, as `refuses` and `gdbench` take them.
    pub fn arg_list(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// Runs it.
    pub fn output(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gdbench"))
            .args(&self.args)
            .env("XDG_RUNTIME_DIR", "/tmp")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("the gdbench binary runs")
    }

    /// Runs it with `--format json`: the parsed report, the exit code and stderr (a report that
    /// is not JSON, or not of its schema, fails the test with stderr).
    pub fn json(&self) -> (serde_json::Value, i32, String) {
        let out = self.clone().args(&["--format", "json"]).output();
        let report = document_or(&stdout(&out), &stderr(&out));
        (
            report,
            out.status.code().expect("an exit code"),
            stderr(&out),
        )
    }
}

/// Runs the gdbench binary with `args`.
pub fn gdbench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gdbench"))
        .args(args)
        .env("XDG_RUNTIME_DIR", "/tmp")
        .output()
        .expect("the gdbench binary runs")
}

/// Runs with bad input: exit 2, one line on stderr containing `expected`, no panic, no output.
pub fn refuses(args: &[&str], expected: &str) {
    let out = gdbench(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains(expected),
        "{args:?}: {err:?} lacks {expected:?}"
    );
    assert!(stdout(&out).is_empty());
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes a `.npy` file by hand (version 1.0) so tests control dtype, order and byte order.
pub fn write_npy(path: &Path, descr: &str, fortran: bool, shape: &[usize], data: &[u8]) {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape_text}, }}",
        if fortran { "True" } else { "False" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

/// The row of `solver` in a JSON report (a panic naming it when there is none).
pub fn row<'r>(report: &'r serde_json::Value, solver: &str) -> &'r serde_json::Value {
    report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["solver"] == solver)
        .unwrap_or_else(|| panic!("no {solver} row in {report}"))
}

/// A JSON document gdbench wrote, parsed and validated against its committed schema
/// (docs/schema/, picked by [`gdbench::schema::kind_of`]): every JSON the tests read is checked.
pub fn document(text: &str) -> serde_json::Value {
    document_or(text, "")
}

/// [`document`], with `context` (stderr, say) in the failure.
pub fn document_or(text: &str, context: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text:.2000}\n{context}"));
    let kind = gdbench::schema::kind_of(&value)
        .unwrap_or_else(|| panic!("not a gdbench document: {text:.2000}"));
    let errors: Vec<String> = validator(kind)
        .iter_errors(&value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "the {kind} document breaks docs/schema/{kind}.schema.json: {}",
        errors.join("; ")
    );
    value
}

/// The committed schema of document `kind`, compiled once.
pub fn validator(kind: &str) -> &'static jsonschema::Validator {
    static VALIDATORS: std::sync::OnceLock<
        std::collections::HashMap<&'static str, jsonschema::Validator>,
    > = std::sync::OnceLock::new();
    VALIDATORS
        .get_or_init(|| {
            gdbench::schema::documents()
                .into_iter()
                .map(|(name, _)| {
                    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join(format!("docs/schema/{name}.schema.json"));
                    let text = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    let schema = serde_json::from_str(&text).expect("a schema is JSON");
                    let validator = jsonschema::validator_for(&schema)
                        .unwrap_or_else(|e| panic!("{}: not a schema: {e}", path.display()));
                    (name, validator)
                })
                .collect()
        })
        .get(kind)
        .unwrap_or_else(|| panic!("no schema named {kind}"))
}
