/* AD runs: a visibility mask travels with the activations (docs/ad.md).
 *
 * Every spatial value (4-D, batched) carries a list of channel segments, each with a mask [B,H,W]
 * (1 = active). Window operators (Conv, pools) propagate masks with their geometry under the rule;
 * two-input elementwise operators AND their masks; Concat keeps one segment per input; pointwise
 * operators pass masks on. Every masked output is zero at its deactivated positions (the checkpoint).
 * Conv computes only active output positions. Global pooling ends the mask (--ad-pool). Any other
 * operator that consumes a masked value computes plainly on it (its zeros included) and ends the mask:
 * the engine records it as a fallback. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/conv.h"
#include "../ops/pad.h"
#include "adx/ad.h"
#include "engine_internal.h"

void adx_engine_masks_free(adx_engine *e) {
  if (!e->vm) return;
  for (int i = 0; i < e->g->nvalues; i++) {
    free(e->vm[i].own);
    free(e->vm[i].own_full);
    free(e->vm[i].seg);
  }
  free(e->vm);
  free(e->active);
  e->vm = NULL;
  e->active = NULL;
}

static adx_status masks_alloc(adx_engine *e, adx_error *err) {
  if (e->vm && e->vm_capacity >= e->g->batch) return ADX_OK;
  adx_engine_masks_free(e);
  e->vm = calloc((size_t)e->g->nvalues, sizeof *e->vm);
  if (!e->vm) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks");
  e->vm_capacity = e->g->batch;
  return ADX_OK;
}

/* A value's own mask buffer [B,H,W] (allocated once per capacity). */
static uint8_t *own_mask(adx_engine *e, int v, int h, int w) {
  adx_vmask *m = &e->vm[v];
  size_t need = (size_t)e->vm_capacity * (size_t)h * (size_t)w;
  if (m->own_bytes < need) {
    free(m->own);
    m->own = malloc(need ? need : 1);
    m->own_bytes = m->own ? need : 0;
  }
  return m->own;
}

/* A value's own per-sample "fully active" flags [capacity]. */
static uint8_t *own_full(adx_engine *e, int v) {
  adx_vmask *m = &e->vm[v];
  if (!m->own_full) m->own_full = malloc((size_t)e->vm_capacity);
  m->full = m->own_full;
  return m->own_full;
}

static adx_status set_segs(adx_engine *e, int v, int nseg, adx_error *err) {
  adx_vmask *m = &e->vm[v];
  if (m->seg_cap < nseg) {
    free(m->seg);
    m->seg = malloc(sizeof *m->seg * (size_t)nseg);
    if (!m->seg) {
      m->seg_cap = 0;
      return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD mask segments");
    }
    m->seg_cap = nseg;
  }
  m->nseg = nseg;
  return ADX_OK;
}

static int is_spatial(const adx_value *v) { return v->batched && v->ndim == 4; }

/* Zero every deactivated position of a masked value (the checkpoint). */
static void zero_deactivated(adx_engine *e, int v) {
  const adx_vmask *m = &e->vm[v];
  const adx_value *val = &e->g->values[v];
  float *x = adx_f32(&e->vt[v]);
  int64_t B = val->dims[0], C = val->dims[1];
  size_t hw = (size_t)val->dims[2] * (size_t)val->dims[3];
#pragma omp parallel for collapse(2) schedule(static) num_threads(e->threads)
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
}

/* Propagate masks through a window operator. Conv reads all channels: one output segment; pools work
 * per channel: one output segment per input segment. */
static adx_status mask_window(adx_engine *e, const adx_node *n, const adx_ad_opts *o, adx_error *err) {
  adx_graph *g = e->g;
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &g->values[vin], *out = &g->values[vout];
  const adx_vmask *mi = &e->vm[vin];
  adx_window w;
  n->op->window(n, &w);
  int H = (int)in->dims[2], W = (int)in->dims[3], OH = (int)out->dims[2], OW = (int)out->dims[3];
  int B = (int)in->dims[0];
  int conv = !strcmp(n->op_type, "Conv");
  int nout = conv ? 1 : mi->nseg;
  adx_status s = set_segs(e, vout, nout, err);
  if (s) return s;
  uint8_t *buf = own_mask(e, vout, OH, OW * nout), *full = own_full(e, vout);
  if (!buf || !full) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks");
  size_t ohw = (size_t)OH * (size_t)OW, hw = (size_t)H * (size_t)W;
  adx_vmask *mo = &e->vm[vout];
  for (int k = 0; k < nout; k++) {
    mo->seg[k].c0 = conv ? 0 : mi->seg[k].c0;
    mo->seg[k].c1 = conv ? (int)out->dims[1] : mi->seg[k].c1;
    mo->seg[k].m = buf + (size_t)k * (size_t)B * ohw;
  }
#pragma omp parallel for schedule(static) num_threads(e->threads)
  for (int b = 0; b < B; b++) {
    full[b] = mi->full[b];
    if (full[b]) { /* nothing hidden in this sample: nothing is deactivated (any rule) */
      for (int k = 0; k < nout; k++) memset(buf + ((size_t)k * (size_t)B + (size_t)b) * ohw, 1, ohw);
      continue;
    }
    size_t off = (size_t)b * hw; /* this sample's plane in every segment's [B,H,W] mask */
    if (conv) {
      adx_mask_window(mi->seg, mi->nseg, off, (int)in->dims[1], H, W, &w, OH, OW, o, buf + (size_t)b * ohw);
    } else {
      for (int k = 0; k < mi->nseg; k++)
        adx_mask_window(&mi->seg[k], 1, off, mi->seg[k].c1 - mi->seg[k].c0, H, W, &w, OH, OW, o,
                        buf + ((size_t)k * (size_t)B + (size_t)b) * ohw);
    }
    /* deactivation can leave a sample fully active again (e.g. loose, or hidden pixels only in padding) */
    full[b] = !memchr(buf + (size_t)b * ohw, 0, ohw);
    for (int k = 1; k < nout && full[b]; k++)
      full[b] = !memchr(buf + ((size_t)k * (size_t)B + (size_t)b) * ohw, 0, ohw);
  }
  return ADX_OK;
}

/* Conv on active output positions only. */
static adx_status run_conv_active(adx_engine *e, const adx_node *n, adx_error *err) {
  adx_graph *g = e->g;
  const adx_conv_params *p = adx_conv_params_of(n);
  if (!p) return adx_node_fail(n, err, ADX_ERR_INTERNAL, "conv parameters missing");
  const adx_value *out = &g->values[n->out[0]];
  int B = (int)out->dims[0];
  size_t ohw = (size_t)p->OH * (size_t)p->OW;
  size_t need = (size_t)B * ohw;
  if (e->active_cap < need) {
    free(e->active);
    e->active = malloc(sizeof(int32_t) * need);
    if (!e->active) {
      e->active_cap = 0;
      return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD active lists");
    }
    e->active_cap = need;
  }
  const uint8_t *mask = e->vm[n->out[0]].seg[0].m;
  int *nact = e->nactive_buf;
  if (e->nactive_cap < B) {
    free(e->nactive_buf);
    e->nactive_buf = nact = malloc(sizeof(int) * (size_t)B * 2);
    if (!nact) {
      e->nactive_cap = 0;
      return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD active lists");
    }
    e->nactive_cap = B;
  }
  int *task0 = nact + B; /* first task index of each sample in the flat task list */
  int ntasks = 0;
  const uint8_t *full = e->vm[n->out[0]].full;
  for (int b = 0; b < B; b++) {
    const uint8_t *m = mask + (size_t)b * ohw;
    int32_t *list = e->active + (size_t)b * ohw;
    int k = 0;
    if (!full[b])
      for (size_t i = 0; i < ohw; i++)
        if (m[i]) list[k++] = (int32_t)i;
    nact[b] = full[b] ? -1 : k; /* all active: the plain path, bit-exact (A1) */
    task0[b] = ntasks;
    ntasks += adx_conv_ntasks(p, nact[b]);
  }
  const float *x = adx_f32(&e->vt[n->in[0]]);
  float *y = adx_f32(&e->vt[n->out[0]]);
  size_t xs = (size_t)p->C * (size_t)p->H * (size_t)p->W, ys = (size_t)p->M * ohw;
  size_t sf = adx_conv_scratch_floats(p);
  if (sf * sizeof(float) * (size_t)e->threads > e->scratch_bytes)
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "scratch too small for the AD conv path");
#pragma omp parallel num_threads(e->threads)
  {
    float *scratch = (float *)e->scratch + sf * (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < ntasks; t++) {
      int b = B - 1;
      while (task0[b] > t) b--; /* few samples: a linear search is fine */
      const int32_t *list = nact[b] < 0 ? NULL : e->active + (size_t)b * ohw;
      adx_conv_run_task(p, x + (size_t)b * xs, y + (size_t)b * ys, list, nact[b] < 0 ? (int)ohw : nact[b],
                        t - task0[b], scratch);
    }
  }
  return ADX_OK;
}

/* AND of two masked inputs' segments into the output's own buffer (union of segment boundaries). */
static adx_status mask_combine(adx_engine *e, int va, int vb, int vout, adx_error *err) {
  const adx_vmask *ma = &e->vm[va], *mb = &e->vm[vb];
  const adx_value *out = &e->g->values[vout];
  int C = (int)out->dims[1], B = (int)out->dims[0];
  size_t hw = (size_t)out->dims[2] * (size_t)out->dims[3];
  int cuts[258], nc = 0;
  for (int s = 0; s < ma->nseg && nc < 128; s++) cuts[nc++] = ma->seg[s].c0;
  for (int s = 0; s < mb->nseg && nc < 256; s++) cuts[nc++] = mb->seg[s].c0;
  cuts[nc++] = C;
  /* sort + unique */
  for (int i = 1; i < nc; i++)
    for (int j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
      int t = cuts[j];
      cuts[j] = cuts[j - 1];
      cuts[j - 1] = t;
    }
  int u = 0;
  for (int i = 0; i < nc; i++)
    if (!u || cuts[u - 1] != cuts[i]) cuts[u++] = cuts[i];
  int nseg = u - 1;
  adx_status s = set_segs(e, vout, nseg, err);
  if (s) return s;
  uint8_t *buf = own_mask(e, vout, (int)hw, nseg), *full = own_full(e, vout);
  if (!buf || !full) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks");
  for (int b = 0; b < B; b++) full[b] = ma->full[b] && mb->full[b];
  adx_vmask *mo = &e->vm[vout];
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

static void alias_mask(adx_engine *e, int from, int to) {
  adx_vmask *d = &e->vm[to];
  const adx_vmask *s = &e->vm[from];
  if (set_segs(e, to, s->nseg, NULL)) return;
  memcpy(d->seg, s->seg, sizeof *s->seg * (size_t)s->nseg);
  d->full = s->full;
}

/* Global average pooling over active positions only: rescale plain averages by HW / active count. */
static void pool_active_rescale(adx_engine *e, int vin, int vout) {
  const adx_vmask *m = &e->vm[vin];
  const adx_value *in = &e->g->values[vin];
  int B = (int)in->dims[0], C = (int)in->dims[1];
  size_t hw = (size_t)in->dims[2] * (size_t)in->dims[3];
  float *y = adx_f32(&e->vt[vout]);
  for (int s = 0; s < m->nseg; s++)
    for (int b = 0; b < B; b++) {
      if (m->full[b]) continue;
      const uint8_t *mk = m->seg[s].m + (size_t)b * hw;
      size_t cnt = 0;
      for (size_t i = 0; i < hw; i++) cnt += mk[i] != 0;
      if (cnt == hw) continue; /* nothing hidden: exactly the plain result (A1) */
      float f = cnt ? (float)((double)hw / (double)cnt) : 0.0f; /* all hidden: 0 (A4) */
      for (int c = m->seg[s].c0; c < m->seg[s].c1; c++) y[(size_t)b * C + c] *= f;
    }
}

static int masked(const adx_engine *e, int v) { return v >= 0 && e->vm[v].nseg > 0; }

/* Constant padding of H and W: the padded border holds a constant, not hidden content, so it is
 * active; the interior keeps the input's masks. Other Pad nodes end the mask (fallback). */
static adx_status mask_pad(adx_engine *e, const adx_node *n, adx_error *err) {
  int t, l, b_, r;
  int vin = n->in[0], vout = n->out[0];
  if (!adx_pad_spatial(n, &t, &l, &b_, &r)) {
    if (e->fallback_node < 0) e->fallback_node = (int)(n - e->g->nodes);
    return ADX_OK;
  }
  if (!t && !l && !b_ && !r) {
    alias_mask(e, vin, vout);
    return ADX_OK;
  }
  const adx_value *in = &e->g->values[vin], *out = &e->g->values[vout];
  const adx_vmask *mi = &e->vm[vin];
  int B = (int)in->dims[0], H = (int)in->dims[2], W = (int)in->dims[3], OH = (int)out->dims[2],
      OW = (int)out->dims[3], nseg = mi->nseg;
  adx_status s = set_segs(e, vout, nseg, err);
  if (s) return s;
  uint8_t *buf = own_mask(e, vout, OH, OW * nseg), *full = own_full(e, vout);
  if (!buf || !full) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks");
  adx_vmask *mo = &e->vm[vout];
  size_t ohw = (size_t)OH * OW, hw = (size_t)H * W;
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
  return ADX_OK;
}

adx_status adx_engine_run_ad(adx_engine *e, const adx_tensor *input, const uint8_t *masks,
                             const adx_ad_opts *o, const adx_tensor **output, adx_error *err) {
  adx_graph *g = e->g;
  if (g->ninputs != 1)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "model has %d inputs; adx expects one image input", g->ninputs);
  const adx_value *iv = &g->values[g->inputs[0]];
  if (!is_spatial(iv))
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "AD needs a 4-D image input (N,C,H,W); '%s' has rank %d",
                    iv->name, iv->ndim);
  adx_status s = adx_engine_prepare_batch(e, input->dims[0], err);
  if (!s) s = adx_engine_bind_input(e, 0, input, err);
  if (!s) s = masks_alloc(e, err);
  if (s) return s;
  for (int i = 0; i < g->nvalues; i++) e->vm[i].nseg = 0;
  e->fallback_node = -1;
  int vin = g->inputs[0];
  if ((s = set_segs(e, vin, 1, err))) return s;
  e->vm[vin].seg[0].c0 = 0;
  e->vm[vin].seg[0].c1 = (int)iv->dims[1];
  e->vm[vin].seg[0].m = (uint8_t *)masks; /* read only */
  uint8_t *infull = own_full(e, vin);
  if (!infull) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks");
  size_t ihw = (size_t)iv->dims[2] * (size_t)iv->dims[3];
  for (int64_t b = 0; b < iv->dims[0]; b++) infull[b] = !memchr(masks + (size_t)b * ihw, 0, ihw);

  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    int anymask = 0;
    for (int k = 0; k < n->nin; k++) anymask |= masked(e, n->in[k]);
    if (!anymask) {
      if ((s = adx_engine_run_node(e, i, err))) return s;
      continue;
    }
    int vout = n->out[0];
    const adx_value *out = &g->values[vout];
    adx_ad_kind kind = n->op->ad;
    /* A masked spatial value flowing into anything that keeps H,W but is not listed: fallback. */
    switch (kind) {
    case ADX_AD_WINDOW:
      if ((s = mask_window(e, n, o, err))) return s;
      if (!strcmp(n->op_type, "Conv")) {
        if ((s = run_conv_active(e, n, err))) return s;
      } else {
        if ((s = adx_engine_run_node(e, i, err))) return s;
        zero_deactivated(e, vout);
      }
      break;
    case ADX_AD_POINTWISE:
      if ((s = adx_engine_run_node(e, i, err))) return s;
      if (is_spatial(out) && masked(e, n->in[0]) &&
          !memcmp(out->dims, g->values[n->in[0]].dims, sizeof(int64_t) * 4)) {
        alias_mask(e, n->in[0], vout);
        zero_deactivated(e, vout);
      } else if (e->fallback_node < 0) {
        e->fallback_node = i;
      }
      break;
    case ADX_AD_COMBINE: {
      if ((s = adx_engine_run_node(e, i, err))) return s;
      int a = n->in[0], b = n->nin > 1 ? n->in[1] : -1;
      int ok_a = masked(e, a) && !memcmp(g->values[a].dims + 2, out->dims + 2, sizeof(int64_t) * 2);
      int ok_b = masked(e, b) && !memcmp(g->values[b].dims + 2, out->dims + 2, sizeof(int64_t) * 2);
      if (!is_spatial(out)) {
        if (e->fallback_node < 0) e->fallback_node = i;
      } else if (ok_a && ok_b) {
        if ((s = mask_combine(e, a, b, vout, err))) return s;
        zero_deactivated(e, vout);
      } else if (ok_a || ok_b) {
        alias_mask(e, ok_a ? a : b, vout);
        zero_deactivated(e, vout);
      } else if (e->fallback_node < 0) {
        e->fallback_node = i;
      }
      break;
    }
    case ADX_AD_CONCAT: {
      if ((s = adx_engine_run_node(e, i, err))) return s;
      /* a channel concat: every input spatial with the output's H,W, channel counts adding up */
      int axis_ok = is_spatial(out), total = 0;
      int64_t csum = 0;
      for (int k = 0; k < n->nin && axis_ok; k++) {
        const adx_value *v = &g->values[n->in[k]];
        axis_ok = is_spatial(v) && !memcmp(v->dims + 2, out->dims + 2, sizeof(int64_t) * 2);
        csum += v->dims[1];
        total += masked(e, n->in[k]) ? e->vm[n->in[k]].nseg : 0;
      }
      if (!axis_ok || csum != out->dims[1]) {
        if (e->fallback_node < 0) e->fallback_node = i;
        break;
      }
      if ((s = set_segs(e, vout, total, err))) return s;
      adx_vmask *mo = &e->vm[vout];
      int k2 = 0, off = 0;
      for (int k = 0; k < n->nin; k++) {
        const adx_value *v = &g->values[n->in[k]];
        /* an unmasked input is fully active: channels without a segment are */
        for (int q = 0; masked(e, n->in[k]) && q < e->vm[n->in[k]].nseg; q++) {
          mo->seg[k2] = e->vm[n->in[k]].seg[q];
          mo->seg[k2].c0 += off;
          mo->seg[k2].c1 += off;
          k2++;
        }
        off += (int)v->dims[1];
      }
      mo->nseg = k2;
      uint8_t *full = own_full(e, vout);
      if (!full) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD masks");
      for (int b = 0; b < (int)out->dims[0]; b++) {
        full[b] = 1;
        for (int k = 0; k < n->nin; k++)
          if (masked(e, n->in[k]) && !e->vm[n->in[k]].full[b]) full[b] = 0;
      }
      break;
    }
    case ADX_AD_GLOBALPOOL:
      if ((s = adx_engine_run_node(e, i, err))) return s;
      if (o->pool == ADX_POOL_ACTIVE && masked(e, n->in[0]) && out->ndim >= 2 &&
          adx_value_numel(out) == g->values[n->in[0]].dims[0] * g->values[n->in[0]].dims[1] &&
          strcmp(n->op_type, "GlobalMaxPool") != 0)
        pool_active_rescale(e, n->in[0], vout);
      break;
    default:
      if ((s = adx_engine_run_node(e, i, err))) return s;
      if (!strcmp(n->op_type, "Pad") && masked(e, n->in[0]) && is_spatial(out)) {
        if ((s = mask_pad(e, n, err))) return s;
        break;
      }
      if (e->fallback_node < 0) e->fallback_node = i;
      break;
    }
  }
  *output = &e->vt[g->outputs[0]];
  return ADX_OK;
}

const char *adx_engine_ad_fallback(const adx_engine *e) {
  return e->fallback_node >= 0 ? e->g->nodes[e->fallback_node].name : NULL;
}
