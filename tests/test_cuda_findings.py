"""Issue 14, findings 1-7: one test per gap the earlier tests did not reproduce (chapter 03's emulator)."""

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


# finding 1: process killers (each launch runs in a forked child)
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


# finding 2: hangs
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


# finding 3: bugs that a fixed order would hide
def test_static_shared_does_not_survive_a_launch(mod):
    emulator.configure(sanitize=True)
    o = np.zeros(4, np.float32)
    run(mod, "keep", drv.Out(o), np.int32(1), block=(4, 1, 1))
    with pytest.raises(SanitizerError, match="uninitialised.*__shared__"):
        run(mod, "keep", drv.Out(o), np.int32(0), block=(4, 1, 1))


def test_missing_syncthreads_with_a_lower_producer_is_reported(mod):
    o = np.zeros(64, np.float32)
    run(mod, "nosync", drv.Out(o))  # thread 0 happens to run first without the sanitizer: all 42
    emulator.configure(sanitize=True)
    with pytest.raises(SanitizerError, match="race|uninitialised"):  # s[0]: a constant index, still seen
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


# finding 5: argument packing as PyCUDA does it
def test_float32_for_an_int_parameter_warns(mod):
    o = np.zeros(1, np.int32)
    with pytest.warns(emulator.PyCudaCompatWarning, match="signed integer"):
        run(mod, "setint", drv.Out(o), np.float32(3), block=(1, 1, 1))
    assert o[0] == np.float32(3).view(np.int32)  # the raw bytes, as on a GPU


def test_fortran_order_warns(mod):
    a = np.asfortranarray(np.ones((4, 4), np.float32))
    with pytest.warns(emulator.PyCudaCompatWarning, match="Fortran"):
        run(mod, "setint", drv.InOut(a), np.int32(3), block=(1, 1, 1))


# finding 6: coverage of CUDA C and of the driver API
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


# finding 7: speed (a barrier per step; the issue measured 3.3 s for 1e6 before the hand-written switch)
def test_barrier_heavy_reduce_is_fast():
    import time

    import book.cuda.kernels as K

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
