// cooperative_groups/reduce.h for the CPU emulator (book/cuda, chapter 03): cg::reduce over a warp tile.
#pragma once
#include "../cooperative_groups.h"

namespace cooperative_groups {
template <class T> struct plus { T operator()(T a, T b) const { return a + b; } };
template <class T> struct less { T operator()(T a, T b) const { return b < a ? b : a; } };
template <class T> struct greater { T operator()(T a, T b) const { return a < b ? b : a; } };
template <class T> struct bit_and { T operator()(T a, T b) const { return a & b; } };
template <class T> struct bit_or { T operator()(T a, T b) const { return a | b; } };
template <class T> struct bit_xor { T operator()(T a, T b) const { return a ^ b; } };
// every thread of the tile gets op over the values of all its threads (a butterfly of shfl_xor)
template <class T, class Op> static inline T reduce(const __emu_tile& g, T v, Op op) {
  for (unsigned m = (unsigned)g.size() / 2; m > 0; m /= 2) v = op(v, g.shfl_xor(v, (int)m));
  return v;
}
}  // namespace cooperative_groups
