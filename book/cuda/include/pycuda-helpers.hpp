// pycuda-helpers.hpp for the CPU emulator (book/cuda, chapter 03): the texture helpers PyCUDA's generated
// kernels use (fp_tex_* types, fp_tex1Dfetch).  Written for the emulator; textures themselves are
// emulated in emu_runtime.h (a texture reference is a pointer bound with TextureReference.set_address).
#pragma once
#include "pycuda-complex.hpp"

typedef float fp_tex_float;
typedef double fp_tex_double;
typedef pycuda::complex<float> fp_tex_cfloat;
typedef pycuda::complex<double> fp_tex_cdouble;

template <class T, int D, int M> static inline T fp_tex1Dfetch(texture<T, D, M> tex, int i) {
  return tex1Dfetch(tex, i);
}
