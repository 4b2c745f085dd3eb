//! Criterion benches of the GPU solvers on the adapter gdbench picks by default, at N = 1e4 and
//! 1e6. With no adapter they print why and measure nothing. On a software adapter (lavapipe)
//! these are CPU timings. Run: `cargo bench --bench gpu_solvers`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gdbench::gpu::{AdapterChoice, GpuSettings};
use gdbench::solver::Group;
use gdbench::{Dataset, GdError, Problem, SolverId};

fn solvers(c: &mut Criterion) {
    let opened = gdbench::gpu::open(&AdapterChoice::Auto, None).expect("auto never fails");
    let Some(ctx) = opened.contexts.first() else {
        eprintln!(
            "no GPU adapter: nothing to bench ({})",
            gdbench::gpu::NO_ADAPTER_HINT
        );
        return;
    };
    eprintln!("adapter: {} ({})", ctx.label(), ctx.device_type());
    for (n, epochs) in [(10_000usize, 100u64), (1_000_000, 10)] {
        let problem =
            Problem::new(Dataset::synthetic(n, 0.1, 444).unwrap(), 0.001, epochs).unwrap();
        let mut group = c.benchmark_group(format!("gpu-descent/N={n}/epochs={epochs}"));
        group.throughput(Throughput::Elements(n as u64 * epochs));
        group.sample_size(10);
        for id in SolverId::ALL
            .into_iter()
            .filter(|s| s.group() == Group::Gpu)
        {
            let mut solver = match id.prepare_on(&problem, Some(ctx), &GpuSettings::default()) {
                Ok(s) => s,
                Err(GdError::Unavailable { reason }) => {
                    eprintln!("{id}: unavailable: {reason}");
                    continue;
                }
                Err(e) => panic!("{id}: {e}"),
            };
            group.bench_function(BenchmarkId::from_parameter(id.name()), |b| {
                b.iter(|| black_box(solver.solve().unwrap()))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, solvers);
criterion_main!(benches);
