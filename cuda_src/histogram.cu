// Histogram of integer values in [0, nbins).  hist must be zeroed before the launch.

// Global atomics: every element is an atomicAdd on global memory (contended when bins are few).
extern "C" __global__ void histogram_global(const int* data, unsigned int* hist, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&hist[data[i]], 1u);
}

// Privatised: each block counts into its own shared-memory histogram (fast shared atomics), then adds
// it to the global one with one atomicAdd per bin.  Dynamic shared memory: nbins unsigned ints.
extern "C" __global__ void histogram_shared(const int* data, unsigned int* hist, int n, int nbins) {
    extern __shared__ unsigned int local[];
    for (int b = threadIdx.x; b < nbins; b += blockDim.x) local[b] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&local[data[i]], 1u);
    __syncthreads();
    for (int b = threadIdx.x; b < nbins; b += blockDim.x)
        if (local[b]) atomicAdd(&hist[b], local[b]);
}
