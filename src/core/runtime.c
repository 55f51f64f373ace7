/* Threads, clock. */
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

double adx_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
