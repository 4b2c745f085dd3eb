// gpu-fused: the error folded into the first reduction level, and the last level fused with the
// update, so each epoch reads x and d once and writes nothing but partials and w. Written in
// `stored` and `real` (common.wgsl): f32 for gpu-fused, f64 for gpu-fused-f64 (data, sums and w
// all in f64), x and d in f16 with f32 arithmetic for gpu-fused-f16.
//   fused_errors — partials[base + wg] = Σ (e_i, e_i·x_i) with e_i = d_i − (w0 + w1·x_i), over a
//                  grid-stride loop: the host launches a fixed number of workgroups (enough to
//                  fill the adapter, at most 2 048 partials in all), each invocation reads
//                  vec4<real> of x and d per step, and workgroup 0 adds the n % 4 samples left.
//                  Every invocation of a workgroup runs the same number of steps (loads are
//                  guarded, not the loop), so the reduction after it is reached in uniform flow.
//                  Bindings: 0 x: array<vec4<stored>> (read), 1 d: array<vec4<stored>> (read),
//                            2 w: vec2<real> (read), 3 partials: array<vec2<real>> (read_write),
//                            4 params (n = samples; the buffers are padded to whole vec4s).
//                  Workgroup: WG invocations, then a shared-memory tree.
//   finish       — one workgroup (WG up to 1 024, its own pipeline) sums the n partials and
//                  updates w += mu·scale·Σ. Loop trip counts are uniform here too.
//                  Bindings: 0 partials (read), 1 w: vec2<real> (read_write),
//                            2 params (n, mu, scale; mu_lo, scale_lo in f64).

@group(0) @binding(0) var<storage, read> x: array<vec4<stored>>;
@group(0) @binding(1) var<storage, read> d: array<vec4<stored>>;
@group(0) @binding(2) var<storage, read> w_in: vec2<real>;
@group(0) @binding(3) var<storage, read_write> partials_out: array<vec2<real>>;
@group(0) @binding(4) var<uniform> params_errors: Params;

@compute @workgroup_size(WG)
fn fused_errors(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let w_now = w_in;
    let quads = params_errors.n / 4u;
    let stride = groups.x * WG;
    // Two vec4 accumulators (Σe, Σe·x by lane): independent chains the hardware can overlap.
    var acc_e = vec4<real>(0.0);
    var acc_ex = vec4<real>(0.0);
    for (var first = wid.x * WG; first < quads; first = first + stride) {
        let j = first + lid;
        if j < quads {
            let xv = vec4<real>(x[j]);
            let ev = vec4<real>(d[j]) - (vec4<real>(w_now.x) + w_now.y * xv);
            acc_e = acc_e + ev;
            acc_ex = acc_ex + ev * xv;
        }
    }
    var acc = vec2<real>(dot(acc_e, vec4<real>(1.0)), dot(acc_ex, vec4<real>(1.0)));
    // The scalar tail: samples 4·quads .. n − 1.
    if wid.x == 0u && lid < params_errors.n % 4u {
        let xi = real(x[quads][lid]);
        let ei = real(d[quads][lid]) - (w_now.x + w_now.y * xi);
        acc = acc + vec2<real>(ei, ei * xi);
    }
    let total = reduce_workgroup(lid, acc);
    if lid == 0u {
        partials_out[params_errors.base + wid.x] = total;
    }
}

@group(0) @binding(0) var<storage, read> partials_in: array<vec2<real>>;
@group(0) @binding(1) var<storage, read_write> w: vec2<real>;
@group(0) @binding(2) var<uniform> params_finish: Params;

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
    var acc = vec2<real>(0.0, 0.0);
    for (var first = 0u; first < params_finish.n; first = first + WG) {
        let i = first + lid;
        if i < params_finish.n {
            acc = acc + partials_in[i];
        }
    }
    let total = reduce_workgroup(lid, acc);
    if lid == 0u {
        w = w + mu_of(params_finish) * (scale_of(params_finish) * total);
    }
}
