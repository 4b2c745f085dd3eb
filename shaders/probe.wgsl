// gdbench probe: the adapter's read bandwidth, measured apart from any solver (`gdbench probe`).
//   stream_read — reads a and b once with a grid-stride loop of vec4<f32> loads, adds everything
//                 up and writes one partial pair per workgroup, so nothing can be optimised away.
//                 One dispatch is one pass; the host records many. (One dispatch that swept many
//                 times, each sweep shifted by a workgroup, let a workgroup re-read what its
//                 neighbour had just brought into the L2: 16.4 TB/s on an H200 whose HBM gives
//                 4.8 at most.)
//                 Bindings: 0 a: array<vec4<f32>> (read), 1 b: array<vec4<f32>> (read),
//                           2 partials: array<vec2<f32>> (read_write),
//                           3 params (n = vec4s per array).
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
    for (var i = wid.x * WG + lid; i < params.n; i = i + stride) {
        acc = acc + a[i] + b[i];
    }
    let total = reduce_workgroup(lid, vec2<f32>(acc.x + acc.y, acc.z + acc.w));
    if lid == 0u {
        partials[wid.x] = total;
    }
}
