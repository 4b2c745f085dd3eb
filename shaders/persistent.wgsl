// gpu-persistent: one workgroup runs `params.epochs` whole epochs inside one dispatch, weights
// kept in workgroup memory; for small N, where launching kernels costs more than computing.
// Some drivers cap the loop iterations of one invocation (llvmpipe: 65 535 in all, then it stops
// silently), so the host splits the epochs over dispatches that stay under that budget.
// Bindings (group 0): 0 x (read), 1 d (read), 2 w: vec2<f32> (read_write),
//                     3 params: Params (uniform; n = samples, epochs, mu, scale).
// Workgroup: WG invocations, each striding over the samples, then a shared-memory tree per epoch.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: vec2<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> w_shared: vec2<f32>;

@compute @workgroup_size(WG)
fn persistent(@builtin(local_invocation_index) lid: u32) {
    if lid == 0u {
        w_shared = w;
    }
    workgroupBarrier();
    for (var epoch = 0u; epoch < params.epochs; epoch = epoch + 1u) {
        let w_now = w_shared;
        var acc = vec2<f32>(0.0, 0.0);
        for (var i = lid; i < params.n; i = i + WG) {
            let xi = x[i];
            let ei = d[i] - (w_now.x + w_now.y * xi);
            acc = acc + vec2<f32>(ei, ei * xi);
        }
        let total = reduce_workgroup(lid, acc);
        if lid == 0u {
            w_shared = w_now + params.mu * (params.scale * total);
        }
        workgroupBarrier();
    }
    if lid == 0u {
        w = w_shared;
    }
}
