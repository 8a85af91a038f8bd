// cooperative_groups.h for the CPU emulator (book/cuda, chapter 03): thread blocks and warp tiles.
//
// this_thread_block(): sync() is __syncthreads(); thread_rank(), size()/num_threads(), group_index(),
// thread_index(), group_dim()/dim_threads().  tiled_partition<N>(block) (N = 1, 2, 4, 8, 16, 32) and
// tiled_partition(block, n): tiles of N consecutive threads (by thread_rank) inside a warp; sync() is
// __syncwarp(tile mask); shfl, shfl_down, shfl_up, shfl_xor, any, all, ballot, thread_rank, size,
// meta_group_rank, meta_group_size, as CUDA's.  cooperative_groups/reduce.h has reduce() with plus,
// less, greater, bit_and, bit_or, bit_xor.  this_grid() is not cooperative here: grid.sync() is a launch
// error (the emulator runs one block at a time; PyCUDA has no cooperative launch either).
#pragma once

namespace cooperative_groups {

class thread_group {
 public:
  unsigned long long size() const { return __size; }
  unsigned long long num_threads() const { return __size; }
  unsigned long long thread_rank() const { return __rank; }
  void sync() const {
    if (__size == __emu_block_size()) __syncthreads(); else __syncwarp(__mask);
  }
 protected:
  static unsigned __emu_block_size() { return blockDim.x * blockDim.y * blockDim.z; }
  static unsigned __emu_rank_in_block() { return (unsigned)__emu::cur->lin; }
  unsigned long long __size = 0, __rank = 0;
  unsigned __mask = 0;
};

class thread_block : public thread_group {
 public:
  thread_block() { __size = __emu_block_size(); __rank = __emu_rank_in_block(); }
  void sync() const { __syncthreads(); }
  dim3 group_index() const { return dim3(blockIdx.x, blockIdx.y, blockIdx.z); }
  dim3 thread_index() const { return dim3(threadIdx.x, threadIdx.y, threadIdx.z); }
  dim3 group_dim() const { return dim3(blockDim.x, blockDim.y, blockDim.z); }
  dim3 dim_threads() const { return group_dim(); }
};
static inline thread_block this_thread_block() { return thread_block(); }
static inline void sync(const thread_block& g) { g.sync(); }

// a tile of n consecutive threads of the block (n a power of two <= 32): the lanes of one warp
class __emu_tile : public thread_group {
 public:
  explicit __emu_tile(unsigned n) {
    if (n == 0 || n > 32 || (n & (n - 1))) __emu::launch_error("tiled_partition: the emulator supports tiles of 1, 2, 4, 8, 16 or 32 threads");
    unsigned r = __emu_rank_in_block(), lane = r & 31u, first = lane / n * n;
    unsigned nb = __emu_block_size(), warp_lo = r & ~31u;
    unsigned exist = nb - warp_lo >= 32 ? 0xffffffffu : (1u << (nb - warp_lo)) - 1u;
    __size = n; __rank = r % n; __first = first;
    __mask = (n == 32 ? 0xffffffffu : ((1u << n) - 1u) << first) & exist;
    __meta_rank = r / n; __meta_size = (nb + n - 1) / n;
  }
  void sync() const { __syncwarp(__mask); }
  template <class T> T shfl(T v, int src) const { return __shfl_sync(__mask, v, src, (int)__size); }
  template <class T> T shfl_down(T v, unsigned d) const { return __shfl_down_sync(__mask, v, d, (int)__size); }
  template <class T> T shfl_up(T v, unsigned d) const { return __shfl_up_sync(__mask, v, d, (int)__size); }
  template <class T> T shfl_xor(T v, int m) const { return __shfl_xor_sync(__mask, v, m, (int)__size); }
  unsigned ballot(int p) const {
    unsigned b = __ballot_sync(__mask, p) >> __first;
    return __size == 32 ? b : b & ((1u << __size) - 1u);
  }
  int any(int p) const { return __ballot_sync(__mask, p) != 0; }
  int all(int p) const { return (__ballot_sync(__mask, p) & __mask) == __mask; }
  unsigned long long meta_group_rank() const { return __meta_rank; }
  unsigned long long meta_group_size() const { return __meta_size; }
 protected:
  unsigned __first = 0;
  unsigned long long __meta_rank = 0, __meta_size = 0;
};

template <unsigned N, class Parent = thread_block> class thread_block_tile : public __emu_tile {
  static_assert(N >= 1 && N <= 32 && (N & (N - 1)) == 0, "the emulator supports tiles of 1..32 threads (a power of two)");
 public:
  thread_block_tile() : __emu_tile(N) {}
  static constexpr unsigned long long size() { return N; }
  static constexpr unsigned long long num_threads() { return N; }
};
template <unsigned N, class P> static inline thread_block_tile<N, P> tiled_partition(const P&) {
  return thread_block_tile<N, P>();
}
static inline __emu_tile tiled_partition(const thread_group&, unsigned n) { return __emu_tile(n); }

class grid_group : public thread_group {
 public:
  grid_group() {
    unsigned long long b = blockIdx.x + (unsigned long long)gridDim.x * (blockIdx.y + (unsigned long long)gridDim.y * blockIdx.z);
    __size = (unsigned long long)__emu_block_size() * gridDim.x * gridDim.y * gridDim.z;
    __rank = b * __emu_block_size() + __emu_rank_in_block();
  }
  bool is_valid() const { return false; }
  void sync() const {
    __emu::launch_error("this_grid().sync() needs a cooperative launch (cudaLaunchCooperativeKernel): PyCUDA "
                        "has none, and the emulator runs one block at a time; split the kernel in two launches");
  }
};
static inline grid_group this_grid() { return grid_group(); }

}  // namespace cooperative_groups
