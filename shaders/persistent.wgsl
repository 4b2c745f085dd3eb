// gpu-persistent: one workgroup runs `params.epochs` whole epochs inside one dispatch, weights
// kept in workgroup memory; for small N, where launching kernels costs more than computing.
// Each invocation loads its samples (i = lid, lid + WG, …) into registers once per dispatch when
// there are at most MAX_HELD of them (HELD, an override constant set from Rust: ⌈n / WG⌉), so the
// epochs read no memory but w; otherwise (HELD = 0) it streams them from memory every epoch.
// Software adapters cap the loop iterations of one invocation (llvmpipe: 65 535 in all, then it
// stops silently), so there the host splits the epochs over dispatches that stay under that
// budget; on a GPU a dispatch runs a few milliseconds of epochs.
// Bindings (group 0): 0 x (read), 1 d (read), 2 w: vec2<f32> (read_write),
//                     3 params: Params (uniform; n = samples, epochs, mu, scale).
// Workgroup: WG invocations (the adapter's most, up to 1 024), then a shared-memory tree per epoch.

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read_write> w: vec2<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// Registers one invocation may hold per array (src/gpu/plan.rs: MAX_HELD).
const MAX_HELD: u32 = 32u;
override HELD: u32 = 0u;

var<workgroup> w_shared: vec2<f32>;

@compute @workgroup_size(WG)
fn persistent(@builtin(local_invocation_index) lid: u32) {
    var xs: array<f32, MAX_HELD>;
    var ds: array<f32, MAX_HELD>;
    for (var k = 0u; k < HELD; k = k + 1u) {
        let i = lid + k * WG;
        if i < params.n {
            xs[k] = x[i];
            ds[k] = d[i];
        }
    }
    if lid == 0u {
        w_shared = w;
    }
    workgroupBarrier();
    for (var epoch = 0u; epoch < params.epochs; epoch = epoch + 1u) {
        let w_now = w_shared;
        var acc = vec2<f32>(0.0, 0.0);
        if HELD > 0u {
            for (var k = 0u; k < HELD; k = k + 1u) {
                if lid + k * WG < params.n {
                    let ei = ds[k] - (w_now.x + w_now.y * xs[k]);
                    acc = acc + vec2<f32>(ei, ei * xs[k]);
                }
            }
        } else {
            for (var i = lid; i < params.n; i = i + WG) {
                let xi = x[i];
                let ei = d[i] - (w_now.x + w_now.y * xi);
                acc = acc + vec2<f32>(ei, ei * xi);
            }
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
