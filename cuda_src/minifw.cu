// Kernels of the book's small framework (chapter 05b) that chapter 03 does not have.  With vec_add,
// relu_fwd / relu_bwd (elementwise.cu), matmul_tiled (matmul.cu) and softmax_rows (softmax.cu) they are
// every operation of book/minifw/backend_cuda.py.  One thread per element, `i < n` guards the rounded-up
// grid; shapes and strides (in elements) come as small int arrays of length ndim.
extern "C" __global__ void fill(float* out, int n, float value) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = value;
}
// Where does element i of a row-major (compact) array of this shape live in a strided view?
__device__ int strided_index(int i, int ndim, const int* shape, const int* strides, int offset) {
    int at = offset;
    for (int d = ndim - 1; d >= 0; --d) {
        at += (i % shape[d]) * strides[d];
        i /= shape[d];
    }
    return at;
}
// compact(): gather a strided view into a fresh row-major buffer
extern "C" __global__ void compact_strided(const float* a, float* out, int n, int ndim,
                                           const int* shape, const int* strides, int offset) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[strided_index(i, ndim, shape, strides, offset)];
}
// view[...] = src: the inverse of compact (a scatter; the view never overlaps itself)
extern "C" __global__ void setitem_strided(const float* src, float* out, int n, int ndim,
                                           const int* shape, const int* strides, int offset) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[strided_index(i, ndim, shape, strides, offset)] = src[i];
}
extern "C" __global__ void ewise_mul(const float* a, const float* b, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] * b[i];
}
extern "C" __global__ void ewise_div(const float* a, const float* b, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] / b[i];
}
extern "C" __global__ void ewise_eq(const float* a, const float* b, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] == b[i] ? 1.0f : 0.0f;
}
extern "C" __global__ void scalar_add(const float* a, float s, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] + s;
}
extern "C" __global__ void scalar_mul(const float* a, float s, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] * s;
}
extern "C" __global__ void scalar_pow(const float* a, float s, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = powf(a[i], s);
}
extern "C" __global__ void scalar_eq(const float* a, float s, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a[i] == s ? 1.0f : 0.0f;
}
extern "C" __global__ void ewise_exp(const float* a, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = expf(a[i]);
}
extern "C" __global__ void ewise_log(const float* a, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = logf(a[i]);
}
// Sum / max of each row of a (rows x cols) array: one block per row (grid = rows), blockDim.x a power of
// two; each thread folds a strided part of the row, then the tree of reduce_sequential (reduce.cu).
// Dynamic shared memory: blockDim.x floats.
extern "C" __global__ void reduce_rows_sum(const float* a, float* out, int rows, int cols) {
    extern __shared__ float buf[];
    int row = blockIdx.x, tid = threadIdx.x;
    float v = 0.0f;
    for (int j = tid; j < cols; j += blockDim.x) v += a[(size_t)row * cols + j];
    buf[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) buf[tid] += buf[tid + s];
        __syncthreads();
    }
    if (tid == 0) out[row] = buf[0];
}
extern "C" __global__ void reduce_rows_max(const float* a, float* out, int rows, int cols) {
    extern __shared__ float buf[];
    int row = blockIdx.x, tid = threadIdx.x;
    float v = -INFINITY;
    for (int j = tid; j < cols; j += blockDim.x) v = fmaxf(v, a[(size_t)row * cols + j]);
    buf[tid] = v;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) buf[tid] = fmaxf(buf[tid], buf[tid + s]);
        __syncthreads();
    }
    if (tid == 0) out[row] = buf[0];
}
