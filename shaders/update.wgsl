// gpu-multipass, pass 3 of 3: w += mu·(2/N)·(Σe, Σe·x), on the GPU.
// Bindings (group 0): 0 sums: array<vec2<f32>> (read; element 0 is the fully reduced pair),
//                     1 w: vec2<f32> (read_write), 2 params: Params (uniform; mu, scale = 2/N).
// Workgroup: one invocation.

@group(0) @binding(0) var<storage, read> sums: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> w: vec2<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(1)
fn update() {
    w = w + params.mu * (params.scale * sums[0]);
}
