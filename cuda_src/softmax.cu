// Row-wise, numerically stable softmax: y[r][j] = exp(x[r][j] - max_r) / sum_j exp(x[r][j] - max_r).
// One block per row (grid = rows), blockDim.x a power of two, dynamic shared memory blockDim.x floats.
extern "C" __global__ void softmax_rows(const float* x, float* y, int rows, int cols) {
    extern __shared__ float buf[];
    int row = blockIdx.x, tid = threadIdx.x;
    const float* xr = x + (size_t)row * cols;
    float m = -INFINITY;
    for (int j = tid; j < cols; j += blockDim.x) m = fmaxf(m, xr[j]);
    buf[tid] = m;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) buf[tid] = fmaxf(buf[tid], buf[tid + s]);
        __syncthreads();
    }
    m = buf[0];
    __syncthreads();  // everyone has read the max before buf is reused
    float sum = 0.0f;
    for (int j = tid; j < cols; j += blockDim.x) sum += expf(xr[j] - m);
    buf[tid] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) buf[tid] += buf[tid + s];
        __syncthreads();
    }
    float inv = 1.0f / buf[0];
    for (int j = tid; j < cols; j += blockDim.x) y[(size_t)row * cols + j] = expf(xr[j] - m) * inv;
}
