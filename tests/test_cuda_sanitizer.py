"""The emulator never kills Python, catches planted bugs, follows Volta rules, packs like PyCUDA."""

import os
import threading
import warnings

import numpy as np
import pytest

from book.cuda import emulator
from book.cuda.emulator import LaunchError, LogicError, SanitizerError, SourceModule
from book.cuda.emulator import driver as drv

SRC = r"""
__global__ void no_guard(const float* a, float* c) { int i = blockIdx.x * blockDim.x + threadIdx.x; c[i] = a[i]; }
__global__ void wild(float* a) { float* p = (float*)0x10; *p = 1; }
__global__ void divz(int* a, int n) { a[threadIdx.x] = 10 / (n - (int)threadIdx.x); }
__global__ void asrt(int* a) { assert(threadIdx.x < 5); a[threadIdx.x] = 1; }
__global__ void spin(volatile int* a) { while (a[0] == 0) {} }
__global__ void bigstack(float* x) { float loc[300000]; for (int i = 0; i < 300000; i++) loc[i] = i; x[0] = loc[7]; }
__global__ void flag(volatile int* f, int* out) {
  if (threadIdx.x == 0) { while (f[0] == 0) {} out[0] = 1; }
  if (threadIdx.x == 63) f[0] = 1;
}
__global__ void uninit(const float* a, float* c) { c[threadIdx.x] = a[threadIdx.x]; }
__global__ void race(float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = threadIdx.x;
  out[threadIdx.x] = s[63 - threadIdx.x];  // no __syncthreads()
}
__global__ void warp_sync_idiom(float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = 1; __syncthreads();
  if (threadIdx.x < 32) { volatile float* v = s; v[threadIdx.x] += v[threadIdx.x + 16]; }
  out[threadIdx.x] = s[0];
}
__global__ void partial_mask(int* out) {
  int v = threadIdx.x;
  if (threadIdx.x < 8) v = __shfl_up_sync(0xffu, v, 1);  // only 8 lanes, the others go on
  __syncthreads();
  out[threadIdx.x] = v;
}
__global__ void scale(float* x, float a, int n) { int i = threadIdx.x; if (i < n) x[i] *= a; }
__constant__ float coef[4];
__device__ int counter;
__global__ void use_const(float* x) { x[threadIdx.x] = coef[threadIdx.x % 4]; atomicAdd(&counter, 1); }
"""


@pytest.fixture(scope="module")
def mod():
    return SourceModule(SRC)


@pytest.fixture(autouse=True)
def _options():
    saved = dict(vars(emulator.OPTIONS))
    yield
    emulator.configure(**saved)


def run(mod, name, *args, **kw):
    kw.setdefault("block", (64, 1, 1))
    mod.get_function(name)(*args, **kw)


@pytest.mark.parametrize(
    "name,args,pattern",
    [
        ("no_guard", lambda: (drv.In(np.ones(100, np.float32)), drv.Out(np.ones(100, np.float32))),
         r"thread \(\d+,0,0\) of block \(1,0,0\) read 4 bytes at byte offset \d+ of argument `a` \(In, 400 bytes\)"),
        ("wild", lambda: (drv.Out(np.ones(4, np.float32)),), "illegal address.*NULL pointer"),
        ("divz", lambda: (drv.Out(np.zeros(64, np.int32)), np.int32(5)), r"division by zero.*thread \(5, 0, 0\)"),
        ("asrt", lambda: (drv.Out(np.zeros(64, np.int32)),), "device-side assert triggered.*threadIdx.x < 5"),
        ("bigstack", lambda: (drv.Out(np.ones(4, np.float32)),), "stack overflow"),
    ],
)  # fmt: skip
def test_faults_become_exceptions(mod, name, args, pattern):
    with pytest.raises(LaunchError, match=pattern):
        run(mod, name, *args(), grid=(2, 1))
    run(mod, "scale", drv.InOut(np.ones(4, np.float32)), np.float32(2), np.int32(4))  # Python lives on


def test_watchdog_stops_an_endless_loop(mod):
    emulator.configure(watchdog_s=1)
    with pytest.raises(LaunchError, match="did not finish within 1 s"):
        run(mod, "spin", drv.In(np.zeros(1, np.int32)))


def test_two_threads_launch_at_once(mod):
    out, errors = [], []

    def work():
        try:
            x = np.ones(64, np.float32)
            run(mod, "scale", drv.InOut(x), np.float32(3), np.int32(64))
            out.append(x.sum())
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == [] and out == [192.0] * 4


def test_spin_wait_on_a_flag_of_another_thread_finishes(mod):
    out = np.zeros(1, np.int32)
    run(mod, "flag", drv.InOut(np.zeros(1, np.int32)), drv.InOut(out))
    assert out[0] == 1


def test_partial_mask_shuffle(mod):
    out = np.zeros(64, np.int32)
    run(mod, "partial_mask", drv.Out(out))
    np.testing.assert_array_equal(out, np.r_[0, np.arange(7), np.arange(8, 64)])


def test_sanitizer_uninitialised_read(mod):
    emulator.configure(sanitize=True)
    with pytest.raises(SanitizerError, match="uninitialised"):
        run(mod, "uninit", drv.mem_alloc(256), drv.Out(np.zeros(64, np.float32)))


def test_sanitizer_race(mod):
    emulator.configure(sanitize=True)
    with pytest.raises(SanitizerError, match="race|uninitialised"):
        run(mod, "race", drv.Out(np.zeros(64, np.float32)))


def test_static_shared_over_48_kib_refused():
    with pytest.raises(emulator.CompileError, match="too much shared data"):
        SourceModule(
            "__global__ void k(float* x) { __shared__ float s[16384]; s[threadIdx.x] = 1; x[0] = s[1]; }"
        )


def test_float64_for_float_packs_raw_bytes_like_pycuda(mod):
    x = np.ones(4, np.float32)
    with pytest.warns(emulator.PyCudaCompatWarning, match="PyCUDA packs the raw bytes"):
        run(mod, "scale", drv.InOut(x), np.float64(2), np.int32(4), block=(4, 1, 1))
    assert not np.array_equal(x, np.full(4, 2, np.float32))  # garbage, as on a GPU
    with pytest.warns(emulator.PyCudaCompatWarning, match="by value"):
        with pytest.raises(LaunchError):
            run(mod, "scale", np.ones(4, np.float32), np.float32(2), np.int32(4))
    with pytest.raises(ValueError, match="not contiguous"):
        run(mod, "scale", drv.InOut(np.ones(8, np.float32)[::2]), np.float32(2), np.int32(4))


def test_constant_memory_get_global_and_prepared_call(mod):
    ptr, size = mod.get_global("coef")
    assert size == 16
    drv.memcpy_htod(ptr, np.arange(4, dtype=np.float32))
    x = np.zeros(8, np.float32)
    run(mod, "use_const", drv.Out(x), block=(8, 1, 1))
    np.testing.assert_array_equal(x, [0, 1, 2, 3] * 2)
    cptr, _ = mod.get_global("counter")
    assert drv.from_device(cptr, (1,), np.int32)[0] == 8  # __device__ variables come back from the launch
    d = drv.to_device(np.ones(4, np.float32))
    f = mod.get_function("scale").prepare("Pfi")
    f.prepared_call((1, 1), (4, 1, 1), d, 5.0, 4)
    np.testing.assert_array_equal(drv.from_device(d, (4,), np.float32), [5] * 4)


def test_cpp_linkage_names_are_mangled():
    m = SourceModule("__global__ void k(float* x) { x[0] = 1; }", no_extern_c=True)
    with pytest.raises(LogicError, match="mangled"):
        m.get_function("k")
    m.get_function("_Z1kPf")


def test_launch_bounds_and_extern_c_block():
    src = 'extern "C" {\n__global__ void __launch_bounds__(256) k(float* x /* a, b */) { x[threadIdx.x] = 2; }\n}'
    x = np.zeros(4, np.float32)
    SourceModule(src, no_extern_c=True).get_function("k")(drv.Out(x), block=(4, 1, 1))
    assert (x == 2).all()


def test_ctrl_c_is_not_swallowed(mod):
    emulator.configure(watchdog_s=30)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), 2))
    timer.start()
    with warnings.catch_warnings(), pytest.raises(KeyboardInterrupt):
        run(mod, "spin", drv.In(np.zeros(1, np.int32)))
