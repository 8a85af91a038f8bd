"""Make ``import pycuda...`` use the CPU emulator (chapter 03), so that PyCUDA code runs unchanged.

``install()`` puts modules named ``pycuda``, ``pycuda.driver``, ``pycuda.autoinit``, ``pycuda.autoprimaryctx``,
``pycuda.compiler``, ``pycuda.gpuarray``, ``pycuda.elementwise``, ``pycuda.reduction``, ``pycuda.cumath``,
``pycuda.curandom`` and ``pycuda.tools`` into ``sys.modules``, backed by ``book.cuda.emulator``. It refuses
when a real ``pycuda`` is already imported. ``book.cuda.load()`` never installs it: real PyCUDA is used
when it exists.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

import numpy as np

NAMES = ("driver", "autoinit", "autoprimaryctx", "compiler", "gpuarray", "elementwise", "reduction", "cumath",
         "curandom", "tools")  # fmt: skip


class function_attribute:  # noqa: N801  (PyCUDA's name)
    """``pycuda.driver.function_attribute`` (chapter 03)."""

    MAX_THREADS_PER_BLOCK, SHARED_SIZE_BYTES, CONST_SIZE_BYTES, LOCAL_SIZE_BYTES, NUM_REGS = range(5)
    PTX_VERSION, BINARY_VERSION = 5, 6


class _MemoryPool:
    """``pycuda.tools.DeviceMemoryPool``: allocations straight from ``mem_alloc``."""

    def __init__(self, *a: Any, **kw: Any):
        pass

    def allocate(self, nbytes: int) -> Any:
        """A new device allocation of ``nbytes``."""
        from . import emulator

        return emulator.mem_alloc(nbytes)

    def free_held(self) -> None:
        """Nothing is held."""

    def stop_holding(self) -> None:
        """Nothing is held."""


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def install() -> dict[str, types.ModuleType]:
    """Register the emulator under the names of PyCUDA's modules (chapter 03); returns them."""
    existing = sys.modules.get("pycuda")
    if existing is not None and not getattr(existing, "__book_emulator__", False):
        raise RuntimeError("a real pycuda is already imported: the emulator shim is not needed")
    from . import cumath, elementwise, emulator, gpuarray

    drv = emulator.driver
    driver_attrs = {k: getattr(drv, k) for k in dir(type(drv)) if not k.startswith("_")}
    driver_attrs.update(function_attribute=function_attribute, mem_alloc_pitch=None,
                        ctx_flags=types.SimpleNamespace(SCHED_AUTO=0, MAP_HOST=8),
                        mem_host_register_flags=types.SimpleNamespace(DEVICEMAP=2),
                        host_alloc_flags=types.SimpleNamespace(DEVICEMAP=2, PORTABLE=1))  # fmt: skip
    driver_attrs.update(get_version=lambda: (12, 0, 0), get_driver_version=lambda: 12000,
                        MemoryError=emulator.MemoryError, mem_alloc_like=emulator.mem_alloc_like)  # fmt: skip
    driver = _module("pycuda.driver", **driver_attrs)
    device = drv.Device(0)
    context = device.make_context()
    autoinit = _module("pycuda.autoinit", device=device, context=context)
    compiler = _module(
        "pycuda.compiler",
        SourceModule=emulator.SourceModule,
        DynamicSourceModule=emulator.SourceModule,
        CompileError=emulator.CompileError,
    )
    ga = _module("pycuda.gpuarray", **{k: v for k, v in vars(gpuarray).items() if not k.startswith("__")})
    ew = _module("pycuda.elementwise", ElementwiseKernel=elementwise.ElementwiseKernel,
                 get_elwise_kernel=elementwise.get_elwise_kernel, get_elwise_module=elementwise.get_elwise_module,
                 get_linear_combination_kernel=elementwise.get_linear_combination_kernel,
                 VectorArg=elementwise.VectorArg, ScalarArg=elementwise.ScalarArg)  # fmt: skip
    red = _module("pycuda.reduction", ReductionKernel=elementwise.ReductionKernel,
                  get_sum_kernel=elementwise.get_sum_kernel)  # fmt: skip
    cm = _module("pycuda.cumath", **{k: v for k, v in vars(cumath).items() if not k.startswith("_")})

    def rand(shape: Any, dtype: Any = np.float32, stream: Any = None) -> Any:
        """Uniform [0, 1) random numbers on the device (NumPy's generator, not cuRAND's)."""
        dt = np.dtype(dtype)
        rng = np.random.default_rng()
        host = rng.random(shape, dtype=dt) if dt in (np.float32, np.float64) else rng.random(shape).astype(dt)
        return gpuarray.to_gpu(host)

    curandom = _module("pycuda.curandom", rand=rand)
    tools = _module("pycuda.tools", dtype_to_ctype=elementwise.dtype_to_ctype, VectorArg=elementwise.VectorArg,
                    ScalarArg=elementwise.ScalarArg, DeviceMemoryPool=_MemoryPool, PageLockedMemoryPool=_MemoryPool,
                    make_default_context=lambda *a, **k: context, clear_context_caches=lambda: None,
                    context_dependent_memoize=functools.cache)  # fmt: skip
    autoprimaryctx = _module("pycuda.autoprimaryctx", device=device, context=context)
    mods = dict(driver=driver, autoinit=autoinit, autoprimaryctx=autoprimaryctx, compiler=compiler, gpuarray=ga,
                elementwise=ew, reduction=red, cumath=cm, curandom=curandom, tools=tools)  # fmt: skip
    pkg = _module(
        "pycuda", __book_emulator__=True, VERSION=(2024, 1), VERSION_TEXT="emulator", __path__=[], **mods
    )
    sys.modules["pycuda"] = pkg
    for k, m in mods.items():
        sys.modules[f"pycuda.{k}"] = m
    return mods


def uninstall() -> None:
    """Remove the modules that :func:`install` registered (chapter 03)."""
    if getattr(sys.modules.get("pycuda"), "__book_emulator__", False):
        for k in [k for k in sys.modules if k == "pycuda" or k.startswith("pycuda.")]:
            del sys.modules[k]
