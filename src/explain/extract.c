/* From a responsibility map to an explanation: a deterministic ranking of the pixels, and the smallest
 * sufficient prefix of it, found with one batched oracle request. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"

typedef struct rank_key {
  float r;    /* responsibility (NaN ranks last) */
  int64_t d2; /* squared distance to the map's first maximum */
  int32_t idx;
} rank_key;

/* Total order: responsibility descending, then nearer the maximum first, then index. */
static int cmp_key(const void *pa, const void *pb) {
  const rank_key *a = pa, *b = pb;
  if (a->r != b->r) return a->r > b->r ? -1 : 1;
  if (a->d2 != b->d2) return a->d2 < b->d2 ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

void adx_rank_pixels(const float *resp, int H, int W, int32_t *order) {
  size_t hw = (size_t)H * (size_t)W;
  if (hw == 0) return;
  size_t am = 0;
  for (size_t i = 1; i < hw; i++)
    if (resp[i] > resp[am] || (isnan(resp[am]) && !isnan(resp[i]))) am = i;
  rank_key *k = malloc(hw * sizeof *k);
  if (!k) { /* cannot fail the void API: fall back to index order rather than leave order undefined */
    for (size_t i = 0; i < hw; i++) order[i] = (int32_t)i;
    return;
  }
  int ay = (int)(am / (size_t)W), ax = (int)(am % (size_t)W);
  for (size_t i = 0; i < hw; i++) {
    int64_t dy = (int64_t)(i / (size_t)W) - ay, dx = (int64_t)(i % (size_t)W) - ax;
    k[i].r = isnan(resp[i]) ? -INFINITY : resp[i];
    k[i].d2 = dy * dy + dx * dx;
    k[i].idx = (int32_t)i;
  }
  qsort(k, hw, sizeof *k, cmp_key);
  for (size_t i = 0; i < hw; i++) order[i] = k[i].idx;
  free(k);
}

/* Ask the prefixes of the ranking of sizes n[0] < n[1] < ... < n[count-1] in one oracle request; *pick gets
 * the first that keeps the target top-1 with p >= thr (-1 if none), *p_pick its probability (of the last
 * prefix when none passes). */
static adx_status ask_prefixes(adx_oracle *o, int target, const int32_t *order, const int64_t *n, int count,
                               float thr, int *pick, float *p_pick, adx_error *err) {
  const int64_t hw = (int64_t)o->H * o->W;
  const int nc = o->nclasses;
  size_t mbytes, pbytes;
  if (adx_mul_size((size_t)hw, (size_t)count, &mbytes) ||
      adx_mul_size((size_t)nc * sizeof(float), (size_t)count, &pbytes))
    return adx_fail(err, ADX_ERR_LIMIT, "extract: %d candidates need too much memory", count);
  uint8_t *masks = adx_alloc(mbytes);
  float *probs = adx_alloc(pbytes);
  adx_status s = ADX_OK;
  if (!masks || !probs) s = adx_fail(err, ADX_ERR_NOMEM, "extract: out of memory for %d candidates", count);
  /* each candidate extends the previous one */
  int64_t shown = 0;
  for (int k = 0; !s && k < count; k++) {
    uint8_t *m = masks + (size_t)k * (size_t)hw;
    if (k)
      memcpy(m, m - hw, (size_t)hw);
    else
      memset(m, 0, (size_t)hw);
    for (; !s && shown < n[k]; shown++) {
      if (order[shown] < 0 || order[shown] >= hw)
        s = adx_fail(err, ADX_ERR_ARG, "extract: ranking entry %lld is %d, not a pixel index",
                     (long long)shown, (int)order[shown]);
      else
        m[order[shown]] = 1;
    }
  }
  if (!s) s = adx_oracle_ask(o, masks, count, probs, err);
  if (!s) {
    *pick = -1;
    for (int k = 0; k < count && *pick < 0; k++) {
      const float *p = probs + (size_t)k * nc;
      int top = 0;
      for (int c = 1; c < nc; c++)
        if (p[c] > p[top]) top = c;
      if (top == target && p[target] >= thr) *pick = k;
    }
    *p_pick = probs[(size_t)(*pick >= 0 ? *pick : count - 1) * nc + target];
  }
  adx_free(masks);
  adx_free(probs);
  return s;
}

static adx_status extract(adx_oracle *o, int target, const int32_t *order, float p_full, float confidence,
                          int chunks, int refine, uint8_t *expl, int *size_px, float *p_expl,
                          adx_error *err) {
  const int64_t hw = (int64_t)o->H * o->W;
  if (!order || !expl) return adx_fail(err, ADX_ERR_ARG, "extract: missing ranking or output");
  if (chunks < 1 || chunks > hw)
    return adx_fail(err, ADX_ERR_ARG, "extract: chunks is %d; must be in [1, %lld]", chunks, (long long)hw);
  if (!(confidence >= 0 && confidence <= 1))
    return adx_fail(err, ADX_ERR_ARG, "extract: confidence is %g; must be in [0, 1]", (double)confidence);
  if (target < 0 || target >= o->nclasses)
    return adx_fail(err, ADX_ERR_ARG, "extract: target class %d outside [0, %d)", target, o->nclasses);
  const float thr = confidence * p_full;
  /* stage 1: candidate k (1..chunks) shows the top ceil(k * hw / chunks) pixels */
  int64_t per = (hw + chunks - 1) / chunks, cap = chunks > per ? chunks : per;
  int64_t *n = malloc(sizeof(int64_t) * (size_t)cap);
  if (!n) return adx_fail(err, ADX_ERR_NOMEM, "extract: out of memory");
  for (int k = 1; k <= chunks; k++) n[k - 1] = ((int64_t)k * hw + chunks - 1) / chunks;
  int pick = -1;
  float p = 0;
  adx_status s = ask_prefixes(o, target, order, n, chunks, thr, &pick, &p, err);
  int64_t size = pick >= 0 ? n[pick] : hw;
  /* stage 2: every size between the last failing chunk and the first passing one, pixel by pixel */
  if (!s && refine && pick >= 0) {
    int64_t lo = pick > 0 ? n[pick - 1] + 1 : 1, cnt = size - lo;
    if (cnt > 0) {
      for (int64_t i = 0; i < cnt; i++) n[i] = lo + i; /* cnt < per <= cap */
      int pick2 = -1;
      float p2 = 0;
      s = ask_prefixes(o, target, order, n, (int)cnt, thr, &pick2, &p2, err);
      if (!s && pick2 >= 0) {
        size = n[pick2];
        p = p2;
      }
    }
  }
  free(n);
  if (s) return s;
  memset(expl, 0, (size_t)hw);
  for (int64_t i = 0; i < size; i++) expl[order[i]] = 1;
  if (size_px) *size_px = (int)size;
  if (p_expl) *p_expl = p;
  return ADX_OK;
}

adx_status adx_extract(adx_oracle *o, int target, const int32_t *order, float p_full, float confidence,
                       int chunks, uint8_t *expl, int *size_px, float *p_expl, adx_error *err) {
  return extract(o, target, order, p_full, confidence, chunks, 0, expl, size_px, p_expl, err);
}

adx_status adx_extract_refined(adx_oracle *o, int target, const int32_t *order, float p_full,
                               float confidence, int chunks, uint8_t *expl, int *size_px, float *p_expl,
                               adx_error *err) {
  return extract(o, target, order, p_full, confidence, chunks, 1, expl, size_px, p_expl, err);
}

adx_status adx_explainer_extract(const adx_explainer *x, adx_oracle *o, int target, const int32_t *order,
                                 float p_full, uint8_t *expl, int *size_px, float *p_expl, adx_error *err) {
  return extract(o, target, order, p_full, x->confidence, x->chunks, x->refine, expl, size_px, p_expl, err);
}
