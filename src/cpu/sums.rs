//! The fused epoch kernel: Σe and Σe·x with `e = d − (w0 + w1·x)` in one pass over x and d.
//!
//! The samples are summed as a pairwise tree over leaves of [`LEAF`] samples, so rounding error
//! grows with log N rather than N (this matters in f32: a running f32 sum of 10⁸ terms loses
//! whole digits). Inside a leaf, `LANES` independent accumulators break the add-latency chain so
//! the compiler vectorises the loop. The leaf is compiled for AVX-512, AVX2 and the baseline,
//! and the widest one present is chosen at run time, so a portable binary uses AVX-512 or AVX2 without
//! `target-cpu=native`. The summation order is fixed, so the threaded solver that walks the same
//! tree gives bit-identical sums. f64 is never contracted: every instruction set gives the same
//! bits. f32 is contracted to FMA where the CPU has it (`y = fma(w1, x, w0)`, `e = d − y`,
//! `Σe·x = fma(e, x, Σe·x)`: two FMAs and two adds a sample instead of two multiplies and four adds),
//! so AVX-512 and AVX2+FMA give the same bits and the portable path, without FMA, may differ
//! within f32's tolerance.

use super::real::Real;

/// Samples per leaf of the summation tree: a multiple of every lane count.
pub const LEAF: usize = 4096;

/// Accumulators per sum: 4 AVX-512 registers in f64, 2 in f32. (With 16 f64 lanes LLVM pairs the
/// two sums into 128-bit registers instead of vectorising across lanes, and runs 3× slower.)
const LANES: usize = 32;

/// Σe and Σe·x over the slice pair at the current weights: the whole tree on this thread.
pub fn error_sums<T: Real>(x: &[T], d: &[T], w0: T, w1: T) -> (T, T) {
    assert_eq!(x.len(), d.len(), "x and d differ in length");
    if x.len() <= LEAF {
        return leaf_at::<T, LANES>(simd_level(), x, d, w0, w1);
    }
    let mid = split_point(x.len());
    let a = error_sums(&x[..mid], &d[..mid], w0, w1);
    let b = error_sums(&x[mid..], &d[mid..], w0, w1);
    (a.0 + b.0, a.1 + b.1)
}

/// The same tree as [`error_sums`], with both halves of every node larger than `grain` samples
/// run by `rayon::join` on the current pool. The additions and their order are unchanged, so
/// the result is bit-identical to [`error_sums`] whatever the thread count or scheduling.
pub fn error_sums_parallel<T: Real>(x: &[T], d: &[T], w0: T, w1: T, grain: usize) -> (T, T) {
    assert_eq!(x.len(), d.len(), "x and d differ in length");
    if x.len() <= grain.max(LEAF) {
        return error_sums(x, d, w0, w1);
    }
    let mid = split_point(x.len());
    let (a, b) = join(
        x.len() - mid,
        || error_sums_parallel(&x[..mid], &d[..mid], w0, w1, grain),
        || error_sums_parallel(&x[mid..], &d[mid..], w0, w1, grain),
    );
    (a.0 + b.0, a.1 + b.1)
}

/// Σe and Σe·x at many weight pairs in one walk over x and d: each leaf is summed for every pair
/// while it sits in cache, two pairs per load of a sample. Pair by pair the additions and their
/// order are [`error_sums`]' own, so each result is bit-identical to it. Keeps its scratch space
/// (a pair of sums per step per tree level) between epochs.
#[derive(Debug)]
pub struct ManySums<T> {
    scratch: Vec<(T, T)>,
}

impl<T> Default for ManySums<T> {
    fn default() -> Self {
        Self {
            scratch: Vec::new(),
        }
    }
}

impl<T: Real> ManySums<T> {
    /// Σe and Σe·x over the slice pair at each weight pair of `w`, into `out` (same length).
    pub fn sums(&mut self, x: &[T], d: &[T], w: &[[T; 2]], out: &mut [(T, T)]) {
        assert_eq!(x.len(), d.len(), "x and d differ in length");
        assert_eq!(w.len(), out.len(), "one pair of sums per weight pair");
        let need = w.len() * tree_depth(x.len());
        if self.scratch.len() < need {
            self.scratch.resize(need, (T::ZERO, T::ZERO));
        }
        tree_many(simd_level(), x, d, w, out, &mut self.scratch);
    }

    /// [`ManySums::sums`] with both halves of every node larger than `grain` samples run by
    /// `rayon::join` on the current pool, as [`error_sums_parallel`] does for one pair: the same
    /// tree and order, so the same bits.
    pub fn sums_parallel(
        &mut self,
        x: &[T],
        d: &[T],
        w: &[[T; 2]],
        out: &mut [(T, T)],
        grain: usize,
    ) {
        assert_eq!(x.len(), d.len(), "x and d differ in length");
        assert_eq!(w.len(), out.len(), "one pair of sums per weight pair");
        let need = w.len() * parallel_depth(x.len(), grain);
        if self.scratch.len() < need {
            self.scratch.resize(need, (T::ZERO, T::ZERO));
        }
        tree_many_parallel(simd_level(), x, d, w, out, &mut self.scratch, grain);
    }
}

/// `out[i] += right[i]`, pair by pair: a tree node's left sums plus its right ones, in that order.
pub(super) fn add_into<T: Real>(out: &mut [(T, T)], right: &[(T, T)]) {
    for (o, r) in out.iter_mut().zip(right) {
        *o = (o.0 + r.0, o.1 + r.1);
    }
}

/// Scratch levels (pairs of sums per step) [`tree_many_parallel`] needs for `len` samples: its
/// parallel nodes each keep their right half's sums and give each half scratch of its own.
fn parallel_depth(len: usize, grain: usize) -> usize {
    if len <= grain.max(LEAF) {
        return tree_depth(len);
    }
    let mid = split_point(len);
    1 + parallel_depth(mid, grain) + parallel_depth(len - mid, grain)
}

/// [`tree_many`] with the halves of nodes above `grain` samples summed in parallel.
fn tree_many_parallel<T: Real>(
    level: Simd,
    x: &[T],
    d: &[T],
    w: &[[T; 2]],
    out: &mut [(T, T)],
    scratch: &mut [(T, T)],
    grain: usize,
) {
    if x.len() <= grain.max(LEAF) {
        return tree_many(level, x, d, w, out, scratch);
    }
    let mid = split_point(x.len());
    let (right, rest) = scratch.split_at_mut(w.len());
    let (left_scratch, right_scratch) = rest.split_at_mut(w.len() * parallel_depth(mid, grain));
    join(
        x.len() - mid,
        || tree_many_parallel(level, &x[..mid], &d[..mid], w, out, left_scratch, grain),
        || tree_many_parallel(level, &x[mid..], &d[mid..], w, right, right_scratch, grain),
    );
    add_into(out, right);
}

/// Levels of the summation tree above its leaves for `len` samples (its deepest path).
pub(super) fn tree_depth(mut len: usize) -> usize {
    let mut depth = 0;
    while len > LEAF {
        // The right half can be the larger by one sample (odd len, len/2 a whole number of leaves).
        let mid = split_point(len);
        len = mid.max(len - mid);
        depth += 1;
    }
    depth
}

/// [`error_sums`]' tree at every weight pair; `scratch` holds the right halves' sums.
fn tree_many<T: Real>(
    level: Simd,
    x: &[T],
    d: &[T],
    w: &[[T; 2]],
    out: &mut [(T, T)],
    scratch: &mut [(T, T)],
) {
    if x.len() <= LEAF {
        return leaf_many_at::<T, LANES>(level, x, d, w, out);
    }
    let mid = split_point(x.len());
    let (right, rest) = scratch.split_at_mut(w.len());
    tree_many(level, &x[..mid], &d[..mid], w, out, rest);
    tree_many(level, &x[mid..], &d[mid..], w, right, rest);
    add_into(out, right);
}

/// One leaf at every weight pair with the instruction set `level`.
fn leaf_many_at<T: Real, const L: usize>(
    level: Simd,
    x: &[T],
    d: &[T],
    w: &[[T; 2]],
    out: &mut [(T, T)],
) {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx512` is only ever produced after detecting AVX-512F on this CPU.
        Simd::Avx512 => unsafe { leaf_many_avx512::<T, L>(x, d, w, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `fma()` holds only where FMA was detected, `Simd::Avx2` only where AVX2 was.
        Simd::Avx2 if level.fma() => unsafe { leaf_many_avx2_fma::<T, L>(x, d, w, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx2` is only ever produced after detecting AVX2 on this CPU.
        Simd::Avx2 => unsafe { leaf_many_avx2::<T, L>(x, d, w, out) },
        _ => leaf_many::<T, L, false>(x, d, w, out),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn leaf_many_avx512<T: Real, const L: usize>(x: &[T], d: &[T], w: &[[T; 2]], out: &mut [(T, T)]) {
    leaf_many::<T, L, true>(x, d, w, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn leaf_many_avx2_fma<T: Real, const L: usize>(x: &[T], d: &[T], w: &[[T; 2]], out: &mut [(T, T)]) {
    leaf_many::<T, L, true>(x, d, w, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn leaf_many_avx2<T: Real, const L: usize>(x: &[T], d: &[T], w: &[[T; 2]], out: &mut [(T, T)]) {
    leaf_many::<T, L, false>(x, d, w, out)
}

/// One leaf at every weight pair: [`Real::STEP_BLOCK`] pairs at a time share each load of x and d.
#[inline(always)]
fn leaf_many<T: Real, const L: usize, const FMA: bool>(
    x: &[T],
    d: &[T],
    w: &[[T; 2]],
    out: &mut [(T, T)],
) {
    match T::STEP_BLOCK {
        4 => leaf_blocks::<T, L, 4, FMA>(x, d, w, out),
        _ => leaf_blocks::<T, L, 2, FMA>(x, d, w, out),
    }
}

/// [`leaf_many`] in blocks of `B` pairs, the remainder padded to one more block.
#[inline(always)]
fn leaf_blocks<T: Real, const L: usize, const B: usize, const FMA: bool>(
    x: &[T],
    d: &[T],
    w: &[[T; 2]],
    out: &mut [(T, T)],
) {
    let (wb, wr) = w.as_chunks::<B>();
    let (ob, or) = out.as_chunks_mut::<B>();
    for (wp, op) in wb.iter().zip(ob) {
        *op = leaf_block::<T, L, B, FMA>(x, d, wp);
    }
    // The last pairs as one more block, padded with copies of the last (each pair has its own
    // accumulators, so the copies change nothing): one pass instead of one per pair, each of
    // which ran 3× slower than a block's share here.
    if let Some(&last) = wr.last() {
        let padded: [[T; 2]; B] = std::array::from_fn(|j| *wr.get(j).unwrap_or(&last));
        let sums = leaf_block::<T, L, B, FMA>(x, d, &padded);
        or.copy_from_slice(&sums[..or.len()]);
    }
}

/// [`leaf`] at `B` weight pairs, each with its own `L` accumulators per sum and [`leaf`]'s
/// arithmetic, lane by lane.
#[inline(always)]
fn leaf_block<T: Real, const L: usize, const B: usize, const FMA: bool>(
    x: &[T],
    d: &[T],
    w: &[[T; 2]; B],
) -> [(T, T); B] {
    let mut s0 = [[T::ZERO; L]; B];
    let mut s1 = [[T::ZERO; L]; B];
    let (xb, xr) = x.as_chunks::<L>();
    let (db, dr) = d.as_chunks::<L>();
    for (xc, dc) in xb.iter().zip(db) {
        for j in 0..B {
            let (w0, w1) = (w[j][0], w[j][1]);
            let mut e = [T::ZERO; L];
            for k in 0..L {
                e[k] = error::<T, FMA>(w0, w1, xc[k], dc[k]);
            }
            for k in 0..L {
                s0[j][k] = s0[j][k] + e[k];
            }
            for k in 0..L {
                s1[j][k] = add_product::<T, FMA>(s1[j][k], e[k], xc[k]);
            }
        }
    }
    for (k, (&xi, &di)) in xr.iter().zip(dr).enumerate() {
        for j in 0..B {
            let e = error::<T, FMA>(w[j][0], w[j][1], xi, di);
            s0[j][k] = s0[j][k] + e;
            s1[j][k] = add_product::<T, FMA>(s1[j][k], e, xi);
        }
    }
    std::array::from_fn(|j| (fold_lanes(s0[j]), fold_lanes(s1[j])))
}

/// Samples the smaller half of a node must hold for the parallel tree to fork it: two leaves.
const FORK_SAMPLES: usize = 2 * LEAF;

/// How many threads the parallel tree over `n` samples (nodes of at most `grain` summed whole)
/// keeps busy at once: a fork's halves add up, halves summed one after the other take the wider.
pub fn parallel_width(n: usize, grain: usize) -> usize {
    if n <= grain.max(LEAF) {
        return 1;
    }
    let mid = split_point(n);
    let (a, b) = (parallel_width(mid, grain), parallel_width(n - mid, grain));
    if n - mid >= FORK_SAMPLES {
        a + b
    } else {
        a.max(b)
    }
}

/// `a` and `b`, by `rayon::join` when the node's right half (its smaller) holds `right` samples,
/// at least [`FORK_SAMPLES`], else one after the other on this thread: waking a sleeping worker costs
/// more than summing fewer (seen: cpu-threads at N = 4 642, split 4 096 + 546, at 1.7× its cost
/// per sample at N = 2 154 on 2 cores; at N = 10⁴, split 4 096 + 4 096, 7.4 µs an epoch on the
/// H200's 16-core host against cpu-fused's 3.1).
fn join<A: Send, B: Send>(
    right: usize,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if right >= FORK_SAMPLES {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Where a node of more than `LEAF` samples splits: its middle, rounded up to a whole leaf.
pub(super) fn split_point(len: usize) -> usize {
    (len / 2).div_ceil(LEAF) * LEAF
}

/// One leaf with the instruction set `level` (which must be available on this CPU).
fn leaf_at<T: Real, const L: usize>(level: Simd, x: &[T], d: &[T], w0: T, w1: T) -> (T, T) {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx512` is only ever produced after detecting AVX-512F on this CPU.
        Simd::Avx512 => unsafe { leaf_avx512::<T, L>(x, d, w0, w1) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `fma()` holds only where FMA was detected, `Simd::Avx2` only where AVX2 was.
        Simd::Avx2 if level.fma() => unsafe { leaf_avx2_fma::<T, L>(x, d, w0, w1) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd::Avx2` is only ever produced after detecting AVX2 on this CPU.
        Simd::Avx2 => unsafe { leaf_avx2::<T, L>(x, d, w0, w1) },
        _ => leaf::<T, L, false>(x, d, w0, w1),
    }
}

/// The instruction sets the CPU kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Simd {
    /// The target's baseline (SSE2 on x86_64, NEON on aarch64).
    Baseline,
    /// 256-bit AVX2.
    Avx2,
    /// 512-bit AVX-512F.
    Avx512,
}

impl Simd {
    /// The name used by `GDBENCH_SIMD` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Simd::Baseline => "baseline",
            Simd::Avx2 => "avx2",
            Simd::Avx512 => "avx512",
        }
    }

    /// Whether this level's kernels contract to FMA (f32 only): AVX-512F always has it, AVX2
    /// where the CPU has FMA3 too; the baseline never uses it.
    pub fn fma(self) -> bool {
        match self {
            Simd::Baseline => false,
            Simd::Avx512 => true,
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => std::arch::is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Simd::Avx2 => false,
        }
    }

    /// Every level this CPU can run, narrowest first.
    pub fn available() -> Vec<Simd> {
        let mut levels = vec![Simd::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                levels.push(Simd::Avx2);
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                levels.push(Simd::Avx512);
            }
        }
        levels
    }
}

/// The widest level this CPU runs, lowered by `GDBENCH_SIMD=baseline|avx2` (to compare
/// instruction sets on one machine); read once per process.
pub fn simd_level() -> Simd {
    static LEVEL: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let widest = *Simd::available()
            .last()
            .expect("baseline is always available");
        let cap = std::env::var("GDBENCH_SIMD").ok().and_then(|v| {
            [Simd::Baseline, Simd::Avx2, Simd::Avx512]
                .into_iter()
                .find(|s| s.name().eq_ignore_ascii_case(v.trim()))
        });
        cap.map_or(widest, |c| c.min(widest))
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn leaf_avx512<T: Real, const L: usize>(x: &[T], d: &[T], w0: T, w1: T) -> (T, T) {
    leaf::<T, L, true>(x, d, w0, w1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn leaf_avx2_fma<T: Real, const L: usize>(x: &[T], d: &[T], w0: T, w1: T) -> (T, T) {
    leaf::<T, L, true>(x, d, w0, w1)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn leaf_avx2<T: Real, const L: usize>(x: &[T], d: &[T], w0: T, w1: T) -> (T, T) {
    leaf::<T, L, false>(x, d, w0, w1)
}

/// One leaf: `L` accumulators per sum, compiled for whichever instruction set it is inlined into
/// (`FMA`: one where the CPU has fused multiply-add). Each step is its own loop over the lanes so
/// the compiler vectorises across lanes.
#[inline(always)]
pub(super) fn leaf<T: Real, const L: usize, const FMA: bool>(
    x: &[T],
    d: &[T],
    w0: T,
    w1: T,
) -> (T, T) {
    let mut s0 = [T::ZERO; L];
    let mut s1 = [T::ZERO; L];
    let (xb, xr) = x.as_chunks::<L>();
    let (db, dr) = d.as_chunks::<L>();
    for (xc, dc) in xb.iter().zip(db) {
        if FMA && T::CONTRACTS {
            for k in 0..L {
                let e = dc[k] - w1.mul_add(xc[k], w0);
                s0[k] = s0[k] + e;
                s1[k] = e.mul_add(xc[k], s1[k]);
            }
            continue;
        }
        let mut e = [T::ZERO; L];
        for k in 0..L {
            e[k] = error::<T, FMA>(w0, w1, xc[k], dc[k]);
        }
        for k in 0..L {
            s0[k] = s0[k] + e[k];
        }
        for k in 0..L {
            s1[k] = add_product::<T, FMA>(s1[k], e[k], xc[k]);
        }
    }
    for (k, (&xi, &di)) in xr.iter().zip(dr).enumerate() {
        let e = error::<T, FMA>(w0, w1, xi, di);
        s0[k] = s0[k] + e;
        s1[k] = add_product::<T, FMA>(s1[k], e, xi);
    }
    (fold_lanes(s0), fold_lanes(s1))
}

/// `d − (w0 + w1·x)`: with `w1·x + w0` fused where `FMA` and `T` contracts.
#[inline(always)]
fn error<T: Real, const FMA: bool>(w0: T, w1: T, x: T, d: T) -> T {
    if FMA && T::CONTRACTS {
        d - w1.mul_add(x, w0)
    } else {
        d - (w0 + w1 * x)
    }
}

/// `s + e·x`: fused where `FMA` and `T` contracts.
#[inline(always)]
fn add_product<T: Real, const FMA: bool>(s: T, e: T, x: T) -> T {
    if FMA && T::CONTRACTS {
        e.mul_add(x, s)
    } else {
        s + e * x
    }
}

/// Sums the lanes pairwise in a fixed tree, halving each level.
#[inline(always)]
fn fold_lanes<T: Real, const L: usize>(mut s: [T; L]) -> T {
    let mut width = L;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            s[k] = s[k] + s[k + width];
        }
    }
    s[0]
}

/// Σ of a sequence with Neumaier's compensation: near-exact, for one-off sums (moments, closed form).
pub fn compensated_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut total = crate::problem::Compensated::default();
    for v in values {
        total.add(v);
    }
    total.value()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(x: &[f64], d: &[f64], w0: f64, w1: f64) -> (f64, f64) {
        x.iter().zip(d).fold((0.0, 0.0), |(a, b), (&x, &d)| {
            let e = d - (w0 + w1 * x);
            (a + e, b + e * x)
        })
    }

    #[test]
    fn matches_a_plain_loop_for_every_remainder() {
        for n in [1, 2, 15, 16, 17, 31, 32, 33, 100, 1001, LEAF + 17, 3 * LEAF] {
            let x: Vec<f64> = (0..n).map(|i| i as f64 * 0.37 - 3.0).collect();
            let d: Vec<f64> = x.iter().map(|x| 1.5 - 0.25 * x + (x * 7.0).sin()).collect();
            let (a, b) = error_sums(&x, &d, 0.3, -0.7);
            let (pa, pb) = plain(&x, &d, 0.3, -0.7);
            assert!(
                (a - pa).abs() <= 1e-12 * (1.0 + pa.abs()),
                "n={n}: {a} vs {pa}"
            );
            assert!(
                (b - pb).abs() <= 1e-12 * (1.0 + pb.abs()),
                "n={n}: {b} vs {pb}"
            );
            let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let df: Vec<f32> = d.iter().map(|&v| v as f32).collect();
            let (fa, fb) = error_sums(&xf, &df, 0.3, -0.7);
            assert!(
                (fa as f64 - pa).abs() <= 1e-4 * (1.0 + pa.abs()),
                "n={n}: {fa} vs {pa}"
            );
            assert!(
                (fb as f64 - pb).abs() <= 1e-4 * (1.0 + pb.abs()),
                "n={n}: {fb} vs {pb}"
            );
        }
    }

    /// [`leaf`]'s lanes one sample at a time, with `fma` contracting as the FMA kernels must.
    fn lanes_by_hand(x: &[f32], d: &[f32], w: [f32; 2], fma: bool) -> (f32, f32) {
        let (mut s0, mut s1) = ([0f32; LANES], [0f32; LANES]);
        for (i, (&x, &d)) in x.iter().zip(d).enumerate() {
            let k = i % LANES;
            let (e, ex) = if fma {
                let e = d - w[1].mul_add(x, w[0]);
                (e, e.mul_add(x, s1[k]))
            } else {
                let e = d - (w[0] + w[1] * x);
                (e, s1[k] + e * x)
            };
            s0[k] += e;
            s1[k] = ex;
        }
        (fold_lanes(s0), fold_lanes(s1))
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits_and_f32_contracts_where_there_is_fma() {
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 3.7).collect();
        let d: Vec<f64> = x
            .iter()
            .map(|x| 1.3 + 0.77 * x + (x * 31.0).cos())
            .collect();
        let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let df: Vec<f32> = d.iter().map(|&v| v as f32).collect();
        let w = [0.3f32, -0.7];
        let base = leaf_at::<f64, LANES>(Simd::Baseline, &x, &d, 0.3, -0.7);
        let plain = lanes_by_hand(&xf, &df, w, false);
        let fused = lanes_by_hand(&xf, &df, w, true);
        // The data make the two differ, so each assertion below can tell them apart.
        assert_ne!(plain, fused);
        assert_eq!(
            leaf_at::<f32, LANES>(Simd::Baseline, &xf, &df, w[0], w[1]),
            plain
        );
        for level in Simd::available() {
            assert_eq!(
                leaf_at::<f64, LANES>(level, &x, &d, 0.3, -0.7),
                base,
                "{level:?}"
            );
            let want = if level.fma() { fused } else { plain };
            let got = leaf_at::<f32, LANES>(level, &xf, &df, w[0], w[1]);
            assert_eq!(got, want, "{level:?}, fma: {}", level.fma());
            // Contracted or not, within f32's rounding of each other.
            for (a, b) in [(got.0, plain.0), (got.1, plain.1)] {
                assert!(
                    (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                    "{level:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_parallel_tree_is_as_wide_as_its_forks() {
        // N = 1e4 splits 8 192 + 1 808, then 4 096 + 4 096: no half of two leaves, one thread.
        assert_eq!(parallel_width(10_000, 1), 1);
        // 4 leaves: 8 192 + 8 192 forks once, the halves do not: two threads.
        assert_eq!(parallel_width(2 * FORK_SAMPLES, 1), 2);
        // 64 leaves fork down to nodes of two leaves: 32 threads; none with a grain of all.
        assert_eq!(parallel_width(64 * LEAF, 1), 32);
        assert_eq!(parallel_width(64 * LEAF, 64 * LEAF), 1);
        // N = 21 544 (the sweep's next point): 12 288 + 9 256 forks once.
        assert_eq!(parallel_width(21_544, 1), 2);
    }

    #[test]
    fn the_tree_is_the_same_on_one_thread_or_many() {
        for n in [LEAF - 1, LEAF + 1, 3 * LEAF + 5, 40_000] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.001).cos()).collect();
            let d: Vec<f32> = x.iter().map(|x| 2.0 * x + 0.5).collect();
            let seq = error_sums(&x, &d, 0.1, 0.2);
            for grain in [1, LEAF, 10_000] {
                assert_eq!(
                    error_sums_parallel(&x, &d, 0.1, 0.2, grain),
                    seq,
                    "n={n} grain={grain}"
                );
            }
        }
    }

    #[test]
    fn many_pairs_in_one_walk_give_each_pair_its_own_bits() {
        for n in [
            1,
            33,
            LEAF - 1,
            LEAF + 17,
            2 * LEAF + 1,
            3 * LEAF + 5,
            40_000,
            4 * LEAF + 1,
        ] {
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.013).sin() * 3.0).collect();
            let d: Vec<f64> = x.iter().map(|x| 1.0 - 0.5 * x + (x * 5.0).cos()).collect();
            let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let df: Vec<f32> = d.iter().map(|&v| v as f32).collect();
            for k in [1, 2, 3, 5] {
                let w: Vec<[f64; 2]> = (0..k)
                    .map(|j| [0.1 * j as f64, 0.3 - 0.07 * j as f64])
                    .collect();
                let mut out = vec![(0.0, 0.0); k];
                ManySums::default().sums(&x, &d, &w, &mut out);
                let wf: Vec<[f32; 2]> = w.iter().map(|p| p.map(|v| v as f32)).collect();
                let mut outf = vec![(0.0f32, 0.0f32); k];
                ManySums::default().sums(&xf, &df, &wf, &mut outf);
                for j in 0..k {
                    assert_eq!(
                        out[j],
                        error_sums(&x, &d, w[j][0], w[j][1]),
                        "n={n} k={k} j={j}"
                    );
                    assert_eq!(
                        outf[j],
                        error_sums(&xf, &df, wf[j][0], wf[j][1]),
                        "f32 n={n} k={k} j={j}"
                    );
                }
            }
        }
    }

    #[test]
    fn compensated_sum_recovers_what_plain_summation_loses() {
        let values = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(compensated_sum(values), 2.0);
    }
}
