/* Pooling (2-D, NCHW): MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
 *
 * Windowed pools compute each output position with one small loop over its window (clipped to the
 * input); the AD path runs the same code on the active positions only and zeroes the rest.
 * A window that lies entirely in the padding (only possible when a pad >= the window extent) gives
 * -inf for MaxPool (ONNX pads MaxPool with -inf) and 0 for AveragePool. */
#include <math.h>
#include <string.h>

#include "conv.h"
#include "ops.h"

static inline float max_at(const adx_pool_params *p, const float *x, int pos) {
  const adx_window *w = &p->win;
  int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
  float m = -INFINITY;
  for (int ki = 0; ki < w->kh; ki++) {
    int ih = hs + ki * w->dh;
    if (ih < 0 || ih >= p->H) continue;
    const float *xr = x + (size_t)ih * p->W;
    for (int kj = 0; kj < w->kw; kj++) {
      int iw = ws + kj * w->dw;
      if (iw < 0 || iw >= p->W) continue;
      if (xr[iw] > m) m = xr[iw];
    }
  }
  return m;
}

/* The input row of tap ki of a window whose first row is hs, or -1 when it lies in the padding. Counts the
 * tap in *ph when inside the padded input and in *nh when inside the input (AveragePool's divisors). */
static inline int tap_row(const adx_pool_params *p, int hs, int ki, int *nh, int *ph) {
  const adx_window *w = &p->win;
  int ih = hs + ki * w->dh;
  if (ih < p->H + w->ph1) (*ph)++;
  if (ih < 0 || ih >= p->H) return -1;
  (*nh)++;
  return ih;
}

/* The columns of a window whose first column is ws: *pw inside the padded input, *nw inside the input. */
static inline void tap_cols(const adx_pool_params *p, int ws, int *nw, int *pw) {
  const adx_window *w = &p->win;
  for (int kj = 0; kj < w->kw; kj++) {
    int iw = ws + kj * w->dw;
    if (iw < p->W + w->pw1) (*pw)++;
    if (iw >= 0 && iw < p->W) (*nw)++;
  }
}

static inline float avg_at(const adx_pool_params *p, const float *x, int pos) {
  const adx_window *w = &p->win;
  int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
  float sum = 0.0f;
  int nh = 0, nw = 0, ph = 0, pw = 0; /* taps inside the input / inside the padded input */
  for (int ki = 0; ki < w->kh; ki++) {
    int ih = tap_row(p, hs, ki, &nh, &ph);
    if (ih < 0) continue;
    const float *xr = x + (size_t)ih * p->W;
    for (int kj = 0; kj < w->kw; kj++) {
      int iw = ws + kj * w->dw;
      if (iw < 0 || iw >= p->W) continue;
      sum += xr[iw];
    }
  }
  tap_cols(p, ws, &nw, &pw);
  int cnt = p->count_include_pad ? ph * pw : nh * nw;
  return cnt > 0 ? sum / (float)cnt : 0.0f;
}

/* One output position with the inputs where m == 0 left out (AD reads them as absent). The taps are
 * visited in max_at / avg_at's order, so a window with nothing left out gives exactly the plain value. */
static float pool_at_masked(const adx_pool_params *p, const float *x, const uint8_t *m, int pos) {
  const adx_window *w = &p->win;
  int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
  float acc = p->is_max ? -INFINITY : 0.0f;
  int nh = 0, nw = 0, ph = 0, pw = 0, inside = 0, left_out = 0;
  for (int ki = 0; ki < w->kh; ki++) {
    int ih = tap_row(p, hs, ki, &nh, &ph);
    if (ih < 0) continue;
    const float *xr = x + (size_t)ih * p->W;
    const uint8_t *mr = m + (size_t)ih * p->W;
    for (int kj = 0; kj < w->kw; kj++) {
      int iw = ws + kj * w->dw;
      if (iw < 0 || iw >= p->W) continue;
      inside++;
      if (!mr[iw]) {
        left_out++;
        continue;
      }
      if (p->is_max) {
        if (xr[iw] > acc) acc = xr[iw];
      } else {
        acc += xr[iw];
      }
    }
  }
  if (p->is_max) return inside > 0 && left_out == inside ? 0.0f : acc; /* all absent: 0 */
  tap_cols(p, ws, &nw, &pw);
  int cnt = (p->count_include_pad ? ph * pw : nh * nw) - left_out;
  return cnt > 0 ? acc / (float)cnt : 0.0f;
}

void adx_pool_run_plane_masked(const adx_pool_params *p, const float *x, const uint8_t *m_in, float *y,
                               const uint8_t *m_out) {
  const int ohw = p->OH * p->OW;
  for (int i = 0; i < ohw; i++) y[i] = (!m_out || m_out[i]) ? pool_at_masked(p, x, m_in, i) : 0.0f;
}

void adx_pool_run_plane(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                        int nactive) {
  const int ohw = p->OH * p->OW;
  if (active && nactive >= ohw) active = NULL;
  if (!active) {
    if (p->is_max)
      for (int i = 0; i < ohw; i++) y[i] = max_at(p, x, i);
    else
      for (int i = 0; i < ohw; i++) y[i] = avg_at(p, x, i);
    return;
  }
  memset(y, 0, sizeof(float) * (size_t)ohw);
  if (p->is_max)
    for (int i = 0; i < nactive; i++) y[active[i]] = max_at(p, x, active[i]);
  else
    for (int i = 0; i < nactive; i++) y[active[i]] = avg_at(p, x, active[i]);
}

static void run_sample(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                       int nactive) {
  const size_t hw = (size_t)p->H * p->W, ohw = (size_t)p->OH * p->OW;
  for (int c = 0; c < p->C; c++) adx_pool_run_plane(p, x + c * hw, y + c * ohw, active, nactive);
}

void adx_maxpool_run_sample(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                            int nactive) {
  adx_pool_params q = *p;
  q.is_max = 1;
  run_sample(&q, x, y, active, nactive);
}

void adx_avgpool_run_sample(const adx_pool_params *p, const float *x, float *y, const int32_t *active,
                            int nactive) {
  adx_pool_params q = *p;
  q.is_max = 0;
  run_sample(&q, x, y, active, nactive);
}

const adx_pool_params *adx_pool_params_of(const adx_node *n) {
  if (!n || !n->params || !n->op_type) return NULL;
  return (!strcmp(n->op_type, "MaxPool") || !strcmp(n->op_type, "AveragePool")) ? n->params : NULL;
}

/* ---- MaxPool / AveragePool ---- */

static adx_status check_input(const adx_node *n, const adx_value *x, adx_error *err) {
  if (!x) return adx_node_fail(n, err, ADX_ERR_FORMAT, "needs input X");
  if (x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' is not float32", x->name);
  return ADX_OK;
}

static adx_status pool_infer(adx_graph *g, adx_node *n, adx_error *err, int is_max) {
  adx_value *x = adx_node_in(g, n, 0);
  adx_status s = check_input(n, x, err);
  if (s) return s;
  if (x->ndim != 4)
    return adx_node_fail(n, err, x->ndim == 3 || x->ndim == 5 ? ADX_ERR_UNSUPPORTED : ADX_ERR_SHAPE,
                         "only 2-D pooling (4-D NCHW input) is supported; input '%s' is %d-D", x->name,
                         x->ndim);
  if (is_max) {
    if (n->nout > 1 && n->out[1] >= 0 && g->values[n->out[1]].name && g->values[n->out[1]].name[0])
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "the Indices output is not supported");
    if (adx_attr_int(n, "storage_order", 0) != 0)
      return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "storage_order 1 (column-major) is not supported");
  }
  int64_t ceil_mode = adx_attr_int(n, "ceil_mode", 0);
  int64_t cip = is_max ? 0 : adx_attr_int(n, "count_include_pad", 0);
  if ((ceil_mode != 0 && ceil_mode != 1) || (cip != 0 && cip != 1))
    return adx_node_fail(n, err, ADX_ERR_FORMAT, "ceil_mode and count_include_pad must be 0 or 1");
  if (x->dims[1] < 1 || x->dims[1] > INT32_MAX)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "input has %lld channels", (long long)x->dims[1]);
  adx_pool_params q;
  memset(&q, 0, sizeof q);
  int64_t OH, OW;
  s = adx_window_infer(n, x->dims[2], x->dims[3], NULL, (int)ceil_mode, &q.win, &OH, &OW, err);
  if (s) return s;
  if (OH * OW > INT32_MAX / 16 || x->dims[2] * x->dims[3] > INT32_MAX / 16)
    return adx_node_fail(n, err, ADX_ERR_LIMIT, "spatial size too large");
  q.is_max = is_max;
  q.count_include_pad = (int)cip;
  q.C = (int)x->dims[1];
  q.H = (int)x->dims[2];
  q.W = (int)x->dims[3];
  q.OH = (int)OH;
  q.OW = (int)OW;
  if (!n->params) n->params = adx_alloc(sizeof(adx_pool_params));
  if (!n->params) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  *(adx_pool_params *)n->params = q;
  int64_t od[4] = {x->dims[0], x->dims[1], OH, OW};
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, 4, od, x->batched);
  return ADX_OK;
}

static adx_status maxpool_infer(adx_graph *g, adx_node *n, adx_error *err) {
  return pool_infer(g, n, err, 1);
}
static adx_status averagepool_infer(adx_graph *g, adx_node *n, adx_error *err) {
  return pool_infer(g, n, err, 0);
}

/* MaxPool of one block of B channels in nChw<B>c: each channel visits its window's taps in max_at's order
 * with max_at's comparison, so the result is the NCHW kernel's bit for bit. B is a constant where it is
 * 16 or 8 (the engine's blocks), so the channel loop becomes one vector compare per tap. */
static inline void maxpool_blocked_k(const adx_pool_params *p, const float *restrict x, float *restrict y,
                                     const int B) {
  const adx_window *w = &p->win;
  for (int pos = 0; pos < p->OH * p->OW; pos++) {
    int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
    float m[64];
    for (int j = 0; j < B; j++) m[j] = -INFINITY;
    for (int ki = 0; ki < w->kh; ki++) {
      int ih = hs + ki * w->dh;
      if (ih < 0 || ih >= p->H) continue;
      for (int kj = 0; kj < w->kw; kj++) {
        int iw = ws + kj * w->dw;
        if (iw < 0 || iw >= p->W) continue;
        const float *v = x + ((size_t)ih * p->W + (size_t)iw) * (size_t)B;
        for (int j = 0; j < B; j++) m[j] = v[j] > m[j] ? v[j] : m[j];
      }
    }
    memcpy(y + (size_t)pos * (size_t)B, m, sizeof(float) * (size_t)B);
  }
}

static void maxpool_blocked(const adx_pool_params *p, const float *x, float *y, int B) {
  if (B == 16)
    maxpool_blocked_k(p, x, y, 16);
  else if (B == 8)
    maxpool_blocked_k(p, x, y, 8);
  else
    maxpool_blocked_k(p, x, y, B);
}

/* adx_pool_run_plane_masked on one block of B channels in nChw<B>c: the masks are per position, shared by
 * the block's channels, so each tap is tested once and the channels are taken together. Every channel
 * visits the taps in pool_at_masked's order with its comparison and sum, so the results are its bits. */
static inline void pool_blocked_masked_k(const adx_pool_params *p, const float *restrict x,
                                         const uint8_t *restrict m_in, float *restrict y,
                                         const uint8_t *restrict m_out, const int B) {
  const adx_window *w = &p->win;
  for (int pos = 0; pos < p->OH * p->OW; pos++) {
    float *yp = y + (size_t)pos * (size_t)B;
    if (m_out && !m_out[pos]) {
      memset(yp, 0, sizeof(float) * (size_t)B);
      continue;
    }
    int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
    float acc[64];
    for (int j = 0; j < B; j++) acc[j] = p->is_max ? -INFINITY : 0.0f;
    int nh = 0, nw = 0, ph = 0, pw = 0, inside = 0, left_out = 0;
    for (int ki = 0; ki < w->kh; ki++) {
      int ih = tap_row(p, hs, ki, &nh, &ph);
      if (ih < 0) continue;
      for (int kj = 0; kj < w->kw; kj++) {
        int iw = ws + kj * w->dw;
        if (iw < 0 || iw >= p->W) continue;
        inside++;
        size_t at = (size_t)ih * p->W + (size_t)iw;
        if (!m_in[at]) {
          left_out++;
          continue;
        }
        const float *v = x + at * (size_t)B;
        if (p->is_max)
          for (int j = 0; j < B; j++) acc[j] = v[j] > acc[j] ? v[j] : acc[j];
        else
          for (int j = 0; j < B; j++) acc[j] += v[j];
      }
    }
    if (p->is_max) {
      if (inside > 0 && left_out == inside)
        memset(yp, 0, sizeof(float) * (size_t)B); /* all absent: 0 */
      else
        memcpy(yp, acc, sizeof(float) * (size_t)B);
      continue;
    }
    tap_cols(p, ws, &nw, &pw);
    int cnt = (p->count_include_pad ? ph * pw : nh * nw) - left_out;
    for (int j = 0; j < B; j++) yp[j] = cnt > 0 ? acc[j] / (float)cnt : 0.0f;
  }
}

void adx_pool_run_blocked_masked(const adx_pool_params *p, const float *x, int B, const uint8_t *m_in,
                                 float *y, const uint8_t *m_out) {
  if (B == 16)
    pool_blocked_masked_k(p, x, m_in, y, m_out, 16);
  else if (B == 8)
    pool_blocked_masked_k(p, x, m_in, y, m_out, 8);
  else
    pool_blocked_masked_k(p, x, m_in, y, m_out, B);
}

static adx_status pool_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  const adx_pool_params *p = adx_pool_params_of(n);
  if (!p) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "run before infer");
  const adx_tensor *x = in[0];
  adx_tensor *y = out[0];
  if (x->ndim != 4 || x->dims[1] != p->C || x->dims[2] != p->H || x->dims[3] != p->W || y->ndim != 4 ||
      y->dims[0] != x->dims[0] || y->dims[1] != p->C || y->dims[2] != p->OH || y->dims[3] != p->OW)
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "tensor shapes differ from the inferred ones");
  const int64_t planes = x->dims[0] * p->C;
  const size_t hw = (size_t)p->H * p->W, ohw = (size_t)p->OH * p->OW;
  const float *xd = adx_f32(x);
  float *yd = adx_f32(y);
  int threads = ctx && ctx->threads > 0 ? ctx->threads : 1;
  int B = ctx && ctx->blocked ? ctx->blocked[n->in[0]] : 0;
  if (B && p->is_max) { /* nChw<B>c in and out (the engine's layout plan) */
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < planes / B; i++) maxpool_blocked(p, xd + i * hw * B, yd + i * ohw * B, B);
    return ADX_OK;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < planes; i++) adx_pool_run_plane(p, xd + i * hw, yd + i * ohw, NULL, -1);
  return ADX_OK;
}

static double pool_flops(const adx_graph *g, const adx_node *n) {
  const adx_pool_params *p = adx_pool_params_of(n);
  if (!p) return 0;
  return (double)g->values[n->out[0]].dims[0] * p->C * p->OH * p->OW * p->win.kh * p->win.kw;
}

static void pool_window(const adx_node *n, adx_window *w) {
  const adx_pool_params *p = adx_pool_params_of(n);
  if (p)
    *w = p->win;
  else
    memset(w, 0, sizeof *w);
}

/* The pooling operators take one input and differ only in these fields of their descriptors. */
#define POOL_OP(onnx, nout, infer_fn, run_fn, flops_fn, kind, window_fn)                                     \
  {                                                                                                          \
    .name = onnx, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = nout, .infer = infer_fn, .run = run_fn, \
    .flops = flops_fn, .ad = kind, .window = window_fn                                                       \
  }

const adx_op adx_op_maxpool =
    POOL_OP("MaxPool", 2, maxpool_infer, pool_run, pool_flops, ADX_AD_POOL, pool_window);
const adx_op adx_op_averagepool =
    POOL_OP("AveragePool", 1, averagepool_infer, pool_run, pool_flops, ADX_AD_POOL, pool_window);

/* ---- global pools: over every spatial dim, keeping [N, C, 1, ...] ---- */

static adx_status global_infer(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0);
  adx_status s = check_input(n, x, err);
  if (s) return s;
  if (x->ndim < 3)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "input '%s' is %d-D; expected N,C and spatial dims", x->name,
                         x->ndim);
  int64_t od[ADX_MAX_DIMS];
  od[0] = x->dims[0];
  od[1] = x->dims[1];
  for (int i = 2; i < x->ndim; i++) {
    if (x->dims[i] < 1)
      return adx_node_fail(n, err, ADX_ERR_SHAPE, "input '%s' has an empty spatial dimension", x->name);
    od[i] = 1;
  }
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, x->ndim, od, x->batched);
  return ADX_OK;
}

static adx_status global_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                             adx_op_ctx *ctx, adx_error *err, int is_max) {
  const adx_tensor *x = in[0];
  if (x->ndim < 3) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "input is %d-D", x->ndim);
  int64_t planes = x->dims[0] * x->dims[1], hw = 1;
  for (int i = 2; i < x->ndim; i++) hw *= x->dims[i];
  if (adx_tensor_numel(out[0]) != planes)
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "tensor shapes differ from the inferred ones");
  const float *xd = adx_f32(x);
  float *yd = adx_f32(out[0]);
  int threads = ctx && ctx->threads > 0 ? ctx->threads : 1;
  int B = ctx && ctx->blocked ? ctx->blocked[n->in[0]] : 0;
  if (B) { /* nChw<B>c input: each channel summed over the same positions in the same order as below */
    int64_t nblk = planes / B;
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < nblk; i++) {
      const float *xp = xd + i * hw * B;
      double s[64];
      float m[64];
      for (int j = 0; j < B; j++) {
        s[j] = 0;
        m[j] = -INFINITY;
      }
      for (int64_t k = 0; k < hw; k++)
        for (int j = 0; j < B; j++) {
          float v = xp[k * B + j];
          if (is_max) {
            if (v > m[j]) m[j] = v;
          } else
            s[j] += v;
        }
      for (int j = 0; j < B; j++) yd[i * B + j] = is_max ? m[j] : (float)(s[j] / (double)hw);
    }
    return ADX_OK;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < planes; i++) {
    const float *xp = xd + i * hw;
    if (is_max) {
      float m = -INFINITY;
      for (int64_t k = 0; k < hw; k++)
        if (xp[k] > m) m = xp[k];
      yd[i] = m;
    } else {
      double s = 0; /* double: the mean of a large plane stays accurate to float rounding */
      for (int64_t k = 0; k < hw; k++) s += xp[k];
      yd[i] = (float)(s / (double)hw);
    }
  }
  return ADX_OK;
}

static adx_status gap_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                          adx_op_ctx *ctx, adx_error *err) {
  return global_run(n, in, out, ctx, err, 0);
}
static adx_status gmp_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                          adx_op_ctx *ctx, adx_error *err) {
  return global_run(n, in, out, ctx, err, 1);
}

static double global_flops(const adx_graph *g, const adx_node *n) {
  const adx_value *x = &g->values[n->in[0]];
  return (double)adx_value_numel(x);
}

const adx_op adx_op_globalaveragepool =
    POOL_OP("GlobalAveragePool", 1, global_infer, gap_run, global_flops, ADX_AD_GLOBALPOOL, NULL);
const adx_op adx_op_globalmaxpool =
    POOL_OP("GlobalMaxPool", 1, global_infer, gmp_run, global_flops, ADX_AD_GLOBALMAX, NULL);
