// gpu-fused: the error folded into the first reduction level, and the last level fused with the
// update, so each epoch reads x and d once and writes nothing but partials and w.
//   fused_errors — partials[base + wg] = Σ (e_i, e_i·x_i) with e_i = d_i − (w0 + w1·x_i)
//                  Bindings: 0 x (read), 1 d (read), 2 w: vec2<f32> (read),
//                            3 partials: array<vec2<f32>> (read_write), 4 params (n = samples).
//                  Workgroup: WG invocations × ITEMS samples each, then a shared-memory tree.
//   finish       — one workgroup sums all n partials and updates w += mu·scale·Σ.
//                  Bindings: 0 partials (read), 1 w: vec2<f32> (read_write), 2 params (n, mu, scale).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read> w_in: vec2<f32>;
@group(0) @binding(3) var<storage, read_write> partials_out: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params_errors: Params;

@compute @workgroup_size(WG)
fn fused_errors(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let w_now = w_in;
    var acc = vec2<f32>(0.0, 0.0);
    let start = wid.x * WG * ITEMS + lid;
    for (var k = 0u; k < ITEMS; k = k + 1u) {
        let i = start + k * WG;
        if i < params_errors.n {
            let xi = x[i];
            let ei = d[i] - (w_now.x + w_now.y * xi);
            acc = acc + vec2<f32>(ei, ei * xi);
        }
    }
    let total = reduce_workgroup(lid, acc);
    if lid == 0u {
        partials_out[params_errors.base + wid.x] = total;
    }
}

@group(0) @binding(0) var<storage, read> partials_in: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> w: vec2<f32>;
@group(0) @binding(2) var<uniform> params_finish: Params;

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
    var acc = vec2<f32>(0.0, 0.0);
    for (var i = lid; i < params_finish.n; i = i + WG) {
        acc = acc + partials_in[i];
    }
    let total = reduce_workgroup(lid, acc);
    if lid == 0u {
        w = w + params_finish.mu * (params_finish.scale * total);
    }
}
