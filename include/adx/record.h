/* adx record: what is kept per image and per run of the metrics -- the metric record of one explanation,
 * the summary of a column, AD against another mode. Defined by the metrics layer (adx/metrics.h computes
 * them); stored and read by the results file (adx/results.h) and the report, which need no more of the
 * metrics layer than these types. */
#ifndef ADX_RECORD_H
#define ADX_RECORD_H

#include <stdint.h>

#define ADX_ROB_K 4 /* robustness@k at k = 5, 10, 20, 40 % of pixels */
extern const float adx_rob_k[ADX_ROB_K];

/* The judges of the cross-judging matrix (docs/metrics.md, "Judges"): every removal operator scores every
 * mode's top-k pixels. Index order of the judges axis in the results file (attribute `judges`). */
enum {
  ADX_JUDGE_COLOUR,    /* paste on solid colours (plain pass) */
  ADX_JUDGE_CONTEXT,   /* paste on other-class images (plain pass) */
  ADX_JUDGE_FILL_ZERO, /* the rest hidden by fill:zero */
  ADX_JUDGE_FILL_MEAN, /* ... fill:mean */
  ADX_JUDGE_FILL_BLUR, /* ... fill:blur */
  ADX_JUDGE_AD,        /* ... isolating AD, the built-in default variant of a bare "ad" */
  ADX_NJUDGES
};
#define ADX_JUDGE_SUFF 0                               /* last axis: sufficiency */
#define ADX_JUDGE_COMP 1                               /* comprehensiveness */
extern const char *const adx_judge_names[ADX_NJUDGES]; /* "colour", "context", "fill:zero", ..., "ad" */
/* Ground truth of one ranking against an object mask (docs/metrics.md, "Ground truth"); NaN where not
 * computed (a dataset without masks, an empty mask). */
typedef struct adx_gt {
  float pointing_game;             /* 1 if the ranking's first pixel is an object pixel, else 0 */
  float energy_in_object;          /* share of the non-negative map mass on object pixels */
  float precision_at_k[ADX_ROB_K]; /* share of the top ceil(k * HW) pixels on object pixels */
} adx_gt;

typedef struct adx_metrics {
  float size;               /* explanation pixels / all pixels */
  float confidence;         /* p(target) with only the explanation visible, in the mode */
  float drop_off;           /* (p_full - confidence) / p_full */
  float robustness_colour;  /* fraction of K solid-colour pastes that keep the target top-1 (plain pass) */
  float robustness_context; /* same over K other-class images */
  float insertion_auc;      /* normalised by p_full, trapezoid over fraction in [0,1] */
  float deletion_auc;
  float robustness_at_k[ADX_ROB_K];
  float seconds;          /* set by the caller (adx_metrics_compute leaves it alone) */
  int64_t queries;        /* set by the caller: the explainer's mutant queries (left alone here) */
  int64_t metric_queries; /* mutants evaluated by adx_metrics_compute itself (both oracles' counters) */
  /* the judge matrix [k][judge][sufficiency, comprehensiveness] (adx_metrics_compute_judged); NaN when
   * not judged (adx_metrics_compute, --judges none, a file without judges) */
  float judges[ADX_ROB_K][ADX_NJUDGES][2];
  adx_gt gt; /* set by the caller (adx_gt_compute) when the dataset has object masks, else NaN */
} adx_metrics;

/* Summary of n values (adx_summarize): mean, sample std, and a 95% CI for the mean (t distribution). NaN
 * values are skipped (s->n counts the others). n = 0 -> all NaN; n = 1 -> std 0 and NaN CI bounds. */
typedef struct adx_summary {
  double mean, std, ci95_low, ci95_high;
  int64_t n;
} adx_summary;

/* AD against another mode on one metric (the /summary/ad_vs_<mode>/<metric> groups of a results file). */
typedef struct adx_ad_vs {
  double improvement; /* (mean_ad - mean_fill) / mean_fill */
  double ci95_low, ci95_high;
  double mean_ad, mean_fill;
  int64_t n; /* images paired */
  /* the absolute paired difference mean_ad - mean_fill with its 95% t interval, and the two-sided paired
   * t-test p-value of "no difference" (the same null as improvement = 0); p_holm is p after Holm's
   * correction over the comparisons of one table (adx_holm), NaN until a caller applies it */
  double diff, diff_ci95_low, diff_ci95_high;
  double p, p_holm;
} adx_ad_vs;

#endif
