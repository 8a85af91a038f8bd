"""``pycuda.gpuarray`` for the CPU emulator (chapter 03): a ``GPUArray`` in emulated device memory.

Enough of PyCUDA's ``gpuarray`` for its tutorial and examples: ``to_gpu``, ``empty``, ``zeros``, ``*_like``,
``arange``, ``GPUArray`` with ``get``/``set``/``gpudata``/``fill``/``copy``/``astype``/``reshape``, elementwise
arithmetic with arrays and scalars, comparisons, ``sum``/``dot``/``max``/``min``. Arithmetic runs on the
host (NumPy) over the device bytes: results match PyCUDA's, timings mean nothing.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from . import emulator as _emu


class GPUArray:
    """An n-dimensional array in (emulated) device memory, like ``pycuda.gpuarray.GPUArray`` (chapter 03)."""

    def __init__(self, shape: Any, dtype: Any = np.float32, allocator: Any = None, gpudata: Any = None,
                 strides: Any = None, order: str = "C"):  # fmt: skip
        self.shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.nbytes = self.size * self.dtype.itemsize
        self.order = order
        if gpudata is None:
            alloc = allocator or _emu.mem_alloc
            gpudata = alloc(self.nbytes or 1)
        self.gpudata = gpudata
        self.strides = (
            tuple(strides) if strides is not None else _c_strides(self.shape, self.dtype.itemsize, order)
        )

    # --- launch helpers (PyCUDA's attributes for its generated kernels)
    @property
    def mem_size(self) -> int:
        """Number of elements (PyCUDA's name; the ``n`` of its elementwise kernels)."""
        return self.size

    @property
    def _grid(self) -> tuple[int, int]:
        return splay(self.size)[0]

    @property
    def _block(self) -> tuple[int, int, int]:
        return splay(self.size)[1]

    def bind_to_texref_ext(self, texref: Any, channels: int = 1, allow_double_hack: bool = False,
                           allow_complex_hack: bool = False, allow_offset: bool = False) -> int:  # fmt: skip
        """Bind the array to a texture reference (``tex1Dfetch`` reads it); returns the offset, 0."""
        texref.set_address(self.gpudata, self.nbytes, allow_offset=allow_offset)
        return 0

    def bind_to_texref(self, texref: Any, allow_offset: bool = False) -> int:
        """Bind the array to a texture reference; returns the offset, 0."""
        return texref.set_address(self.gpudata, self.nbytes, allow_offset=allow_offset)

    # --- host <-> device
    @property
    def ptr(self) -> int:
        """The device address (an int), as ``GPUArray.ptr``."""
        return int(self.gpudata)

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def get(self, ary: np.ndarray | None = None, pagelocked: bool = False, async_: bool = False,
            stream: Any = None) -> np.ndarray:  # fmt: skip
        """Copy to the host: a new ndarray, or into ``ary``."""
        out = np.empty(self.shape, self.dtype, order=self.order) if ary is None else ary
        if self.nbytes:
            _emu.memcpy_dtoh(out, self.gpudata)
        return out

    def get_async(self, stream: Any = None, ary: np.ndarray | None = None) -> np.ndarray:
        """``get`` (the emulator is synchronous)."""
        return self.get(ary)

    def set(self, ary: Any, async_: bool = False, stream: Any = None) -> None:
        """Copy ``ary`` (same size) from the host."""
        ary = np.asarray(ary)
        if ary.size != self.size:
            raise ValueError("ary and self must be the same size")
        if self.nbytes:
            _emu.memcpy_htod(self.gpudata, np.ascontiguousarray(ary, dtype=self.dtype))

    def set_async(self, ary: Any, stream: Any = None) -> None:
        """``set`` (the emulator is synchronous)."""
        self.set(ary)

    def _host(self) -> np.ndarray:
        return self.get()

    # --- construction helpers
    def _new_like(self, host: np.ndarray) -> GPUArray:
        return to_gpu(np.ascontiguousarray(host))

    def copy(self) -> GPUArray:
        """A new array with the same contents."""
        return self._new_like(self.get())

    def fill(self, value: Any, stream: Any = None) -> GPUArray:
        """Set every element to ``value``; returns self."""
        self.set(np.full(self.shape, value, self.dtype))
        return self

    def astype(self, dtype: Any, stream: Any = None) -> GPUArray:
        """A copy converted to ``dtype``."""
        return self._new_like(self.get().astype(dtype))

    def reshape(self, *shape: Any, order: str = "C") -> GPUArray:
        """The same device memory with another shape."""
        if len(shape) == 1 and not np.isscalar(shape[0]):
            shape = tuple(shape[0])
        host_shape = np.empty(self.size, np.int8).reshape(shape).shape  # resolves -1, checks the size
        return GPUArray(host_shape, self.dtype, gpudata=self.gpudata)

    def ravel(self) -> GPUArray:
        """A 1-d view."""
        return self.reshape(self.size)

    def view(self, dtype: Any = None) -> GPUArray:
        """The same bytes seen as another dtype."""
        dtype = np.dtype(dtype or self.dtype)
        shape = (
            self.shape[:-1] + (self.shape[-1] * self.dtype.itemsize // dtype.itemsize,) if self.shape else ()
        )
        return GPUArray(shape, dtype, gpudata=self.gpudata)

    @property
    def T(self) -> GPUArray:  # noqa: N802  (NumPy's name)
        """The transpose (a copy)."""
        return self._new_like(self.get().T)

    def __getitem__(self, idx: Any) -> GPUArray:
        return self._new_like(np.asarray(self.get()[idx]))

    def __setitem__(self, idx: Any, value: Any) -> None:
        host = self.get()
        host[idx] = value.get() if isinstance(value, GPUArray) else value
        self.set(host)

    # --- arithmetic (the result is a new GPUArray, dtype promoted as PyCUDA does)
    def _binary(self, other: Any, op: Any, reverse: bool = False) -> GPUArray:
        b = other.get() if isinstance(other, GPUArray) else other
        a = self.get()
        if isinstance(b, (int, float)) and not isinstance(b, bool) and a.dtype.kind in "fc":
            b = a.dtype.type(b)  # a Python scalar keeps the array's float type, as in PyCUDA
        res = op(b, a) if reverse else op(a, b)
        return self._new_like(np.asarray(res))

    def _inplace(self, other: Any, op: Any) -> GPUArray:
        res = self._binary(other, op).get().astype(self.dtype)
        self.set(res)
        return self

    def __add__(self, o: Any) -> GPUArray:
        return self._binary(o, np.add)

    def __radd__(self, o: Any) -> GPUArray:
        return self._binary(o, np.add, True)

    def __sub__(self, o: Any) -> GPUArray:
        return self._binary(o, np.subtract)

    def __rsub__(self, o: Any) -> GPUArray:
        return self._binary(o, np.subtract, True)

    def __mul__(self, o: Any) -> GPUArray:
        return self._binary(o, np.multiply)

    def __rmul__(self, o: Any) -> GPUArray:
        return self._binary(o, np.multiply, True)

    def __truediv__(self, o: Any) -> GPUArray:
        return self._binary(o, np.true_divide)

    def __rtruediv__(self, o: Any) -> GPUArray:
        return self._binary(o, np.true_divide, True)

    def __pow__(self, o: Any) -> GPUArray:
        return self._binary(o, np.power)

    def __rpow__(self, o: Any) -> GPUArray:
        return self._binary(o, np.power, True)

    def __iadd__(self, o: Any) -> GPUArray:
        return self._inplace(o, np.add)

    def __isub__(self, o: Any) -> GPUArray:
        return self._inplace(o, np.subtract)

    def __imul__(self, o: Any) -> GPUArray:
        return self._inplace(o, np.multiply)

    def __itruediv__(self, o: Any) -> GPUArray:
        return self._inplace(o, np.true_divide)

    def __neg__(self) -> GPUArray:
        return self._new_like(-self.get())

    def __abs__(self) -> GPUArray:
        return self._new_like(np.abs(self.get()))

    def __lt__(self, o: Any) -> GPUArray:
        return self._binary(o, np.less)

    def __le__(self, o: Any) -> GPUArray:
        return self._binary(o, np.less_equal)

    def __gt__(self, o: Any) -> GPUArray:
        return self._binary(o, np.greater)

    def __ge__(self, o: Any) -> GPUArray:
        return self._binary(o, np.greater_equal)

    def __eq__(self, o: Any) -> GPUArray:  # type: ignore[override]
        return self._binary(o, np.equal)

    def __ne__(self, o: Any) -> GPUArray:  # type: ignore[override]
        return self._binary(o, np.not_equal)

    __hash__ = None  # type: ignore[assignment]

    def mul_add(self, selffac: Any, other: GPUArray, otherfac: Any, add_timer: Any = None,
                stream: Any = None) -> GPUArray:  # fmt: skip
        """``selffac * self + otherfac * other``."""
        return self._new_like((selffac * self.get() + otherfac * other.get()).astype(self.dtype))

    def __float__(self) -> float:
        return float(self.get())

    def __int__(self) -> int:
        return int(self.get())

    def __complex__(self) -> complex:
        return complex(self.get())

    def __bool__(self) -> bool:
        return bool(self.get())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.get()
        return a if dtype is None else a.astype(dtype)

    def __str__(self) -> str:
        return str(self.get())

    def __repr__(self) -> str:
        return repr(self.get())

    def conj(self) -> GPUArray:
        """The complex conjugate."""
        return self._new_like(np.conj(self.get()))

    @property
    def real(self) -> GPUArray:
        """The real part."""
        return self._new_like(np.ascontiguousarray(self.get().real))

    @property
    def imag(self) -> GPUArray:
        """The imaginary part."""
        return self._new_like(np.ascontiguousarray(self.get().imag))


def _c_strides(shape: tuple, itemsize: int, order: str = "C") -> tuple:
    strides, step = [], itemsize
    for n in reversed(shape) if order == "C" else shape:
        strides.append(step)
        step *= n
    return tuple(reversed(strides)) if order == "C" else tuple(strides)


def splay(n: int, dev: Any = None) -> tuple[tuple[int, int], tuple[int, int, int]]:
    """``(grid, block)`` for an elementwise kernel over ``n`` items, as ``pycuda.gpuarray.splay`` (chapter 03)."""
    min_threads, max_threads = 32, 128
    max_blocks = 4 * 8 * _emu.Device(0).get_attribute("MULTIPROCESSOR_COUNT")
    if n < min_threads:
        return (1, 1), (min_threads, 1, 1)
    if n < max_blocks * min_threads:
        return ((n + min_threads - 1) // min_threads, 1), (min_threads, 1, 1)
    if n < max_blocks * max_threads:
        grp = (n + min_threads - 1) // min_threads
        return (max_blocks, 1), (((grp + max_blocks - 1) // max_blocks) * min_threads, 1, 1)
    return (max_blocks, 1), (max_threads, 1, 1)


def to_gpu(ary: Any, allocator: Any = None) -> GPUArray:
    """A ``GPUArray`` holding a copy of ``ary`` (chapter 03)."""
    ary = np.asarray(ary)
    order = "F" if ary.flags.f_contiguous and not ary.flags.c_contiguous else "C"
    g = GPUArray(ary.shape, ary.dtype, allocator=allocator, order=order)
    if g.nbytes:
        _emu.memcpy_htod(g.gpudata, np.asarray(ary, order=order).reshape(-1, order=order))
    return g


to_gpu_async = to_gpu


def empty(shape: Any, dtype: Any = np.float32, allocator: Any = None, order: str = "C") -> GPUArray:
    """An uninitialised ``GPUArray`` (chapter 03)."""
    return GPUArray(shape, dtype, allocator=allocator, order=order)


def zeros(shape: Any, dtype: Any = np.float32, allocator: Any = None, order: str = "C") -> GPUArray:
    """A ``GPUArray`` of zeros (chapter 03)."""
    g = GPUArray(shape, dtype, allocator=allocator, order=order)
    if g.nbytes:
        _emu.memset_d8(g.gpudata, 0, g.nbytes)
    return g


def empty_like(other: GPUArray, dtype: Any = None) -> GPUArray:
    """An uninitialised ``GPUArray`` shaped like ``other`` (chapter 03)."""
    return GPUArray(other.shape, dtype or other.dtype)


def zeros_like(other: GPUArray, dtype: Any = None) -> GPUArray:
    """Zeros shaped like ``other`` (chapter 03)."""
    return zeros(other.shape, dtype or other.dtype)


def ones_like(other: GPUArray, dtype: Any = None) -> GPUArray:
    """Ones shaped like ``other`` (chapter 03)."""
    return GPUArray(other.shape, dtype or other.dtype).fill(1)


def arange(*args: Any, dtype: Any = None, **kw: Any) -> GPUArray:
    """``np.arange`` on the device (chapter 03)."""
    return to_gpu(np.arange(*args, dtype=dtype))


def _host(a: Any) -> Any:
    return a.get() if isinstance(a, GPUArray) else a


def sum(a: GPUArray, dtype: Any = None, stream: Any = None) -> GPUArray:  # noqa: A001  (PyCUDA's name)
    """The sum as a 0-d ``GPUArray`` (chapter 03)."""
    return to_gpu(np.asarray(_host(a).sum(dtype=dtype or a.dtype)))


def dot(a: GPUArray, b: GPUArray, dtype: Any = None, stream: Any = None) -> GPUArray:
    """The dot product of two vectors as a 0-d ``GPUArray`` (chapter 03)."""
    r = np.dot(_host(a).ravel(), _host(b).ravel())
    return to_gpu(np.asarray(r, dtype=dtype or np.result_type(a.dtype, b.dtype)))


def max(a: GPUArray, stream: Any = None) -> GPUArray:  # noqa: A001
    """The maximum as a 0-d ``GPUArray`` (chapter 03)."""
    return to_gpu(np.asarray(_host(a).max()))


def min(a: GPUArray, stream: Any = None) -> GPUArray:  # noqa: A001
    """The minimum as a 0-d ``GPUArray`` (chapter 03)."""
    return to_gpu(np.asarray(_host(a).min()))


def if_positive(criterion: GPUArray, then_: GPUArray, else_: GPUArray) -> GPUArray:
    """Elementwise ``then_ if criterion > 0 else else_`` (chapter 03)."""
    return to_gpu(np.where(_host(criterion) > 0, _host(then_), _host(else_)))


def maximum(a: GPUArray, b: Any) -> GPUArray:
    """Elementwise maximum (chapter 03)."""
    return to_gpu(np.maximum(_host(a), _host(b)))


def minimum(a: GPUArray, b: Any) -> GPUArray:
    """Elementwise minimum (chapter 03)."""
    return to_gpu(np.minimum(_host(a), _host(b)))


def _make_vec() -> types.SimpleNamespace:
    ns = types.SimpleNamespace()
    for base, t in (("char", np.int8), ("uchar", np.uint8), ("short", np.int16), ("int", np.int32),
                    ("uint", np.uint32), ("long", np.int64), ("float", np.float32), ("double", np.float64)):  # fmt: skip
        for n in (1, 2, 3, 4):
            dt = np.dtype([(c, t) for c in "xyzw"[:n]], align=n != 3)
            setattr(ns, f"{base}{n}", dt)
            setattr(ns, f"make_{base}{n}", lambda *a, dt=dt: np.array(tuple(a), dtype=dt)[()])
    return ns


vec = _make_vec()  # ``gpuarray.vec.float3``, ``gpuarray.vec.make_float3(x, y, z)`` (chapter 03)
