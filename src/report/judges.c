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
  free(J->cell), free(J->margin), free(J->other);
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
  adx_status s = ADX_OK;
  if (!rows || !done || !x || !J->cell || !J->margin || !J->other)
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
    fprintf(f, "\njudge matrix: absent (the run used --judges none, or the file predates cross-judging)\n");
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
  for (int q = 0; q < 2; q++) {
    fprintf(f, "\nmargin of %s over the mode, %s: mean of (AD - mode) over k, ±95%% CI (paired)\n%-*s", ad,
            q ? "comprehensiveness" : "sufficiency", mw, "mode");
    for (int j = 0; j < ADX_NJUDGES; j++) pad(f, adx_judge_names[j], w + 1);
    pad(f, "not own", w + 2);
    fprintf(f, "\n");
    for (int k = 0; k < m->nmodes; k++) {
      if (adx_report_is_ad(m->modes[k])) continue;
      fprintf(f, "%-*s", mw, m->modes[k]);
      int own_a = adx_judge_own(ad), own_f = adx_judge_own(m->modes[k]);
      for (int j = 0; j < ADX_NJUDGES; j++) {
        char o[80];
        snprintf(o, sizeof o, "%s%s", cell(&J->margin[k][j][q], buf, sizeof buf),
                 j == own_a || j == own_f ? "*" : " ");
        pad(f, o, w + 1);
      }
      pad(f, cell(&J->other[k][q], buf, sizeof buf), w + 2);
      fprintf(f, "\n");
    }
  }
  fprintf(
      f,
      "* own operator of a side (left out of 'not own': the per-image mean over the other judges and k)\n");
}

static void esc(FILE *f, const char *s) { adx_report_html_escape(f, s); }

static void td(FILE *f, const adx_summary *s, int own) {
  char buf[64];
  fprintf(
      f, "<td class=\"num%s\"%s data-mean=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" data-n=\"%lld\">%s</td>",
      own ? " own" : "", own ? " style=\"background:#eee;font-style:italic\"" : "", s->mean, s->ci95_low,
      s->ci95_high, (long long)s->n, adx_report_fmt_mean(s, buf, sizeof buf));
}

void adx_report_html_judges(FILE *f, const adx_results *r, const adx_report_judges *J) {
  const adx_results_meta *m = adx_results_get_meta(r);
  fprintf(f, "<h2 id=\"judges-title\">Cross-judging: explanation mode × judge</h2>\n");
  if (!J->present) {
    fprintf(f, "<p class=\"note\" id=\"judges-absent\">The judge matrix is absent: the run used "
               "<code>--judges none</code>, or the file predates cross-judging.</p>\n");
    return;
  }
  fprintf(f,
          "<style>td.own{background:#eee;font-style:italic}</style>\n<div class=\"scroll\"><table "
          "id=\"judges\" class=\"num\">\n<thead><tr><th rowspan=\"2\">mode</th><th colspan=\"%d\">sufficiency"
          "</th><th colspan=\"%d\">comprehensiveness</th><th rowspan=\"2\">not own</th></tr>\n<tr>",
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
    fprintf(f, "<td></td></tr>\n");
  }
  if (J->ad_mode >= 0) {
    const char *ad = m->modes[J->ad_mode];
    for (int k = 0; k < m->nmodes; k++) {
      if (adx_report_is_ad(m->modes[k])) continue;
      int own_a = adx_judge_own(ad), own_f = adx_judge_own(m->modes[k]);
      fprintf(f, "<tr class=\"margin\" data-margin=\"");
      esc(f, m->modes[k]);
      fprintf(f, "\"><th class=\"mode\">");
      esc(f, ad);
      fprintf(f, " − ");
      esc(f, m->modes[k]);
      fprintf(f, "</th>");
      for (int q = 0; q < 2; q++)
        for (int j = 0; j < ADX_NJUDGES; j++) td(f, &J->margin[k][j][q], j == own_a || j == own_f);
      fprintf(f, "<td class=\"num\">S ");
      char buf[64];
      fprintf(f, "%s<br>C ", adx_report_fmt_mean(&J->other[k][0], buf, sizeof buf));
      fprintf(f, "%s</td></tr>\n", adx_report_fmt_mean(&J->other[k][1], buf, sizeof buf));
    }
  }
  fprintf(
      f,
      "</tbody>\n</table></div>\n<p class=\"note\">Each cell: mean over the %lld images done, and over k = "
      "5, 10, 20, 40%%, ± half-width of the 95%% t interval. The mode's top-k pixels (the ranking of "
      "robustness@k) judged by every removal operator: <b>sufficiency</b> = the class is kept with only the "
      "top-k (pasted on colours / other-class images, or the rest hidden by the fill or by AD); "
      "<b>comprehensiveness</b> = the class is lost with the top-k removed. Higher is better for both. The "
      "rows <i>AD − mode</i> are paired differences; <i>not own</i> is the difference of the per-image mean "
      "over the judges that are neither side's own operator. Grey cells: a side's own operator. ",
      (long long)J->ndone);
  esc(f, adx_report_judges_caption);
  fprintf(f, " Definitions: docs/metrics.md.</p>\n");
}
