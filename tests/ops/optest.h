/* Helpers for operator unit tests: build one-node graphs by hand, run infer() and run() directly.
 * Included by tests/ops/test_*.c after cmocka.h (header-only: each test binary is one file). */
#ifndef ADX_OPTEST_H
#define ADX_OPTEST_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ir.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define FVALS(...) ((const float[]){__VA_ARGS__})
#define IVALS(...) ((const int64_t[]){__VA_ARGS__})

static inline adx_attr ot_int(const char *name, int64_t v) {
  adx_attr a = {0};
  a.name = strdup(name);
  a.type = ADX_ATTR_INT;
  a.i = v;
  return a;
}
static inline adx_attr ot_float(const char *name, float v) {
  adx_attr a = {0};
  a.name = strdup(name);
  a.type = ADX_ATTR_FLOAT;
  a.f = v;
  return a;
}
static inline adx_attr ot_str(const char *name, const char *s) {
  adx_attr a = {0};
  a.name = strdup(name);
  a.type = ADX_ATTR_STRING;
  a.s = strdup(s);
  return a;
}
static inline adx_attr ot_ints(const char *name, int n, const int64_t *v) {
  adx_attr a = {0};
  a.name = strdup(name);
  a.type = ADX_ATTR_INTS;
  a.n = n;
  a.ints = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  if (n) memcpy(a.ints, v, sizeof(int64_t) * (size_t)n);
  return a;
}
static inline adx_attr ot_floats(const char *name, int n, const float *v) {
  adx_attr a = {0};
  a.name = strdup(name);
  a.type = ADX_ATTR_FLOATS;
  a.n = n;
  a.floats = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (n) memcpy(a.floats, v, sizeof(float) * (size_t)n);
  return a;
}
/* A tensor attribute (Constant's value, ConstantOfShape's value). */
static inline adx_attr ot_tensor_attr(const char *name, adx_dtype dt, int nd, const int64_t *dims,
                                      const void *data) {
  adx_attr a = {0};
  a.name = strdup(name);
  a.type = ADX_ATTR_TENSOR;
  assert_int_equal(adx_tensor_alloc(&a.t, dt, nd, dims, NULL), ADX_OK);
  memcpy(a.t.data, data, (size_t)adx_tensor_numel(&a.t) * adx_dtype_size(dt));
  return a;
}

/* A malloc'd attribute array from n attributes (the graph takes it over). */
static inline adx_attr *ot_attrs(int n, ...) {
  adx_attr *a = calloc((size_t)(n ? n : 1), sizeof *a);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) a[i] = va_arg(ap, adx_attr);
  va_end(ap);
  return a;
}

/* A non-constant value with a shape (batched: dim 0 is the batch). */
static inline int ot_in(adx_graph *g, const char *name, adx_dtype dt, int nd, const int64_t *dims,
                        int batched) {
  int v = adx_graph_value(g, name);
  assert_true(v >= 0);
  adx_value_set(&g->values[v], dt, nd, dims, batched);
  g->values[v].is_input = 1;
  return v;
}

static inline int ot_const(adx_graph *g, const char *name, adx_dtype dt, int nd, const int64_t *dims,
                           const void *data) {
  int v = adx_graph_value(g, name);
  assert_true(v >= 0);
  adx_value *val = &g->values[v];
  assert_int_equal(adx_tensor_alloc(&val->cval, dt, nd, dims, NULL), ADX_OK);
  memcpy(val->cval.data, data, (size_t)adx_tensor_numel(&val->cval) * adx_dtype_size(dt));
  val->is_const = 1;
  adx_value_set(val, dt, nd, dims, 0);
  return v;
}

/* Add a node; ins/outs are comma-separated value names ("" for an absent optional input). */
static inline int ot_node(adx_graph *g, const char *op, const char *ins, const char *outs, int nattrs,
                          adx_attr *attrs) {
  int in[16], out[16], nin = 0, nout = 0;
  const char *lists[2] = {ins, outs};
  for (int l = 0; l < 2; l++) {
    const char *s = lists[l];
    while (s && *s) {
      const char *e = strchr(s, ',');
      size_t len = e ? (size_t)(e - s) : strlen(s);
      char name[128];
      snprintf(name, sizeof name, "%.*s", (int)len, s);
      int v = len ? adx_graph_value(g, name) : -1;
      if (l == 0)
        in[nin++] = v;
      else
        out[nout++] = v;
      s = e ? e + 1 : NULL;
    }
  }
  char nname[160];
  snprintf(nname, sizeof nname, "%s_node", op);
  int ni = adx_graph_add_node(g, nname, op, nin, in, nout, out, nattrs, attrs);
  assert_true(ni >= 0);
  assert_non_null(g->nodes[ni].op);
  return ni;
}

static inline adx_status ot_infer(adx_graph *g, int ni, adx_error *err) {
  adx_node *n = &g->nodes[ni];
  return n->op->infer(g, n, err);
}

/* Infer, allocate outputs (outs[nout], caller frees with ot_free), run. args[k] gives input k; NULL
 * means "the constant, or absent". */
static inline adx_status ot_run(adx_graph *g, int ni, const adx_tensor *const *args, adx_tensor *outs,
                                int threads, adx_error *err) {
  adx_node *n = &g->nodes[ni];
  adx_status s = n->op->infer(g, n, err);
  if (s) return s;
  const adx_tensor *in[16] = {0};
  adx_tensor *out[16] = {0};
  for (int k = 0; k < n->nin; k++) {
    if (args && args[k])
      in[k] = args[k];
    else if (n->in[k] >= 0 && g->values[n->in[k]].is_const)
      in[k] = &g->values[n->in[k]].cval;
  }
  for (int k = 0; k < n->nout; k++) {
    memset(&outs[k], 0, sizeof outs[k]);
    if (n->out[k] < 0) continue;
    adx_value *v = &g->values[n->out[k]];
    assert_int_equal(adx_tensor_alloc(&outs[k], v->dtype, v->ndim, v->dims, NULL), ADX_OK);
    out[k] = &outs[k];
  }
  size_t sb = n->op->scratch ? n->op->scratch(g, n, threads) : 0;
  void *scratch = adx_alloc(sb);
  adx_op_ctx ctx = {scratch, sb, threads, 0, NULL};
  s = n->op->run(n, in, out, &ctx, err);
  adx_free(scratch);
  return s;
}

static inline void ot_free(adx_tensor *t, int n) {
  for (int i = 0; i < n; i++) adx_tensor_free(&t[i]);
}

static inline adx_tensor ot_tensor(adx_dtype dt, int nd, const int64_t *dims, const void *data) {
  adx_tensor t;
  assert_int_equal(adx_tensor_alloc(&t, dt, nd, dims, NULL), ADX_OK);
  if (data) memcpy(t.data, data, (size_t)adx_tensor_numel(&t) * adx_dtype_size(dt));
  return t;
}

/* Deterministic pseudo-random floats in [-2, 2). */
static inline void ot_fill(float *x, int64_t n, unsigned seed) {
  uint32_t s = seed * 2654435761u + 1u;
  for (int64_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = (float)((s >> 8) & 0xffff) / 16384.f - 2.f;
  }
}

static inline void ot_dims_eq(const adx_value *v, int nd, const int64_t *dims) {
  assert_int_equal(v->ndim, nd);
  for (int i = 0; i < nd; i++) assert_int_equal(v->dims[i], dims[i]);
}

static inline void ot_near(const float *got, const float *want, int64_t n, double tol) {
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - (double)want[i]);
    if (!(d <= tol * (1.0 + fabs((double)want[i]))))
      fail_msg("element %lld: got %.9g, want %.9g", (long long)i, (double)got[i], (double)want[i]);
  }
}

static inline void ot_ieq(const int64_t *got, const int64_t *want, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (got[i] != want[i])
      fail_msg("element %lld: got %lld, want %lld", (long long)i, (long long)got[i], (long long)want[i]);
}

/* The error message must mention each of the given fragments. */
static inline void ot_msg_has(const adx_error *e, const char *frag) {
  if (!strstr(e->msg, frag)) fail_msg("message '%s' lacks '%s'", e->msg, frag);
}

#endif
