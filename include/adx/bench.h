/* adx bench's timing of one convolution layer against a same-run cblas_sgemm of the same M, N, K
 * (src/ops/conv_bench.c): the public face of the conv kernels, so that the CLI needs no ops internals. */
#ifndef ADX_BENCH_H
#define ADX_BENCH_H

#include "adx/ir.h"

typedef struct adx_conv_timing {
  char shape[64];      /* "CxHxW->M (k,s,g)" */
  char impl[48];       /* oneDNN's kernel name ("" when only the BLAS path was timed) */
  double gflop;        /* per batch */
  double adx_gflops;   /* the path the engine takes (oneDNN, or BLAS under ADX_CONV=blas); < 0: failed */
  double blas_gflops;  /* the BLAS reference path (im2col + cblas_sgemm) */
  double sgemm_gflops; /* cblas_sgemm of the same M, N = OH*OW, K, per sample */
} adx_conv_timing;

/* Time node `node` of g at `batch` with `threads` threads for about `seconds` each (the graph prepared
 * at some batch), alternating the paths so that load from other processes hits all alike. lib: also time
 * the oneDNN path and report it as adx_gflops. Returns 0 and fills *t for a Conv, -1 for any other node. */
int adx_conv_node_bench(const adx_graph *g, int node, int batch, int threads, double seconds, int lib,
                        adx_conv_timing *t);

/* The convolution path this process takes, for `adx info --build`: "oneDNN 2.6.3 (ADX_CONV=dnnl, ...)" or the
 * BLAS reference path (ADX_CONV=blas). */
void adx_conv_backend_describe(char *buf, size_t len);

#endif
