// pycuda-complex.hpp for the CPU emulator (book/cuda, chapter 03): PyCUDA's `pycuda::complex<T>`.
//
// Written for the emulator (not a copy of PyCUDA's header): pycuda::complex<T> is std::complex<T>, which
// has the same layout as PyCUDA's type and NumPy's complex64/complex128 (two T, real part first), and the
// same arithmetic (+ - * / with complex and real operands, abs, arg, norm, conj, exp, log, sqrt, pow,
// sin, cos, ...).  PyCUDA's interface is described in its documentation (MIT licence).
#pragma once
#include <complex>

namespace pycuda {
template <class T> using complex = std::complex<T>;
using std::abs; using std::arg; using std::conj; using std::cos; using std::cosh; using std::exp;
using std::imag; using std::log; using std::log10; using std::norm; using std::polar; using std::pow;
using std::real; using std::sin; using std::sinh; using std::sqrt; using std::tan; using std::tanh;
}  // namespace pycuda
