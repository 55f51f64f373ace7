/* Cross-judging (docs/metrics.md, "Judges"): a mode's top-k pixels scored by every removal operator. The
 * paste judges (colour, context) are computed with robustness@k in metrics.c, from the same draws; here
 * are the hiding judges (fill:zero, fill:mean, fill:blur, AD), the own-operator rule and the statistics of
 * the matrix over images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"

const char *const adx_judge_names[ADX_NJUDGES] = {"colour",    "context",   "fill:zero",
                                                  "fill:mean", "fill:blur", "ad"};

adx_status adx_judge_mode(int judge, adx_mode *m, adx_error *err) {
  switch (judge) {
  case ADX_JUDGE_FILL_ZERO: return adx_mode_parse("fill:zero", m, err);
  case ADX_JUDGE_FILL_MEAN: return adx_mode_parse("fill:mean", m, err);
  case ADX_JUDGE_FILL_BLUR: return adx_mode_parse("fill:blur", m, err);
  case ADX_JUDGE_AD: return adx_mode_parse_with("ad", NULL, m, err);
  default: return adx_fail(err, ADX_ERR_ARG, "judge %d does not hide pixels through an oracle", judge);
  }
}

int adx_judge_own(const char *mode_name) {
  if (!mode_name) return -1;
  if (adx_mode_name_is_ad(mode_name)) return ADX_JUDGE_AD;
  for (int j = ADX_JUDGE_FILL_ZERO; j <= ADX_JUDGE_FILL_BLUR; j++)
    if (!strcmp(mode_name, adx_judge_names[j])) return j;
  return -1;
}

static int top1(const float *p, int n) {
  int best = 0;
  for (int k = 1; k < n; k++)
    if (p[k] > p[best]) best = k;
  return best;
}

static int same_mode(const adx_mode *a, const adx_mode *b) {
  char sa[ADX_AD_VARIANT_MAX], sb[ADX_AD_VARIANT_MAX];
  return !strcmp(adx_mode_str(a, sa, sizeof sa), adx_mode_str(b, sb, sizeof sb));
}

adx_status adx_judge_hide(adx_oracle *const *judges, adx_oracle *mode_oracle, int target,
                          const int32_t *order, float out[ADX_ROB_K][ADX_NJUDGES][2], adx_error *err) {
  if (!judges || !order || !out)
    return adx_fail(err, ADX_ERR_ARG, "adx_judge_hide: missing judges or ranking");
  for (int j = ADX_JUDGE_FILL_ZERO; j < ADX_NJUDGES; j++)
    if (!judges[j])
      return adx_fail(err, ADX_ERR_ARG, "adx_judge_hide: no oracle for judge '%s'", adx_judge_names[j]);
  const adx_oracle *o0 = judges[ADX_JUDGE_FILL_ZERO];
  int hw = o0->H * o0->W, nc = o0->nclasses, nm = 2 * ADX_ROB_K;
  if (target < 0 || target >= nc)
    return adx_fail(err, ADX_ERR_ARG, "adx_judge_hide: target %d outside [0, %d)", target, nc);
  /* rows j: only the top-k visible; rows ADX_ROB_K + j: the top-k hidden, the rest visible */
  uint8_t *masks = calloc((size_t)nm * (size_t)hw, 1);
  float *probs = malloc(sizeof(float) * (size_t)nm * (size_t)nc);
  adx_status st = ADX_OK;
  if (!masks || !probs) {
    st = adx_fail(err, ADX_ERR_NOMEM, "out of memory for the judge masks");
    goto done;
  }
  for (int j = 0; j < ADX_ROB_K; j++) {
    /* the same count robustness@k pastes: ceil(k% * N) in exact integers */
    int n = (int)(((int64_t)lroundf(adx_rob_k[j] * 100.0f) * hw + 99) / 100);
    uint8_t *keep = masks + (size_t)j * hw, *drop = masks + (size_t)(ADX_ROB_K + j) * hw;
    memset(drop, 1, (size_t)hw);
    for (int i = 0; i < n; i++) {
      keep[order[i]] = 1;
      drop[order[i]] = 0;
    }
  }
  for (int jj = ADX_JUDGE_FILL_ZERO; jj < ADX_NJUDGES && !st; jj++) {
    adx_oracle *o = judges[jj];
    if (o->H * o->W != hw || o->nclasses != nc) {
      st = adx_fail(err, ADX_ERR_ARG, "adx_judge_hide: judge '%s' sees another image size",
                    adx_judge_names[jj]);
      break;
    }
    if (mode_oracle && mode_oracle->raw == o->raw && mode_oracle->engine == o->engine &&
        same_mode(&mode_oracle->mode, &o->mode))
      o = mode_oracle; /* the explanation's own mode: its cache holds the curve masks */
    if ((st = adx_oracle_ask(o, masks, nm, probs, err))) break;
    for (int j = 0; j < ADX_ROB_K; j++) {
      out[j][jj][ADX_JUDGE_SUFF] = top1(probs + (size_t)j * nc, nc) == target ? 1.0f : 0.0f;
      out[j][jj][ADX_JUDGE_COMP] = top1(probs + (size_t)(ADX_ROB_K + j) * nc, nc) != target ? 1.0f : 0.0f;
    }
  }
done:
  free(masks);
  free(probs);
  return st;
}

/* The mean of an image's non-NaN values of one judge and measure across the k (NaN if none). */
static double mean_over_k(const float *row, int j, int m) {
  double s = 0;
  int c = 0;
  for (int k = 0; k < ADX_ROB_K; k++) {
    float v = row[((size_t)k * ADX_NJUDGES + (size_t)j) * 2 + (size_t)m];
    if (!isnan(v)) s += v, c++;
  }
  return c ? s / c : NAN;
}

#define JROW ((size_t)ADX_ROB_K * ADX_NJUDGES * 2)

void adx_judge_summarize_done(const float *rows, const uint8_t *done, int64_t n, double *scratch,
                              adx_summary out[ADX_ROB_K + 1][ADX_NJUDGES][2]) {
  for (int k = 0; k <= ADX_ROB_K; k++)
    for (int j = 0; j < ADX_NJUDGES; j++)
      for (int m = 0; m < 2; m++) {
        int64_t c = 0;
        for (int64_t i = 0; i < n; i++) {
          if (done && !done[i]) continue;
          const float *row = rows + (size_t)i * JROW;
          scratch[c++] = k < ADX_ROB_K ? (double)row[((size_t)k * ADX_NJUDGES + (size_t)j) * 2 + (size_t)m]
                                       : mean_over_k(row, j, m);
        }
        adx_summarize(scratch, c, &out[k][j][m]);
      }
}

void adx_judge_margin_done(const float *a, const float *f, const uint8_t *done, int64_t n, double *scratch,
                           adx_summary out[ADX_NJUDGES][2]) {
  for (int j = 0; j < ADX_NJUDGES; j++)
    for (int m = 0; m < 2; m++) {
      int64_t c = 0;
      for (int64_t i = 0; i < n; i++) {
        if (done && !done[i]) continue;
        double va = mean_over_k(a + (size_t)i * JROW, j, m), vf = mean_over_k(f + (size_t)i * JROW, j, m);
        if (isnan(va) || isnan(vf)) continue;
        scratch[c++] = va - vf;
      }
      adx_summarize(scratch, c, &out[j][m]);
    }
}
