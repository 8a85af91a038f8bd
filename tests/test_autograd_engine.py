"""The book's autodiff engines (book/autograd) against torch.autograd and finite differences."""

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from book.autograd import (
    MLP,
    SGD,
    GraphvizMissing,
    Tensor,
    Value,
    draw_graph,
    make_dot,
    numerical_grad,
    numerical_grads,
    rel_error,
    unbroadcast,
)

SETTINGS = settings(max_examples=60, derandomize=True, deadline=None)  # deterministic, a few seconds
SMALL = st.floats(-2, 2, allow_nan=False, allow_infinity=False)


# --- random expression graphs ---------------------------------------------------------------------
# A program is a list of (op, i, j): apply op to nodes i and j of the pool (indices wrap around) and
# append the result. Both engines run the same program; the output sums every node, so nodes are reused.
# Unsafe domains are avoided the same way on both sides: log(x*x + 1), division by (x*x + 1).
UNARY = ["neg", "relu", "tanh", "exp_tanh", "log_sq1", "pow2", "pow3", "sqrt_sq1"]
BINARY = ["add", "sub", "mul", "div_sq1", "radd", "rmul", "rsub", "rdiv_sq1"]
PROGRAM = st.lists(
    st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=8
)


def apply(op, a, b):
    if op == "neg":
        return -a  # noqa: E701
    if op == "relu":
        return a.relu()  # noqa: E701
    if op == "tanh":
        return a.tanh()  # noqa: E701
    if op == "exp_tanh":
        return a.tanh().exp()  # noqa: E701
    if op == "log_sq1":
        return (a * a + 1).log()  # noqa: E701
    if op == "pow2":
        return a**2  # noqa: E701
    if op == "pow3":
        return a**3  # noqa: E701
    if op == "sqrt_sq1":
        return (a * a + 1) ** 0.5  # noqa: E701
    if op == "add":
        return a + b  # noqa: E701
    if op == "sub":
        return a - b  # noqa: E701
    if op == "mul":
        return a * b  # noqa: E701
    if op == "div_sq1":
        return a / (b * b + 1)  # noqa: E701
    if op == "radd":
        return 1.5 + a  # noqa: E701
    if op == "rmul":
        return 0.5 * a  # noqa: E701
    if op == "rsub":
        return 2.0 - a  # noqa: E701
    if op == "rdiv_sq1":
        return 1.0 / (a * a + 1)  # noqa: E701
    raise AssertionError(op)


def run_program(program, leaves):
    pool = list(leaves)
    for op, i, j in program:
        pool.append(apply(op, pool[i % len(pool)], pool[j % len(pool)]))
    return pool


@SETTINGS
@given(xs=st.lists(SMALL, min_size=1, max_size=3), program=PROGRAM)
def test_scalar_engine_matches_torch_on_random_graphs(xs, program):
    vs = [Value(x) for x in xs]
    out_v = sum(run_program(program, vs)[len(xs) :], Value(0.0))
    out_v.backward()

    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]  # torch scalars read the same
    out_t = sum(run_program(program, ts)[len(xs) :], torch.tensor(0.0, dtype=torch.float64))
    grads = torch.autograd.grad(out_t, ts, allow_unused=True)

    assert out_v.data == pytest.approx(out_t.item(), rel=1e-9, abs=1e-9)
    for v, g in zip(vs, grads):
        assert v.grad == pytest.approx(0.0 if g is None else g.item(), rel=1e-7, abs=1e-9)


# Shapes that all broadcast to (3, 4); reductions keep results inside this family.
SHAPES = [(), (4,), (1, 4), (3, 1), (3, 4), (1, 1)]
TENSOR_OPS = (
    UNARY
    + BINARY
    + ["sum_all", "sum0", "sum_last_keep", "mean0", "mean_last_keep", "matmul", "reshape", "transpose2"]
)
TENSOR_PROGRAM = st.lists(
    st.tuples(st.sampled_from(TENSOR_OPS), st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=8
)


def apply_tensor(op, a, b, w):
    """Tensor ops on either engine (the names are torch's, except axis/keepdims vs dim/keepdim)."""
    is_torch = isinstance(a, torch.Tensor)
    kw = (
        (lambda axis, keep=False: {"dim": axis, "keepdim": keep})
        if is_torch
        else (lambda axis, keep=False: {"axis": axis, "keepdims": keep})
    )
    if op == "sum_all":
        return a.sum()  # noqa: E701
    if op == "sum0":
        return a.sum(**kw(0)) if a.ndim else a  # noqa: E701
    if op == "sum_last_keep":
        return a.sum(**kw(-1, True)) if a.ndim else a  # noqa: E701
    if op == "mean0":
        return a.mean(**kw(0)) if a.ndim else a  # noqa: E701
    if op == "mean_last_keep":
        return a.mean(**kw(-1, True)) if a.ndim else a  # noqa: E701
    if op == "matmul":
        return a @ w if a.ndim == 2 and a.shape[1] == 4 else a  # noqa: E701
    if op == "reshape":
        return a.reshape(-1).reshape(*a.shape)  # noqa: E701
    if op == "transpose2":
        return a.T.T if a.ndim == 2 else a  # noqa: E701
    return apply(op, a, b)


@SETTINGS
@given(
    shapes=st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3),
    program=TENSOR_PROGRAM,
    seed=st.integers(0, 2**16),
)
def test_tensor_engine_matches_torch_on_random_broadcasting_graphs(shapes, program, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-2, 2, s) for s in shapes]
    w_np = rng.uniform(-1, 1, (4, 4))

    mine = [Tensor(a, requires_grad=True) for a in arrays]
    w = Tensor(w_np, requires_grad=True)
    pool = list(mine)
    for op, i, j in program:
        pool.append(apply_tensor(op, pool[i % len(pool)], pool[j % len(pool)], w))
    out = sum((n.sum() for n in pool[len(mine) :]), Tensor(0.0))

    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    wt = torch.tensor(w_np, requires_grad=True)
    tpool = list(theirs)
    for op, i, j in program:
        tpool.append(apply_tensor(op, tpool[i % len(tpool)], tpool[j % len(tpool)], wt))
    out_t = sum((n.sum() for n in tpool[len(theirs) :]), torch.tensor(0.0, dtype=torch.float64))

    np.testing.assert_allclose(out.data, out_t.item(), rtol=1e-9, atol=1e-9)
    if not out.requires_grad:
        return
    out.backward()
    grads = torch.autograd.grad(out_t, theirs + [wt], allow_unused=True)
    for leaf, g in zip(mine + [w], grads):
        expected = np.zeros(leaf.shape) if g is None else g.numpy()
        got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
        assert got.shape == leaf.shape
        np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)


# --- finite differences ---------------------------------------------------------------------------
def test_numerical_grad_matches_a_known_derivative_and_restores_x():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    before = x.copy()
    g = numerical_grad(lambda a: float((np.sin(a) * a**2).sum()), x)
    np.testing.assert_allclose(
        g, np.cos(before) * before**2 + 2 * before * np.sin(before), rtol=1e-8, atol=1e-9
    )
    assert np.array_equal(x, before)  # every element is put back exactly


def test_numerical_grads_checks_a_dict_of_parameters_and_finds_a_wrong_gradient():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=(8, 1)).astype(float)
    params = {"w": rng.normal(size=(3, 1)), "b": np.zeros((1, 1))}

    def loss(p):
        z = X @ p["w"] + p["b"]
        return float(np.mean(np.logaddexp(0, z) - y * z))  # BCE with logits

    p_hat = 1 / (1 + np.exp(-(X @ params["w"] + params["b"])))
    analytic = {"w": X.T @ (p_hat - y) / len(X), "b": (p_hat - y).mean(keepdims=True)}
    num = numerical_grads(loss, params)
    assert set(num) == {"w", "b"}
    for k in params:
        assert rel_error(analytic[k], num[k]) < 1e-7
    wrong = analytic["w"] * np.array([[1.0], [1.0], [1.1]])  # one entry 10 % off
    assert rel_error(wrong, num["w"]) > 1e-3


def test_gradcheck_helpers_reject_bad_input_clearly():
    with pytest.raises(TypeError, match="float64"):
        numerical_grad(lambda a: 0.0, np.ones(3, dtype=np.float32))
    with pytest.raises(TypeError, match="float64"):
        numerical_grad(lambda a: 0.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.ones(3), np.ones(4))
    assert rel_error(np.zeros(2), np.zeros(2)) == 0.0


def test_tensor_engine_agrees_with_finite_differences():
    rng = np.random.default_rng(1)
    x0, w0, b0 = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(4,))
    y = np.array([0, 3, 1, 2, 3])

    def loss(x, w, b):
        h = (x @ w + b).tanh() * 2.0 - (x @ w).relu() / 3.0
        return (
            (h.exp() + 1)
            .log()
            .sum(axis=0, keepdims=True)
            .transpose()
            .reshape(1, 4)
            .cross_entropy(np.array([2]))
            + h.cross_entropy(y)
            + (h**2).mean()
        )

    x, w, b = (Tensor(a, requires_grad=True) for a in (x0, w0, b0))
    loss(x, w, b).backward()
    checks = [
        (x, lambda a: loss(Tensor(a), Tensor(w0), Tensor(b0)).item(), x0),
        (w, lambda a: loss(Tensor(x0), Tensor(a), Tensor(b0)).item(), w0),
        (b, lambda a: loss(Tensor(x0), Tensor(w0), Tensor(a)).item(), b0),
    ]
    for leaf, f, a in checks:
        np.testing.assert_allclose(leaf.grad, numerical_grad(f, a), rtol=1e-5, atol=1e-7)


def test_scalar_engine_agrees_with_finite_differences():
    def f(a, b):
        c = a * b + b**3 - a / (b * b + 1)
        return (c.tanh() + (a * a + 1).log() + (-a).exp()).relu()

    a, b = Value(0.7), Value(-1.3)
    f(a, b).backward()
    eps = 1e-6
    da = (f(Value(0.7 + eps), b).data - f(Value(0.7 - eps), b).data) / (2 * eps)
    db = (f(a, Value(-1.3 + eps)).data - f(a, Value(-1.3 - eps)).data) / (2 * eps)
    assert a.grad == pytest.approx(da, rel=1e-6) and b.grad == pytest.approx(db, rel=1e-6)


# --- broadcasting, accumulation, the loss ---------------------------------------------------------
@pytest.mark.parametrize(
    "shape_a, shape_b", [((3, 4), (4,)), ((3, 4), (3, 1)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((1, 1), (5,))]
)
def test_broadcast_gradients_are_summed_back(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a0, b0 = rng.normal(size=shape_a), rng.normal(size=shape_b)
    a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    (a * b + a / (b * b + 1)).sum().backward()
    at, bt = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    (at * bt + at / (bt * bt + 1)).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad, bt.grad.numpy(), rtol=1e-12)


def test_unbroadcast():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (4,)).tolist() == [6.0] * 4
    assert unbroadcast(g, (3, 1)).shape == (3, 1) and unbroadcast(g, (3, 1))[0, 0] == 8
    assert unbroadcast(g, ()).item() == 24


def test_reused_node_accumulates_gradient():
    x = Value(3.0)
    y = x * x + x  # x is used three times: dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0
    t = Tensor([1.0, -2.0], requires_grad=True)
    h = t * 2
    (h * h + h).sum().backward()  # d/dt (4t^2 + 2t) = 8t + 2
    assert t.grad.tolist() == [10.0, -14.0]


def test_leaves_accumulate_across_backward_calls_like_pytorch():
    x = Value(2.0)
    y = (x * x).tanh()
    y.backward()
    first = x.grad
    y.backward()  # intermediate grads restart from zero; the leaf accumulates
    assert x.grad == pytest.approx(2 * first)
    t = Tensor([1.0, 2.0], requires_grad=True)
    out = (t * t).sum()
    out.backward()
    out.backward()
    assert t.grad.tolist() == [4.0, 8.0]


def test_backward_with_a_vector_is_a_vjp():
    rng = np.random.default_rng(2)
    x0, v = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    x = Tensor(x0, requires_grad=True)
    x.tanh().backward(v)
    xt = torch.tensor(x0, requires_grad=True)
    torch.tanh(xt).backward(torch.tensor(v))
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)


def test_cross_entropy_matches_torch_and_is_stable():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(6, 4)) * np.array(
        [1, 10, 100, 1000]
    )  # exp(1000) overflows without the max trick
    y = np.array([0, 1, 2, 3, 3, 1])
    z = Tensor(logits, requires_grad=True)
    loss = z.cross_entropy(y)
    loss.backward()
    zt = torch.tensor(logits, requires_grad=True)
    lt = F.cross_entropy(zt, torch.tensor(y))
    lt.backward()
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(z.grad, zt.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_mlp_and_sgd_track_pytorch():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    mlp = MLP([2, 8, 3], activation="tanh").copy_from_torch(net)
    X = torch.randn(20, 2, dtype=torch.float64)
    y = torch.randint(0, 3, (20,))
    opt_t = torch.optim.SGD(net.parameters(), lr=0.5, weight_decay=1e-3)
    opt = SGD(mlp.parameters(), lr=0.5, weight_decay=1e-3)
    for _ in range(20):
        opt_t.zero_grad()
        lt = F.cross_entropy(net(X), y)
        lt.backward()
        opt_t.step()
        opt.zero_grad()
        loss = mlp(X.numpy()).cross_entropy(y.numpy())
        loss.backward()
        opt.step()
        assert loss.item() == pytest.approx(lt.item(), rel=1e-10)
    for mine, theirs in zip(mlp.parameters(), net.parameters()):
        np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=1e-9, atol=1e-12)


# --- second order and errors ----------------------------------------------------------------------
def test_second_order_is_not_supported_and_says_so():
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        (Value(1.0) * 2).backward(create_graph=True)
    with pytest.raises(NotImplementedError, match="create_graph=True"):
        (Tensor([1.0], requires_grad=True) * 2).sum().backward(create_graph=True)


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (lambda: Value(1.0) + "a", TypeError, "Python numbers"),
        (lambda: Value(1.0) ** Value(2.0), TypeError, "exponent"),
        (lambda: Value(-1.0).log(), ValueError, "positive"),
        (lambda: Tensor([1.0]) + torch.ones(1), TypeError, "NumPy arrays"),
        (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones((2, 4))), ValueError, r"\(2, 3\) and \(2, 4\)"),
        (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3))), ValueError, "inner dimensions 3 and 2"),
        (lambda: Tensor(np.ones(3)) @ Tensor(np.ones((3, 2))), ValueError, "2-D"),
        (lambda: Tensor([1.0]) ** Tensor([2.0]), TypeError, "exponent"),
        (lambda: Tensor([0.0, 1.0]).log(), ValueError, "positive"),
        (lambda: np.exp(Tensor([1.0])), TypeError, "ufunc"),
        (
            lambda: Tensor(np.ones((2, 3))).cross_entropy(np.array([0.5, 1.0])),
            ValueError,
            "integer class ids",
        ),
        (lambda: Tensor(np.ones((2, 3))).cross_entropy(np.array([0, 3])), ValueError, r"\[0, 3\)"),
        (lambda: Tensor(np.ones(3), requires_grad=True).backward(), ValueError, r"\.sum\(\)"),
        (lambda: Tensor(np.ones(3)).sum().backward(), ValueError, "requires_grad"),
        (lambda: Tensor(np.ones(3), requires_grad=True).backward(np.ones(2)), ValueError, "grad has shape"),
        (lambda: MLP([2, 3], activation="sigmoid"), ValueError, "activation"),
    ],
)
def test_clear_errors(bad, exc, match):
    with pytest.raises(exc, match=match):
        bad()


def test_mlp_copy_from_torch_checks_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        MLP([2, 3]).copy_from_torch(torch.nn.Linear(3, 2))


# --- pictures -------------------------------------------------------------------------------------
def test_draw_graph_is_deterministic_and_styled_like_torchviz():
    def build():
        a, b = Value(2.0, label="a"), Value(-3.0, label="b")
        c = (a * b + a).tanh()
        c.backward()
        return draw_graph(c)

    g1, g2 = build(), build()
    assert g1.source == g2.source
    assert "fillcolor=lightblue" in g1.source and "darkolivegreen1" in g1.source
    assert "MulBackward" in g1.source and "TanhBackward" in g1.source
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    src = draw_graph((x * 2).relu().sum(), params={"x": x}).source
    assert '"x\n (2, 3)"' in src and "ReluBackward" in src


def test_make_dot_has_no_run_dependent_ids():
    x = torch.ones(2, 3, requires_grad=True)
    src = make_dot((x * 2).sum(), params={"x": x}).source
    assert not re.search(r"\d{6,}", src)
    assert "AccumulateGrad" in src and "MulBackward0" in src


def test_missing_dot_gives_a_message(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    g = draw_graph(Value(1.0) * 2)
    assert isinstance(g, GraphvizMissing)
    assert "apt-get install graphviz" in repr(g) and "digraph" in g.source


def test_math_helpers_are_exact_where_they_should_be():
    assert Value(2.0).exp().data == math.exp(2.0)
    assert (Value(6.0) / 3).data == pytest.approx(2.0)
    assert (2 - Value(5.0)).data == -3.0 and (1 / Value(4.0)).data == 0.25
