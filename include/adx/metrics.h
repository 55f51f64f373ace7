/* adx metrics: how good is an explanation? Definitions in docs/metrics.md. */
#ifndef ADX_METRICS_H
#define ADX_METRICS_H

#include "adx/explain.h"
#include "adx/record.h"

typedef struct adx_metrics_params {
  int k_colour;  /* solid-colour backgrounds (default 20) */
  int k_context; /* other-class backgrounds (default 20) */
  int auc_steps; /* insertion/deletion curve steps (default 20) */
} adx_metrics_params;

void adx_metrics_params_default(adx_metrics_params *p);

/* Purposes mixed into the per-image seed: adx_seed_mix(seed, purpose). Colour c of channel ch is the
 * (c*C + ch)-th draw 255 * adx_rng_uniform of the colour stream; see docs/metrics.md. */
#define ADX_SEED_METRIC_COLOUR 0x6d636f6c6f7572ULL    /* "mcolour" */
#define ADX_SEED_METRIC_CONTEXT 0x6d636f6e74657874ULL /* "mcontext" */

/* Backgrounds for context robustness: raw images [n][C,H,W] with labels; the caller owns them. */
typedef struct adx_backgrounds {
  int n;
  const float *raw; /* n * C*H*W */
  const int *label;
  int exclude_one; /* 1: background `excluded` is never used (it is the image being explained) */
  int excluded;
} adx_backgrounds;

/* Everything but seconds/queries (metric_queries included). mode_oracle: the explanation's mode
 * (confidence, AUCs); plain_oracle: the same image in plain mode (robustness pastes are judged by a plain
 * pass). expl [H,W] nonzero = in the explanation; order: the ranking (a permutation of H*W, checked);
 * bg may be NULL (context robustness NaN); p_full in (0, 1].
 * seed: per-image seed (colours and the choice of context backgrounds). */
adx_status adx_metrics_compute(adx_oracle *mode_oracle, adx_oracle *plain_oracle, int target, float p_full,
                               const uint8_t *expl, const int32_t *order, const adx_backgrounds *bg,
                               const adx_metrics_params *p, uint64_t seed, adx_metrics *out, adx_error *err);

/* ---- cross-judging (src/metrics/judge.c; docs/metrics.md, "Judges") ---- */

/* adx_metrics_compute, and the judge matrix out->judges: the top-k pixels of the ranking (k of adx_rob_k, the
 * pixels robustness@k pastes) scored by every judge. judges: ADX_NJUDGES oracles indexed by ADX_JUDGE_*, of
 * which the hiding ones (ADX_JUDGE_FILL_ZERO .. ADX_JUDGE_AD) must be set, bound to the same image in the
 * modes of adx_judge_mode (the paste judges use plain_oracle: entries 0 and 1 are not read); NULL: no judges
 * (out->judges NaN, the cost and values of adx_metrics_compute). metric_queries counts every oracle's
 * queries. */
adx_status adx_metrics_compute_judged(adx_oracle *mode_oracle, adx_oracle *plain_oracle,
                                      adx_oracle *const *judges, int target, float p_full,
                                      const uint8_t *expl, const int32_t *order, const adx_backgrounds *bg,
                                      const adx_metrics_params *p, uint64_t seed, adx_metrics *out,
                                      adx_error *err);

/* The mode of a hiding judge (ADX_JUDGE_FILL_ZERO .. ADX_JUDGE_AD): fill:zero, fill:mean, fill:blur, or the
 * built-in default AD variant (what a bare "ad" means without --ad-* flags). ADX_ERR_ARG otherwise. */
adx_status adx_judge_mode(int judge, adx_mode *m, adx_error *err);

/* The hiding judges of one ranking, into out[k][j] for j = ADX_JUDGE_FILL_ZERO .. ADX_JUDGE_AD:
 * sufficiency = 1 if target is top-1 with only the top-k visible (the rest hidden by judge j), else 0;
 * comprehensiveness = 1 if target is not top-1 with the top-k hidden and the rest visible, else 0.
 * One batched ask of 2 * ADX_ROB_K masks per judge. Where mode_oracle (may be NULL) computes the judge's
 * mode (same canonical adx_mode_str), it is asked instead: its cache already holds the insertion and
 * deletion curve masks that coincide with the top-k masks. Other entries of out are left alone. */
adx_status adx_judge_hide(adx_oracle *const *judges, adx_oracle *mode_oracle, int target,
                          const int32_t *order, float out[ADX_ROB_K][ADX_NJUDGES][2], adx_error *err);

/* The judge whose removal operator is the mode's own: ADX_JUDGE_AD for an AD mode ("ad", "ad:..."),
 * ADX_JUDGE_FILL_ZERO / MEAN / BLUR for fill:zero / fill:mean / fill:blur, -1 for any other mode. */
int adx_judge_own(const char *mode_name);

/* Statistics of judge rows [n][ADX_ROB_K][ADX_NJUDGES][2] over the images done (NaN values skipped):
 * out[k][j][measure] for each k, and out[ADX_ROB_K][j][measure] over the per-image mean across the k
 * (the mean of an image's non-NaN values at the ADX_ROB_K k). scratch: n doubles. */
void adx_judge_summarize_done(const float *rows, const uint8_t *done, int64_t n, double *scratch,
                              adx_summary out[ADX_ROB_K + 1][ADX_NJUDGES][2]);
/* The margin of mode a over mode f under each judge and measure, paired over the images done where both
 * are defined: adx_summarize of (a - f) of the per-image means across k (mean and 95% CI of the absolute
 * difference). scratch: n doubles. */
void adx_judge_margin_done(const float *a, const float *f, const uint8_t *done, int64_t n, double *scratch,
                           adx_summary out[ADX_NJUDGES][2]);

/* Trapezoid area under y over x = i/(n-1), i = 0..n-1 (NaN when n < 2). */
double adx_trapezoid(const double *y, int n);

/* Quantile of Student's t distribution: the t with P(T <= t) = p, 0 < p < 1, dof > 0 (NaN otherwise).
 * Accurate to about 1e-9. */
double adx_t_quantile(double p, double dof);

/* Two-sided p-value of a Student t statistic with dof degrees of freedom: P(|T| >= |t|) (NaN for a NaN t or
 * dof <= 0; 0 for an infinite t). */
double adx_t_pvalue(double t, double dof);

/* Holm's step-down correction (Holm 1979) of m p-values: sorted ascending p_(1) <= ... <= p_(m'), the
 * adjusted p_(i) is max over j <= i of min(1, (m' - j + 1) p_(j)), where m' counts the p-values that are not
 * NaN (a NaN stays NaN and is not counted). adj may equal p. */
void adx_holm(const double *p, int m, double *adj);

/* The two-sided p-value of the one-sample t-test of mean 0 for a summary of paired differences d (the paired
 * t-test of no difference): t = mean / (std / sqrt(n)) at n - 1 dof. NaN for n < 2 or a NaN mean or std; with
 * std 0 (every pair differs by the same amount), 1 when the mean is 0, else 0. */
double adx_summary_pvalue(const adx_summary *d);

/* Summary of n values (adx_summary, adx/record.h): mean, sample std, and a 95% CI for the mean (t
 * distribution). NaN values are skipped (s->n counts the others). n = 0 -> all NaN; n = 1 -> std 0 and NaN
 * CI bounds. */
void adx_summarize(const double *v, int64_t n, adx_summary *s);

/* Relative improvement of paired means a over f, (mean a - mean f) / mean f, with a 95% CI by the delta
 * method: Var(mean a / mean f) ~ Var(a - R f) / (n mean_f^2), R = mean a / mean f, t quantile at n-1 dof.
 * Also the absolute difference of the means with its paired 95% t interval, and the paired t-test p-value
 * (p_holm is set to NaN: adx_holm over a table is the caller's). Pairs where either value is NaN are
 * skipped; mean f = 0 gives a NaN improvement (the difference is still given); n < 2 NaN intervals and p. */
void adx_rel_improvement(const double *a, const double *f, int64_t n, adx_ad_vs *out);

/* ---- statistics over the images of a run: computed here once for a results file's /summary (io/) and for
 * adx summary and adx report (report/). col[i] is image i's value of one metric (n images); only the images
 * with done[i] != 0 count. */
/* adx_summarize of col over the images done. scratch: n doubles. */
void adx_summarize_done(const double *col, const uint8_t *done, int64_t n, double *scratch, adx_summary *s);
/* adx_rel_improvement of AD's column over a fill mode's, paired over the images done. scratch: 2n doubles. */
void adx_rel_improvement_done(const double *ad, const double *fill, const uint8_t *done, int64_t n,
                              double *scratch, adx_ad_vs *v);
/* The class an image counts for: its label, or its prediction where the label is unknown; -1 when neither
 * is in [0, nclasses). */
int adx_image_class(int32_t label, int32_t pred, int nclasses);
/* Mean of col per class (adx_image_class) over the images done, NaN values skipped: mean[c] and the count
 * of values count[c] for c < nclasses; NaN for a class without values. */
void adx_class_means(const double *col, const uint8_t *done, const int32_t *label, const int32_t *pred,
                     int64_t n, int nclasses, double *mean, int64_t *count);

/* ---- ground truth (docs/metrics.md, "Ground truth"): pure functions of a map or ranking and an object
 * mask [H*W] (nonzero = object pixel). Every value is NaN when the mask holds no object pixel. */
/* Mark every value NaN (no mask). */
void adx_gt_clear(adx_gt *g);
/* Pointing game: 1 if order[0] (the ranking's first pixel) is an object pixel, else 0. */
float adx_gt_pointing_game(const int32_t *order, const uint8_t *mask, int64_t hw);
/* Energy in object: sum of max(map, 0) over object pixels / sum of max(map, 0) over all pixels (NaN values
 * count 0); NaN when the denominator is 0. */
float adx_gt_energy_in_object(const float *map, const uint8_t *mask, int64_t hw);
/* Precision@k for k = adx_rob_k[j]: the share of the first n_j = ceil(round(100 k) * hw / 100) pixels of
 * the ranking that are object pixels (the same n_j as robustness@k). */
void adx_gt_precision_at_k(const int32_t *order, const uint8_t *mask, int64_t hw, float out[ADX_ROB_K]);
/* All three for a map and its ranking (order: adx_rank_pixels of map). */
void adx_gt_compute(const float *map, const int32_t *order, const uint8_t *mask, int64_t hw, adx_gt *out);
/* The centre control: order = pixels by distance to the image centre ((H-1)/2, (W-1)/2), nearest first,
 * ties by pixel index; map[p] = dmax - d(p), d the distance to the centre, dmax its largest value. */
void adx_gt_centre_ranking(int H, int W, float *map, int32_t *order);
/* adx_gt_compute of the centre control (map, order: H*W scratch). */
void adx_gt_centre(const uint8_t *mask, int H, int W, float *map, int32_t *order, adx_gt *out);

/* ---- sanity checks (src/metrics/sanity.c; docs/metrics.md "Sanity checks") ---- */

/* Spearman rank correlation of a[n] and b[n]: the Pearson correlation of their ranks, tied values getting
 * the average of the ranks they span. NaN when n < 2, when a value is NaN, when either side is constant (its
 * ranks have no variance) or when memory runs out. */
double adx_spearman(const float *a, const float *b, int64_t n);

/* Where the top of a ranking lies (position bias). */
#define ADX_POSITION_TOP_PCT 10 /* the top 10% of the ranking: n = ceil(10% of H*W), as robustness@k */
#define ADX_POSITION_BAND 5     /* the outer border band: pixels within 5 of an image edge */
typedef struct adx_position {
  double row, col; /* centroid of the top pixels, in pixels: row 0 = top row, col 0 = left column */
  double border;   /* share of the top pixels that lie in the border band */
  int64_t n;       /* top pixels counted */
} adx_position;
/* The first ceil(top_pct% of H*W) pixels of order (a ranking of adx_rank_pixels: a permutation of H*W
 * indices, best first; n_k = (top_pct * H*W + 99) div 100, as robustness@k): their centroid and the share of
 * them in the band of width `band` along the four edges (row < band, row >= H - band, col < band or
 * col >= W - band). NaN fields when H*W = 0. */
void adx_position_of(const int32_t *order, int H, int W, int top_pct, int band, adx_position *out);
/* Centroid (row, col) of the nonzero pixels of mask [H,W]; NaN when the mask is empty. Returns the count. */
int64_t adx_mask_centroid(const uint8_t *mask, int H, int W, double *row, double *col);

#endif
