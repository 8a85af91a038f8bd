// Elementwise kernels: one thread per element, guarded by `i < n` (the grid is rounded up).
extern "C" __global__ void vec_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

extern "C" __global__ void relu_fwd(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

// dL/dx = dL/dy * 1[x > 0]
extern "C" __global__ void relu_bwd(const float* x, const float* grad_y, float* grad_x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) grad_x[i] = x[i] > 0.0f ? grad_y[i] : 0.0f;
}
