// Tree reductions to per-workgroup partial sums (vec2: Σe, Σe·x).
//   reduce_errors   — gpu-multipass pass 2, first level: partials[base + wg] = Σ (e_i, e_i·x_i)
//                     Bindings: 0 e: array<f32> (read), 1 x: array<f32> (read),
//                               2 partials: array<vec2<f32>> (read_write), 3 params (n = samples).
//   reduce_partials — every further level (gpu-multipass, gpu-batched): out[base + wg] = Σ in[...]
//                     Bindings: 0 input: array<vec2<f32>> (read), 1 output: array<vec2<f32>>
//                               (read_write), 2 params (n = input partials).
// Workgroup: WG invocations; each adds ITEMS inputs spaced WG apart, then a shared-memory tree.

@group(0) @binding(0) var<storage, read> e_in: array<f32>;
@group(0) @binding(1) var<storage, read> x_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> params_errors: Params;

@compute @workgroup_size(WG)
fn reduce_errors(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var acc = vec2<f32>(0.0, 0.0);
    let start = wid.x * WG * ITEMS + lid;
    for (var k = 0u; k < ITEMS; k = k + 1u) {
        let i = start + k * WG;
        if i < params_errors.n {
            let ei = e_in[i];
            acc = acc + vec2<f32>(ei, ei * x_in[i]);
        }
    }
    let total = reduce_workgroup(lid, acc);
    if lid == 0u {
        partials[params_errors.base + wid.x] = total;
    }
}

@group(0) @binding(0) var<storage, read> level_in: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> level_out: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params_level: Params;

@compute @workgroup_size(WG)
fn reduce_partials(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var acc = vec2<f32>(0.0, 0.0);
    let start = wid.x * WG * ITEMS + lid;
    for (var k = 0u; k < ITEMS; k = k + 1u) {
        let i = start + k * WG;
        if i < params_level.n {
            acc = acc + level_in[i];
        }
    }
    let total = reduce_workgroup(lid, acc);
    if lid == 0u {
        level_out[params_level.base + wid.x] = total;
    }
}
