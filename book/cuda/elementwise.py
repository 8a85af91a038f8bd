"""``pycuda.elementwise`` and ``pycuda.reduction`` for the CPU emulator (chapter 03).

``ElementwiseKernel(arguments, operation)`` generates a grid-stride CUDA kernel around ``operation``, as
PyCUDA does (fast builds give each thread a contiguous chunk instead of a grid stride: see ``EMU_ELWISE_FOR`` in
``emu_runtime.h``), and compiles it with the emulator; ``get_elwise_module`` and ``get_linear_combination_kernel``
are PyCUDA's; ``ReductionKernel(dtype_out, neutral, reduce_expr, map_expr,
arguments)`` generates a kernel that maps and reduces (one thread, in order: the result equals a sequential
reduction; PyCUDA's tree order can differ in the last bits of a float sum).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from . import emulator as _emu
from .gpuarray import GPUArray, empty

_CTYPES = {
    "float": np.float32, "double": np.float64, "int": np.int32, "unsigned": np.uint32,
    "unsigned int": np.uint32, "long": np.int64, "unsigned long": np.uint64, "long long": np.int64,
    "unsigned long long": np.uint64, "short": np.int16, "unsigned short": np.uint16, "char": np.int8,
    "signed char": np.int8, "unsigned char": np.uint8, "bool": np.bool_, "size_t": np.uint64,
    "ptrdiff_t": np.int64, "int64_t": np.int64, "uint64_t": np.uint64, "int32_t": np.int32,
    "uint32_t": np.uint32, "uint8_t": np.uint8, "int8_t": np.int8, "uint": np.uint32,
}  # fmt: skip


_DTYPE_TO_C = {
    "f4": "float", "f8": "double", "i4": "int", "u4": "unsigned int", "i8": "long", "u8": "unsigned long",
    "i2": "short", "u2": "unsigned short", "i1": "signed char", "u1": "unsigned char", "b1": "bool",
}  # fmt: skip


_FP_TEX = {"f4": "fp_tex_float", "f8": "fp_tex_double", "c8": "fp_tex_cfloat", "c16": "fp_tex_cdouble"}


def dtype_to_ctype(dtype: Any, with_fp_tex_hack: bool = False) -> str:
    """The C type of a NumPy dtype, as ``pycuda.tools.dtype_to_ctype`` (chapter 03)."""
    dtype = np.dtype(dtype)
    if with_fp_tex_hack and dtype.str[1:] in _FP_TEX:
        return _FP_TEX[dtype.str[1:]]
    if dtype.kind in "biuf":
        return _DTYPE_TO_C[dtype.str[1:]]
    if dtype == np.complex64:
        return "pycuda::complex<float>"
    if dtype == np.complex128:
        return "pycuda::complex<double>"
    raise ValueError(f"unable to map dtype {dtype!r} to a C type")


def _parse_args(arguments: Any) -> list[tuple[str, str, bool]]:
    """``[(ctype, name, is_pointer)]`` of a C argument list (a string, or PyCUDA ``VectorArg``/``ScalarArg``)."""
    if not isinstance(arguments, str):
        return [(a.ctype, a.name, isinstance(a, VectorArg)) for a in arguments]
    out = []
    for part in arguments.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"(.*?)([A-Za-z_]\w*)\s*$", part)
        if not m:
            raise ValueError(f"cannot parse argument {part!r}")
        ctype, name = m.group(1).strip(), m.group(2)
        ptr = "*" in ctype
        ctype = re.sub(r"\b(const|__restrict__|restrict|volatile)\b|\*", " ", ctype)
        out.append((" ".join(ctype.split()), name, ptr))
    return out


def _arg_decl(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else ", ".join(a.declarator() for a in arguments)


class VectorArg:
    """A pointer argument, as ``pycuda.tools.VectorArg`` (chapter 03)."""

    def __init__(self, dtype: Any, name: str):
        self.dtype, self.name, self.ctype = np.dtype(dtype), name, dtype_to_ctype(dtype)

    struct_char = "P"

    def declarator(self) -> str:
        """The C declaration of the argument."""
        return f"{self.ctype} *{self.name}"


class ScalarArg:
    """A scalar argument, as ``pycuda.tools.ScalarArg`` (chapter 03)."""

    def __init__(self, dtype: Any, name: str):
        self.dtype, self.name, self.ctype = np.dtype(dtype), name, dtype_to_ctype(dtype)

    def declarator(self) -> str:
        """The C declaration of the argument."""
        return f"{self.ctype} {self.name}"

    @property
    def struct_char(self) -> str:
        """The ``struct`` format character of the argument (for ``prepare``)."""
        c = self.dtype.char
        return f"{self.dtype.itemsize}s" if c == "V" else c


def _scalar(ctype: str, value: Any) -> Any:
    t = _CTYPES.get(ctype)
    if t is None:
        if ctype.startswith("pycuda::complex") or "complex" in ctype:
            return np.complex64(value) if "float" in ctype else np.complex128(value)
        return value
    return np.dtype(t).type(value)


def _launch_args(parsed: list, args: tuple) -> tuple[list, int]:
    if len(args) != len(parsed):
        raise TypeError(f"expected {len(parsed)} arguments, got {len(args)}")
    out, n = [], None
    for (ctype, _, ptr), a in zip(parsed, args, strict=True):
        if ptr:
            if isinstance(a, GPUArray):
                n = a.size if n is None else n
                out.append(a.gpudata)
            else:
                out.append(a)
        else:
            out.append(_scalar(ctype, a))
    if n is None:
        raise ValueError("an ElementwiseKernel needs at least one GPUArray argument (it gives the size)")
    return out, n


_PREAMBLE = "#include <math.h>\n"


def _preamble(*parts: str) -> str:
    """The includes of a generated kernel: ``pycuda-complex.hpp`` (as PyCUDA) when complex types occur."""
    return _PREAMBLE + ("#include <pycuda-complex.hpp>\n" if any("pycuda::" in p for p in parts) else "")


class ElementwiseKernel:
    """``operation`` applied at every index ``i``, like ``pycuda.elementwise.ElementwiseKernel`` (chapter 03)."""

    def __init__(self, arguments: Any, operation: str, name: str = "kernel", keep: bool = False,
                 options: Any = None, preamble: str = "", loop_prep: str = "", after_loop: str = "",
                 **kw: Any):  # fmt: skip
        self.parsed = _parse_args(arguments)
        src = f"""{_preamble(_arg_decl(arguments), preamble, operation, loop_prep)}{preamble}
__global__ void {name}({_arg_decl(arguments)}, unsigned long n) {{
  unsigned tid = threadIdx.x;
  unsigned total_threads = gridDim.x * blockDim.x;
  unsigned cta_start = blockDim.x * blockIdx.x;
  unsigned long i;
  {loop_prep};
  EMU_ELWISE_FOR(i, n) {{  // for (i = cta_start + tid; i < n; i += total_threads)
    {operation};
  }}
  {after_loop};
}}
"""
        self.name = name
        self.source = src
        self.module = _emu.SourceModule(src, options=options)
        self.func = self.module.get_function(name)

    def __call__(self, *args: Any, range: Any = None, slice: Any = None, stream: Any = None,  # noqa: A002
                 **kw: Any) -> None:  # fmt: skip
        """Run on the arrays ``args`` (their size is the first GPUArray's)."""
        launch, n = _launch_args(self.parsed, args)
        if range is not None:
            raise NotImplementedError("range= is not supported by the emulator's ElementwiseKernel")
        if slice is not None:
            n = len(np.arange(n)[slice])
        block = 256
        grid = (max(1, min((n + block - 1) // block, 64)), 1)
        self.func(*launch, np.uint64(n), block=(block, 1, 1), grid=grid)

    def prepared_async_call(self, *args: Any, **kw: Any) -> None:
        """``__call__``."""
        self(*args, **kw)


def get_elwise_module(arguments: Any, operation: str, name: str = "kernel", keep: bool = False,
                      options: Any = None, preamble: str = "", loop_prep: str = "",
                      after_loop: str = "") -> _emu.SourceModule:  # fmt: skip
    """PyCUDA's elementwise module: ``operation`` in a grid-stride loop over ``i < n`` (chapter 03).

    The same source as ``pycuda.elementwise.get_elwise_module``: ``arguments`` (``VectorArg``/``ScalarArg``)
    must include the size ``n``; the kernel has C linkage.
    """
    src = f"""#include <pycuda-complex.hpp>
{preamble}
extern "C" __global__ void {name}({_arg_decl(arguments)})
{{
  size_t tid = threadIdx.x;
  size_t total_threads = gridDim.x*blockDim.x;
  size_t cta_start = blockDim.x*blockIdx.x;
  size_t i;
  {loop_prep};
  EMU_ELWISE_FOR(i, n)  // for (i = cta_start + tid; i < n; i += total_threads)
  {{
    {operation};
  }}
  {after_loop};
}}
"""
    return _emu.SourceModule(src, options=options, keep=keep, no_extern_c=True)


@functools.cache
def get_linear_combination_kernel(summand_descriptors: tuple, dtype_z: Any) -> tuple[_emu.Function, list]:
    """``z = a0*x0 + a1*x1 + ...``, as ``pycuda.elementwise.get_linear_combination_kernel`` (chapter 03).

    ``summand_descriptors`` is ``((is_gpu_scalar, scalar_dtype, vector_dtype), ...)``. A GPU scalar ``a_k``
    is read through a texture reference (returned in the list; bind it with ``GPUArray.bind_to_texref_ext``),
    a host scalar is a kernel argument before its vector. Returns ``(prepared function, texrefs)``; call it
    with ``prepared_call(grid, block, [a0,] x0, [a1,] x1, ..., z, n)``.
    """
    args: list = []
    preamble = ["#include <pycuda-helpers.hpp>\n"]
    loop_prep, summands, tex_names = [], [], []
    for i, (is_gpu_scalar, scalar_dtype, vector_dtype) in enumerate(summand_descriptors):
        if is_gpu_scalar:
            tex_t = dtype_to_ctype(scalar_dtype, with_fp_tex_hack=True)
            preamble.append(f"texture <{tex_t}, 1, cudaReadModeElementType> tex_a{i};")
            args.append(VectorArg(vector_dtype, f"x{i}"))
            tex_names.append(f"tex_a{i}")
            loop_prep.append(f"{dtype_to_ctype(scalar_dtype)} a{i} = fp_tex1Dfetch(tex_a{i}, 0)")
        else:
            args.append(ScalarArg(scalar_dtype, f"a{i}"))
            args.append(VectorArg(vector_dtype, f"x{i}"))
        summands.append(f"a{i}*x{i}[i]")
    args.append(VectorArg(dtype_z, "z"))
    args.append(ScalarArg(np.uintp, "n"))
    mod = get_elwise_module(args, "z[i] = " + " + ".join(summands), "linear_combination",
                            preamble="\n".join(preamble), loop_prep=";\n".join(loop_prep))  # fmt: skip
    func = mod.get_function("linear_combination")
    tex_src = [mod.get_texref(t) for t in tex_names]
    func.prepare("".join(a.struct_char for a in args), texrefs=tex_src)
    return func, tex_src


def get_elwise_kernel(arguments: Any, operation: str, name: str = "kernel", **kw: Any) -> ElementwiseKernel:
    """An ``ElementwiseKernel`` (PyCUDA's helper name, chapter 03)."""
    return ElementwiseKernel(arguments, operation, name, **kw)


class ReductionKernel:
    """``reduce_expr`` over ``map_expr``, like ``pycuda.reduction.ReductionKernel`` (chapter 03)."""

    def __init__(self, dtype_out: Any, neutral: str, reduce_expr: str, map_expr: str | None = None,
                 arguments: Any = None, name: str = "reduce_kernel", keep: bool = False, options: Any = None,
                 preamble: str = "", allocator: Any = None):  # fmt: skip
        self.dtype_out = np.dtype(dtype_out)
        out_t = dtype_to_ctype(self.dtype_out)
        if arguments is None:
            arguments = f"const {out_t} *in"
        if map_expr is None:
            map_expr = "in[i]"
        self.parsed = _parse_args(arguments)
        src = f"""{_PREAMBLE}{preamble}
#define REDUCE(a, b) ({reduce_expr})
__global__ void {name}({out_t} *__out, {_arg_decl(arguments)}, unsigned long n) {{
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  {out_t} __acc = {neutral};
  for (unsigned long i = 0; i < n; ++i) {{
    {out_t} __v = {map_expr};
    __acc = REDUCE(__acc, __v);
  }}
  __out[0] = __acc;
}}
"""
        self.source = src
        self.module = _emu.SourceModule(src, options=options)
        self.func = self.module.get_function(name)
        self.allocator = allocator

    def __call__(self, *args: Any, stream: Any = None, allocator: Any = None, out: GPUArray | None = None,
                 **kw: Any) -> GPUArray:  # fmt: skip
        """The reduction of ``args`` as a 0-d ``GPUArray``."""
        launch, n = _launch_args(self.parsed, args)
        result = out if out is not None else empty((), self.dtype_out)
        self.func(result.gpudata, *launch, np.uint64(n), block=(1, 1, 1), grid=(1, 1))
        return result


def get_sum_kernel(dtype_out: Any, dtype_in: Any) -> ReductionKernel:
    """A sum ``ReductionKernel`` (chapter 03)."""
    return ReductionKernel(dtype_out, "0", "a+b", arguments=f"const {dtype_to_ctype(dtype_in)} *in")
