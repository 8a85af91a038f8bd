// emu_runtime.h -- lets CUDA C kernels compile with g++ and run on the CPU with CUDA (sm_70+) semantics.
//
// Included by book/cuda/emulator.py with `g++ -include emu_runtime.h`.  Every launch runs in a forked
// child process (see emulator.py), so a fault here never touches the Python process.  One block at a
// time; its threads are cooperative fibers with a hand-written context switch (no signal-mask system
// calls).  Volta+ rules: __syncthreads() counts the threads that have not exited; warp collectives
// (__shfl_*_sync, __syncwarp, __ballot_sync, ...) synchronise exactly the lanes named in their mask; a
// thread that spins without yielding is pre-empted (a CPU-time timer), so a spin-wait on a flag that a
// thread of the same block sets finishes.  In sanitizer mode (the default) the kernel is compiled with
// GCC's -fsanitize=kernel-address, whose load/store hooks (below) do compute-sanitizer's checks: bounds and
// alignment (memcheck), uninitialised reads (initcheck), shared-memory races (racecheck); the scheduler
// checks barriers (synccheck).  Emulator timings measure the CPU and mean nothing for a GPU.
#pragma once
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>
#include <link.h>
#include <dlfcn.h>
#include <assert.h>
#include <time.h>
#include <algorithm>
#include <tuple>
#include <type_traits>
#include <utility>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#define EMU_RT __attribute__((no_sanitize_address, visibility("hidden"), noinline))
#define EMU_API __attribute__((no_sanitize_address, visibility("default"), noinline))
#define EMU_INL __attribute__((no_sanitize_address, noinline))

// ------------------------------------------------------------------------------------- CUDA types
struct uint3 { unsigned int x, y, z; };
struct dim3 {
  unsigned int x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
  dim3(uint3 u) : x(u.x), y(u.y), z(u.z) {}
};
#define EMU_VEC2(T, N) struct __attribute__((aligned(2 * sizeof(T)))) N##2 { T x, y; }; \
  static inline N##2 make_##N##2(T a, T b) { N##2 r; r.x = a; r.y = b; return r; }
#define EMU_VEC3(T, N) struct N##3 { T x, y, z; }; \
  static inline N##3 make_##N##3(T a, T b, T c) { N##3 r; r.x = a; r.y = b; r.z = c; return r; }
#define EMU_VEC4(T, N) struct __attribute__((aligned(4 * sizeof(T) > 16 ? 16 : 4 * sizeof(T)))) N##4 { \
  T x, y, z, w; }; \
  static inline N##4 make_##N##4(T a, T b, T c, T d) { N##4 r; r.x = a; r.y = b; r.z = c; r.w = d; return r; }
EMU_VEC2(float, float) EMU_VEC3(float, float) EMU_VEC4(float, float)
EMU_VEC2(double, double) EMU_VEC3(double, double) EMU_VEC4(double, double)
EMU_VEC2(int, int) EMU_VEC3(int, int) EMU_VEC4(int, int)
EMU_VEC2(unsigned int, uint) EMU_VEC4(unsigned int, uint)
EMU_VEC2(char, char) EMU_VEC4(char, char)
EMU_VEC2(unsigned char, uchar) EMU_VEC4(unsigned char, uchar)
EMU_VEC2(short, short) EMU_VEC4(short, short)
EMU_VEC2(long long, longlong)
static inline uint3 make_uint3(unsigned a, unsigned b, unsigned c) { uint3 r = {a, b, c}; return r; }
static inline dim3 make_dim3(unsigned a, unsigned b, unsigned c) { return dim3(a, b, c); }
typedef unsigned int uint;
// texture references (deprecated, removed in CUDA 12; PyCUDA's get_linear_combination_kernel uses them):
// a pointer that the host binds with TextureReference.set_address (emulator.py writes the global)
enum cudaTextureReadMode { cudaReadModeElementType = 0, cudaReadModeNormalizedFloat = 1 };
template <class T, int dim = 1, int mode = cudaReadModeElementType> struct texture { const T* __ptr; unsigned long long __bytes; };
template <class T, int D, int M> static inline T tex1Dfetch(texture<T, D, M> t, int i) { return t.__ptr[i]; }
typedef unsigned short ushort;
typedef unsigned char uchar;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __restrict__ __restrict
// __shared__ variables live in one section: its size is checked like ptxas (48 KiB), it is poisoned
// and tracked per block in sanitizer mode.  static: one copy for the (one) running block.
#define __shared__ static __attribute__((section("emu_shared"), aligned(16)))
// __constant__ / __device__ variables: a section the emulator copies back from the child after a launch
#define __constant__ __attribute__((section("emu_globals")))
#define __emu_device_var __attribute__((section("emu_globals")))
#define __managed__
// emulator.py reaches static __shared__ arrays through this (sanitizer builds: opaque to the optimiser,
// so that every access, even s[0], goes through the address-sanitizer hooks)
// In sanitizer builds, accesses of arithmetic __shared__ data are volatile: GCC's address sanitizer skips
// the store of `s[t] += x` (it has just checked that address for the load) unless the access is volatile.
// Code that takes a plain pointer to __shared__ data does not compile so: emulator.py then retries with
// -DEMU_PLAIN_SHARED (those stores go unchecked).
#ifdef __SANITIZE_ADDRESS__
#ifndef EMU_PLAIN_SHARED
template <class T> using __emu_vol_t = typename std::conditional<
    std::is_arithmetic<typename std::remove_all_extents<T>::type>::value, volatile T, T>::type;
#else
template <class T> using __emu_vol_t = T;
#endif
template <class T> __attribute__((noinline)) static __emu_vol_t<T>* __emu_opaque(T* p) { return p; }
#else
template <class T> static inline T* __emu_opaque(T* p) { return p; }
#endif
#define __syncthreads() __emu::block_barrier(0, 0)
#define __emu_kernel_return() __emu::early_return()
#define __syncthreads_count(p) __emu::block_barrier(1, (p) != 0)
#define __syncthreads_and(p) __emu::block_barrier(2, (p) != 0)
#define __syncthreads_or(p) __emu::block_barrier(3, (p) != 0)
#define __threadfence() __sync_synchronize()
#define __threadfence_block() __sync_synchronize()
#define __threadfence_system() __sync_synchronize()
#define __ldg(p) (*(p))
#define __expf expf
#define __logf logf
#define __log2f log2f
#define __log10f log10f
#define __exp10f exp10f
#define __sinf sinf
#define __cosf cosf
#define __tanf tanf
#define __powf powf
#define __sincosf sincosf
#define __fdividef(a, b) ((a) / (b))
#define __fdiv_rn(a, b) ((a) / (b))
#define __fmul_rn(a, b) ((a) * (b))
#define __fadd_rn(a, b) ((a) + (b))
#define __fsqrt_rn sqrtf
#define __frcp_rn(a) (1.0f / (a))
#define __saturatef(x) fminf(fmaxf((x), 0.0f), 1.0f)
#define warpSize 32
#define threadIdx (__emu::cur->tid)
#define blockIdx (__emu::block_idx)
#define blockDim (__emu::block_dim)
#define gridDim (__emu::grid_dim)
#define __emu_dyn_smem (__emu::dyn_smem)

// The grid-stride loop of the generated elementwise kernels (book/cuda/elementwise.py, as PyCUDA's):
// `EMU_ELWISE_FOR(i, n) { op; }`.  Sanitizer builds run PyCUDA's loop as it is (i = global thread id,
// step = all threads).  Fast builds give each thread a contiguous chunk of the same length instead: the
// emulator runs one thread after another, and a stride of all threads would touch a new cache line (and
// often a new page) for every element -- ten times slower.  An elementwise operation gets the same result.
#ifdef __SANITIZE_ADDRESS__
#define EMU_ELWISE_FOR(i, n) \
  for (i = (size_t)blockDim.x * blockIdx.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)
#else
#define EMU_ELWISE_FOR(i, n) \
  for (size_t __emu_t = (size_t)blockDim.x * blockIdx.x + threadIdx.x, __emu_T = (size_t)gridDim.x * blockDim.x, \
       __emu_c = ((size_t)(n) + __emu_T - 1) / __emu_T, \
       __emu_hi = std::min<size_t>((size_t)(n), (__emu_t + 1) * __emu_c), \
       __emu_lo = (i = std::min<size_t>((size_t)(n), __emu_t * __emu_c)); i < __emu_hi; ++i)
#endif
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
static inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
static inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
static inline long long __double_as_longlong(double d) { long long i; memcpy(&i, &d, 8); return i; }
static inline double __longlong_as_double(long long i) { double d; memcpy(&d, &i, 8); return d; }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1); x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4); x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
  return (x >> 16) | (x << 16);
}
static inline int __mul24(int a, int b) { return a * b; }
static inline unsigned __umul24(unsigned a, unsigned b) { return a * b; }
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline float __float2int_rn_f(float x) { return nearbyintf(x); }
static inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
static inline int __float2int_rz(float x) { return (int)x; }
static inline int __float2int_rd(float x) { return (int)floorf(x); }
static inline int __float2int_ru(float x) { return (int)ceilf(x); }
static inline float __int2float_rn(int x) { return (float)x; }
static inline float __uint2float_rn(unsigned x) { return (float)x; }
static inline float __saturate(float x) { return fminf(fmaxf(x, 0.0f), 1.0f); }
// by value: decltype(a < b ? a : b) would be a reference to a parameter when A == B
template <class A, class B> static inline typename std::common_type<A, B>::type min(A a, B b) { return b < a ? b : a; }
template <class A, class B> static inline typename std::common_type<A, B>::type max(A a, B b) { return a < b ? b : a; }
static inline long long clock64() { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
#define clock() clock64()

namespace __emu {
// ------------------------------------------------------------------------------------- shared state
enum State { RUNNABLE = 0, AT_BLOCK_BAR = 1, AT_WARP_BAR = 2, DONE = 3 };
enum WarpOp { OP_SYNC = 0, OP_SHFL = 1, OP_BALLOT = 2, OP_MATCH = 3 };
struct Fiber {
  void* sp; uint3 tid; int lin; int state;
  int op; unsigned mask; unsigned long long val; int src; unsigned long long result;
  char* stack_lo; char* stack_hi;
  int early;   // exited through a `return` of the kernel (not by running off its end)
  void* site;  // the __syncthreads() it waits at (its return address)
};
// The report the parent reads (a MAP_SHARED page passed by emulator.py).  Keep in sync with _Report there.
struct Report {
  int status, sig, is_write, in_fiber;
  unsigned tid[3], bid[3];
  unsigned long long addr, pc, switches, blocks_done;
  char msg[3072];
};
struct Region { unsigned long long start, size; unsigned char* init; int id, kind; };
struct RaceCell { int wt, rt; unsigned we, re, wwe, rwe; };
enum { ST_OK = 0, ST_CONFIG = 1, ST_ERROR = 2, ST_SIGNAL = 3, ST_SANITIZER = 4 };
struct Config {
  Report* report; Region* regions; int nregions; int sanitize; unsigned long long seed;
  size_t stack_bytes; int preempt_ms;
};

static const int kMaxThreads = 1024;
static const size_t kStaticSmemLimit = 48 * 1024;
static Fiber fibers[kMaxThreads];
static int order[kMaxThreads];
static char* stacks = nullptr;
static char* stacks_end = nullptr;  // the fiber stacks of the block (other threads' local memory)
static size_t stack_bytes = 0;
static Fiber* cur = nullptr;
static void* sched_sp = nullptr;
static volatile int in_fiber = 0;
static uint3 block_idx, block_dim, grid_dim;
static void (*thunk)(const char*) = nullptr;
static const char* thunk_args = nullptr;
static char* dyn_smem = nullptr;
static size_t dyn_smem_size = 0;
static Report dummy_report;
static Report* rep = &dummy_report;
static Config cfg;
static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static int nthreads_cur = 0;
// sanitizer
static Region regions[4096 + 2];
static int nregions = 0;
static unsigned char* smem_init = nullptr;  // init shadow of the static section + dynamic shared memory
static RaceCell* smem_race = nullptr;
static unsigned block_epoch = 0;
static unsigned warp_epoch[32];
static char* mod_lo[8]; static char* mod_hi[8]; static int nmod = 0;
static int sanitizing = 0;
// a read of never-written __shared__ memory is reported at the next barrier (or the end of the block)
// unless another thread writes that byte before: then it was a race, and the race is reported
struct PendingUninit { int valid; unsigned tid[3]; unsigned long long off, region_size; size_t size; int kind; };
static PendingUninit pending_uninit;

extern "C" char __start_emu_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_emu_shared[] __attribute__((weak, visibility("hidden")));
extern "C" char __start_emu_globals[] __attribute__((weak, visibility("hidden")));
extern "C" char __stop_emu_globals[] __attribute__((weak, visibility("hidden")));
static char emu_shared_anchor[16] __attribute__((section("emu_shared"), used, aligned(16))) = {0};
static char emu_globals_anchor[16] __attribute__((section("emu_globals"), used, aligned(16))) = {0};

EMU_RT static unsigned long long rnd() {
  rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17; return rng_state;
}
EMU_RT static void die(int status) {
  rep->status = status;
  fflush(stdout); fflush(stderr);
  _exit(10 + status);
}
EMU_RT static void where() {
  if (cur) { rep->tid[0] = cur->tid.x; rep->tid[1] = cur->tid.y; rep->tid[2] = cur->tid.z; }
  rep->bid[0] = block_idx.x; rep->bid[1] = block_idx.y; rep->bid[2] = block_idx.z;
  rep->in_fiber = in_fiber;
}

// ------------------------------------------------------------------------------------- context switch
#if defined(__x86_64__)
asm(R"(
  .text
  .p2align 4
  .globl __emu_switch
  .hidden __emu_switch
  .type __emu_switch,@function
__emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .globl __emu_switch_end
  .hidden __emu_switch_end
__emu_switch_end:
  .size __emu_switch, .-__emu_switch
)");
extern "C" void __emu_switch(void** save, void* to);
extern "C" char __emu_switch_end[];
static void fiber_entry();
EMU_RT static void fiber_init(Fiber& f) {
  uintptr_t top = (uintptr_t)f.stack_hi & ~(uintptr_t)15;
  void** sp = (void**)top;
  *--sp = nullptr;                 // fake return address: keeps the ABI's 16-byte alignment
  *--sp = (void*)&fiber_entry;     // `ret` of the first switch lands here
  for (int i = 0; i < 6; ++i) *--sp = nullptr;
  f.sp = sp;
}
#define EMU_SWITCH(save, to) __emu_switch(save, to)
#else
// Portable fallback (slower: glibc's swapcontext makes two sigprocmask calls per switch).
static ucontext_t uctx[kMaxThreads + 1];
static void fiber_entry();
EMU_RT static void fiber_init(Fiber& f) {
  ucontext_t& c = uctx[f.lin]; getcontext(&c);
  c.uc_stack.ss_sp = f.stack_lo; c.uc_stack.ss_size = f.stack_hi - f.stack_lo; c.uc_link = nullptr;
  makecontext(&c, (void (*)())fiber_entry, 0);
  f.sp = &c;
}
EMU_RT static void uswitch(void** save, void* to) {
  ucontext_t* me = (*save == &uctx[kMaxThreads] || save == &sched_sp) ? &uctx[kMaxThreads] : (ucontext_t*)cur->sp;
  *save = me; swapcontext(me, (ucontext_t*)to);
}
#define EMU_SWITCH(save, to) uswitch(save, to)
#endif

EMU_RT static void yield() { EMU_SWITCH(&cur->sp, sched_sp); }
EMU_RT static void fiber_entry() {
  thunk(thunk_args);
  cur->state = DONE;
  EMU_SWITCH(&cur->sp, sched_sp);
  __builtin_unreachable();
}

// ------------------------------------------------------------------------------------- sanitizer
EMU_RT static int find_region(uintptr_t a) {  // last region with start <= a, or -1
  int lo = 0, hi = nregions - 1, best = -1;
  while (lo <= hi) { int mid = (lo + hi) / 2; if (regions[mid].start <= a) { best = mid; lo = mid + 1; } else hi = mid - 1; }
  return best;
}
EMU_RT static void san_report(const char* what) {
  where();
  snprintf(rep->msg, sizeof rep->msg, "%s", what);
  die(ST_SANITIZER);
}
// "@R<id>" (emulator.py puts the buffer's name there, e.g. "argument `v` (63 bytes)") or the shared memory
EMU_RT static void fmt_region(char* out, size_t n, const Region& r) {
  if (r.kind == 0) snprintf(out, n, "@R%d", r.id);
  else if (r.kind == 1) snprintf(out, n, "the static __shared__ memory (%llu bytes: the module's __shared__ variables)", r.size);
  else snprintf(out, n, "the dynamic __shared__ memory (%llu bytes)", r.size);
}
EMU_RT static const char* space_of(int kind) { return kind == 0 ? "__global__" : "__shared__"; }
EMU_RT static void tid_of(int lin, unsigned* t) {
  t[0] = lin % block_dim.x; t[1] = lin / block_dim.x % block_dim.y; t[2] = lin / (block_dim.x * block_dim.y);
}
// the initcheck report of a read of never-written memory
EMU_RT static void report_uninit(const unsigned* tid, size_t size, unsigned long long off, const char* rb, int kind) {
  char buf[3000];
  snprintf(buf, sizeof buf, "uninitialised read (initcheck: Uninitialized %s memory read of size %zu bytes): "
           "thread (%u,%u,%u) of block (%u,%u,%u) read %zu bytes at byte offset %llu of %s, which nothing has "
           "written (%s). Write it first, or copy data in (drv.In / memcpy_htod)", space_of(kind), size,
           tid[0], tid[1], tid[2], block_idx.x, block_idx.y, block_idx.z, size, off, rb,
           kind ? "__shared__ memory starts undefined in every block" : "mem_alloc and drv.Out give "
           "uninitialised memory");
  san_report(buf);
}
EMU_RT static void flush_pending_uninit() {
  if (!pending_uninit.valid) return;
  cur = nullptr;  // the scheduler reports it: the thread is in the message
  char rb[200];
  Region r = {0, pending_uninit.region_size, nullptr, 0, pending_uninit.kind};
  fmt_region(rb, sizeof rb, r);
  report_uninit(pending_uninit.tid, pending_uninit.size, pending_uninit.off, rb, pending_uninit.kind);
}
EMU_RT static void check_access(uintptr_t a, size_t size, int is_write, int atomic, int align = 1) {
  if (!sanitizing || !in_fiber) return;
  if ((char*)a >= cur->stack_lo - 4096 && (char*)a < cur->stack_hi) return;  // this thread's locals
  char buf[3000], rb[200];
  const char* rw = is_write ? "wrote" : "read";
  const char* access = is_write ? "write" : "read";
  // memcheck: a 2-, 4- or 8-byte access needs an aligned address (8-byte ones: 4-aligned here, since a
  // struct of two floats is copied as one 8-byte access); a GPU faults on it even without a sanitizer
  // (only in device memory: a wild pointer elsewhere is an illegal address, reported below)
  int in_globals = (char*)a >= __start_emu_globals && (char*)a < __stop_emu_globals;
  int ri = find_region(a), in_region = ri >= 0 && a < regions[ri].start + regions[ri].size;
  if (align && (in_region || in_globals) && (size == 2 || size == 4 || size == 8) && (a & (size == 2 ? 1 : 3))) {
    Dl_info di; ElfW(Sym)* sym = nullptr; char what[300];
    if (in_region) {
      fmt_region(rb, sizeof rb, regions[ri]);
      snprintf(what, sizeof what, "byte offset %llu of %s", (unsigned long long)(a - regions[ri].start), rb);
    } else if (dladdr1((void*)a, &di, (void**)&sym, RTLD_DL_SYMENT) && di.dli_sname && di.dli_saddr) {
      snprintf(what, sizeof what, "byte offset %lld of the __device__ variable `%s`",
               (long long)(a - (uintptr_t)di.dli_saddr), di.dli_sname);
    } else {
      snprintf(what, sizeof what, "address 0x%llx (a __device__ variable)", (unsigned long long)a);
    }
    snprintf(buf, sizeof buf, "misaligned address (memcheck: Invalid __global__ %s of size %zu bytes): thread "
             "(%u,%u,%u) of block (%u,%u,%u) %s %zu bytes at %s, which is not a multiple of %zu. A GPU faults "
             "here even without a sanitizer (\"misaligned address\"): check the pointer arithmetic and the casts "
             "(a char* plus an offset cast to int*?)", access, size, cur->tid.x, cur->tid.y, cur->tid.z,
             block_idx.x, block_idx.y, block_idx.z, rw, size, what, size == 2 ? (size_t)2 : (size_t)4);
    rep->addr = a; rep->is_write = is_write;
    san_report(buf);
  }
  int wild = (char*)a >= stacks && (char*)a < stacks_end ? 2 : 0;  // another thread's locals
  for (int m = 0; m < nmod; ++m) if ((char*)a >= mod_lo[m] && (char*)a < mod_hi[m]) {
    if ((char*)a >= __start_emu_globals && (char*)a < __stop_emu_globals) {
      // a __device__ / __constant__ variable: its bounds are its symbol's size
      Dl_info di; ElfW(Sym)* sym = nullptr;
      if (dladdr1((void*)a, &di, (void**)&sym, RTLD_DL_SYMENT) && sym && di.dli_saddr && di.dli_sname &&
          a < (uintptr_t)di.dli_saddr + sym->st_size && a + size > (uintptr_t)di.dli_saddr + sym->st_size) {
        snprintf(buf, sizeof buf, "out-of-bounds access (memcheck: Invalid __global__ %s of size %zu bytes): "
                 "thread (%u,%u,%u) of block (%u,%u,%u) %s %zu bytes at byte offset %lld of the __device__ "
                 "variable `%s` (%llu bytes), past its end", access, size, cur->tid.x, cur->tid.y, cur->tid.z,
                 block_idx.x, block_idx.y, block_idx.z, rw, size, (long long)(a - (uintptr_t)di.dli_saddr),
                 di.dli_sname, (unsigned long long)sym->st_size);
        rep->addr = a; rep->is_write = is_write;
        san_report(buf);
      }
      return;
    }
    // the module's own data (string literals, the emulator's state) unless it is __shared__: reading it is
    // fine; a kernel never writes there (a wild pointer, e.g. an uninitialised local pointer)
    if (!((char*)a >= __start_emu_shared && (char*)a < __stop_emu_shared)) {
      if (!is_write) return;
      wild = 1;
    }
  }
  int i = find_region(a);
  if (i >= 0 && a + size <= regions[i].start + regions[i].size) {
    Region& r = regions[i];
    unsigned long long off = a - r.start;
    if (r.init) {
      if (!is_write || atomic) {
        for (size_t k = 0; k < size; ++k) if (!r.init[off + k]) {
          fmt_region(rb, sizeof rb, r);
          unsigned t[3] = {cur->tid.x, cur->tid.y, cur->tid.z};
          // __shared__: maybe a thread writes it later in this barrier interval -- a race, reported as such
          if (r.kind != 0 && !atomic && smem_race) {
            if (!pending_uninit.valid)
              pending_uninit = PendingUninit{1, {t[0], t[1], t[2]}, off, r.size, size, r.kind};
            break;
          }
          report_uninit(t, size, off, rb, r.kind);
        }
      }
      if (is_write) memset(r.init + off, 1, size);
    }
    if (r.kind != 0 && !atomic && smem_race) {
      size_t base = (r.kind == 1 ? 0 : (size_t)(__stop_emu_shared - __start_emu_shared)) + off;
      int t = cur->lin, w = t / 32;
      for (size_t k = 0; k < size; ++k) {
        RaceCell& c = smem_race[base + k];
        int other = -1; const char* kind = nullptr; int same_warp = 0;
        if (c.wt >= 0 && c.wt != t && c.we == block_epoch) {
          same_warp = c.wt / 32 == w;
          if (!same_warp || c.wwe == warp_epoch[w]) { other = c.wt; kind = is_write ? "write-after-write" : "read-after-write"; }
        }
        if (!kind && is_write && c.rt != -1 && c.rt != t && c.re == block_epoch) {
          same_warp = c.rt >= 0 && c.rt / 32 == w;
          if (!same_warp || c.rwe == warp_epoch[w]) { other = c.rt; kind = "write-after-read"; }
        }
        if (kind) {
          fmt_region(rb, sizeof rb, r);
          char ob[96];
          if (other >= 0) { unsigned o[3]; tid_of(other, o); snprintf(ob, sizeof ob, "thread (%u,%u,%u)", o[0], o[1], o[2]); }
          else snprintf(ob, sizeof ob, "other threads");
          snprintf(buf, sizeof buf, "shared-memory race (racecheck: %s hazard): thread (%u,%u,%u) of block "
                   "(%u,%u,%u) %s byte %llu of %s, which %s %s since the last barrier%s",
                   kind, cur->tid.x, cur->tid.y, cur->tid.z, block_idx.x, block_idx.y, block_idx.z, rw,
                   (unsigned long long)(off + k), rb, ob, strcmp(kind, "write-after-read") == 0 ? "read" : "wrote",
                   same_warp ? ". Both are lanes of the same warp, and since Volta (sm_70) the lanes of a warp are "
                   "not implicitly synchronous: a missing __syncwarp() (the old `volatile` warp-synchronous "
                   "idiom is such a race: put __syncwarp() between its steps or use __shfl_down_sync)" :
                   ": a missing __syncthreads() between the write and the read?");
          san_report(buf);
        }
        if (is_write) { c.wt = t; c.we = block_epoch; c.wwe = warp_epoch[w]; }
        else if (c.re != block_epoch || c.rt == -1) { c.rt = t; c.re = block_epoch; c.rwe = warp_epoch[w]; }
        else if (c.rt != t) { c.rt = -2; }
      }
    }
    // Random interleaving: before a store (the hook runs before the access), switch to another
    // thread now and then, so that a read-modify-write without an atomic loses updates visibly, as
    // on a GPU (sanitizer builds use -O0, so the load and the store stay separate instructions).
    if (is_write && !atomic && (rnd() & 3) == 0) yield();
    return;
  }
  // out of bounds of every known buffer: name the nearest one
  int j = i; long long past = 0; const char* dir = "past its end";
  if (i >= 0) past = (long long)(a + size - regions[i].start - regions[i].size);  // beyond, or straddles the end
  if (i + 1 < nregions && (i < 0 || (unsigned long long)(regions[i + 1].start - a) < (unsigned long long)past)) {
    j = i + 1; past = (long long)(regions[j].start - a); dir = "before its start";
  }
  if (!wild && j >= 0 && past <= (long long)(1 << 20)) {
    fmt_region(rb, sizeof rb, regions[j]);
    long long off = (long long)a - (long long)regions[j].start;
    snprintf(buf, sizeof buf, "out-of-bounds access (memcheck: Invalid %s %s of size %zu bytes): thread "
             "(%u,%u,%u) of block (%u,%u,%u) %s %zu bytes at byte offset %lld of %s, %lld bytes %s. A missing "
             "`if (i < n)` guard, or an index computed wrongly?", space_of(regions[j].kind), access, size,
             cur->tid.x, cur->tid.y, cur->tid.z, block_idx.x, block_idx.y, block_idx.z, rw, size, off, rb, past, dir);
  } else {
    snprintf(buf, sizeof buf, "illegal address (memcheck: Invalid __global__ %s of size %zu bytes): thread "
             "(%u,%u,%u) of block (%u,%u,%u) %s %zu bytes at 0x%llx, which is not device memory (no mem_alloc / "
             "drv.In / drv.Out buffer there): %s", access, size, cur->tid.x, cur->tid.y, cur->tid.z,
             block_idx.x, block_idx.y, block_idx.z, rw, size, (unsigned long long)a, wild == 2 ?
             "it is another thread's local memory (an uninitialised pointer variable?)" : "@HOSTHINT");
  }
  rep->addr = a; rep->is_write = is_write;
  san_report(buf);
}
}  // namespace __emu

extern "C" {
#define EMU_HOOK(n) \
  EMU_RT void __asan_load##n##_noabort(uintptr_t a) { __emu::check_access(a, n, 0, 0); } \
  EMU_RT void __asan_store##n##_noabort(uintptr_t a) { __emu::check_access(a, n, 1, 0); } \
  EMU_RT void __asan_load##n(uintptr_t a) { __emu::check_access(a, n, 0, 0); } \
  EMU_RT void __asan_store##n(uintptr_t a) { __emu::check_access(a, n, 1, 0); }
EMU_HOOK(1) EMU_HOOK(2) EMU_HOOK(4) EMU_HOOK(8) EMU_HOOK(16)
EMU_RT void __asan_loadN_noabort(uintptr_t a, size_t n) { __emu::check_access(a, n, 0, 0); }
EMU_RT void __asan_storeN_noabort(uintptr_t a, size_t n) { __emu::check_access(a, n, 1, 0); }
EMU_RT void __asan_loadN(uintptr_t a, size_t n) { __emu::check_access(a, n, 0, 0); }
EMU_RT void __asan_storeN(uintptr_t a, size_t n) { __emu::check_access(a, n, 1, 0); }
EMU_RT void __asan_handle_no_return() {}
EMU_RT void __asan_before_dynamic_init(const char*) {}
EMU_RT void __asan_after_dynamic_init() {}
EMU_RT void* __asan_memcpy(void* d, const void* s, size_t n) {
  __emu::check_access((uintptr_t)s, n, 0, 0, 0); __emu::check_access((uintptr_t)d, n, 1, 0, 0); return memcpy(d, s, n);
}
EMU_RT void* __asan_memmove(void* d, const void* s, size_t n) {
  __emu::check_access((uintptr_t)s, n, 0, 0, 0); __emu::check_access((uintptr_t)d, n, 1, 0, 0); return memmove(d, s, n);
}
EMU_RT void* __asan_memset(void* d, int c, size_t n) { __emu::check_access((uintptr_t)d, n, 1, 0, 0); return memset(d, c, n); }
// device-side assert(): report like CUDA's "device-side assert triggered" (then the child exits)
EMU_RT void __assert_fail(const char* expr, const char* file, unsigned line, const char* fn) throw() {
  __emu::where();
  snprintf(__emu::rep->msg, sizeof __emu::rep->msg, "device-side assert triggered: thread (%u,%u,%u) of block "
           "(%u,%u,%u): %s:%u: %s: Assertion `%s' failed.", __emu::rep->tid[0], __emu::rep->tid[1],
           __emu::rep->tid[2], __emu::rep->bid[0], __emu::rep->bid[1], __emu::rep->bid[2], file, line, fn, expr);
  __emu::die(__emu::ST_ERROR);
}
EMU_RT void __trap() { __assert_fail("__trap()", "kernel", 0, "__trap"); }
}

namespace __emu {
// ------------------------------------------------------------------------------------- barriers, warps
EMU_RT static void early_return() { if (cur && in_fiber) cur->early = 1; }
EMU_RT static int block_barrier(int kind, int pred) {
  cur->site = __builtin_return_address(0);
  cur->op = kind; cur->val = (unsigned long long)pred; cur->state = AT_BLOCK_BAR;
  yield();
  return (int)cur->result;
}
EMU_RT static unsigned long long warp_op(int op, unsigned mask, unsigned long long val, int src) {
  cur->op = op; cur->mask = mask; cur->val = val; cur->src = src; cur->state = AT_WARP_BAR;
  yield();
  return cur->result;
}
static inline unsigned lane_id() { return (unsigned)cur->lin & 31u; }

EMU_RT static void launch_error(const char* m) { where(); snprintf(rep->msg, sizeof rep->msg, "%s", m); die(ST_ERROR); }

// Release every complete group of lanes waiting at a warp collective; 1 if any was released.
EMU_RT static int release_warps(int n) {
  int released = 0; char buf[1024];
  for (int lo = 0; lo < n; lo += 32) {
    int hi = std::min(lo + 32, n), w = lo / 32;
    unsigned exist = hi - lo == 32 ? 0xffffffffu : ((1u << (hi - lo)) - 1u);
    unsigned waiting = 0, exited = 0;
    for (int t = lo; t < hi; ++t) {
      if (fibers[t].state == AT_WARP_BAR) waiting |= 1u << (t - lo);
      if (fibers[t].state == DONE) exited |= 1u << (t - lo);
    }
    while (waiting) {
      int l = __builtin_ctz(waiting);
      Fiber& f = fibers[lo + l];
      unsigned m = f.mask;
      if (!(m & (1u << l))) {
        snprintf(buf, sizeof buf, "thread %d (lane %d of warp %d) called a warp collective (__shfl_*_sync, "
                 "__syncwarp, __ballot_sync, ...) with mask 0x%08x that does not include its own lane", lo + l, l, w, m);
        cur = &f; launch_error(buf);
      }
      if (m & ~exist) {
        if (sanitizing) {
          snprintf(buf, sizeof buf, "warp collective with mask 0x%08x in warp %d of a block of %d threads: lanes "
                   "0x%08x do not exist (the last warp is partial), which is undefined behaviour on a GPU; "
                   "compute the mask, e.g. __ballot_sync(0xffffffff, i < n) or (1u << active) - 1", m, w, n, m & ~exist);
          cur = &f; launch_error(buf);
        }
        m &= exist;
      }
      if (m & exited) {
        snprintf(buf, sizeof buf, "warp collective (__shfl_*_sync/__syncwarp/__ballot_sync) in warp %d with mask "
                 "0x%08x: lanes 0x%08x have already exited (returned), which is undefined behaviour on a GPU; "
                 "pass only the lanes that take part, e.g. mask = __ballot_sync(0xffffffff, i < n) before the "
                 "early exit", w, f.mask, m & exited);
        cur = &f; launch_error(buf);
      }
      if ((waiting & m) != m) { waiting &= ~m; waiting &= ~(1u << l); continue; }  // not all there yet
      // every lane of the group is waiting: compute the results
      unsigned ballot = 0;
      for (int k = 0; k < 32; ++k) if (m & (1u << k)) {
        Fiber& g = fibers[lo + k];
        if (g.mask != f.mask && sanitizing) {
          snprintf(buf, sizeof buf, "lanes %d and %d of warp %d meet at a warp collective with different masks "
                   "(0x%08x vs 0x%08x): undefined behaviour on a GPU", l, k, w, f.mask, g.mask);
          cur = &g; launch_error(buf);
        }
        if (g.op == OP_BALLOT && g.val) ballot |= 1u << k;
      }
      for (int k = 0; k < 32; ++k) if (m & (1u << k)) {
        Fiber& g = fibers[lo + k];
        if (g.op == OP_SHFL) {
          int s = g.src;
          if (s < 0 || s >= 32 || !(m & (1u << s))) {
            if (sanitizing && s >= 0 && s < 32 && s != k) {
              snprintf(buf, sizeof buf, "thread %d (lane %d of warp %d) shuffles from lane %d, which is not in "
                       "the mask 0x%08x (or does not exist): the value is undefined on a GPU", lo + k, k, w, s, f.mask);
              cur = &g; launch_error(buf);
            }
            g.result = g.val;
          } else {
            g.result = fibers[lo + s].val;
          }
        } else if (g.op == OP_BALLOT) {
          g.result = ballot;
        } else if (g.op == OP_MATCH) {
          unsigned r = 0;
          for (int q = 0; q < 32; ++q) if ((m & (1u << q)) && fibers[lo + q].val == g.val) r |= 1u << q;
          g.result = r;
        } else {
          g.result = 0;
        }
        g.state = RUNNABLE;
      }
      ++warp_epoch[w % 32];
      released = 1;
      waiting &= ~m;
    }
  }
  return released;
}

// ------------------------------------------------------------------------------------- pre-emption
static volatile unsigned long long switches = 0, seen_switches = ~0ull;
EMU_RT static void on_tick(int, siginfo_t*, void* uc) {
  if (!in_fiber || !cur) return;
  if (switches != seen_switches) { seen_switches = switches; return; }
#if defined(__x86_64__)
  ucontext_t* u = (ucontext_t*)uc;
  char* pc = (char*)u->uc_mcontext.gregs[REG_RIP];
  char* sp = (char*)u->uc_mcontext.gregs[REG_RSP];
  if (pc >= (char*)&__emu_switch && pc < __emu_switch_end) return;
  if (sp < cur->stack_lo || sp >= cur->stack_hi) return;
  // this thread has run for a whole tick without reaching a barrier: let the others run (Volta's
  // independent thread scheduling guarantees them progress, e.g. to set the flag it spins on)
  seen_switches = ~0ull;
  in_fiber = 0;
  yield();
#else
  (void)uc;
#endif
}
EMU_RT static void on_fault(int sig, siginfo_t* si, void* uc) {
  where();
  rep->sig = sig; rep->addr = (unsigned long long)si->si_addr;
#if defined(__x86_64__)
  ucontext_t* u = (ucontext_t*)uc;
  rep->pc = (unsigned long long)u->uc_mcontext.gregs[REG_RIP];
  rep->is_write = (u->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#endif
  char* fsp = nullptr;
#if defined(__x86_64__)
  fsp = (char*)((ucontext_t*)uc)->uc_mcontext.gregs[REG_RSP];
#endif
  if (cur && in_fiber && (((char*)si->si_addr >= cur->stack_lo - 4096 && (char*)si->si_addr < cur->stack_lo) ||
                          (fsp && fsp < cur->stack_lo && fsp > cur->stack_lo - (64 << 20))))
    snprintf(rep->msg, sizeof rep->msg, "stack overflow: thread (%u,%u,%u) of block (%u,%u,%u) used more than "
             "its %zu KiB of stack (large local arrays?); the emulator's limit is set with "
             "emulator.configure(stack_kib=...)", cur->tid.x, cur->tid.y, cur->tid.z, block_idx.x, block_idx.y,
             block_idx.z, stack_bytes >> 10);
  die(ST_SIGNAL);
}
static char altstack[1 << 16];
EMU_RT static void install_handlers(int preempt_ms) {
  stack_t ss; ss.ss_sp = altstack; ss.ss_size = sizeof altstack; ss.ss_flags = 0; sigaltstack(&ss, nullptr);
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault; sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER; sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
  for (int s : sigs) sigaction(s, &sa, nullptr);
  if (preempt_ms > 0) {
    struct sigaction st; memset(&st, 0, sizeof st);
    st.sa_sigaction = on_tick; st.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER; sigemptyset(&st.sa_mask);
    sigaction(SIGVTALRM, &st, nullptr);
    struct itimerval it; it.it_interval.tv_sec = 0; it.it_interval.tv_usec = preempt_ms * 1000;
    it.it_value = it.it_interval; setitimer(ITIMER_VIRTUAL, &it, nullptr);
  }
}
EMU_RT static int find_module(struct dl_phdr_info* info, size_t, void*) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& p = info->dlpi_phdr[i];
    if (p.p_type != PT_LOAD) continue;
    char* lo = (char*)(info->dlpi_addr + p.p_vaddr); char* hi = lo + p.p_memsz;
    if ((char*)&fibers >= lo && (char*)&fibers < hi) {
      for (int k = 0; k < info->dlpi_phnum && nmod < 8; ++k) {
        const ElfW(Phdr)& q = info->dlpi_phdr[k];
        if (q.p_type == PT_LOAD) { mod_lo[nmod] = (char*)(info->dlpi_addr + q.p_vaddr); mod_hi[nmod++] = mod_lo[nmod - 1] + q.p_memsz; }
      }
      return 1;
    }
  }
  return 0;
}

// ------------------------------------------------------------------------------------- one block
EMU_RT static void start_block(int n) {
  size_t ssize = (size_t)(__stop_emu_shared - __start_emu_shared);
  if (sanitizing) {
    block_epoch = 1; memset(warp_epoch, 0, sizeof warp_epoch); pending_uninit.valid = 0;
    memset(__start_emu_shared, 0xFF, ssize);  // poison: fresh __shared__ memory is undefined
    if (dyn_smem_size) memset(dyn_smem, 0xFF, dyn_smem_size);
    memset(smem_init, 0, ssize + dyn_smem_size);
    for (size_t k = 0; k < ssize + dyn_smem_size; ++k) smem_race[k] = RaceCell{-1, -1, 0, 0, 0, 0};
  }
  for (int t = 0; t < n; ++t) {
    Fiber& f = fibers[t];
    f.tid = {(unsigned)(t % block_dim.x), (unsigned)(t / block_dim.x % block_dim.y),
             (unsigned)(t / (block_dim.x * block_dim.y))};
    f.lin = t; f.state = RUNNABLE; f.early = 0; f.site = nullptr;
    f.stack_lo = stacks + (size_t)t * (stack_bytes + 4096) + 4096;
    f.stack_hi = f.stack_lo + stack_bytes;
    fiber_init(f);
    order[t] = t;
  }
}
// synccheck: every thread still running must reach the same __syncthreads(). The CUDA Programming Guide
// allows __syncthreads() in conditional code only if the condition evaluates identically across the
// block; threads that have exited (a `return` of the kernel, the guard-and-return idiom) do not count.
// A thread that ran off the end of the kernel while others wait here passed this barrier by.
EMU_RT static void check_barrier(int n) {
  int first = -1, passer = -1, other_site = -1, waiting = 0, passers = 0;
  for (int t = 0; t < n; ++t) {
    Fiber& f = fibers[t];
    if (f.state == AT_BLOCK_BAR) {
      ++waiting;
      if (first < 0) first = t;
      else if (f.site != fibers[first].site && other_site < 0) other_site = t;
    } else if (f.state == DONE && !f.early) {
      ++passers;
      if (passer < 0) passer = t;
    }
  }
  if (passer < 0 && other_site < 0) return;
  char buf[3000]; unsigned a[3], b[3];
  tid_of(first, a); tid_of(passer >= 0 ? passer : other_site, b);
  if (passer >= 0)
    snprintf(buf, sizeof buf, "barrier error (synccheck: Divergent thread(s) in block): in block (%u,%u,%u), %d "
             "threads wait at a __syncthreads() (e.g. thread (%u,%u,%u)) that %d threads, still running, passed by "
             "and then finished the kernel (e.g. thread (%u,%u,%u)). A __syncthreads() in conditional code is "
             "allowed only if the condition evaluates identically across the whole thread block; threads that "
             "have exited (`return` before the barrier: the guard-and-return idiom) do not count. Move the "
             "barrier out of the branch (or the loop whose trip count differs between threads)",
             block_idx.x, block_idx.y, block_idx.z, waiting, a[0], a[1], a[2], passers, b[0], b[1], b[2]);
  else
    snprintf(buf, sizeof buf, "barrier error (synccheck: Divergent thread(s) in block): in block (%u,%u,%u), "
             "thread (%u,%u,%u) and thread (%u,%u,%u) wait at two different __syncthreads() calls. All threads of "
             "a block must reach the same barrier (a __syncthreads() in conditional code is allowed only if the "
             "condition evaluates identically across the whole thread block)", block_idx.x, block_idx.y,
             block_idx.z, a[0], a[1], a[2], b[0], b[1], b[2]);
  cur = nullptr; rep->tid[0] = a[0]; rep->tid[1] = a[1]; rep->tid[2] = a[2];
  rep->bid[0] = block_idx.x; rep->bid[1] = block_idx.y; rep->bid[2] = block_idx.z;
  snprintf(rep->msg, sizeof rep->msg, "%s", buf);
  die(ST_SANITIZER);
}
EMU_RT static void run_block(int n) {
  nthreads_cur = n;
  start_block(n);
  char buf[1024];
  for (;;) {
    if (sanitizing) for (int k = n - 1; k > 0; --k) { int j = (int)(rnd() % (unsigned)(k + 1)); std::swap(order[k], order[j]); }
    bool progressed = false;
    for (int k = 0; k < n; ++k) {
      int t = order[k];
      if (fibers[t].state != RUNNABLE) continue;
      cur = &fibers[t];
      ++switches;
      in_fiber = 1;
      EMU_SWITCH(&sched_sp, cur->sp);
      in_fiber = 0;
      progressed = true;
    }
    int done = 0, at_block = 0, at_warp = 0;
    for (int t = 0; t < n; ++t) {
      int s = fibers[t].state;
      done += s == DONE; at_block += s == AT_BLOCK_BAR; at_warp += s == AT_WARP_BAR;
    }
    if (done == n) { if (sanitizing) flush_pending_uninit(); return; }
    if (at_warp && release_warps(n)) continue;
    if (at_block > 0 && at_block + done == n) {
      // Volta+: the barrier counts the threads that have not exited
      if (sanitizing) { flush_pending_uninit(); check_barrier(n); }
      int count = 0, all = 1, any = 0;
      for (int t = 0; t < n; ++t) if (fibers[t].state == AT_BLOCK_BAR) { int p = (int)fibers[t].val; count += p; all &= p; any |= p; }
      for (int t = 0; t < n; ++t) if (fibers[t].state == AT_BLOCK_BAR) {
        Fiber& f = fibers[t];
        f.result = f.op == 1 ? count : f.op == 2 ? all : f.op == 3 ? any : 0;
        f.state = RUNNABLE;
      }
      ++block_epoch;
      continue;
    }
    if (!progressed || (at_block + at_warp + done == n)) {
      int first_block = -1, first_warp = -1;
      for (int t = 0; t < n; ++t) {
        if (fibers[t].state == AT_BLOCK_BAR && first_block < 0) first_block = t;
        if (fibers[t].state == AT_WARP_BAR && first_warp < 0) first_warp = t;
      }
      snprintf(buf, sizeof buf, "deadlock in block (%u,%u,%u): %d threads wait at __syncthreads() (e.g. thread %d), "
               "%d at a warp collective (e.g. thread %d, mask 0x%08x), %d exited: the threads wait for each other at "
               "different barriers -- a barrier inside a branch that not every thread takes?", block_idx.x, block_idx.y,
               block_idx.z, at_block, first_block, at_warp, first_warp, first_warp >= 0 ? fibers[first_warp].mask : 0u, done);
      cur = nullptr; launch_error(buf);
    }
  }
}
}  // namespace __emu

// ------------------------------------------------------------------------------------- warp intrinsics
template <class T> static inline T __emu_shfl(unsigned mask, T v, int src) {
  static_assert(sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
  unsigned long long bits = 0; memcpy(&bits, &v, sizeof(T));
  unsigned long long got = __emu::warp_op(__emu::OP_SHFL, mask, bits, src);
  T out; memcpy(&out, &got, sizeof(T)); return out;
}
template <class T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  int lane = (int)__emu::lane_id(), seg = lane / width * width, src = lane + (int)delta;
  return __emu_shfl(mask, v, src >= seg + width ? lane : src);
}
template <class T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  int lane = (int)__emu::lane_id(), seg = lane / width * width, src = lane - (int)delta;
  return __emu_shfl(mask, v, src < seg ? lane : src);
}
template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32) {
  int lane = (int)__emu::lane_id(), seg = lane / width * width, src = lane ^ m;
  return __emu_shfl(mask, v, (src < seg || src >= seg + width) ? lane : src);
}
template <class T> static inline T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  int lane = (int)__emu::lane_id(), seg = lane / width * width;
  return __emu_shfl(mask, v, seg + (src_lane % width + width) % width);
}
static inline void __syncwarp(unsigned mask = 0xffffffffu) { __emu::warp_op(__emu::OP_SYNC, mask, 0, 0); }
static inline unsigned __ballot_sync(unsigned mask, int p) { return (unsigned)__emu::warp_op(__emu::OP_BALLOT, mask, p != 0, 0); }
static inline int __any_sync(unsigned mask, int p) { return __ballot_sync(mask, p) != 0; }
static inline int __all_sync(unsigned mask, int p) { return __ballot_sync(mask, !p) == 0; }
static inline unsigned __activemask() {  // the lanes of this warp that have not exited
  int lo = __emu::cur->lin & ~31; unsigned m = 0;
  for (int k = 0; k < 32 && lo + k < __emu::nthreads_cur; ++k) if (__emu::fibers[lo + k].state != __emu::DONE) m |= 1u << k;
  return m;
}
template <class T> static inline unsigned __match_any_sync(unsigned mask, T v) {
  unsigned long long bits = 0; memcpy(&bits, &v, sizeof(T));
  return (unsigned)__emu::warp_op(__emu::OP_MATCH, mask, bits, 0);
}
static inline unsigned __lanemask_lt() { return (1u << __emu::lane_id()) - 1u; }

// ------------------------------------------------------------------------------------- atomics
// Fibers of one block share one OS thread and switch only at barriers or a pre-emption tick: a
// read-modify-write here is never interleaved with another thread's (ticks are blocked inside).
#define EMU_ATOMIC_BEGIN(p) __emu::check_access((uintptr_t)(p), sizeof(*(p)), 1, 1); int __emu_f = __emu::in_fiber; __emu::in_fiber = 0;
#define EMU_ATOMIC_END __emu::in_fiber = __emu_f;
template <class T> EMU_INL T atomicAdd(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; *p = o + v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicSub(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; *p = o - v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicMax(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; if (v > o) *p = v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicMin(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; if (v < o) *p = v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicExch(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; *p = v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicAnd(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; *p = o & v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicOr(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; *p = o | v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicXor(T* p, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; *p = o ^ v; EMU_ATOMIC_END return o; }
template <class T> EMU_INL T atomicCAS(T* p, T c, T v) { EMU_ATOMIC_BEGIN(p) T o = *p; if (o == c) *p = v; EMU_ATOMIC_END return o; }
EMU_INL unsigned atomicInc(unsigned* p, unsigned v) { EMU_ATOMIC_BEGIN(p) unsigned o = *p; *p = o >= v ? 0 : o + 1; EMU_ATOMIC_END return o; }
EMU_INL unsigned atomicDec(unsigned* p, unsigned v) { EMU_ATOMIC_BEGIN(p) unsigned o = *p; *p = (o == 0 || o > v) ? v : o - 1; EMU_ATOMIC_END return o; }
// mixed-type calls such as atomicAdd(&unsigned_counter, 1) resolve like CUDA's overloads
EMU_INL unsigned atomicAdd(unsigned* p, int v) { return atomicAdd<unsigned>(p, (unsigned)v); }
EMU_INL unsigned long long atomicAdd(unsigned long long* p, int v) { return atomicAdd<unsigned long long>(p, (unsigned long long)v); }
EMU_INL float atomicAdd(float* p, double v) { return atomicAdd<float>(p, (float)v); }
EMU_INL int atomicAdd(int* p, unsigned v) { return atomicAdd<int>(p, (int)v); }

// ------------------------------------------------------------------------------------- thunks
// The parameter buffer is laid out as cuLaunchKernel expects (each parameter at its natural alignment);
// the compiler deduces the kernel's parameter types, so no signature has to be parsed.
namespace __emu {
struct ParamInfo { int size, align, kind; };  // kind: 0 pointer, 1 float, 2 signed, 3 unsigned, 4 bool, 5 other
template <class T> constexpr int kind_of() {
  return std::is_pointer<T>::value ? 0 : std::is_floating_point<T>::value ? 1 : std::is_same<T, bool>::value ? 4
       : std::is_integral<T>::value ? (std::is_signed<T>::value ? 2 : 3) : 5;
}
template <class T> EMU_RT T load_arg(const char* b, size_t& off) {
  off = (off + alignof(T) - 1) / alignof(T) * alignof(T);
  T v; memcpy((void*)&v, b + off, sizeof(T)); off += sizeof(T); return v;
}
template <class... A> EMU_RT void call(void (*f)(A...), const char* b) {
  size_t off = 0;
  std::tuple<typename std::decay<A>::type...> t{load_arg<typename std::decay<A>::type>(b, off)...};
  std::apply(f, t);
}
template <class... A> EMU_RT const ParamInfo* info(void (*)(A...), int* n) {
  static const ParamInfo i[] = {{(int)sizeof(typename std::decay<A>::type), (int)alignof(typename std::decay<A>::type),
                                 kind_of<typename std::decay<A>::type>()}..., {0, 0, 0}};
  *n = (int)sizeof...(A); return i;
}
}  // namespace __emu
#define EMU_THUNK(name, id) \
  extern "C" __attribute__((visibility("default"), no_sanitize_address)) void __emu_thunk_##id(const char* b) { \
    __emu::call(&name, b); } \
  extern "C" __attribute__((visibility("default"), no_sanitize_address)) const __emu::ParamInfo* __emu_info_##id(int* n) { \
    return __emu::info(&name, n); }

// ------------------------------------------------------------------------------------- dynamic parallelism
// `k<<<g, b, shm>>>(args)` in device code (emulator.py rewrites it to __emu::dlaunch(&k, g, b, shm)(args)):
// the child grid is queued and runs after the grid that launched it (a parent grid is complete only when
// its children are; children start in any order on a GPU).  The arguments are packed like a host launch's.
namespace __emu {
struct Pending { void (*thunk)(const char*); char* args; dim3 g, b; size_t shm; };
static Pending* pending = nullptr;
static size_t npending = 0, cap_pending = 0, next_pending = 0;
template <class T> EMU_RT void store_arg(char* b, size_t& off, const T& v) {
  off = (off + alignof(T) - 1) / alignof(T) * alignof(T);
  memcpy(b + off, (const void*)&v, sizeof(T)); off += sizeof(T);
}
template <class... A> EMU_RT void dyn_thunk(const char* b) {
  void (*f)(A...); memcpy((void*)&f, b, sizeof f); call(f, b + 16);
}
template <class... A> struct DevLaunch {
  void (*f)(A...); dim3 g, b; size_t shm;
  template <class... B> EMU_RT void operator()(B... args) const {
    static_assert(sizeof...(A) == sizeof...(B), "wrong number of arguments in a <<<...>>> launch");
    int was = in_fiber; in_fiber = 0;
    char* buf = (char*)calloc(1, 16 + (sizeof(typename std::decay<A>::type) + ... + 16) + 16 * sizeof...(A));
    memcpy(buf, (const void*)&f, sizeof f);
    size_t off = 0;
    (store_arg<typename std::decay<A>::type>(buf + 16, off, (typename std::decay<A>::type)args), ...);
    if (npending == cap_pending) {
      cap_pending = cap_pending ? 2 * cap_pending : 64;
      pending = (Pending*)realloc(pending, cap_pending * sizeof(Pending));
    }
    pending[npending++] = Pending{&dyn_thunk<A...>, buf, g, b, shm};
    in_fiber = was;
  }
};
template <class... A> EMU_RT DevLaunch<A...> dlaunch(void (*f)(A...), dim3 g, dim3 b, size_t shm = 0, void* = nullptr) {
  return DevLaunch<A...>{f, g, b, shm};
}
}  // namespace __emu

// ------------------------------------------------------------------------------------- launch
extern "C" EMU_API
size_t __emu_static_smem() { return (size_t)(__emu::__stop_emu_shared - __emu::__start_emu_shared) - 16; }
extern "C" EMU_API
char* __emu_globals_range(size_t* n) { *n = (size_t)(__emu::__stop_emu_globals - __emu::__start_emu_globals); return __emu::__start_emu_globals; }

namespace __emu { EMU_RT static void run_grid(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz); }
// Runs the whole grid in this (child) process; returns a status (ST_*) with the report filled in.
extern "C" EMU_API
int __emu_launch(void (*thunk)(const char*), const char* args, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                 unsigned by, unsigned bz, size_t shared_bytes, __emu::Config* config) {
  using namespace __emu;
  cfg = *config; rep = cfg.report; sanitizing = cfg.sanitize;
  rng_state = cfg.seed * 0x9E3779B97F4A7C15ull + 1;
  unsigned long long nthreads = (unsigned long long)bx * by * bz;
  size_t ssize = (size_t)(__stop_emu_shared - __start_emu_shared);
  stack_bytes = (cfg.stack_bytes + 4095) & ~(size_t)4095;
  install_handlers(cfg.preempt_ms);
  dl_iterate_phdr(find_module, nullptr);
  stacks = (char*)mmap(nullptr, (stack_bytes + 4096) * nthreads, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (stacks == MAP_FAILED) { snprintf(rep->msg, sizeof rep->msg, "out of memory for %llu fiber stacks", nthreads); return ST_ERROR; }
  stacks_end = stacks + (stack_bytes + 4096) * nthreads;
  for (unsigned long long t = 0; t < nthreads; ++t) mprotect(stacks + t * (stack_bytes + 4096), 4096, PROT_NONE);
  dyn_smem_size = shared_bytes;
  dyn_smem = (char*)aligned_alloc(256, (shared_bytes + 256) / 256 * 256);
  if (sanitizing) {
    nregions = std::min(cfg.nregions, 4096);
    memcpy(regions, cfg.regions, sizeof(Region) * nregions);
    smem_init = (unsigned char*)calloc(ssize + shared_bytes + 1, 1);
    smem_race = (RaceCell*)calloc(ssize + shared_bytes + 1, sizeof(RaceCell));
    Region s1 = {(unsigned long long)__start_emu_shared, ssize, smem_init, -1, 1};
    Region s2 = {(unsigned long long)dyn_smem, shared_bytes, smem_init + ssize, -2, 2};
    regions[nregions++] = s1;
    if (shared_bytes) regions[nregions++] = s2;
    std::sort(regions, regions + nregions, [](const Region& a, const Region& b) { return a.start < b.start; });
  }
  __emu::thunk = thunk; thunk_args = args;
  run_grid(gx, gy, gz, bx, by, bz);
  size_t stack_threads = nthreads;
  while (next_pending < npending) {  // grids launched by kernels (dynamic parallelism), in launch order
    Pending pd = pending[next_pending++];
    unsigned long long n2 = (unsigned long long)pd.b.x * pd.b.y * pd.b.z;
    if (n2 < 1 || n2 > 1024 || pd.g.x < 1 || pd.g.y < 1 || pd.g.z < 1 || pd.shm > dyn_smem_size) {
      snprintf(rep->msg, sizeof rep->msg, "a launch from device code (dynamic parallelism) has an invalid "
               "configuration: grid (%u,%u,%u), block (%u,%u,%u), %zu bytes of dynamic shared memory (the emulator "
               "allows at most the parent launch's %zu)", pd.g.x, pd.g.y, pd.g.z, pd.b.x, pd.b.y, pd.b.z, pd.shm,
               dyn_smem_size);
      return ST_ERROR;
    }
    if (n2 > stack_threads) {
      stacks = (char*)mmap(nullptr, (stack_bytes + 4096) * n2, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (stacks == MAP_FAILED) { snprintf(rep->msg, sizeof rep->msg, "out of memory for fiber stacks"); return ST_ERROR; }
      stacks_end = stacks + (stack_bytes + 4096) * n2;
      for (unsigned long long t = 0; t < n2; ++t) mprotect(stacks + t * (stack_bytes + 4096), 4096, PROT_NONE);
      stack_threads = n2;
    }
    __emu::thunk = pd.thunk; thunk_args = pd.args;
    run_grid(pd.g.x, pd.g.y, pd.g.z, pd.b.x, pd.b.y, pd.b.z);
  }
  fflush(stdout);
  return ST_OK;
}

namespace __emu {
EMU_RT static void run_grid(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz) {
  unsigned long long nthreads = (unsigned long long)bx * by * bz;
  grid_dim = make_uint3(gx, gy, gz); block_dim = make_uint3(bx, by, bz);
  unsigned long long nblocks = (unsigned long long)gx * gy * gz;
  // random block order in sanitizer mode: k -> (a k + b) mod nblocks with gcd(a, nblocks) = 1
  unsigned long long a = 1, b = 0;
  if (sanitizing && nblocks > 1) {
    b = rnd() % nblocks;
    for (int tries = 0; tries < 64; ++tries) {
      unsigned long long c = rnd() % nblocks | 1, x = c, y = nblocks;
      while (y) { unsigned long long r = x % y; x = y; y = r; }
      if (x == 1) { a = c; break; }
    }
  }
  for (unsigned long long k = 0; k < nblocks; ++k) {
    unsigned long long lin = (unsigned long long)(((unsigned __int128)a * k + b) % nblocks);
    block_idx = make_uint3((unsigned)(lin % gx), (unsigned)(lin / gx % gy), (unsigned)(lin / ((unsigned long long)gx * gy)));
    rep->bid[0] = block_idx.x; rep->bid[1] = block_idx.y; rep->bid[2] = block_idx.z;
    run_block((int)nthreads);
    rep->blocks_done = k + 1; rep->switches = switches;
  }
}
}  // namespace __emu
