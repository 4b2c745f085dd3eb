//! The df64 self-check: `shaders/df64.wgsl`'s error-free transforms run on an adapter and held
//! bit for bit against their CPU twin ([`super::df64`]) before gpu-fused-df64 runs (a compiler
//! that reassociates or does not fuse `fma` silently turns df64 into f32; the self-check makes
//! that an `unavailable` row, not a wrong one).

use wgpu::util::DeviceExt;

use super::buffers::{self, Params, Real};
use super::context::GpuContext;
use super::df64::{Df, add, hard_cases, mul, two_prod, two_sum, value};
use super::shaders::{ShaderFile, ShaderSources, pipeline_with};
use crate::error::{GdError, Result};
use crate::problem::{Dataset, Problem, Source};
use crate::validate::curvature::Curvature;

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
    Ok(first_failure(&cases, got))
}

/// The first answer of `df64_ops` (`got`, four pairs per case) that differs from the twin's:
/// two_sum and two_prod bit for bit, the pair operations within their bounds of the exact result.
fn first_failure(cases: &[(Df, Df)], got: &[[f32; 8]]) -> Option<Failure> {
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
                return Some(Failure { operation, what });
            }
        }
    }
    None
}

/// Most relative error the self-check allows [`add`] (3·2⁻⁴⁸ proved, and the f64 rounding of
/// the exact sum it is compared with).
const SUM_BOUND: f64 = 4.0 * 1.0 / (1u64 << 48) as f64;
/// Most relative error the self-check allows [`mul`] (7·2⁻⁴⁸, and the f64 rounding).
const PRODUCT_BOUND: f64 = 8.0 * 1.0 / (1u64 << 48) as f64;

#[cfg(test)]
mod tests {
    use super::*;

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
}
