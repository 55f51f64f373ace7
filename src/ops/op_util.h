/* Internal: small helpers shared by the non-window operator files (activation, binary, shape, ...).
 * Everything here is static inline so no symbol leaves the object files. */
#ifndef ADX_OP_UTIL_H
#define ADX_OP_UTIL_H

#include <string.h>

#include "adx/ir.h"

/* Elementwise loops go parallel only above this many elements (below it threads cost more). */
#define ADX_OP_PAR_MIN 32768

/* Threads to use for `work` elements. */
static inline int adx_ops_threads(const adx_op_ctx *ctx, int64_t work) {
  return (ctx && ctx->threads > 1 && work > ADX_OP_PAR_MIN) ? ctx->threads : 1;
}

/* The node's parsed parameters, allocated zeroed on first use (infer() runs again on batch changes). */
static inline void *adx_ops_params(adx_node *n, size_t bytes) {
  if (!n->params) n->params = adx_calloc(bytes);
  return n->params;
}

/* Normalise an axis in [-rank, rank) to [0, rank). Returns 0 on success, -1 out of range. */
static inline int adx_ops_axis(int64_t axis, int rank, int *out) {
  if (axis < -rank || axis >= rank) return -1;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return 0;
}

/* Product of dims[from..to). */
static inline int64_t adx_ops_prod(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= dims[i];
  return p;
}

/* Row-major element strides. */
static inline void adx_ops_strides(const int64_t *dims, int nd, int64_t *st) {
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    st[i] = s;
    s *= dims[i];
  }
}

/* The constant int64 list held by input i: returns its element count and sets *v;
 * -1 when the input is absent, -2 when it is not a constant int64 tensor. */
static inline int adx_ops_const_ints(struct adx_graph *g, const adx_node *n, int i, const int64_t **v) {
  adx_value *x = adx_node_in(g, n, i);
  if (!x) return -1;
  if (!x->is_const || x->cval.dtype != ADX_I64 || !x->cval.data) return -2;
  *v = adx_i64(&x->cval);
  return (int)adx_tensor_numel(&x->cval);
}

/* The graph is being inferred at a batch size other than the model's own, and v carries the batch. */
static inline int adx_ops_batch_changed(const struct adx_graph *g, const adx_value *v) {
  return v && v->batched && g->batch != g->declared_batch;
}

static inline adx_status adx_ops_fail_batch(const struct adx_graph *g, const adx_node *n, adx_error *err) {
  return adx_node_fail(
      n, err, ADX_ERR_UNSUPPORTED,
      "operates across the batch dimension, so it cannot run at batch %lld (model batch %lld)",
      (long long)g->batch, (long long)g->declared_batch);
}

/* Copy src into dst unless the engine made them share storage. */
static inline void adx_ops_copy(adx_tensor *dst, const adx_tensor *src) {
  size_t bytes = (size_t)adx_tensor_numel(src) * adx_dtype_size(src->dtype);
  if (dst->data != src->data && bytes) memmove(dst->data, src->data, bytes);
}

/* Output element count, as flops() for elementwise operators. */
static inline double adx_ops_out_numel(const struct adx_graph *g, const adx_node *n) {
  return (double)adx_value_numel(&g->values[n->out[0]]);
}

#endif
