"""Chapter 03b helpers: the C++ ReLU op (load_inline) against torch, gradcheck, errors, caching."""

import pytest
import torch

from book import kernels_practice as kp


@pytest.fixture(scope="module")
def ops():
    return kp.load_relu_ops()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_backward_match_torch(ops, dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 10_001, generator=g, dtype=dtype)
    gy = torch.randn(3, 10_001, generator=g, dtype=dtype)
    assert torch.equal(ops.relu_forward(x), torch.relu(x))
    assert torch.equal(ops.relu_backward(x, gy), gy * (x > 0))
    xt = x.t()  # non-contiguous input
    assert torch.equal(ops.relu_forward(xt), torch.relu(xt).contiguous())


def test_autograd_function_gradcheck():
    x = torch.randn(50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = (x + 0.1 * torch.sign(x)).requires_grad_(True)  # away from the kink at 0
    assert torch.autograd.gradcheck(kp.CppReLU.apply, (x,))
    y = kp.CppReLU.apply(x)
    y.sum().backward()
    assert torch.equal(x.grad, (x > 0).double())


def test_bad_inputs_give_clear_errors(ops):
    with pytest.raises(RuntimeError, match="relu_forward"):
        ops.relu_forward(torch.arange(5))  # integers are not dispatched
    with pytest.raises(RuntimeError, match="differ in shape"):
        ops.relu_backward(torch.ones(3), torch.ones(4))


def test_build_is_cached(ops):
    """A second process loads the library from the cache: the .so is not rebuilt."""
    import subprocess
    import sys
    from pathlib import Path

    (lib,) = Path(kp.build_dir()).glob("*.so")
    before = lib.stat().st_mtime_ns
    code = "from book import kernels_practice as kp; print(kp.load_relu_ops().relu_forward)"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert lib.stat().st_mtime_ns == before


def test_cuda_time_needs_gpu():
    if torch.cuda.is_available():
        assert kp.cuda_time_ms(lambda: torch.ones(10, device="cuda") * 2, iters=2) > 0
    else:
        with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
            kp.cuda_time_ms(lambda: None)
