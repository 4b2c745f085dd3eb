//! Criterion benches of the CPU solvers: one epoch's cost at N = 1e4 and 1e6.
//!
//! Each iteration is a whole descent of a few epochs from a prepared solver, so the figure is
//! the per-call cost that `gdbench run` divides into µs per epoch. Run: `cargo bench`
//! (`cargo bench --benches -- --test` runs each once, as CI does, so the benches cannot rot).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gdbench::solver::Group;
use gdbench::{Dataset, Problem, SolverId};

fn solvers(c: &mut Criterion) {
    for (n, epochs) in [(10_000usize, 100u64), (1_000_000, 4)] {
        let problem =
            Problem::new(Dataset::synthetic(n, 0.1, 444).unwrap(), 0.001, epochs).unwrap();
        let mut group = c.benchmark_group(format!("descent/N={n}/epochs={epochs}"));
        group.throughput(Throughput::Elements(n as u64 * epochs));
        if n >= 1_000_000 {
            group.sample_size(10);
        }
        for id in SolverId::ALL
            .into_iter()
            .filter(|s| s.group() == Group::Cpu)
        {
            let mut solver = id.prepare(&problem).unwrap();
            group.bench_function(BenchmarkId::from_parameter(id.name()), |b| {
                b.iter(|| black_box(solver.solve().unwrap()))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, solvers);
criterion_main!(benches);
