"""A CPU emulator of CUDA with PyCUDA's interface (``SourceModule``, ``driver``), as a teaching sanitizer.

The CUDA C source is compiled with the system ``g++`` together with ``emu_runtime.h``. Chapter 03 uses it.
This module is the emulator's public face; the code lives in three modules, one idea each:

* ``emu_driver``: PyCUDA's driver API (device memory with guard pages, copies, ``In/Out/InOut``,
  devices, events, PyCUDA's exception classes) and the options (:func:`configure`);
* ``emu_compile``: the source rewriter, the g++ compile cache, ``SourceModule``;
* ``emu_launch``: ``Function`` (PyCUDA's argument packing), the forked launch, the sanitizer's messages.

What it does:

* **Nothing a kernel does kills Python.** Every launch runs in a forked child process, so out-of-bounds
  writes, wild pointers, ``assert``, integer division by zero, a stack overflow or a hang become a
  :class:`LaunchError` naming the kernel, the block, the thread and the buffer. Ctrl-C and a watchdog
  (``configure(watchdog_s=...)``) stop a stuck launch.
* **The sanitizer is on by default** (``configure(sanitize=False)`` or ``BOOK_CUDA_SANITIZE=0`` turns it
  off for speed): the four checks of NVIDIA's compute-sanitizer -- memcheck (out of bounds, misaligned
  and illegal addresses, freed buffers), racecheck (shared-memory races), initcheck (reads of
  uninitialised device or shared memory), synccheck (a ``__syncthreads()`` that some threads of the block
  pass by, bad warp masks) -- with random thread and block order.
* **Volta+ semantics**: barriers count the threads that have not exited, warp collectives synchronise the
  lanes of their mask, a thread that spins is pre-empted so that others can set its flag.
* **PyCUDA's argument packing**: arguments are packed by *their* types, exactly like PyCUDA (a
  ``np.float64`` for a ``float`` parameter gives garbage there too); a warning says what went wrong.

What it supports and what it does not: ``book/cuda/FEATURES.md``. Timings of the emulator measure the
CPU and mean nothing for a GPU.
"""

from __future__ import annotations

from .emu_compile import (  # noqa: F401  (re-exported: the public names of the emulator)
    CXXFLAGS,
    HEADER,
    INCLUDE,
    SANITIZE_FLAGS,
    KernelDecl,
    SourceModule,
    TextureReference,
    find_kernels,
)
from .emu_driver import (  # noqa: F401
    OPTIONS,
    PAGE,
    POISON,
    CompileError,
    Context,
    Device,
    DeviceAllocation,
    Error,
    Event,
    In,
    InOut,
    LaunchError,
    LogicError,
    MemoryError,
    Options,
    Out,
    PyCudaCompatWarning,
    RuntimeError,
    SanitizerError,
    Stream,
    configure,
    device_attribute,
    driver,
    from_device,
    from_device_like,
    init,
    limit,
    mem_alloc,
    mem_alloc_like,
    mem_get_info,
    memcpy_dtod,
    memcpy_dtod_async,
    memcpy_dtoh,
    memcpy_dtoh_async,
    memcpy_htod,
    memcpy_htod_async,
    memset_d8,
    memset_d8_async,
    memset_d16,
    memset_d32,
    memset_d32_async,
    pagelocked_empty,
    pagelocked_empty_like,
    pagelocked_zeros,
    pagelocked_zeros_like,
    to_device,
)
from .emu_launch import Function  # noqa: F401
