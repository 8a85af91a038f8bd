// Inclusive prefix sum (scan).  scan_block: Hillis-Steele scan of each block's slice in shared memory
// (double-buffered, 2 * blockDim.x floats of dynamic shared memory); block_sums[b] = total of block b.
// Multi-block: scan the block sums (recursively), then add_offsets adds block b-1's running total.
extern "C" __global__ void scan_block(const float* in, float* out, float* block_sums, int n) {
    extern __shared__ float temp[];
    int tid = threadIdx.x, i = blockIdx.x * blockDim.x + tid;
    int pout = 0, pin = 1;
    temp[tid] = i < n ? in[i] : 0.0f;
    __syncthreads();
    for (int offset = 1; offset < blockDim.x; offset *= 2) {
        pout = 1 - pout; pin = 1 - pout;
        float v = temp[pin * blockDim.x + tid];
        if (tid >= offset) v += temp[pin * blockDim.x + tid - offset];
        temp[pout * blockDim.x + tid] = v;
        __syncthreads();
    }
    if (i < n) out[i] = temp[pout * blockDim.x + tid];
    if (tid == blockDim.x - 1) block_sums[blockIdx.x] = temp[pout * blockDim.x + tid];
}

extern "C" __global__ void add_offsets(float* out, const float* scanned_sums, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (blockIdx.x > 0 && i < n) out[i] += scanned_sums[blockIdx.x - 1];
}
