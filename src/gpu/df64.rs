//! Double-float arithmetic: the CPU twin of `shaders/df64.wgsl`'s error-free transforms, the
//! hard cases they are checked on, and the self-check that runs them on an adapter before
//! gpu-fused-df64 does (a compiler that reassociates or does not fuse `fma` silently turns df64
//! into f32; the self-check makes that an `unavailable` row, not a wrong one).

use wgpu::util::DeviceExt;

use super::buffers::{self, Params, Real};
use super::context::GpuContext;
use super::shaders::{ShaderFile, ShaderSources, pipeline_with};
use crate::error::{GdError, Result};
use crate::problem::{Dataset, Problem, Source};
use crate::validate::curvature::Curvature;

/// A double-float: the value `hi + lo`, with `|lo| ≤ ulp(hi)/2`.
pub type Df = [f32; 2];

/// `a + b` and its exact rounding error (Knuth's branch-free two-sum).
pub fn two_sum(a: f32, b: f32) -> Df {
    let s = a + b;
    let bb = s - a;
    [s, (a - (s - bb)) + (b - bb)]
}

/// `a + b` and its exact error when `|a| ≥ |b|` (Dekker's fast two-sum).
pub fn quick_two_sum(a: f32, b: f32) -> Df {
    let s = a + b;
    [s, b - (s - a)]
}

/// `a·b` and its exact rounding error, through a fused multiply-add.
pub fn two_prod(a: f32, b: f32) -> Df {
    let p = a * b;
    [p, a.mul_add(b, -p)]
}

/// The accurate sum of two double-floats (relative error below 3·2⁻⁴⁸, cancellation included).
pub fn add(a: Df, b: Df) -> Df {
    let s = two_sum(a[0], b[0]);
    let t = two_sum(a[1], b[1]);
    let r = quick_two_sum(s[0], s[1] + t[0]);
    quick_two_sum(r[0], r[1] + t[1])
}

/// The product of two double-floats (relative error below 7·2⁻⁴⁸).
pub fn mul(a: Df, b: Df) -> Df {
    let p = two_prod(a[0], b[0]);
    quick_two_sum(p[0], p[1] + (a[0] * b[1] + a[1] * b[0]))
}

/// Largest magnitude df64 takes: Dekker's split multiplies by 4 097, which overflows f32 above
/// f32::MAX / 4 097 (about 8.3e34). Data beyond it is refused at upload.
pub const MAX_MAGNITUDE: f64 = 8.0e34;

/// Why gpu-fused-df64 cannot take data beyond [`MAX_MAGNITUDE`].
pub fn outside_range() -> GdError {
    GdError::Unavailable {
        reason: format!(
            "x or d exceeds {MAX_MAGNITUDE:e} in magnitude: df64 keeps f32's exponent range (its split overflows there)"
        ),
    }
}

/// `v` as a double-float: its f32 rounding and what that loses (about 48 bits of `v`).
pub fn split(v: f64) -> Df {
    let hi = v as f32;
    [hi, (v - f64::from(hi)) as f32]
}

/// The value a double-float stands for.
pub fn value(v: Df) -> f64 {
    f64::from(v[0]) + f64::from(v[1])
}

/// Pairs `(a, b)` on which the transforms are checked: sums whose error is all that is left,
/// products whose low half only a fused fma keeps, cancellations, values that need the low word.
pub fn hard_cases() -> Vec<(Df, Df)> {
    let p = |v: f64| split(v);
    let exact = |hi: f32, lo: f32| [hi, lo];
    vec![
        // two_sum: 2²⁴ + 1 rounds to 2²⁴ (ties to even); the error is the whole 1.
        (exact(16_777_216.0, 0.0), exact(1.0, 0.0)),
        // two_sum: the error of a sum of unlike magnitudes, negative.
        (exact(1.0e8, 0.0), exact(-3.25, 0.0)),
        // two_prod: (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴; the 2⁻²⁴ is below f32's ulp of 1.
        (
            exact(1.0 + 2f32.powi(-12), 0.0),
            exact(1.0 + 2f32.powi(-12), 0.0),
        ),
        // two_prod: (2²⁴ − 1)², whose low half is 1.
        (exact(16_777_215.0, 0.0), exact(16_777_215.0, 0.0)),
        // Cancellation: (1 + 2⁻²³ + 2⁻⁴⁰) − (1 − 2⁻⁴¹) = 2⁻²³ + 2⁻⁴⁰ + 2⁻⁴¹, all of it from low words.
        (
            exact(1.0 + 2f32.powi(-23), 2f32.powi(-40)),
            exact(-1.0, 2f32.powi(-41)),
        ),
        // Values that need the low word: 0.1 + 0.2 and 0.1·0.2 to about 2⁻⁴⁸.
        (p(0.1), p(0.2)),
        // π·e and π − e, low words of both signs.
        (p(std::f64::consts::PI), p(std::f64::consts::E)),
        (p(std::f64::consts::PI), p(-std::f64::consts::E)),
        // The article's kind of residual: d − (w0 + w1·x) far from 0, nearly cancelling.
        (p(1_000.123_456_789_012_3), p(-1_000.123_456_789)),
        // Large magnitudes of opposite sign whose sum is small.
        (p(1.0e10 + 0.375), p(-1.0e10)),
        // A small weight and a large product, both ways round (w0 + w1·x at x near 1 000).
        (p(0.001_999_991_740_700_171), p(2_003.012_345_678_9)),
        (p(2_003.012_345_678_9), p(0.001_999_991_740_700_171)),
    ]
}

/// What the adapter and the twin gave for one case: two_sum, two_prod, add, mul.
type Answers = [Df; 4];

fn twin_answers(a: Df, b: Df) -> Answers {
    [
        two_sum(a[0], b[0]),
        two_prod(a[0], b[0]),
        add(a, b),
        mul(a, b),
    ]
}

const OPERATIONS: [&str; 4] = ["two_sum", "two_prod", "df_add", "df_mul"];

/// How this adapter gets two_prod's error term: the `FMA` override of `df64.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// One fused multiply-add (the adapter's `fma` is fused).
    Fma,
    /// Dekker's split into 12-bit halves (the adapter's `fma` rounds twice).
    Dekker,
}

impl Product {
    /// The value of `df64.wgsl`'s `FMA` override constant.
    pub fn fma_override(self) -> f64 {
        match self {
            Product::Fma => 1.0,
            Product::Dekker => 0.0,
        }
    }
}

/// The first answer of `df64_ops` that differs from the twin: the operation and a description.
struct Failure {
    operation: &'static str,
    what: String,
}

/// Runs `df64.wgsl`'s `df64_ops` on the hard cases, two_prod by `fma` and, where that loses its
/// error term, by Dekker's split, comparing every answer bit for bit with the CPU twin: the way
/// of multiplying that survives, or an error naming the first operation that lost its error term.
/// With the built-in kernels the adapter's compiler is at fault (the row is unavailable); with
/// custom kernels (`--shaders`), the kernel is.
pub fn self_check(ctx: &GpuContext, sources: &ShaderSources) -> Result<Product> {
    let mut failure = None;
    for product in [Product::Fma, Product::Dekker] {
        match run_ops(ctx, sources, product)? {
            None => return Ok(product),
            Some(f) => {
                // An fma that rounds twice loses two_prod's error, and with it df_mul's.
                let retry = matches!(f.operation, "two_prod" | "df_mul");
                failure = Some(f);
                if !retry {
                    break;
                }
            }
        }
    }
    Err(faulty(
        sources,
        &failure.expect("a failure before the loop ends").what,
    ))
}

/// The self-check's verdict on this adapter: unavailable with the built-in kernels (the
/// compiler is at fault), an error with a custom `df64.wgsl` or `common.wgsl` (the kernel is).
fn faulty(sources: &ShaderSources, what: &str) -> GdError {
    if !sources.customizes(ShaderFile::Df64) {
        GdError::Unavailable {
            reason: format!(
                "this adapter's shader compiler does not keep df64's error-free transforms ({what}): df64 would be f32 in disguise"
            ),
        }
    } else {
        GdError::Gpu {
            message: format!("df64.wgsl's arithmetic fails its self-check: {what}"),
        }
    }
}

/// Most relative difference from the f64 descent the descent check allows: df64 keeps about
/// 1e-15 on [`probe_problem`], and f32 arithmetic anywhere in a sample's error or the sums
/// misses by about 1e-8 (seen: a two_sum folded in the errors kernel alone, 2.3e-8).
pub const DESCENT_CHECK_TOLERANCE: f64 = 1e-12;

/// Two epochs on 4 099 samples with x near 1 000: the residual d − (w0 + w1·x) cancels three
/// digits and the weights' low words matter from the second epoch, so an error-free transform
/// that the compiler broke in the descent kernels themselves (and not in `df64_ops`, whose
/// context differs) shows as an f32-sized difference.
pub fn probe_problem() -> Problem {
    let n = 4_099;
    let x: Vec<f64> = (0..n).map(|i| 1_000.0 + i as f64 / n as f64).collect();
    let d: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, x)| 3.0 + 2.0 * x + ((i * 7_919) % 101) as f64 * 1e-3 - 0.05)
        .collect();
    let source = Source::Synthetic {
        seed: 0,
        sigma: 0.05,
    };
    let data = Dataset::new(x, d, source).expect("the probe's data is finite");
    let mu = 0.5 * Curvature::of(data.sums()).max_stable_mu();
    Problem::new(data, mu, 2).expect("the probe's problem is valid")
}

/// Judges the descent check: `w` from the df64 kernels on [`probe_problem`] against `reference`
/// (the f64 descent).
pub fn judge_descent(sources: &ShaderSources, w: [f64; 2], reference: [f64; 2]) -> Result<()> {
    let outcome = |w| crate::solver::Outcome {
        w,
        diverged_at: None,
    };
    // NaN when either side is not finite: then nothing passes.
    let (_, diff) = crate::validate::differences(&outcome(w), &outcome(reference));
    if diff <= DESCENT_CHECK_TOLERANCE {
        return Ok(());
    }
    Err(faulty(
        sources,
        &format!(
            "in the descent kernels, two epochs on x near 1 000 differ from f64 by {diff:.1e} where df64 keeps {DESCENT_CHECK_TOLERANCE:.0e}"
        ),
    ))
}

fn run_ops(ctx: &GpuContext, sources: &ShaderSources, product: Product) -> Result<Option<Failure>> {
    let cases = hard_cases();
    let wg = 64;
    let pipeline = pipeline_with(
        ctx,
        sources,
        ShaderFile::Df64,
        "df64_ops",
        wg,
        &[("FMA", product.fma_override())],
        Real::Df64,
    )?;
    let input: Vec<[f32; 4]> = cases
        .iter()
        .map(|(a, b)| [a[0], a[1], b[0], b[1]])
        .collect();
    let cases_buffer = ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("df64 cases"),
            contents: bytemuck::cast_slice(&input),
            usage: wgpu::BufferUsages::STORAGE,
        });
    let bytes = (cases.len() * 2 * 16) as u64;
    let results = buffers::pairs_of(ctx, "df64 results", cases.len() as u64 * 2, Real::Df64);
    let params = buffers::uniform(
        ctx,
        Params {
            n: cases.len() as u32,
            ..Params::default()
        },
    );
    let entries: Vec<wgpu::BindGroupEntry> = [&cases_buffer, &results, &params]
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let readback = buffers::readback(ctx, bytes);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups((cases.len() as u32).div_ceil(wg), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&results, 0, &readback, 0, bytes);
    let data = ctx.read_back(encoder, &readback, bytes, "the df64 self-check's results")?;
    let got: &[[f32; 8]] = bytemuck::cast_slice(&data);
    for ((a, b), got) in cases.iter().zip(got) {
        let want = twin_answers(*a, *b);
        let exact = [value(*a) + value(*b), value(*a) * value(*b)];
        for (k, operation) in OPERATIONS.into_iter().enumerate() {
            let g = [got[2 * k], got[2 * k + 1]];
            let w = want[k];
            let args = format!("({:e}, {:e}), ({:e}, {:e})", a[0], a[1], b[0], b[1]);
            // two_sum and two_prod have one right answer; the pair operations may round
            // differently where the compiler contracts a·b + c (Vulkan allows it), within their
            // bound of the exact result.
            let wrong = match k {
                0 | 1 => g[0].to_bits() != w[0].to_bits() || g[1].to_bits() != w[1].to_bits(),
                _ => {
                    let bound = [SUM_BOUND, PRODUCT_BOUND][k - 2];
                    let off = (value(g) - exact[k - 2]).abs();
                    off.is_nan() || off > bound * exact[k - 2].abs()
                }
            };
            if wrong {
                let what = format!(
                    "{operation}({args}) gave ({:e}, {:e}) where IEEE f32 gives ({:e}, {:e})",
                    g[0], g[1], w[0], w[1]
                );
                return Ok(Some(Failure { operation, what }));
            }
        }
    }
    Ok(None)
}

/// Most relative error the self-check allows [`add`] (3·2⁻⁴⁸ proved, and the f64 rounding of
/// the exact sum it is compared with).
const SUM_BOUND: f64 = 4.0 * 1.0 / (1u64 << 48) as f64;
/// Most relative error the self-check allows [`mul`] (7·2⁻⁴⁸, and the f64 rounding).
const PRODUCT_BOUND: f64 = 8.0 * 1.0 / (1u64 << 48) as f64;

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact in f64: each case's operands and results have at most 53 significant bits.
    #[test]
    fn the_error_free_transforms_are_exact() {
        for (a, b) in hard_cases() {
            let (x, y) = (a[0], b[0]);
            let s = two_sum(x, y);
            assert_eq!(value(s), f64::from(x) + f64::from(y), "two_sum({x}, {y})");
            let p = two_prod(x, y);
            assert_eq!(value(p), f64::from(x) * f64::from(y), "two_prod({x}, {y})");
        }
    }

    #[test]
    fn the_hard_cases_need_the_error_terms() {
        let cases = hard_cases();
        // Each transform has a case whose error term is not zero: a compiler that drops it
        // (reassociation, an unfused fma) changes an answer the self-check compares.
        assert!(cases.iter().any(|(a, b)| two_sum(a[0], b[0])[1] != 0.0));
        assert!(cases.iter().any(|(a, b)| two_prod(a[0], b[0])[1] != 0.0));
        assert_eq!(two_sum(16_777_216.0, 1.0), [16_777_216.0, 1.0]);
        assert_eq!(
            two_prod(1.0 + 2f32.powi(-12), 1.0 + 2f32.powi(-12)),
            [1.0 + 2f32.powi(-11), 2f32.powi(-24)]
        );
    }

    #[test]
    fn pairs_carry_about_48_bits_through_add_and_mul() {
        for (a, b) in hard_cases() {
            let (x, y) = (value(a), value(b));
            let sum = value(add(a, b));
            let product = value(mul(a, b));
            assert!(
                (sum - (x + y)).abs() <= 3.0 * 2f64.powi(-48) * (x + y).abs(),
                "{x} + {y}: {sum}"
            );
            assert!(
                (product - x * y).abs() <= 7.0 * 2f64.powi(-48) * (x * y).abs(),
                "{x} · {y}: {product}"
            );
        }
        // The cancellation case is exact: everything left comes from the low words.
        let (a, b) = hard_cases()[4];
        assert_eq!(
            value(add(a, b)),
            2f64.powi(-23) + 2f64.powi(-40) + 2f64.powi(-41)
        );
    }

    #[test]
    fn the_descent_check_refuses_nan_and_f32_sized_differences() {
        let sources = ShaderSources::builtin();
        let reference = [2.0e-3, 2.003];
        assert!(judge_descent(&sources, reference, reference).is_ok());
        let close = [reference[0], reference[1] * (1.0 + 1e-14)];
        assert!(judge_descent(&sources, close, reference).is_ok());
        let f32_sized = [reference[0], reference[1] * (1.0 + 2.3e-8)];
        let nan = [f64::NAN, reference[1]];
        for w in [f32_sized, nan] {
            match judge_descent(&sources, w, reference) {
                Err(GdError::Unavailable { reason }) => {
                    assert!(reason.contains("descent kernels"), "{reason}")
                }
                other => panic!("{w:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn split_keeps_about_48_bits() {
        for v in [
            0.1,
            std::f64::consts::PI,
            -1_000.123_456_789_012_3,
            1.0e10 + 0.375,
        ] {
            let pair = split(v);
            assert!((value(pair) - v).abs() <= 2f64.powi(-48) * v.abs(), "{v}");
            assert!(pair[1].abs() <= pair[0].abs() * 2f32.powi(-24), "{v}");
        }
    }
}
