//! Peer rows: the article's own contestants (pure Python, NumPy, TensorFlow) and PyTorch and JAX,
//! run by `peers/peers.py` (embedded in the binary) on the very same data, read back as runs.

use std::io::{BufRead, BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use npyz::WriterBuilder;
use serde::Deserialize;

use crate::error::{GdError, Result};
use crate::problem::Problem;
use crate::progress::{Progress, Task};
use crate::solver::{DeviceType, Precision};
use crate::validate::Status;

/// The peer script, so an installed gdbench still has it.
const SCRIPT: &str = include_str!("../peers/peers.py");

/// Every peer `--peers` accepts (besides `all`).
pub const PEER_NAMES: [&str; 5] = ["python", "numpy", "tensorflow", "torch", "jax"];

/// Parses `--peers`: comma-separated names from [`PEER_NAMES`], or `all`.
pub fn parse_peers(spec: &str) -> Result<Vec<&'static str>> {
    let mut picked: Vec<&'static str> = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let word = word.to_ascii_lowercase();
        if word == "all" {
            picked.extend(PEER_NAMES);
            continue;
        }
        let name = PEER_NAMES.into_iter().find(|p| *p == word).ok_or_else(|| {
            GdError::InvalidParameter {
                name: "--peers",
                problem: format!(
                    "unknown peer `{word}`: choose from {}, all",
                    PEER_NAMES.join(", ")
                ),
            }
        })?;
        picked.push(name);
    }
    picked.sort_by_key(|p| PEER_NAMES.iter().position(|n| n == p));
    picked.dedup();
    Ok(picked)
}

impl PeerOptions {
    /// Options for `--peers SPEC` (checked) run by `python` (default `python3`), timed like the
    /// solvers.
    pub fn new(
        spec: &str,
        python: Option<PathBuf>,
        warmup: u32,
        repeat: Option<u32>,
        budget: Duration,
    ) -> Result<Self> {
        let peers = parse_peers(spec)?;
        let named = spec
            .split(',')
            .map(|w| w.trim().to_ascii_lowercase())
            .filter_map(|w| PEER_NAMES.into_iter().find(|p| *p == w))
            .collect();
        Ok(Self {
            peers,
            named,
            python_given: python.is_some(),
            python: python.unwrap_or_else(|| "python3".into()),
            warmup,
            repeat,
            budget,
        })
    }
}

/// How to run the peers.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerOptions {
    /// Which peers, in [`PEER_NAMES`] order.
    pub peers: Vec<&'static str>,
    /// The peers named one by one (not through `all`): one that cannot run fails the command.
    pub named: Vec<&'static str>,
    /// The interpreter.
    pub python: PathBuf,
    /// True when the user named the interpreter: then a missing one is an error, not a row.
    pub python_given: bool,
    /// Untimed solves before timing.
    pub warmup: u32,
    /// Timed solves; `None` fits `budget`.
    pub repeat: Option<u32>,
    /// Seconds of timed solving to aim for per row.
    pub budget: Duration,
}

/// A peer row's precision: f32 or f64 only.
fn peer_precision<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Precision, D::Error> {
    match <Precision as Deserialize>::deserialize(deserializer)? {
        p @ (Precision::F16 | Precision::Df64) => Err(serde::de::Error::custom(format!(
            "peers report f32 or f64, not {p}"
        ))),
        p => Ok(p),
    }
}

/// `[w0, w1]` as the peer script sends them: a weight that is not finite (a diverging step) is
/// `null`, since JSON has no NaN or infinity.
pub type PeerWeights = [Option<f64>; 2];

/// The weights, a weight the peer sent as `null` (not finite) as NaN: outside every sane bound,
/// so the descent counts as diverged.
fn finite_or_nan(w: PeerWeights) -> [f64; 2] {
    w.map(|v| v.unwrap_or(f64::NAN))
}

/// One row the peer script reported.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PeerRow {
    /// Row name, e.g. `numpy`, `tensorflow-v1`, `torch-cuda`.
    pub peer: String,
    /// `f32` or `f64` (f16 storage is gdbench's own rung, judged on rounded data: refused here).
    #[serde(deserialize_with = "peer_precision")]
    pub precision: Precision,
    /// Device name (`cpu`, a CUDA device...).
    pub device: String,
    /// `cpu`, `discrete-gpu`, `integrated-gpu` or `other` (a GPU the library does not classify).
    pub device_type: DeviceType,
    /// Library and version, e.g. `numpy 2.4.6`.
    pub library: String,
    /// Threads the library computes with.
    pub threads: usize,
    /// `ok`, `unavailable` or `error`.
    pub status: Status,
    /// Why not ok.
    pub message: String,
    /// Final weights of a single-step problem.
    pub w: Option<PeerWeights>,
    /// Seconds of compilation, tracing, graph building or transfer.
    pub setup_s: Option<f64>,
    /// Each timed solve, in seconds.
    pub times_s: Vec<f64>,
    /// Weights of the spot check's short descent, run untimed during setup.
    #[serde(default)]
    pub spot_w: Option<PeerWeights>,
    /// Epochs of that descent.
    #[serde(default)]
    pub spot_epochs: Option<u64>,
    /// A step-size search's final weights: one pair per step, in step order (instead of `w`).
    #[serde(default)]
    pub ws: Option<Vec<PeerWeights>>,
    /// A search's spot-check weights, one pair per step (instead of `spot_w`).
    #[serde(default)]
    pub spot_ws: Option<Vec<PeerWeights>>,
}

impl PeerRow {
    fn unavailable(peer: &str, message: String) -> Self {
        Self {
            peer: peer.to_string(),
            precision: if matches!(peer, "python" | "numpy") {
                Precision::F64
            } else {
                Precision::F32
            },
            device: "cpu".into(),
            device_type: DeviceType::Cpu,
            library: String::new(),
            threads: 1,
            status: Status::Unavailable,
            message,
            w: None,
            setup_s: None,
            times_s: Vec::new(),
            spot_w: None,
            spot_epochs: None,
            ws: None,
            spot_ws: None,
        }
    }

    /// Final weights per step, in step order: a search's `ws`, else the one step's `w` (a
    /// weight sent as `null` is NaN).
    pub fn weights(&self) -> Option<Vec<[f64; 2]>> {
        Self::per_step(self.ws.as_deref(), self.w)
    }

    /// The spot check's weights per step, like [`PeerRow::weights`].
    pub fn spot_weights(&self) -> Option<Vec<[f64; 2]>> {
        Self::per_step(self.spot_ws.as_deref(), self.spot_w)
    }

    fn per_step(many: Option<&[PeerWeights]>, one: Option<PeerWeights>) -> Option<Vec<[f64; 2]>> {
        match many {
            Some(ws) => Some(ws.iter().copied().map(finite_or_nan).collect()),
            None => one.map(|w| vec![finite_or_nan(w)]),
        }
    }

    /// An `ok` row's weights (final, and spot-check when sent) must come one pair per step:
    /// otherwise it becomes an `error` row saying what came instead (a row with no final weights
    /// at all is left to say so where it is read).
    fn check_steps(&mut self, steps: usize) {
        if self.status != Status::Ok {
            return;
        }
        let wrong = |w: Option<Vec<[f64; 2]>>| w.map(|w| w.len()).filter(|&k| k != steps);
        let found = wrong(self.weights())
            .map(|k| (k, "final"))
            .or_else(|| wrong(self.spot_weights()).map(|k| (k, "spot-check")));
        if let Some((got, what)) = found {
            self.status = Status::Error;
            self.message = format!(
                "the peer reported {got} pair(s) of {what} weights for {steps} step size(s)"
            );
        }
    }
}

/// Writes the problem as an (N, 2) float64 `.npy` for the peers.
fn write_npy(problem: &Problem, path: &Path) -> std::io::Result<()> {
    let file = BufWriter::new(std::fs::File::create(path)?);
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[problem.n() as u64, 2])
        .writer(file)
        .begin_nd()?;
    for (x, d) in problem.x().iter().zip(problem.d()) {
        writer.push(x)?;
        writer.push(d)?;
    }
    writer.finish()
}

/// Runs the peer script on `problem` (each peer also runs `spot_epochs` epochs, untimed, for the
/// spot check; a step-size search runs every step, and each row carries one pair of weights per
/// step, in step order); its progress lines feed a bar per peer. A missing module or interpreter becomes an
/// `unavailable` row, a failing peer an `error` row with its last line of stderr; only a
/// `--python` that does not exist is an error.
pub fn run_peers(
    problem: &Problem,
    options: &PeerOptions,
    spot_epochs: u64,
    progress: &Progress,
) -> Result<Vec<PeerRow>> {
    if options.peers.is_empty() {
        return Ok(Vec::new());
    }
    let dir = tempfile::tempdir().map_err(|e| io("temporary folder", e))?;
    let (script, request) = write_request(problem, options, spot_epochs, dir.path())?;
    let mut child = match spawn(options, &script, &request)? {
        Ok(child) => child,
        Err(unavailable) => return Ok(unavailable),
    };
    // Rows arrive on stdout (collected on a thread); progress on stderr, relayed as it comes.
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let collector =
        std::thread::spawn(move || stdout.lines().map_while(|l| l.ok()).collect::<Vec<_>>());
    let stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let last_stderr = relay_progress(stderr, progress);
    let lines = collector.join().unwrap_or_default();
    let status = child.wait().map_err(|e| io("waiting for python", e))?;
    let (mut rows, odd_output) = parse_rows(lines, problem);
    // Peers the script never reported on (it crashed, or printed something else) become errors.
    for peer in &options.peers {
        if !rows.iter().any(|r| r.peer.starts_with(peer)) {
            let why = if !last_stderr.is_empty() {
                last_stderr.clone()
            } else if let Some(o) = &odd_output {
                format!("unexpected output: {o}")
            } else {
                format!("the peer script exited with {status} and no result")
            };
            let mut row = PeerRow::unavailable(peer, why);
            row.status = Status::Error;
            rows.push(row);
        }
    }
    Ok(rows)
}

/// A peer run's I/O failure, saying what it was doing.
fn io(what: &str, e: std::io::Error) -> GdError {
    GdError::Peers {
        message: format!("peers: {what}: {e}"),
    }
}

/// The peer script, the problem (as .npy) and the request written into `dir`: the script's path
/// and the request's.
fn write_request(
    problem: &Problem,
    options: &PeerOptions,
    spot_epochs: u64,
    dir: &Path,
) -> Result<(PathBuf, PathBuf)> {
    let script = dir.join("peers.py");
    std::fs::write(&script, SCRIPT).map_err(|e| io("writing the peer script", e))?;
    let data = dir.join("problem.npy");
    write_npy(problem, &data).map_err(|e| io("writing the problem", e))?;
    let request = serde_json::json!({
        "data": data,
        "mu": problem.single_mu(),
        "steps": problem.steps(),
        "epochs": problem.epochs(),
        "spot_epochs": spot_epochs,
        "peers": options.peers,
        "warmup": options.warmup,
        "repeat": options.repeat,
        "budget": options.budget.as_secs_f64(),
    });
    let request_path = dir.join("request.json");
    std::fs::write(&request_path, request.to_string()).map_err(|e| io("writing the request", e))?;
    Ok((script, request_path))
}

/// The peer script started on the request; when Python cannot run, every peer's `unavailable`
/// row instead (an error when the user named the interpreter with `--python`).
fn spawn(
    options: &PeerOptions,
    script: &Path,
    request: &Path,
) -> Result<std::result::Result<Child, Vec<PeerRow>>> {
    let child = Command::new(&options.python)
        .arg(script)
        .arg(request)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    match child {
        Ok(c) => Ok(Ok(c)),
        Err(e) if options.python_given => Err(GdError::InvalidParameter {
            name: "--python",
            problem: format!(
                "cannot run {}: {e}; give the path of a Python 3 interpreter",
                options.python.display()
            ),
        }),
        Err(e) => {
            let why = format!(
                "{} cannot be run ({e}): install Python 3 or pass --python PATH",
                options.python.display()
            );
            Ok(Err(options
                .peers
                .iter()
                .map(|p| PeerRow::unavailable(p, why.clone()))
                .collect()))
        }
    }
}

/// Relays the script's progress lines to `progress` (a bar per peer), other lines as they are;
/// the last non-empty line, which says why when the script fails.
fn relay_progress(stderr: impl BufRead, progress: &Progress) -> String {
    let mut last = String::new();
    let mut bar: Option<(String, Task)> = None;
    for line in stderr.lines().map_while(|l| l.ok()) {
        match parse_progress(&line) {
            Some(p) => {
                if bar.as_ref().is_none_or(|(name, _)| name != p.peer) {
                    bar = Some((p.peer.to_string(), progress.task(p.peer)));
                }
                let (_, task) = bar.as_ref().expect("just set");
                if let Some((done, of)) = p.repeat {
                    task.set_steps(of);
                    task.set_position(done);
                }
                task.set_message(p.doing);
            }
            None => progress.println(&line),
        }
        if !line.trim().is_empty() {
            last = line;
        }
    }
    last
}

/// The rows the script printed (each checked against the problem's step count), and the last
/// line that was not a row.
fn parse_rows(lines: Vec<String>, problem: &Problem) -> (Vec<PeerRow>, Option<String>) {
    let mut rows = Vec::new();
    let mut odd_output = None;
    for line in lines {
        match serde_json::from_str::<PeerRow>(&line) {
            Ok(mut row) => {
                row.check_steps(problem.steps().len());
                rows.push(row);
            }
            Err(_) => odd_output = Some(line),
        }
    }
    (rows, odd_output)
}

/// One progress line of the peer script: `peers: NAME: WHAT`, where WHAT may be `repeat K/R`.
#[derive(Debug, PartialEq)]
struct PeerProgress<'a> {
    peer: &'a str,
    doing: &'a str,
    /// Repeats done before this one, and how many there will be.
    repeat: Option<(u64, u64)>,
}

fn parse_progress(line: &str) -> Option<PeerProgress<'_>> {
    let (peer, doing) = line.strip_prefix("peers: ")?.split_once(": ")?;
    let repeat = doing.strip_prefix("repeat ").and_then(|r| {
        let (k, of) = r.split_once('/')?;
        Some((
            k.trim().parse::<u64>().ok()?.saturating_sub(1),
            of.trim().parse().ok()?,
        ))
    });
    Some(PeerProgress {
        peer,
        doing,
        repeat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse_into_bars() {
        assert_eq!(
            parse_progress("peers: numpy: repeat 3/10"),
            Some(PeerProgress {
                peer: "numpy",
                doing: "repeat 3/10",
                repeat: Some((2, 10))
            })
        );
        let warm = parse_progress("peers: tensorflow-v1: warm-up 1/1").unwrap();
        assert_eq!((warm.peer, warm.repeat), ("tensorflow-v1", None));
        assert_eq!(parse_progress("Traceback (most recent call last):"), None);
    }

    #[test]
    fn peer_rows_deserialise_into_gdbench_types() {
        let row: PeerRow = serde_json::from_str(
            r#"{"peer": "torch-cuda", "precision": "f32", "device": "NVIDIA H200",
                "device_type": "discrete-gpu", "library": "torch 2.9", "threads": 16,
                "status": "ok", "message": "", "w": [1.0, 2.0], "setup_s": 0.5, "times_s": [0.1]}"#,
        )
        .unwrap();
        assert_eq!(
            (row.precision, row.device_type, row.status),
            (Precision::F32, DeviceType::DiscreteGpu, Status::Ok)
        );
        let odd = r#"{"peer": "x", "precision": "bf16", "device": "", "device_type": "cpu",
            "library": "", "threads": 1, "status": "ok", "message": "", "w": null,
            "setup_s": null, "times_s": []}"#;
        assert!(serde_json::from_str::<PeerRow>(odd).is_err());
        let f16 = odd.replace("bf16", "f16");
        assert!(serde_json::from_str::<PeerRow>(&f16).is_err(), "{f16}");
    }

    /// A search's row as the script sends it: `ws` and `spot_ws`, one pair per step.
    fn search_row(ws: &str, spot_ws: &str) -> PeerRow {
        serde_json::from_str(&format!(
            r#"{{"peer": "numpy", "precision": "f64", "device": "cpu", "device_type": "cpu",
                "library": "numpy 2", "threads": 2, "status": "ok", "message": "", "w": null,
                "setup_s": 0.1, "times_s": [0.2], "ws": {ws}, "spot_ws": {spot_ws},
                "spot_epochs": 8}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_search_row_carries_one_pair_per_step_and_null_is_nan() {
        let mut row = search_row(
            "[[1.0, 2.0], [3.0, 4.0], [null, null]]",
            "[[0.1, 0.2], [0.3, 0.4], [5.0, -6.0]]",
        );
        let w = row.weights().unwrap();
        assert_eq!(w[..2], [[1.0, 2.0], [3.0, 4.0]]);
        assert!(w[2].iter().all(|v| v.is_nan()), "{w:?}");
        assert_eq!(row.spot_weights().unwrap()[2], [5.0, -6.0]);
        row.check_steps(3);
        assert_eq!(row.status, Status::Ok, "{}", row.message);
        // One step: `w` and `spot_w` as always, one pair each.
        let one = PeerRow {
            w: Some([Some(1.0), None]),
            spot_w: Some([Some(0.5), Some(0.25)]),
            status: Status::Ok,
            ..PeerRow::unavailable("numpy", String::new())
        };
        let w = one.weights().unwrap();
        assert_eq!((w.len(), w[0][0]), (1, 1.0));
        assert!(w[0][1].is_nan());
        assert_eq!(one.spot_weights().unwrap(), [[0.5, 0.25]]);
    }

    #[test]
    fn a_row_with_the_wrong_number_of_pairs_is_an_error() {
        let mut short = search_row("[[1.0, 2.0], [3.0, 4.0]]", "[[0.1, 0.2], [0.3, 0.4]]");
        short.check_steps(3);
        assert_eq!(short.status, Status::Error);
        assert_eq!(
            short.message,
            "the peer reported 2 pair(s) of final weights for 3 step size(s)"
        );
        let mut spots = search_row("[[1.0, 2.0], [3.0, 4.0]]", "[[0.1, 0.2]]");
        spots.check_steps(2);
        assert_eq!(
            (spots.status, spots.message.as_str()),
            (
                Status::Error,
                "the peer reported 1 pair(s) of spot-check weights for 2 step size(s)"
            )
        );
        // A single `w` on a search (a script that ignored the steps) is refused too.
        let mut single = PeerRow {
            w: Some([Some(1.0), Some(2.0)]),
            status: Status::Ok,
            ..PeerRow::unavailable("numpy", String::new())
        };
        single.check_steps(5);
        assert_eq!(single.status, Status::Error, "{}", single.message);
    }

    #[test]
    fn peer_lists_parse() {
        assert_eq!(parse_peers("numpy,python").unwrap(), ["python", "numpy"]);
        assert_eq!(parse_peers("all").unwrap(), PEER_NAMES);
        let err = parse_peers("matlab").unwrap_err().to_string();
        assert!(
            err.contains("unknown peer `matlab`: choose from python, numpy"),
            "{err}"
        );
    }
}
