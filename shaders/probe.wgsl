// gdbench probe: the adapter's read bandwidth, measured apart from any solver (`gdbench probe`).
//   stream_read — reads a and b params.epochs times over with a grid-stride loop of vec4<f32>
//                 loads (each pass shifted by whole workgroups, so the passes cannot be merged),
//                 adds everything up and writes one partial pair per workgroup, so nothing can be
//                 optimised away. One dispatch does all the passes: no barrier between them.
//                 Bindings: 0 a: array<vec4<f32>> (read), 1 b: array<vec4<f32>> (read),
//                           2 partials: array<vec2<f32>> (read_write),
//                           3 params (n = vec4s per array, epochs = passes).
// Workgroup: WG invocations; the host launches a fixed number of workgroups that fills the adapter.

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
    for (var sweep = 0u; sweep < params.epochs; sweep = sweep + 1u) {
        let first = ((wid.x + sweep) % groups.x) * WG + lid;
        for (var i = first; i < params.n; i = i + stride) {
            acc = acc + a[i] + b[i];
        }
    }
    let total = reduce_workgroup(lid, vec2<f32>(acc.x + acc.y, acc.z + acc.w));
    if lid == 0u {
        partials[wid.x] = total;
    }
}
