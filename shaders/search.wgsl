// Step-size search: K descents of the same data at once, one weight pair per step size. Each
// epoch reads x and d once per block of steps and updates every pair, so K moves the work from
// memory-bound (one descent: 6 flops per 8 bytes) towards compute-bound (6·K flops per sample).
// Written in `stored` and `real` (common.wgsl), like fused.wgsl: gpu-fused's search in f32,
// gpu-fused-f64's in f64, gpu-fused-f16's with x and d in f16. The steps are padded to whole
// blocks with mu = 0 (those weights stay 0 and are never read back).
//
// Override constants (set from Rust, src/gpu/plan.rs):
//   STEPS     — steps after padding: a multiple of 4·STEP_VECS (search_errors, search_finish), or
//               of 4 (search_persistent);
//   STEP_VECS — vec4s of steps one invocation of search_errors holds in registers: 1, 2 or 4,
//               so 4·STEP_VECS weight pairs and as many pairs of sums per sample.
//
//   search_errors   — one workgroup per (block of 4·STEP_VECS steps, sample group): workgroup_id.x
//                     is the block, .y the group, so the blocks over the same samples run side by
//                     side and share those samples in cache. A grid-stride loop over vec4 loads of
//                     x and d (the n % 4 tail in group 0), then per vec4 of steps two tree
//                     reductions; partials[(base + group)·STEPS + step] = Σ (e, e·x) for that step.
//                     Bindings: 0 x: array<vec4<stored>> (read), 1 d: array<vec4<stored>> (read),
//                               2 w: array<vec2<real>> (read, STEPS pairs),
//                               3 partials: array<vec2<real>> (read_write), 4 params (n = samples,
//                               base = first sample group of this chunk).
//                     Workgroup: WG invocations.
//   search_finish   — one invocation per step: adds the n groups' partials of its step (four
//                     interleaved sums) and updates w[step] += mu[step]·scale·Σ.
//                     Bindings: 0 partials (read), 1 steps: array<vec2<f32>> (read: mu and what
//                               f32 loses of it, per step), 2 w (read_write),
//                               3 params (n = sample groups, scale, scale_lo).
//                     Workgroup: WG invocations, ⌈STEPS / WG⌉ workgroups.
//   search_persistent — gpu-persistent's search (always f32; the conversions are for the f64
//                     build of this file): one workgroup runs params.epochs epochs for
//                     every step, the STEPS weights in workgroup memory; samples held in registers
//                     when there are at most MAX_HELD per invocation (HELD = ⌈n / WG⌉, else 0 and
//                     they stream from memory). Per epoch and vec4 of steps, two tree reductions.
//                     Bindings: 0 x: array<f32> (read), 1 d: array<f32> (read), 2 steps (read),
//                               3 w: array<vec2<f32>> (read_write), 4 params (n, epochs, scale).
//                     Workgroup: WG invocations (one workgroup).
// Every loop before a reduction has the same trip count in every invocation (loads are guarded,
// not loops), so each barrier is reached in uniform control flow.

override STEPS: u32 = 4u;
override STEP_VECS: u32 = 1u;

var<workgroup> shared_quads: array<vec4<real>, WG>;

// Tree reduction of `value` over the workgroup; the total lands in shared_quads[0], which only
// invocation 0 reads (before its next call), so calls may follow one another without a barrier.
fn reduce_quads(lid: u32, value: vec4<real>) {
    shared_quads[lid] = value;
    workgroupBarrier();
    var stride = WG / 2u;
    loop {
        if stride == 0u {
            break;
        }
        if lid < stride {
            shared_quads[lid] = shared_quads[lid] + shared_quads[lid + stride];
        }
        workgroupBarrier();
        stride = stride / 2u;
    }
}

@group(0) @binding(0) var<storage, read> x: array<vec4<stored>>;
@group(0) @binding(1) var<storage, read> d: array<vec4<stored>>;
@group(0) @binding(2) var<storage, read> w_in: array<vec2<real>>;
@group(0) @binding(3) var<storage, read_write> partials_out: array<vec2<real>>;
@group(0) @binding(4) var<uniform> params_errors: Params;

// Σe and Σe·x of 4 steps (lane l: step l of the vec4).
struct Sums {
    e: vec4<real>,
    ex: vec4<real>,
}

// A vec4 of steps: lane l of w0 and w1 is step s + l.
struct Weights {
    w0: vec4<real>,
    w1: vec4<real>,
}

fn weights_at(s: u32) -> Weights {
    return Weights(
        vec4<real>(w_in[s].x, w_in[s + 1u].x, w_in[s + 2u].x, w_in[s + 3u].x),
        vec4<real>(w_in[s].y, w_in[s + 1u].y, w_in[s + 2u].y, w_in[s + 3u].y),
    );
}

// One sample (xi, di) added to the sums of 4 steps.
fn add_sample(acc: Sums, w: Weights, xi: real, di: real) -> Sums {
    let e = vec4<real>(di) - (w.w0 + w.w1 * xi);
    return Sums(acc.e + e, acc.ex + e * xi);
}

// The workgroup's sums of 4 steps, written by invocation 0 to partials_out[out .. out + 4].
fn write_sums(lid: u32, acc: Sums, out: u32) {
    reduce_quads(lid, acc.e);
    var e = vec4<real>(0.0);
    if lid == 0u {
        e = shared_quads[0];
    }
    reduce_quads(lid, acc.ex);
    if lid == 0u {
        let ex = shared_quads[0];
        for (var l = 0u; l < 4u; l = l + 1u) {
            partials_out[out + l] = vec2<real>(e[l], ex[l]);
        }
    }
}

// STEP_VECS is 1, 2 or 4: the vec4s of steps past the first are written out (a, b, c, dd) and
// guarded by STEP_VECS, a constant once the pipeline is built, so every compiler keeps them in
// registers (with arrays indexed in loops, llvmpipe ran 16 steps per invocation 2–3× slower).
@compute @workgroup_size(WG)
fn search_errors(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let first_step = wid.x * 4u * STEP_VECS;
    let zero = Sums(vec4<real>(0.0), vec4<real>(0.0));
    let wa = weights_at(first_step);
    var wb = Weights(vec4<real>(0.0), vec4<real>(0.0));
    var wc = wb;
    var wd = wb;
    if STEP_VECS > 1u {
        wb = weights_at(first_step + 4u);
    }
    if STEP_VECS > 2u {
        wc = weights_at(first_step + 8u);
        wd = weights_at(first_step + 12u);
    }
    var a = zero;
    var b = zero;
    var c = zero;
    var dd = zero;
    let quads = params_errors.n / 4u;
    let stride = groups.y * WG;
    for (var first = wid.y * WG; first < quads; first = first + stride) {
        let j = first + lid;
        if j < quads {
            let xv = vec4<real>(x[j]);
            let dv = vec4<real>(d[j]);
            for (var k = 0u; k < 4u; k = k + 1u) {
                a = add_sample(a, wa, xv[k], dv[k]);
                if STEP_VECS > 1u {
                    b = add_sample(b, wb, xv[k], dv[k]);
                }
                if STEP_VECS > 2u {
                    c = add_sample(c, wc, xv[k], dv[k]);
                    dd = add_sample(dd, wd, xv[k], dv[k]);
                }
            }
        }
    }
    // The scalar tail: samples 4·quads .. n − 1.
    if wid.y == 0u && lid < params_errors.n % 4u {
        let xi = real(x[quads][lid]);
        let di = real(d[quads][lid]);
        a = add_sample(a, wa, xi, di);
        if STEP_VECS > 1u {
            b = add_sample(b, wb, xi, di);
        }
        if STEP_VECS > 2u {
            c = add_sample(c, wc, xi, di);
            dd = add_sample(dd, wd, xi, di);
        }
    }
    let out = (params_errors.base + wid.y) * STEPS + first_step;
    write_sums(lid, a, out);
    if STEP_VECS > 1u {
        write_sums(lid, b, out + 4u);
    }
    if STEP_VECS > 2u {
        write_sums(lid, c, out + 8u);
        write_sums(lid, dd, out + 12u);
    }
}

@group(0) @binding(0) var<storage, read> partials_in: array<vec2<real>>;
@group(0) @binding(1) var<storage, read> steps_finish: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> w_finish: array<vec2<real>>;
@group(0) @binding(3) var<uniform> params_finish: Params;

@compute @workgroup_size(WG)
fn search_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
    let step = gid.x;
    if step >= STEPS {
        return;
    }
    // Four interleaved sums over the groups, then added pairwise.
    var acc = array<vec2<real>, 4>(vec2<real>(0.0), vec2<real>(0.0), vec2<real>(0.0), vec2<real>(0.0));
    for (var g = 0u; g < params_finish.n; g = g + 1u) {
        acc[g % 4u] = acc[g % 4u] + partials_in[g * STEPS + step];
    }
    let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    let mu = real(steps_finish[step].x) + real(steps_finish[step].y);
    w_finish[step] = w_finish[step] + mu * (scale_of(params_finish) * total);
}

@group(0) @binding(0) var<storage, read> x_held: array<f32>;
@group(0) @binding(1) var<storage, read> d_held: array<f32>;
@group(0) @binding(2) var<storage, read> steps_persistent: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> w_persistent: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params_persistent: Params;

// Registers one invocation may hold per array (src/gpu/plan.rs: MAX_HELD).
const MAX_HELD: u32 = 32u;
override HELD: u32 = 0u;

// The weights of every step, by vec4 of steps: lane l of w0_steps[q] is step 4q + l.
var<workgroup> w0_steps: array<vec4<f32>, STEPS / 4u>;
var<workgroup> w1_steps: array<vec4<f32>, STEPS / 4u>;

@compute @workgroup_size(WG)
fn search_persistent(@builtin(local_invocation_index) lid: u32) {
    let n = params_persistent.n;
    var xs: array<f32, MAX_HELD>;
    var ds: array<f32, MAX_HELD>;
    for (var k = 0u; k < HELD; k = k + 1u) {
        let i = lid + k * WG;
        if i < n {
            xs[k] = x_held[i];
            ds[k] = d_held[i];
        }
    }
    for (var q = lid; q < STEPS / 4u; q = q + WG) {
        let s = 4u * q;
        let w = array<vec2<f32>, 4>(w_persistent[s], w_persistent[s + 1u], w_persistent[s + 2u], w_persistent[s + 3u]);
        w0_steps[q] = vec4<f32>(w[0].x, w[1].x, w[2].x, w[3].x);
        w1_steps[q] = vec4<f32>(w[0].y, w[1].y, w[2].y, w[3].y);
    }
    workgroupBarrier();
    let scale = params_persistent.scale;
    for (var epoch = 0u; epoch < params_persistent.epochs; epoch = epoch + 1u) {
        for (var q = 0u; q < STEPS / 4u; q = q + 1u) {
            let w0 = w0_steps[q];
            let w1 = w1_steps[q];
            var acc_e = vec4<f32>(0.0);
            var acc_ex = vec4<f32>(0.0);
            if HELD > 0u {
                for (var k = 0u; k < HELD; k = k + 1u) {
                    if lid + k * WG < n {
                        let e = vec4<f32>(ds[k]) - (w0 + w1 * xs[k]);
                        acc_e = acc_e + e;
                        acc_ex = acc_ex + e * xs[k];
                    }
                }
            } else {
                for (var i = lid; i < n; i = i + WG) {
                    let xi = x_held[i];
                    let e = vec4<f32>(d_held[i]) - (w0 + w1 * xi);
                    acc_e = acc_e + e;
                    acc_ex = acc_ex + e * xi;
                }
            }
            reduce_quads(lid, vec4<real>(acc_e));
            var e = vec4<f32>(0.0);
            if lid == 0u {
                e = vec4<f32>(shared_quads[0]);
            }
            reduce_quads(lid, vec4<real>(acc_ex));
            if lid == 0u {
                let ex = vec4<f32>(shared_quads[0]);
                let s = 4u * q;
                let mu = vec4<f32>(steps_persistent[s].x, steps_persistent[s + 1u].x, steps_persistent[s + 2u].x, steps_persistent[s + 3u].x);
                w0_steps[q] = w0 + mu * (scale * e);
                w1_steps[q] = w1 + mu * (scale * ex);
            }
        }
        // The new weights, before any invocation reads them in the next epoch.
        workgroupBarrier();
    }
    for (var q = lid; q < STEPS / 4u; q = q + WG) {
        for (var l = 0u; l < 4u; l = l + 1u) {
            w_persistent[4u * q + l] = vec2<f32>(w0_steps[q][l], w1_steps[q][l]);
        }
    }
}
