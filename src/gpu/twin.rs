//! CPU twins of the kernels' passes, for the pass-by-pass replay of custom kernels
//! ([`super::replay`]): what each dispatch should have written, in f64, from the inputs the GPU
//! actually read, with a tolerance for the order and precision it may sum in. Fed the GPU's own
//! inputs, a twin blames the first pass whose output is wrong, not every pass after it.

use super::buffers::Real;

/// What a dispatch is, for the replay: its entry point, the buffer it writes (named as the
/// kernel binds it) and what its twin computes.
pub(super) struct Role {
    pub entry: &'static str,
    pub buffer: &'static str,
    pub pass: Pass,
}

impl Role {
    /// `entry` writing `buffer` as `pass` says.
    pub fn new(entry: &'static str, buffer: &'static str, pass: Pass) -> Self {
        Self {
            entry,
            buffer,
            pass,
        }
    }
}

/// What one dispatch writes, for its twin.
#[derive(Clone)]
pub(super) enum Pass {
    /// `error`: `e[i] = d[i] − (w0 + w1·x[i])` over chunk `chunk`.
    Errors { chunk: usize, e: wgpu::Buffer },
    /// A first level: `out[base + g] = Σ (e_i, e_i·x_i)` over the samples of chunk `chunk` that
    /// workgroup `g` of `groups` covers; `e` is the error buffer read (`reduce_errors`), or none
    /// when the pass computes the errors from w itself (`fused_errors` and its kin).
    Partials {
        chunk: usize,
        e: Option<wgpu::Buffer>,
        out: wgpu::Buffer,
        base: u32,
        groups: u32,
        cover: Cover,
    },
    /// `reduce_partials`: `out[g] = Σ input[g·tile ..]` over `n` inputs.
    Level {
        input: wgpu::Buffer,
        out: wgpu::Buffer,
        n: u32,
        tile: u64,
    },
    /// `update` and the finish kernels: `w += mu·scale·Σ sums[0..n]`.
    Update { sums: wgpu::Buffer, n: u32 },
    /// gpu-persistent's kernel run for one epoch: w after it.
    Epoch,
    /// The search kernels: not replayed pass by pass (their rows are diagnosed by w per epoch).
    Search,
}

/// Which samples workgroup `g` of a first level covers (in the built-in kernels: a custom one
/// may share them out otherwise, as long as the partials add up to the same sums).
#[derive(Debug, Clone, Copy)]
pub enum Cover {
    /// Tile `g`: samples `g·tile .. (g + 1)·tile`.
    Tiles { tile: u64 },
    /// A grid-stride loop over vectors of `per_vec` samples, `wg` vectors per workgroup and
    /// sweep; workgroup 0 also takes the `n % per_vec` samples left at the end.
    GridStride { wg: u64, per_vec: u64 },
}

impl Cover {
    /// The workgroup of `groups` that sums sample `i` of `n`.
    pub fn group(self, i: u64, n: u64, groups: u64) -> u64 {
        match self {
            Cover::Tiles { tile } => i / tile,
            Cover::GridStride { per_vec, .. } if i >= n / per_vec * per_vec => 0,
            Cover::GridStride { wg, per_vec } => (i / per_vec / wg) % groups,
        }
    }

    /// What workgroup `g` covers, in words.
    pub fn describe(self, g: u64, n: u64, groups: u64) -> String {
        match self {
            Cover::Tiles { tile } => {
                format!(
                    "workgroup {g}: samples {}..{}",
                    g * tile,
                    ((g + 1) * tile).min(n)
                )
            }
            Cover::GridStride { wg, per_vec } => {
                let run = wg * per_vec;
                let tail = if g == 0 && !n.is_multiple_of(per_vec) {
                    format!(", and the last n % {per_vec}")
                } else {
                    String::new()
                };
                format!(
                    "workgroup {g}: the runs of {run} samples from {} + k·{}{tail}",
                    g * run,
                    groups * run
                )
            }
        }
    }
}

/// A twin's value of one element, the magnitude of what went into it and how many terms: its
/// tolerance is `(terms + 4)·u·magnitude` (the worst case of adding `terms` values in any order)
/// plus `slack`, for inputs rounded more coarsely than the arithmetic.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sum {
    /// The twin's value: a pair (Σe, Σe·x), or the weights (w0, w1), or an error and 0.
    pub value: [f64; 2],
    /// Σ of the absolute values that went into each part.
    pub magnitude: [f64; 2],
    /// Values added.
    pub terms: u64,
    /// Tolerance beyond the arithmetic's.
    pub slack: [f64; 2],
}

impl Sum {
    /// Adds `value` whose parts had magnitude `magnitude`.
    pub fn add(&mut self, value: [f64; 2], magnitude: [f64; 2]) {
        for k in 0..2 {
            self.value[k] += value[k];
            self.magnitude[k] += magnitude[k];
        }
        self.terms += 1;
    }

    /// How far a value computed in arithmetic of unit roundoff `u` may be from this one. Each
    /// term may also lose what a GPU flushes below f32's smallest normal (1.2e-38), which GPUs
    /// do with f32 (and df64's halves).
    pub fn tolerance(&self, u: f64) -> [f64; 2] {
        let terms = (self.terms + 4) as f64;
        let flushed = terms * f64::from(f32::MIN_POSITIVE);
        [0, 1].map(|k| terms * u * self.magnitude[k] + self.slack[k] + flushed)
    }

    /// True when `got` is within tolerance of this value.
    pub fn holds(&self, got: [f64; 2], u: f64) -> bool {
        let tol = self.tolerance(u);
        (0..2).all(|k| (got[k] - self.value[k]).abs() <= tol[k])
    }
}

/// The unit roundoff of `real`'s arithmetic: f16 data is summed in f32; df64 keeps about 48
/// bits, taken as 44 for the guard operations it adds.
pub fn unit_roundoff(real: Real) -> f64 {
    match real {
        Real::F32 | Real::F16 => f64::powi(2.0, -24),
        Real::F64 => f64::powi(2.0, -53),
        Real::Df64 => f64::powi(2.0, -44),
    }
}

/// The sample's error pair `(e, e·x)` at weights `w` and its magnitudes.
pub fn sample(w: [f64; 2], x: f64, d: f64) -> ([f64; 2], [f64; 2]) {
    let e = d - (w[0] + w[1] * x);
    let m = d.abs() + w[0].abs() + (w[1] * x).abs();
    ([e, e * x], [m, m * x.abs()])
}

/// The error pass: one [`Sum`] per sample (its second part unused).
pub fn errors(w: [f64; 2], x: &[f64], d: &[f64]) -> Vec<Sum> {
    x.iter()
        .zip(d)
        .map(|(&x, &d)| {
            let (v, m) = sample(w, x, d);
            Sum {
                value: [v[0], 0.0],
                magnitude: [m[0], 0.0],
                terms: 3,
                ..Sum::default()
            }
        })
        .collect()
}

/// A first level's partials from weights `w` (`e`: the errors the GPU read instead, if any).
pub fn partials(
    w: [f64; 2],
    (x, d): (&[f64], &[f64]),
    e: Option<&[f64]>,
    groups: u64,
    cover: Cover,
) -> Vec<Sum> {
    let n = x.len() as u64;
    let mut sums = vec![Sum::default(); groups as usize];
    for (i, (&xi, &di)) in x.iter().zip(d).enumerate() {
        let (v, m) = match e {
            Some(e) => ([e[i], e[i] * xi], [e[i].abs(), (e[i] * xi).abs()]),
            None => sample(w, xi, di),
        };
        let g = cover.group(i as u64, n, groups).min(groups - 1);
        sums[g as usize].add(v, m);
    }
    sums
}

/// A reduction level's outputs: `ceil(n / tile)` sums of `tile` inputs each.
pub fn level(input: &[[f64; 2]], tile: u64) -> Vec<Sum> {
    input
        .chunks(tile as usize)
        .map(|c| {
            let mut s = Sum::default();
            for v in c {
                s.add(*v, v.map(f64::abs));
            }
            s
        })
        .collect()
}

/// w after `w += step·total` (`step` = mu·2/N), whose two factors reach the kernel rounded to
/// unit roundoff `u_params` (f32, or mu + mu_lo in f64).
pub fn update(w: [f64; 2], total: Sum, step: f64, u_params: f64) -> Sum {
    let k = step.abs();
    let value = [0, 1].map(|c| w[c] + step * total.value[c]);
    Sum {
        value,
        magnitude: [0, 1].map(|c| w[c].abs() + value[c].abs() + k * total.magnitude[c]),
        terms: total.terms + 4,
        slack: [0, 1].map(|c| 2.0 * u_params * k * total.magnitude[c]),
    }
}

/// The total of `sums`: one [`Sum`] of all their terms.
pub fn total(sums: &[Sum]) -> Sum {
    let mut t = Sum::default();
    for s in sums {
        for k in 0..2 {
            t.value[k] += s.value[k];
            t.magnitude[k] += s.magnitude[k];
            t.slack[k] += s.slack[k];
        }
        t.terms += s.terms;
    }
    t
}

/// The first output that differs from its twin: `None` when they agree. Where a pass's outputs
/// are partials of one sum (`partitioned`), a custom kernel may share the samples out its own
/// way: then the partials' total must hold, within the sum of the partials' own tolerances (each
/// partial has only its workgroup's terms, so this stays tight as N grows, where one tolerance
/// over all N terms would let a dropped tail through); when it does not, the first partial that
/// differs from the built-in layout's (else the one furthest out) is named.
pub fn first_difference(
    got: &[[f64; 2]],
    want: &[Sum],
    u: f64,
    partitioned: bool,
) -> Option<usize> {
    let beyond = |i: usize| !want[i].holds(got[i], u);
    if !partitioned {
        return (0..want.len()).find(|&i| beyond(i));
    }
    if want.iter().zip(got).all(|(w, g)| w.holds(*g, u)) {
        return None;
    }
    let sum_got = got.iter().fold([0.0; 2], |a, g| [a[0] + g[0], a[1] + g[1]]);
    let sum_want = total(want).value;
    let allowed = want.iter().fold([0.0; 2], |a, w| {
        let t = w.tolerance(u);
        [a[0] + t[0], a[1] + t[1]]
    });
    if (0..2).all(|k| (sum_got[k] - sum_want[k]).abs() <= allowed[k]) {
        return None;
    }
    (0..want.len()).find(|&i| beyond(i)).or_else(|| {
        (0..want.len()).max_by(|&a, &b| {
            let off = |i: usize| {
                let tol = want[i].tolerance(u);
                (0..2)
                    .map(|k| (got[i][k] - want[i].value[k]).abs() / tol[k])
                    .fold(0.0, f64::max)
            };
            off(a).total_cmp(&off(b))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten samples with x = i and d = 1: at w = 0 each adds (1, i).
    fn ten() -> (Vec<f64>, Vec<f64>) {
        ((0..10).map(f64::from).collect(), vec![1.0; 10])
    }

    #[test]
    fn a_grid_stride_gives_each_run_to_its_workgroup_and_the_tail_to_the_first() {
        // Runs of 2·4 = 8 samples over 2 workgroups: 0..8 to 0, 8..16 to 1, 16..24 to 0; of
        // n = 10, samples 8 and 9 are past the last whole vec4: workgroup 0's tail.
        let cover = Cover::GridStride { wg: 2, per_vec: 4 };
        let groups: Vec<u64> = (0..26).map(|i| cover.group(i, 26, 2)).collect();
        assert_eq!(groups[..8], [0; 8]);
        assert_eq!(groups[8..16], [1; 8]);
        assert_eq!(groups[16..24], [0; 8]);
        assert_eq!(groups[24..], [0, 0], "the tail");
        assert_eq!(Cover::Tiles { tile: 4 }.group(9, 10, 3), 2);
    }

    #[test]
    fn partials_sum_each_workgroups_samples() {
        let (x, d) = ten();
        let sums = partials([0.0; 2], (&x, &d), None, 3, Cover::Tiles { tile: 4 });
        let values: Vec<[f64; 2]> = sums.iter().map(|s| s.value).collect();
        assert_eq!(values, [[4.0, 6.0], [4.0, 22.0], [2.0, 17.0]]);
        assert_eq!(sums[2].terms, 2);
        // From errors read instead: e = 2 everywhere.
        let e = vec![2.0; 10];
        let sums = partials([9.0; 2], (&x, &d), Some(&e), 1, Cover::Tiles { tile: 16 });
        assert_eq!(sums[0].value, [20.0, 90.0]);
    }

    #[test]
    fn a_wrong_element_is_named_and_a_right_one_within_rounding_is_not() {
        let (x, d) = ten();
        let want = errors([0.5, 0.25], &x, &d);
        let mut got: Vec<[f64; 2]> = want.iter().map(|s| [s.value[0], 0.0]).collect();
        // One f32 rounding of each: within tolerance.
        for g in &mut got {
            g[0] = f64::from(g[0] as f32) * (1.0 + 2f64.powi(-24));
        }
        let u = unit_roundoff(Real::F32);
        assert_eq!(first_difference(&got, &want, u, false), None);
        got[7][0] += 1e-3;
        assert_eq!(first_difference(&got, &want, u, false), Some(7));
    }

    #[test]
    fn partials_shared_out_otherwise_pass_when_their_total_holds() {
        let (x, d) = ten();
        let want = partials([0.0; 2], (&x, &d), None, 3, Cover::Tiles { tile: 4 });
        let u = unit_roundoff(Real::F32);
        // Another split of the same samples: each partial differs, the total does not.
        let other = [[3.0, 3.0], [5.0, 25.0], [2.0, 17.0]];
        assert_eq!(first_difference(&other, &want, u, true), None);
        // A lost sample (x = 5, in workgroup 1): named there.
        let lost = [[4.0, 6.0], [3.0, 17.0], [2.0, 17.0]];
        assert_eq!(first_difference(&lost, &want, u, true), Some(1));
        // Wrong in total but every partial near its own: the one furthest out.
        let spread = [[4.0, 6.0], [4.0, 22.0 + 1e-4], [2.0, 17.0 + 1e-3]];
        let tight = |s: &Sum| Sum {
            magnitude: [1e-12; 2],
            ..*s
        };
        let want: Vec<Sum> = want.iter().map(tight).collect();
        assert_eq!(first_difference(&spread, &want, u, true), Some(1));
    }

    #[test]
    fn two_samples_lost_in_ten_thousand_are_caught() {
        // Five tiles of 2 048 over 10 003 samples; workgroup 0 loses the last 2 samples (as a
        // grid-stride kernel that drops part of its tail would). That is inside one tolerance
        // over all N terms ((N + 4)·u of the magnitude in f32), not inside the sum of the five
        // tiles' own.
        let x: Vec<f64> = (0..10_003).map(|i| f64::from(i) * 1e-4).collect();
        let d: Vec<f64> = x.iter().map(|x| 1.0 + 2.0 * x).collect();
        let want = partials([0.0; 2], (&x, &d), None, 5, Cover::Tiles { tile: 2048 });
        let mut got: Vec<[f64; 2]> = want.iter().map(|s| s.value).collect();
        for i in 10_001..10_003 {
            let (v, _) = sample([0.0; 2], x[i], d[i]);
            got[0] = [got[0][0] - v[0], got[0][1] - v[1]];
        }
        let u = unit_roundoff(Real::F32);
        let all_at_once = total(&want);
        let sum_got = got.iter().fold([0.0; 2], |a, g| [a[0] + g[0], a[1] + g[1]]);
        assert!(
            all_at_once.holds(sum_got, u),
            "the loose rule would pass it"
        );
        assert_eq!(first_difference(&got, &want, u, true), Some(0));
    }

    #[test]
    fn an_update_is_w_plus_the_step_times_the_total_with_the_params_rounding_allowed() {
        let total = Sum {
            value: [100.0, 50.0],
            magnitude: [100.0, 50.0],
            terms: 10,
            slack: [0.0; 2],
        };
        let u = unit_roundoff(Real::F32);
        let next = update([1.0, 2.0], total, 0.01, u);
        assert_eq!(next.value, [2.0, 2.5]);
        assert!(next.holds([2.0 * (1.0 + 4.0 * u), 2.5], u));
        assert!(!next.holds([2.0 * 1.01, 2.5], u), "a step 1 % too large");
        // An f64 kernel gets mu to 2⁻⁴⁶: that much more is allowed than its arithmetic's.
        let u64 = unit_roundoff(Real::F64);
        let next = update([1.0, 2.0], total, 0.01, 2f64.powi(-46));
        assert!(next.holds([2.0 + 2f64.powi(-46), 2.5], u64));
        assert!(!next.holds([2.0 + 1e-9, 2.5], u64));
    }
}
