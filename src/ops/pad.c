/* Pad: constant, reflect and edge modes, float32 and int64. Pads (and the constant value) are
 * attributes before opset 11 and inputs after; opset 18 adds an optional axes input. Negative pads
 * crop. Each output row (last dim) is a left border, a copied middle and a right border. */
#include <stdint.h>

#include "op_util.h"
#include "ops.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE };

typedef struct pad_params {
  int mode;
  int64_t begin[ADX_MAX_DIMS], end[ADX_MAX_DIMS];
  float fvalue; /* constant from the attribute (opset < 11) */
} pad_params;

static adx_status infer_pad(adx_graph *g, adx_node *n, adx_error *err) {
  pad_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  adx_value *x = adx_node_in(g, n, 0);
  if (!x) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input");
  if (x->dtype != ADX_F32 && x->dtype != ADX_I64)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' has an unsupported element type", x->name);
  const char *mode = adx_attr_str(n, "mode", "constant");
  if (!strcmp(mode, "constant"))
    p->mode = PAD_CONSTANT;
  else if (!strcmp(mode, "reflect"))
    p->mode = PAD_REFLECT;
  else if (!strcmp(mode, "edge"))
    p->mode = PAD_EDGE;
  else
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
  p->fvalue = adx_attr_float(n, "value", 0.f);
  const int r = x->ndim;
  const int64_t *pv, *av = NULL;
  int np = adx_attr_ints(n, "pads", &pv), na = -1;
  if (np < 0) {
    np = adx_ops_const_ints(g, n, 1, &pv);
    if (np == -1) return adx_node_fail(n, err, ADX_ERR_ARG, "no pads (input or attribute)");
    if (np == -2) return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "pads must be a constant int64 tensor");
    if ((na = adx_ops_const_ints(g, n, 3, &av)) == -2)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "axes must be a constant int64 tensor");
  }
  adx_value *cv = adx_node_in(g, n, 2);
  if (cv && (cv->dtype != x->dtype || adx_value_numel(cv) != 1))
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "constant_value '%s' must be a scalar of the input's type",
                         cv->name);
  const int k = na >= 0 ? na : r;
  if (np != 2 * k) return adx_node_fail(n, err, ADX_ERR_SHAPE, "%d pads for %d axes (need %d)", np, k, 2 * k);
  for (int d = 0; d < r; d++) p->begin[d] = p->end[d] = 0;
  for (int i = 0; i < k; i++) {
    int a = i;
    if (na >= 0 && adx_ops_axis(av[i], r, &a))
      return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)av[i], r);
    p->begin[a] = pv[i];
    p->end[a] = pv[i + k];
  }
  int64_t dims[ADX_MAX_DIMS];
  for (int d = 0; d < r; d++) {
    dims[d] = x->dims[d] + p->begin[d] + p->end[d];
    if (dims[d] < 0)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "pads crop axis %d of size %lld below zero", d,
                           (long long)x->dims[d]);
    if (p->mode != PAD_CONSTANT && x->dims[d] == 0 && dims[d] > 0)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "cannot %s-pad the empty axis %d", mode, d);
  }
  const int touches0 = r > 0 && (p->begin[0] != 0 || p->end[0] != 0);
  if (touches0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  adx_value_set(adx_node_out(g, n, 0), x->dtype, r, dims, x->batched && !touches0);
  return ADX_OK;
}

/* Source index of output index i along an axis of size D with `b` leading pads; -1 = constant. */
static int64_t map_index(int64_t i, int64_t b, int64_t D, int mode) {
  int64_t j = i - b;
  if (j >= 0 && j < D) return j;
  if (mode == PAD_CONSTANT) return -1;
  if (mode == PAD_EDGE || D == 1) return j < 0 ? 0 : D - 1;
  const int64_t period = 2 * (D - 1); /* reflect without repeating the border */
  j %= period;
  if (j < 0) j += period;
  return j < D ? j : period - j;
}

static void fill(char *dst, const void *val, int64_t cnt, size_t es) {
  for (int64_t i = 0; i < cnt; i++) memcpy(dst + (size_t)i * es, val, es);
}

static adx_status run_pad(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                          adx_op_ctx *ctx, adx_error *err) {
  const pad_params *p = n->params;
  const adx_tensor *X = in[0];
  adx_tensor *Y = out[0];
  const int r = X->ndim;
  const size_t es = adx_dtype_size(X->dtype);
  union {
    float f;
    int64_t i;
  } val;
  if (X->dtype == ADX_F32)
    val.f = (n->nin > 2 && in[2]) ? adx_f32(in[2])[0] : p->fvalue;
  else
    val.i = (n->nin > 2 && in[2]) ? adx_i64(in[2])[0] : (int64_t)p->fvalue;
  const int64_t total = adx_tensor_numel(Y);
  if (total == 0) return ADX_OK;
  if (r == 0) {
    adx_ops_copy(Y, X);
    return ADX_OK;
  }
  int64_t ist[ADX_MAX_DIMS];
  adx_ops_strides(X->dims, r, ist);
  const int64_t L = Y->dims[r - 1], D = X->dims[r - 1], b = p->begin[r - 1], rows = total / L;
  /* The copied middle of each row: output [m0, m1) from input [m0 - b, m1 - b). */
  int64_t m0 = b > 0 ? b : 0, m1 = b + D < L ? b + D : L;
  if (m1 < m0) m1 = m0;
  const char *x = X->data;
  char *y = Y->data;
  const int nt = adx_ops_threads(ctx, total);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t row = 0; row < rows; row++) {
    char *yr = y + (size_t)(row * L) * es;
    int64_t off = 0, rem = row;
    int outside = 0;
    for (int d = r - 2; d >= 0; d--) {
      int64_t j = map_index(rem % Y->dims[d], p->begin[d], X->dims[d], p->mode);
      rem /= Y->dims[d];
      if (j < 0)
        outside = 1;
      else
        off += j * ist[d];
    }
    if (outside) {
      fill(yr, &val, L, es);
      continue;
    }
    const char *xr = x + (size_t)off * es;
    if (m1 > m0) memcpy(yr + (size_t)m0 * es, xr + (size_t)(m0 - b) * es, (size_t)(m1 - m0) * es);
    for (int64_t i = 0; i < L; i++) {
      if (i == m0 && m1 > m0) i = m1;
      if (i >= L) break;
      int64_t j = map_index(i, b, D, p->mode);
      if (j < 0)
        memcpy(yr + (size_t)i * es, &val, es);
      else
        memcpy(yr + (size_t)i * es, xr + (size_t)j * es, es);
    }
  }
  return ADX_OK;
}

const adx_op adx_op_pad = {.name = "Pad",
                           .min_in = 1,
                           .max_in = 4,
                           .min_out = 1,
                           .max_out = 1,
                           .infer = infer_pad,
                           .run = run_pad,
                           .ad = ADX_AD_PAD};

int adx_pad_spatial(const adx_node *n, int *top, int *left, int *bottom, int *right) {
  const pad_params *p = n->params;
  if (!p || strcmp(n->op_type, "Pad")) return 0;
  if (p->begin[0] || p->end[0] || p->begin[1] || p->end[1]) return 0; /* batch or channels padded */
  *top = (int)p->begin[2];
  *left = (int)p->begin[3];
  *bottom = (int)p->end[2];
  *right = (int)p->end[3];
  int none = !*top && !*left && !*bottom && !*right;
  if (*top < 0 || *left < 0 || *bottom < 0 || *right < 0) return 0; /* cropping */
  return p->mode == PAD_CONSTANT || none;
}
