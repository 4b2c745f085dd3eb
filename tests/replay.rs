//! The pass-by-pass replay behind a custom kernel's diagnosis: the built-in kernels, whose
//! answers are right, hold against their CPU twins in every pass, on every strategy, with a
//! scalar tail, several reduction levels and data cut into chunks. (The bugs it must name are
//! planted in tests/mutations.rs.)

mod common;

use common::{gpu_or_skip, gpu_solvers, may_be_unavailable, synthetic};
use gdbench::GdError;
use gdbench::gpu::{GpuSettings, GpuSolver, Replayed};

#[test]
fn every_built_in_pass_holds_against_its_cpu_twin() {
    let Some(ctx) = gpu_or_skip("replay") else {
        return;
    };
    // N % 4 = 3; multipass reduces 10 003 errors over two levels. Then a 16 KiB binding cap
    // cuts x and d into chunks of 4 096 samples (2 048 in f64), each with its own first level.
    let problem = synthetic(10_003, 0.5, 7, 0.05, 3);
    let chunked = GpuSettings {
        max_binding_bytes: Some(16 << 10),
        ..GpuSettings::default()
    };
    let mut replayed = 0;
    for settings in [GpuSettings::default(), chunked] {
        for id in gpu_solvers() {
            let strategy = id.strategy().unwrap();
            let mut solver = match GpuSolver::new(ctx.clone(), strategy, &problem, &settings) {
                Ok(solver) => solver,
                Err(GdError::Unavailable { reason }) if may_be_unavailable(id, &ctx, &reason) => {
                    continue;
                }
                Err(e) => panic!("{id}: {e}"),
            };
            assert_eq!(
                solver.replay(&problem, 3).unwrap(),
                Replayed::Held(3),
                "{id}"
            );
            replayed += 1;
        }
    }
    assert!(replayed >= 8, "{replayed} solvers replayed");
}
