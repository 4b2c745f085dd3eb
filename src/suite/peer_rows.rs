//! The peers' stage: pure Python, NumPy and the rest run as rows of the same report, judged
//! like gdbench's own.

use super::SuiteOptions;
use super::judge::{Judging, Row};
use super::row::run_report;
use crate::bench::{BenchSettings, Measurement, TimeStats};
use crate::error::{GdError, Result};
use crate::machine;
use crate::peers::{PeerRow, run_peers};
use crate::problem::Problem;
use crate::progress::Progress;
use crate::report::{RowKind, RunReport};
use crate::solver::{DeviceType, Outcome, SolverInfo};
use crate::validate::Status;

/// The peer rows `options` asks for (none when it asks for none), each judged like a solver's.
pub(super) fn run(
    problem: &Problem,
    options: &SuiteOptions,
    judging: Judging,
    progress: &Progress,
) -> Result<Vec<RunReport>> {
    let Some(peer_options) = options.peers.as_ref() else {
        return Ok(Vec::new());
    };
    let bench = BenchSettings {
        warmup: peer_options.warmup,
        ..options.bench
    };
    let judging = Judging {
        bench: &bench,
        ..judging
    };
    let spot_epochs = judging.expect[0].spot_epochs;
    let peers = run_peers(problem, peer_options, spot_epochs, progress)?;
    Ok(peers
        .into_iter()
        .map(|peer| {
            let row = peer_row(&peer);
            run_report(row, peer_measurement(peer, problem), judging)
        })
        .collect())
}

/// What a peer's row is, apart from its measurement.
fn peer_row(peer: &PeerRow) -> Row {
    let device = if peer.device_type == DeviceType::Cpu {
        machine::cpu_model()
    } else {
        peer.device.clone()
    };
    Row {
        name: peer.peer.clone(),
        info: SolverInfo {
            device,
            device_type: peer.device_type,
            precision: peer.precision,
            threads: peer.threads,
        },
        arithmetic: peer.precision.arithmetic(),
        library: Some(peer.library.clone()).filter(|l| !l.is_empty()),
        algorithmic: false,
        reference: false,
        kind: RowKind::Peer,
    }
}

/// A peer's report as a measurement, like any solver's: its times, and its final weights (one
/// pair per step) as descents.
fn peer_measurement(peer: PeerRow, problem: &Problem) -> Result<Measurement> {
    // Peers report only their final weights (one pair per step): past the sane bound (or not
    // finite) they count as diverged by the end.
    let limit = problem.sane_bound();
    let outcomes = |ws: Vec<[f64; 2]>, epochs: u64| -> Vec<Outcome> {
        ws.into_iter()
            .map(|w| Outcome {
                w,
                diverged_at: (!w.iter().all(|v| v.abs() <= limit)).then_some(epochs),
            })
            .collect()
    };
    let spot = peer
        .spot_weights()
        .zip(peer.spot_epochs)
        .map(|(ws, e)| outcomes(ws, e));
    match (peer.status, peer.weights()) {
        (Status::Ok, Some(ws)) if !peer.times_s.is_empty() => Ok(Measurement {
            prepare_s: peer.setup_s.unwrap_or(0.0),
            time: TimeStats::from_samples(peer.times_s),
            descents: outcomes(ws, problem.epochs()),
            repeat_spread: 0.0,
            phases: Default::default(),
            spot,
            kernel: None,
            note: None,
            pacing: None,
            diverged_run_on: false,
            kernels: Vec::new(),
            clocks: None,
        }),
        (Status::Unavailable, _) => Err(GdError::Unavailable {
            reason: peer.message,
        }),
        _ => Err(GdError::Peers {
            message: if peer.message.is_empty() {
                "the peer reported no result".into()
            } else {
                peer.message
            },
        }),
    }
}
