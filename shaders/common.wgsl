// Shared by every gdbench kernel (prepended to each file when it is compiled).
//
// Override constants, set from Rust (src/gpu/shaders.rs):
//   WG    — invocations per workgroup (a power of two; 256 by default for the streaming kernels, up
//           to 1 024 for the one-workgroup ones; --workgroup-size);
//   ITEMS — samples each invocation reads per tile in the multi-pass kernels (one workgroup covers
//           WG·ITEMS). persistent.wgsl declares one more, HELD.
//
// Params is the one uniform every kernel takes:
//   n     — how many elements this dispatch reads (samples of a chunk, or partials of a level);
//   base  — where this dispatch's first output partial goes;
//   mu    — step size;  scale — 2/N;  (update kernels only)
//   epochs — epochs this dispatch runs (persistent kernel only).

override WG: u32 = 256u;
override ITEMS: u32 = 8u;

struct Params {
    n: u32,
    base: u32,
    mu: f32,
    scale: f32,
    epochs: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

var<workgroup> shared_sums: array<vec2<f32>, WG>;

// Tree reduction of shared_sums[0..WG] into shared_sums[0]. Every invocation must call it.
fn reduce_workgroup(lid: u32, value: vec2<f32>) -> vec2<f32> {
    shared_sums[lid] = value;
    workgroupBarrier();
    var stride = WG / 2u;
    loop {
        if stride == 0u {
            break;
        }
        if lid < stride {
            shared_sums[lid] = shared_sums[lid] + shared_sums[lid + stride];
        }
        workgroupBarrier();
        stride = stride / 2u;
    }
    return shared_sums[0];
}
