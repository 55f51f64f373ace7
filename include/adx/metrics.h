/* adx metrics: how good is an explanation? Definitions in docs/metrics.md. */
#ifndef ADX_METRICS_H
#define ADX_METRICS_H

#include "adx/explain.h"

#define ADX_ROB_K 4 /* robustness@k at k = 5, 10, 20, 40 % of pixels */
extern const float adx_rob_k[ADX_ROB_K];

typedef struct adx_metrics {
  float size;               /* explanation pixels / all pixels */
  float confidence;         /* p(target) with only the explanation visible, in the mode */
  float drop_off;           /* (p_full - confidence) / p_full */
  float robustness_colour;  /* fraction of K solid-colour pastes that keep the target top-1 (plain pass) */
  float robustness_context; /* same over K other-class images */
  float insertion_auc;      /* normalised by p_full, trapezoid over fraction in [0,1] */
  float deletion_auc;
  float robustness_at_k[ADX_ROB_K];
  float seconds;
  int64_t queries;
} adx_metrics;

typedef struct adx_metrics_params {
  int k_colour;   /* solid-colour backgrounds (default 20) */
  int k_context;  /* other-class backgrounds (default 20) */
  int auc_steps;  /* insertion/deletion curve steps (default 20) */
} adx_metrics_params;

void adx_metrics_params_default(adx_metrics_params *p);

/* Backgrounds for context robustness: raw images [n][C,H,W] with labels; the caller owns them. */
typedef struct adx_backgrounds {
  int n;
  const float *raw; /* n * C*H*W */
  const int *label;
} adx_backgrounds;

/* Everything but seconds/queries. mode_oracle: the explanation's mode (confidence, AUCs);
 * plain_oracle: the same image in plain mode (robustness pastes are judged by a plain pass).
 * seed: per-image seed (colours and the choice of context backgrounds). */
adx_status adx_metrics_compute(adx_oracle *mode_oracle, adx_oracle *plain_oracle, int target, float p_full,
                               const uint8_t *expl, const int32_t *order, const adx_backgrounds *bg,
                               const adx_metrics_params *p, uint64_t seed, adx_metrics *out, adx_error *err);

/* Trapezoid area under y over x = i/(n-1), i = 0..n-1. */
double adx_trapezoid(const double *y, int n);

/* Summary of n values: mean, sample std, and a 95% CI for the mean (t distribution). */
typedef struct adx_summary {
  double mean, std, ci95_low, ci95_high;
  int64_t n;
} adx_summary;
void adx_summarize(const double *v, int64_t n, adx_summary *s);

#endif
