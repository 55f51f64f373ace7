/* Softmax. Before opset 13 the input is flattened to 2-D at `axis` (default 1) and each row is
 * normalised; from opset 13 on, it normalises along the single axis `axis` (default -1).
 * Both are "outer x n x inner" with the normalised run of n elements at stride inner. */
#include <math.h>

#include "op_util.h"
#include "ops.h"

typedef struct softmax_params {
  int axis;   /* normalised */
  int legacy; /* opset < 13: everything from axis on is one row */
} softmax_params;

static adx_status infer_softmax(adx_graph *g, adx_node *n, adx_error *err) {
  softmax_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  adx_value *x = adx_node_in(g, n, 0);
  if (!x) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input");
  if (x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' must be float32", x->name);
  p->legacy = g->opset > 0 && g->opset < 13;
  int64_t axis = adx_attr_int(n, "axis", p->legacy ? 1 : -1);
  int rank = x->ndim;
  if (rank == 0) {
    p->axis = 0;
  } else if (p->legacy ? (axis < -rank || axis > rank) : adx_ops_axis(axis, rank, &p->axis)) {
    return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axis, rank);
  } else if (p->legacy) {
    p->axis = (int)(axis < 0 ? axis + rank : axis);
  }
  if (p->axis == 0 && rank > 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, x->ndim, x->dims, x->batched);
  return ADX_OK;
}

static adx_status run_softmax(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                              adx_op_ctx *ctx, adx_error *err) {
  const softmax_params *p = n->params;
  const adx_tensor *X = in[0];
  const int r = X->ndim;
  int64_t outer = adx_ops_prod(X->dims, 0, p->axis), cnt, inner;
  if (r == 0) {
    outer = cnt = inner = 1;
  } else if (p->legacy) {
    cnt = adx_ops_prod(X->dims, p->axis, r);
    inner = 1;
  } else {
    cnt = X->dims[p->axis];
    inner = adx_ops_prod(X->dims, p->axis + 1, r);
  }
  if (cnt == 0) return ADX_OK;
  const float *x = adx_f32(X);
  float *y = adx_f32(out[0]);
  if (inner == 1) { /* contiguous rows: the classifier case */
    const int nt = adx_ops_threads(ctx, outer * cnt);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
      const float *xs = x + o * cnt;
      float *ys = y + o * cnt;
      float mx = xs[0];
      for (int64_t k = 1; k < cnt; k++) mx = fmaxf(mx, xs[k]);
      float sum = 0.f;
      for (int64_t k = 0; k < cnt; k++) {
        ys[k] = expf(xs[k] - mx);
        sum += ys[k];
      }
      const float inv = 1.f / sum;
      for (int64_t k = 0; k < cnt; k++) ys[k] *= inv;
    }
    return ADX_OK;
  }
  /* Strided runs: normalise SM_BLOCK neighbouring runs together so memory is walked contiguously. */
  enum { SM_BLOCK = 256 };
  const int64_t nblk = (inner + SM_BLOCK - 1) / SM_BLOCK, ntasks = outer * nblk;
  const int nt = adx_ops_threads(ctx, outer * cnt * inner);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t t = 0; t < ntasks; t++) {
    const int64_t o = t / nblk, i0 = (t % nblk) * SM_BLOCK;
    const int64_t w = inner - i0 < SM_BLOCK ? inner - i0 : SM_BLOCK;
    const float *xs = x + o * cnt * inner + i0;
    float *ys = y + o * cnt * inner + i0;
    float mx[SM_BLOCK], sum[SM_BLOCK];
    for (int64_t i = 0; i < w; i++) {
      mx[i] = xs[i];
      sum[i] = 0.f;
    }
    for (int64_t k = 1; k < cnt; k++)
      for (int64_t i = 0; i < w; i++) mx[i] = fmaxf(mx[i], xs[k * inner + i]);
    for (int64_t k = 0; k < cnt; k++)
      for (int64_t i = 0; i < w; i++) {
        float e = expf(xs[k * inner + i] - mx[i]);
        ys[k * inner + i] = e;
        sum[i] += e;
      }
    for (int64_t i = 0; i < w; i++) sum[i] = 1.f / sum[i];
    for (int64_t k = 0; k < cnt; k++)
      for (int64_t i = 0; i < w; i++) ys[k * inner + i] *= sum[i];
  }
  return ADX_OK;
}

static double flops_softmax(const adx_graph *g, const adx_node *n) { return 3.0 * adx_ops_out_numel(g, n); }

const adx_op adx_op_softmax = {.name = "Softmax",
                               .min_in = 1,
                               .max_in = 1,
                               .min_out = 1,
                               .max_out = 1,
                               .infer = infer_softmax,
                               .run = run_softmax,
                               .flops = flops_softmax,
                               .ad = ADX_AD_PLAIN};
