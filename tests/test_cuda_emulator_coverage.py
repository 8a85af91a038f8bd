"""The emulator's coverage of CUDA and PyCUDA: process-killing faults, shared memory, spin-waits, races, intrinsics,
parameter packing, half precision, cooperative groups, templates, dynamic parallelism (chapter 03)."""

import numpy as np
import pytest

from book.cuda import emulator
from book.cuda.emulator import LaunchError, LogicError, SanitizerError, SourceModule
from book.cuda.emulator import driver as drv

SRC = r"""
extern __shared__ float dyn[];
__global__ void usedyn(float* o) {
  dyn[threadIdx.x] = threadIdx.x; __syncthreads(); o[threadIdx.x] = dyn[blockDim.x - 1 - threadIdx.x];
}
__global__ void nullp(float* a) { float* p = 0; a[0] = *p; }
__global__ void keep(float* o, int w) {
  __shared__ float s[4]; if (w) s[threadIdx.x] = 7; __syncthreads(); o[threadIdx.x] = s[threadIdx.x];
}
__global__ void blockflag(volatile int* f, int* out) {
  if (blockIdx.x == 0) { while (f[0] == 0) {} out[0] = 1; } else if (threadIdx.x == 0) f[0] = 1;
}
__global__ void warp_idiom(float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = 1; __syncthreads();
  if (threadIdx.x < 32) {
    volatile float* v = s; int t = threadIdx.x;
    v[t] += v[t + 32]; v[t] += v[t + 16]; v[t] += v[t + 8]; v[t] += v[t + 4]; v[t] += v[t + 2]; v[t] += v[t + 1];
  }
  if (threadIdx.x == 0) out[0] = s[0];
}
__global__ void misc(float* o, unsigned int* u) {
  int t = threadIdx.x; float2 f2 = make_float2(1, 2); float4 f4 = make_float4(1, 2, 3, 4);
  o[t] = f2.y + f4.w + rsqrtf(4.0f) + __sinf(0.f) + __cosf(0.f) + __powf(2.f, 1.f) + min(t, 3) + max(1.f, 0.f)
       + __int_as_float(__float_as_int(1.f));
  unsigned b = __ballot_sync(0xffffffff, t & 1);
  u[t] = __popc(b) + __any_sync(0xffffffff, t == 3) + __all_sync(0xffffffff, 1);
  atomicInc(u + 40, 100); atomicOr(u + 41, 1u << t); atomicAnd(u + 42, 0xffu); atomicXor(u + 43, 1u);
  atomicExch(u + 44, 5u); atomicMax((int*)u + 45, t);
  int c = __syncthreads_count(t < 10); if (t == 0) u[46] = c; if (t == 0) u[47] = clock64() > 0;
}
__global__ void types(uint a, int64_t c, unsigned long long d, float* o) { o[0] = a + c + d; }
struct P { int n; float s; };
__global__ void st(P p, float* o) { o[0] = p.n * p.s; }
__global__ void dflt(float* o, int n = 3) { o[0] = n; }
__global__ void bigloc(float* x) {
  float loc[20000]; for (int i = 0; i < 20000; i++) loc[i] = i * x[1]; x[0] = loc[19999];
}
__global__ void setint(int* o, int n) { o[0] = n; }
__global__ void nosync(float* o) { __shared__ float s[64]; if (threadIdx.x == 0) s[0] = 42; o[threadIdx.x] = s[0]; }
"""


@pytest.fixture(scope="module")
def mod():
    return SourceModule(SRC)  # PyCUDA's default no_extern_c=False


@pytest.fixture(autouse=True)
def _options():
    saved = dict(vars(emulator.OPTIONS))
    yield
    emulator.configure(**saved)


def run(mod, name, *args, **kw):
    kw.setdefault("block", (64, 1, 1))
    mod.get_function(name)(*args, **kw)


# process killers (each launch runs in a forked child)
def test_file_scope_extern_shared(mod):
    o = np.zeros(64, np.float32)
    run(mod, "usedyn", drv.Out(o), shared=256)
    np.testing.assert_array_equal(o, np.arange(63, -1, -1))


def test_null_pointer_is_a_launch_error(mod):
    with pytest.raises(LaunchError, match="NULL pointer"):
        run(mod, "nullp", drv.Out(np.zeros(1, np.float32)))


def test_large_local_array_fits(mod):
    x = np.ones(2, np.float32)
    run(mod, "bigloc", drv.InOut(x), block=(4, 1, 1))  # 80 KB per thread: over the old 64 KiB stacks
    assert x[0] == 19999


# hangs
def test_grid_limit_checked_like_cuda(mod):
    with pytest.raises(LogicError, match="grid"):
        run(mod, "setint", drv.Out(np.zeros(1, np.int32)), np.int32(1), grid=(2**31, 1))


def test_spin_wait_on_a_flag_of_another_block_is_stopped_with_an_explanation(mod):
    # Blocks run one at a time here; CUDA does not promise that two blocks run at the same time either,
    # so the watchdog stops it and says why (a spin on a flag of the same block finishes: test_cuda_sanitizer).
    emulator.configure(watchdog_s=1)
    out = np.zeros(1, np.int32)
    try:
        run(mod, "blockflag", drv.InOut(np.zeros(1, np.int32)), drv.InOut(out), grid=(2, 1))
    except LaunchError as e:
        assert "another block" in str(e)
    else:
        assert out[0] == 1


# bugs that a fixed order would hide
def test_static_shared_does_not_survive_a_launch(mod):
    emulator.configure(sanitize=True)
    o = np.zeros(4, np.float32)
    run(mod, "keep", drv.Out(o), np.int32(1), block=(4, 1, 1))
    with pytest.raises(SanitizerError, match="uninitialised.*__shared__"):
        run(mod, "keep", drv.Out(o), np.int32(0), block=(4, 1, 1))


def test_missing_syncthreads_with_a_lower_producer_is_reported(mod):
    emulator.configure(sanitize=False)
    o = np.zeros(64, np.float32)
    run(mod, "nosync", drv.Out(o))  # thread 0 happens to run first without the sanitizer: all 42
    emulator.configure(sanitize=True)
    with pytest.raises(
        SanitizerError, match="race"
    ):  # s[0]: a constant index, still seen; whatever the order
        run(mod, "nosync", drv.Out(o))


def test_mem_alloc_is_poisoned_not_zeroed():
    d = drv.mem_alloc(16)
    assert not (drv.from_device(d, (4,), np.float32) == 0).any()  # NaN (0xFF bytes), not 0


def test_volatile_warp_synchronous_idiom_is_reported(mod):
    emulator.configure(sanitize=True)
    with pytest.raises(SanitizerError, match="race"):
        run(mod, "warp_idiom", drv.Out(np.zeros(1, np.float32)))


def test_thread_order_is_random_in_sanitizer_mode():
    m = SourceModule("__global__ void k(int* o, int* n) { o[atomicAdd(n, 1)] = threadIdx.x; }")
    emulator.configure(sanitize=True)
    o, n = np.zeros(64, np.int32), np.zeros(1, np.int32)
    m.get_function("k")(drv.Out(o), drv.InOut(n), block=(64, 1, 1))
    assert sorted(o) == list(range(64)) and list(o) != list(range(64))


# argument packing as PyCUDA does it
def test_float32_for_an_int_parameter_warns(mod):
    o = np.zeros(1, np.int32)
    with pytest.warns(emulator.PyCudaCompatWarning, match="signed integer"):
        run(mod, "setint", drv.Out(o), np.float32(3), block=(1, 1, 1))
    assert o[0] == np.float32(3).view(np.int32)  # the raw bytes, as on a GPU


def test_fortran_order_warns(mod):
    a = np.asfortranarray(np.ones((4, 4), np.float32))
    with pytest.warns(emulator.PyCudaCompatWarning, match="Fortran"):
        run(mod, "setint", drv.InOut(a), np.int32(3), block=(1, 1, 1))


# coverage of CUDA C and of the driver API
def test_intrinsics_vector_types_and_atomics(mod):
    o, u = np.zeros(32, np.float32), np.zeros(64, np.uint32)
    run(mod, "misc", drv.Out(o), drv.InOut(u), block=(32, 1, 1))
    assert o[0] == 2 + 4 + 0.5 + 0 + 1 + 2 + 0 + 1 + 1
    assert u[0] == 16 + 1 + 1
    assert list(u[40:48]) == [32, 0xFFFFFFFF, 0, 0, 5, 31, 10, 1]


def test_parameter_types_structs_and_defaults(mod):
    o = np.zeros(1, np.float32)
    run(mod, "types", np.uint32(1), np.int64(2), np.uint64(3), drv.Out(o), block=(1, 1, 1))
    assert o[0] == 6
    p = np.zeros(1, dtype=[("n", np.int32), ("s", np.float32)])
    p["n"], p["s"] = 3, 2
    run(mod, "st", np.void(p.tobytes()), drv.Out(o), block=(1, 1, 1))
    assert o[0] == 6
    run(mod, "dflt", drv.Out(o), np.int32(4), block=(1, 1, 1))
    assert o[0] == 4


def test_driver_api_surface():
    drv.init()
    assert drv.Device.count() >= 1 and drv.Device(0).compute_capability() >= (7, 0)
    a = drv.pagelocked_empty(8, np.float32)
    a[:] = np.arange(8)
    s = drv.Stream()
    d1, d2 = drv.mem_alloc(a.nbytes), drv.mem_alloc(a.nbytes)
    drv.memcpy_htod_async(d1, a, s)
    drv.memcpy_dtod(d2, d1, a.nbytes)
    drv.memset_d32(d1, 0, 8)
    b = np.empty_like(a)
    drv.memcpy_dtoh_async(b, d2, s)
    s.synchronize()
    np.testing.assert_array_equal(b, a)
    assert (drv.from_device(d1, (8,), np.float32) == 0).all()


# speed (a barrier per step; the issue measured 3.3 s for 1e6 before the hand-written switch)
def test_barrier_heavy_reduce_is_fast():
    import time

    import book.cuda.kernels as K

    emulator.configure(sanitize=False)  # the fast path's speed (the sanitizer is the default)
    x = np.random.default_rng(0).random(1 << 18, dtype=np.float32)
    t = time.perf_counter()
    s = K.reduce_sum(x, version="interleaved")
    took = time.perf_counter() - t
    assert abs(s - x.sum(dtype=np.float64)) < 1e-2 * abs(s)
    assert took < 5, f"reduce of 2^18 floats took {took:.2f} s"


def test_compound_assignment_race_in_a_reduction_is_reported():
    # sdata[tid] += sdata[tid + s] with the barrier inside the loop forgotten: the store of `+=` is checked
    m = SourceModule(r"""
__global__ void red(const float* in, float* out) {
    extern __shared__ float sdata[];
    unsigned tid = threadIdx.x;
    sdata[tid] = in[tid];
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1)
        if (tid < s) sdata[tid] += sdata[tid + s];  // no __syncthreads() per step
    if (tid == 0) out[0] = sdata[0];
}
__global__ void ptr(float* out) {
    __shared__ float s[64];
    float* p = s;  // a plain pointer to __shared__ data still compiles in sanitizer mode
    p[threadIdx.x] = 1; __syncthreads(); out[threadIdx.x] = s[63 - threadIdx.x];
}""")
    emulator.configure(sanitize=True)
    with pytest.raises(SanitizerError, match="race"):
        m.get_function("red")(drv.In(np.ones(64, np.float32)), drv.Out(np.zeros(1, np.float32)),
                              block=(64, 1, 1), shared=256)  # fmt: skip
    o = np.zeros(64, np.float32)
    m.get_function("ptr")(drv.Out(o), block=(64, 1, 1))
    assert (o == 1).all()


# __half, cooperative groups, complex numbers, textures, PyCUDA's generated kernels
HALF_SRC = r"""
#include <cuda_runtime.h>
#include <cuda_fp16.h>
__global__ void half_ops(const __half* a, const __half* b, __half* s, __half* p, float* f, __half* h, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  s[i] = __hadd(a[i], b[i]);
  p[i] = __hmul(a[i], b[i]);
  f[i] = __half2float(a[i]) * 2.0f;
  h[i] = __float2half(f[i] / 3.0f);
}
"""

CG_SRC = r"""
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>
namespace cg = cooperative_groups;
__global__ void block_sum(const float* x, float* out, int n) {
  cg::thread_block block = cg::this_thread_block();
  cg::thread_block_tile<32> warp = cg::tiled_partition<32>(block);
  __shared__ float partial[32];
  unsigned i = blockIdx.x * blockDim.x + block.thread_rank();
  float v = i < n ? x[i] : 0.0f;
  for (int d = warp.size() / 2; d > 0; d /= 2) v += warp.shfl_down(v, d);
  if (warp.thread_rank() == 0) partial[warp.meta_group_rank()] = v;
  block.sync();
  if (warp.meta_group_rank() == 0) {
    v = warp.thread_rank() < warp.meta_group_size() ? partial[warp.thread_rank()] : 0.0f;
    v = cg::reduce(warp, v, cg::plus<float>());
    if (block.thread_rank() == 0) out[blockIdx.x] = v;
  }
}
__global__ void tiles(const int* x, int* out) {
  cg::thread_block block = cg::this_thread_block();
  auto t8 = cg::tiled_partition<8>(block);
  int v = x[block.thread_rank()];
  int mx = cg::reduce(t8, v, cg::greater<int>());
  int xs = v;
  for (int m = 1; m < 8; m *= 2) xs += t8.shfl_xor(xs, m);
  t8.sync();
  unsigned b = t8.ballot(v > 50);
  int r = block.thread_rank();
  out[4 * r] = mx; out[4 * r + 1] = xs; out[4 * r + 2] = (int)b;
  out[4 * r + 3] = t8.any(v > 90) + 2 * t8.all(v >= 0) + 4 * (int)t8.thread_rank() + 32 * (int)t8.meta_group_rank();
}
"""


@pytest.mark.parametrize("sanitize", [False, True])
def test_half_precision_basics(sanitize):
    emulator.configure(sanitize=sanitize)
    rng = np.random.default_rng(1)
    n = 77
    a = rng.uniform(-4, 4, n).astype(np.float16)
    b = rng.uniform(-4, 4, n).astype(np.float16)
    s, p, h = (np.zeros(n, np.float16) for _ in range(3))
    f = np.zeros(n, np.float32)
    f_ = SourceModule(HALF_SRC).get_function("half_ops")
    outs = [drv.Out(s), drv.Out(p), drv.Out(f), drv.Out(h)]
    f_(drv.In(a), drv.In(b), *outs, np.int32(n), block=(32, 1, 1), grid=(3, 1))
    np.testing.assert_array_equal(s, a + b)  # NumPy's float16 ops round each result to half, as the GPU
    np.testing.assert_array_equal(p, a * b)
    np.testing.assert_array_equal(f, a.astype(np.float32) * 2)
    np.testing.assert_array_equal(h, (f / np.float32(3)).astype(np.float16))


@pytest.mark.parametrize("sanitize", [False, True])
def test_cooperative_groups_block_and_warp_tiles(sanitize):
    emulator.configure(sanitize=sanitize)
    m = SourceModule(CG_SRC)
    x = np.random.default_rng(2).standard_normal(1000).astype(np.float32)
    out = np.zeros(4, np.float32)
    m.get_function("block_sum")(drv.In(x), drv.Out(out), np.int32(1000), block=(256, 1, 1), grid=(4, 1))
    np.testing.assert_allclose(out, np.pad(x, (0, 24)).reshape(4, 256).sum(1), rtol=1e-5, atol=1e-5)

    v = np.random.default_rng(3).integers(0, 100, 64).astype(np.int32)
    got = np.zeros((64, 4), np.int32)
    m.get_function("tiles")(drv.In(v), drv.Out(got), block=(64, 1, 1))
    t = v.reshape(8, 8)
    ranks = np.arange(64)
    np.testing.assert_array_equal(got[:, 0], np.repeat(t.max(1), 8))
    np.testing.assert_array_equal(got[:, 1], np.repeat(t.sum(1), 8))
    ballot = ((t > 50) * (1 << np.arange(8))).sum(1)
    np.testing.assert_array_equal(got[:, 2], np.repeat(ballot, 8))
    flags = np.repeat((t > 90).any(1) + 2 * (t >= 0).all(1), 8) + 4 * (ranks % 8) + 32 * (ranks // 8)
    np.testing.assert_array_equal(got[:, 3], flags)


def test_grid_sync_is_a_clear_launch_error():
    src = "#include <cooperative_groups.h>\n__global__ void g(int* o) { cooperative_groups::this_grid().sync(); }"
    o = np.zeros(1, np.int32)
    with pytest.raises(LaunchError, match="cooperative launch"):
        SourceModule(src).get_function("g")(drv.Out(o), block=(2, 1, 1))


def test_pycuda_complex_and_linear_combination():
    from book.cuda import pycuda_shim

    pycuda_shim.install()
    try:
        from pycuda import gpuarray
        from pycuda.elementwise import ElementwiseKernel, get_linear_combination_kernel

        rng = np.random.default_rng(4)
        a = (rng.standard_normal(300) + 1j * rng.standard_normal(300)).astype(np.complex64)
        b = (rng.standard_normal(300) + 1j * rng.standard_normal(300)).astype(np.complex64)
        mul = ElementwiseKernel(
            "pycuda::complex<float> *x, pycuda::complex<float> *y, pycuda::complex<float> *z",
            "z[i] = x[i] * conj(y[i]) + abs(x[i])",
            "cmul",
            preamble="#include <pycuda-complex.hpp>",
        )
        ga, gb = gpuarray.to_gpu(a), gpuarray.to_gpu(b)
        gc = gpuarray.empty_like(ga)
        mul(ga, gb, gc)
        np.testing.assert_allclose(gc.get(), a * b.conj() + abs(a), rtol=1e-5, atol=1e-5)

        f32 = np.float32
        lc, texrefs = get_linear_combination_kernel(((True, f32, f32), (False, f32, f32)), f32)
        x = rng.standard_normal(5000).astype(f32)
        y = rng.standard_normal(5000).astype(f32)
        gx, gy = gpuarray.to_gpu(x), gpuarray.to_gpu(y)
        gz = gpuarray.empty_like(gx)
        ga0 = gpuarray.to_gpu(np.array(3, f32))  # a GPU scalar, read through a texture
        ga0.bind_to_texref_ext(texrefs[0])
        lc.prepared_call(gx._grid, gx._block, gx.gpudata, f32(-2), gy.gpudata, gz.gpudata, gx.mem_size)
        np.testing.assert_allclose(gz.get(), 3 * x - 2 * y, rtol=1e-6, atol=1e-6)
        assert gx._grid == (32, 1) and gx._block == (128, 1, 1)  # pycuda.gpuarray.splay for 1 SM
    finally:
        pycuda_shim.uninstall()


@pytest.mark.parametrize("sanitize", [False, True])
def test_elementwise_kernel_covers_every_index_once(sanitize):
    # fast builds give each thread a contiguous chunk (cache-friendly); sanitizer builds use PyCUDA's
    # grid-stride loop: both must touch every index exactly once
    from book.cuda.elementwise import ElementwiseKernel
    from book.cuda.gpuarray import to_gpu

    emulator.configure(sanitize=sanitize)
    k = ElementwiseKernel("int *hits", "atomicAdd(&hits[i], 1)", "count_hits")
    for n in (1, 255, 8193, 100_003):
        hits = to_gpu(np.zeros(n, np.int32))
        k(hits)
        np.testing.assert_array_equal(hits.get(), np.ones(n, np.int32))


def test_template_kernels_by_mangled_name_and_the_extern_c_hint():
    src = """template <class T> __global__ void twice(T* a, int n) { int i = threadIdx.x; if (i < n) a[i] *= 2; }
template __global__ void twice<float>(float*, int);
template __global__ void twice<double>(double*, int);"""
    m = SourceModule(src, no_extern_c=True)
    for dtype, mangled in [(np.float32, "_Z5twiceIfEvPT_i"), (np.float64, "_Z5twiceIdEvPT_i")]:
        a = np.arange(5, dtype=dtype)
        m.get_function(mangled)(drv.InOut(a), np.int32(5), block=(8, 1, 1))
        np.testing.assert_array_equal(a, 2 * np.arange(5, dtype=dtype))
    # PyCUDA's default wraps everything in extern "C": templates are rejected there, as by nvcc
    with pytest.raises(emulator.CompileError, match="no_extern_c=True"):
        SourceModule(src)


@pytest.mark.parametrize("sanitize", [False, True])
def test_dynamic_parallelism_child_grids_run_after_the_parent(sanitize):
    src = r"""
__device__ int launched = 0;
__global__ void child(int* out, int base) {
  atomicAdd(&launched, 1); out[base + blockIdx.x * blockDim.x + threadIdx.x] += base + 1;
}
__global__ void parent(int* out) {
  if (threadIdx.x == 0) child<<<2, 4>>>(out, 8 * blockIdx.x);
  out[16 + blockIdx.x * blockDim.x + threadIdx.x] = 1;
}"""
    emulator.configure(sanitize=sanitize)
    m = SourceModule(src)
    o = np.zeros(22, np.int32)
    m.get_function("parent")(drv.InOut(o), block=(3, 1, 1), grid=(2, 1))
    np.testing.assert_array_equal(o, [1] * 8 + [9] * 8 + [1] * 6)
    n = np.zeros(1, np.int32)
    drv.memcpy_dtoh(n, m.get_global("launched")[0])
    assert n[0] == 16  # 2 parents x 1 launch x 2 blocks x 4 threads
