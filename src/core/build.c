/* What CPU the binary was compiled for: the instruction-set extensions the compiler was allowed to use
 * (make ARCH=...; -march=native by default), from its predefined macros, and a run-time check that this
 * CPU has them, so that a binary built on a newer login node says why instead of dying with SIGILL. */
#include <stdio.h>
#include <string.h>

#include "adx/core.h"

/* X(name as in /proc/cpuinfo and __builtin_cpu_supports, compiled in?) */
#if defined(__x86_64__)
#ifdef __SSSE3__
#define ADX_C_SSSE3 1
#else
#define ADX_C_SSSE3 0
#endif
#ifdef __SSE4_2__
#define ADX_C_SSE42 1
#else
#define ADX_C_SSE42 0
#endif
#ifdef __POPCNT__
#define ADX_C_POPCNT 1
#else
#define ADX_C_POPCNT 0
#endif
#ifdef __AVX__
#define ADX_C_AVX 1
#else
#define ADX_C_AVX 0
#endif
#ifdef __AVX2__
#define ADX_C_AVX2 1
#else
#define ADX_C_AVX2 0
#endif
#ifdef __FMA__
#define ADX_C_FMA 1
#else
#define ADX_C_FMA 0
#endif
#ifdef __BMI2__
#define ADX_C_BMI2 1
#else
#define ADX_C_BMI2 0
#endif
#ifdef __AVX512F__
#define ADX_C_AVX512F 1
#else
#define ADX_C_AVX512F 0
#endif
#ifdef __AVX512BW__
#define ADX_C_AVX512BW 1
#else
#define ADX_C_AVX512BW 0
#endif
#ifdef __AVX512VL__
#define ADX_C_AVX512VL 1
#else
#define ADX_C_AVX512VL 0
#endif
#ifdef __AVX512DQ__
#define ADX_C_AVX512DQ 1
#else
#define ADX_C_AVX512DQ 0
#endif
#ifdef __AVX512VNNI__
#define ADX_C_AVX512VNNI 1
#else
#define ADX_C_AVX512VNNI 0
#endif
#define ADX_FEATURES(X)                                                                                      \
  X("ssse3", ADX_C_SSSE3)                                                                                    \
  X("sse4.2", ADX_C_SSE42)                                                                                   \
  X("popcnt", ADX_C_POPCNT)                                                                                  \
  X("avx", ADX_C_AVX)                                                                                        \
  X("avx2", ADX_C_AVX2)                                                                                      \
  X("fma", ADX_C_FMA)                                                                                        \
  X("bmi2", ADX_C_BMI2)                                                                                      \
  X("avx512f", ADX_C_AVX512F)                                                                                \
  X("avx512bw", ADX_C_AVX512BW)                                                                              \
  X("avx512vl", ADX_C_AVX512VL)                                                                              \
  X("avx512dq", ADX_C_AVX512DQ)                                                                              \
  X("avx512vnni", ADX_C_AVX512VNNI)
#define ADX_ISA "x86-64"
#else
#define ADX_FEATURES(X)
#if defined(__aarch64__)
#define ADX_ISA "aarch64"
#else
#define ADX_ISA "unknown"
#endif
#endif

const char *adx_build_cpu(void) { return ADX_ISA; }

size_t adx_build_cpu_features(char *buf, size_t len) {
  size_t k = (size_t)snprintf(buf, len, "%s", ADX_ISA);
#define X(name, on)                                                                                          \
  if ((on) && k < len) k += (size_t)snprintf(buf + k, len - k, " %s", name);
  ADX_FEATURES(X)
#undef X
  return k;
}

int adx_build_cpu_missing(char *buf, size_t len) {
  int missing = 0;
  size_t k = 0;
  if (len) buf[0] = '\0';
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
#define X(name, on)                                                                                          \
  if ((on) && !__builtin_cpu_supports(name)) {                                                               \
    missing++;                                                                                               \
    if (k < len) k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? " " : "", name);                        \
  }
  ADX_FEATURES(X)
#undef X
#endif
  return missing;
}
