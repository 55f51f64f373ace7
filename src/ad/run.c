/* The AD runner: a visibility mask travels with the activations (docs/ad.md).
 *
 * Every spatial value (4-D, batched) carries a list of channel segments, each with a mask [B,H,W]
 * (1 = active). What each operator does with masks is one row of `rules`, keyed by its adx_ad_kind:
 * the engine and this loop hold no operator names. Isolation: the graph input's hidden pixels are
 * replaced by 0 (absent) before any operator reads them, and deactivated positions are 0, so an active
 * position reads hidden inputs as absent: Conv gets no contribution from them (with --ad-renorm
 * partial the sum is rescaled by total / visible weight), the pools leave them out. The `leak`
 * variant skips both, as adx 0.1 did. Placement: values are zeroed at their deactivated positions
 * after every spatial layer (`every`) or only at checkpoints (`checkpoints`): values read by a strided
 * window, or by anything that ends the spatial part (global pooling, Flatten, ...). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/conv.h"
#include "../ops/pad.h"
#include "adx/ad.h"

/* AD mask state of one value: nseg == 0 means unmasked (fully active, or not spatial). */
typedef struct vmask {
  int nseg, seg_cap;
  adx_mseg *seg;
  uint8_t *own; /* this value's own mask storage, when it is not an alias */
  size_t own_bytes;
  const uint8_t *full; /* [B]: 1 where a sample's masks are all active (work is skipped for it) */
  uint8_t *own_full;   /* [capacity] storage for full, when it is not an alias */
  int zeroed;          /* deactivated positions hold 0: a window may read them as absent */
} vmask;

struct adx_ad_state {
  int nvalues;
  int64_t cap; /* batch capacity of the per-value buffers */
  vmask *vm;
  uint8_t *checkpoint; /* [nvalues] */
  int32_t *active;     /* active output positions of a Conv, [B][OH*OW] */
  size_t active_cap;
  int *nact; /* [2*B]: active count per sample, then first task index per sample */
  size_t nact_cap;
  float *scale; /* partial renormalisation per output position, [B][OH*OW] */
  size_t scale_cap;
  float *input; /* the isolated graph input, [B,C,H,W] */
  size_t input_cap;
  int fallback;
};

typedef struct run {
  adx_ad_state *st;
  const adx_ad_host *h;
  const adx_ad_opts *o;
  adx_graph *g;
} run;

adx_ad_state *adx_ad_state_new(void) {
  adx_ad_state *st = calloc(1, sizeof *st);
  if (st) st->fallback = -1;
  return st;
}

static void free_masks(adx_ad_state *st) {
  for (int i = 0; st->vm && i < st->nvalues; i++) {
    free(st->vm[i].own);
    free(st->vm[i].own_full);
    free(st->vm[i].seg);
  }
  free(st->vm);
  free(st->checkpoint);
  st->vm = NULL;
  st->checkpoint = NULL;
  st->nvalues = 0;
  st->cap = 0;
}

void adx_ad_state_free(adx_ad_state *st) {
  if (!st) return;
  free_masks(st);
  free(st->active);
  free(st->nact);
  free(st->scale);
  free(st->input);
  free(st);
}

int adx_ad_state_fallback(const adx_ad_state *st) { return st ? st->fallback : -1; }

const uint8_t *adx_ad_state_mask(const adx_ad_state *st, int v, int c) {
  if (!st || !st->vm || v < 0 || v >= st->nvalues) return NULL;
  const vmask *m = &st->vm[v];
  for (int s = 0; s < m->nseg; s++)
    if (c >= m->seg[s].c0 && c < m->seg[s].c1) return m->seg[s].m;
  return NULL;
}

static adx_status nomem(adx_error *err) { return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks"); }

static adx_status state_alloc(adx_ad_state *st, const adx_graph *g, int64_t batch, adx_error *err) {
  if (st->vm && st->nvalues == g->nvalues && st->cap >= batch) return ADX_OK;
  free_masks(st);
  st->vm = calloc((size_t)g->nvalues, sizeof *st->vm);
  st->checkpoint = calloc((size_t)g->nvalues, 1);
  if (!st->vm || !st->checkpoint) {
    free_masks(st);
    return nomem(err);
  }
  st->nvalues = g->nvalues;
  st->cap = batch;
  return ADX_OK;
}

/* Grow *buf to n elements of size sz. */
static int grow(void **buf, size_t *cap, size_t n, size_t sz) {
  if (*cap >= n) return 0;
  void *p = malloc(n * sz > 0 ? n * sz : 1);
  if (!p) return -1;
  free(*buf);
  *buf = p;
  *cap = n;
  return 0;
}

/* A value's own mask buffer (capacity x n bytes, allocated once). */
static uint8_t *own_mask(adx_ad_state *st, int v, size_t n) {
  vmask *m = &st->vm[v];
  size_t need = (size_t)st->cap * n;
  if (grow((void **)&m->own, &m->own_bytes, need, 1)) return NULL;
  return m->own;
}

/* A value's own per-sample "fully active" flags [capacity]. */
static uint8_t *own_full(adx_ad_state *st, int v) {
  vmask *m = &st->vm[v];
  if (!m->own_full) m->own_full = malloc((size_t)st->cap);
  m->full = m->own_full;
  return m->own_full;
}

static adx_status set_segs(adx_ad_state *st, int v, int nseg, adx_error *err) {
  vmask *m = &st->vm[v];
  if (m->seg_cap < nseg) {
    adx_mseg *p = malloc(sizeof *p * (size_t)nseg);
    if (!p) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD mask segments");
    free(m->seg);
    m->seg = p;
    m->seg_cap = nseg;
  }
  m->nseg = nseg;
  return ADX_OK;
}

static int is_spatial(const adx_value *v) { return v->batched && v->ndim == 4; }
static int masked(const run *r, int v) { return v >= 0 && r->st->vm[v].nseg > 0; }
/* Does a window reading v see its deactivated positions as absent (isolating variants)? */
static int reads_absent(const run *r, int v) {
  return r->o->renorm != ADX_RENORM_LEAK && r->st->vm[v].zeroed;
}
/* Is v zeroed at its deactivated positions when it is made? */
static int zero_out(const run *r, int v) { return r->o->at == ADX_AT_EVERY || r->st->checkpoint[v]; }
static void fell_back(run *r, int node) {
  if (r->st->fallback < 0) r->st->fallback = node;
}

/* Block size of v's layout (0: NCHW; else nChw<blk>c, adx_ad_host.blocked). */
static int blk_of(const run *r, int v) { return r->h->blocked && v >= 0 ? r->h->blocked[v] : 0; }

/* Zero every deactivated position of a masked value. */
static void zero_deactivated(run *r, int v) {
  vmask *m = &r->st->vm[v];
  const adx_value *val = &r->g->values[v];
  float *x = adx_f32(&r->h->vt[v]);
  int64_t B = val->dims[0], C = val->dims[1];
  size_t hw = (size_t)val->dims[2] * (size_t)val->dims[3];
  const int K = blk_of(r, v);
  if (K) { /* nChw<K>c: channel c of position i at block c / K, [i][c % K] */
#pragma omp parallel for collapse(2) schedule(static) num_threads(r->h->threads)
    for (int64_t b = 0; b < B; b++)
      for (int64_t cb = 0; cb < C / K; cb++) {
        if (m->full[b]) continue;
        float *p = x + ((size_t)b * (size_t)C + (size_t)cb * (size_t)K) * hw;
        const uint8_t *whole = NULL; /* the block's mask when one segment holds all its channels */
        for (int s = 0; s < m->nseg; s++)
          if (m->seg[s].c0 <= cb * K && cb * K + K <= m->seg[s].c1) whole = m->seg[s].m + (size_t)b * hw;
        if (whole) {
          for (size_t i = 0; i < hw; i++)
            if (!whole[i]) memset(p + i * (size_t)K, 0, sizeof(float) * (size_t)K);
          continue;
        }
        for (int64_t c = cb * K; c < cb * K + K; c++) {
          const uint8_t *mk = NULL;
          for (int s = 0; s < m->nseg; s++)
            if (c >= m->seg[s].c0 && c < m->seg[s].c1) mk = m->seg[s].m;
          if (!mk) continue;
          mk += (size_t)b * hw;
          for (size_t i = 0; i < hw; i++)
            if (!mk[i]) p[i * (size_t)K + (size_t)(c - cb * K)] = 0.0f;
        }
      }
    m->zeroed = 1;
    return;
  }
#pragma omp parallel for collapse(2) schedule(static) num_threads(r->h->threads)
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = 0; c < C; c++) {
      if (m->full[b]) continue;
      const uint8_t *mk = NULL;
      for (int s = 0; s < m->nseg; s++)
        if (c >= m->seg[s].c0 && c < m->seg[s].c1) mk = m->seg[s].m;
      if (!mk) continue;
      mk += (size_t)b * hw;
      float *p = x + ((size_t)b * (size_t)C + (size_t)c) * hw;
      for (size_t i = 0; i < hw; i++)
        if (!mk[i]) p[i] = 0.0f;
    }
  m->zeroed = 1;
}

/* After a node that keeps its input's positions: zero where the placement says so (elsewhere the
 * value is what the operator computed, and windows read it plainly). */
static void place(run *r, int v) {
  if (zero_out(r, v))
    zero_deactivated(r, v);
  else
    r->st->vm[v].zeroed = 0;
}

static adx_status alias_mask(run *r, int from, int to, adx_error *err) {
  vmask *d = &r->st->vm[to];
  const vmask *s = &r->st->vm[from];
  adx_status st = set_segs(r->st, to, s->nseg, err);
  if (st) return st;
  memcpy(d->seg, s->seg, sizeof *s->seg * (size_t)s->nseg);
  d->full = s->full;
  d->zeroed = s->zeroed;
  return ADX_OK;
}

/* ---- window operators ---- */

/* Output masks of a window operator: Conv reads all channels (one output segment), pools work per
 * channel (one output segment per input segment). scale: partial renormalisation factors, or NULL. */
static adx_status mask_window_setup(run *r, const adx_node *n, int conv, adx_error *err) {
  adx_graph *g = r->g;
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &g->values[vin], *out = &g->values[vout];
  const vmask *mi = &r->st->vm[vin];
  int B = (int)in->dims[0];
  int nout = conv ? 1 : mi->nseg;
  adx_status s = set_segs(r->st, vout, nout, err);
  if (s) return s;
  size_t ohw = (size_t)out->dims[2] * (size_t)out->dims[3];
  uint8_t *buf = own_mask(r->st, vout, ohw * (size_t)nout), *full = own_full(r->st, vout);
  if (!buf || !full) return nomem(err);
  vmask *mo = &r->st->vm[vout];
  for (int k = 0; k < nout; k++) {
    mo->seg[k].c0 = conv ? 0 : mi->seg[k].c0;
    mo->seg[k].c1 = conv ? (int)out->dims[1] : mi->seg[k].c1;
    mo->seg[k].m = buf + (size_t)k * (size_t)B * ohw;
  }
  return ADX_OK;
}

/* Sample b's output masks (after mask_window_setup). */
static void mask_window_one(run *r, const adx_node *n, int conv, float *scale, int b) {
  adx_graph *g = r->g;
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &g->values[vin], *out = &g->values[vout];
  const vmask *mi = &r->st->vm[vin];
  vmask *mo = &r->st->vm[vout];
  adx_window w;
  n->op->window(n, &w);
  int H = (int)in->dims[2], W = (int)in->dims[3], OH = (int)out->dims[2], OW = (int)out->dims[3];
  int B = (int)in->dims[0];
  int nout = conv ? 1 : mi->nseg;
  size_t ohw = (size_t)OH * (size_t)OW, hw = (size_t)H * (size_t)W;
  uint8_t *buf = nout ? (uint8_t *)mo->seg[0].m : NULL, *full = (uint8_t *)mo->full;
  full[b] = mi->full[b];
  if (full[b]) { /* nothing hidden in this sample: nothing is deactivated (any rule) */
    for (int k = 0; k < nout; k++) memset(buf + ((size_t)k * (size_t)B + (size_t)b) * ohw, 1, ohw);
    return;
  }
  size_t off = (size_t)b * hw; /* this sample's plane in every segment's [B,H,W] mask */
  if (conv) {
    adx_mask_window(mi->seg, mi->nseg, off, (int)in->dims[1], H, W, &w, OH, OW, r->o, buf + (size_t)b * ohw,
                    scale ? scale + (size_t)b * ohw : NULL);
  } else {
    for (int k = 0; k < mi->nseg; k++)
      adx_mask_window(&mi->seg[k], 1, off, mi->seg[k].c1 - mi->seg[k].c0, H, W, &w, OH, OW, r->o,
                      buf + ((size_t)k * (size_t)B + (size_t)b) * ohw, NULL);
  }
  /* deactivation can leave a sample fully active again (e.g. loose, or hidden pixels only in padding) */
  full[b] = !memchr(buf + (size_t)b * ohw, 0, ohw);
  for (int k = 1; k < nout && full[b]; k++)
    full[b] = !memchr(buf + ((size_t)k * (size_t)B + (size_t)b) * ohw, 0, ohw);
}

static adx_status mask_window(run *r, const adx_node *n, int conv, float *scale, adx_error *err) {
  adx_status s = mask_window_setup(r, n, conv, err);
  if (s) return s;
  int B = (int)r->g->values[n->in[0]].dims[0];
#pragma omp parallel for schedule(static) num_threads(r->h->threads)
  for (int b = 0; b < B; b++) mask_window_one(r, n, conv, scale, b);
  return ADX_OK;
}

/* adx_conv_keep_mask for one sample in nChw<K>c: nblk blocks of [ohw][K]. */
static void keep_mask_blocked(float *restrict y, int nblk, size_t ohw, int K, const uint8_t *restrict keep) {
  for (int cb = 0; cb < nblk; cb++) {
    float *yc = y + (size_t)cb * ohw * (size_t)K;
    for (size_t i = 0; i < ohw; i++)
      if (!keep[i]) memset(yc + i * (size_t)K, 0, sizeof(float) * (size_t)K);
  }
}

/* Incremental AD for one Conv sample (h->incr_conv said 1: only the positions where `unchanged` is 0 may
 * differ from the unmasked image's output `base`): the crop around the active ones that may differ is
 * computed, the base is taken everywhere else, and deactivated positions are 0 when keep (the active mask)
 * is given. Outside that crop every active position reads only inputs equal to the base's (whole Winograd
 * tiles: the engine's maps are widened to them), so the output is the full computation's bit for bit.
 * Returns 0, 1 when the layer takes no crop of that shape (nothing written), or -1 on a failure. */
static int conv_incr_sample(const adx_conv_lib *lf, const adx_conv_params *p, int tid, const float *xb,
                            float *yb, int xk, int yk, const uint8_t *keep, const uint8_t *unchanged,
                            const float *base) {
  size_t ohw = (size_t)p->OH * (size_t)p->OW;
  int r0 = p->OH, r1 = 0, c0 = p->OW, c1 = 0;
  for (int i = 0; i < p->OH; i++) {
    const uint8_t *ur = unchanged + (size_t)i * (size_t)p->OW,
                  *kr = keep ? keep + (size_t)i * (size_t)p->OW : NULL;
    for (int j = 0; j < p->OW; j++)
      if (!ur[j] && (!kr || kr[j])) {
        if (i < r0) r0 = i;
        if (i >= r1) r1 = i + 1;
        if (j < c0) c0 = j;
        if (j >= c1) c1 = j + 1;
      }
  }
  if (r1 == 0) /* nothing active may differ: the base, deactivated positions 0 */
    memcpy(yb, base, sizeof(float) * (size_t)p->M * ohw);
  else {
    int rb = adx_conv_lib_sample_band(lf, tid, xb, yb, xk != 0, yk != 0, keep, base, r0, r1, c0, c1);
    if (rb) return rb;
  }
  if (keep && yk)
    keep_mask_blocked(yb, p->M / yk, ohw, yk, keep);
  else if (keep)
    adx_conv_keep_mask(p, yb, keep);
  return 0;
}

/* step_conv through oneDNN: every sample's full output from the layer's primitive (the plain path's
 * own), then the deactivated positions zeroed; under `partial`, samples with something hidden take the
 * raw sum instead, rescaled before the bias and activation. Active positions read exactly what the
 * BLAS path's active-only kernel reads, so the two paths differ only in rounding. */
static adx_status conv_lib(run *r, const adx_node *n, const float *x, float *y, int zero, int partial,
                           int masks, adx_error *err) {
  adx_ad_state *st = r->st;
  const adx_conv_params *p = adx_conv_params_of(n);
  int B = (int)r->g->values[n->out[0]].dims[0];
  const uint8_t *infull = st->vm[n->in[0]].full;
  size_t ohw = (size_t)p->OH * (size_t)p->OW;
  size_t xs = (size_t)p->C * (size_t)p->H * (size_t)p->W, ys = (size_t)p->M * ohw;
  int lt = r->h->threads < B ? r->h->threads : B;
  if (lt < 1) lt = 1;
  int raw = 0;
  for (int b = 0; b < B; b++) raw |= partial && !infull[b];
  const adx_conv_lib *lf = NULL, *lr = NULL;
  adx_status s = adx_conv_lib_of(n, 0, lt, &lf, err);
  if (!s && raw) s = adx_conv_lib_of(n, 1, lt, &lr, err);
  if (s) return s;
  const int *nact = st->nact;
  int bad = 0, xk = blk_of(r, n->in[0]), yk = blk_of(r, n->out[0]);
  if ((xk || yk) && raw)
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "partial renormalisation on a blocked layout");
  int band = adx_ad_band_setting();
  if (band < 0)
    return adx_fail(err, ADX_ERR_ARG, "ADX_AD_BAND is '%s'; it must be 1 (the default) or 0",
                    getenv("ADX_AD_BAND"));
#pragma omp parallel for schedule(dynamic, 1) num_threads(lt) reduction(| : bad)
  for (int b = 0; b < B; b++) {
    if (masks) mask_window_one(r, n, 1, NULL, b); /* this sample's output mask, in the same region */
    const float *xb = x + (size_t)b * xs;
    float *yb = y + (size_t)b * ys;
    const int32_t *list = nact[b] < 0 ? NULL : st->active + (size_t)b * ohw;
    int tid = omp_get_thread_num();
    if (partial && !infull[b]) {
      bad |= adx_conv_lib_sample(lr, tid, xb, yb);
      adx_conv_finish(p, yb, list, nact[b], st->scale + (size_t)b * ohw);
    } else {
      const uint8_t *um = NULL;
      const float *base = NULL;
      int ic =
          band && !infull[b] && r->h->incr_conv ? r->h->incr_conv(r->h->eng, n->out[0], b, &um, &base) : -1;
      if (ic == 0) { /* nothing in this sample's output differs from the unmasked image's */
        memcpy(yb, base, sizeof(float) * ys);
        if (nact[b] >= 0 && yk) /* (nothing is deactivated then either; kept for safety) */
          keep_mask_blocked(yb, p->M / yk, ohw, yk, st->vm[n->out[0]].seg[0].m + (size_t)b * ohw);
        else if (nact[b] >= 0)
          adx_conv_keep_mask(p, yb, st->vm[n->out[0]].seg[0].m + (size_t)b * ohw);
        continue;
      }
      if (ic == 1) {
        const uint8_t *keep = nact[b] >= 0 ? st->vm[n->out[0]].seg[0].m + (size_t)b * ohw : NULL;
        int rb = conv_incr_sample(lf, p, tid, xb, yb, xk, yk, keep, um, base);
        bad |= rb < 0;
        if (rb == 0) continue;
      }
      if (nact[b] >= 0 && band) { /* the bounding box of the active outputs: only it is computed */
        const uint8_t *m = st->vm[n->out[0]].seg[0].m + (size_t)b * ohw;
        int r0 = p->OH, r1 = 0, c0 = p->OW, c1 = 0;
        for (int i = 0; i < p->OH; i++)
          for (int j = 0; j < p->OW; j++)
            if (m[(size_t)i * (size_t)p->OW + (size_t)j]) {
              if (i < r0) r0 = i;
              if (i >= r1) r1 = i + 1;
              if (j < c0) c0 = j;
              if (j >= c1) c1 = j + 1;
            }
        if (r1 == 0) { /* nothing active: the whole output is 0 */
          memset(yb, 0, sizeof(float) * ys);
          continue;
        }
        int rb = adx_conv_lib_sample_band(lf, tid, xb, yb, xk != 0, yk != 0, m, NULL, r0, r1, c0, c1);
        bad |= rb < 0;
        if (rb == 0) continue; /* deactivated positions are 0 already */
      }
      bad |= adx_conv_lib_sample_ex(lf, tid, xb, yb, xk != 0, yk != 0);
      if (nact[b] >= 0 && yk)
        keep_mask_blocked(yb, p->M / yk, ohw, yk, st->vm[n->out[0]].seg[0].m + (size_t)b * ohw);
      else if (nact[b] >= 0)
        adx_conv_keep_mask(p, yb, st->vm[n->out[0]].seg[0].m + (size_t)b * ohw);
    }
  }
  st->vm[n->out[0]].zeroed = zero;
  return bad ? adx_node_fail(n, err, ADX_ERR_INTERNAL, "oneDNN convolution failed") : ADX_OK;
}

/* Conv: a sample with nothing hidden takes the plain path (A1, bit for bit); otherwise the active
 * positions only (when the output is zeroed anyway) or all of them, each rescaled under `partial`. */
static adx_status step_conv(run *r, int node, adx_error *err) {
  adx_ad_state *st = r->st;
  const adx_node *n = &r->g->nodes[node];
  const adx_conv_params *p = adx_conv_params_of(n);
  if (!p) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "conv parameters missing");
  int vin = n->in[0], vout = n->out[0];
  int B = (int)r->g->values[vout].dims[0];
  size_t ohw = (size_t)p->OH * (size_t)p->OW;
  int partial = r->o->renorm == ADX_RENORM_PARTIAL && reads_absent(r, vin);
  if (grow((void **)&st->active, &st->active_cap, (size_t)B * ohw, sizeof(int32_t)) ||
      (partial && grow((void **)&st->scale, &st->scale_cap, (size_t)B * ohw, sizeof(float))) ||
      grow((void **)&st->nact, &st->nact_cap, (size_t)B * 2, sizeof(int)))
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD active lists");
  /* on the oneDNN path without partial renormalisation each sample's mask is made in conv_lib's own
   * parallel loop, just before its convolution (one OpenMP region per layer instead of two) */
  const int late = r->h->lib && !partial;
  adx_status s =
      late ? mask_window_setup(r, n, 1, err) : mask_window(r, n, 1, partial ? st->scale : NULL, err);
  if (s) return s;
  int zero = zero_out(r, vout);
  const uint8_t *mask = st->vm[vout].seg[0].m, *infull = st->vm[vin].full;
  int *nact = st->nact, *task0 = st->nact + B; /* first task index of each sample in the flat task list */
  int ntasks = 0;
  for (int b = 0; b < B; b++) {
    const uint8_t *m = mask + (size_t)b * ohw;
    int32_t *list = st->active + (size_t)b * ohw;
    int k = 0;
    /* the oneDNN path reads the list only under partial (adx_conv_finish); else it keeps by the mask */
    if (!infull[b] && zero && (!r->h->lib || partial))
      for (size_t i = 0; i < ohw; i++)
        if (m[i]) list[k++] = (int32_t)i;
    nact[b] = infull[b] || !zero ? -1 : k; /* -1: every position (the plain path when infull) */
    task0[b] = ntasks;
    ntasks += adx_conv_ntasks(p, nact[b]);
  }
  const float *x = adx_f32(&r->h->vt[vin]);
  float *y = adx_f32(&r->h->vt[vout]);
  size_t xs = (size_t)p->C * (size_t)p->H * (size_t)p->W, ys = (size_t)p->M * ohw;
  size_t sf = adx_conv_scratch_floats(p);
  if (sf * sizeof(float) * (size_t)r->h->threads > r->h->scratch_bytes)
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "scratch too small for the AD conv path");
  const float *scale = partial ? st->scale : NULL;
  if (r->h->lib) return conv_lib(r, n, x, y, zero, partial, late, err);
#pragma omp parallel num_threads(r->h->threads)
  {
    float *scratch = (float *)r->h->scratch + sf * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < ntasks; t++) {
      int b = B - 1;
      while (task0[b] > t) b--; /* few samples: a linear search is fine */
      const int32_t *list = nact[b] < 0 ? NULL : st->active + (size_t)b * ohw;
      const float *sc = scale && !infull[b] ? scale + (size_t)b * ohw : NULL;
      adx_conv_run_task_scaled(p, x + (size_t)b * xs, y + (size_t)b * ys, list,
                               nact[b] < 0 ? (int)ohw : nact[b], sc, t - task0[b], scratch);
    }
  }
  st->vm[vout].zeroed = zero;
  return ADX_OK;
}

/* MaxPool / AveragePool: computed plainly, then the samples with something hidden are recomputed with
 * the absent inputs left out (isolating variants), then zeroed where the placement says. */
static adx_status step_pool(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  int vin = n->in[0], vout = n->out[0];
  adx_status s = mask_window(r, n, 0, NULL, err);
  if (!s) s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  const adx_pool_params *p = adx_pool_params_of(n);
  const vmask *mi = &r->st->vm[vin], *mo = &r->st->vm[vout];
  int zero = zero_out(r, vout);
  if (p && reads_absent(r, vin)) {
    const adx_value *in = &r->g->values[vin];
    int B = (int)in->dims[0];
    size_t hw = (size_t)p->H * (size_t)p->W, ohw = (size_t)p->OH * (size_t)p->OW;
    const float *x = adx_f32(&r->h->vt[vin]);
    float *y = adx_f32(&r->h->vt[vout]);
    const int K = blk_of(r, vin); /* in and out share the layout (the plan) */
    if (K != blk_of(r, vout))
      return adx_node_fail(n, err, ADX_ERR_INTERNAL, "pool input and output layouts differ");
    for (int k = 0; k < mi->nseg; k++) {
      int c0 = mi->seg[k].c0, c1 = mi->seg[k].c1;
      int bad = 0;
      if (K && c0 % K == 0 && c1 % K == 0) { /* whole blocks: pooled in place, K channels together */
#pragma omp parallel for collapse(2) schedule(static) num_threads(r->h->threads)
        for (int b = 0; b < B; b++)
          for (int cb = c0 / K; cb < c1 / K; cb++) {
            if (mi->full[b]) continue;
            size_t at = (size_t)b * (size_t)p->C + (size_t)cb * (size_t)K;
            adx_pool_run_blocked_masked(p, x + at * hw, K, mi->seg[k].m + (size_t)b * hw, y + at * ohw,
                                        zero ? mo->seg[k].m + (size_t)b * ohw : NULL);
          }
        continue;
      }
#pragma omp parallel num_threads(r->h->threads) reduction(| : bad)
      {
        /* nChw<K>c: each plane is copied out, pooled by the NCHW kernel, and copied back */
        float *px = K ? malloc(sizeof(float) * (hw + ohw)) : NULL, *py = px ? px + hw : NULL;
        bad |= K && !px;
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < B; b++)
          for (int c = c0; c < c1; c++) {
            if (mi->full[b] || (K && !px)) continue;
            const uint8_t *mk = mi->seg[k].m + (size_t)b * hw,
                          *mz = zero ? mo->seg[k].m + (size_t)b * ohw : NULL;
            if (!K) {
              adx_pool_run_plane_masked(p, x + ((size_t)b * (size_t)p->C + (size_t)c) * hw, mk,
                                        y + ((size_t)b * (size_t)p->C + (size_t)c) * ohw, mz);
              continue;
            }
            size_t cb = (size_t)(c / K) * (size_t)K, cj = (size_t)(c % K);
            const float *xb = x + ((size_t)b * (size_t)p->C + cb) * hw + cj;
            float *yb = y + ((size_t)b * (size_t)p->C + cb) * ohw + cj;
            for (size_t i = 0; i < hw; i++) px[i] = xb[i * (size_t)K];
            adx_pool_run_plane_masked(p, px, mk, py, mz);
            for (size_t i = 0; i < ohw; i++) yb[i * (size_t)K] = py[i];
          }
        free(px);
      }
      if (bad) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD pooling");
    }
  }
  if (zero)
    zero_deactivated(r, vout);
  else
    r->st->vm[vout].zeroed = 0;
  return ADX_OK;
}

/* ---- operators that keep positions ---- */

static adx_status step_pointwise(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  const adx_value *out = &r->g->values[n->out[0]];
  if (is_spatial(out) && masked(r, n->in[0]) &&
      !memcmp(out->dims, r->g->values[n->in[0]].dims, sizeof(int64_t) * 4)) {
    if ((s = alias_mask(r, n->in[0], n->out[0], err))) return s;
    place(r, n->out[0]);
  } else {
    fell_back(r, node);
  }
  return ADX_OK;
}

/* AND of two masked inputs' segments into the output's own buffer (union of segment boundaries). */
static adx_status mask_combine(run *r, int va, int vb, int vout, adx_error *err) {
  const vmask *ma = &r->st->vm[va], *mb = &r->st->vm[vb];
  const adx_value *out = &r->g->values[vout];
  int C = (int)out->dims[1], B = (int)out->dims[0];
  size_t hw = (size_t)out->dims[2] * (size_t)out->dims[3];
  int cuts[258], nc = 0;
  for (int s = 0; s < ma->nseg && nc < 128; s++) cuts[nc++] = ma->seg[s].c0;
  for (int s = 0; s < mb->nseg && nc < 256; s++) cuts[nc++] = mb->seg[s].c0;
  cuts[nc++] = C;
  for (int i = 1; i < nc; i++) /* sort + unique */
    for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
      int t = cuts[j];
      cuts[j] = cuts[j - 1];
      cuts[j - 1] = t;
    }
  int u = 0;
  for (int i = 0; i < nc; i++)
    if (!u || cuts[u - 1] != cuts[i]) cuts[u++] = cuts[i];
  int nseg = u - 1;
  adx_status s = set_segs(r->st, vout, nseg, err);
  if (s) return s;
  uint8_t *buf = own_mask(r->st, vout, hw * (size_t)nseg), *full = own_full(r->st, vout);
  if (!buf || !full) return nomem(err);
  for (int b = 0; b < B; b++) full[b] = ma->full[b] && mb->full[b];
  vmask *mo = &r->st->vm[vout];
  for (int k = 0; k < nseg; k++) {
    mo->seg[k].c0 = cuts[k];
    mo->seg[k].c1 = cuts[k + 1];
    uint8_t *dst = buf + (size_t)k * (size_t)B * hw;
    mo->seg[k].m = dst;
    const uint8_t *pa = NULL, *pb = NULL;
    for (int q = 0; q < ma->nseg; q++)
      if (cuts[k] >= ma->seg[q].c0 && cuts[k] < ma->seg[q].c1) pa = ma->seg[q].m;
    for (int q = 0; q < mb->nseg; q++)
      if (cuts[k] >= mb->seg[q].c0 && cuts[k] < mb->seg[q].c1) pb = mb->seg[q].m;
    for (size_t i = 0; i < (size_t)B * hw; i++)
      dst[i] = (uint8_t)((pa ? pa[i] != 0 : 1) && (pb ? pb[i] != 0 : 1));
  }
  return ADX_OK;
}

static adx_status step_combine(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  const adx_value *out = &r->g->values[n->out[0]];
  int a = n->in[0], b = n->nin > 1 ? n->in[1] : -1;
  int ok_a = masked(r, a) && !memcmp(r->g->values[a].dims + 2, out->dims + 2, sizeof(int64_t) * 2);
  int ok_b = masked(r, b) && !memcmp(r->g->values[b].dims + 2, out->dims + 2, sizeof(int64_t) * 2);
  if (!is_spatial(out) || (!ok_a && !ok_b)) {
    fell_back(r, node);
    return ADX_OK;
  }
  if (ok_a && ok_b)
    s = mask_combine(r, a, b, n->out[0], err);
  else
    s = alias_mask(r, ok_a ? a : b, n->out[0], err); /* a broadcast operand (a per-channel gate) */
  if (s) return s;
  place(r, n->out[0]);
  return ADX_OK;
}

static adx_status step_concat(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  adx_graph *g = r->g;
  int vout = n->out[0];
  const adx_value *out = &g->values[vout];
  /* a channel concat: every input spatial with the output's H,W, channel counts adding up */
  int axis_ok = is_spatial(out), total = 0, zeroed = 1;
  int64_t csum = 0;
  for (int k = 0; k < n->nin && axis_ok; k++) {
    const adx_value *v = &g->values[n->in[k]];
    axis_ok = is_spatial(v) && !memcmp(v->dims + 2, out->dims + 2, sizeof(int64_t) * 2);
    csum += v->dims[1];
    if (masked(r, n->in[k])) {
      total += r->st->vm[n->in[k]].nseg;
      zeroed &= r->st->vm[n->in[k]].zeroed;
    }
  }
  if (!axis_ok || csum != out->dims[1]) {
    fell_back(r, node);
    return ADX_OK;
  }
  if ((s = set_segs(r->st, vout, total, err))) return s;
  vmask *mo = &r->st->vm[vout];
  int k2 = 0, off = 0;
  for (int k = 0; k < n->nin; k++) {
    /* an unmasked input is fully active: channels without a segment are */
    for (int q = 0; masked(r, n->in[k]) && q < r->st->vm[n->in[k]].nseg; q++) {
      mo->seg[k2] = r->st->vm[n->in[k]].seg[q];
      mo->seg[k2].c0 += off;
      mo->seg[k2].c1 += off;
      k2++;
    }
    off += (int)g->values[n->in[k]].dims[1];
  }
  mo->nseg = k2;
  uint8_t *full = own_full(r->st, vout);
  if (!full) return nomem(err);
  for (int b = 0; b < (int)out->dims[0]; b++) {
    full[b] = 1;
    for (int k = 0; k < n->nin; k++)
      if (masked(r, n->in[k]) && !r->st->vm[n->in[k]].full[b]) full[b] = 0;
  }
  mo->zeroed = zeroed;
  if (zero_out(r, vout) && !zeroed) zero_deactivated(r, vout);
  return ADX_OK;
}

/* Constant padding of H and W: the padded border holds a constant, not hidden content, so it is
 * active; the interior keeps the input's masks. Other Pad nodes end the mask (fallback). */
static adx_status step_pad(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  int t, l, b_, rr;
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &r->g->values[vin], *out = &r->g->values[vout];
  if (!is_spatial(out) || !masked(r, vin) || !adx_pad_spatial(n, &t, &l, &b_, &rr)) {
    fell_back(r, node);
    return ADX_OK;
  }
  if (!t && !l && !b_ && !rr) { /* a no-op Pad (torch exports some): the input's masks, placed */
    if ((s = alias_mask(r, vin, vout, err))) return s;
    if (zero_out(r, vout) && !r->st->vm[vout].zeroed) zero_deactivated(r, vout);
    return ADX_OK;
  }
  const vmask *mi = &r->st->vm[vin];
  int B = (int)in->dims[0], H = (int)in->dims[2], W = (int)in->dims[3], OH = (int)out->dims[2],
      OW = (int)out->dims[3], nseg = mi->nseg;
  if ((s = set_segs(r->st, vout, nseg, err))) return s;
  size_t ohw = (size_t)OH * (size_t)OW, hw = (size_t)H * (size_t)W;
  uint8_t *buf = own_mask(r->st, vout, ohw * (size_t)nseg), *full = own_full(r->st, vout);
  if (!buf || !full) return nomem(err);
  vmask *mo = &r->st->vm[vout];
  for (int k = 0; k < nseg; k++) {
    mo->seg[k].c0 = mi->seg[k].c0;
    mo->seg[k].c1 = mi->seg[k].c1;
    uint8_t *dst = buf + (size_t)k * (size_t)B * ohw;
    mo->seg[k].m = dst;
    memset(dst, 1, (size_t)B * ohw);
    for (int bb = 0; bb < B; bb++)
      for (int y = 0; y < H; y++)
        memcpy(dst + (size_t)bb * ohw + (size_t)(y + t) * OW + l,
               mi->seg[k].m + (size_t)bb * hw + (size_t)y * W, (size_t)W);
  }
  for (int bb = 0; bb < B; bb++) full[bb] = mi->full[bb];
  mo->zeroed = mi->zeroed;
  if (zero_out(r, vout) && !mo->zeroed) zero_deactivated(r, vout);
  return ADX_OK;
}

/* ---- operators that end the mask ---- */

/* Global average pooling over active positions only: rescale plain averages by HW / active count. */
static adx_status step_globalpool(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &r->g->values[vin], *out = &r->g->values[vout];
  if (!masked(r, vin)) return ADX_OK;
  /* a mean over anything but exactly H and W (ReduceMean over channels: a spatial attention map) mixes
   * positions AD cannot follow: computed plainly, reported like any other fallback */
  if (in->ndim != 4 || out->ndim < 2 || out->dims[0] != in->dims[0] || out->dims[1] != in->dims[1] ||
      adx_value_numel(out) != in->dims[0] * in->dims[1]) {
    fell_back(r, node);
    return ADX_OK;
  }
  if (r->o->pool != ADX_POOL_ACTIVE) return ADX_OK;
  const vmask *m = &r->st->vm[vin];
  int B = (int)in->dims[0], C = (int)in->dims[1];
  size_t hw = (size_t)in->dims[2] * (size_t)in->dims[3];
  float *y = adx_f32(&r->h->vt[vout]);
  for (int k = 0; k < m->nseg; k++)
    for (int b = 0; b < B; b++) {
      if (m->full[b]) continue;
      const uint8_t *mk = m->seg[k].m + (size_t)b * hw;
      size_t cnt = 0;
      for (size_t i = 0; i < hw; i++) cnt += mk[i] != 0;
      if (cnt == hw) continue; /* nothing hidden: exactly the plain result (A1) */
      float f = cnt ? (float)((double)hw / (double)cnt) : 0.0f; /* all hidden: 0 (A4) */
      for (int c = m->seg[k].c0; c < m->seg[k].c1; c++) y[(size_t)b * C + c] *= f;
    }
  return ADX_OK;
}

/* Global max pooling: the maximum over active positions (0 when none is), under isolating variants. */
static adx_status step_globalmax(run *r, int node, adx_error *err) {
  const adx_node *n = &r->g->nodes[node];
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (s) return s;
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &r->g->values[vin], *out = &r->g->values[vout];
  if (!masked(r, vin) || !reads_absent(r, vin) || adx_value_numel(out) != in->dims[0] * in->dims[1])
    return ADX_OK;
  const vmask *m = &r->st->vm[vin];
  int B = (int)in->dims[0], C = (int)in->dims[1];
  size_t hw = (size_t)in->dims[2] * (size_t)in->dims[3];
  const float *x = adx_f32(&r->h->vt[vin]);
  float *y = adx_f32(&r->h->vt[vout]);
  const int K = blk_of(r, vin);
  const size_t step = K ? (size_t)K : 1; /* nChw<K>c: channel c's positions are K floats apart */
  for (int k = 0; k < m->nseg; k++)
    for (int b = 0; b < B; b++) {
      if (m->full[b]) continue;
      const uint8_t *mk = m->seg[k].m + (size_t)b * hw;
      for (int c = m->seg[k].c0; c < m->seg[k].c1; c++) {
        const float *xc = K ? x + ((size_t)b * (size_t)C + (size_t)(c / K) * step) * hw + (size_t)(c % K)
                            : x + ((size_t)b * (size_t)C + (size_t)c) * hw;
        float v = 0.0f;
        int any = 0;
        for (size_t i = 0; i < hw; i++)
          if (mk[i] && (!any || xc[i * step] > v)) {
            v = xc[i * step];
            any = 1;
          }
        y[(size_t)b * C + c] = v;
      }
    }
  return ADX_OK;
}

/* Anything else computes plainly on what it receives (deactivated zeros included); a masked spatial
 * input ends the mask there, and the first such node is recorded. */
static adx_status step_plain(run *r, int node, adx_error *err) {
  adx_status s = r->h->run_node(r->h->eng, node, err);
  if (!s) fell_back(r, node);
  return s;
}

/* The rule table: one row per adx_ad_kind. */
typedef adx_status (*ad_step)(run *r, int node, adx_error *err);
static const ad_step rules[ADX_AD_NKINDS] = {
    [ADX_AD_PLAIN] = step_plain,
    [ADX_AD_POINTWISE] = step_pointwise,
    [ADX_AD_CONV] = step_conv,
    [ADX_AD_POOL] = step_pool,
    [ADX_AD_COMBINE] = step_combine,
    [ADX_AD_CONCAT] = step_concat,
    [ADX_AD_GLOBALPOOL] = step_globalpool,
    [ADX_AD_GLOBALMAX] = step_globalmax,
    [ADX_AD_PAD] = step_pad,
    [ADX_AD_FALLBACK] = step_plain,
};

/* Checkpoints: values read by a strided window, or by an operator that ends the spatial part. */
static void mark_checkpoints(run *r) {
  adx_graph *g = r->g;
  memset(r->st->checkpoint, 0, (size_t)g->nvalues);
  if (r->o->at != ADX_AT_CHECKPOINTS) return;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead || n->nin < 1 || n->in[0] < 0) continue;
    adx_ad_kind k = n->op->ad;
    int mark = 0;
    if (k == ADX_AD_CONV || k == ADX_AD_POOL) {
      adx_window w;
      n->op->window(n, &w);
      mark = w.sh > 1 || w.sw > 1;
    } else {
      mark = k == ADX_AD_GLOBALPOOL || k == ADX_AD_GLOBALMAX || k == ADX_AD_PLAIN || k == ADX_AD_FALLBACK;
    }
    if (mark)
      for (int q = 0; q < n->nin; q++)
        if (n->in[q] >= 0) r->st->checkpoint[n->in[q]] = 1;
  }
}

/* The graph input: its mask is the caller's; under isolating variants hidden pixels become 0 (absent)
 * in a copy, so no operator ever reads them. */
static adx_status bind_input(run *r, const uint8_t *masks, adx_error *err) {
  adx_graph *g = r->g;
  adx_ad_state *st = r->st;
  int vin = g->inputs[0];
  const adx_value *iv = &g->values[vin];
  adx_tensor *t = &r->h->vt[vin];
  adx_status s = set_segs(st, vin, 1, err);
  if (s) return s;
  st->vm[vin].seg[0].c0 = 0;
  st->vm[vin].seg[0].c1 = (int)iv->dims[1];
  st->vm[vin].seg[0].m = masks; /* read only */
  uint8_t *full = own_full(st, vin);
  if (!full) return nomem(err);
  int64_t B = t->dims[0], C = iv->dims[1];
  size_t hw = (size_t)iv->dims[2] * (size_t)iv->dims[3];
  int all = 1;
  for (int64_t b = 0; b < B; b++) all &= full[b] = !memchr(masks + (size_t)b * hw, 0, hw);
  st->vm[vin].zeroed = r->o->renorm != ADX_RENORM_LEAK;
  if (all || !st->vm[vin].zeroed) return ADX_OK;
  size_t n = (size_t)B * (size_t)C * hw;
  if (grow((void **)&st->input, &st->input_cap, n, sizeof(float)))
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the AD input");
  const float *x = adx_f32(t);
#pragma omp parallel for collapse(2) schedule(static) num_threads(r->h->threads)
  for (int64_t b = 0; b < B; b++)
    for (int64_t c = 0; c < C; c++) {
      const uint8_t *mk = masks + (size_t)b * hw;
      const float *src = x + ((size_t)b * (size_t)C + (size_t)c) * hw;
      float *dst = st->input + ((size_t)b * (size_t)C + (size_t)c) * hw;
      for (size_t i = 0; i < hw; i++) dst[i] = mk[i] ? src[i] : 0.0f;
    }
  t->data = st->input;
  return ADX_OK;
}

adx_status adx_ad_run(adx_ad_state *st, const adx_ad_host *h, const uint8_t *masks, const adx_ad_opts *o,
                      adx_error *err) {
  adx_graph *g = h->g;
  run r = {st, h, o, g};
  const adx_value *iv = &g->values[g->inputs[0]];
  adx_status s = state_alloc(st, g, h->vt[g->inputs[0]].dims[0], err);
  if (s) return s;
  for (int i = 0; i < g->nvalues; i++) {
    st->vm[i].nseg = 0;
    st->vm[i].zeroed = 0;
  }
  st->fallback = -1;
  if (iv->ndim != 4) return adx_fail(err, ADX_ERR_UNSUPPORTED, "AD needs a 4-D image input (N,C,H,W)");
  mark_checkpoints(&r);
  if ((s = bind_input(&r, masks, err))) return s;
  /* Nothing hidden in any sample: nothing is deactivated anywhere, and every node's plain computation is
   * what the rules would give (A1); the bookkeeping is skipped and every mask reads as fully active. */
  int64_t nb = h->vt[g->inputs[0]].dims[0];
  if (!memchr(st->vm[g->inputs[0]].full, 0, (size_t)nb)) st->vm[g->inputs[0]].nseg = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    int anymask = 0;
    for (int k = 0; k < n->nin; k++) anymask |= masked(&r, n->in[k]);
    if (h->incr_node && (s = h->incr_node(h->eng, i, err))) return s;
    s = anymask ? rules[n->op->ad](&r, i, err) : h->run_node(h->eng, i, err);
    if (s) return s;
  }
  return ADX_OK;
}
