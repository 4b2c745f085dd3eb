// gpu-subgroup: gpu-fused with subgroup reductions (subgroupAdd) in place of most of the
// shared-memory tree: one barrier per workgroup instead of log2(WG). Needs the SUBGROUP feature.
//   subgroup_errors — as fused_errors: a grid-stride loop of vec4<f32> loads over a fixed number
//                     of workgroups (at most 2 048 partials), the n % 4 tail in workgroup 0;
//                     partials[base + wg] = Σ (e_i, e_i·x_i).
//                     Bindings: 0 x: array<vec4<f32>> (read), 1 d: array<vec4<f32>> (read),
//                               2 w (read), 3 partials (read_write), 4 params (n = samples).
//   subgroup_finish — as finish: one workgroup (WG up to 1 024) sums n partials and updates w.
//                     Bindings: 0 partials (read), 1 w (read_write), 2 params.
//   persistent_subgroup — gpu-persistent's kernel (persistent.wgsl) with each epoch's sum by
//                     subgroupAdd: what gpu-persistent runs on adapters with SUBGROUP. One barrier
//                     per epoch: every subgroup adds the subgroups' totals itself and every
//                     invocation updates its own copy of w (identical in all), the totals
//                     double-buffered by epoch parity.
//                     Bindings: 0 x (read), 1 d (read), 2 w (read_write), 3 params (n, epochs, mu, scale).
// Workgroup: WG invocations; each subgroup adds its values, subgroup leaders meet in shared memory.
// Every loop before a subgroupAdd has the same trip count in every lane (the loads are guarded,
// not the loop), so no compiler's reconvergence rules can leave a lane out of the sum.
// (No `enable subgroups;`: naga takes subgroup operations when the device has SUBGROUP.)

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> d: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w_in: vec2<f32>;
@group(0) @binding(3) var<storage, read_write> partials_out: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params_errors: Params;

// Sums `value` over the workgroup: subgroupAdd, then invocation 0 adds the subgroup totals.
fn subgroup_total(lid: u32, value: vec2<f32>, sg_id: u32, sg_lane: u32, sg_count: u32) -> vec2<f32> {
    let in_subgroup = subgroupAdd(value);
    if sg_lane == 0u {
        shared_sums[sg_id] = in_subgroup;
    }
    workgroupBarrier();
    var total = vec2<f32>(0.0, 0.0);
    if lid == 0u {
        for (var s = 0u; s < sg_count; s = s + 1u) {
            total = total + shared_sums[s];
        }
    }
    return total;
}

@compute @workgroup_size(WG)
fn subgroup_errors(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(num_subgroups) sg_count: u32,
) {
    let w_now = w_in;
    let quads = params_errors.n / 4u;
    let stride = groups.x * WG;
    var acc_e = vec4<f32>(0.0);
    var acc_ex = vec4<f32>(0.0);
    for (var first = wid.x * WG; first < quads; first = first + stride) {
        let j = first + lid;
        if j < quads {
            let xv = x[j];
            let ev = d[j] - (vec4<f32>(w_now.x) + w_now.y * xv);
            acc_e = acc_e + ev;
            acc_ex = acc_ex + ev * xv;
        }
    }
    var acc = vec2<f32>(dot(acc_e, vec4<f32>(1.0)), dot(acc_ex, vec4<f32>(1.0)));
    if wid.x == 0u && lid < params_errors.n % 4u {
        let xi = x[quads][lid];
        let ei = d[quads][lid] - (w_now.x + w_now.y * xi);
        acc = acc + vec2<f32>(ei, ei * xi);
    }
    let total = subgroup_total(lid, acc, sg_id, sg_lane, sg_count);
    if lid == 0u {
        partials_out[params_errors.base + wid.x] = total;
    }
}

@group(0) @binding(0) var<storage, read> partials_in: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> w: vec2<f32>;
@group(0) @binding(2) var<uniform> params_finish: Params;

@compute @workgroup_size(WG)
fn subgroup_finish(
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(num_subgroups) sg_count: u32,
) {
    var acc = vec2<f32>(0.0, 0.0);
    for (var first = 0u; first < params_finish.n; first = first + WG) {
        let i = first + lid;
        if i < params_finish.n {
            acc = acc + partials_in[i];
        }
    }
    let total = subgroup_total(lid, acc, sg_id, sg_lane, sg_count);
    if lid == 0u {
        w = w + params_finish.mu * (params_finish.scale * total);
    }
}

@group(0) @binding(0) var<storage, read> x_held: array<f32>;
@group(0) @binding(1) var<storage, read> d_held: array<f32>;
@group(0) @binding(2) var<storage, read_write> w_persistent: vec2<f32>;
@group(0) @binding(3) var<uniform> params_persistent: Params;

// As persistent.wgsl: samples held in registers when at most MAX_HELD per invocation (HELD > 0).
const MAX_HELD: u32 = 32u;
override HELD: u32 = 0u;

// Each epoch's subgroup totals, by the epoch's parity: a subgroup that runs ahead writes epoch
// e + 1's total into the other array while slower ones still read epoch e's.
var<workgroup> sums_even: array<vec2<f32>, WG>;
var<workgroup> sums_odd: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn persistent_subgroup(
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(subgroup_size) sg_size: u32,
    @builtin(num_subgroups) sg_count: u32,
) {
    let n = params_persistent.n;
    var xs: array<f32, MAX_HELD>;
    var ds: array<f32, MAX_HELD>;
    for (var k = 0u; k < HELD; k = k + 1u) {
        if lid + k * WG < n {
            xs[k] = x_held[lid + k * WG];
            ds[k] = d_held[lid + k * WG];
        }
    }
    // Every invocation keeps its own copy of w and updates it from the same total, added in the
    // same order by every subgroup: one barrier per epoch, and nobody waits for invocation 0.
    var w_now = w_persistent;
    for (var epoch = 0u; epoch < params_persistent.epochs; epoch = epoch + 1u) {
        var acc = vec2<f32>(0.0, 0.0);
        if HELD > 0u {
            for (var k = 0u; k < HELD; k = k + 1u) {
                if lid + k * WG < n {
                    let ei = ds[k] - (w_now.x + w_now.y * xs[k]);
                    acc = acc + vec2<f32>(ei, ei * xs[k]);
                }
            }
        } else {
            // Uniform trip count: every lane reaches the subgroupAdd below together.
            for (var first = 0u; first < n; first = first + WG) {
                let i = first + lid;
                if i < n {
                    let xi = x_held[i];
                    let ei = d_held[i] - (w_now.x + w_now.y * xi);
                    acc = acc + vec2<f32>(ei, ei * xi);
                }
            }
        }
        let in_subgroup = subgroupAdd(acc);
        let odd = (epoch & 1u) == 1u;
        if sg_lane == 0u {
            if odd {
                sums_odd[sg_id] = in_subgroup;
            } else {
                sums_even[sg_id] = in_subgroup;
            }
        }
        workgroupBarrier();
        // Every invocation reads all subgroups' totals (broadcast reads) and adds them in order.
        var total = vec2<f32>(0.0, 0.0);
        if odd {
            for (var s = 0u; s < sg_count; s = s + 1u) {
                total = total + sums_odd[s];
            }
        } else {
            for (var s = 0u; s < sg_count; s = s + 1u) {
                total = total + sums_even[s];
            }
        }
        w_now = w_now + params_persistent.mu * (params_persistent.scale * total);
    }
    if lid == 0u {
        w_persistent = w_now;
    }
}
