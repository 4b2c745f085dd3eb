// gpu-multipass, pass 1 of 3: the error of every sample, e_i = d_i − (w0 + w1·x_i), written out.
// Bindings (group 0): 0 x: array<f32> (read), 1 d: array<f32> (read), 2 w: vec2<f32> (read),
//                     3 e: array<f32> (write), 4 params: Params (uniform; n = samples in the chunk).
// Workgroup: WG invocations, each writing ITEMS samples spaced WG apart (coalesced).

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read> w: vec2<f32>;
@group(0) @binding(3) var<storage, read_write> e: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn error(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let w_now = w;
    let start = wid.x * WG * ITEMS + lid;
    for (var k = 0u; k < ITEMS; k = k + 1u) {
        let i = start + k * WG;
        if i < params.n {
            e[i] = d[i] - (w_now.x + w_now.y * x[i]);
        }
    }
}
