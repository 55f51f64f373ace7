/* Hand-built models for the explainer tests (no ONNX file: built with the graph API, whose outputs can be
 * derived by hand).
 *
 * pattern model, x[1,1,S,S] -> Conv(4x4 kernel = PATTERN, no pad, stride 1) -> Relu -> GlobalMaxPool
 *   -> Flatten -> Gemm: logits = [0, a * (score - b)], score = max over positions of the correlation of
 *   the image with PATTERN.
 * fraction model, x[1,1,H,W] -> GlobalAveragePool -> Flatten -> Gemm: logits = [0, a * (mean(x) - t)].
 *   With an image of ones under fill:zero, mean(x) is exactly the visible fraction. */
#ifndef TINY_GRAPHS_H
#define TINY_GRAPHS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ir.h"
#include "adx/model.h" /* adx_graph_prepare */

/* Every row and column sums to zero (so a constant fill over a straight cut of a window adds nothing), and
 * the largest off-peak (shifted) correlation is 2 against the peak 16: found by exhaustive search over
 * the 4x4 +-1 patterns with zero row and column sums. */
static const float TG_PATTERN[16] = {1, 1, -1, -1, 1, -1, 1, -1, -1, -1, 1, 1, -1, 1, -1, 1};

static inline int tg_const(adx_graph *g, const char *name, int ndim, const int64_t *dims, const float *data) {
  int v = adx_graph_value(g, name);
  adx_error err = {0};
  if (adx_tensor_alloc(&g->values[v].cval, ADX_F32, ndim, dims, &err)) {
    fprintf(stderr, "tg_const %s: %s\n", name, err.msg);
    abort();
  }
  memcpy(g->values[v].cval.data, data, sizeof(float) * (size_t)adx_tensor_numel(&g->values[v].cval));
  adx_value_set(&g->values[v], ADX_F32, ndim, dims, 0);
  g->values[v].is_const = 1;
  return v;
}

static inline adx_attr tg_ints(const char *name, int n, const int64_t *v) {
  adx_attr a;
  memset(&a, 0, sizeof a);
  a.name = strdup(name);
  a.type = ADX_ATTR_INTS;
  a.n = n;
  a.ints = malloc(sizeof(int64_t) * (size_t)n);
  memcpy(a.ints, v, sizeof(int64_t) * (size_t)n);
  return a;
}

static inline int tg_input(adx_graph *g, int H, int W) {
  int x = adx_graph_value(g, "x");
  int64_t xd[4] = {1, 1, H, W};
  adx_value_set(&g->values[x], ADX_F32, 4, xd, 1);
  g->values[x].is_input = 1;
  return x;
}

/* Flatten -> Gemm [1] x [1,2] + [2] producing logits [0, a*v - ab] from the pooled value p; finishes g. */
static inline adx_graph *tg_head(adx_graph *g, int x, int p, float a, float ab) {
  int f = adx_graph_value(g, "flat"), o = adx_graph_value(g, "logits");
  int64_t bd[2] = {1, 2}, cd[1] = {2};
  float bw[2] = {0, a}, cb[2] = {0, -ab};
  int bm = tg_const(g, "gemm_b", 2, bd, bw), cm = tg_const(g, "gemm_c", 1, cd, cb);
  adx_graph_add_node(g, "flatten", "Flatten", 1, &p, 1, &f, 0, NULL);
  int gin[3] = {f, bm, cm};
  adx_graph_add_node(g, "gemm", "Gemm", 3, gin, 1, &o, 0, NULL);
  g->ninputs = g->noutputs = 1;
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->outputs[0] = o;
  g->values[o].is_output = 1;
  g->declared_batch = 1;
  adx_error err = {0};
  if (adx_graph_prepare(g, &err)) {
    fprintf(stderr, "tiny graph: %s\n", err.msg);
    abort();
  }
  return g;
}

static inline adx_graph *tg_pattern_model(int S, float a, float b) {
  adx_graph *g = adx_graph_new();
  int x = tg_input(g, S, S);
  int64_t wd[4] = {1, 1, 4, 4};
  int w = tg_const(g, "pattern", 4, wd, TG_PATTERN);
  int y = adx_graph_value(g, "conv"), r = adx_graph_value(g, "relu"), p = adx_graph_value(g, "pool");
  adx_attr *ca = malloc(sizeof *ca);
  int64_t ks[2] = {4, 4};
  ca[0] = tg_ints("kernel_shape", 2, ks);
  int cin[2] = {x, w};
  adx_graph_add_node(g, "conv", "Conv", 2, cin, 1, &y, 1, ca);
  adx_graph_add_node(g, "relu", "Relu", 1, &y, 1, &r, 0, NULL);
  adx_graph_add_node(g, "gmp", "GlobalMaxPool", 1, &r, 1, &p, 0, NULL);
  return tg_head(g, x, p, a, a * b);
}

static inline adx_graph *tg_fraction_model(int H, int W, float a, float t) {
  adx_graph *g = adx_graph_new();
  int x = tg_input(g, H, W);
  int p = adx_graph_value(g, "pool");
  adx_graph_add_node(g, "gap", "GlobalAveragePool", 1, &x, 1, &p, 0, NULL);
  return tg_head(g, x, p, a, a * t);
}

#endif
