// gdbench probe: the adapter's ceilings, measured apart from any solver (`gdbench probe`).
//   stream_read — read bandwidth: reads a and b once with a grid-stride loop of vec4<f32> loads,
//                 adds everything up and writes one partial pair per workgroup, so nothing can be
//                 optimised away. One dispatch is one pass; the host records many. (One dispatch
//                 that swept many times, each sweep shifted by a workgroup, let a workgroup re-read
//                 what its neighbour had just brought into the L2: 16.4 TB/s on an H200 whose HBM
//                 gives 4.8 at most.)
//                 Bindings: 0 a: array<vec4<f32>> (read), 1 b: array<vec4<f32>> (read),
//                           2 partials: array<vec2<f32>> (read_write),
//                           3 params (n = vec4s per array).
//   fma_peak    — f32 arithmetic peak: each invocation runs FMA_CHAINS independent chains
//                 a = fma(a, m, c) on vec4<f32> in registers for params.n iterations (each
//                 iteration FMA_CHAINS × 4 FMAs = FMA_CHAINS × 8 flops, an FMA counted as 2), then
//                 writes the sum of its chains, so no chain is dead code. m, c and the seeds come
//                 from params and the invocation index, so no compiler can fold the loop or merge
//                 two chains; the host checks a few written values against a CPU twin
//                 (`stream::fma_expected`). With m < 1 and c = 1 - m every value stays in
//                 [1, 2) (normal, finite). Keep params.n under 65 535: llvmpipe silently stops a loop there.
//                 Bindings: 3 params (n = iterations, mu = m, scale = c, mu_lo = seed step),
//                           4 sums: array<f32> (read_write), one per invocation.
// Workgroup: WG invocations (both kernels); stream_read gets a fixed number of workgroups that
// fills the adapter, fma_peak one invocation per element of sums (a 1-D dispatch).

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn stream_read(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    var acc = vec4<f32>(0.0, 0.0, 0.0, 0.0);
    let stride = groups.x * WG;
    for (var i = wid.x * WG + lid; i < params.n; i = i + stride) {
        acc = acc + a[i] + b[i];
    }
    let total = reduce_workgroup(lid, vec2<f32>(acc.x + acc.y, acc.z + acc.w));
    if lid == 0u {
        partials[wid.x] = total;
    }
}

// Independent vec4 chains per fma_peak invocation (the host's `FMA_CHAINS` must agree).
const FMA_CHAINS: u32 = 8u;

@group(0) @binding(4) var<storage, read_write> sums: array<f32>;

// The first value of chain `chain`, lanes 0..3, of invocation `i`: 1 + step × a number no two
// chains of an invocation share (invocations repeat every 1024).
fn fma_seed(i: u32, chain: u32) -> vec4<f32> {
    let first = f32((i % 1024u) * 32u + chain * 4u);
    return vec4<f32>(1.0) + params.mu_lo * (vec4<f32>(first) + vec4<f32>(0.0, 1.0, 2.0, 3.0));
}

@compute @workgroup_size(WG)
fn fma_peak(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= arrayLength(&sums) {
        return;
    }
    let m = vec4<f32>(params.mu);
    let c = vec4<f32>(params.scale);
    var a0 = fma_seed(i, 0u);
    var a1 = fma_seed(i, 1u);
    var a2 = fma_seed(i, 2u);
    var a3 = fma_seed(i, 3u);
    var a4 = fma_seed(i, 4u);
    var a5 = fma_seed(i, 5u);
    var a6 = fma_seed(i, 6u);
    var a7 = fma_seed(i, 7u);
    for (var k = 0u; k < params.n; k = k + 1u) {
        a0 = fma(a0, m, c);
        a1 = fma(a1, m, c);
        a2 = fma(a2, m, c);
        a3 = fma(a3, m, c);
        a4 = fma(a4, m, c);
        a5 = fma(a5, m, c);
        a6 = fma(a6, m, c);
        a7 = fma(a7, m, c);
    }
    let total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    sums[i] = (total.x + total.y) + (total.z + total.w);
}

// The adapter's fixed costs, for the latency wall of the solvers' rows (src/gpu/latency.rs):
//   tick     — one workgroup that adds 1 to sums[0]: a dispatch that does next to nothing but
//              writes, so wgpu orders it after the one before, as the solvers' chained dispatches.
//              Bindings: 4 sums: array<f32> (read_write).
//   barriers — one workgroup of WG invocations passing params.n workgroup barriers, each after
//              a store to workgroup memory, as a one-workgroup kernel's reduction does; writes the
//              count so the loop cannot be dropped. Keep params.n under 65 535 (llvmpipe's loop cap).
//              Bindings: 3 params (n = barriers), 4 sums: array<f32> (read_write).
// Workgroup: one of WG invocations (the solvers' one-workgroup size), both kernels.

@compute @workgroup_size(WG)
fn tick(@builtin(local_invocation_index) lid: u32) {
    if lid == 0u {
        sums[0] = sums[0] + 1.0;
    }
}

var<workgroup> passed: array<u32, WG>;

@compute @workgroup_size(WG)
fn barriers(@builtin(local_invocation_index) lid: u32) {
    passed[lid] = 0u;
    for (var k = 0u; k < params.n; k = k + 1u) {
        passed[lid] = passed[lid] + 1u;
        workgroupBarrier();
    }
    workgroupBarrier();
    if lid == 0u {
        sums[0] = f32(passed[(lid + 1u) % WG]);
    }
}
