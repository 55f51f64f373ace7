/* Conv (2-D, NCHW): im2col panels + cblas_sgemm, a direct kernel for depthwise, fused post-activation.
 *
 * Work is split per sample into tasks fixed by the geometry (group x column tile x channel block), so a
 * sample's result never depends on the batch or on the thread count; run() spreads (sample, task) pairs
 * over the threads. The AD entry points reuse the same tasks on a compact panel of active positions. */
#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "ops.h"

/* Output columns per sgemm: keeps the [K, tile] panel near L2 and the re-packing of W per call < 2%. */
#ifndef TILE_MAX
#define TILE_MAX 256
#endif
/* Below this many tasks per sample, output channels are split too (while blocks stay >= MBLOCK_MIN). */
#ifndef TASKS_MIN
#define TASKS_MIN 4
#endif
#ifndef MBLOCK_MIN
#define MBLOCK_MIN 128
#endif

/* ---- plan ---- */

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int adx_conv_plan(adx_conv_params *p) {
  const adx_window *w = &p->win;
  if (p->group < 1 || p->C < 1 || p->M < 1 || p->H < 1 || p->W < 1 || p->C % p->group || p->M % p->group)
    return -1;
  if (w->kh < 1 || w->kw < 1 || w->sh < 1 || w->sw < 1 || w->dh < 1 || w->dw < 1 || w->ph0 < 0 ||
      w->pw0 < 0 || w->ph1 < 0 || w->pw1 < 0)
    return -1;
  int p0 = w->ph0, p1 = w->ph1;
  int64_t oh = adx_window_out_size(p->H, w->kh, w->sh, w->dh, ADX_PAD_NOTSET, 0, &p0, &p1);
  p0 = w->pw0, p1 = w->pw1;
  int64_t ow = adx_window_out_size(p->W, w->kw, w->sw, w->dw, ADX_PAD_NOTSET, 0, &p0, &p1);
  if (oh < 1 || ow < 1) return -1;
  p->Cg = p->C / p->group;
  p->Mg = p->M / p->group;
  int64_t K = (int64_t)p->Cg * w->kh * w->kw;
  int64_t ohw = oh * ow;
  /* every int product used by the kernels (and passed to BLAS) must fit an int */
  if (ohw > INT_MAX / 16 || (int64_t)p->C * p->H * p->W > INT_MAX || (int64_t)p->M * ohw > INT_MAX ||
      K * TILE_MAX > INT_MAX / 4 || (int64_t)p->M * K > INT_MAX)
    return -1;
  p->OH = (int)oh;
  p->OW = (int)ow;
  p->K = (int)K;
  p->depthwise = p->Cg == 1;
  p->direct =
      w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !w->ph0 && !w->pw0 && !w->ph1 && !w->pw1;
  /* balanced column tiles of at most TILE_MAX, rounded up to 16 */
  int64_t nt = cdiv(ohw, TILE_MAX);
  int64_t tile = cdiv(ohw, nt);
  tile = cdiv(tile, 16) * 16;
  if (tile > ohw) tile = ohw;
  p->tile = (int)tile;
  p->ntiles = (int)cdiv(ohw, tile);
  int nmb = 1;
  while ((int64_t)p->group * p->ntiles * nmb < TASKS_MIN && p->Mg / (nmb * 2) >= MBLOCK_MIN) nmb *= 2;
  p->mblock = (int)cdiv(p->Mg, nmb);
  p->nmblocks = (int)cdiv(p->Mg, p->mblock);
  return 0;
}

/* ---- epilogue: bias + activation ---- */

static inline float act_apply(const adx_act *a, float v) {
  switch (a->kind) {
  case ADX_ACT_RELU: return v < 0.0f ? 0.0f : v;
  case ADX_ACT_CLIP: return v < a->lo ? a->lo : (v > a->hi ? a->hi : v);
  case ADX_ACT_LEAKYRELU: return v < 0.0f ? v * a->alpha : v;
  default: return v;
  }
}

/* rows x n block of y (row stride ld): y = act(y + b[row]). */
static void epilogue(float *y, int ld, int rows, int n, const float *b, const adx_act *a) {
  for (int r = 0; r < rows; r++) {
    float *restrict yr = y + (size_t)r * ld;
    float bv = b ? b[r] : 0.0f;
    switch (a->kind) {
    case ADX_ACT_NONE:
      if (b)
        for (int i = 0; i < n; i++) yr[i] += bv;
      break;
    case ADX_ACT_RELU:
      for (int i = 0; i < n; i++) {
        float v = yr[i] + bv;
        yr[i] = v < 0.0f ? 0.0f : v;
      }
      break;
    default:
      for (int i = 0; i < n; i++) yr[i] = act_apply(a, yr[i] + bv);
    }
  }
}

/* ---- packing ---- */

/* im2col row (c, ki, kj) for `seg` consecutive output positions of output row oh starting at column ow:
 * d[t] = x[c][oh*sh - ph0 + ki*dh][(ow+t)*sw - pw0 + kj*dw], 0 outside the input. */
static inline void pack_segment(const adx_window *w, const float *xc, int H, int W, int oh, int ow, int ki,
                                int kj, int seg, float *restrict d) {
  int ih = oh * w->sh - w->ph0 + ki * w->dh;
  if (ih < 0 || ih >= H) {
    memset(d, 0, sizeof(float) * (size_t)seg);
    return;
  }
  const float *restrict xr = xc + (size_t)ih * W;
  int iw0 = ow * w->sw - w->pw0 + kj * w->dw; /* input column of the segment's first output */
  int a = iw0 < 0 ? (-iw0 + w->sw - 1) / w->sw : 0;
  int b = W - 1 - iw0 >= 0 ? (W - 1 - iw0) / w->sw + 1 : 0;
  if (b > seg) b = seg;
  if (a > b) a = b;
  if (a) memset(d, 0, sizeof(float) * (size_t)a);
  if (w->sw == 1) {
    if (b > a) memcpy(d + a, xr + iw0 + a, sizeof(float) * (size_t)(b - a));
  } else {
    for (int t = a; t < b; t++) d[t] = xr[iw0 + t * w->sw];
  }
  if (b < seg) memset(d + b, 0, sizeof(float) * (size_t)(seg - b));
}

/* im2col of the output columns [c0, c0+n) for one group: col is [K, n]. x points at the group's first
 * input channel. Rows are (c, ki, kj); out-of-input taps are 0. */
static void pack_tile(const adx_conv_params *p, const float *x, int c0, int n, float *col) {
  const adx_window *w = &p->win;
  const int H = p->H, W = p->W, OW = p->OW;
  const size_t HW = (size_t)H * W;
  for (int c = 0; c < p->Cg; c++) {
    const float *xc = x + c * HW;
    for (int ki = 0; ki < w->kh; ki++) {
      for (int kj = 0; kj < w->kw; kj++) {
        float *dst = col + (size_t)((c * w->kh + ki) * w->kw + kj) * n;
        int pos = c0, end = c0 + n;
        int oh = pos / OW, ow = pos % OW;
        while (pos < end) {
          int seg = OW - ow < end - pos ? OW - ow : end - pos;
          pack_segment(w, xc, H, W, oh, ow, ki, kj, seg, dst + (pos - c0));
          pos += seg;
          oh++;
          ow = 0;
        }
      }
    }
  }
}

/* Gather the im2col columns of n active positions into col [K, n]; ib: 2*n ints of scratch. */
/* Pack the im2col columns of the listed output positions. Lists come from masks of rectangles, so they
 * are mostly runs of consecutive positions on one output row: each run is packed like pack_tile packs a
 * row segment (contiguous copies for stride 1), so a position costs what it costs in the plain path. */
static void gather_tile(const adx_conv_params *p, const float *x, const int32_t *act, int n, float *col,
                        int32_t *ib) {
  const adx_window *w = &p->win;
  const int H = p->H, W = p->W, OW = p->OW;
  const size_t HW = (size_t)H * W;
  /* runs: start index in act, length, output row and column of the first position */
  int32_t *rs = ib, *rl = ib + n;
  int nr = 0;
  for (int i = 0; i < n;) {
    int len = 1, ow = act[i] % OW;
    while (i + len < n && act[i + len] == act[i] + len && ow + len < OW) len++;
    rs[nr] = i;
    rl[nr] = len;
    nr++;
    i += len;
  }
  for (int c = 0; c < p->Cg; c++) {
    const float *xc = x + c * HW;
    for (int ki = 0; ki < w->kh; ki++) {
      for (int kj = 0; kj < w->kw; kj++) {
        float *dst = col + (size_t)((c * w->kh + ki) * w->kw + kj) * n;
        for (int r = 0; r < nr; r++) {
          int pos = act[rs[r]], seg = rl[r];
          pack_segment(w, xc, H, W, pos / OW, pos % OW, ki, kj, seg, dst + rs[r]);
        }
      }
    }
  }
}

/* Zero positions of [lo, hi) not in act[0..n) (sorted), for `rows` planes of y (stride ohw). */
static void zero_gaps(float *y, size_t ohw, int rows, int lo, int hi, const int32_t *act, int n) {
  for (int r = 0; r < rows; r++) {
    float *yr = y + r * ohw;
    int prev = lo;
    for (int i = 0; i < n; i++) {
      if (act[i] > prev) memset(yr + prev, 0, sizeof(float) * (size_t)(act[i] - prev));
      prev = act[i] + 1;
    }
    if (hi > prev) memset(yr + prev, 0, sizeof(float) * (size_t)(hi - prev));
  }
}

/* ---- depthwise (Cg == 1): direct kernel ---- */

/* acc[0..OW) += one kernel row (taps wr[0..kw)) over input row xr. Per element the taps are added in
 * kj order, as in dw_point. The interior (every tap inside the row) runs as one vectorisable loop. */
static void dw_row(float *restrict acc, const float *restrict xr, const float *restrict wr, int kw, int sw,
                   int dw, int pw0, int W, int OW) {
  const int iw0 = -pw0, last = iw0 + (kw - 1) * dw;
  int a = iw0 < 0 ? (-iw0 + sw - 1) / sw : 0;              /* first o with tap 0 inside */
  int b = W - 1 - last >= 0 ? (W - 1 - last) / sw + 1 : 0; /* past the last o with tap kw-1 inside */
  if (a > OW) a = OW;
  if (b > OW) b = OW;
  if (b < a) b = a;
  for (int o = 0; o < OW; o++) {
    if (o == a) o = b; /* skip the interior */
    if (o >= OW) break;
    float v = acc[o];
    for (int kj = 0; kj < kw; kj++) {
      int iw = iw0 + o * sw + kj * dw;
      if (iw >= 0 && iw < W) v += wr[kj] * xr[iw];
    }
    acc[o] = v;
  }
  if (b <= a) return;
  float *restrict ac = acc + a;
  const float *restrict xs = xr + (iw0 + a * sw);
  const int n = b - a;
  if (kw == 3 && sw == 1) {
    const float w0 = wr[0], w1 = wr[1], w2 = wr[2];
    const float *restrict x1 = xs + dw, *restrict x2 = xs + 2 * dw;
    for (int o = 0; o < n; o++) ac[o] = ac[o] + w0 * xs[o] + w1 * x1[o] + w2 * x2[o];
  } else if (kw == 3 && sw == 2) {
    const float w0 = wr[0], w1 = wr[1], w2 = wr[2];
    const float *restrict x1 = xs + dw, *restrict x2 = xs + 2 * dw;
    for (int o = 0; o < n; o++) ac[o] = ac[o] + w0 * xs[2 * o] + w1 * x1[2 * o] + w2 * x2[2 * o];
  } else {
    for (int kj = 0; kj < kw; kj++) {
      const float wv = wr[kj];
      const float *restrict xk = xs + kj * dw;
      if (sw == 1)
        for (int o = 0; o < n; o++) ac[o] += wv * xk[o];
      else
        for (int o = 0; o < n; o++) ac[o] += wv * xk[o * sw];
    }
  }
}

static void dw_plane(const adx_conv_params *p, const float *restrict xc, const float *restrict wk,
                     float *restrict yc) {
  const adx_window *w = &p->win;
  const int H = p->H, W = p->W, OH = p->OH, OW = p->OW;
  for (int oh = 0; oh < OH; oh++) {
    float *restrict acc = yc + (size_t)oh * OW;
    memset(acc, 0, sizeof(float) * (size_t)OW);
    for (int ki = 0; ki < w->kh; ki++) {
      int ih = oh * w->sh - w->ph0 + ki * w->dh;
      if (ih < 0 || ih >= H) continue;
      dw_row(acc, xc + (size_t)ih * W, wk + ki * w->kw, w->kw, w->sw, w->dw, w->pw0, W, OW);
    }
  }
}

/* One output position of a depthwise plane: same tap order as dw_plane, so the same value. */
static inline float dw_point(const adx_conv_params *p, const float *xc, const float *wk, int pos) {
  const adx_window *w = &p->win;
  int hs = (pos / p->OW) * w->sh - w->ph0, ws = (pos % p->OW) * w->sw - w->pw0;
  float acc = 0.0f;
  for (int ki = 0; ki < w->kh; ki++) {
    int ih = hs + ki * w->dh;
    if (ih < 0 || ih >= p->H) continue;
    const float *xr = xc + (size_t)ih * p->W;
    for (int kj = 0; kj < w->kw; kj++) {
      int iw = ws + kj * w->dw;
      if (iw < 0 || iw >= p->W) continue;
      acc += wk[ki * w->kw + kj] * xr[iw];
    }
  }
  return acc;
}

/* scale[pos] (or NULL): the sum before the bias is multiplied by it (AD's partial renormalisation). */
static void scale_cols(float *y, int ld, int rows, int n, const float *scale) {
  for (int r = 0; r < rows; r++) {
    float *restrict yr = y + (size_t)r * ld;
    for (int i = 0; i < n; i++) yr[i] *= scale[i];
  }
}

static void dw_task(const adx_conv_params *p, const float *x, float *y, const int32_t *active, int nactive,
                    const float *scale, int g) {
  const size_t HW = (size_t)p->H * p->W, ohw = (size_t)p->OH * p->OW;
  const int kk = p->win.kh * p->win.kw;
  const float *xc = x + g * HW;
  for (int j = 0; j < p->Mg; j++) {
    int m = g * p->Mg + j;
    const float *wk = p->w + (size_t)m * kk;
    float *yc = y + m * ohw;
    const float *b = p->b ? p->b + m : NULL;
    if (!active) {
      dw_plane(p, xc, wk, yc);
      if (scale) scale_cols(yc, 0, 1, (int)ohw, scale);
      epilogue(yc, 0, 1, (int)ohw, b, &p->act);
    } else {
      memset(yc, 0, sizeof(float) * ohw);
      float bv = b ? *b : 0.0f;
      for (int i = 0; i < nactive; i++) {
        float v = dw_point(p, xc, wk, active[i]);
        if (scale) v *= scale[active[i]];
        yc[active[i]] = act_apply(&p->act, v + bv);
      }
    }
  }
}

/* ---- tasks ---- */

int adx_conv_ntasks(const adx_conv_params *p, int nactive) {
  if (p->depthwise) return p->group;
  int ohw = p->OH * p->OW;
  int nt = (nactive < 0 || nactive >= ohw) ? p->ntiles : (nactive == 0 ? 1 : (int)cdiv(nactive, p->tile));
  return p->group * nt * p->nmblocks;
}

size_t adx_conv_scratch_floats(const adx_conv_params *p) {
  if (p->depthwise) return 0;
  size_t t = (size_t)p->tile;
  /* panel [K, tile] + result [mblock, tile] + 2*tile ints, each part kept 64-byte aligned */
  return cdiv((int64_t)((size_t)p->K * t), 16) * 16 + cdiv((int64_t)((size_t)p->mblock * t), 16) * 16 +
         cdiv((int64_t)(2 * t), 16) * 16;
}

void adx_conv_run_task(const adx_conv_params *p, const float *x, float *y, const int32_t *active, int nactive,
                       int task, float *scratch) {
  adx_conv_run_task_scaled(p, x, y, active, nactive, NULL, task, scratch);
}

void adx_conv_run_task_scaled(const adx_conv_params *p, const float *x, float *y, const int32_t *active,
                              int nactive, const float *scale, int task, float *scratch) {
  const int ohw = p->OH * p->OW;
  if (active && nactive >= ohw) active = NULL;
  if (p->depthwise) {
    dw_task(p, x, y, active, nactive, scale, task);
    return;
  }
  int nt = active ? (nactive == 0 ? 1 : (int)cdiv(nactive, p->tile)) : p->ntiles;
  int per_group = nt * p->nmblocks;
  int g = task / per_group, rem = task % per_group;
  int j = rem / p->nmblocks, mb = rem % p->nmblocks;
  int m0 = mb * p->mblock;
  int rows = p->Mg - m0 < p->mblock ? p->Mg - m0 : p->mblock;
  int mg0 = g * p->Mg + m0; /* first output channel of the task */
  const float *xg = x + (size_t)g * p->Cg * p->H * p->W;
  const float *wg = p->w + (size_t)mg0 * p->K;
  const float *b = p->b ? p->b + mg0 : NULL;
  float *yg = y + (size_t)mg0 * ohw;
  float *col = scratch;
  size_t colsz = (size_t)cdiv((int64_t)p->K * p->tile, 16) * 16;
  float *tmp = scratch + colsz;
  int32_t *ib = (int32_t *)(tmp + cdiv((int64_t)p->mblock * p->tile, 16) * 16);

  if (!active) {
    int c0 = j * p->tile;
    int n = ohw - c0 < p->tile ? ohw - c0 : p->tile;
    const float *bm;
    int ldb;
    if (p->direct) {
      bm = xg + c0;
      ldb = ohw;
    } else {
      pack_tile(p, xg, c0, n, col);
      bm = col;
      ldb = n;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, p->K, 1.0f, wg, p->K, bm, ldb, 0.0f,
                yg + c0, ohw);
    if (scale) scale_cols(yg + c0, ohw, rows, n, scale + c0);
    epilogue(yg + c0, ohw, rows, n, b, &p->act);
    return;
  }
  int a0 = j * p->tile;
  int n = nactive - a0 < p->tile ? nactive - a0 : p->tile;
  if (n < 0) n = 0;
  int lo = j == 0 ? 0 : active[a0];
  int hi = a0 + n >= nactive ? ohw : active[a0 + n];
  zero_gaps(yg, (size_t)ohw, rows, lo, hi, active + a0, n);
  if (n == 0) return;
  gather_tile(p, xg, active + a0, n, col, ib);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, p->K, 1.0f, wg, p->K, col, n, 0.0f, tmp, n);
  const int32_t *act = active + a0;
  if (scale) {
    float *sc = (float *)ib; /* the run lists are no longer needed: this tile's scales */
    for (int i = 0; i < n; i++) sc[i] = scale[act[i]];
    scale_cols(tmp, n, rows, n, sc);
  }
  epilogue(tmp, n, rows, n, b, &p->act);
  for (int r = 0; r < rows; r++) {
    float *yr = yg + (size_t)r * ohw;
    const float *tr = tmp + (size_t)r * n;
    for (int i = 0; i < n;) { /* runs of consecutive positions: one copy each */
      int len = 1;
      while (i + len < n && act[i + len] == act[i] + len) len++;
      memcpy(yr + act[i], tr + i, sizeof(float) * (size_t)len);
      i += len;
    }
  }
}

void adx_conv_run_sample(const adx_conv_params *p, const float *x, float *y, const int32_t *active,
                         int nactive, float *scratch) {
  int nt = adx_conv_ntasks(p, active ? nactive : -1);
  for (int t = 0; t < nt; t++) adx_conv_run_task(p, x, y, active, nactive, t, scratch);
}

/* ---- fused activation ---- */

static adx_conv_params *conv_params_get(adx_node *n) {
  if (!n->params) n->params = adx_calloc(sizeof(adx_conv_params));
  return n->params;
}

const adx_conv_params *adx_conv_params_of(const adx_node *n) {
  return (n && n->params && n->op_type && !strcmp(n->op_type, "Conv")) ? n->params : NULL;
}

static adx_status fuse(const adx_graph *g, adx_node *conv, const adx_node *act, adx_error *err) {
  if (!conv->op_type || strcmp(conv->op_type, "Conv"))
    return adx_node_fail(conv, err, ADX_ERR_ARG, "only a Conv can take a fused activation");
  adx_act a = {ADX_ACT_NONE, -INFINITY, INFINITY, 0.0f};
  if (!strcmp(act->op_type, "Relu")) {
    a.kind = ADX_ACT_RELU;
  } else if (!strcmp(act->op_type, "LeakyRelu")) {
    a.kind = ADX_ACT_LEAKYRELU;
    a.alpha = adx_attr_float(act, "alpha", 0.01f);
  } else if (!strcmp(act->op_type, "Clip")) {
    a.kind = ADX_ACT_CLIP;
    a.lo = adx_attr_float(act, "min", -FLT_MAX);
    a.hi = adx_attr_float(act, "max", FLT_MAX);
    for (int k = 1; k < act->nin && k < 3; k++) {
      if (act->in[k] < 0) continue;
      if (!g)
        return adx_node_fail(
            act, err, ADX_ERR_UNSUPPORTED,
            "Clip bounds given as inputs need the graph to fuse (adx_conv_fuse_activation_graph)");
      const adx_value *v = &g->values[act->in[k]];
      if (!v->is_const || v->cval.dtype != ADX_F32 || adx_tensor_numel(&v->cval) != 1 || !v->cval.data)
        return adx_node_fail(act, err, ADX_ERR_UNSUPPORTED, "Clip %s '%s' is not a constant float scalar",
                             k == 1 ? "min" : "max", v->name);
      if (k == 1)
        a.lo = adx_f32(&v->cval)[0];
      else
        a.hi = adx_f32(&v->cval)[0];
    }
  } else {
    return adx_node_fail(act, err, ADX_ERR_UNSUPPORTED, "cannot be fused into Conv '%s'", conv->name);
  }
  adx_conv_params *p = conv_params_get(conv);
  if (!p) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  if (p->act.kind != ADX_ACT_NONE)
    return adx_node_fail(conv, err, ADX_ERR_UNSUPPORTED, "already has a fused activation");
  p->act = a;
  return ADX_OK;
}

adx_status adx_conv_fuse_activation(adx_node *conv, const adx_node *act, adx_error *err) {
  return fuse(NULL, conv, act, err);
}

adx_status adx_conv_fuse_activation_graph(const adx_graph *g, adx_node *conv, const adx_node *act,
                                          adx_error *err) {
  return fuse(g, conv, act, err);
}

/* ---- the operator ---- */

static adx_status conv_infer(adx_graph *g, adx_node *n, adx_error *err) {
  adx_value *x = adx_node_in(g, n, 0), *w = adx_node_in(g, n, 1), *b = adx_node_in(g, n, 2);
  if (!x || !w) return adx_node_fail(n, err, ADX_ERR_FORMAT, "needs inputs X and W");
  if (x->dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "input '%s' is not float32", x->name);
  if (x->ndim != 4)
    return adx_node_fail(n, err, x->ndim == 3 || x->ndim == 5 ? ADX_ERR_UNSUPPORTED : ADX_ERR_SHAPE,
                         "only 2-D convolution (4-D NCHW input) is supported; input '%s' is %d-D", x->name,
                         x->ndim);
  if (!w->is_const || !w->cval.data)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "weight '%s' must be a constant", w->name);
  if (w->cval.dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "weight '%s' is not float32", w->name);
  if (w->cval.ndim != 4)
    return adx_node_fail(n, err, w->cval.ndim == 3 || w->cval.ndim == 5 ? ADX_ERR_UNSUPPORTED : ADX_ERR_SHAPE,
                         "weight '%s' is %d-D; only 2-D convolution (4-D weight) is supported", w->name,
                         w->cval.ndim);
  if (b && (!b->is_const || !b->cval.data))
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "bias '%s' must be a constant", b->name);
  if (b && b->cval.dtype != ADX_F32)
    return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "bias '%s' is not float32", b->name);
  int64_t group = adx_attr_int(n, "group", 1);
  const int64_t *wd = w->cval.dims;
  int64_t C = x->dims[1], M = wd[0];
  if (group < 1 || group > INT_MAX)
    return adx_node_fail(n, err, ADX_ERR_FORMAT, "group %lld is invalid", (long long)group);
  if (C % group)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "input has %lld channels, not divisible by group %lld",
                         (long long)C, (long long)group);
  if (wd[1] * group != C)
    return adx_node_fail(n, err, ADX_ERR_SHAPE, "input has %lld channels but weight expects %lld",
                         (long long)C, (long long)(wd[1] * group));
  if (M < 1 || M % group)
    return adx_node_fail(n, err, ADX_ERR_SHAPE,
                         "weight has %lld output channels, not divisible by group %lld", (long long)M,
                         (long long)group);
  if (b && adx_tensor_numel(&b->cval) != M)
    return adx_node_fail(n, err, ADX_ERR_SHAPE,
                         "bias has %lld values but the weight has %lld output channels",
                         (long long)adx_tensor_numel(&b->cval), (long long)M);
  if (C > INT_MAX || M > INT_MAX)
    return adx_node_fail(n, err, ADX_ERR_LIMIT, "too many channels (%lld in, %lld out)", (long long)C,
                         (long long)M);
  adx_window win;
  int64_t OH, OW;
  adx_status s = adx_window_infer(n, x->dims[2], x->dims[3], wd + 2, 0, &win, &OH, &OW, err);
  if (s) return s;
  adx_conv_params q;
  memset(&q, 0, sizeof q);
  q.C = (int)C;
  q.H = (int)x->dims[2];
  q.W = (int)x->dims[3];
  q.M = (int)M;
  q.group = (int)group;
  q.win = win;
  if (adx_conv_plan(&q) || q.OH != OH || q.OW != OW)
    return adx_node_fail(n, err, ADX_ERR_LIMIT,
                         "convolution of %lldx%lldx%lld by %lldx%lldx%lldx%lld is too large", (long long)C,
                         (long long)x->dims[2], (long long)x->dims[3], (long long)wd[0], (long long)wd[1],
                         (long long)wd[2], (long long)wd[3]);
  q.w = adx_f32(&w->cval);
  q.b = b ? adx_f32(&b->cval) : NULL;
  adx_conv_params *p = conv_params_get(n);
  if (!p) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  q.act = p->act;       /* a fused activation outlives re-inference */
  q.lib[0] = p->lib[0]; /* remade on next use if anything it depends on changed */
  q.lib[1] = p->lib[1];
  *p = q;
  int64_t od[4] = {x->dims[0], M, OH, OW};
  adx_value_set(adx_node_out(g, n, 0), ADX_F32, 4, od, x->batched);
  return ADX_OK;
}

static adx_status conv_run(const adx_node *n, const adx_tensor *const *in, adx_tensor *const *out,
                           adx_op_ctx *ctx, adx_error *err) {
  const adx_conv_params *pp = adx_conv_params_of(n);
  if (!pp || !pp->K) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "run before infer");
  adx_conv_params p = *pp;
  const adx_tensor *x = in[0];
  adx_tensor *y = out[0];
  p.w = adx_f32(in[1]); /* the inputs are authoritative (constants may have been rewritten by folding) */
  p.b = n->nin > 2 && in[2] ? adx_f32(in[2]) : NULL;
  if (x->ndim != 4 || x->dims[1] != p.C || x->dims[2] != p.H || x->dims[3] != p.W || y->ndim != 4 ||
      y->dims[0] != x->dims[0] || y->dims[1] != p.M || y->dims[2] != p.OH || y->dims[3] != p.OW ||
      adx_tensor_numel(in[1]) != (int64_t)p.M * p.K || (p.b && adx_tensor_numel(in[2]) != p.M))
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "tensor shapes differ from the inferred ones");
  int64_t N = x->dims[0];
  int nt = adx_conv_ntasks(&p, -1);
  int64_t total = N * nt;
  size_t per = adx_conv_scratch_floats(&p);
  int threads = ctx && ctx->threads > 0 ? ctx->threads : 1;
  if (per) {
    size_t avail = ctx && ctx->scratch ? ctx->scratch_bytes / (per * sizeof(float)) : 0;
    if (avail < 1) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "scratch buffer too small");
    if ((size_t)threads > avail) threads = (int)avail;
  }
  if (total < threads) threads = (int)(total > 0 ? total : 1);
  const float *xd = adx_f32(x);
  float *yd = adx_f32(y);
  float *scr = ctx ? ctx->scratch : NULL;
  const size_t xs = (size_t)p.C * p.H * p.W, ys = (size_t)p.M * p.OH * p.OW;
  if (ctx && ctx->lib) {
    int lt = ctx->threads > 0 ? ctx->threads : 1;
    int parts =
        N < lt ? (lt + (int)N - 1) / (int)N : 1; /* row bands per sample: fewer samples than threads */
    if (N < lt && parts < 2) lt = (int)N;
    const adx_conv_lib *l;
    adx_status s = adx_conv_lib_of(n, 0, lt, &l, err);
    if (s) return s;
    int bad = 0, xb = ctx->blocked && ctx->blocked[n->in[0]], yb = ctx->blocked && ctx->blocked[n->out[0]];
    int r0, r1;
    if (parts > 1 && adx_conv_lib_rows_split(l, parts, 0, &r0, &r1)) {
      /* each sample's output rows in bands, one per thread: the crops are the whole layer's bits
       * (adx_conv_lib_sample_rows), and a sample any of whose bands is refused is run whole after */
      unsigned char todo[64 * 64] = {0}; /* per band: refused */
      if (N * parts > 64 * 64) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "too many row bands");
#pragma omp parallel for collapse(2) schedule(static) num_threads(lt) reduction(| : bad)
      for (int64_t sb = 0; sb < N; sb++)
        for (int part = 0; part < parts; part++) {
          int a, z;
          if (!adx_conv_lib_rows_split(l, parts, part, &a, &z)) continue;
          int rr =
              adx_conv_lib_sample_rows(l, omp_get_thread_num(), xd + sb * xs, yd + sb * ys, xb, yb, a, z);
          bad |= rr < 0;
          todo[sb * parts + part] = rr > 0;
        }
      for (int64_t sb = 0; sb < N && !bad; sb++)
        if (memchr(todo + sb * parts, 1, (size_t)parts))
          bad |= adx_conv_lib_sample_ex(l, 0, xd + sb * xs, yd + sb * ys, xb, yb);
      return bad ? adx_node_fail(n, err, ADX_ERR_INTERNAL, "oneDNN convolution failed") : ADX_OK;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(lt) reduction(| : bad)
    for (int64_t s = 0; s < N; s++)
      bad |= adx_conv_lib_sample_ex(l, omp_get_thread_num(), xd + s * xs, yd + s * ys, xb, yb);
    return bad ? adx_node_fail(n, err, ADX_ERR_INTERNAL, "oneDNN convolution failed") : ADX_OK;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t t = 0; t < total; t++) {
    int64_t s = t / nt;
    float *sc = per ? scr + (size_t)omp_get_thread_num() * per : NULL;
    adx_conv_run_task(&p, xd + s * xs, yd + s * ys, NULL, -1, (int)(t % nt), sc);
  }
  return ADX_OK;
}

static size_t conv_scratch(const adx_graph *g, const adx_node *n, int threads) {
  const adx_conv_params *p = adx_conv_params_of(n);
  if (!p || !p->K) return 0;
  return adx_conv_scratch_floats(p) * sizeof(float) * (size_t)(threads > 0 ? threads : 1);
}

static double conv_flops(const adx_graph *g, const adx_node *n) {
  const adx_conv_params *p = adx_conv_params_of(n);
  if (!p || !p->K) return 0;
  return 2.0 * (double)g->values[n->out[0]].dims[0] * p->M * p->OH * p->OW * (double)p->K;
}

static void conv_release(void *params) {
  adx_conv_params *p = params;
  for (int k = 0; k < 2; k++) {
    adx_conv_lib_free(p->lib[k]);
    p->lib[k] = NULL;
  }
}

adx_status adx_conv_lib_of(const adx_node *n, int raw, int threads, const adx_conv_lib **out,
                           adx_error *err) {
  *out = NULL;
  if (!adx_conv_params_of(n)) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "conv parameters missing");
  adx_conv_params *p = n->params;
  adx_status s = adx_conv_lib_prepare(&p->lib[raw ? 1 : 0], p, raw, threads, err);
  if (s) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err ? err->msg : "oneDNN failed");
    return adx_node_fail(n, err, s, "%s", why);
  }
  *out = p->lib[raw ? 1 : 0];
  return ADX_OK;
}

void adx_conv_keep_mask(const adx_conv_params *p, float *restrict y, const uint8_t *restrict keep) {
  const size_t ohw = (size_t)p->OH * (size_t)p->OW;
  for (int m = 0; m < p->M; m++) {
    float *restrict ym = y + (size_t)m * ohw;
    for (size_t i = 0; i < ohw; i++) ym[i] = keep[i] ? ym[i] : 0.0f; /* a select: vectorises */
  }
}

void adx_conv_finish(const adx_conv_params *p, float *y, const int32_t *active, int nactive,
                     const float *scale) {
  const size_t ohw = (size_t)p->OH * (size_t)p->OW;
  for (int m = 0; m < p->M; m++) {
    float *ym = y + (size_t)m * ohw;
    float bv = p->b ? p->b[m] : 0.0f;
    if (!active) {
      for (size_t i = 0; i < ohw; i++) ym[i] = act_apply(&p->act, (scale ? scale[i] * ym[i] : ym[i]) + bv);
      continue;
    }
    int prev = 0;
    for (int k = 0; k < nactive; k++) {
      int pos = active[k];
      if (pos > prev) memset(ym + prev, 0, sizeof(float) * (size_t)(pos - prev));
      ym[pos] = act_apply(&p->act, (scale ? scale[pos] * ym[pos] : ym[pos]) + bv);
      prev = pos + 1;
    }
    if ((size_t)prev < ohw) memset(ym + prev, 0, sizeof(float) * (ohw - (size_t)prev));
  }
}

static void conv_window(const adx_node *n, adx_window *w) {
  const adx_conv_params *p = adx_conv_params_of(n);
  if (p)
    *w = p->win;
  else
    memset(w, 0, sizeof *w);
}

const adx_op adx_op_conv = {.name = "Conv",
                            .min_in = 2,
                            .max_in = 3,
                            .min_out = 1,
                            .max_out = 1,
                            .infer = conv_infer,
                            .run = conv_run,
                            .scratch = conv_scratch,
                            .flops = conv_flops,
                            .ad = ADX_AD_CONV,
                            .window = conv_window,
                            .release = conv_release,
                            .fuse = adx_conv_fuse_activation_graph};
