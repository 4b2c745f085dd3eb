// Shared by every gdbench kernel (prepended to each file when it is compiled).
//
// Override constants, set from Rust (src/gpu/shaders.rs):
//   WG    — invocations per workgroup (a power of two; 256 by default for the streaming kernels, up
//           to 1 024 for the one-workgroup ones; --workgroup-size);
//   ITEMS — samples each invocation reads per tile in the multi-pass kernels (one workgroup covers
//           WG·ITEMS). persistent.wgsl declares one more, HELD.
//
// `real` is the arithmetic type of the precision ladder and `stored` the type x and d are kept in:
// f32 here; gdbench compiles fused.wgsl with these lines read as f64 (both) for gpu-fused-f64, and
// `stored` as f16 for gpu-fused-f16 (keep the two lines as they are).
//
// Params is the one uniform every kernel takes:
//   n     — how many elements this dispatch reads (samples of a chunk, or partials of a level);
//   base  — where this dispatch's first output partial goes;
//   mu    — step size;  scale — 2/N;  (update kernels only)
//   epochs — epochs this dispatch runs (persistent kernel only);
//   mu_lo, scale_lo — what f32 loses of mu and 2/N (mu = mu + mu_lo to 2⁻⁴⁸), for f64 kernels;
//   zero  — 0, which no compiler can see: df64.wgsl's guard that keeps its sums as written.

alias real = f32;
alias stored = f32;

override WG: u32 = 256u;
override ITEMS: u32 = 8u;

struct Params {
    n: u32,
    base: u32,
    mu: f32,
    scale: f32,
    epochs: u32,
    mu_lo: f32,
    scale_lo: f32,
    zero: u32,
}

// mu and 2/N in `real`: in f64 from both halves of each; in f32 the low half vanishes.
fn mu_of(p: Params) -> real {
    return real(p.mu) + real(p.mu_lo);
}

fn scale_of(p: Params) -> real {
    return real(p.scale) + real(p.scale_lo);
}

var<workgroup> shared_sums: array<vec2<real>, WG>;

// Tree reduction of shared_sums[0..WG] into shared_sums[0]. Every invocation must call it.
fn reduce_workgroup(lid: u32, value: vec2<real>) -> vec2<real> {
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
