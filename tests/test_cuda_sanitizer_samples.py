"""The emulator's sanitizer against NVIDIA's compute-sanitizer samples, and what it reports like compute-sanitizer.

The buggy kernels are ported from https://github.com/NVIDIA/compute-sanitizer-samples (Memcheck,
Initcheck, Racecheck, Synccheck: the bugs PyCUDA can express; the host code becomes PyCUDA calls). Each
bug is flagged under several thread orders (``seed``), and the corrected kernel passes under the same
orders with the right result. Then: the sanitizer is on by default, errors are PyCUDA's classes, and
messages name the kind of error, the thread, the block and the buffer.
"""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from book.cuda import emulator
from book.cuda.emulator import LaunchError, LogicError, SanitizerError, SourceModule
from book.cuda.emulator import driver as drv

SEEDS = [0, 1, 2]

SAMPLES = r"""
// Memcheck/memcheck_demo.cu
__device__ int x;
__global__ void unaligned_kernel(void) { *(int*) ((char*)&x + 1) = 42; }
__global__ void aligned_kernel(void) { *(int*) ((char*)&x + 0) = 42; }
__device__ void out_of_bounds_function(void) { *(int*) 0x87654320 = 42; }
__global__ void out_of_bounds_kernel(void) { out_of_bounds_function(); }

// Initcheck/memset_error.cu
__global__ void vectorAdd(int *v) { int tx = threadIdx.x + blockDim.x * blockIdx.x; v[tx] += tx; }

// Racecheck/block_error.cu (and its fix: a barrier between the writes and thread 0's reads)
static constexpr int NumThreads = 128;
__shared__ int smem[NumThreads];
__global__ void sumKernel(int *data_in, int *sum_out, int fixed) {
    int tx = threadIdx.x;
    smem[tx] = data_in[tx] + tx;
    if (fixed) __syncthreads();
    if (tx == 0) {
        *sum_out = 0;
        for (int i = 0; i < NumThreads; ++i) *sum_out += smem[i];
    }
}

// Racecheck/warp_error.cu (and its fix: __syncwarp() between the lanes' writes and lane 0's reads)
static constexpr int Warps = 2;
static constexpr int WarpSize = 32;
__shared__ int smem_first[Warps * WarpSize];
__shared__ int smem_second[Warps];
__global__ void warpSumKernel(int *data_in, int *sum_out, int fixed) {
    int tx = threadIdx.x;
    smem_first[tx] = data_in[tx] + tx;
    if (fixed) __syncwarp();
    if (tx % WarpSize == 0) {
        int wx = tx / WarpSize;
        smem_second[wx] = 0;
        for (int i = 0; i < WarpSize; ++i) smem_second[wx] += smem_first[wx * WarpSize + i];
    }
    __syncthreads();
    if (tx == 0) {
        *sum_out = 0;
        for (int i = 0; i < Warps; ++i) *sum_out += smem_second[i];
    }
}

// Synccheck/divergent_threads.cu (and its fix: the barrier out of the branch)
static constexpr int DataBlocks = 16;
static constexpr int Size = (64 * DataBlocks) - 16;
__shared__ int smem_div[64];
__global__ void myKernel(int *data_in, int *sum_out, int fixed) {
    int tx = threadIdx.x;
    smem_div[tx] = 0;
    __syncthreads();
    for (int b = 0; b < DataBlocks; ++b) {
        const int offset = 64 * b + tx;
        if (fixed) {
            if (offset < Size) smem_div[tx] += data_in[offset];
            __syncthreads();
        } else if (offset < Size) {
            smem_div[tx] += data_in[offset];
            __syncthreads();
        }
    }
    if (tx == 0) {
        *sum_out = 0;
        for (int i = 0; i < 64; ++i) *sum_out += smem_div[i];
    }
}

// Synccheck/illegal_syncwarp.cu (and its fix: the branch takes exactly the lanes of the mask)
__shared__ int smem_warp[32];
__global__ void syncwarpKernel(int *sum_out, int fixed) {
    int tx = threadIdx.x;
    unsigned int mask = __ballot_sync(0xffffffff, tx < 16);
    if (fixed ? tx < 16 : tx <= 16) {
        smem_warp[tx] = tx;
        __syncwarp(mask);
        if (tx == 0) {
            *sum_out = 0;
            for (int i = 0; i < 16; ++i) *sum_out += smem_warp[i];
        }
    }
    __syncthreads();
}

// the divergent barrier the first release rejected, and the legal guard-and-return idiom
__global__ void divergent_barrier(float* out) {
    if (threadIdx.x < 5) { __syncthreads(); }
    out[threadIdx.x] = 1;
}
__global__ void guard_and_return(float* out, int n) {
    int i = threadIdx.x;
    if (i >= n) return;
    __syncthreads();
    out[i] = 1;
}
__global__ void two_barriers(float* out) {
    if (threadIdx.x % 2) { __syncthreads(); } else { __syncthreads(); }
    out[threadIdx.x] = 1;
}
__global__ void misaligned_load(const char* bytes, float* out) { out[0] = *(const float*)(bytes + 2); }
__global__ void neighbour(float* out) {  // reads s[t + 1] with no barrier after the writes
    __shared__ float s[65];
    int t = threadIdx.x;
    s[t] = t;
    if (t == 0) s[64] = 0;
    out[t] = s[t + 1];
}
__global__ void fill(unsigned char* v) { v[threadIdx.x] = 1; }
__global__ void touch(float* v) { v[0] = 1; }
__global__ void shfl_mask(float* out) { out[threadIdx.x] = __shfl_sync(0xffffffff, 1.0f, 0); }
"""


@pytest.fixture(scope="module")
def mod():
    saved = dict(vars(emulator.OPTIONS))
    emulator.configure(sanitize=True)
    m = SourceModule(SAMPLES)
    yield m
    emulator.configure(**saved)


@pytest.fixture(autouse=True)
def _sanitize():
    saved = dict(vars(emulator.OPTIONS))
    emulator.configure(sanitize=True)
    yield
    emulator.configure(**saved)


def launch(mod, name, *args, block=(1, 1, 1), grid=(1, 1), seed=0):
    emulator.configure(seed=seed)
    mod.get_function(name)(*args, block=block, grid=grid)


# ---------------------------------------------------------------------------------------- memcheck
def test_memcheck_misaligned_write_to_a_device_variable(mod):
    with pytest.raises(
        SanitizerError, match=r"misaligned address.*byte offset 1 of the __device__ variable `x`"
    ):
        launch(mod, "unaligned_kernel")
    launch(mod, "aligned_kernel")
    assert int.from_bytes(mod.get_global("x")[0].view().tobytes(), "little") == 42


def test_memcheck_misaligned_load_from_global_memory(mod):
    with pytest.raises(
        SanitizerError, match=r"misaligned address.*read 4 bytes at byte offset 2 of argument `bytes`"
    ):
        launch(mod, "misaligned_load", drv.In(np.zeros(8, np.uint8)), drv.Out(np.zeros(1, np.float32)))


def test_memcheck_illegal_address_in_a_device_function(mod):
    with pytest.raises(
        SanitizerError, match=r"illegal address.*wrote 4 bytes at 0x87654320, which is not device"
    ):
        launch(mod, "out_of_bounds_kernel")


# ---------------------------------------------------------------------------------------- initcheck
def test_initcheck_memset_of_too_few_bytes():
    m = SourceModule(SAMPLES)
    d = drv.mem_alloc(4 * 64)
    drv.memset_d8(d, 0, 64)  # the sample's bug: the size is missing `* sizeof(int)`
    with pytest.raises(SanitizerError, match=r"uninitialised read \(initcheck.*argument `v`"):
        m.get_function("vectorAdd")(d, block=(32, 1, 1), grid=(2, 1))
    drv.memset_d8(d, 0, 4 * 64)  # fixed
    m.get_function("vectorAdd")(d, block=(32, 1, 1), grid=(2, 1))
    np.testing.assert_array_equal(drv.from_device(d, 64, np.int32), np.arange(64))


# ---------------------------------------------------------------------------------------- racecheck
@pytest.mark.parametrize("seed", SEEDS)
def test_racecheck_block_error_is_a_race_whatever_the_order(mod, seed):
    data = np.zeros(128, np.int32)
    with pytest.raises(
        SanitizerError, match=r"shared-memory race \(racecheck.*thread \(\d+,0,0\).*thread \(\d+,0,0\)"
    ):
        launch(mod, "sumKernel", drv.In(data), drv.Out(np.zeros(1, np.int32)), np.int32(0), block=(128, 1, 1),
               seed=seed)  # fmt: skip
    out = np.zeros(1, np.int32)
    launch(mod, "sumKernel", drv.In(data), drv.Out(out), np.int32(1), block=(128, 1, 1), seed=seed)
    assert out[0] == sum(range(128))


@pytest.mark.parametrize("seed", SEEDS)
def test_racecheck_warp_error_names_the_lanes_of_one_warp(mod, seed):
    data = np.zeros(64, np.int32)
    with pytest.raises(SanitizerError, match=r"race.*same warp.*__syncwarp"):
        launch(mod, "warpSumKernel", drv.In(data), drv.Out(np.zeros(1, np.int32)), np.int32(0), block=(64, 1, 1),
               seed=seed)  # fmt: skip
    out = np.zeros(1, np.int32)
    launch(mod, "warpSumKernel", drv.In(data), drv.Out(out), np.int32(1), block=(64, 1, 1), seed=seed)
    assert out[0] == sum(range(64))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_a_missing_barrier_is_reported_as_a_race_never_as_an_uninitialised_read(mod, seed):
    # a reader that runs before the writer sees never-written memory: the race is the cause, and is reported
    with pytest.raises(SanitizerError, match=r"shared-memory race .*thread \(\d+,0,0\).*thread \(\d+,0,0\)"):
        launch(mod, "neighbour", drv.Out(np.zeros(64, np.float32)), block=(64, 1, 1), seed=seed)


# ---------------------------------------------------------------------------------------- synccheck
@pytest.mark.parametrize("seed", SEEDS)
def test_synccheck_divergent_threads(mod, seed):
    data = np.arange(1008, dtype=np.int32)
    with pytest.raises(SanitizerError, match=r"barrier error \(synccheck.*48 threads wait.*16 threads"):
        launch(mod, "myKernel", drv.In(data), drv.Out(np.zeros(1, np.int32)), np.int32(0), block=(64, 1, 1),
               seed=seed)  # fmt: skip
    out = np.zeros(1, np.int32)
    launch(mod, "myKernel", drv.In(data), drv.Out(out), np.int32(1), block=(64, 1, 1), seed=seed)
    assert out[0] == data.sum()


def test_synccheck_illegal_syncwarp(mod):
    with pytest.raises(LaunchError, match=r"lane 16.*does not include its own lane.*block \(0, 0, 0\)"):
        launch(mod, "syncwarpKernel", drv.Out(np.zeros(1, np.int32)), np.int32(0), block=(32, 1, 1))
    out = np.zeros(1, np.int32)
    launch(mod, "syncwarpKernel", drv.Out(out), np.int32(1), block=(32, 1, 1))
    assert out[0] == sum(range(16))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_barrier_in_a_divergent_branch_is_reported_and_guard_and_return_is_legal(mod, seed):
    with pytest.raises(SanitizerError, match=r"synccheck.*5 threads wait.*evaluates identically"):
        launch(mod, "divergent_barrier", drv.Out(np.zeros(64, np.float32)), block=(64, 1, 1), seed=seed)
    out = np.zeros(64, np.float32)
    launch(mod, "guard_and_return", drv.Out(out), np.int32(40), block=(64, 1, 1), seed=seed)
    assert out[:40].all()


def test_threads_at_two_different_barriers_are_reported(mod):
    with pytest.raises(SanitizerError, match=r"synccheck.*two different __syncthreads"):
        launch(mod, "two_barriers", drv.Out(np.zeros(64, np.float32)), block=(64, 1, 1))


# ---------------------------------------------------------------------------------------- messages
def test_a_one_byte_overrun_reads_cleanly(mod):
    with pytest.raises(SanitizerError) as exc:
        launch(mod, "fill", drv.Out(np.zeros(63, np.uint8)), block=(64, 1, 1))
    msg = str(exc.value)
    assert "wrote 1 bytes at byte offset 63 of argument `v` (Out, 63 bytes), 1 bytes past its end" in msg
    assert "thread (63,0,0) of block (0,0,0)" in msg
    assert msg.count("63 bytes") == 1, msg


def test_use_after_free_says_the_buffer_was_freed(mod):
    d = drv.mem_alloc(16)
    stale = np.uintp(int(d))
    d.free()
    with pytest.raises(LogicError, match="freed"):
        launch(mod, "touch", d)
    with pytest.raises(SanitizerError, match=r"illegal address.*which was freed before the launch"):
        launch(mod, "touch", stale)
    with pytest.raises(LogicError, match="which was freed"):
        drv.memcpy_dtoh(np.zeros(4, np.uint8), int(stale))


def test_a_host_array_where_device_memory_is_needed_says_so(mod):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emulator.PyCudaCompatWarning)
        with pytest.raises(
            SanitizerError, match=r"a host array was passed where device memory is needed.*`v`"
        ):
            launch(mod, "touch", np.zeros(4, np.float32))


def test_a_warp_collective_error_names_the_block(mod):
    with pytest.raises(LaunchError, match=r"lanes 0xffff0000 do not exist.*\[in block \(\d, 0, 0\)\]"):
        launch(mod, "shfl_mask", drv.Out(np.zeros(16, np.float32)), block=(16, 1, 1), grid=(2, 1))


# ---------------------------------------------------------------------------------------- driver errors
def test_errors_are_pycudas_classes():
    with pytest.raises(drv.MemoryError) as exc:
        drv.mem_alloc(1 << 60)
    assert isinstance(exc.value, MemoryError) and isinstance(exc.value, drv.Error)
    assert "out of memory" in str(exc.value)
    assert issubclass(drv.LogicError, drv.Error) and issubclass(drv.LaunchError, drv.Error)
    # PyCUDA raises LogicError for an illegal address and LaunchError for a launch failure: both catch it
    assert issubclass(SanitizerError, drv.LaunchError) and issubclass(drv.LaunchError, drv.LogicError)
    with pytest.raises(drv.LogicError, match="not inside a live"):
        drv.memcpy_htod(12345, np.zeros(4, np.float32))
    with pytest.raises(drv.CompileError):
        SourceModule("__global__ void broken( {")


# ---------------------------------------------------------------------------------------- the default
def test_the_sanitizer_is_on_by_default_after_install_and_one_switch_turns_it_off():
    script = textwrap.dedent(r"""
        import numpy as np
        from book.cuda import pycuda_shim
        pycuda_shim.install()
        import pycuda.autoinit  # noqa: F401
        import pycuda.driver as drv
        from pycuda.compiler import SourceModule
        m = SourceModule("__global__ void f(unsigned char* v) { v[threadIdx.x] = 1; }")
        try:
            m.get_function("f")(drv.Out(np.zeros(63, np.uint8)), block=(64, 1, 1))
            print("passed")
        except drv.LaunchError as e:
            print("caught:", str(e).split(":")[1].strip())
    """)
    env = {k: v for k, v in os.environ.items() if k != "BOOK_CUDA_SANITIZE"}
    on = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    off = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env=dict(env, BOOK_CUDA_SANITIZE="0"))  # fmt: skip
    assert on.stdout.strip() == "caught: out-of-bounds access (memcheck", on.stderr[-2000:]
    assert off.stdout.strip() == "passed", off.stderr[-2000:]  # 63 bytes rounded up: no guard page is hit
