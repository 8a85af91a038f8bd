// cuda_runtime.h for the CPU emulator (book/cuda, chapter 03): everything a kernel needs is already in
// emu_runtime.h (included first by the emulator), so kernels that include this header compile unchanged.
#pragma once
