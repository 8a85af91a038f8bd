"""Chapter 03b (kernels in practice): a C++ ReLU op built with ``load_inline`` and CUDA-event timing.

The C++ source is compiled once into ``book.paths.cache_dir("ext", ...)`` (keyed by the torch version
and a hash of the source), so a second run of the chapter loads the library instead of rebuilding it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable

import torch

from .paths import cache_dir

NAMESPACE = "book03b"

RELU_CPP = r"""
#include <ATen/core/Tensor.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

// y = max(x, 0): at::parallel_for splits [0, n) into chunks, like a grid of blocks
at::Tensor relu_forward(const at::Tensor& x) {
  TORCH_CHECK(x.device().is_cpu(), "relu_forward: x must be on the CPU, got ", x.device());
  auto xc = x.contiguous();
  auto y = at::empty_like(xc);
  AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "relu_forward", [&] {
    const scalar_t* xp = xc.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    at::parallel_for(0, xc.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) yp[i] = xp[i] > 0 ? xp[i] : scalar_t(0);
    });
  });
  return y;
}

// dL/dx = dL/dy * 1[x > 0]
at::Tensor relu_backward(const at::Tensor& x, const at::Tensor& grad_y) {
  TORCH_CHECK(x.sizes() == grad_y.sizes(), "relu_backward: x and grad_y differ in shape");
  TORCH_CHECK(x.scalar_type() == grad_y.scalar_type(), "relu_backward: dtypes differ");
  auto xc = x.contiguous();
  auto gc = grad_y.contiguous();
  auto gx = at::empty_like(xc);
  AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "relu_backward", [&] {
    const scalar_t* xp = xc.data_ptr<scalar_t>();
    const scalar_t* gp = gc.data_ptr<scalar_t>();
    scalar_t* op = gx.data_ptr<scalar_t>();
    at::parallel_for(0, xc.numel(), 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) op[i] = xp[i] > 0 ? gp[i] : scalar_t(0);
    });
  });
  return gx;
}

TORCH_LIBRARY(book03b, m) {
  m.def("relu_forward(Tensor x) -> Tensor");
  m.def("relu_backward(Tensor x, Tensor grad_y) -> Tensor");
}
TORCH_LIBRARY_IMPL(book03b, CPU, m) {
  m.impl("relu_forward", &relu_forward);
  m.impl("relu_backward", &relu_backward);
}
"""


def build_dir() -> str:
    """The cache folder of this source and torch version (chapter 03b)."""
    digest = hashlib.sha256(RELU_CPP.encode()).hexdigest()[:12]
    return str(cache_dir("ext", f"relu-torch{torch.__version__}-{digest}"))


@functools.cache
def load_relu_ops(verbose: bool = False) -> torch._ops._OpNamespace:
    """Compile (once, cached on disk) and load the C++ ReLU; returns ``torch.ops.book03b`` (ch. 03b)."""
    # importing cpp_extension logs a CUDA_HOME warning on CPU-only machines: not useful here
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    from torch.utils.cpp_extension import load_inline

    load_inline(
        name="book03b_relu",
        cpp_sources=RELU_CPP,
        build_directory=build_dir(),
        is_python_module=False,  # TORCH_LIBRARY registers the ops; no pybind11 module
        no_implicit_headers=True,  # skip torch/extension.h: halves the compile time
        extra_cflags=["-O2"],
        verbose=verbose,
    )
    return getattr(torch.ops, NAMESPACE)


class CppReLU(torch.autograd.Function):
    """ReLU whose forward and backward are the C++ ops (chapter 03b)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return load_relu_ops().relu_forward(x)

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return load_relu_ops().relu_backward(x, grad_y)


def cuda_time_ms(fn: Callable[[], object], warmup: int = 3, iters: int = 10) -> float:
    """Mean milliseconds of ``fn()`` on the GPU, measured with CUDA events after warm-up (ch. 03b)."""
    if not torch.cuda.is_available():
        raise RuntimeError("cuda_time_ms needs a CUDA GPU; on the CPU time with time.perf_counter.")
    if warmup < 0 or iters < 1:
        raise ValueError(f"need warmup >= 0 and iters >= 1, got warmup={warmup}, iters={iters}")
    for _ in range(warmup):  # first calls pay for context, cuBLAS handles, kernel loading
        fn()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()  # events are queued on the stream, like kernels
    for _ in range(iters):
        fn()
    end.record()
    end.synchronize()  # wait until the GPU has reached `end`
    return start.elapsed_time(end) / iters
