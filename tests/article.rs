//! The article's own numbers, reproduced on the article's exact dataset.

mod common;

use common::{article_fixture, cpu_solvers, solve};
use gdbench::cpu::closed_form;
use gdbench::problem::{ARTICLE_EPOCHS, ARTICLE_MU, ARTICLE_N};
use gdbench::validate::{Arithmetic, Expectations, Status, judge};
use gdbench::{Dataset, Precision, Problem, SolverId};

/// The article's pure-Python gradient descent result.
const ARTICLE_W: [f64; 2] = [2.959859852416156, 2.0329649630002757];
/// The article's pseudo-inverse result, printed to 8 decimals.
const ARTICLE_OLS: [f64; 2] = [2.99536719, 2.00288672];

fn article_problem() -> Problem {
    let data = Dataset::load(&article_fixture()).unwrap();
    assert_eq!(data.len(), ARTICLE_N);
    Problem::new(data, ARTICLE_MU, ARTICLE_EPOCHS).unwrap()
}

#[test]
fn every_f64_cpu_solver_gives_the_articles_weights() {
    let problem = article_problem();
    for id in cpu_solvers().filter(|s| s.precision() == Precision::F64) {
        let out = solve(id, &problem);
        assert_eq!(out.diverged_at, None);
        for (i, (got, want)) in out.w.iter().zip(ARTICLE_W).enumerate() {
            assert!(
                (got - want).abs() <= 1e-9,
                "{id}: w{i} = {got} but the article has {want}"
            );
        }
    }
}

#[test]
fn cpu_naive_repeats_the_articles_arithmetic_bit_for_bit() {
    // Same operations in the same order as the article's Python loop (left-to-right sums).
    assert_eq!(solve(SolverId::CpuNaive, &article_problem()).w, ARTICLE_W);
}

#[test]
fn closed_form_gives_the_articles_pseudo_inverse() {
    let problem = article_problem();
    let w = closed_form(problem.x(), problem.d()).unwrap();
    for (got, want) in w.iter().zip(ARTICLE_OLS) {
        assert!((got - want).abs() <= 1e-8, "{got} vs the article's {want}");
    }
}

#[test]
fn f32_solver_is_within_its_documented_tolerance() {
    let problem = article_problem();
    let reference = solve(SolverId::REFERENCE, &problem);
    let out = solve(SolverId::CpuFusedF32, &problem);
    let expect = Expectations::of(&problem);
    let verdict = judge(&out, &reference, Arithmetic::F32, &expect);
    assert_eq!(verdict.status, Status::Ok, "{}", verdict.message);
    assert!(verdict.max_rel_diff > 0.0, "f32 rounding should show");
    // Tight: at most 1e-4 at the article's size, so a step 1 % too large (3.6e-4) cannot pass.
    let tolerance = expect.tolerance(Arithmetic::F32);
    assert!(
        verdict.max_rel_diff < tolerance && tolerance <= 1e-4,
        "{tolerance}"
    );
}

#[test]
fn generated_x_is_numpys_linspace_bit_for_bit() {
    let fixture = Dataset::load(&article_fixture()).unwrap();
    let ours = Dataset::synthetic(ARTICLE_N, 0.1, 444).unwrap();
    assert_eq!(fixture.x(), ours.x());
}
