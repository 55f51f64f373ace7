/* Threads, logging, clock. */
#include <cblas.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adx/core.h"

int adx_threads_get(void) { return omp_get_max_threads(); }

void adx_threads_set(int n) {
  if (n > 0) omp_set_num_threads(n);
  /* adx parallelises around BLAS calls; BLAS itself must not start threads inside them. */
  openblas_set_num_threads(1);
}

static adx_log_level log_threshold(void) {
  const char *s = getenv("ADX_LOG");
  if (!s) return ADX_LOG_WARN;
  if (!strcmp(s, "error")) return ADX_LOG_ERROR;
  if (!strcmp(s, "info")) return ADX_LOG_INFO;
  if (!strcmp(s, "debug")) return ADX_LOG_DEBUG;
  return ADX_LOG_WARN;
}

void adx_log(adx_log_level level, const char *fmt, ...) {
  if (level > log_threshold()) return;
  static const char *const names[] = {"error", "warning", "info", "debug"};
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "adx: %s: %s\n", names[level], line);
}

double adx_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
