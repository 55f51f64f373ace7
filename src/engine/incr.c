/* Incremental mutants (Krypton, SIGMOD 2019) for fill-mode and AD queries: a mutant differs from its image
 * only inside the hidden region's receptive-field cone, so a Conv output position whose whole window reads
 * unchanged inputs equals the unmasked image's activation there.
 *
 * Per image the unmasked image is run once (batch 1, plain) and every Conv output kept (the base). For a
 * query, a per-sample "changed" map travels through the graph in node order (1 = unchanged):
 *   - the graph input: changed where any channel of the mutant differs bit for bit from the image;
 *   - Conv and the pools: the dilation through their window (adx_mask_window under the strict rule, the
 *     AD machinery: a position is changed as soon as anything in its window is);
 *   - position-keeping operators (pointwise, Add/Mul/..., channel Concat) with every non-constant input
 *     tracked at the output's H,W: the union of their inputs' changed maps;
 *   - anything else reading a changed value (global pooling, Flatten, Gemm, Pad, ...): everything changed
 *     from there on, and the engine runs as usual.
 * Every operator runs as usual except Conv with a tracked input: per sample, nothing changed -> the base
 * output is copied; a changed fraction at most `frac` -> the base output with the changed positions
 * recomputed: on the oneDNN path by a primitive of the layer's own kernel on the crop around them
 * (adx_conv_lib_sample_band: the same bits as the whole layer), on the BLAS path by the gather kernel
 * (adx_conv_run_task with an active list: bias and fused activation as in the plain path); else the sample
 * is computed in full (oneDNN or BLAS, as the plain path does). AD queries follow the same maps through
 * the AD runner's hooks (adx_incr_ad_begin, adx_incr_ad_node, adx_incr_ad_conv, below).
 * The base is kept across queries while the image (raw pixels, normalisation) stays the same; the graph's
 * weights must not change during the engine's life (they never do: the sanity check makes a new engine). */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/conv.h"
#include "adx/ad.h"
#include "engine_internal.h"

enum { V_NONE = 0, V_TRACK, V_ALL }; /* a value: independent of the input / per-sample flags / all changed */
enum { F_CLEAN = 0, F_PART, F_ALL }; /* a sample of a tracked value: nothing / some / everything changed */

struct adx_incr {
  int nvalues;
  uint8_t *state;
  const uint8_t **map;  /* per value [B, H*W], 1 = unchanged, valid for samples whose flag is F_PART */
  const uint8_t **flag; /* per value [B]: F_CLEAN, F_PART or F_ALL (own_flag[v] or an alias) */
  uint8_t **own, **own_flag;
  size_t *own_bytes, *own_flag_bytes;
  /* the base: one image's Conv outputs at batch 1 */
  int have_base;
  adx_norm norm;
  float *raw; /* the image, [C,H,W] */
  float *in;  /* its normalised input, [C,H,W] */
  size_t chw;
  size_t *base_off; /* per value: float offset into base, or SIZE_MAX */
  float *base;
  size_t base_floats;
  int32_t *active; /* Conv: changed output positions per sample, [B][OH*OW] */
  size_t active_cap;
  int *plan; /* [3*B]: per sample the kind (0 copy, 1 partial, 2 full), changed count, first task */
  size_t plan_cap;
  long stats[3]; /* samples x Conv layers copied / partial / full, since the engine was made */
};

void adx_incr_free(adx_incr *ic) {
  if (!ic) return;
  for (int i = 0; ic->own && i < ic->nvalues; i++) free(ic->own[i]);
  for (int i = 0; ic->own_flag && i < ic->nvalues; i++) free(ic->own_flag[i]);
  free(ic->own);
  free(ic->own_flag);
  free(ic->own_bytes);
  free(ic->own_flag_bytes);
  free(ic->map);
  free(ic->flag);
  free(ic->state);
  free(ic->raw);
  free(ic->in);
  free(ic->base_off);
  adx_free(ic->base);
  free(ic->active);
  free(ic->plan);
  free(ic);
}

static adx_status nomem(adx_error *err) {
  return adx_fail(err, ADX_ERR_NOMEM, "out of memory for incremental queries");
}

static adx_incr *incr_get(adx_engine *e) {
  if (e->incr) return e->incr;
  adx_incr *ic = calloc(1, sizeof *ic);
  int nv = e->g->nvalues;
  if (!ic) return NULL;
  ic->nvalues = nv;
  ic->state = calloc((size_t)nv, 1);
  ic->map = calloc((size_t)nv, sizeof *ic->map);
  ic->own = calloc((size_t)nv, sizeof *ic->own);
  ic->own_bytes = calloc((size_t)nv, sizeof *ic->own_bytes);
  ic->flag = calloc((size_t)nv, sizeof *ic->flag);
  ic->own_flag = calloc((size_t)nv, sizeof *ic->own_flag);
  ic->own_flag_bytes = calloc((size_t)nv, sizeof *ic->own_flag_bytes);
  ic->base_off = calloc((size_t)nv, sizeof *ic->base_off);
  if (!ic->state || !ic->map || !ic->own || !ic->own_bytes || !ic->flag || !ic->own_flag ||
      !ic->own_flag_bytes || !ic->base_off) {
    adx_incr_free(ic);
    return NULL;
  }
  e->incr = ic;
  return ic;
}

static int grow(void **buf, size_t *cap, size_t n, size_t sz) {
  if (*cap >= n) return 0;
  void *p = malloc(n * sz > 0 ? n * sz : 1);
  if (!p) return -1;
  free(*buf);
  *buf = p;
  *cap = n;
  return 0;
}

static uint8_t *own_map(adx_incr *ic, int v, size_t n) {
  if (grow((void **)&ic->own[v], &ic->own_bytes[v], n, 1)) return NULL;
  ic->map[v] = ic->own[v];
  return ic->own[v];
}

static uint8_t *own_flags(adx_incr *ic, int v, int B) {
  if (grow((void **)&ic->own_flag[v], &ic->own_flag_bytes[v], (size_t)B, 1)) return NULL;
  ic->flag[v] = ic->own_flag[v];
  return ic->own_flag[v];
}

/* A sample's flag from its changed count out of n positions: over the fraction `frac` the sample gives up
 * tracking (F_ALL: computed in full from here on). Calling unchanged positions changed is always safe. */
static uint8_t flag_of(size_t changed, size_t n, double frac) {
  return changed == 0 ? F_CLEAN : (changed == n || (double)changed > frac * (double)n) ? F_ALL : F_PART;
}

static size_t count_changed(const uint8_t *m, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += !m[i];
  return k;
}

static int is_conv(const adx_node *n) { return n->op->ad == ADX_AD_CONV && adx_conv_params_of(n); }

/* The base: the unmasked image at batch 1, every Conv output kept. */
static adx_status make_base(adx_engine *e, adx_incr *ic, const adx_norm *norm, const float *raw, int C, int H,
                            int W, const uint8_t *plan, adx_error *err) {
  adx_graph *g = e->g;
  size_t chw = (size_t)C * (size_t)H * (size_t)W;
  ic->have_base = 0;
  if (ic->chw != chw) {
    free(ic->raw);
    free(ic->in);
    ic->raw = malloc(chw * sizeof(float));
    ic->in = malloc(chw * sizeof(float));
    ic->chw = ic->raw && ic->in ? chw : 0;
    if (!ic->chw) return nomem(err);
  }
  adx_norm_apply(norm, raw, C, H, W, ic->in);
  adx_status s = adx_engine_prepare_batch(e, 1, err);
  adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {1, C, H, W}, .data = ic->in};
  if (!s) s = adx_engine_bind_input(e, 0, &in, err);
  if (s) return s;
  size_t total = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead || !is_conv(n)) continue;
    ic->base_off[n->out[0]] = total;
    total += (size_t)adx_value_numel(&g->values[n->out[0]]);
  }
  if (ic->base_floats < total) {
    adx_free(ic->base);
    ic->base = adx_alloc(total * sizeof(float));
    ic->base_floats = ic->base ? total : 0;
    if (!ic->base) return nomem(err);
  }
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    if ((s = adx_engine_run_node_in(e, i, plan, err))) return s;
    if (is_conv(n))
      memcpy(ic->base + ic->base_off[n->out[0]], e->vt[n->out[0]].data,
             (size_t)adx_value_numel(&g->values[n->out[0]]) * sizeof(float));
  }
  memcpy(ic->raw, raw, chw * sizeof(float));
  ic->norm = *norm;
  ic->have_base = 1;
  return ADX_OK;
}

static int spatial(const adx_value *v) { return v->batched && v->ndim == 4; }

/* The graph input's map: changed where any channel differs bit for bit from the unmasked image. */
static adx_status map_input(adx_incr *ic, const adx_graph *g, const float *x, int B, double frac,
                            adx_error *err) {
  int v = g->inputs[0];
  const adx_value *iv = &g->values[v];
  int C = (int)iv->dims[1];
  size_t hw = (size_t)iv->dims[2] * (size_t)iv->dims[3];
  uint8_t *m = own_map(ic, v, (size_t)B * hw), *fl = own_flags(ic, v, B);
  if (!m || !fl) return nomem(err);
  const uint32_t *base = (const uint32_t *)ic->in, *xu = (const uint32_t *)x;
  for (int b = 0; b < B; b++) {
    uint8_t *mb = m + (size_t)b * hw;
    memset(mb, 1, hw);
    for (int c = 0; c < C; c++) {
      const uint32_t *xc = xu + ((size_t)b * C + c) * hw, *bc = base + (size_t)c * hw;
      for (size_t i = 0; i < hw; i++) mb[i] &= xc[i] == bc[i];
    }
    fl[b] = flag_of(count_changed(mb, hw), hw, frac);
  }
  ic->state[v] = V_TRACK;
  return ADX_OK;
}

/* A window operator's output map (Conv reads every channel; a pool's channel union is the same). */
static adx_status map_window(adx_incr *ic, const adx_graph *g, const adx_node *n, double frac, int tile,
                             adx_error *err) {
  int vin = n->in[0], vout = n->out[0];
  const adx_value *in = &g->values[vin], *out = &g->values[vout];
  adx_window w;
  n->op->window(n, &w);
  int B = (int)in->dims[0], H = (int)in->dims[2], W = (int)in->dims[3], OH = (int)out->dims[2],
      OW = (int)out->dims[3];
  size_t hw = (size_t)H * W, ohw = (size_t)OH * OW;
  uint8_t *m = own_map(ic, vout, (size_t)B * ohw), *fl = own_flags(ic, vout, B);
  if (!m || !fl) return nomem(err);
  const uint8_t *fi = ic->flag[vin];
  adx_ad_opts strict;
  adx_ad_opts_default(&strict);
  strict.rule = ADX_RULE_STRICT;
  adx_mseg seg = {0, 1, ic->map[vin]};
  for (int b = 0; b < B; b++) {
    fl[b] = fi[b];
    if (fi[b] != F_PART) continue;
    uint8_t *mb = m + (size_t)b * ohw;
    adx_mask_window(&seg, 1, (size_t)b * hw, 1, H, W, &w, OH, OW, &strict, mb, NULL);
    if (tile > 1) /* a tile with anything changed is changed everywhere (Winograd mixes a tile's inputs) */
      for (int i0 = 0; i0 < OH; i0 += tile)
        for (int j0 = 0; j0 < OW; j0 += tile) {
          int i1 = i0 + tile < OH ? i0 + tile : OH, j1 = j0 + tile < OW ? j0 + tile : OW, any = 0;
          for (int i = i0; i < i1 && !any; i++)
            for (int j = j0; j < j1; j++) any |= !mb[(size_t)i * (size_t)OW + (size_t)j];
          for (int i = i0; any && i < i1; i++)
            memset(mb + (size_t)i * (size_t)OW + (size_t)j0, 0, (size_t)(j1 - j0));
        }
    fl[b] = flag_of(count_changed(mb, ohw), ohw, frac);
  }
  ic->state[vout] = V_TRACK;
  return ADX_OK;
}

/* A position-keeping operator: the union of its tracked inputs' changes, or V_ALL when any non-constant
 * input is not tracked at the output's shape. */
static adx_status map_keep(adx_incr *ic, const adx_graph *g, const adx_node *n, double frac, adx_error *err) {
  int vout = n->out[0];
  const adx_value *out = &g->values[vout];
  int ntrack = 0, first = -1, ok = spatial(out);
  int64_t csum = 0;
  for (int k = 0; k < n->nin && ok; k++) {
    int v = n->in[k];
    if (v < 0) continue;
    const adx_value *iv = &g->values[v];
    csum += iv->ndim == 4 ? iv->dims[1] : 0;
    if (ic->state[v] == V_NONE) continue;
    if (ic->state[v] != V_TRACK || iv->dims[0] != out->dims[0] || iv->dims[2] != out->dims[2] ||
        iv->dims[3] != out->dims[3]) {
      ok = 0;
      break;
    }
    if (!ntrack++) first = v;
  }
  if (ok && n->op->ad == ADX_AD_CONCAT) { /* a channel concat: every input spatial, channels adding up */
    for (int k = 0; k < n->nin && ok; k++) {
      const adx_value *iv = &g->values[n->in[k]];
      ok = spatial(iv) && iv->dims[2] == out->dims[2] && iv->dims[3] == out->dims[3];
    }
    ok = ok && csum == out->dims[1];
  }
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] >= 0) ic->state[n->out[k]] = V_ALL;
  if (!ok || !ntrack) return ADX_OK;
  ic->state[vout] = V_TRACK;
  if (ntrack == 1) {
    ic->map[vout] = ic->map[first];
    ic->flag[vout] = ic->flag[first];
    return ADX_OK;
  }
  int B = (int)out->dims[0];
  size_t hw = (size_t)out->dims[2] * (size_t)out->dims[3];
  uint8_t *m = own_map(ic, vout, (size_t)B * hw), *fl = own_flags(ic, vout, B);
  if (!m || !fl) return nomem(err);
  for (int b = 0; b < B; b++) {
    int any_all = 0, any_part = 0;
    for (int k = 0; k < n->nin; k++) {
      int v = n->in[k];
      if (v < 0 || ic->state[v] != V_TRACK) continue;
      any_all |= ic->flag[v][b] == F_ALL;
      any_part |= ic->flag[v][b] == F_PART;
    }
    fl[b] = any_all ? F_ALL : any_part ? F_PART : F_CLEAN;
    if (fl[b] != F_PART) continue;
    uint8_t *mb = m + (size_t)b * hw;
    memset(mb, 1, hw);
    for (int k = 0; k < n->nin; k++) {
      int v = n->in[k];
      if (v < 0 || ic->state[v] != V_TRACK || ic->flag[v][b] != F_PART) continue;
      const uint8_t *mi = ic->map[v] + (size_t)b * hw;
      for (size_t i = 0; i < hw; i++) mb[i] &= mi[i];
    }
    fl[b] = flag_of(count_changed(mb, hw), hw, frac);
  }
  return ADX_OK;
}

/* Conv with a tracked input: per sample copy / partial / full (see the top of the file). */
static adx_status conv_incr(adx_engine *e, adx_incr *ic, int node, const uint8_t *plan, adx_error *err) {
  adx_graph *g = e->g;
  const adx_node *n = &g->nodes[node];
  const adx_conv_params *pp = adx_conv_params_of(n);
  adx_conv_params p = *pp;
  p.w = adx_f32(&e->vt[n->in[1]]); /* the inputs are authoritative, as in the plain path */
  p.b = n->nin > 2 && n->in[2] >= 0 ? adx_f32(&e->vt[n->in[2]]) : NULL;
  int vout = n->out[0];
  int B = (int)g->values[vout].dims[0];
  size_t ohw = (size_t)p.OH * (size_t)p.OW, xs = (size_t)p.C * p.H * p.W, ys = (size_t)p.M * ohw;
  if (grow((void **)&ic->active, &ic->active_cap, (size_t)B * ohw, sizeof(int32_t)) ||
      grow((void **)&ic->plan, &ic->plan_cap, (size_t)B * 3, sizeof(int)))
    return nomem(err);
  const uint8_t *m = ic->map[vout], *fl = ic->flag[vout];
  int *kind = ic->plan, *nact = ic->plan + B, *task0 = ic->plan + 2 * B;
  int ntasks = 0, lib = e->lib, any_lib = 0;
  const int xk = plan && plan[n->in[0]], yk = plan && plan[vout];
  for (int b = 0; b < B; b++) {
    int k = 0;
    if (fl[b] == F_PART) {
      const uint8_t *mb = m + (size_t)b * ohw;
      int32_t *list = ic->active + (size_t)b * ohw;
      for (size_t i = 0; i < ohw; i++)
        if (!mb[i]) list[k++] = (int32_t)i;
    }
    nact[b] = k;
    kind[b] = fl[b] == F_CLEAN ? 0 : fl[b] == F_ALL ? 2 : 1;
    task0[b] = ntasks;
    ntasks += kind[b] == 0 || lib ? 1 : adx_conv_ntasks(&p, kind[b] == 1 ? k : -1);
    any_lib |= lib && kind[b] != 0;
    ic->stats[kind[b]]++;
  }
  size_t sf = adx_conv_scratch_floats(&p);
  int threads = e->threads > 0 ? e->threads : 1;
  if (sf && sf * sizeof(float) * (size_t)threads > e->scratch_bytes)
    return adx_node_fail(n, err, ADX_ERR_INTERNAL, "scratch too small for the incremental conv path");
  const adx_conv_lib *l = NULL;
  if (any_lib) {
    adx_status s = adx_conv_lib_of(n, 0, threads, &l, err);
    if (s) return s;
  }
  const float *x = adx_f32(&e->vt[n->in[0]]);
  float *y = adx_f32(&e->vt[vout]);
  const float *base = ic->base + ic->base_off[vout];
  int bad = 0;
#pragma omp parallel num_threads(threads) reduction(| : bad)
  {
    int tid = omp_get_thread_num();
    float *scratch = sf ? (float *)e->scratch + sf * (size_t)tid : NULL;
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < ntasks; t++) {
      int b = B - 1;
      while (task0[b] > t) b--;
      const float *xb = x + (size_t)b * xs;
      float *yb = y + (size_t)b * ys;
      if (kind[b] == 0)
        memcpy(yb, base, ys * sizeof(float));
      else if (kind[b] == 1 && lib) {
        /* the crop around the changed positions, the base elsewhere: the same bits as the full layer */
        int r0 = p.OH, r1 = 0, c0 = p.OW, c1 = 0;
        for (int k = 0; k < nact[b]; k++) {
          int i = ic->active[(size_t)b * ohw + (size_t)k] / p.OW,
              j = ic->active[(size_t)b * ohw + (size_t)k] % p.OW;
          r0 = i < r0 ? i : r0;
          r1 = i + 1 > r1 ? i + 1 : r1;
          c0 = j < c0 ? j : c0;
          c1 = j + 1 > c1 ? j + 1 : c1;
        }
        int rb = adx_conv_lib_sample_band(l, tid, xb, yb, xk, yk, NULL, base, r0, r1, c0, c1);
        bad |= rb < 0;
        if (rb == 1) bad |= adx_conv_lib_sample_ex(l, tid, xb, yb, xk, yk);
      } else if (kind[b] == 1)
        adx_conv_run_task(&p, xb, yb, ic->active + (size_t)b * ohw, nact[b], t - task0[b], scratch);
      else if (lib)
        bad |= adx_conv_lib_sample_ex(l, tid, xb, yb, xk, yk);
      else
        adx_conv_run_task(&p, xb, yb, NULL, -1, t - task0[b], scratch);
    }
    /* partial samples: the unchanged positions (set to 0 by the active-list kernel) from the base */
#pragma omp for collapse(2) schedule(static)
    for (int b = 0; b < B; b++)
      for (int c = 0; c < p.M; c++) {
        if (kind[b] != 1 || lib) continue;
        const uint8_t *mb = m + (size_t)b * ohw;
        float *restrict yc = y + (size_t)b * ys + (size_t)c * ohw;
        const float *restrict bc = base + (size_t)c * ohw;
        for (size_t i = 0; i < ohw; i++) yc[i] = mb[i] ? bc[i] : yc[i];
      }
  }
  return bad ? adx_node_fail(n, err, ADX_ERR_INTERNAL, "oneDNN convolution failed") : ADX_OK;
}

adx_status adx_engine_run_incremental(adx_engine *e, const adx_norm *norm, const float *raw,
                                      const adx_tensor *input, const adx_tensor **output, adx_error *err) {
  adx_graph *g = e->g;
  adx_incr *ic = incr_get(e);
  if (!ic) return nomem(err);
  const adx_value *iv = &g->values[g->inputs[0]];
  int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  size_t chw = (size_t)C * (size_t)H * (size_t)W;
  const uint8_t *plan = NULL; /* the layout plan of plain runs (oneDNN): values kept blocked */
  adx_status s = adx_engine_ad_plan(e, &plan, err);
  if (s) return s;
  if (!ic->have_base || ic->chw != chw || memcmp(&ic->norm, norm, sizeof *norm) ||
      memcmp(ic->raw, raw, chw * sizeof(float)))
    if ((s = make_base(e, ic, norm, raw, C, H, W, plan, err))) return s;
  int B = (int)input->dims[0];
  if ((s = adx_engine_prepare_batch(e, B, err)) || (s = adx_engine_bind_input(e, 0, input, err))) return s;
  memset(ic->state, V_NONE, (size_t)g->nvalues);
  if ((s = map_input(ic, g, adx_f32(input), B, e->incr_frac, err))) return s;
  for (int i = 0; i < g->nnodes; i++) {
    const adx_node *n = &g->nodes[i];
    if (n->dead) continue;
    int any = 0, track0 = n->nin > 0 && n->in[0] >= 0 && ic->state[n->in[0]] == V_TRACK;
    for (int k = 0; k < n->nin; k++) any |= n->in[k] >= 0 && ic->state[n->in[k]] != V_NONE;
    if (!any) {
      if ((s = adx_engine_run_node_in(e, i, plan, err))) return s;
      continue;
    }
    adx_ad_kind kind = n->op->ad;
    if (kind == ADX_AD_CONV && track0 && is_conv(n) && spatial(&g->values[n->out[0]])) {
      for (int k = 1; k < n->nin; k++)
        if (n->in[k] >= 0 && ic->state[n->in[k]] != V_NONE)
          return adx_node_fail(n, err, ADX_ERR_UNSUPPORTED, "weights that depend on the input");
      int tile = 1; /* outputs that depend on a whole tile of the layer's kernel (oneDNN's F(4,3) Winograd) */
      if (e->lib) {
        const adx_conv_lib *l = NULL;
        if ((s = adx_conv_lib_of(n, 0, e->threads, &l, err))) return s;
        tile = adx_conv_lib_tile(l);
      }
      if ((s = map_window(ic, g, n, e->incr_frac, tile, err)) || (s = conv_incr(e, ic, i, plan, err)))
        return s;
      continue;
    }
    if ((s = adx_engine_run_node_in(e, i, plan, err))) return s;
    if (kind == ADX_AD_POOL && track0 && spatial(&g->values[n->out[0]])) {
      for (int k = 0; k < n->nout; k++)
        if (n->out[k] >= 0) ic->state[n->out[k]] = V_ALL;
      if ((s = map_window(ic, g, n, e->incr_frac, 1, err))) return s;
    } else if (kind == ADX_AD_POINTWISE || kind == ADX_AD_COMBINE || kind == ADX_AD_CONCAT) {
      if ((s = map_keep(ic, g, n, e->incr_frac, err))) return s;
    } else {
      for (int k = 0; k < n->nout; k++)
        if (n->out[k] >= 0) ic->state[n->out[k]] = V_ALL;
    }
  }
  *output = &e->vt[g->outputs[0]];
  return ADX_OK;
}

/* ---- incremental AD (src/ad/run.c asks through its host) ----
 * The same maps, started from the hidden pixels: an AD mutant's input differs from the image only there
 * (isolation zeroes them; the `leak` variant leaves them, and calling them changed is still safe). A
 * position whose whole cone reads visible pixels only is active under every rule and computes what the
 * plain network computes, so the base holds its value; deactivated positions lie in the cone of hidden
 * pixels, i.e. among the changed ones. */

adx_status adx_incr_ad_begin(adx_engine *e, const adx_norm *norm, const float *raw, const uint8_t *masks,
                             int B, const uint8_t *plan, adx_error *err) {
  adx_graph *g = e->g;
  adx_incr *ic = incr_get(e);
  if (!ic) return nomem(err);
  const adx_value *iv = &g->values[g->inputs[0]];
  int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  size_t chw = (size_t)C * (size_t)H * (size_t)W, hw = (size_t)H * (size_t)W;
  adx_status s;
  if (!ic->have_base || ic->chw != chw || memcmp(&ic->norm, norm, sizeof *norm) ||
      memcmp(ic->raw, raw, chw * sizeof(float)))
    if ((s = make_base(e, ic, norm, raw, C, H, W, plan, err))) return s;
  memset(ic->state, V_NONE, (size_t)g->nvalues);
  int v = g->inputs[0];
  uint8_t *m = own_map(ic, v, (size_t)B * hw), *fl = own_flags(ic, v, B);
  if (!m || !fl) return nomem(err);
  for (int b = 0; b < B; b++) {
    uint8_t *mb = m + (size_t)b * hw;
    const uint8_t *vb = masks + (size_t)b * hw;
    for (size_t i = 0; i < hw; i++) mb[i] = vb[i] != 0;
    fl[b] = flag_of(count_changed(mb, hw), hw, e->incr_frac);
  }
  ic->state[v] = V_TRACK;
  return ADX_OK;
}

adx_status adx_incr_ad_node(adx_engine *e, int node, adx_error *err) {
  adx_graph *g = e->g;
  adx_incr *ic = e->incr;
  const adx_node *n = &g->nodes[node];
  int any = 0, track0 = n->nin > 0 && n->in[0] >= 0 && ic->state[n->in[0]] == V_TRACK;
  for (int k = 0; k < n->nin; k++) any |= n->in[k] >= 0 && ic->state[n->in[k]] != V_NONE;
  if (!any) return ADX_OK;
  adx_ad_kind kind = n->op->ad;
  for (int k = 0; k < n->nout; k++)
    if (n->out[k] >= 0) ic->state[n->out[k]] = V_ALL;
  if (kind == ADX_AD_CONV && track0 && is_conv(n) && spatial(&g->values[n->out[0]])) {
    for (int k = 1; k < n->nin; k++)
      if (n->in[k] >= 0 && ic->state[n->in[k]] != V_NONE) return ADX_OK; /* weights from the input */
    int tile = 1;
    if (e->lib) {
      const adx_conv_lib *l = NULL;
      adx_status s = adx_conv_lib_of(n, 0, e->threads, &l, err);
      if (s) return s;
      tile = adx_conv_lib_tile(l);
    }
    adx_status s = map_window(ic, g, n, e->incr_frac, tile, err);
    if (s) return s;
    const uint8_t *fl = ic->flag[n->out[0]];
    for (int b = 0; b < (int)g->values[n->out[0]].dims[0]; b++)
      ic->stats[fl[b] == F_CLEAN ? 0 : fl[b] == F_PART ? 1 : 2]++;
    return ADX_OK;
  }
  if (kind == ADX_AD_POOL && track0 && spatial(&g->values[n->out[0]]))
    return map_window(ic, g, n, e->incr_frac, 1, err);
  if (kind == ADX_AD_POINTWISE || kind == ADX_AD_COMBINE || kind == ADX_AD_CONCAT)
    return map_keep(ic, g, n, e->incr_frac, err);
  return ADX_OK;
}

int adx_incr_ad_conv(const adx_engine *e, int vout, int b, const uint8_t **unchanged, const float **base) {
  const adx_incr *ic = e->incr;
  if (!ic || !ic->have_base || ic->state[vout] != V_TRACK || ic->base_off[vout] == SIZE_MAX) return -1;
  size_t ohw = (size_t)e->g->values[vout].dims[2] * (size_t)e->g->values[vout].dims[3];
  int f = ic->flag[vout][b];
  *base = ic->base + ic->base_off[vout];
  *unchanged = f == F_PART ? ic->map[vout] + (size_t)b * ohw : NULL;
  return f == F_CLEAN ? 0 : f == F_PART ? 1 : 2;
}

void adx_engine_incremental_stats(const adx_engine *e, long out[3]) {
  for (int k = 0; k < 3; k++) out[k] = e->incr ? e->incr->stats[k] : 0;
}
