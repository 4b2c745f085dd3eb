//! Solvers against each other, against closed forms, and on edge cases.

mod common;

use common::{cpu_solvers, solve, synthetic};
use gdbench::cpu::closed_form;
use gdbench::validate::{Arithmetic, Expectations, Status, judge};
use gdbench::{Dataset, Precision, Problem, SolverId, Source};

fn rel_diff(a: [f64; 2], b: [f64; 2]) -> f64 {
    let scale = b[0].abs().max(b[1].abs());
    (0..2).map(|i| (a[i] - b[i]).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn moments_equals_fused_on_random_problems() {
    for (seed, n, mu, epochs) in [
        (1, 2, 0.1, 500),
        (2, 3, 0.05, 2_000),
        (3, 1_000, 0.01, 300),
        (4, 65_537, 0.001, 50),
        (5, 12_345, 0.2, 1_000),
    ] {
        let p = synthetic(n, 0.5, seed, mu, epochs);
        let fused = solve(SolverId::CpuFused, &p);
        let moments = solve(SolverId::CpuMoments, &p);
        assert!(
            rel_diff(moments.w, fused.w) <= 1e-9,
            "seed {seed}, N {n}: {:?} vs {:?}",
            moments.w,
            fused.w
        );
    }
}

#[test]
fn threads_are_bit_identical_to_fused() {
    for n in [2, 4095, 4097, 100_003] {
        let p = synthetic(n, 0.1, 9, 0.01, 20);
        assert_eq!(
            solve(SolverId::CpuThreads, &p).w,
            solve(SolverId::CpuFused, &p).w,
            "N {n}"
        );
    }
}

#[test]
fn persistent_threads_agree_with_fused_to_rounding() {
    // Sizes that give one thread, two uneven slices, and (where there are cores) more.
    for n in [2, 1_023, 2_048, 2_049, 10_000, 100_003] {
        let p = synthetic(n, 0.1, 4, 0.01, 50);
        let persistent = solve(SolverId::CpuPersistent, &p).w;
        let fused = solve(SolverId::CpuFused, &p).w;
        assert!(
            rel_diff(persistent, fused) < 1e-13,
            "N {n}: {persistent:?} vs {fused:?}"
        );
    }
}

#[test]
fn persistent_f32_is_fused_f32_on_one_thread_and_within_f32_rounding_on_more() {
    // Below two slices of 4 096 samples it runs on one thread: cpu-fused-f32's kernel and
    // tree, so its bits. Above, each slice is summed in f32 and the slices' sums added in f64.
    for n in [2, 4_097, 8_191] {
        let p = synthetic(n, 0.1, 5, 0.01, 50);
        let persistent = solve(SolverId::CpuPersistentF32, &p).w;
        assert_eq!(persistent, solve(SolverId::CpuFusedF32, &p).w, "N {n}");
    }
    for n in [8_192, 10_000, 100_003] {
        let p = synthetic(n, 0.1, 5, 0.01, 50);
        let persistent = solve(SolverId::CpuPersistentF32, &p).w;
        let fused = solve(SolverId::CpuFusedF32, &p).w;
        assert!(
            rel_diff(persistent, fused) < 1e-6,
            "N {n}: {persistent:?} vs {fused:?}"
        );
    }
}

#[test]
fn f16_storage_on_the_cpu_is_f32_on_the_f16_rounded_data_bit_for_bit() {
    for n in [2, 4_095, 4_097, 100_003] {
        let p = synthetic(n, 0.1, 6, 0.01, 30);
        let f16 = solve(SolverId::CpuFusedF16, &p).w;
        let f32_on_rounded = solve(SolverId::CpuFusedF32, &p.rounded_to_f16().unwrap()).w;
        assert_eq!(f16, f32_on_rounded, "N {n}");
        // And the rounding is real: the f32 descent on the unrounded data differs.
        assert_ne!(f16, solve(SolverId::CpuFusedF32, &p).w, "N {n}");
    }
}

#[test]
fn every_solver_agrees_with_the_reference_at_awkward_sizes() {
    for n in [2, 3, 31, 32, 33, 4096, 4097, 10_001] {
        let p = synthetic(n, 0.1, 3, 0.01, 100);
        let reference = solve(SolverId::REFERENCE, &p);
        let expect = Expectations::of(&p);
        // f16-storage rows are held against the descent on the f16-rounded data.
        let rounded = p.rounded_to_f16().unwrap();
        let on_f16 = solve(SolverId::REFERENCE, &rounded);
        let expect_f16 = Expectations::of(&rounded);
        for id in cpu_solvers() {
            let (reference, expect) = match id.precision() {
                Precision::F16 => (&on_f16, &expect_f16),
                _ => (&reference, &expect),
            };
            let v = judge(&solve(id, &p), reference, id.arithmetic(), expect);
            assert_eq!(v.status, Status::Ok, "{id} at N {n}: {}", v.message);
        }
    }
}

#[test]
fn noise_free_data_recovers_the_line() {
    let p = synthetic(200, 0.0, 1, 0.2, 20_000);
    assert_eq!(
        closed_form(p.x(), p.d()).map(|w| rel_diff(w, [3.0, 2.0]) < 1e-12),
        Some(true)
    );
    for id in cpu_solvers() {
        let w = solve(id, &p).w;
        let tol = match id.precision() {
            Precision::Df64 | Precision::F64 => 1e-10,
            Precision::F32 => 1e-5,
            // The data itself is rounded to 11 significant bits: the line moves by about that.
            Precision::F16 => 1e-3,
        };
        assert!(rel_diff(w, [3.0, 2.0]) < tol, "{id}: {w:?}");
    }
}

#[test]
fn long_descent_converges_to_the_closed_form() {
    let p = synthetic(1_000, 0.3, 11, 0.2, 50_000);
    let ols = closed_form(p.x(), p.d()).unwrap();
    assert!(rel_diff(solve(SolverId::CpuFused, &p).w, ols) < 1e-10);
}

#[test]
fn too_large_a_step_diverges_at_the_same_epoch_everywhere() {
    let p = synthetic(1_000, 0.1, 1, 10.0, 1_000);
    let reference = solve(SolverId::REFERENCE, &p);
    let epoch = reference.diverged_at.expect("mu = 10 diverges");
    assert!(epoch < 1_000);
    for id in [
        SolverId::CpuNaive,
        SolverId::CpuThreads,
        SolverId::CpuPersistent,
        SolverId::CpuMoments,
    ] {
        assert_eq!(solve(id, &p).diverged_at, Some(epoch), "{id}");
    }
    let v = judge(
        &solve(SolverId::CpuNaive, &p),
        &reference,
        Arithmetic::F64,
        &Expectations::of(&p),
    );
    assert_eq!(v.status, Status::Diverged);
    assert!(
        v.message.contains(&format!("epoch {epoch}")),
        "{}",
        v.message
    );
}

#[test]
fn solvers_can_be_solved_again_with_the_same_answer() {
    let p = synthetic(5_000, 0.1, 2, 0.01, 30);
    for id in cpu_solvers() {
        let mut solver = id.prepare(&p).unwrap();
        let first = solver.solve().unwrap();
        assert_eq!(solver.solve().unwrap(), first, "{id}");
    }
}

#[test]
fn hand_made_dataset_works_like_a_generated_one() {
    let x: Vec<f64> = (0..64).map(|i| i as f64 / 32.0).collect();
    let d: Vec<f64> = x.iter().map(|x| 3.0 + 2.0 * x).collect();
    let source = Source::Synthetic {
        seed: 0,
        sigma: 0.0,
    };
    let p = Problem::new(Dataset::new(x, d, source).unwrap(), 0.2, 20_000).unwrap();
    assert!(rel_diff(solve(SolverId::CpuFused, &p).w, [3.0, 2.0]) < 1e-10);
}
