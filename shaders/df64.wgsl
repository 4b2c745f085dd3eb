// gpu-fused-df64: gpu-fused (fused.wgsl) in double-float ("float-float") arithmetic. A value is a
// pair of f32 (hi, lo) whose exact sum it is, |lo| ≤ ulp(hi)/2: about 48 significand bits on any
// GPU, no SHADER_F64 needed. The exponent range stays f32's (lo loses bits below about 1e-31).
//
// The arithmetic (Dekker 1971, Knuth; Joldes, Muller & Popescu 2017):
//   two_sum(a, b)  = (s, e): s = fl(a + b) and its exact error e (six additions, no branch);
//   two_prod(a, b) = (p, e): p = fl(a·b) and its exact error e = fma(a, b, −p) where fma is
//                    fused (override FMA), else from Dekker's split of a and b into halves;
//   df_add         — the accurate sum of two pairs (two two_sums, two renormalisations), relative
//                    error below 3·2⁻⁴⁸ even when they cancel, as e = d − (w0 + w1·x) does;
//   df_mul         — the product of two pairs, relative error below 7·2⁻⁴⁸.
// These hold only while the compiler keeps each operation as written: no reassociation (which
// turns two_sum's error into 0; see `kept`) and, with FMA, a fused fma (else two_prod's error is
// 0). `df64_ops` runs them on hard cases, and gdbench compares the adapter's answers bit for bit
// with the CPU twin in src/gpu/df64.rs before the row runs, with FMA and, if that fails, without;
// where neither holds the row is unavailable, not wrong.
//
// Layout: x and d hold two samples per vec4 (hi0, lo0, hi1, lo1), padded to whole vec4s; w is
// (w0.hi, w0.lo, w1.hi, w1.lo) and a partial (Σe.hi, Σe.lo, Σe·x.hi, Σe·x.lo). mu and 2/N arrive
// as the pairs (mu, mu_lo) and (scale, scale_lo) of common.wgsl's Params.
//   df64_errors — partials[base + wg] = Σ (e_i, e_i·x_i) over a grid-stride loop, as fused_errors:
//                 a fixed number of workgroups, one vec4 (two samples) of x and d per invocation
//                 per step, loads guarded rather than the loop; workgroup 0 adds sample n − 1 when
//                 n is odd. Bindings: 0 x, 1 d: array<vec4<f32>> (read), 2 w: vec4<f32> (read),
//                 3 partials: array<vec4<f32>> (read_write), 4 params (n = samples).
//   df64_finish — one workgroup (WG up to 1 024) sums the n partials and updates
//                 w += mu·(scale·Σ). Bindings: 0 partials (read), 1 w (read_write), 2 params.
//   df64_ops    — the self-check: case i = (a.hi, a.lo, b.hi, b.lo) gives
//                 out[2i] = (two_sum(a.hi, b.hi), two_prod(a.hi, b.hi)) and
//                 out[2i + 1] = (df_add(a, b), df_mul(a, b)).
//                 Bindings: 0 cases: array<vec4<f32>> (read), 1 out (read_write), 2 params (n = cases).
// Every entry point takes Params.zero into df_zero before any arithmetic.
// Workgroup: WG invocations; the tree holds one vec4 (16 bytes) per invocation.

// Params.zero (0), set first thing by every entry point. Compilers that may reassociate (Mesa's
// does: it folds (a + b) − a to b, so two_sum's error becomes 0, and it sees through a product
// with an unknown 1.0) cannot see through an integer xor with a value they do not know, so the
// sums and splits that pass through `kept` stay as written. It costs one integer op each.
var<private> df_zero: u32;

fn kept(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ df_zero);
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = kept(a + b);
    let bb = kept(s - a);
    let e = (a - (s - bb)) + (b - bb);
    return vec2<f32>(s, e);
}

// two_sum when |a| ≥ |b| (or a = 0): three additions.
fn quick_two_sum(a: f32, b: f32) -> vec2<f32> {
    let s = kept(a + b);
    return vec2<f32>(s, b - (s - a));
}

// Whether fma is fused on this adapter (gdbench's self-check decides; Vulkan does not promise it,
// and lavapipe's is not): true takes two_prod's error from one fma, false from Dekker's split.
override FMA: bool = true;

fn two_prod(a: f32, b: f32) -> vec2<f32> {
    let p = kept(a * b);
    if FMA {
        return vec2<f32>(p, fma(a, b, -p));
    }
    // Dekker: a and b split into 12-bit halves whose products are exact, whatever the compiler
    // contracts; the split goes through `kept` like two_sum's sums.
    let sa = split_halves(a);
    let sb = split_halves(b);
    let e = ((sa.x * sb.x - p) + sa.x * sb.y + sa.y * sb.x) + sa.y * sb.y;
    return vec2<f32>(p, e);
}

// a = hi + lo with hi on a's top 12 bits and lo on the rest (Veltkamp, 4 097 = 2¹² + 1).
fn split_halves(a: f32) -> vec2<f32> {
    let t = kept(4097.0 * a);
    let hi = t - kept(t - a);
    return vec2<f32>(hi, a - hi);
}

fn df_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let s = two_sum(a.x, b.x);
    let t = two_sum(a.y, b.y);
    let r = quick_two_sum(s.x, s.y + t.x);
    return quick_two_sum(r.x, r.y + t.y);
}

fn df_mul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    let p = two_prod(a.x, b.x);
    return quick_two_sum(p.x, p.y + (a.x * b.y + a.y * b.x));
}

// Two pairs side by side: (Σe, Σe·x).
fn df2_add(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(df_add(a.xy, b.xy), df_add(a.zw, b.zw));
}

// acc + (e, e·x) for one sample, e = d − (w0 + w1·x).
fn add_sample(acc: vec4<f32>, xi: vec2<f32>, di: vec2<f32>, w: vec4<f32>) -> vec4<f32> {
    let e = df_add(di, -df_add(w.xy, df_mul(w.zw, xi)));
    return df2_add(acc, vec4<f32>(e, df_mul(e, xi)));
}

var<workgroup> shared_pairs: array<vec4<f32>, WG>;

// reduce_workgroup (common.wgsl) with df64 sums. Every invocation must call it.
fn reduce_pairs(lid: u32, value: vec4<f32>) -> vec4<f32> {
    shared_pairs[lid] = value;
    workgroupBarrier();
    var stride = WG / 2u;
    loop {
        if stride == 0u {
            break;
        }
        if lid < stride {
            shared_pairs[lid] = df2_add(shared_pairs[lid], shared_pairs[lid + stride]);
        }
        workgroupBarrier();
        stride = stride / 2u;
    }
    return shared_pairs[0];
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> d: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w_in: vec4<f32>;
@group(0) @binding(3) var<storage, read_write> partials_out: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> params_errors: Params;

@compute @workgroup_size(WG)
fn df64_errors(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    df_zero = params_errors.zero;
    let w_now = w_in;
    let pairs = params_errors.n / 2u;
    let stride = groups.x * WG;
    // One accumulator per sample of the vec4: two independent chains.
    var acc_a = vec4<f32>(0.0);
    var acc_b = vec4<f32>(0.0);
    for (var first = wid.x * WG; first < pairs; first = first + stride) {
        let j = first + lid;
        if j < pairs {
            let xv = x[j];
            let dv = d[j];
            acc_a = add_sample(acc_a, xv.xy, dv.xy, w_now);
            acc_b = add_sample(acc_b, xv.zw, dv.zw, w_now);
        }
    }
    var acc = df2_add(acc_a, acc_b);
    if wid.x == 0u && lid == 0u && params_errors.n % 2u == 1u {
        acc = add_sample(acc, x[pairs].xy, d[pairs].xy, w_now);
    }
    let total = reduce_pairs(lid, acc);
    if lid == 0u {
        partials_out[params_errors.base + wid.x] = total;
    }
}

@group(0) @binding(0) var<storage, read> partials_in: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> w: vec4<f32>;
@group(0) @binding(2) var<uniform> params_finish: Params;

@compute @workgroup_size(WG)
fn df64_finish(@builtin(local_invocation_index) lid: u32) {
    df_zero = params_finish.zero;
    var acc = vec4<f32>(0.0);
    for (var first = 0u; first < params_finish.n; first = first + WG) {
        let i = first + lid;
        if i < params_finish.n {
            acc = df2_add(acc, partials_in[i]);
        }
    }
    let total = reduce_pairs(lid, acc);
    if lid == 0u {
        let mu = vec2<f32>(params_finish.mu, params_finish.mu_lo);
        let scale = vec2<f32>(params_finish.scale, params_finish.scale_lo);
        let step = vec4<f32>(
            df_mul(mu, df_mul(scale, total.xy)),
            df_mul(mu, df_mul(scale, total.zw)),
        );
        w = df2_add(w, step);
    }
}

@group(0) @binding(0) var<storage, read> cases: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> results: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params_ops: Params;

@compute @workgroup_size(WG)
fn df64_ops(@builtin(global_invocation_id) id: vec3<u32>) {
    df_zero = params_ops.zero;
    let i = id.x;
    if i < params_ops.n {
        let c = cases[i];
        results[2u * i] = vec4<f32>(two_sum(c.x, c.z), two_prod(c.x, c.z));
        results[2u * i + 1u] = vec4<f32>(df_add(c.xy, c.zw), df_mul(c.xy, c.zw));
    }
}
