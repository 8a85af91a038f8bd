"""minifw's CUDA backend (chapter 05b): every backend operation against the NumPy backend, and one
training step of a small conv net against PyTorch (forward, loss, every gradient, the update).

The kernels run through ``book.cuda``: PyCUDA on a GPU, the CPU emulator elsewhere (each launch forks a
process, so the sizes are tiny and the launches few).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import book.minifw as mf
from book.minifw import functional as F
from book.minifw import nn, optim
from book.minifw.ndarray import NDArray

CPU, GPU = mf.cpu(), mf.cuda()
RNG = np.random.default_rng(1)


def both(a):
    return NDArray.from_numpy(a, CPU), NDArray.from_numpy(a, GPU)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def same(fn, *arrays, atol=1e-5):
    pairs = [both(a) for a in arrays]
    ref = fn(*(c for c, _ in pairs)).numpy()
    got = fn(*(g for _, g in pairs)).numpy()
    assert got.shape == ref.shape
    np.testing.assert_allclose(got, ref, atol=atol, rtol=1e-5)


def test_views_compact_and_setitem():
    same(lambda x: x.permute(2, 0, 1)[:, ::2, 1:].compact(), rand(3, 5, 4))
    same(lambda x: x.broadcast_to((2, 3, 4)).compact(), rand(3, 1))
    same(lambda x: x[::-1, ::3].compact(), rand(4, 7))

    def put(z):
        z = z.reshape(4, 5) * 0.0
        z[1:4:2, ::2] = NDArray.full((2, 3), 2.5, z.device)
        return z

    same(put, rand(20))


def test_elementwise_and_scalar_kernels():
    a, b = rand(37), np.abs(rand(37)) + 0.5
    same(lambda x, y: x + y, a, b)  # vec_add of chapter 03
    same(lambda x, y: x * y - x / y, a, b)
    same(lambda x, y: (x == y) + (x == 0.0), np.round(a), np.round(b))
    same(lambda y: (y**1.5).log() + (y * 0.5).exp(), b)
    same(lambda x, y: x.relu() + x.relu_backward(y), a, b)  # relu_fwd / relu_bwd


def test_matmul_reductions_softmax_col2im():
    same(lambda x, y: x @ y, rand(19, 5), rand(5, 17))  # not multiples of the 16x16 tile
    same(lambda x: x.sum(1) + x.max(1) + x.sum(0).sum().broadcast_to((3,)), rand(3, 150))
    same(lambda x: x.softmax(), rand(4, 10) * 10)
    same(lambda c: c.col2im((2, 3, 5, 5), 3, 2, 1, 3, 3), rand(2 * 9, 3 * 9))


def test_a_training_step_on_the_cuda_backend_matches_torch():
    torch.manual_seed(0)
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2, 2),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 2 * 2, 3),
    )
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(8, 3)
    )
    net.load_state_dict(_layer_names(ref))
    net.to(GPU)
    assert all(p.device is GPU for p in net.parameters())
    x, y = rand(2, 1, 4, 4), np.array([2, 0])
    opt = optim.SGD(net.parameters(), lr=0.1)
    logits = net(mf.Tensor(x, GPU))
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = [p.grad.numpy() for p in net.parameters()]
    opt.step()
    ref_logits = ref(torch.tensor(x))
    ref_loss = torch.nn.functional.cross_entropy(ref_logits, torch.tensor(y))
    ref_loss.backward()
    np.testing.assert_allclose(logits.numpy(), ref_logits.detach().numpy(), atol=1e-5)
    assert loss.item() == pytest.approx(ref_loss.item(), abs=1e-5)
    with torch.no_grad():
        for g, p, q in zip(grads, net.parameters(), ref.parameters(), strict=True):
            np.testing.assert_allclose(g, q.grad.numpy(), atol=1e-5)
            np.testing.assert_allclose(p.numpy(), (q - 0.1 * q.grad).numpy(), atol=1e-6)


def _layer_names(ref):
    """PyTorch's Sequential names parameters ``0.weight``; ours are ``layers.0.weight``."""
    return {f"layers.{k}": v for k, v in ref.state_dict().items()}
