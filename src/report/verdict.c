/* The verdict panel: the three questions of docs/experiments.md answered for one run, where its data allow
 * (docs/report.md, "Verdict"). Every answer comes with the numbers behind it; a question the run cannot
 * answer says what is missing and how to get it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "report_internal.h"

const char *const adx_verdict_questions[ADX_VERDICT_NQ] = {
    "Does AD localise the object better than the fills? (ground truth)",
    "Does AD win under judges that are not its own operator?",
    "Does AD pass the sanity test? (cascading model randomisation)"};

static const char *const answer_word[] = {"not measured", "yes", "no", "unclear"};

const char *adx_verdict_word(adx_verdict_answer a) {
  return a >= ADX_VERDICT_ABSENT && a <= ADX_VERDICT_UNCLEAR ? answer_word[a] : "?";
}

/* AD against every fill mode on one signed family of comparisons (diff[i] > 0: AD better; p: after Holm's
 * correction over the family): yes when AD is significantly better than every fill, no when some fill is
 * significantly better, else unclear. worst: the comparison with the smallest difference (-1 if none). */
static adx_verdict_answer decide(const double *diff, const double *p, int m, int *worst) {
  int all_better = 1, any_worse = 0, counted = 0;
  *worst = -1;
  for (int i = 0; i < m; i++) {
    if (isnan(diff[i]) || isnan(p[i])) continue;
    counted++;
    if (*worst < 0 || diff[i] < diff[*worst]) *worst = i;
    if (!(diff[i] > 0 && p[i] < 0.05)) all_better = 0;
    if (diff[i] < 0 && p[i] < 0.05) any_worse = 1;
  }
  if (!counted) return ADX_VERDICT_UNCLEAR;
  return any_worse ? ADX_VERDICT_NO : all_better ? ADX_VERDICT_YES : ADX_VERDICT_UNCLEAR;
}

static void fmt_p(double p, char *buf, size_t len) { adx_report_fmt_p(p, buf, len); }

/* Q1: precision@10% (the k of robustness@k nearest 10%) of AD against every fill mode, paired; the centre
 * control beside it. */
static adx_status ground_truth(adx_results *r, const adx_report_stats *st, adx_verdict_item *q,
                               adx_error *err) {
  const adx_results_meta *m = adx_results_get_meta(r);
  if (m->no_metrics) {
    snprintf(q->text, sizeof q->text, "%s", ADX_REPORT_NOT_MEASURED_TEXT);
    return ADX_OK;
  }
  if (!m->has_masks) {
    snprintf(q->text, sizeof q->text,
             "The dataset has no object masks, so there is no ground truth to compare with (docs/metrics.md, "
             "\"Ground truth\": an IDX ...-masks-idx3-ubyte file beside the images, or /masks in HDF5).");
    return ADX_OK;
  }
  int kj = 0;
  for (int j = 1; j < ADX_ROB_K; j++)
    if (fabs(m->rob_k[j] - 10.0f) < fabs(m->rob_k[kj] - 10.0f)) kj = j;
  const char *metric = adx_results_gt_name(r, 2 + kj);
  int64_t n = m->n;
  int nm = m->nmodes;
  double *col = malloc(sizeof *col * (size_t)(nm + 1) * (size_t)n), *x = malloc(sizeof *x * 2 * (size_t)n);
  double *diff = calloc((size_t)nm + 1, sizeof *diff), *p = calloc((size_t)nm + 1, sizeof *p);
  uint8_t *done = malloc((size_t)n);
  adx_status s = ADX_OK;
  if (!col || !x || !diff || !p || !done) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for the verdict");
  if (!s) s = adx_results_read_done(r, done, err);
  for (int k = 0; k <= nm && !s; k++)
    s = adx_results_read_gt_column(r, k < nm ? k : ADX_RESULTS_CENTRE, metric, col + (size_t)k * n, err);
  if (!s) {
    const double *ad = col + (size_t)st->ad_mode * n;
    adx_summary sa, sc;
    adx_summarize_done(ad, done, n, x, &sa);
    adx_summarize_done(col + (size_t)nm * n, done, n, x, &sc);
    for (int k = 0; k < nm; k++) {
      diff[k] = p[k] = NAN;
      if (!st->is_fill[k]) continue;
      adx_ad_vs v;
      adx_rel_improvement_done(ad, col + (size_t)k * n, done, n, x, &v);
      diff[k] = v.diff, p[k] = v.p;
    }
    int worst;
    adx_holm(p, nm, p); /* Holm over the fill modes */
    q->answer = decide(diff, p, nm, &worst);
    char pb[32];
    int at = snprintf(q->text, sizeof q->text,
                      "%s of %s: %.3f; centre control (pixels ranked by distance to the image centre, blind "
                      "to the image): %.3f. AD minus each fill mode, paired:",
                      metric, m->modes[st->ad_mode], sa.mean, sc.mean);
    for (int k = 0; k < nm && at < (int)sizeof q->text; k++) {
      if (isnan(diff[k])) continue;
      fmt_p(p[k], pb, sizeof pb);
      at += snprintf(q->text + at, sizeof q->text - (size_t)at, " %s %+.3f (p Holm %s);", m->modes[k],
                     diff[k], pb);
    }
    if (worst < 0 && at < (int)sizeof q->text)
      snprintf(q->text + at, sizeof q->text - (size_t)at, " no fill mode to compare with.");
  }
  free(col), free(x), free(diff), free(p), free(done);
  return s;
}

/* Q2: the judges' "not own" margins of AD over every fill mode, sufficiency and comprehensiveness, with the p
 * (Holm) of the report's "not own" margin table (judges.c: the same family, the same numbers). */
static adx_status judges(adx_results *r, const adx_report_stats *st, adx_verdict_item *q, adx_error *err) {
  const adx_results_meta *m = adx_results_get_meta(r);
  if (m->no_metrics) {
    snprintf(q->text, sizeof q->text, "%s", ADX_REPORT_NOT_MEASURED_TEXT);
    return ADX_OK;
  }
  adx_report_judges J;
  adx_status s = adx_report_judges_compute(r, &J, err);
  if (s) return s;
  if (!J.present) {
    snprintf(q->text, sizeof q->text,
             "The run has no judge matrix (it ran with --judges none, or with an adx older than 0.3).");
    adx_report_judges_free(&J);
    return ADX_OK;
  }
  int nm = m->nmodes, mm = 2 * nm;
  double *diff = calloc((size_t)mm + 1, sizeof *diff), *p = calloc((size_t)mm + 1, sizeof *p);
  if (!diff || !p) {
    free(diff), free(p);
    adx_report_judges_free(&J);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the verdict");
  }
  for (int k = 0; k < nm; k++)
    for (int c = 0; c < 2; c++) {
      const adx_summary *o = &J.other[k][c];
      int ok = st->is_fill[k] && J.ad_mode == st->ad_mode;
      diff[2 * k + c] = ok ? o->mean : NAN;
      p[2 * k + c] = ok ? J.p_holm[k][ADX_NJUDGES][c] : NAN;
    }
  int worst;
  q->answer = decide(diff, p, mm, &worst);
  int at = snprintf(q->text, sizeof q->text,
                    "Margin of %s over each fill mode, averaged over the judges that are neither side's own "
                    "operator (and over k), sufficiency / comprehensiveness:",
                    m->modes[st->ad_mode]);
  char pb[32], pc[32];
  for (int k = 0; k < nm && at < (int)sizeof q->text; k++) {
    if (isnan(diff[2 * k]) && isnan(diff[2 * k + 1])) continue;
    fmt_p(p[2 * k], pb, sizeof pb), fmt_p(p[2 * k + 1], pc, sizeof pc);
    at += snprintf(q->text + at, sizeof q->text - (size_t)at, " %s %+.3f / %+.3f (p Holm %s / %s);",
                   m->modes[k], diff[2 * k], diff[2 * k + 1], pb, pc);
  }
  free(diff), free(p);
  adx_report_judges_free(&J);
  return ADX_OK;
}

/* Q3: the rank correlation of AD's maps with those of the fully randomised model (the last level). */
static adx_status sanity(adx_results *r, const adx_report_stats *st, adx_verdict_item *q, adx_error *err) {
  const adx_results_meta *m = adx_results_get_meta(r);
  int64_t n;
  int L;
  double *sp;
  adx_status s = adx_results_read_sanity_spearman(r, st->ad_mode, &n, &L, &sp, err);
  if (s) return s;
  if (n == 0) {
    snprintf(q->text, sizeof q->text,
             "No sanity test on record: run `adx sanity RESULTS.h5` on the finished file (docs/metrics.md, "
             "\"Sanity checks\").");
    return ADX_OK;
  }
  double *last = malloc(sizeof *last * (size_t)n);
  if (!last) {
    free(sp);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the verdict");
  }
  for (int64_t i = 0; i < n; i++) last[i] = sp[i * L + (L - 1)];
  adx_summary sm;
  adx_summarize(last, n, &sm);
  int64_t flat = n - sm.n;
  if (sm.n < 2 || 2 * sm.n < n || isnan(sm.ci95_high)) /* too few maps left to say (most constant) */
    q->answer = ADX_VERDICT_UNCLEAR;
  else if (sm.ci95_high < ADX_VERDICT_SANITY_RHO)
    q->answer = ADX_VERDICT_YES;
  else if (sm.ci95_low > ADX_VERDICT_SANITY_RHO)
    q->answer = ADX_VERDICT_NO;
  else
    q->answer = ADX_VERDICT_UNCLEAR;
  char ci[64] = "no interval: fewer than 2 values";
  if (!isnan(sm.ci95_high)) { /* a t interval over few maps can pass +-1, which no correlation can */
    double lo = sm.ci95_low < -1 ? -1 : sm.ci95_low, hi = sm.ci95_high > 1 ? 1 : sm.ci95_high;
    snprintf(ci, sizeof ci, "95%% CI %.3f to %.3f%s", lo, hi,
             lo != sm.ci95_low || hi != sm.ci95_high ? ", clipped to [-1, 1]" : "");
  }
  snprintf(q->text, sizeof q->text,
           "With the top %d layer(s) re-initialised, the Spearman correlation of %s's maps with the trained "
           "model's is %.3f (%s) over %lld of %lld images; maps that ignore the weights would stay near 1. "
           "Pass: the whole interval below %.1f, with at least half of the maps defined. %lld map(s) were "
           "constant after randomisation (no ranking, left out; with rex: no mutant kept the class).",
           L, m->modes[st->ad_mode], sm.mean, ci, (long long)sm.n, (long long)n, ADX_VERDICT_SANITY_RHO,
           (long long)flat);
  free(sp), free(last);
  return ADX_OK;
}

adx_status adx_report_verdict(adx_results *r, const adx_report_stats *st, adx_verdict *v, adx_error *err) {
  memset(v, 0, sizeof *v);
  v->ad_mode = st->ad_mode;
  if (st->ad_mode < 0) {
    for (int i = 0; i < ADX_VERDICT_NQ; i++)
      snprintf(v->q[i].text, sizeof v->q[i].text, "The run has no AD mode.");
    return ADX_OK;
  }
  adx_status s = ground_truth(r, st, &v->q[0], err);
  if (!s) s = judges(r, st, &v->q[1], err);
  if (!s) s = sanity(r, st, &v->q[2], err);
  return s;
}

void adx_report_verdict_print(FILE *f, const adx_verdict *v) {
  fprintf(f, "\nverdict (docs/report.md, \"Verdict\")\n");
  for (int i = 0; i < ADX_VERDICT_NQ; i++)
    fprintf(f, "  %d. %s  %s\n     %s\n", i + 1, adx_verdict_questions[i], adx_verdict_word(v->q[i].answer),
            v->q[i].text);
}

void adx_report_verdict_html(FILE *f, const adx_verdict *v) {
  static const char *const cls[] = {"absent", "yes", "no", "unclear"};
  fprintf(f, "<section id=\"verdict\"><h2>Verdict</h2>\n<table class=\"verdict\">\n");
  for (int i = 0; i < ADX_VERDICT_NQ; i++) {
    fprintf(f, "<tr data-question=\"%d\" data-answer=\"%s\"><th>", i + 1, cls[v->q[i].answer]);
    adx_report_html_escape(f, adx_verdict_questions[i]);
    fprintf(f, "</th><td class=\"answer %s\">%s</td><td>", cls[v->q[i].answer],
            adx_verdict_word(v->q[i].answer));
    adx_report_html_escape(f, v->q[i].text);
    fprintf(f, "</td></tr>\n");
  }
  fprintf(
      f,
      "</table>\n<p class=\"note\">Each answer compares the run's reference AD mode with every fill mode, "
      "paired by image, with Holm's correction over the comparisons of the question: <b>yes</b> when AD "
      "is better than every fill mode (p Holm &lt; 0.05), <b>no</b> when some fill mode is better, "
      "<b>unclear</b> otherwise. The sanity answer is <b>yes</b> when the whole 95%% interval of the "
      "rank correlation lies below %.1f and at least half of the maps are defined (not constant). "
      "Definitions: docs/report.md, \"Verdict\".</p></section>\n",
      ADX_VERDICT_SANITY_RHO);
}
