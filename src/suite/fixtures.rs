//! Hand-made rows and ceilings for the suite's unit tests (and those of the report's modules).

use super::judge::{Judging, Row};
use super::row::run_report;
use crate::bench::{BenchSettings, Measurement, TimeStats};
use crate::machine::LastLevelCache;
use crate::probe::{Ceilings, CpuCeilings, GpuCeilings};
use crate::report::{RowKind, RunReport};
use crate::solver::{DeviceType, Phases, Precision, SolverInfo};
use crate::validate::Expectations;
use crate::{Dataset, Problem};

/// An `ok` f64 CPU row of 100 samples, from a real judging, to be edited by a test.
pub(crate) fn empty_row() -> RunReport {
    hand_made(Precision::F64, false, 100).0
}

pub(crate) fn hand_made(precision: Precision, gpu: bool, n: usize) -> (RunReport, Ceilings) {
    let problem = Problem::new(Dataset::synthetic(n, 0.1, 1).unwrap(), 0.01, 40).unwrap();
    let expect = Expectations::of(&problem);
    let reference = expect.moments.0;
    let bench = BenchSettings::default();
    let row = Row {
        name: "hand-made".into(),
        info: SolverInfo {
            device: if gpu {
                "Some GPU [vulkan]".into()
            } else {
                "cpu".into()
            },
            device_type: if gpu {
                DeviceType::DiscreteGpu
            } else {
                DeviceType::Cpu
            },
            precision,
            threads: 1,
        },
        arithmetic: precision.arithmetic(),
        library: None,
        algorithmic: false,
        reference: false,
        kind: if gpu { RowKind::Gpu } else { RowKind::Cpu },
    };
    // Four repeats of 0.2 s around a 0.25 s median: 40 epochs, so 6.25 ms per epoch.
    let m = Measurement {
        prepare_s: 0.5,
        time: TimeStats::from_samples(vec![0.2, 0.25, 0.25, 0.3]),
        descents: vec![reference],
        repeat_spread: 0.0,
        phases: Phases::default(),
        spot: Some(vec![expect.moments.1]),
        kernel: None,
        note: None,
        pacing: None,
        diverged_run_on: false,
        kernels: Vec::new(),
        clocks: None,
    };
    let j = Judging {
        expect: std::slice::from_ref(&expect),
        reference: std::slice::from_ref(&reference),
        reference_spot: std::slice::from_ref(&expect.moments.1),
        data: problem.data(),
        bench: &bench,
    };
    let ceilings = Ceilings {
        cpu: CpuCeilings {
            read_gb_s_one_core: 10.0,
            read_gb_s_all_cores: 20.0,
            threads: 2,
            buffer_bytes: 1 << 30,
            ..Default::default()
        },
        gpu: vec![GpuCeilings {
            device: "Some GPU [vulkan]".into(),
            read_gb_s: 1000.0,
            buffer_bytes: 1 << 30,
            timed_by: "timestamps".into(),
            measured_s: 0.05,
            round_trip_us: 20.0,
            ..Default::default()
        }],
        gpu_failures: Vec::new(),
    };
    (run_report(row, Ok(m), j), ceilings)
}

/// A 32 MiB last-level cache, whatever this machine has.
pub(crate) const LLC: LastLevelCache = LastLevelCache {
    per_core: 32 << 20,
    total: 64 << 20,
};
