// col2im: the backward of im2col (chapter 05b).  cols is (N, H_out, W_out, C, k, k), row-major: row
// (n, oy, ox) holds the window of output (oy, ox), as book/minifw/functional.py builds it.  Each
// thread owns one input pixel (n, c, y, x) and adds up every window entry that copied it, so no two
// threads write the same place (a gather, no atomics).  Padding p: pixel y sits at y + p.
extern "C" __global__ void col2im(const float* cols, float* dx, int N, int C, int H, int W, int k,
                                  int stride, int pad, int H_out, int W_out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= N * C * H * W) return;
    int x = i % W, y = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    float acc = 0.0f;
    for (int u = 0; u < k; ++u) {
        int dy = y + pad - u;  // the window starting at row dy / stride, if it exists
        if (dy < 0 || dy % stride != 0 || dy / stride >= H_out) continue;
        for (int v = 0; v < k; ++v) {
            int dxx = x + pad - v;
            if (dxx < 0 || dxx % stride != 0 || dxx / stride >= W_out) continue;
            size_t row = ((size_t)n * H_out + dy / stride) * W_out + dxx / stride;
            acc += cols[(row * C + c) * k * k + u * k + v];
        }
    }
    dx[i] = acc;
}
