// emu_runtime.h -- lets CUDA C kernels compile with g++ and run on the CPU with CUDA semantics.
// One block at a time; the block's threads are cooperative fibers (ucontext), so __syncthreads() is a
// real barrier and warp shuffles are warp-level barriers over 32 lanes.  Included by book/cuda/emulator.py
// with `g++ -include emu_runtime.h`.  Emulator timings mean nothing: it measures CPU context switches.
#pragma once
#include <ucontext.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
// static locals are shared by all fibers of the (one) running block: CUDA __shared__ semantics
#define __shared__ static
#define __syncthreads() __emu::block_barrier()
#define __syncwarp(...) __emu::warp_barrier()
#define __threadfence() ((void)0)
#define __ldg(p) (*(p))
#define __expf expf
#define __logf logf
#define __fdividef(a, b) ((a) / (b))
#define warpSize 32
#define threadIdx (__emu::cur->tid)
#define blockIdx (__emu::block_idx)
#define blockDim (__emu::block_dim)
#define gridDim (__emu::grid_dim)
#define __emu_dyn_smem (__emu::dyn_smem)

namespace __emu {
enum State { RUNNABLE = 0, AT_BLOCK_BAR = 1, AT_WARP_BAR = 2, DONE = 3 };
struct Fiber { ucontext_t ctx; uint3 tid; int lin; int state; };
static const size_t kStack = 64 * 1024;
static const int kMaxThreads = 1024;
static Fiber fibers[kMaxThreads];
static char* stacks = nullptr;
static Fiber* cur = nullptr;
static ucontext_t sched;
static uint3 block_idx, block_dim, grid_dim;
static void (*thunk)(void**) = nullptr;
static void** thunk_args = nullptr;
static unsigned long long shfl_slot[kMaxThreads];
static char error_msg[512];
static char* dyn_smem = nullptr;
static size_t dyn_smem_size = 0;

static inline void block_barrier() { cur->state = AT_BLOCK_BAR; swapcontext(&cur->ctx, &sched); }
static inline void warp_barrier() { cur->state = AT_WARP_BAR; swapcontext(&cur->ctx, &sched); }
static void fiber_main() { thunk(thunk_args); cur->state = DONE; }  // returns to sched via uc_link

template <class T> static inline T exchange(T v, int src_lane_in_warp) {
  static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
  unsigned long long bits = 0; memcpy(&bits, &v, sizeof(T));
  shfl_slot[cur->lin] = bits;
  warp_barrier();                                   // every lane has published its value
  int src = (cur->lin / 32) * 32 + src_lane_in_warp;
  int nthreads = (int)(block_dim.x * block_dim.y * block_dim.z);
  if (src >= nthreads) src = cur->lin;
  T out; unsigned long long got = shfl_slot[src]; memcpy(&out, &got, sizeof(T));
  warp_barrier();                                   // every lane has read before slots are reused
  return out;
}
// returns 0 when the block finished, -1 on error (message in error_msg)
static int run_block(int nthreads) {
  int nwarps = (nthreads + 31) / 32;
  for (;;) {
    bool progressed = false;
    for (int t = 0; t < nthreads; ++t) {
      if (fibers[t].state != RUNNABLE) continue;
      cur = &fibers[t];
      swapcontext(&sched, &fibers[t].ctx);
      progressed = true;
    }
    int done = 0, at_block = 0, at_warp = 0;
    for (int t = 0; t < nthreads; ++t) {
      int s = fibers[t].state;
      done += s == DONE; at_block += s == AT_BLOCK_BAR; at_warp += s == AT_WARP_BAR;
    }
    if (done == nthreads) return 0;
    bool released = false;
    for (int w = 0; w < nwarps; ++w) {              // warp barriers: all live lanes of a warp arrived
      int lo = w * 32, hi = lo + 32 < nthreads ? lo + 32 : nthreads;
      int wd = 0, ww = 0, n = hi - lo;
      for (int t = lo; t < hi; ++t) { wd += fibers[t].state == DONE; ww += fibers[t].state == AT_WARP_BAR; }
      if (ww > 0 && ww + wd == n && wd > 0) {
        snprintf(error_msg, sizeof error_msg,
                 "warp-level barrier (__shfl_*_sync/__syncwarp) not reached by all lanes of warp %d in block "
                 "(%u,%u,%u): %d lanes exited", w, block_idx.x, block_idx.y, block_idx.z, wd);
        return -1;
      }
      if (ww == n) { for (int t = lo; t < hi; ++t) fibers[t].state = RUNNABLE; released = true; }
    }
    if (released) continue;
    if (at_block > 0 && at_block + done == nthreads) {
      if (done > 0) {
        snprintf(error_msg, sizeof error_msg,
                 "__syncthreads() not reached by all threads of block (%u,%u,%u): %d of %d threads exited "
                 "while %d wait at the barrier (undefined behaviour / hang on a GPU)",
                 block_idx.x, block_idx.y, block_idx.z, done, nthreads, at_block);
        return -1;
      }
      for (int t = 0; t < nthreads; ++t) fibers[t].state = RUNNABLE;
      continue;
    }
    if (!progressed) {
      snprintf(error_msg, sizeof error_msg,
               "deadlock in block (%u,%u,%u): %d threads at __syncthreads(), %d at a warp barrier, %d exited",
               block_idx.x, block_idx.y, block_idx.z, at_block, at_warp, done);
      return -1;
    }
  }
}
}  // namespace __emu

template <class T> static inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
  int lane = __emu::cur->lin % 32, seg = lane / width * width;
  int src = lane + (int)delta; if (src >= seg + width) src = lane;
  return __emu::exchange(v, src);
}
template <class T> static inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
  int lane = __emu::cur->lin % 32, seg = lane / width * width;
  int src = lane - (int)delta; if (src < seg) src = lane;
  return __emu::exchange(v, src);
}
template <class T> static inline T __shfl_xor_sync(unsigned, T v, int mask, int width = 32) {
  int lane = __emu::cur->lin % 32, seg = lane / width * width;
  int src = lane ^ mask; if (src < seg || src >= seg + width) src = lane;
  return __emu::exchange(v, src);
}
template <class T> static inline T __shfl_sync(unsigned, T v, int src_lane, int width = 32) {
  int lane = __emu::cur->lin % 32, seg = lane / width * width;
  return __emu::exchange(v, seg + src_lane % width);
}
// Atomics: fibers are cooperative (one OS thread), so a read-modify-write is never interrupted.
template <class T> static inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <class T> static inline T atomicSub(T* p, T v) { T old = *p; *p = old - v; return old; }
template <class T> static inline T atomicMax(T* p, T v) { T old = *p; if (v > old) *p = v; return old; }
template <class T> static inline T atomicMin(T* p, T v) { T old = *p; if (v < old) *p = v; return old; }
template <class T> static inline T atomicExch(T* p, T v) { T old = *p; *p = v; return old; }
template <class T> static inline T atomicCAS(T* p, T cmp, T v) { T old = *p; if (old == cmp) *p = v; return old; }

extern "C" const char* __emu_error() { return __emu::error_msg; }

extern "C" int __emu_launch(void (*thunk)(void**), void** args, unsigned gx, unsigned gy, unsigned gz,
                            unsigned bx, unsigned by, unsigned bz, size_t shared_bytes) {
  using namespace __emu;
  error_msg[0] = 0;
  unsigned long long nthreads = (unsigned long long)bx * by * bz;
  if (nthreads == 0 || nthreads > 1024 || bx > 1024 || by > 1024 || bz > 64) {
    snprintf(error_msg, sizeof error_msg,
             "cuLaunchKernel failed: invalid argument (block (%u,%u,%u) = %llu threads; limits: 1..1024 threads, "
             "x,y <= 1024, z <= 64)", bx, by, bz, nthreads);
    return 1;
  }
  if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) {
    snprintf(error_msg, sizeof error_msg,
             "cuLaunchKernel failed: invalid argument (grid (%u,%u,%u): every dimension must be >= 1, y,z <= 65535)",
             gx, gy, gz);
    return 1;
  }
  if (shared_bytes > 48 * 1024) {
    snprintf(error_msg, sizeof error_msg,
             "cuLaunchKernel failed: invalid argument (%zu bytes of dynamic shared memory > 48 KiB default limit)",
             shared_bytes);
    return 1;
  }
  if (!stacks) {
    stacks = (char*)mmap(nullptr, kStack * kMaxThreads, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stacks == MAP_FAILED) { stacks = nullptr; snprintf(error_msg, sizeof error_msg, "out of memory for fiber stacks"); return 2; }
  }
  if (shared_bytes > dyn_smem_size) { free(dyn_smem); dyn_smem = (char*)calloc(shared_bytes, 1); dyn_smem_size = shared_bytes; }
  __emu::thunk = thunk; thunk_args = args;
  grid_dim = {gx, gy, gz}; block_dim = {bx, by, bz};
  ucontext_t tmpl; getcontext(&tmpl);
  int n = (int)nthreads;
  for (unsigned z = 0; z < gz; ++z)
    for (unsigned y = 0; y < gy; ++y)
      for (unsigned x = 0; x < gx; ++x) {
        block_idx = {x, y, z};
        for (int t = 0; t < n; ++t) {
          Fiber& f = fibers[t];
          f.tid = {(unsigned)(t % bx), (unsigned)(t / bx % by), (unsigned)(t / (bx * by))};
          f.lin = t; f.state = RUNNABLE;
          memcpy(&f.ctx, &tmpl, sizeof tmpl);
#if defined(__x86_64__) && defined(__GLIBC__)
          f.ctx.uc_mcontext.fpregs = &f.ctx.__fpregs_mem;  // the copy must not point into tmpl
#endif
          f.ctx.uc_stack.ss_sp = stacks + (size_t)t * kStack;
          f.ctx.uc_stack.ss_size = kStack;
          f.ctx.uc_link = &sched;
          makecontext(&f.ctx, (void (*)())fiber_main, 0);
        }
        if (run_block(n) != 0) return 3;
      }
  return 0;
}
