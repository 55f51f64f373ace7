/* The judge matrix of a results file (docs/metrics.md, "Judges"): explanation mode x judge, sufficiency and
 * comprehensiveness, averaged over k (and per k in the terminal), and the margin of the reference AD mode
 * over each other mode under the judges that are neither side's own operator. Computed from the per-image
 * datasets over the images done (like every other number of adx summary and adx report), by the metrics
 * layer's functions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "report_internal.h"

#define CELLS ((size_t)ADX_ROB_K * ADX_NJUDGES * 2)

void adx_report_judges_free(adx_report_judges *J) {
  if (!J) return;
  free(J->cell), free(J->margin), free(J->other), free(J->p), free(J->p_holm);
  memset(J, 0, sizeof *J);
}

/* The mean of an image's values of judge j, measure q, over the k (non-NaN ones), or NaN. */
static double over_k(const float *row, int j, int q) {
  double s = 0;
  int c = 0;
  for (int k = 0; k < ADX_ROB_K; k++) {
    float v = row[((size_t)k * ADX_NJUDGES + (size_t)j) * 2 + (size_t)q];
    if (!isnan(v)) s += v, c++;
  }
  return c ? s / c : NAN;
}

/* An image's mean over the judges that are neither a's nor b's own operator (and over k), or NaN. */
static double over_others(const float *row, int own_a, int own_b, int q) {
  double s = 0;
  int c = 0;
  for (int j = 0; j < ADX_NJUDGES; j++) {
    if (j == own_a || j == own_b) continue;
    double v = over_k(row, j, q);
    if (!isnan(v)) s += v, c++;
  }
  return c ? s / c : NAN;
}

/* The p-value of every margin, and Holm's correction over each of the two tables (docs/report.md): the
 * "not own" margins (j = ADX_NJUDGES) of every non-AD mode on both measures, and the margins under each
 * judge (j < ADX_NJUDGES). An AD mode's entries are NaN (the margins are NaN there too). */
static adx_status holm_tables(adx_report_judges *J, adx_error *err) {
  int nm = J->nmodes;
  for (int t = 0; t < 2; t++) {
    int per = t ? ADX_NJUDGES : 1, m = nm * per * 2;
    double *p = malloc(sizeof *p * (size_t)(m > 0 ? m : 1));
    if (!p) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the judges' p-values");
    J->ncomp[t] = 0;
    for (int k = 0; k < nm; k++)
      for (int j = 0; j < per; j++)
        for (int q = 0; q < 2; q++) {
          const adx_summary *d = t ? &J->margin[k][j][q] : &J->other[k][q];
          double v = adx_summary_pvalue(d);
          J->p[k][t ? j : ADX_NJUDGES][q] = v;
          p[(k * per + j) * 2 + q] = v;
          J->ncomp[t] += !isnan(v);
        }
    adx_holm(p, m, p);
    for (int k = 0; k < nm; k++)
      for (int j = 0; j < per; j++)
        for (int q = 0; q < 2; q++) J->p_holm[k][t ? j : ADX_NJUDGES][q] = p[(k * per + j) * 2 + q];
    free(p);
  }
  return ADX_OK;
}

adx_status adx_report_judges_compute(adx_results *r, adx_report_judges *J, adx_error *err) {
  memset(J, 0, sizeof *J);
  const adx_results_meta *m = adx_results_get_meta(r);
  J->nmodes = m->nmodes;
  J->ad_mode = m->ad_mode;
  if (!m->judges) return ADX_OK; /* present = 0: the report says the file has none */
  int nm = m->nmodes;
  size_t n = (size_t)m->n;
  float *rows = malloc((size_t)nm * n * CELLS * sizeof(float));
  uint8_t *done = malloc(n);
  double *x = malloc(n * sizeof(double));
  J->cell = calloc((size_t)nm, sizeof *J->cell);
  J->margin = calloc((size_t)nm, sizeof *J->margin);
  J->other = calloc((size_t)nm, sizeof *J->other);
  J->p = calloc((size_t)nm, sizeof *J->p);
  J->p_holm = calloc((size_t)nm, sizeof *J->p_holm);
  adx_status s = ADX_OK;
  if (!rows || !done || !x || !J->cell || !J->margin || !J->other || !J->p || !J->p_holm)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for the judge matrix of %lld images", (long long)m->n);
  if (!s) s = adx_results_read_done(r, done, err);
  for (size_t i = 0; i < n && !s; i++) J->ndone += done[i] != 0;
  for (int mi = 0; mi < nm && !s; mi++)
    s = adx_results_read_judges(r, mi, rows + (size_t)mi * n * CELLS, err);
  for (int mi = 0; mi < nm && !s; mi++)
    adx_judge_summarize_done(rows + (size_t)mi * n * CELLS, done, m->n, x, J->cell[mi]);
  for (int mi = 0; mi < nm && !s; mi++) {
    for (int j = 0; j < ADX_NJUDGES; j++)
      for (int q = 0; q < 2; q++) {
        memset(&J->margin[mi][j][q], 0, sizeof(adx_summary));
        J->margin[mi][j][q].mean = J->margin[mi][j][q].ci95_low = J->margin[mi][j][q].ci95_high = NAN;
      }
    J->other[mi][0] = J->other[mi][1] = J->margin[mi][0][0];
    if (J->ad_mode < 0 || adx_report_is_ad(m->modes[mi])) continue;
    const float *a = rows + (size_t)J->ad_mode * n * CELLS, *f = rows + (size_t)mi * n * CELLS;
    adx_judge_margin_done(a, f, done, m->n, x, J->margin[mi]);
    /* the margin under the judges that are neither side's own: per image, the mean over those judges */
    int own_a = adx_judge_own(m->modes[J->ad_mode]), own_f = adx_judge_own(m->modes[mi]);
    for (int q = 0; q < 2; q++) {
      int64_t c = 0;
      for (size_t i = 0; i < n; i++) {
        if (!done[i]) continue;
        double va = over_others(a + i * CELLS, own_a, own_f, q),
               vf = over_others(f + i * CELLS, own_a, own_f, q);
        if (!isnan(va) && !isnan(vf)) x[c++] = va - vf;
      }
      adx_summarize(x, c, &J->other[mi][q]);
    }
  }
  if (!s) s = holm_tables(J, err);
  free(rows), free(done), free(x);
  if (s) {
    adx_report_judges_free(J);
    return s;
  }
  J->present = 1;
  return ADX_OK;
}

/* "0.750 ±0.120" in at most 13 columns, or "-" */
static const char *cell(const adx_summary *s, char *buf, size_t len) {
  return adx_report_fmt_mean(s, buf, len);
}

static const char *fmt_margin(const adx_summary *d, char *buf, size_t len) {
  if (d->n == 0 || isnan(d->mean))
    snprintf(buf, len, "-");
  else if (isnan(d->ci95_high))
    snprintf(buf, len, "%+.3f (n=%lld)", d->mean, (long long)d->n);
  else
    snprintf(buf, len, "%+.3f ±%.3f", d->mean, d->ci95_high - d->mean);
  return buf;
}

static const char *const other_note =
    "not own: per image, the mean over k and over the judges that are neither side's own operator, AD minus "
    "the mode; mean over the images, ±95% t interval (paired). The verdict's question 2 uses this table's "
    "p (Holm).";
static const char *const each_note =
    "Under each judge: per image, the mean over k, AD minus the mode; mean over the images, ±95% t interval "
    "(paired). (own): the operator of a side, which favours that side.";

static void pad(FILE *f, const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  for (int i = cols; i < width; i++) fputc(' ', f);
  fputs(s, f);
}

static const char *const measure_name[2] = {"sufficiency (class kept with only the top-k)",
                                            "comprehensiveness (class lost with the top-k removed)"};

const char *const adx_report_judges_caption =
    "Own operator: ad for AD modes, fill:X for fill:X. colour is itself a fill-type operation (everything "
    "but "
    "the top-k replaced by one flat value), so it is not a neutral judge of fill modes either. A mode wins "
    "only by its margin under the judges that are not its own operator (nor the other side's).";

void adx_report_print_judges(FILE *f, const adx_results *r, const adx_report_judges *J) {
  const adx_results_meta *m = adx_results_get_meta(r);
  if (!J->present) {
    fprintf(f, "\njudge matrix: %s\n",
            m->no_metrics ? ADX_REPORT_NOT_MEASURED
                          : "absent (the run used --judges none, or the file predates cross-judging)");
    return;
  }
  int mw = 12, w = 14;
  for (int k = 0; k < m->nmodes; k++)
    if ((int)strlen(m->modes[k]) + 1 > mw) mw = (int)strlen(m->modes[k]) + 1;
  char buf[64];
  for (int q = 0; q < 2; q++) {
    fprintf(f, "\njudge matrix, %s, mean over k = 5, 10, 20, 40%% (±95%% CI)\n%-*s", measure_name[q], mw,
            "mode \\ judge");
    for (int j = 0; j < ADX_NJUDGES; j++) pad(f, adx_judge_names[j], w);
    fprintf(f, "\n");
    for (int k = 0; k < m->nmodes; k++) {
      fprintf(f, "%-*s", mw, m->modes[k]);
      int own = adx_judge_own(m->modes[k]);
      for (int j = 0; j < ADX_NJUDGES; j++) {
        const char *c = cell(&J->cell[k][ADX_ROB_K][j][q], buf, sizeof buf);
        char o[80];
        snprintf(o, sizeof o, "%s%s", c, j == own ? "*" : " ");
        pad(f, o, w + 1);
      }
      fprintf(f, "\n");
    }
  }
  fprintf(f, "* the mode's own operator. %s\n", adx_report_judges_caption);
  if (m->nmodes <= 6) { /* per k: means only, short enough */
    fprintf(f, "\nper k (means)   %-*s", mw, "mode");
    for (int q = 0; q < 2; q++)
      for (int j = 0; j < ADX_NJUDGES; j++) {
        char h[32];
        snprintf(h, sizeof h, "%c:%.6s", q ? 'C' : 'S', adx_judge_names[j]);
        pad(f, h, 9);
      }
    fprintf(f, "\n");
    for (int k = 0; k < m->nmodes; k++)
      for (int kk = 0; kk < ADX_ROB_K; kk++) {
        fprintf(f, "  k=%-4g        %-*s", (double)m->rob_k[kk], mw, m->modes[k]);
        for (int q = 0; q < 2; q++)
          for (int j = 0; j < ADX_NJUDGES; j++) {
            const adx_summary *s = &J->cell[k][kk][j][q];
            if (s->n == 0 || isnan(s->mean))
              snprintf(buf, sizeof buf, "-");
            else
              snprintf(buf, sizeof buf, "%.3f", s->mean);
            pad(f, buf, 9);
          }
        fprintf(f, "\n");
      }
    fprintf(f, "S: sufficiency, C: comprehensiveness\n");
  }
  if (J->ad_mode < 0) return;
  const char *ad = m->modes[J->ad_mode];
  for (int t = 0; t < 2; t++) {
    if (t == 0)
      fprintf(f,
              "\nmargin of %s over each mode under the judges that are neither side's own operator, paired "
              "over the images done\n",
              ad);
    else
      fprintf(f, "\nmargin of %s over each mode under each judge, paired over the images done\n", ad);
    fprintf(f, "%-*s %-16s", mw, "mode", "judge");
    for (int q = 0; q < 2; q++) {
      pad(f, q ? "comprehensiveness" : "sufficiency", 18);
      pad(f, "p", 9), pad(f, "p (Holm)", 10), fputs("  ", f);
    }
    fprintf(f, "\n");
    for (int k = 0; k < m->nmodes; k++) {
      if (adx_report_is_ad(m->modes[k])) continue;
      int own_a = adx_judge_own(ad), own_f = adx_judge_own(m->modes[k]);
      for (int j = t ? 0 : ADX_NJUDGES; j <= ADX_NJUDGES - t; j++) {
        char jn[48];
        if (j == ADX_NJUDGES)
          snprintf(jn, sizeof jn, "not own");
        else
          snprintf(jn, sizeof jn, "%s%s", adx_judge_names[j], j == own_a || j == own_f ? " (own)" : "");
        fprintf(f, "%-*s %-16s", mw, m->modes[k], jn);
        for (int q = 0; q < 2; q++) {
          const adx_summary *d = j == ADX_NJUDGES ? &J->other[k][q] : &J->margin[k][j][q];
          double ph = J->p_holm[k][j][q];
          pad(f, fmt_margin(d, buf, sizeof buf), 18);
          pad(f, adx_report_fmt_p(J->p[k][j][q], buf, sizeof buf), 9);
          pad(f, adx_report_fmt_p(ph, buf, sizeof buf), 10);
          fputs(ph < 0.05 ? " *" : "  ", f);
        }
        fprintf(f, "\n");
      }
    }
    fprintf(f, "%s\n", t ? each_note : other_note);
    fprintf(f,
            "p: paired t-test of no difference; p (Holm): Holm's correction over the %d comparisons of this "
            "table, * below 0.05.\n",
            J->ncomp[t]);
  }
}

static void esc(FILE *f, const char *s) { adx_report_html_escape(f, s); }

static void td(FILE *f, const adx_summary *s, int own) {
  char buf[64];
  fprintf(
      f, "<td class=\"num%s\"%s data-mean=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" data-n=\"%lld\">%s</td>",
      own ? " own" : "", own ? " style=\"background:#eee;font-style:italic\"" : "", s->mean, s->ci95_low,
      s->ci95_high, (long long)s->n, adx_report_fmt_mean(s, buf, sizeof buf));
}

/* One margin table of the report: t 0 the "not own" margins (id judge-margins), 1 those under each judge
 * (id judge-margins-each); a row per non-AD mode (and judge), sufficiency then comprehensiveness, each as
 * margin ± CI, p, p (Holm). */
static void margin_table(FILE *f, const adx_results_meta *m, const adx_report_judges *J, int t) {
  const char *ad = m->modes[J->ad_mode];
  char buf[64];
  fprintf(f, "<h3>");
  esc(f, ad);
  fprintf(f, t ? " − each mode, under each judge</h3>\n"
               : " − each mode, under the judges that are neither side&#39;s own operator</h3>\n");
  fprintf(f,
          "<div class=\"scroll\"><table id=\"%s\" class=\"num\">\n<thead><tr><th rowspan=\"2\">mode</th><th "
          "rowspan=\"2\">judge</th><th colspan=\"3\">sufficiency</th><th colspan=\"3\">comprehensiveness</th>"
          "</tr>\n<tr><th>AD − mode</th><th>p</th><th>p (Holm)</th><th>AD − mode</th><th>p</th><th>p "
          "(Holm)</th></tr></thead>\n<tbody>\n",
          t ? "judge-margins-each" : "judge-margins");
  for (int k = 0; k < m->nmodes; k++) {
    if (adx_report_is_ad(m->modes[k])) continue;
    int own_a = adx_judge_own(ad), own_f = adx_judge_own(m->modes[k]);
    for (int j = t ? 0 : ADX_NJUDGES; j <= ADX_NJUDGES - t; j++) {
      int own = j < ADX_NJUDGES && (j == own_a || j == own_f);
      fprintf(f, "<tr data-mode=\"");
      esc(f, m->modes[k]);
      fprintf(f, "\" data-judge=\"%s\" data-own=\"%d\"><th class=\"mode\">",
              j < ADX_NJUDGES ? adx_judge_names[j] : "not own", own);
      esc(f, m->modes[k]);
      fprintf(f, "</th><th class=\"mode\">%s%s</th>", j < ADX_NJUDGES ? adx_judge_names[j] : "not own",
              own ? " (own)" : "");
      for (int q = 0; q < 2; q++) {
        const adx_summary *d = j == ADX_NJUDGES ? &J->other[k][q] : &J->margin[k][j][q];
        double p = J->p[k][j][q], ph = J->p_holm[k][j][q];
        fprintf(f,
                "<td class=\"num%s\"%s data-mean=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" "
                "data-n=\"%lld\">%s</td>",
                own ? " own" : "", own ? " style=\"background:#eee;font-style:italic\"" : "", d->mean,
                d->ci95_low, d->ci95_high, (long long)d->n, fmt_margin(d, buf, sizeof buf));
        fprintf(f, "<td class=\"num\" data-p=\"%.9g\">%s</td>", p, adx_report_fmt_p(p, buf, sizeof buf));
        fprintf(f, "<td class=\"num\" data-p-holm=\"%.9g\">%s%s</td>", ph,
                adx_report_fmt_p(ph, buf, sizeof buf), ph < 0.05 ? " *" : "");
      }
      fprintf(f, "</tr>\n");
    }
  }
  fprintf(f, "</tbody>\n</table></div>\n<p class=\"note\">");
  esc(f, t ? each_note : other_note);
  fprintf(f,
          " <b>p</b>: paired t-test of no difference. <b>p (Holm)</b>: Holm's correction over the %d "
          "comparisons of this table; * marks p (Holm) below 0.05.</p>\n",
          J->ncomp[t]);
}

static void margins_html(FILE *f, const adx_results_meta *m, const adx_report_judges *J) {
  margin_table(f, m, J, 0);
  margin_table(f, m, J, 1);
}

void adx_report_html_judges(FILE *f, const adx_results *r, const adx_report_judges *J) {
  const adx_results_meta *m = adx_results_get_meta(r);
  fprintf(f, "<h2 id=\"judges-title\">Cross-judging: explanation mode × judge</h2>\n");
  if (!J->present && m->no_metrics) {
    fprintf(f, "<p class=\"note\" id=\"judges-absent\">The judge matrix: %s.</p>\n", ADX_REPORT_NOT_MEASURED);
    return;
  }
  if (!J->present) {
    fprintf(f, "<p class=\"note\" id=\"judges-absent\">The judge matrix is absent: the run used "
               "<code>--judges none</code>, or the file predates cross-judging.</p>\n");
    return;
  }
  fprintf(f,
          "<style>td.own{background:#eee;font-style:italic}</style>\n<div class=\"scroll\"><table "
          "id=\"judges\" class=\"num\">\n<thead><tr><th rowspan=\"2\">mode</th><th colspan=\"%d\">sufficiency"
          "</th><th colspan=\"%d\">comprehensiveness</th></tr>\n<tr>",
          ADX_NJUDGES, ADX_NJUDGES);
  for (int q = 0; q < 2; q++)
    for (int j = 0; j < ADX_NJUDGES; j++) fprintf(f, "<th>%s</th>", adx_judge_names[j]);
  fprintf(f, "</tr></thead>\n<tbody>\n");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "<tr data-mode=\"");
    esc(f, m->modes[k]);
    fprintf(f, "\"><th class=\"mode\">");
    esc(f, m->modes[k]);
    fprintf(f, "</th>");
    int own = adx_judge_own(m->modes[k]);
    for (int q = 0; q < 2; q++)
      for (int j = 0; j < ADX_NJUDGES; j++) td(f, &J->cell[k][ADX_ROB_K][j][q], j == own);
    fprintf(f, "</tr>\n");
  }
  fprintf(
      f,
      "</tbody>\n</table></div>\n<p class=\"note\">Each cell: mean over the %lld images done, and over k = "
      "5, 10, 20, 40%%, ± half-width of the 95%% t interval. The mode's top-k pixels (the ranking of "
      "robustness@k) judged by every removal operator: <b>sufficiency</b> = the class is kept with only the "
      "top-k (pasted on colours / other-class images, or the rest hidden by the fill or by AD); "
      "<b>comprehensiveness</b> = the class is lost with the top-k removed. Higher is better for both. Grey "
      "cells: the mode's own operator. ",
      (long long)J->ndone);
  esc(f, adx_report_judges_caption);
  fprintf(f, " Definitions: docs/metrics.md.</p>\n");
  if (J->ad_mode >= 0) margins_html(f, m, J);
}
