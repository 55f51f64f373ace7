/* ReduceMean, and LayerNormalization (below). ReduceMean's axes come from the `axes` attribute (opset < 18)
 * or the optional constant second input (opset 18); none means all axes (or nothing with
 * noop_with_empty_axes=1). Adjacent dims with the same role are merged first, so the usual cases (H,W of
 * NCHW; the last dim) are one contiguous reduction. */
#include <math.h>

#include "op_util.h"
#include "ops.h"

typedef struct reduce_params {
  int nd;                    /* input rank */
  uint8_t red[ADX_MAX_DIMS]; /* 1 = reduced axis */
} reduce_params;

static adx_status infer_reducemean(adx_graph *g, adx_node *n, adx_error *err) {
  reduce_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  adx_value *x = adx_node_in(g, n, 0);
  if (!x) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input");
  if (x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' must be float32", x->name);
  const int64_t *axes = NULL;
  int na = adx_attr_ints(n, "axes", &axes);
  if (na < 0) {
    na = adx_ops_const_ints(g, n, 1, &axes);
    if (na == -2)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "axes input must be a constant int64 tensor");
  }
  const int r = x->ndim;
  p->nd = r;
  memset(p->red, 0, sizeof p->red);
  if (na <= 0) {
    int noop = adx_attr_int(n, "noop_with_empty_axes", 0) != 0;
    for (int i = 0; i < r; i++) p->red[i] = !noop;
  } else {
    for (int k = 0; k < na; k++) {
      int a;
      if (adx_ops_axis(axes[k], r, &a))
        return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d", (long long)axes[k],
                             r);
      p->red[a] = 1;
    }
  }
  if (r > 0 && p->red[0] && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  const int keep = adx_attr_int(n, "keepdims", 1) != 0;
  int64_t dims[ADX_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < r; i++) {
    if (!p->red[i])
      dims[nd++] = x->dims[i];
    else if (keep)
      dims[nd++] = 1;
  }
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, nd, dims, x->batched && r > 0 && !p->red[0]);
  return ADX_OK;
}

static adx_status run_reducemean(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                                 adx_op_ctx *ctx, adx_error *err) {
  const reduce_params *p = n->params;
  const adx_tensor *X = in[0];
  const float *x = adx_f32(X);
  float *y = adx_f32(out[0]);
  const int64_t total = adx_tensor_numel(X), nout = adx_tensor_numel(out[0]);
  if (nout == 0) return ADX_OK;
  /* Merge adjacent dims of the same role (size-1 dims join either). */
  int64_t md[ADX_MAX_DIMS];
  uint8_t mr[ADX_MAX_DIMS];
  int m = 0;
  for (int i = 0; i < X->ndim; i++) {
    if (X->dims[i] == 1) continue;
    if (m > 0 && mr[m - 1] == p->red[i]) {
      md[m - 1] *= X->dims[i];
    } else {
      md[m] = X->dims[i];
      mr[m++] = p->red[i];
    }
  }
  const int64_t rcount = nout ? total / nout : 0;
  if (rcount == 0) { /* mean over nothing */
    for (int64_t i = 0; i < nout; i++) y[i] = NAN;
    return ADX_OK;
  }
  const float scale = 1.f / (float)rcount;
  int s = 0; /* skip a leading kept group: it is the outer loop */
  int64_t outer = 1;
  if (m > 0 && !mr[0]) outer = md[s++];
  if (m - s <= 2 && (m == s || mr[s])) {
    /* [outer] x reduce x [inner] */
    const int64_t R = m > s ? md[s] : 1, inner = m - s == 2 ? md[s + 1] : 1;
    const int nt = adx_ops_threads(ctx, total);
    if (inner == 1) {
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
      for (int64_t o = 0; o < outer; o++) {
        const float *xs = x + o * R;
        float acc = 0.f;
        for (int64_t k = 0; k < R; k++) acc += xs[k];
        y[o] = acc * scale;
      }
    } else {
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
      for (int64_t o = 0; o < outer; o++) {
        float *ys = y + o * inner;
        for (int64_t i = 0; i < inner; i++) ys[i] = 0.f;
        for (int64_t k = 0; k < R; k++) {
          const float *xs = x + (o * R + k) * inner;
          for (int64_t i = 0; i < inner; i++) ys[i] += xs[i];
        }
        for (int64_t i = 0; i < inner; i++) ys[i] *= scale;
      }
    }
    return ADX_OK;
  }
  /* General: walk the input once, accumulating into the output through kept-dim strides. */
  int64_t ost[ADX_MAX_DIMS], acc = 1;
  for (int i = m - 1; i >= 0; i--) {
    ost[i] = mr[i] ? 0 : acc;
    if (!mr[i]) acc *= md[i];
  }
  for (int64_t i = 0; i < nout; i++) y[i] = 0.f;
  int64_t idx[ADX_MAX_DIMS] = {0}, off = 0;
  for (int64_t e = 0; e < total; e++) {
    y[off] += x[e];
    for (int d = m - 1; d >= 0; d--) {
      off += ost[d];
      if (++idx[d] < md[d]) break;
      off -= ost[d] * md[d];
      idx[d] = 0;
    }
  }
  for (int64_t i = 0; i < nout; i++) y[i] *= scale;
  return ADX_OK;
}

static double flops_reduce(const adx_graph *g, const adx_node *n) {
  return (double)adx_value_numel(&g->values[n->in[0]]);
}

const adx_op adx_op_reducemean = {.name = "ReduceMean",
                                  .min_in = 1,
                                  .max_in = 2,
                                  .min_out = 1,
                                  .max_out = 1,
                                  .infer = infer_reducemean,
                                  .run = run_reducemean,
                                  .flops = flops_reduce,
                                  .ad = ADX_AD_GLOBALPOOL};

/* LayerNormalization (opset 17): over the dims [axis, rank), Y = (X - mean) / sqrt(var + epsilon) * Scale
 * + B, the statistics accumulated in double; the optional outputs Mean and InvStdDev keep the leading dims
 * and have 1 elsewhere. Scale and B hold either the normalised dims' shape (numpy-broadcast from the
 * right) or one value. */
typedef struct layernorm_params {
  int axis;
  float eps;
} layernorm_params;

static adx_status infer_layernorm(adx_graph *g, adx_node *n, adx_error *err) {
  layernorm_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  adx_value *x = adx_node_in(g, n, 0);
  if (!x) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input");
  if (x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' must be float32", x->name);
  const int r = x->ndim;
  if (adx_ops_axis(adx_attr_int(n, "axis", -1), r, &p->axis))
    return adx_node_fail(n, err, ADX_ERR_ARG, "axis %lld is out of range for rank %d",
                         (long long)adx_attr_int(n, "axis", -1), r);
  p->eps = adx_attr_float(n, "epsilon", 1e-5f);
  if (p->axis == 0 && adx_ops_batch_changed(g, x)) return adx_ops_fail_batch(g, n, err);
  const int64_t len = adx_ops_prod(x->dims, p->axis, r);
  for (int i = 1; i < 3; i++) {
    adx_value *s = adx_node_in(g, n, i);
    if (!s) continue;
    int64_t k = adx_value_numel(s);
    int fits = s->dtype == ADX_F32 && (k == 1 || k == len) && s->ndim <= r - p->axis;
    for (int d = 0; fits && k == len && d < s->ndim; d++)
      fits = s->dims[s->ndim - 1 - d] == x->dims[r - 1 - d];
    if (!fits)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED,
                           "%s '%s' must be float32 with the normalised dims' shape or one value",
                           i == 1 ? "Scale" : "B", s->name);
  }
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, r, x->dims, x->batched);
  int64_t sd[ADX_MAX_DIMS];
  for (int d = 0; d < r; d++) sd[d] = d < p->axis ? x->dims[d] : 1;
  for (int o = 1; o < n->nout && o < 3; o++)
    if (n->out[o] >= 0) adx_value_set(adx_node_out(g, n, o), ADX_F32, r, sd, x->batched && p->axis > 0);
  return ADX_OK;
}

static adx_status run_layernorm(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                                adx_op_ctx *ctx, adx_error *err) {
  const layernorm_params *p = n->params;
  const adx_tensor *X = in[0];
  const int64_t total = adx_tensor_numel(X);
  if (total == 0) return ADX_OK;
  const int64_t len = adx_ops_prod(X->dims, p->axis, X->ndim), rows = total / len;
  const float *x = adx_f32(X), *sc = n->nin > 1 && in[1] ? adx_f32(in[1]) : NULL;
  const float *bs = n->nin > 2 && in[2] ? adx_f32(in[2]) : NULL;
  const int64_t nsc = sc ? adx_tensor_numel(in[1]) : 0, nbs = bs ? adx_tensor_numel(in[2]) : 0;
  float *y = adx_f32(out[0]);
  float *mean_out = n->nout > 1 && out[1] ? adx_f32(out[1]) : NULL;
  float *inv_out = n->nout > 2 && out[2] ? adx_f32(out[2]) : NULL;
  const int nt = adx_ops_threads(ctx, total);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * len;
    float *yr = y + r * len;
    double s = 0.0, q = 0.0;
    for (int64_t k = 0; k < len; k++) s += xr[k];
    const double mean = s / (double)len;
    for (int64_t k = 0; k < len; k++) q += ((double)xr[k] - mean) * ((double)xr[k] - mean);
    const double inv = 1.0 / sqrt(q / (double)len + (double)p->eps);
    for (int64_t k = 0; k < len; k++) {
      double v = ((double)xr[k] - mean) * inv;
      if (sc) v *= sc[nsc == 1 ? 0 : k];
      if (bs) v += bs[nbs == 1 ? 0 : k];
      yr[k] = (float)v;
    }
    if (mean_out) mean_out[r] = (float)mean;
    if (inv_out) inv_out[r] = (float)inv;
  }
  return ADX_OK;
}

static double flops_layernorm(const adx_graph *g, const adx_node *n) {
  return 6.0 * (double)adx_value_numel(&g->values[n->in[0]]);
}

/* AD: the statistics mix every normalised position, so a masked spatial input ends its mask here (plain). */
const adx_op adx_op_layernormalization = {.name = "LayerNormalization",
                                          .min_in = 2,
                                          .max_in = 3,
                                          .min_out = 1,
                                          .max_out = 3,
                                          .infer = infer_layernorm,
                                          .run = run_layernorm,
                                          .flops = flops_layernorm,
                                          .ad = ADX_AD_PLAIN};
