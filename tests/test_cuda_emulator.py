"""The CUDA kernels of cuda_src/ on the CPU emulator vs NumPy, the emulator's CUDA-like errors, nvcc compiles."""

import numpy as np
import pytest

import book.cuda
from book.cuda import SRC_DIR, emulator, kernel_files, module, nvcc, source
from book.cuda import kernels as K
from book.cuda.emulator import SourceModule
from book.cuda.emulator import driver as drv

RNG = np.random.default_rng(0)
SIZES = [1, 31, 255, 257, 1000, 70_001]  # n = 1, not multiples of the block, and a large n
SHAPES = [(1, 1, 1), (1, 7, 3), (17, 33, 5), (64, 64, 64), (70, 20, 130)]  # (M, K, N), non-square


@pytest.fixture(autouse=True)
def _emulator():
    book.cuda.load("emulator")  # choose the backend explicitly, whatever was imported before
    yield
    book.cuda.reset()


@pytest.mark.parametrize("n", SIZES)
def test_elementwise(n):
    a, b = RNG.standard_normal(n).astype(np.float32), RNG.standard_normal(n).astype(np.float32)
    np.testing.assert_array_equal(K.vec_add(a, b), a + b)
    np.testing.assert_array_equal(K.relu_fwd(a), np.maximum(a, 0))
    np.testing.assert_array_equal(K.relu_bwd(a, b), np.where(a > 0, b, 0))


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("version", K.REDUCE_VERSIONS)
def test_reduce(n, version):
    x = RNG.standard_normal(n).astype(np.float32)
    assert K.reduce_sum(x, version) == pytest.approx(x.astype(np.float64).sum(), abs=1e-4 * max(1, n**0.5))


@pytest.mark.parametrize("shape", [(1, 1), (1, 40), (33, 1), (31, 65), (100, 37)])
@pytest.mark.parametrize("version", ["naive", "tiled"])
def test_transpose(shape, version):
    x = RNG.standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(K.transpose(x, version), x.T)


@pytest.mark.parametrize("mkn", SHAPES)
@pytest.mark.parametrize("version", K.MATMUL_VERSIONS)
def test_matmul(mkn, version):
    m, k, n = mkn
    a, b = RNG.standard_normal((m, k)).astype(np.float32), RNG.standard_normal((k, n)).astype(np.float32)
    np.testing.assert_allclose(K.matmul(a, b, version), a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1000), (5, 7), (40, 129)])
def test_softmax_stable(shape):
    x = (RNG.standard_normal(shape) * 30 + 500).astype(np.float32)  # exp(x) alone would overflow
    e = np.exp(x - x.max(1, keepdims=True))
    y = K.softmax(x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("version", ["global", "shared"])
def test_histogram(n, version):
    data = RNG.integers(0, 37, n)
    np.testing.assert_array_equal(K.histogram(data, 37, version), np.bincount(data, minlength=37))


@pytest.mark.parametrize("n", [1, 255, 256, 257, 5000, 70_001])  # 70_001 needs three levels of block sums
def test_scan(n):
    x = RNG.integers(-3, 4, n).astype(np.float32)  # small integers: float32 sums are exact
    np.testing.assert_array_equal(K.inclusive_scan(x), np.cumsum(x))


# ----------------------------------------------------------------------------- CUDA-like errors
BAD = r"""
extern "C" __global__ void early_return(float* x, int n) {
    if (threadIdx.x < 16) return;  // legal since Volta: the barrier counts the threads still running
    __syncthreads();
    x[threadIdx.x] = 1.0f;
}
extern "C" __global__ void bad_sync(float* x, int n) {
    if (threadIdx.x < 16) { __syncthreads(); return; }
    __syncwarp();  // the others wait at a different barrier
    x[threadIdx.x] = 1.0f;
}
extern "C" __global__ void bad_shfl(float* x, int n) {
    if (threadIdx.x % 32 >= 8) return;
    x[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
}
extern "C" __global__ void ok_sync(float* x, int n) {
    __shared__ float s[1024];
    s[threadIdx.x] = threadIdx.x;
    __syncthreads();
    x[threadIdx.x] = s[blockDim.x - 1 - threadIdx.x];
}
"""


@pytest.fixture(scope="module")
def bad_module():
    return SourceModule(BAD, no_extern_c=True)


def test_barrier_is_real(bad_module):
    x = np.zeros(1024, np.float32)
    bad_module.get_function("ok_sync")(drv.InOut(x), np.int32(1024), block=(1024, 1, 1), grid=(1, 1))
    np.testing.assert_array_equal(x, np.arange(1023, -1, -1))


def test_early_return_before_syncthreads_is_legal(bad_module):
    x = np.zeros(64, np.float32)
    bad_module.get_function("early_return")(drv.InOut(x), np.int32(64), block=(64, 1, 1))
    np.testing.assert_array_equal(x, np.r_[np.zeros(16), np.ones(48)])


def test_different_barriers_deadlock(bad_module):
    with pytest.raises(
        emulator.LaunchError, match=r"deadlock in block \(0,0,0\): 16 threads wait at __syncthreads"
    ):
        bad_module.get_function("bad_sync")(
            drv.InOut(np.zeros(64, np.float32)), np.int32(64), block=(64, 1, 1)
        )


def test_shuffle_not_reached(bad_module):
    with pytest.raises(emulator.LaunchError, match="have already exited"):
        bad_module.get_function("bad_shfl")(
            drv.InOut(np.zeros(32, np.float32)), np.int32(32), block=(32, 1, 1)
        )


@pytest.mark.parametrize(
    "block,grid",
    [
        ((1025, 1, 1), (1, 1)),
        ((32, 32, 2), (1, 1)),
        ((0, 1, 1), (1, 1)),
        ((32, 1, 1), (0, 1)),
        ((32, 1, 1), (4, 0)),
        ((32, 1, 1), (2**31, 1)),
        ((32, 1, 1), (1, 65536)),
        ((1, 1, 65), (1, 1)),
    ],
)
def test_invalid_launch(bad_module, block, grid):
    with pytest.raises(emulator.LogicError, match="invalid argument"):
        bad_module.get_function("ok_sync")(
            drv.InOut(np.zeros(2048, np.float32)), np.int32(1), block=block, grid=grid
        )


def test_python_scalars_rejected_like_pycuda():
    f = module("elementwise").get_function("relu_fwd")
    with pytest.raises(TypeError, match=r"invalid type on parameter #2 \(0-based\).*NumPy scalar"):
        f(drv.In(np.ones(4, np.float32)), drv.Out(np.ones(4, np.float32)), 4, block=(4, 1, 1))


def test_unknown_function():
    with pytest.raises(emulator.LogicError, match="not found"):
        module("elementwise").get_function("nope")


def test_parameter_types_come_from_the_compiler():
    f = module("matmul").get_function("matmul_tiled")
    assert f.decl.params == ["A", "B", "C", "M", "N", "K"]
    assert f.param_info == [(8, 8, 0)] * 3 + [(4, 4, 2)] * 3  # (size, alignment, kind): pointers, ints


# ----------------------------------------------------------------------------- nvcc
@pytest.mark.parametrize("arch", ["sm_75", "sm_90"])
def test_nvcc_compiles_every_kernel(arch, tmp_path):
    if not nvcc.available():
        print("nvcc not on PATH: install the CUDA toolkit to compile the kernels for a GPU")
        pytest.skip("nvcc not on PATH")
    for stem in kernel_files():
        rows = nvcc.resource_usage(SRC_DIR / f"{stem}.cu", arch, cache_dir=tmp_path)
        names = set(emulator.find_kernels(source(stem)))
        assert {r["kernel"] for r in rows} == names, stem
        for r in rows:
            assert r["arch"] == arch and 1 <= r["registers"] <= 255
    tiled = {r["kernel"]: r for r in nvcc.resource_usage(SRC_DIR / "transpose.cu", arch, cache_dir=tmp_path)}
    assert tiled["transpose_tiled"]["smem_bytes"] == 32 * 33 * 4  # the padded tile
    assert tiled["transpose_naive"]["smem_bytes"] == 0


# ----------------------------------------------------------------------------- PyTorch integration
def test_torch_relu_ops():
    import warnings

    import torch

    from book.cuda.torch_ops import ReLUFunction, cuda_relu

    x = torch.randn(300, generator=torch.Generator().manual_seed(0))
    x = (x + 0.2 * torch.sign(x)).requires_grad_(True)  # away from the kink at 0
    y = cuda_relu(x)
    y.backward(torch.arange(300.0))
    torch.testing.assert_close(y, torch.relu(x), rtol=0, atol=0)
    torch.testing.assert_close(x.grad, torch.where(x > 0, torch.arange(300.0), 0.0), rtol=0, atol=0)
    # the exact checks above cover two blocks; finite differences cost a launch per element and side, so
    # gradcheck and opcheck look at a slice with both signs
    small = x.detach()[:12].requires_grad_(True)
    assert (small > 0).any() and (small < 0).any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gradcheck warns about float32 inputs
        assert torch.autograd.gradcheck(ReLUFunction.apply, (small,), eps=1e-3, atol=1e-3, rtol=1e-3)
        assert torch.autograd.gradcheck(cuda_relu, (small,), eps=1e-3, atol=1e-3, rtol=1e-3)
    result = torch.library.opcheck(cuda_relu, (small,))
    assert set(result.values()) == {"SUCCESS"}, result


def test_device_ptr_refuses_host_memory():
    import torch

    from book.cuda import device_ptr

    with pytest.raises(TypeError, match="host memory is not device memory"):
        device_ptr(np.arange(4, dtype=np.float32))
    with pytest.raises(TypeError, match="driver.In/Out/InOut"):
        device_ptr(torch.arange(4.0))


def test_backend_object_can_be_chosen_again():
    b = book.cuda.load()
    assert (b.name, b.driver, b.SourceModule) == ("emulator", drv, SourceModule)
    assert b.module("elementwise") is b.module("elementwise")  # one cache
    book.cuda.reset()
    b2 = book.cuda.load("emulator")
    assert b2 is not b and b2.module("elementwise") is not b.module("elementwise")
    with pytest.raises(ValueError, match="unknown CUDA backend"):
        book.cuda.load("opencl")


SHFL = r"""
extern "C" __global__ void butterfly(const float* x, float* out, int n) {
    float v = x[threadIdx.x];
    for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);  // every lane gets the sum
    float first = __shfl_sync(0xffffffffu, x[threadIdx.x], 0);                  // broadcast lane 0
    float up = __shfl_up_sync(0xffffffffu, x[threadIdx.x], 1);                  // lane 0 keeps its own
    out[3 * threadIdx.x] = v; out[3 * threadIdx.x + 1] = first; out[3 * threadIdx.x + 2] = up;
}
"""


def test_warp_shuffles_per_warp():
    f = SourceModule(SHFL, no_extern_c=True).get_function("butterfly")
    x = np.arange(64, dtype=np.float32)
    out = np.zeros(3 * 64, np.float32)
    f(drv.In(x), drv.Out(out), np.int32(64), block=(64, 1, 1))
    out = out.reshape(64, 3)
    for w in range(2):
        lanes = slice(32 * w, 32 * w + 32)
        np.testing.assert_array_equal(out[lanes, 0], x[lanes].sum())
        np.testing.assert_array_equal(out[lanes, 1], x[32 * w])
        np.testing.assert_array_equal(out[lanes, 2], np.r_[x[32 * w], x[32 * w : 32 * w + 31]])


def test_parse_resource_usage_text():
    text = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'transpose_tiled' for 'sm_90'
ptxas info    : Function properties for transpose_tiled
    0 bytes stack frame, 4 bytes spill stores, 8 bytes spill loads
ptxas info    : Used 26 registers, used 1 barriers, 4224 bytes smem, 384 bytes cmem[0]
ptxas info    : Compiling entry function 'vec_add' for 'sm_90'
ptxas info    : Function properties for vec_add
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, 380 bytes cmem[0]
"""
    assert nvcc.parse_resource_usage(text) == [
        {
            "kernel": "transpose_tiled",
            "arch": "sm_90",
            "registers": 26,
            "smem_bytes": 4224,
            "stack_bytes": 0,
            "spill_bytes": 12,
        },
        {
            "kernel": "vec_add",
            "arch": "sm_90",
            "registers": 12,
            "smem_bytes": 0,
            "stack_bytes": 0,
            "spill_bytes": 0,
        },
    ]


def test_compile_error_is_reported():
    with pytest.raises(emulator.CompileError, match="undeclared|not declared"):
        SourceModule('extern "C" __global__ void k(float* x) { x[0] = undefined_name; }', no_extern_c=True)


def test_finished_launch_children_are_collected():
    """A launch returns when its child reports; the child exits afterwards and a later launch collects it."""
    import time

    from book.cuda import emu_launch

    f = SourceModule("__global__ void twice(float* x) { x[threadIdx.x] *= 2; }").get_function("twice")
    x = np.ones(32, np.float32)
    for _ in range(20):
        f(drv.InOut(x), block=(32, 1, 1))
    np.testing.assert_array_equal(x, 2.0**20)
    deadline = time.monotonic() + 30
    while len(emu_launch._UNREAPED) > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        emu_launch._reap()
    assert emu_launch._UNREAPED == []  # no zombie processes pile up in a long session
