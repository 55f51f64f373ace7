/* BatchNormalization at inference: y = (x - mean) / sqrt(var + eps) * scale + bias, per channel (dim 1).
 * The loader usually folds it into the preceding Conv; this runs the ones it cannot fold. */
#include <math.h>

#include "op_util.h"
#include "ops.h"

typedef struct bn_params {
  float eps;
} bn_params;

static adx_status infer_bn(adx_graph *g, adx_node *n, adx_error *err) {
  bn_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  p->eps = adx_attr_float(n, "epsilon", 1e-5f);
  if (adx_attr_int(n, "training_mode", 0) != 0)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
  if (adx_attr_int(n, "spatial", 1) != 1)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "spatial=0 is not supported");
  adx_value *x = adx_node_in(g, n, 0);
  if (!x) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input X");
  if (x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' must be float32", x->name);
  if (x->ndim < 2)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "input '%s' has rank %d, needs at least 2 (N,C,...)", x->name,
                         x->ndim);
  static const char *const what[] = {"", "scale", "B", "mean", "var"};
  for (int i = 1; i < 5; i++) {
    adx_value *v = adx_node_in(g, n, i);
    if (!v) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input %s", what[i]);
    if (v->dtype != ADX_F32 || adx_value_numel(v) != x->dims[1] || v->ndim != 1)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "%s '%s' must be a float32 vector of %lld channels",
                           what[i], v->name, (long long)x->dims[1]);
  }
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, x->ndim, x->dims, x->batched);
  /* Old exports may list the training outputs; at inference they are only accepted unread. */
  for (int i = 1; i < n->nout; i++) {
    if (n->out[i] < 0) continue;
    adx_value *o = adx_node_out(g, n, i);
    if (o->nconsumers > 0 || o->is_output)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED,
                           "training outputs (running mean/var) are not supported");
    adx_value_set(o, ADX_F32, 1, &x->dims[1], 0);
  }
  return ADX_OK;
}

static adx_status run_bn(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                         adx_op_ctx *ctx, adx_error *err) {
  const bn_params *p = n->params;
  const float eps = p ? p->eps : 1e-5f;
  const adx_tensor *X = in[0];
  const float *x = adx_f32(X), *sc = adx_f32(in[1]), *bi = adx_f32(in[2]), *mu = adx_f32(in[3]),
              *var = adx_f32(in[4]);
  float *y = adx_f32(out[0]);
  const int64_t N = X->dims[0], C = X->dims[1], S = adx_ops_prod(X->dims, 2, X->ndim);
  const int nt = adx_ops_threads(ctx, N * C * S);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t nc = 0; nc < N * C; nc++) {
    const int64_t c = nc % C;
    const float a = sc[c] / sqrtf(var[c] + eps), b = bi[c] - mu[c] * a;
    const float *xs = x + nc * S;
    float *ys = y + nc * S;
    for (int64_t i = 0; i < S; i++) ys[i] = xs[i] * a + b;
  }
  /* Unread training outputs: running mean and var pass through, saved statistics are zero. */
  const size_t cb = sizeof(float) * (size_t)C;
  if (n->nout > 1 && out[1]) memcpy(out[1]->data, mu, cb);
  if (n->nout > 2 && out[2]) memcpy(out[2]->data, var, cb);
  for (int i = 3; i < n->nout && i < 5; i++)
    if (out[i]) memset(out[i]->data, 0, cb);
  return ADX_OK;
}

static double flops_bn(const adx_graph *g, const adx_node *n) { return 2.0 * adx_ops_out_numel(g, n); }

const adx_op adx_op_batchnormalization = {.name = "BatchNormalization",
                                          .min_in = 5,
                                          .max_in = 5,
                                          .min_out = 1,
                                          .max_out = 5,
                                          .infer = infer_bn,
                                          .run = run_bn,
                                          .flops = flops_bn,
                                          .ad = ADX_AD_POINTWISE};
