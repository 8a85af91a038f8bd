"""minifw (chapter 05b) on the NumPy backend: NDArray views against NumPy, every op and gradient
against PyTorch, the optimisers, the schedule, the loader, and one LeNet step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import book.minifw as mf
from book import models
from book.minifw import functional as F
from book.minifw import nn, optim
from book.minifw.ndarray import NDArray

CPU = mf.cpu()
RNG = np.random.default_rng(0)

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# --- NDArray: views without copies ------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(shapes, st.randoms(use_true_random=False))
def test_permute_and_reshape_match_numpy(shape, r):
    a = rand(*shape)
    x = NDArray.from_numpy(a, CPU)
    axes = list(range(len(shape)))
    r.shuffle(axes)
    view = x.permute(axes)
    assert view.handle is x.handle  # a view: same buffer
    np.testing.assert_array_equal(view.numpy(), a.transpose(axes))
    assert view.strides == tuple(s // 4 for s in a.transpose(axes).strides)
    if axes == sorted(axes):
        assert view.is_compact()
    if view.is_compact():  # ours is stricter: size-1 axes keep their strides
        assert a.transpose(axes).flags.c_contiguous
    np.testing.assert_array_equal(view.reshape(-1).numpy(), a.transpose(axes).reshape(-1))


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_slicing_matches_numpy(shape, data):
    a = rand(*shape)
    idx = tuple(
        slice(
            data.draw(st.none() | st.integers(-n, n)),
            data.draw(st.none() | st.integers(-n, n)),
            data.draw(st.sampled_from([None, 1, 2, -1, -2])),
        )
        for n in shape
    )
    view = NDArray.from_numpy(a, CPU)[idx]
    assert view.shape == a[idx].shape
    np.testing.assert_array_equal(view.numpy(), a[idx])


def test_broadcast_is_stride_zero_and_setitem_writes_through():
    a = rand(3, 1)
    x = NDArray.from_numpy(a, CPU).broadcast_to((2, 3, 4))
    assert x.strides == (0, 1, 0)
    np.testing.assert_array_equal(x.numpy(), np.broadcast_to(a, (2, 3, 4)))
    with pytest.raises(ValueError):
        NDArray.from_numpy(rand(3, 2), CPU).broadcast_to((3, 4))
    z = NDArray.full((4, 5), 0.0, CPU)
    z[1:4:2, ::2] = NDArray.from_numpy(np.ones((2, 3), np.float32), CPU)
    ref = np.zeros((4, 5), np.float32)
    ref[1:4:2, ::2] = 1
    np.testing.assert_array_equal(z.numpy(), ref)


# --- every Function against PyTorch's autograd ------------------------------------------------
def check(fn_ours, fn_torch, *arrays, atol=1e-5):
    """Forward and every input gradient of ``fn`` (a random upstream gradient) match PyTorch."""
    ours = [mf.Tensor(a, requires_grad=True) for a in arrays]
    refs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn_ours(*ours), fn_torch(*refs)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=atol, rtol=1e-5)
    g = rand(*ref.shape)
    out.backward(NDArray.from_numpy(g, CPU))
    ref.backward(torch.tensor(g))
    for t, r in zip(ours, refs, strict=True):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), atol=atol, rtol=1e-4)


@settings(max_examples=25, deadline=None)
@given(shapes, st.integers(0, 3))
def test_broadcasting_add_mul_sub_match_torch(shape, cut):
    other = shape[min(cut, len(shape) - 1) :]  # a trailing part broadcasts
    other = tuple(1 if i % 2 else n for i, n in enumerate(other))
    a, b = rand(*shape), rand(*other)
    check(lambda x, y: x + y, lambda x, y: x + y, a, b)
    check(lambda x, y: x * y - y, lambda x, y: x * y - y, a, b)


@pytest.mark.parametrize(
    "ours, ref, positive",
    [
        (lambda x: x * 3.0 + 1.5, lambda x: x * 3.0 + 1.5, False),
        (lambda x: x / 4.0, lambda x: x / 4.0, False),
        (lambda x: -x, lambda x: -x, False),
        (lambda x: x**3, lambda x: x**3, False),
        (lambda x: x**0.5, lambda x: x**0.5, True),
        (lambda x: x.exp(), torch.exp, False),
        (lambda x: x.log(), torch.log, True),
        (lambda x: x.relu(), torch.relu, False),
        (lambda x: x.sum(), torch.sum, False),
        (lambda x: x.sum(1), lambda x: x.sum(1), False),
        (lambda x: x.sum(0), lambda x: x.sum(0), False),
        (lambda x: x.max(1), lambda x: x.amax(1), False),
        (lambda x: x.max(0), lambda x: x.amax(0), False),
        (lambda x: x.reshape(4, 3, 1), lambda x: x.reshape(4, 3, 1), False),
        (lambda x: x.T, lambda x: x.T, False),
        (lambda x: x.permute(1, 0).reshape(-1), lambda x: x.T.reshape(-1), False),
    ],
)
def test_unary_ops_match_torch(ours, ref, positive):
    a = rand(3, 4)
    check(ours, ref, np.abs(a) + 0.1 if positive else a)


def test_matmul_and_linear_match_torch():
    check(lambda a, b: a @ b, lambda a, b: a @ b, rand(5, 7), rand(7, 3))
    lin = nn.Linear(6, 4)
    ref = torch.nn.Linear(6, 4)
    lin.load_state_dict(ref.state_dict())
    check(lin, ref, rand(3, 6))
    w = lin.weight.grad.numpy()
    np.testing.assert_allclose(w, ref.weight.grad.numpy(), atol=1e-5)


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 2), (2, 1)])
def test_conv2d_matches_torch(stride, padding):
    x, w, b = rand(2, 3, 7, 7), rand(4, 3, 3, 3), rand(4)
    check(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding),
        x,
        w,
        b,
        atol=1e-4,
    )


def test_max_pool_flatten_and_cross_entropy_match_torch():
    check(lambda x: F.max_pool2d(x, 2), lambda x: torch.nn.functional.max_pool2d(x, 2), rand(2, 3, 4, 6))
    with pytest.raises(ValueError):
        F.max_pool2d(mf.Tensor(rand(1, 1, 5, 4)), 2)
    check(lambda x: F.flatten(x, 1), lambda x: torch.flatten(x, 1), rand(2, 3, 2))
    y = np.array([0, 3, 1, 3])
    logits = rand(4, 5) * 30  # large logits: log-sum-exp must stay finite
    check(
        lambda x: F.cross_entropy(x, y),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(y)),
        logits,
    )


def test_a_tensor_used_twice_gets_both_gradients_and_no_grad_records_nothing():
    check(lambda x: x * x + x, lambda x: x * x + x, rand(3))
    x = mf.Tensor(rand(3), requires_grad=True)
    with mf.no_grad():
        y = x * 2.0
    assert y.fn is None and not y.requires_grad


# --- optimisers, schedule, loader --------------------------------------------------------------
@pytest.mark.parametrize(
    "ours, ref",
    [
        (
            lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        ),
        (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    ],
)
def test_optimisers_match_torch(ours, ref):
    w0 = rand(3, 2)
    p, q = nn.Parameter(w0), torch.nn.Parameter(torch.tensor(w0))
    opt, opt_ref = ours([p]), ref([q])
    for _ in range(4):
        opt.zero_grad()
        ((p * p).sum() + p.sum()).backward()
        opt.step()
        opt_ref.zero_grad()
        ((q * q).sum() + q.sum()).backward()
        opt_ref.step()
    np.testing.assert_allclose(p.numpy(), q.detach().numpy(), atol=1e-6)


def test_one_cycle_matches_torch():
    opt = optim.Adam([nn.Parameter(rand(2))], lr=1.0)
    ref_opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=1.0)
    sched = optim.OneCycleLR(opt, 0.01, 50)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, 0.01, total_steps=50, cycle_momentum=False)
    for _ in range(49):
        assert opt.lr == pytest.approx(ref_opt.param_groups[0]["lr"], rel=1e-9, abs=1e-12)
        sched.step()
        ref_opt.step()
        ref.step()


def test_dataloader_batches_every_sample_once_in_a_new_order_each_epoch():
    x, y = rand(10, 1, 2, 2), np.arange(10)
    loader = mf.data.DataLoader(x, y, 4, shuffle=True, seed=0)
    assert len(loader) == 3
    epochs = [np.concatenate([b for _, b in loader]) for _ in range(2)]
    assert sorted(epochs[0]) == list(range(10)) and not np.array_equal(*epochs)
    xb, yb = next(iter(mf.data.DataLoader(x, y, 4)))
    np.testing.assert_array_equal(xb.numpy(), x[:4])


class LeNet(nn.Module):
    """Chapter 05's LeNet, written with minifw."""

    def __init__(self, in_channels=3, num_classes=10, padding=0):
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=padding)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = F.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def test_lenet_step_matches_torch():
    torch.manual_seed(0)
    ref = models.LeNet(in_channels=1, padding=2)
    net = LeNet(in_channels=1, padding=2)
    net.load_state_dict(ref.state_dict())
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in ref.named_parameters()]
    x, y = rand(4, 1, 28, 28), np.array([1, 7, 3, 7])
    loss = F.cross_entropy(net(mf.Tensor(x)), y)
    loss.backward()
    ref_loss = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    ref_loss.backward()
    assert loss.item() == pytest.approx(ref_loss.item(), abs=1e-5)
    for (name, p), q in zip(net.named_parameters(), ref.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-5, err_msg=name)
    state = net.state_dict()
    other = LeNet(in_channels=1, padding=2)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.fc3.weight.numpy(), state["fc3.weight"])
