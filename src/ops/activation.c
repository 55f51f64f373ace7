/* Pointwise activations (Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh, Elu, Softplus),
 * pointwise math (Erf, Sqrt, Exp, Neg, Abs: GELU and a decomposed LayerNorm are built from them) and the
 * inference no-ops (Dropout, Identity). Each output has its input's shape. */
#include <math.h>

#include "op_util.h"
#include "ops.h"

typedef struct act_params {
  float alpha, beta; /* LeakyRelu, Elu alpha; HardSigmoid alpha/beta; Clip min/max from attributes */
} act_params;

/* Output = input shape; the input must be float unless any dtype is allowed. */
static adx_status same_shape(adx_graph *g, adx_node *n, int any_dtype, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0);
  if (!x) return adx_node_fail(n, err, ADX_ERR_ARG, "missing input");
  if (!any_dtype && x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' must be float32", x->name);
  adx_value_set(adx_node_out(g, n, 0), x->dtype, x->ndim, x->dims, x->batched);
  return ADX_OK;
}

static adx_status infer_float(adx_graph *g, adx_node *n, adx_error *err) { return same_shape(g, n, 0, err); }

static adx_status infer_leakyrelu(adx_graph *g, adx_node *n, adx_error *err) {
  act_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  p->alpha = adx_attr_float(n, "alpha", 0.01f);
  return same_shape(g, n, 0, err);
}

static adx_status infer_elu(adx_graph *g, adx_node *n, adx_error *err) {
  act_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  p->alpha = adx_attr_float(n, "alpha", 1.0f);
  return same_shape(g, n, 0, err);
}

static adx_status infer_hardsigmoid(adx_graph *g, adx_node *n, adx_error *err) {
  act_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  p->alpha = adx_attr_float(n, "alpha", 0.2f);
  p->beta = adx_attr_float(n, "beta", 0.5f);
  return same_shape(g, n, 0, err);
}

/* Clip: bounds are attributes before opset 11 and optional scalar inputs from 11 on. */
static adx_status infer_clip(adx_graph *g, adx_node *n, adx_error *err) {
  act_params *p = adx_ops_params(n, sizeof *p);
  if (!p) return adx_node_fail(n, err, ADX_ERR_NOMEM, "out of memory");
  p->alpha = adx_attr_float(n, "min", -INFINITY);
  p->beta = adx_attr_float(n, "max", INFINITY);
  for (int i = 1; i < 3; i++) {
    adx_value *b = adx_node_in(g, n, i);
    if (!b) continue;
    if (b->dtype != ADX_F32 || adx_value_numel(b) != 1)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "bound '%s' must be a float32 scalar", b->name);
  }
  return same_shape(g, n, 0, err);
}

static adx_status infer_any(adx_graph *g, adx_node *n, adx_error *err) { return same_shape(g, n, 1, err); }

/* Dropout at inference is the identity. Training mode is not supported, nor a mask output that anything
 * reads (it would be boolean); an unread mask is produced as float ones. */
static adx_status infer_dropout(adx_graph *g, adx_node *n, adx_error *err) {
  if (n->nout > 1 && n->out[1] >= 0) {
    adx_value *m = adx_node_out(g, n, 1), *x = adx_node_in(g, n, 0);
    if (m->nconsumers > 0 || m->is_output)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "the mask output is not supported (inference only)");
    if (x) adx_value_set(m, ADX_F32, x->ndim, x->dims, x->batched);
  }
  adx_value *t = adx_node_in(g, n, 2);
  if (t) {
    if (!t->is_const) return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "training_mode must be a constant");
    int64_t on = t->cval.dtype == ADX_I64 ? adx_i64(&t->cval)[0] : (int64_t)adx_f32(&t->cval)[0];
    if (on) return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "training mode is not supported");
  }
  return same_shape(g, n, 1, err);
}

/* One elementwise loop per function: simple enough for the compiler to vectorise. */
/* clang-format off */
#define ACT_RUN(fname, EXPR)                                                                           \
  static adx_status fname(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,      \
                          adx_op_ctx *ctx, adx_error *err) {                                           \
    const act_params *p = n->params;                                                                   \
    const float alpha = p ? p->alpha : 0.f, beta = p ? p->beta : 0.f;                                  \
    (void)alpha;                                                                                       \
    (void)beta;                                                                                        \
    const float *xs = adx_f32(in[0]);                                                                  \
    float *ys = adx_f32(out[0]);                                                                       \
    const int64_t cnt = adx_tensor_numel(in[0]);                                                       \
    const int nt = adx_ops_threads(ctx, cnt);                                                              \
    _Pragma("omp parallel for num_threads(nt) if (nt > 1) schedule(static)")                           \
    for (int64_t i = 0; i < cnt; i++) {                                                                \
      const float x = xs[i];                                                                           \
      ys[i] = (EXPR);                                                                                  \
    }                                                                                                  \
    return ADX_OK;                                                                                     \
  }

ACT_RUN(run_relu, x > 0.f ? x : 0.f)
ACT_RUN(run_leakyrelu, x >= 0.f ? x : alpha * x)
ACT_RUN(run_sigmoid, 1.f / (1.f + expf(-x)))
ACT_RUN(run_hardsigmoid, fmaxf(0.f, fminf(1.f, alpha * x + beta)))
ACT_RUN(run_hardswish, x * fmaxf(0.f, fminf(1.f, x * (1.f / 6.f) + 0.5f)))
ACT_RUN(run_tanh, tanhf(x))
ACT_RUN(run_clip_bounds, fminf(fmaxf(x, alpha), beta))
ACT_RUN(run_elu, x < 0.f ? alpha * expm1f(x) : x)
/* ln(1 + e^x) without overflow: x + ln(1 + e^-x) for x > 0 */
ACT_RUN(run_softplus, x > 0.f ? x + log1pf(expf(-x)) : log1pf(expf(x)))
ACT_RUN(run_erf, erff(x))
ACT_RUN(run_sqrt, sqrtf(x))
ACT_RUN(run_exp, expf(x))
ACT_RUN(run_neg, -x)
ACT_RUN(run_abs, fabsf(x))
/* clang-format on */

static adx_status run_clip(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  const act_params *p = n->params;
  act_params b = {p ? p->alpha : -INFINITY, p ? p->beta : INFINITY};
  if (n->nin > 1 && in[1]) b.alpha = adx_f32(in[1])[0];
  if (n->nin > 2 && in[2]) b.beta = adx_f32(in[2])[0];
  adx_node tmp = *n;
  tmp.params = &b;
  return run_clip_bounds(&tmp, in, out, ctx, err);
}

static adx_status run_copy(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  adx_ops_copy(out[0], in[0]);
  return ADX_OK;
}

static adx_status run_dropout(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                              adx_op_ctx *ctx, adx_error *err) {
  adx_ops_copy(out[0], in[0]);
  if (n->nout > 1 && out[1])
    for (int64_t i = 0, cnt = adx_tensor_numel(out[1]); i < cnt; i++) adx_f32(out[1])[i] = 1.f;
  return ADX_OK;
}

#define ACT_OP(sym, onnx, nin_max, nout_max, inf, rn)                                                        \
  const adx_op adx_op_##sym = {.name = onnx,                                                                 \
                               .min_in = 1,                                                                  \
                               .max_in = nin_max,                                                            \
                               .min_out = 1,                                                                 \
                               .max_out = nout_max,                                                          \
                               .infer = inf,                                                                 \
                               .run = rn,                                                                    \
                               .flops = adx_ops_out_numel,                                                   \
                               .ad = ADX_AD_POINTWISE};

ACT_OP(relu, "Relu", 1, 1, infer_float, run_relu)
ACT_OP(leakyrelu, "LeakyRelu", 1, 1, infer_leakyrelu, run_leakyrelu)
ACT_OP(clip, "Clip", 3, 1, infer_clip, run_clip)
ACT_OP(sigmoid, "Sigmoid", 1, 1, infer_float, run_sigmoid)
ACT_OP(hardsigmoid, "HardSigmoid", 1, 1, infer_hardsigmoid, run_hardsigmoid)
ACT_OP(hardswish, "HardSwish", 1, 1, infer_float, run_hardswish)
ACT_OP(tanh, "Tanh", 1, 1, infer_float, run_tanh)
ACT_OP(elu, "Elu", 1, 1, infer_elu, run_elu)
ACT_OP(softplus, "Softplus", 1, 1, infer_float, run_softplus)
ACT_OP(erf, "Erf", 1, 1, infer_float, run_erf)
ACT_OP(sqrt, "Sqrt", 1, 1, infer_float, run_sqrt)
ACT_OP(exp, "Exp", 1, 1, infer_float, run_exp)
ACT_OP(neg, "Neg", 1, 1, infer_float, run_neg)
ACT_OP(abs, "Abs", 1, 1, infer_float, run_abs)
ACT_OP(dropout, "Dropout", 3, 2, infer_dropout, run_dropout)
ACT_OP(identity, "Identity", 1, 1, infer_any, run_copy)
