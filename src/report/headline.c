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
      memset(v, 0, sizeof *v);
      v->improvement = v->ci95_low = v->ci95_high = v->mean_ad = v->mean_fill = NAN;
      if (st->ad_mode < 0 || !st->is_fill[mi]) continue;
      int j = c ? ADX_REPORT_ROB_CONTEXT : ADX_REPORT_ROB_COLOUR;
      adx_rel_improvement_done(adx_report_col(d, st->ad_mode, j), adx_report_col(d, mi, j), d->done, d->n, x,
                               v);
    }
  }
  free(x);
  return ADX_OK;
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

/* printf width that counts "±" (two bytes in UTF-8) as one column */
static void pad(FILE *f, const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  for (int i = cols; i < width; i++) fputc(' ', f);
  fputs(s, f);
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
  int w = 14, mw = 12;
  for (int k = 0; k < m->nmodes; k++)
    if ((int)strlen(m->modes[k]) + 1 > mw) mw = (int)strlen(m->modes[k]) + 1;
  fprintf(f, "mean ±95%% CI half-width over the images done (t interval; docs/metrics.md)\n%-*s %5s", mw,
          "mode", "n");
  for (int c = 0; c < ADX_REPORT_NHEAD; c++) pad(f, adx_report_stat_label[c], w);
  if (st.ad_mode >= 0) pad(f, "AD vs: colour", 17), pad(f, "AD vs: context", 17);
  fprintf(f, "\n");
  char buf[64];
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "%-*s %5lld", mw, m->modes[k], (long long)st.stat[k][ADX_REPORT_ROB_COLOUR].n);
    for (int c = 0; c < ADX_REPORT_NHEAD; c++)
      pad(f, adx_report_fmt_mean(&st.stat[k][c], buf, sizeof buf), w);
    if (st.ad_mode >= 0)
      for (int c = 0; c < 2; c++)
        pad(f, k == st.ad_mode ? "(reference)" : adx_report_fmt_improvement(&st.ad_vs[k][c], buf, sizeof buf),
            17);
    fprintf(f, "\n");
  }
  if (st.ad_mode >= 0)
    fprintf(f,
            "AD vs: relative robustness improvement of %s over the mode, (ad - mode) / mode in %%, ±95%% CI "
            "(delta method)\n",
            m->modes[st.ad_mode]);
  fprintf(f, "\ncost per image   %-*s %14s %14s\n", mw, "mode", "queries", "s/image");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "                 %-*s", mw, m->modes[k]);
    pad(f, adx_report_fmt_mean_d(&st.stat[k][ADX_REPORT_QUERIES], 1, buf, sizeof buf), 15);
    pad(f, adx_report_fmt_mean(&st.stat[k][ADX_REPORT_SECONDS], buf, sizeof buf), 15);
    fprintf(f, "\n");
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
