"""NDArray: shape, strides and offset over a flat buffer of float32 (chapter 05b).

The rules of chapter 01b: element ``(i0, i1, ...)`` lives at ``offset + sum(i_k * strides[k])`` of the
buffer (strides counted in elements). ``permute``, ``broadcast_to``, slicing and ``as_strided`` only
compute new strides and share the buffer; ``compact()`` copies into a fresh, row-major buffer when an
operation needs one. Every computation is a call to the *device* (a backend module, see
``backend_numpy.py`` and ``backend_cuda.py``): NDArray itself never touches the numbers.
"""

from __future__ import annotations

import math

import numpy as np


def compact_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major strides (in elements) of ``shape`` (chapter 05b)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


class NDArray:
    """An n-dimensional view (shape, strides, offset) of a device buffer (chapter 05b)."""

    def __init__(self, handle, shape, strides, offset, device):
        self.handle, self.device = handle, device
        self.shape, self.strides, self.offset = (
            tuple(shape),
            tuple(strides),
            int(offset),
        )

    # --- creation ---------------------------------------------------------------------
    @staticmethod
    def empty(shape, device) -> NDArray:
        """A new compact array with an uninitialised buffer (chapter 05b)."""
        shape = tuple(int(n) for n in shape)
        return NDArray(
            device.alloc(math.prod(shape)), shape, compact_strides(shape), 0, device
        )

    @staticmethod
    def full(shape, value: float, device) -> NDArray:
        """A new compact array filled with ``value`` (chapter 05b)."""
        out = NDArray.empty(shape, device)
        device.fill(out.handle, out.size, float(value))
        return out

    @staticmethod
    def from_numpy(a, device) -> NDArray:
        """Copy a NumPy array to the device (chapter 05b)."""
        a = np.ascontiguousarray(a, dtype=np.float32)
        return NDArray(
            device.from_numpy(a.reshape(-1)),
            a.shape,
            compact_strides(a.shape),
            0,
            device,
        )

    def numpy(self) -> np.ndarray:
        """Copy to a NumPy array (chapter 05b)."""
        c = self.compact()
        return self.device.to_numpy(c.handle, c.size).reshape(self.shape)

    size = property(lambda self: math.prod(self.shape))
    ndim = property(lambda self: len(self.shape))

    def __repr__(self) -> str:
        return f"NDArray({self.numpy()!r}, device={self.device.name})"

    # --- views: new shape/strides/offset, same buffer ---------------------------------
    def as_strided(self, shape, strides, offset=None) -> NDArray:
        """The same buffer seen with other shape and strides (chapter 05b)."""
        offset = self.offset if offset is None else offset
        return NDArray(self.handle, shape, strides, offset, self.device)

    def is_compact(self) -> bool:
        """True when the view is row-major over one block of the buffer (chapter 05b)."""
        return self.strides == compact_strides(self.shape) and self.offset == 0

    def compact(self) -> NDArray:
        """Self if compact, else a row-major copy: the one gather every other view relies on (ch. 05b)."""
        if self.is_compact():
            return self
        out = NDArray.empty(self.shape, self.device)
        self.device.compact(
            self.handle, out.handle, self.shape, self.strides, self.offset
        )
        return out

    def reshape(self, *shape) -> NDArray:
        """A view with another shape; copies first only when the view is not compact (chapter 05b)."""
        shape = (
            shape[0]
            if len(shape) == 1 and isinstance(shape[0], tuple | list)
            else shape
        )
        if -1 in shape:
            known = math.prod(n for n in shape if n != -1)
            shape = tuple(self.size // known if n == -1 else n for n in shape)
        if math.prod(shape) != self.size:
            raise ValueError(f"cannot reshape {self.shape} into {tuple(shape)}")
        return self.compact().as_strided(shape, compact_strides(shape))

    def permute(self, *axes) -> NDArray:
        """Reorder the axes: only the strides move (chapter 05b)."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        shape = tuple(self.shape[a] for a in axes)
        return self.as_strided(shape, tuple(self.strides[a] for a in axes))

    def broadcast_to(self, shape) -> NDArray:
        """Broadcast: a size-1 axis gets stride 0, new leading axes too (chapter 05b)."""
        shape = tuple(shape)
        lead = len(shape) - self.ndim
        strides = [0] * lead
        for n, old, s in zip(shape[lead:], self.shape, self.strides, strict=True):
            if old not in (1, n):
                raise ValueError(f"cannot broadcast {self.shape} to {shape}")
            strides.append(s if old == n else 0)
        return self.as_strided(shape, tuple(strides))

    def __getitem__(self, idx) -> NDArray:
        """Basic slicing ``a[1:5:2, :, 3]``: a view (an integer keeps its axis, as size 1) (ch. 05b)."""
        idx = idx if isinstance(idx, tuple) else (idx,)
        idx = idx + (slice(None),) * (self.ndim - len(idx))
        shape, strides, offset = [], [], self.offset
        for i, n, s in zip(idx, self.shape, self.strides, strict=True):
            if isinstance(i, int):
                i = slice(i % n, i % n + 1)
            start, stop, step = i.indices(n)
            shape.append(len(range(start, stop, step)))
            strides.append(s * step)
            offset += start * s
        return self.as_strided(tuple(shape), tuple(strides), offset)

    def __setitem__(self, idx, value: NDArray) -> None:
        """Write ``value`` into the view ``self[idx]`` (a scatter, the inverse of compact) (ch. 05b)."""
        view = self[idx]
        value = value.broadcast_to(view.shape).compact()
        self.device.setitem(
            value.handle, view.handle, view.shape, view.strides, view.offset
        )

    # --- element-wise operations: compact inputs, one device call ---------------------
    def _ewise(self, other, name: str) -> NDArray:
        out = NDArray.empty(self.shape, self.device)
        a = self.compact()
        if isinstance(other, NDArray):
            if other.shape != self.shape:
                raise ValueError(
                    f"{name}: shapes {self.shape} and {other.shape} differ"
                )
            getattr(self.device, f"ewise_{name}")(
                a.handle, other.compact().handle, out.handle, a.size
            )
        else:
            getattr(self.device, f"scalar_{name}")(
                a.handle, float(other), out.handle, a.size
            )
        return out

    def _unary(self, name: str, *args) -> NDArray:
        out = NDArray.empty(self.shape, self.device)
        a = self.compact()
        getattr(self.device, name)(
            a.handle, *[x.compact().handle for x in args], out.handle, a.size
        )
        return out

    def __add__(self, other):
        return self._ewise(other, "add")

    def __mul__(self, other):
        return self._ewise(other, "mul")

    def __truediv__(self, other):
        return (
            self._ewise(other, "div")
            if isinstance(other, NDArray)
            else self * (1.0 / other)
        )

    def __sub__(self, other):
        return self + (-other if not isinstance(other, NDArray) else other * -1.0)

    def __neg__(self):
        return self * -1.0

    def __pow__(self, k: float):
        return self._ewise(k, "pow")

    def __eq__(self, other):  # 1.0 where equal, else 0.0
        return self._ewise(other, "eq")

    __radd__, __rmul__ = __add__, __mul__

    def exp(self) -> NDArray:
        return self._unary("exp")

    def log(self) -> NDArray:
        return self._unary("log")

    def relu(self) -> NDArray:
        return self._unary("relu")

    def relu_backward(self, grad: NDArray) -> NDArray:
        """``grad`` where self > 0, else 0 (self is ReLU's input) (chapter 05b)."""
        return self._unary("relu_backward", grad)

    # --- matmul, reductions, softmax --------------------------------------------------
    def __matmul__(self, other: NDArray) -> NDArray:
        (m, k), (k2, n) = self.shape, other.shape
        if k != k2:
            raise ValueError(f"matmul: {self.shape} @ {other.shape}")
        out = NDArray.empty((m, n), self.device)
        a, b = self.compact(), other.compact()
        self.device.matmul(a.handle, b.handle, out.handle, m, n, k)
        return out

    def _reduce(self, axis, keepdims: bool, name: str) -> NDArray:
        axes = tuple(range(self.ndim)) if axis is None else (axis % self.ndim,)
        keep = [a for a in range(self.ndim) if a not in axes]
        view = self.permute(keep + list(axes))  # the reduced axes last, then compact
        rows = math.prod(self.shape[a] for a in keep)
        out = NDArray.empty((rows,), self.device)
        a = view.compact()
        getattr(self.device, f"reduce_{name}")(
            a.handle, out.handle, rows, a.size // max(rows, 1)
        )
        if keepdims:
            return out.reshape(
                tuple(1 if i in axes else n for i, n in enumerate(self.shape))
            )
        return out.reshape(tuple(self.shape[a] for a in keep))

    def sum(self, axis: int | None = None, keepdims: bool = False) -> NDArray:
        return self._reduce(axis, keepdims, "sum")

    def max(self, axis: int | None = None, keepdims: bool = False) -> NDArray:
        return self._reduce(axis, keepdims, "max")

    def col2im(
        self, shape, k: int, stride: int, padding: int, h_out: int, w_out: int
    ) -> NDArray:
        """The backward of im2col: add each window entry back to its pixel of ``shape`` (ch. 05b)."""
        out = NDArray.empty(shape, self.device)
        args = (*shape, k, stride, padding, h_out, w_out)
        self.device.col2im(self.compact().handle, out.handle, *args)
        return out

    def softmax(self) -> NDArray:
        """Row-wise softmax of a 2-d array (chapter 05b)."""
        out = NDArray.empty(self.shape, self.device)
        self.device.softmax(self.compact().handle, out.handle, *self.shape)
        return out
