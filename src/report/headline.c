/* Statistics of a results file over the images done so far, from the per-image datasets (never from
 * /summary, which a killed or running run does not have): shared by `adx summary` and `adx report`, and
 * computed by the metrics layer's functions over the images of a run (adx/metrics.h), as /summary is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/metrics.h"
#include "report_internal.h"

const char *const adx_report_stat_metric[ADX_REPORT_ROB_K0] = {
    "robustness_colour", "robustness_context", "size",    "confidence", "drop_off",
    "insertion_auc",     "deletion_auc",       "queries", "seconds"};
const char *const adx_report_stat_label[ADX_REPORT_ROB_K0] = {"rob. colour", "rob. context", "size",
                                                              "confidence",  "drop-off",     "ins. AUC",
                                                              "del. AUC",    "queries",      "s/image"};

int adx_report_is_ad(const char *mode) { return adx_mode_name_is_ad(mode); }

void adx_report_data_free(adx_report_data *d) {
  free(d->done), free(d->index), free(d->label), free(d->pred), free(d->conf), free(d->col);
  memset(d, 0, sizeof *d);
}

adx_status adx_report_data_load(adx_results *r, adx_report_data *d, adx_error *err) {
  memset(d, 0, sizeof *d);
  const adx_results_meta *m = adx_results_get_meta(r);
  d->m = m;
  d->n = m->n;
  size_t n = (size_t)m->n;
  d->done = malloc(n);
  d->index = malloc(n * sizeof *d->index);
  d->label = malloc(n * sizeof *d->label);
  d->pred = malloc(n * sizeof *d->pred);
  d->conf = malloc(n * sizeof *d->conf);
  d->col = malloc((size_t)m->nmodes * ADX_REPORT_NSTAT * n * sizeof *d->col);
  if (!d->done || !d->index || !d->label || !d->pred || !d->conf || !d->col) {
    adx_report_data_free(d);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the columns of %lld images", (long long)m->n);
  }
  adx_status s = adx_results_read_done(r, d->done, err);
  double *tmp = s ? NULL : malloc(n * sizeof *tmp);
  if (!s && !tmp) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  for (int mi = 0; mi < m->nmodes && !s; mi++)
    for (int j = 0; j < ADX_REPORT_NSTAT && !s; j++) {
      const char *name = j < ADX_REPORT_ROB_K0
                             ? adx_report_stat_metric[j]
                             : adx_results_metric_name(r, ADX_RESULTS_NSCALAR + j - ADX_REPORT_ROB_K0);
      s = adx_results_read_column(r, mi, name, (double *)adx_report_col(d, mi, j), err);
    }
  if (!s) s = adx_results_read_images_columns(r, d->index, d->label, d->pred, tmp, err);
  if (!s)
    for (size_t i = 0; i < n; i++) d->conf[i] = tmp[i];
  free(tmp);
  if (s) {
    adx_report_data_free(d);
    return s;
  }
  for (size_t i = 0; i < n; i++) d->ndone += d->done[i] != 0;
  return ADX_OK;
}

static void no_comparison(adx_ad_vs *v) {
  memset(v, 0, sizeof *v);
  v->improvement = v->ci95_low = v->ci95_high = v->mean_ad = v->mean_fill = NAN;
  v->diff = v->diff_ci95_low = v->diff_ci95_high = v->p = v->p_holm = NAN;
}

/* The best fill picked on the first half of the images done (slot order), tested on the second half, so
 * that the fill AD is compared with was not chosen on the images it is compared on. x: 2n doubles. */
static void heldout_best_fill(const adx_report_data *d, adx_report_stats *st, double *x) {
  int64_t n = d->n, half = d->ndone / 2, seen = 0;
  uint8_t *pick = malloc((size_t)(n > 0 ? n : 1)), *test = malloc((size_t)(n > 0 ? n : 1));
  for (int c = 0; c < 2; c++) st->heldout_fill[c] = -1, no_comparison(&st->heldout[c]);
  st->heldout_pick_n = half;
  st->heldout_test_n = d->ndone - half;
  if (!pick || !test || st->ad_mode < 0 || half < 1) {
    free(pick), free(test);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    pick[i] = d->done[i] && seen < half;
    test[i] = d->done[i] && seen >= half;
    seen += d->done[i] != 0;
  }
  for (int c = 0; c < 2; c++) {
    int j = c ? ADX_REPORT_ROB_CONTEXT : ADX_REPORT_ROB_COLOUR;
    double best = -INFINITY;
    for (int mi = 0; mi < st->nmodes; mi++) {
      if (!st->is_fill[mi]) continue;
      adx_summary s;
      adx_summarize_done(adx_report_col(d, mi, j), pick, n, x, &s);
      if (!isnan(s.mean) && s.mean > best) best = s.mean, st->heldout_fill[c] = mi;
    }
    if (st->heldout_fill[c] >= 0)
      adx_rel_improvement_done(adx_report_col(d, st->ad_mode, j), adx_report_col(d, st->heldout_fill[c], j),
                               test, n, x, &st->heldout[c]);
  }
  free(pick), free(test);
}

/* Holm over the comparisons of the AD-vs table: every fill mode on both robustness metrics, and the
 * held-out rows. */
static adx_status holm_table(adx_report_stats *st, adx_error *err) {
  int m = 2 * st->nmodes + 2;
  adx_ad_vs **v = malloc(sizeof *v * (size_t)m);
  double *p = malloc(sizeof *p * (size_t)m);
  if (!v || !p) {
    free(v), free(p);
    adx_report_stats_free(st);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the statistics");
  }
  for (int mi = 0; mi < st->nmodes; mi++)
    for (int c = 0; c < 2; c++) v[2 * mi + c] = &st->ad_vs[mi][c];
  v[m - 2] = &st->heldout[0], v[m - 1] = &st->heldout[1];
  st->ncomparisons = 0;
  for (int i = 0; i < m; i++) p[i] = v[i]->p, st->ncomparisons += !isnan(p[i]);
  adx_holm(p, m, p);
  for (int i = 0; i < m; i++) v[i]->p_holm = p[i];
  free(v), free(p);
  return ADX_OK;
}

adx_status adx_report_stats_of(const adx_report_data *d, adx_report_stats *st, adx_error *err) {
  memset(st, 0, sizeof *st);
  int nm = d->m->nmodes;
  st->nmodes = nm;
  st->ad_mode = d->m->ad_mode;
  st->n = d->n;
  st->ndone = d->ndone;
  st->finished = d->m->finished;
  st->stat = calloc((size_t)nm, sizeof *st->stat);
  st->ad_vs = calloc((size_t)nm, sizeof *st->ad_vs);
  st->is_fill = calloc((size_t)nm, sizeof *st->is_fill);
  double *x = malloc((size_t)2 * (size_t)d->n * sizeof *x);
  if (!st->stat || !st->ad_vs || !st->is_fill || !x) {
    free(x);
    adx_report_stats_free(st);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the statistics");
  }
  for (int64_t i = 0; i < d->n; i++)
    if (d->done[i] && d->label[i] >= 0 && d->label[i] < d->m->nclasses) {
      st->nlabelled++;
      st->ncorrect += d->pred[i] == d->label[i];
    }
  for (int mi = 0; mi < nm; mi++) {
    st->is_fill[mi] = !adx_report_is_ad(d->m->modes[mi]);
    for (int j = 0; j < ADX_REPORT_NSTAT; j++)
      adx_summarize_done(adx_report_col(d, mi, j), d->done, d->n, x, &st->stat[mi][j]);
    for (int c = 0; c < 2; c++) {
      adx_ad_vs *v = &st->ad_vs[mi][c];
      no_comparison(v);
      if (st->ad_mode < 0 || !st->is_fill[mi]) continue;
      int j = c ? ADX_REPORT_ROB_CONTEXT : ADX_REPORT_ROB_COLOUR;
      adx_rel_improvement_done(adx_report_col(d, st->ad_mode, j), adx_report_col(d, mi, j), d->done, d->n, x,
                               v);
    }
  }
  heldout_best_fill(d, st, x);
  free(x);
  return holm_table(st, err);
}

void adx_report_stats_free(adx_report_stats *st) {
  if (!st) return;
  free(st->stat), free(st->ad_vs), free(st->is_fill);
  memset(st, 0, sizeof *st);
}

int adx_report_fit_warning(const adx_report_stats *st, char *buf, size_t len) {
  if (st->nlabelled < ADX_REPORT_FIT_MIN || 2 * st->ncorrect >= st->nlabelled) return 0;
  snprintf(buf, len, "plain accuracy %.0f%% on these images: is the preprocessing right?",
           100.0 * (double)st->ncorrect / (double)st->nlabelled);
  return 1;
}

adx_status adx_report_stats_compute(adx_results *r, adx_report_stats *st, adx_error *err) {
  adx_report_data d;
  adx_status s = adx_report_data_load(r, &d, err);
  if (s) return s;
  s = adx_report_stats_of(&d, st, err);
  adx_report_data_free(&d);
  return s;
}

const char *adx_report_fmt_mean_d(const adx_summary *s, int dec, char *buf, size_t len) {
  if (s->n == 0 || isnan(s->mean))
    snprintf(buf, len, "-");
  else if (isnan(s->ci95_high))
    snprintf(buf, len, "%.*f (n=%lld)", dec, s->mean, (long long)s->n);
  else
    snprintf(buf, len, "%.*f ±%.*f", dec, s->mean, dec, s->ci95_high - s->mean);
  return buf;
}

const char *adx_report_fmt_mean(const adx_summary *s, char *buf, size_t len) {
  return adx_report_fmt_mean_d(s, 3, buf, len);
}

const char *adx_report_fmt_improvement(const adx_ad_vs *v, char *buf, size_t len) {
  if (isnan(v->improvement))
    snprintf(buf, len, "-");
  else if (isnan(v->ci95_high))
    snprintf(buf, len, "%+.1f%% (n=%lld)", 100 * v->improvement, (long long)v->n);
  else
    snprintf(buf, len, "%+.1f%% ±%.1f", 100 * v->improvement, 100 * (v->ci95_high - v->improvement));
  return buf;
}

const char *adx_report_fmt_diff(const adx_ad_vs *v, char *buf, size_t len) {
  if (isnan(v->diff))
    snprintf(buf, len, "-");
  else if (isnan(v->diff_ci95_high))
    snprintf(buf, len, "%+.3f (n=%lld)", v->diff, (long long)v->n);
  else
    snprintf(buf, len, "%+.3f ±%.3f", v->diff, v->diff_ci95_high - v->diff);
  return buf;
}

const char *adx_report_fmt_p(double p, char *buf, size_t len) {
  if (isnan(p))
    snprintf(buf, len, "-");
  else if (p < 1e-4)
    snprintf(buf, len, "<0.0001");
  else
    snprintf(buf, len, "%.4f", p);
  return buf;
}

int adx_report_comparison(const adx_report_stats *st, int row, int *mode, int *metric, int *heldout,
                          const adx_ad_vs **v) {
  if (st->ad_mode < 0) return 0;
  int nrows = 2 * st->nmodes + 2;
  for (; row < nrows; row++) {
    int r = row < 2 * st->nmodes ? row : row - 2 * st->nmodes;
    *heldout = row >= 2 * st->nmodes;
    *metric = r % 2;
    *mode = *heldout ? st->heldout_fill[r] : r / 2;
    if (*mode < 0 || !st->is_fill[*mode]) continue;
    *v = *heldout ? &st->heldout[r] : &st->ad_vs[*mode][r % 2];
    return row + 1;
  }
  return 0;
}

/* printf width that counts "±" (two bytes in UTF-8) as one column */
static void pad(FILE *f, const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  for (int i = cols; i < width; i++) fputc(' ', f);
  fputs(s, f);
}

/* adx summary's headline table and the comparisons of AD with each fill mode. */
static void headline_text(FILE *f, const adx_results_meta *m, const adx_report_stats *st, int mw, int w) {
  char buf[64];
  fprintf(f, "mean ±95%% CI half-width over the images done (t interval; docs/metrics.md)\n%-*s %5s", mw,
          "mode", "n");
  for (int c = 0; c < ADX_REPORT_NHEAD; c++) pad(f, adx_report_stat_label[c], w);
  if (st->ad_mode >= 0) pad(f, "AD vs: colour", 17), pad(f, "AD vs: context", 17);
  fprintf(f, "\n");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "%-*s %5lld", mw, m->modes[k], (long long)st->stat[k][ADX_REPORT_ROB_COLOUR].n);
    for (int c = 0; c < ADX_REPORT_NHEAD; c++)
      pad(f, adx_report_fmt_mean(&st->stat[k][c], buf, sizeof buf), w);
    if (st->ad_mode >= 0)
      for (int c = 0; c < 2; c++)
        pad(f,
            k == st->ad_mode ? "(reference)" : adx_report_fmt_improvement(&st->ad_vs[k][c], buf, sizeof buf),
            17);
    fprintf(f, "\n");
  }
  if (st->ad_mode >= 0)
    fprintf(f,
            "AD vs: relative robustness improvement of %s over the mode, (ad - mode) / mode in %%, ±95%% CI "
            "(delta method)\n",
            m->modes[st->ad_mode]);
  if (st->ad_mode >= 0 && st->ncomparisons > 0) {
    fprintf(f, "\n%s against each fill mode, paired over the images done\n%-*s %-8s %8s %8s",
            m->modes[st->ad_mode], mw + 9, "fill mode", "metric", "AD", "fill");
    pad(f, "AD - fill", 17), pad(f, "relative", 17), pad(f, "p", 9), pad(f, "p (Holm)", 10);
    fprintf(f, "\n");
    int mode, metric, held;
    const adx_ad_vs *v;
    for (int row = 0; (row = adx_report_comparison(st, row, &mode, &metric, &held, &v));) {
      char name[96];
      snprintf(name, sizeof name, "%s%s", m->modes[mode], held ? " (held out)" : "");
      fprintf(f, "%-*s %-8s %8.3f %8.3f", mw + 9, name, metric ? "context" : "colour", v->mean_ad,
              v->mean_fill);
      pad(f, adx_report_fmt_diff(v, buf, sizeof buf), 17);
      pad(f, adx_report_fmt_improvement(v, buf, sizeof buf), 17);
      pad(f, adx_report_fmt_p(v->p, buf, sizeof buf), 9);
      pad(f, adx_report_fmt_p(v->p_holm, buf, sizeof buf), 9);
      fprintf(f, "%s\n", v->p_holm < 0.05 ? " *" : "");
    }
    fprintf(
        f,
        "AD - fill: difference of the mean robustness, ±95%% t interval (paired); relative: (AD - fill) / "
        "fill, ±95%% (delta method); p: paired t-test of no difference; p (Holm): Holm's correction over "
        "the %d comparisons of this table, * below 0.05. \"(held out)\": the fill with the best mean on "
        "the first %lld images done picks, AD is compared with it on the other %lld.\n",
        st->ncomparisons, (long long)st->heldout_pick_n, (long long)st->heldout_test_n);
  }
}

/* adx summary's cost per image: the explainer's queries (the metrics' are not counted) and the seconds. */
static void cost_text(FILE *f, const adx_results_meta *m, const adx_report_stats *st, int mw) {
  char buf[64];
  fprintf(f, "\ncost per image   %-*s %14s %14s\n", mw, "mode", "queries", "s/image");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "                 %-*s", mw, m->modes[k]);
    pad(f, adx_report_fmt_mean_d(&st->stat[k][ADX_REPORT_QUERIES], 1, buf, sizeof buf), 15);
    pad(f, adx_report_fmt_mean(&st->stat[k][ADX_REPORT_SECONDS], buf, sizeof buf), 15);
    fprintf(f, "\n");
  }
}

adx_status adx_report_print_summary(FILE *f, FILE *warn, const char *path, adx_error *err) {
  adx_results *r;
  adx_status s = adx_results_open_read(path, &r, err);
  if (s) return s;
  const adx_results_meta *m = adx_results_get_meta(r);
  adx_report_stats st;
  s = adx_report_stats_compute(r, &st, err);
  if (s) {
    adx_results_close(r);
    return s;
  }
  fprintf(f, "\n%s: model %s, data %s, explainer %s, %lld of %lld images done\n", path, m->model_path,
          m->data_path, m->explainer, (long long)st.ndone, (long long)st.n);
  if (!m->finished)
    fprintf(f, "unfinished: %lld of %lld images done (run still going, or killed); figures cover those\n",
            (long long)st.ndone, (long long)st.n);
  adx_verdict verdict; /* the answer first (verdict.c) */
  if ((s = adx_report_verdict(r, &st, &verdict, err))) {
    adx_report_stats_free(&st);
    adx_results_close(r);
    return s;
  }
  adx_report_verdict_print(f, &verdict);
  fprintf(f, "\n");
  int w = 14, mw = 12;
  for (int k = 0; k < m->nmodes; k++)
    if ((int)strlen(m->modes[k]) + 1 > mw) mw = (int)strlen(m->modes[k]) + 1;
  char buf[64];
  if (m->no_metrics) { /* explanations only: their size and their cost, no metric to show */
    fprintf(f,
            "metrics: " ADX_REPORT_NOT_MEASURED ": robustness, confidence, drop-off, insertion/deletion AUC, "
            "robustness@k, the judge matrix and the ground truth were not computed\n");
    fprintf(f, "explanation size, mean ±95%% CI half-width over the images done\n%-*s %5s", mw, "mode", "n");
    pad(f, adx_report_stat_label[ADX_REPORT_SIZE], w);
    fprintf(f, "\n");
    for (int k = 0; k < m->nmodes; k++) {
      fprintf(f, "%-*s %5lld", mw, m->modes[k], (long long)st.stat[k][ADX_REPORT_SIZE].n);
      pad(f, adx_report_fmt_mean(&st.stat[k][ADX_REPORT_SIZE], buf, sizeof buf), w);
      fprintf(f, "\n");
    }
  } else {
    headline_text(f, m, &st, mw, w);
  }
  cost_text(f, m, &st, mw);
  adx_report_gt gt; /* ground truth: the table, or "absent" */
  if ((s = adx_report_gt_compute(r, &gt, err))) {
    adx_report_stats_free(&st);
    adx_results_close(r);
    return s;
  }
  adx_report_gt_print(f, &gt, m);
  adx_report_gt_free(&gt);
  adx_report_judges J; /* the judge matrix (judges.c), or "absent" */
  if (!(s = adx_report_judges_compute(r, &J, err))) adx_report_print_judges(f, r, &J);
  adx_report_judges_free(&J);
  if (s) {
    adx_report_stats_free(&st);
    adx_results_close(r);
    return s;
  }
  char fit[160];
  if (warn && adx_report_fit_warning(&st, fit, sizeof fit)) fprintf(warn, "adx: warning: %s\n", fit);
  for (int k = 0; k < m->nmodes; k++) /* what each AD mode computed, when its name does not say it all */
    if (strcmp(m->modes[k], m->variants[k]))
      fprintf(f, "AD variant: %s = %s%s\n", m->modes[k], m->variants[k],
              strstr(m->variants[k], ":leak:") ? " (written before AD isolated hidden pixels)" : "");
  adx_report_stats_free(&st);
  adx_report_position pos; /* position bias of the rankings (position.c) */
  adx_error e2 = {0};
  if (adx_report_position_compute(r, &pos, &e2) == ADX_OK) {
    adx_report_position_print(f, m, &pos);
    adx_report_position_free(&pos);
  } else if (warn) {
    fprintf(warn, "adx: position bias not computed: %s\n", e2.msg);
  }
  adx_results_close(r);
  return ADX_OK;
}
