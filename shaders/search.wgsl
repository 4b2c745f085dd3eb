// Step-size search: K descents of the same data at once, one weight pair per step size. Each
// epoch reads x and d once (per block of 4·WG steps) and updates every pair, so K moves the work from
// memory-bound (one descent: 6 flops per 8 bytes) towards compute-bound (6·K flops per sample).
// Written in `stored` and `real` (common.wgsl), like fused.wgsl: gpu-fused's search in f32,
// gpu-fused-f64's in f64, gpu-fused-f16's with x and d in f16. The steps are padded to whole
// blocks with mu = 0 (those weights stay 0 and are never read back).
//
// Override constants (set from Rust, src/gpu/plan.rs):
//   STEPS     — steps after padding: a multiple of 4·STEP_VECS (search_errors, search_finish), or
//               4·STEP_VECS itself (search_persistent);
//   STEP_VECS — vec4s of steps (4 steps each) one workgroup covers: a power of two from 1 to WG;
//               its WG / STEP_VECS invocations per vec4 split the samples.
//
//   search_errors   — one workgroup per (block of 4·STEP_VECS steps, sample group): workgroup_id.x
//                     is the block (more than one only when K > 4·WG), .y the group. A grid-stride
//                     loop over tiles of WG vec4s of x and d, staged in workgroup memory and read
//                     from there by every invocation (each sample read from memory once per block,
//                     not once per step); each invocation sums 4 steps (a vec4: lane l is a step)
//                     over its share of the tile; group 0 adds the n % 4 tail. Then the shares of
//                     each vec4 are added in order: partials[(base + group)·STEPS + step] =
//                     Σ (e, e·x) for that step.
//                     Bindings: 0 x: array<vec4<stored>> (read), 1 d: array<vec4<stored>> (read),
//                               2 w: array<vec2<real>> (read, STEPS pairs),
//                               3 partials: array<vec2<real>> (read_write), 4 params (n = samples,
//                               base = first sample group of this chunk).
//                     Workgroup: WG invocations; workgroup memory 2·WG vec4<stored> (the tile)
//                     and WG vec4<real>.
//   search_finish   — one invocation per step: adds the n groups' partials of its step (four
//                     interleaved sums) and updates w[step] += mu[step]·scale·Σ.
//                     Bindings: 0 partials (read), 1 steps: array<vec2<f32>> (read: mu and what
//                               f32 loses of it, per step), 2 w (read_write),
//                               3 params (n = sample groups, scale, scale_lo).
//                     Workgroup: WG invocations, ⌈STEPS / WG⌉ workgroups.
//   search_persistent — gpu-persistent's search: one workgroup runs params.epochs epochs for
//                     every step, the weights of the STEPS = 4·STEP_VECS steps in workgroup
//                     memory; invocations split as in search_errors (a vec4 of steps, a lane of
//                     samples), each lane's samples held in registers when there are at most
//                     MAX_HELD (HELD = ⌈n / lanes⌉, else 0 and they stream from memory). Per epoch
//                     two trees over the lanes.
//                     Bindings: 0 x: array<f32> (read), 1 d: array<f32> (read), 2 steps (read),
//                               3 w: array<vec2<f32>> (read_write), 4 params (n, epochs, scale).
//                     Workgroup: WG invocations (one workgroup); STEP_VECS ≤ WG.
// Every barrier is reached in uniform control flow: loops that contain one run the same trip
// count in every invocation (tile loops, step loops); per-invocation loops contain none.

override STEPS: u32 = 4u;
override STEP_VECS: u32 = 1u;

// vec4s of samples summed in one rounding chain before the chain's sum is set aside.
const RUN: u32 = 16u;

var<workgroup> shared_quads: array<vec4<real>, WG>;

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

fn add_sums(a: Sums, b: Sums) -> Sums {
    return Sums(a.e + b.e, a.ex + b.ex);
}

// search_persistent's sums over samples in short rounding chains (search_errors writes its runs
// as loops): runs of 4·RUN samples are summed apart and each
// run's sum is added to `done`.
struct Chain {
    done: Sums,
    run: Sums,
    in_run: u32,
}

fn new_chain() -> Chain {
    let zero = Sums(vec4<real>(0.0), vec4<real>(0.0));
    return Chain(zero, zero, 0u);
}

fn chain_add(c: Chain, w: Weights, xi: real, di: real) -> Chain {
    let next = Chain(c.done, add_sample(c.run, w, xi, di), c.in_run + 1u);
    if next.in_run == 4u * RUN {
        return Chain(add_sums(next.done, next.run), new_chain().run, 0u);
    }
    return next;
}

fn chain_total(c: Chain) -> Sums {
    return add_sums(c.done, c.run);
}

// A tile of the samples, staged in workgroup memory: WG vec4s of x and of d.
var<workgroup> tile_x: array<vec4<stored>, WG>;
var<workgroup> tile_d: array<vec4<stored>, WG>;

// Invocation lid holds vec4 of steps `lid % STEP_VECS` (consecutive invocations: consecutive
// steps, so a subgroup reads the same sample at once, a broadcast) and sample lane
// `lid / STEP_VECS` of WG / STEP_VECS; STEP_VECS is a power of two that divides WG.
@compute @workgroup_size(WG)
fn search_errors(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let lanes = WG / STEP_VECS;
    let vec_in_block = lid % STEP_VECS;
    let lane = lid / STEP_VECS;
    let first_step = (wid.x * STEP_VECS + vec_in_block) * 4u;
    let w = weights_at(first_step);
    var total = Sums(vec4<real>(0.0), vec4<real>(0.0));
    let quads = params_errors.n / 4u;
    // Tiles of WG vec4s, one loaded by each invocation, then every invocation's lane of the tile
    // summed at its 4 steps in runs of 4·RUN samples, each run's sum added to the total.
    for (var tile = wid.y * WG; tile < quads; tile = tile + groups.y * WG) {
        if tile + lid < quads {
            tile_x[lid] = x[tile + lid];
            tile_d[lid] = d[tile + lid];
        }
        workgroupBarrier();
        let in_tile = min(WG, quads - tile);
        // Runs of RUN vec4s (4·RUN samples) of this invocation's lane, each summed in a chain of
        // its own and then added to the total: the run boundaries are the loops', so the
        // samples' loop keeps no count. A search is not the bit-exact reference, so it fuses:
        // per sample and step 6 counted flops in 4 instructions (2 fma, 2 add).
        for (var start = lane; start < in_tile; start = start + RUN * lanes) {
            let end = min(in_tile, start + RUN * lanes);
            var run = Sums(vec4<real>(0.0), vec4<real>(0.0));
            for (var q = start; q < end; q = q + lanes) {
                let xv = vec4<real>(tile_x[q]);
                let dv = vec4<real>(tile_d[q]);
                let e0 = vec4<real>(dv.x) - fma(w.w1, vec4<real>(xv.x), w.w0);
                let e1 = vec4<real>(dv.y) - fma(w.w1, vec4<real>(xv.y), w.w0);
                let e2 = vec4<real>(dv.z) - fma(w.w1, vec4<real>(xv.z), w.w0);
                let e3 = vec4<real>(dv.w) - fma(w.w1, vec4<real>(xv.w), w.w0);
                run.e = run.e + ((e0 + e1) + (e2 + e3));
                run.ex = fma(e3, vec4<real>(xv.w), fma(e2, vec4<real>(xv.z), fma(e1, vec4<real>(xv.y), fma(e0, vec4<real>(xv.x), run.ex))));
            }
            total = add_sums(total, run);
        }
        // Everyone is done with this tile before the next overwrites it.
        workgroupBarrier();
    }
    // The scalar tail: samples 4·quads .. n − 1, in group 0's lane 0.
    if wid.y == 0u && lane == 0u {
        for (var t = 0u; t < params_errors.n % 4u; t = t + 1u) {
            total = add_sample(total, w, real(x[quads][t]), real(d[quads][t]));
        }
    }
    // The lanes' sums of each vec4 of steps; lane 0 writes them.
    let sums = reduce_sums(lid, total);
    if lane == 0u {
        let out = (params_errors.base + wid.y) * STEPS + first_step;
        for (var s = 0u; s < 4u; s = s + 1u) {
            partials_out[out + s] = vec2<real>(sums.e[s], sums.ex[s]);
        }
    }
}

// The lanes' sums of each vec4 of steps (e, then e·x, by reduce_lanes), in lane 0 (invocations
// lid < STEP_VECS); zero elsewhere. Every invocation must call it.
fn reduce_sums(lid: u32, acc: Sums) -> Sums {
    var sums = Sums(vec4<real>(0.0), vec4<real>(0.0));
    reduce_lanes(lid, acc.e);
    if lid < STEP_VECS {
        sums.e = shared_quads[lid];
    }
    workgroupBarrier();
    reduce_lanes(lid, acc.ex);
    if lid < STEP_VECS {
        sums.ex = shared_quads[lid];
    }
    return sums;
}

// A tree over the lanes of `value`: shared_quads[v] ends up with the sum of vec4 v's lanes
// (v < STEP_VECS). Strides are multiples of STEP_VECS, so each addition stays within one vec4.
// Lane 0 reads the result; a barrier must follow before the next call overwrites it.
fn reduce_lanes(lid: u32, value: vec4<real>) {
    shared_quads[lid] = value;
    workgroupBarrier();
    var stride = WG / 2u;
    loop {
        if stride < STEP_VECS {
            break;
        }
        if lid < stride {
            shared_quads[lid] = shared_quads[lid] + shared_quads[lid + stride];
        }
        workgroupBarrier();
        stride = stride / 2u;
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

// The weights of every step, by vec4 of steps: lane l of w0_steps[v] is step 4v + l.
var<workgroup> w0_steps: array<vec4<real>, STEP_VECS>;
var<workgroup> w1_steps: array<vec4<real>, STEP_VECS>;

// Invocation lid holds vec4 of steps `lid % STEP_VECS` and sample lane `lid / STEP_VECS`, as in
// search_errors: every epoch each invocation sums its lane's samples at its 4 steps, the lanes
// meet in one tree per sum, and lane 0 of each vec4 updates its steps' weights. (Written in
// `real`, which is f32 wherever gpu-persistent runs it: the conversions are for the f64 build.)
@compute @workgroup_size(WG)
fn search_persistent(@builtin(local_invocation_index) lid: u32) {
    let n = params_persistent.n;
    let lanes = WG / STEP_VECS;
    let v = lid % STEP_VECS;
    let lane = lid / STEP_VECS;
    var xs: array<f32, MAX_HELD>;
    var ds: array<f32, MAX_HELD>;
    for (var k = 0u; k < HELD; k = k + 1u) {
        let i = lane + k * lanes;
        if i < n {
            xs[k] = x_held[i];
            ds[k] = d_held[i];
        }
    }
    if lane == 0u {
        let s = 4u * v;
        let w = array<vec2<f32>, 4>(w_persistent[s], w_persistent[s + 1u], w_persistent[s + 2u], w_persistent[s + 3u]);
        w0_steps[v] = vec4<real>(vec4<f32>(w[0].x, w[1].x, w[2].x, w[3].x));
        w1_steps[v] = vec4<real>(vec4<f32>(w[0].y, w[1].y, w[2].y, w[3].y));
    }
    workgroupBarrier();
    let s = 4u * v;
    let mu = vec4<real>(vec4<f32>(steps_persistent[s].x, steps_persistent[s + 1u].x, steps_persistent[s + 2u].x, steps_persistent[s + 3u].x));
    let scale = real(params_persistent.scale);
    for (var epoch = 0u; epoch < params_persistent.epochs; epoch = epoch + 1u) {
        let w = Weights(w0_steps[v], w1_steps[v]);
        // A Chain as in search_errors (held samples are fewer than one run).
        var chain = new_chain();
        if HELD > 0u {
            for (var k = 0u; k < HELD; k = k + 1u) {
                if lane + k * lanes < n {
                    chain = chain_add(chain, w, real(xs[k]), real(ds[k]));
                }
            }
        } else {
            for (var i = lane; i < n; i = i + lanes) {
                chain = chain_add(chain, w, real(x_held[i]), real(d_held[i]));
            }
        }
        let sums = reduce_sums(lid, chain_total(chain));
        if lane == 0u {
            w0_steps[v] = w.w0 + mu * (scale * sums.e);
            w1_steps[v] = w.w1 + mu * (scale * sums.ex);
        }
        // The new weights, before any invocation reads them in the next epoch.
        workgroupBarrier();
    }
    if lane == 0u {
        for (var l = 0u; l < 4u; l = l + 1u) {
            w_persistent[s + l] = vec2<f32>(f32(w0_steps[v][l]), f32(w1_steps[v][l]));
        }
    }
}
