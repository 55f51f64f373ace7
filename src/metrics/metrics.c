/* Per-image metrics of an explanation (definitions in docs/metrics.md):
 *  - size, confidence, drop_off and the insertion/deletion curves ask the explanation's own mode
 *    (one batched oracle call: the explanation mask and the 2(S+1) curve masks);
 *  - robustness (colour, context, @k) pastes pixels onto other backgrounds in raw pixel space and judges
 *    the composites by a plain forward pass of the oracle (adx_oracle_ask_images), in batches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"

const float adx_rob_k[ADX_ROB_K] = {0.05f, 0.10f, 0.20f, 0.40f};

void adx_metrics_params_default(adx_metrics_params *p) {
  p->k_colour = 20;
  p->k_context = 20;
  p->auc_steps = 20;
}

/* Composites assembled per plain engine call (bounds the raw staging memory). */
#define PASTE_CHUNK 32

static int argmax(const float *p, int n) {
  int best = 0;
  for (int k = 1; k < n; k++)
    if (p[k] > p[best]) best = k;
  return best;
}

/* ceil(num * total / den) in exact integer arithmetic. */
static int ceil_frac(int64_t num, int64_t total, int64_t den) { return (int)((num * total + den - 1) / den); }

static adx_status check_args(const adx_oracle *mo, const adx_oracle *po, int target, float p_full,
                             const uint8_t *expl, const int32_t *order, const adx_backgrounds *bg,
                             const adx_metrics_params *p, adx_error *err) {
  if (!mo || !po || !expl || !order || !p)
    return adx_fail(err, ADX_ERR_ARG, "adx_metrics_compute: missing oracle, explanation, ranking or params");
  if (mo->C != po->C || mo->H != po->H || mo->W != po->W || mo->nclasses != po->nclasses)
    return adx_fail(err, ADX_ERR_ARG,
                    "adx_metrics_compute: mode and plain oracles disagree on the image size");
  if (target < 0 || target >= mo->nclasses)
    return adx_fail(err, ADX_ERR_ARG, "adx_metrics_compute: target %d outside [0, %d)", target, mo->nclasses);
  if (!(p_full > 0.0f && p_full <= 1.0f))
    return adx_fail(err, ADX_ERR_ARG, "adx_metrics_compute: p_full %g must be in (0, 1]", (double)p_full);
  if (p->k_colour < 0) return adx_fail(err, ADX_ERR_ARG, "metrics k_colour %d must be >= 0", p->k_colour);
  if (p->k_context < 0) return adx_fail(err, ADX_ERR_ARG, "metrics k_context %d must be >= 0", p->k_context);
  if (p->auc_steps < 1) return adx_fail(err, ADX_ERR_ARG, "metrics auc_steps %d must be >= 1", p->auc_steps);
  if (bg && bg->n < 0) return adx_fail(err, ADX_ERR_ARG, "metrics backgrounds: negative count %d", bg->n);
  if (bg && bg->n > 0 && (!bg->raw || !bg->label))
    return adx_fail(err, ADX_ERR_ARG, "metrics backgrounds: %d images without pixels or labels", bg->n);
  return ADX_OK;
}

/* The ranking must be a permutation of the H*W pixel indices. */
static adx_status check_order(const int32_t *order, int hw, adx_error *err) {
  uint8_t *seen = calloc((size_t)hw, 1);
  if (!seen) return adx_fail(err, ADX_ERR_NOMEM, "out of memory checking the pixel ranking");
  adx_status st = ADX_OK;
  for (int i = 0; i < hw && !st; i++) {
    if (order[i] < 0 || order[i] >= hw || seen[order[i]])
      st = adx_fail(err, ADX_ERR_ARG, "adx_metrics_compute: ranking entry %d (%d) is not a pixel permutation",
                    i, (int)order[i]);
    else
      seen[order[i]] = 1;
  }
  free(seen);
  return st;
}

/* Confidence and the insertion / deletion curves, in the explanation's mode: one batched ask. */
static adx_status mode_metrics(adx_oracle *o, int target, float p_full, const uint8_t *expl,
                               const int32_t *order, int S, adx_metrics *out, adx_error *err) {
  int hw = o->H * o->W, nm = 1 + 2 * (S + 1);
  uint8_t *masks = calloc((size_t)nm * (size_t)hw, 1);
  float *probs = malloc(sizeof(float) * (size_t)nm * (size_t)o->nclasses);
  double *yi = malloc(sizeof(double) * (size_t)(S + 1)), *yd = malloc(sizeof(double) * (size_t)(S + 1));
  adx_status st = ADX_OK;
  if (!masks || !probs || !yi || !yd) {
    st = adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d metric masks", nm);
    goto done;
  }
  for (int i = 0; i < hw; i++) masks[i] = expl[i] != 0;
  for (int i = 0; i <= S; i++) {
    int n = ceil_frac(i, hw, S);
    uint8_t *ins = masks + (size_t)(1 + i) * hw, *del = masks + (size_t)(2 + S + i) * hw;
    memset(del, 1, (size_t)hw);
    for (int j = 0; j < n; j++) {
      ins[order[j]] = 1;
      del[order[j]] = 0;
    }
  }
  st = adx_oracle_ask(o, masks, nm, probs, err);
  if (st) goto done;
  int nc = o->nclasses;
  out->confidence = probs[target];
  out->drop_off = (p_full - out->confidence) / p_full;
  for (int i = 0; i <= S; i++) {
    yi[i] = (double)probs[(size_t)(1 + i) * nc + target] / p_full;
    yd[i] = (double)probs[(size_t)(2 + S + i) * nc + target] / p_full;
  }
  out->insertion_auc = (float)adx_trapezoid(yi, S + 1);
  out->deletion_auc = (float)adx_trapezoid(yd, S + 1);
done:
  free(masks);
  free(probs);
  free(yi);
  free(yd);
  return st;
}

/* Robustness: the explanation and the top-k% masks pasted onto Kc colours and Kx context images. */
/* judged: also the paste judges' comprehensiveness (the top-k replaced by each background: masks
 * 1 + ADX_ROB_K + j, the complements of the top-k masks) and both judges' sufficiency (the robustness@k
 * hits per background set) into out->judges. */
static adx_status paste_metrics(adx_oracle *o, int target, const uint8_t *expl, const int32_t *order,
                                const adx_backgrounds *bg, const adx_metrics_params *p, uint64_t seed,
                                int judged, adx_metrics *out, adx_error *err) {
  int C = o->C, hw = o->H * o->W, nc = o->nclasses;
  size_t chw = (size_t)C * (size_t)hw;
  int Kc = p->k_colour, Kx = 0, nmask = 1 + ADX_ROB_K * (judged ? 2 : 1);
  /* colours: channel ch of colour c is draw c*C + ch of the colour stream, 255 * U[0,1) */
  float *colour = malloc(sizeof(float) * (size_t)(Kc > 0 ? Kc : 1) * (size_t)C);
  int nbgimg = bg ? bg->n : 0;
  int *ctx = malloc(sizeof(int) * (size_t)(nbgimg > 0 ? nbgimg : 1));
  uint8_t *masks = calloc((size_t)nmask * (size_t)hw, 1);
  float *comp = NULL, *probs = NULL;
  adx_status st = ADX_OK;
  if (!colour || !ctx || !masks) {
    st = adx_fail(err, ADX_ERR_NOMEM, "out of memory for robustness backgrounds");
    goto done;
  }
  adx_rng rng;
  adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_COLOUR));
  for (int i = 0; i < Kc * C; i++) colour[i] = (float)(255.0 * adx_rng_uniform(&rng));
  /* context: the images whose label differs from the target (the excluded one left out), in dataset
   * order, then a seeded partial Fisher-Yates shuffle picks min(K, eligible) of them */
  int nel = 0;
  for (int i = 0; i < nbgimg; i++)
    if (bg->label[i] != target && !(bg->exclude_one && i == bg->excluded)) ctx[nel++] = i;
  Kx = p->k_context < nel ? p->k_context : nel;
  adx_rng_seed(&rng, adx_seed_mix(seed, ADX_SEED_METRIC_CONTEXT));
  for (int i = 0; i < Kx; i++) {
    int j = i + (int)adx_rng_below(&rng, (uint64_t)(nel - i));
    int t = ctx[i];
    ctx[i] = ctx[j];
    ctx[j] = t;
  }
  /* masks: 0 = the explanation, 1 + j = the top ceil(k_j * HW) pixels of the ranking */
  for (int i = 0; i < hw; i++) masks[i] = expl[i] != 0;
  for (int j = 0; j < ADX_ROB_K; j++) {
    int n = ceil_frac(lroundf(adx_rob_k[j] * 100.0f), hw, 100);
    for (int i = 0; i < n; i++) masks[(size_t)(1 + j) * hw + order[i]] = 1;
    if (judged) { /* 1 + ADX_ROB_K + j: everything but the top-k pasted */
      uint8_t *cm = masks + (size_t)(1 + ADX_ROB_K + j) * hw;
      for (int i = 0; i < hw; i++) cm[i] = !masks[(size_t)(1 + j) * hw + i];
    }
  }
  int nbg = Kc + Kx, total = nmask * nbg;
  int64_t hits[1 + 2 * ADX_ROB_K][2] = {{0}};
  if (total > 0) {
    int chunk = total < PASTE_CHUNK ? total : PASTE_CHUNK;
    comp = adx_alloc(sizeof(float) * chw * (size_t)chunk);
    probs = malloc(sizeof(float) * (size_t)chunk * (size_t)nc);
    if (!comp || !probs) {
      st = adx_fail(err, ADX_ERR_NOMEM, "out of memory for robustness composites");
      goto done;
    }
    for (int t0 = 0; t0 < total; t0 += chunk) {
      int nb = total - t0 < chunk ? total - t0 : chunk;
      for (int b = 0; b < nb; b++) {
        int m = (t0 + b) / nbg, g = (t0 + b) % nbg;
        const uint8_t *mk = masks + (size_t)m * hw;
        float *dst = comp + (size_t)b * chw;
        for (int ch = 0; ch < C; ch++) {
          const float *src = o->raw + (size_t)ch * hw;
          float *d = dst + (size_t)ch * hw;
          if (g < Kc) {
            float v = colour[g * C + ch];
            for (int i = 0; i < hw; i++) d[i] = mk[i] ? src[i] : v;
          } else {
            const float *bs = bg->raw + (size_t)ctx[g - Kc] * chw + (size_t)ch * hw;
            for (int i = 0; i < hw; i++) d[i] = mk[i] ? src[i] : bs[i];
          }
        }
      }
      st = adx_oracle_ask_images(o, comp, nb, probs, err);
      if (st) goto done;
      for (int b = 0; b < nb; b++) {
        int m = (t0 + b) / nbg, g = (t0 + b) % nbg;
        if (argmax(probs + (size_t)b * nc, nc) == target) hits[m][g < Kc ? 0 : 1]++;
      }
    }
  }
  out->robustness_colour = Kc > 0 ? (float)((double)hits[0][0] / Kc) : NAN;
  out->robustness_context = Kx > 0 ? (float)((double)hits[0][1] / Kx) : NAN;
  for (int j = 0; j < ADX_ROB_K; j++)
    out->robustness_at_k[j] = nbg > 0 ? (float)((double)(hits[1 + j][0] + hits[1 + j][1]) / nbg) : NAN;
  for (int j = 0; judged && j < ADX_ROB_K; j++) {
    const int64_t *suf = hits[1 + j], *kept = hits[1 + ADX_ROB_K + j];
    float(*jd)[2] = out->judges[j];
    jd[ADX_JUDGE_COLOUR][ADX_JUDGE_SUFF] = Kc > 0 ? (float)((double)suf[0] / Kc) : NAN;
    jd[ADX_JUDGE_CONTEXT][ADX_JUDGE_SUFF] = Kx > 0 ? (float)((double)suf[1] / Kx) : NAN;
    jd[ADX_JUDGE_COLOUR][ADX_JUDGE_COMP] = Kc > 0 ? (float)((double)(Kc - kept[0]) / Kc) : NAN;
    jd[ADX_JUDGE_CONTEXT][ADX_JUDGE_COMP] = Kx > 0 ? (float)((double)(Kx - kept[1]) / Kx) : NAN;
  }
done:
  free(colour);
  free(ctx);
  free(masks);
  adx_free(comp);
  free(probs);
  return st;
}

/* The queries counted by the distinct oracles among mode, plain and the hiding judges. */
static int64_t count_queries(adx_oracle *mo, adx_oracle *po, adx_oracle *const *judges) {
  adx_oracle *seen[2 + ADX_NJUDGES];
  int n = 0;
  int64_t q = 0;
  adx_oracle *all[2 + ADX_NJUDGES] = {mo, po};
  for (int j = 0; j < ADX_NJUDGES; j++) all[2 + j] = judges && j >= ADX_JUDGE_FILL_ZERO ? judges[j] : NULL;
  for (int i = 0; i < 2 + ADX_NJUDGES; i++) {
    int dup = !all[i];
    for (int k = 0; k < n && !dup; k++) dup = seen[k] == all[i];
    if (dup) continue;
    seen[n++] = all[i];
    q += all[i]->queries;
  }
  return q;
}

adx_status adx_metrics_compute_judged(adx_oracle *mode_oracle, adx_oracle *plain_oracle,
                                      adx_oracle *const *judges, int target, float p_full,
                                      const uint8_t *expl, const int32_t *order, const adx_backgrounds *bg,
                                      const adx_metrics_params *p, uint64_t seed, adx_metrics *out,
                                      adx_error *err) {
  adx_status st = check_args(mode_oracle, plain_oracle, target, p_full, expl, order, bg, p, err);
  if (st) return st;
  int hw = mode_oracle->H * mode_oracle->W;
  if ((st = check_order(order, hw, err))) return st;
  for (int j = ADX_JUDGE_FILL_ZERO; judges && j < ADX_NJUDGES; j++) {
    const adx_oracle *jo = judges[j];
    if (!jo)
      return adx_fail(err, ADX_ERR_ARG, "adx_metrics_compute_judged: no oracle for judge '%s'",
                      adx_judge_names[j]);
    if (jo->C != mode_oracle->C || jo->H != mode_oracle->H || jo->W != mode_oracle->W ||
        jo->nclasses != mode_oracle->nclasses)
      return adx_fail(err, ADX_ERR_ARG, "adx_metrics_compute_judged: judge '%s' sees another image size",
                      adx_judge_names[j]);
  }
  int64_t q0 = count_queries(mode_oracle, plain_oracle, judges);
  int64_t npx = 0;
  for (int i = 0; i < hw; i++) npx += expl[i] != 0;
  out->size = (float)((double)npx / hw);
  for (int j = 0; j < ADX_ROB_K; j++)
    for (int k = 0; k < ADX_NJUDGES; k++) out->judges[j][k][0] = out->judges[j][k][1] = NAN;
  if ((st = mode_metrics(mode_oracle, target, p_full, expl, order, p->auc_steps, out, err))) return st;
  if ((st = paste_metrics(plain_oracle, target, expl, order, bg, p, seed, judges != NULL, out, err)))
    return st;
  if (judges && (st = adx_judge_hide(judges, mode_oracle, target, order, out->judges, err))) return st;
  out->metric_queries = count_queries(mode_oracle, plain_oracle, judges) - q0;
  return ADX_OK;
}

adx_status adx_metrics_compute(adx_oracle *mode_oracle, adx_oracle *plain_oracle, int target, float p_full,
                               const uint8_t *expl, const int32_t *order, const adx_backgrounds *bg,
                               const adx_metrics_params *p, uint64_t seed, adx_metrics *out, adx_error *err) {
  return adx_metrics_compute_judged(mode_oracle, plain_oracle, NULL, target, p_full, expl, order, bg, p, seed,
                                    out, err);
}
