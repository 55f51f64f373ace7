/* The ground-truth table of `adx summary` and `adx report` (docs/metrics.md, "Ground truth"): per mode the
 * pointing game, energy in object and precision@k over the images done, then the centre control; or a line
 * saying the run has no object masks. Statistics by adx_summarize_done (metrics/), from the per-image
 * datasets, like the headline table. */
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "report_internal.h"

static const char *const gt_label[2] = {"pointing game", "energy in object"};

adx_status adx_report_gt_compute(adx_results *r, adx_report_gt *g, adx_error *err) {
  memset(g, 0, sizeof *g);
  const adx_results_meta *m = adx_results_get_meta(r);
  g->nmodes = m->nmodes;
  g->present = m->has_masks;
  if (!g->present) return ADX_OK;
  int64_t n = m->n;
  uint8_t *done = malloc((size_t)n);
  double *col = malloc(sizeof(double) * (size_t)n), *x = malloc(sizeof(double) * (size_t)n);
  g->stat = calloc((size_t)m->nmodes + 1, sizeof *g->stat);
  adx_status s = ADX_OK;
  if (!done || !col || !x || !g->stat) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for the ground truth");
  if (!s) s = adx_results_read_done(r, done, err);
  for (int k = 0; k <= m->nmodes && !s; k++) /* row nmodes: the centre control */
    for (int j = 0; j < ADX_RESULTS_NGT && !s; j++) {
      s = adx_results_read_gt_column(r, k == m->nmodes ? ADX_RESULTS_CENTRE : k, adx_results_gt_name(r, j),
                                     col, err);
      if (!s) adx_summarize_done(col, done, n, x, &g->stat[k][j]);
    }
  for (int j = 0; j < ADX_ROB_K; j++) g->k[j] = m->rob_k[j];
  free(done), free(col), free(x);
  if (s) adx_report_gt_free(g);
  return s;
}

void adx_report_gt_free(adx_report_gt *g) {
  free(g->stat);
  g->stat = NULL;
}

static void pad(FILE *f, const char *s, int width) {
  int cols = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) cols += (*p & 0xC0) != 0x80;
  for (int i = cols; i < width; i++) fputc(' ', f);
  fputs(s, f);
}

void adx_report_gt_print(FILE *f, const adx_report_gt *g, const adx_results_meta *m) {
  if (!g->present) {
    fprintf(f, "\nground truth: %s\n",
            m->no_metrics ? ADX_REPORT_NOT_MEASURED : "absent (the dataset has no object masks)");
    return;
  }
  int mw = 15, w = 17;
  for (int k = 0; k < m->nmodes; k++)
    if ((int)strlen(m->modes[k]) + 1 > mw) mw = (int)strlen(m->modes[k]) + 1;
  fprintf(f, "\nground truth (object masks): mean ±95%% CI half-width over the images done\n%-*s %5s", mw,
          "mode", "n");
  char buf[64];
  for (int j = 0; j < ADX_RESULTS_NGT; j++) {
    if (j < 2)
      pad(f, gt_label[j], w);
    else {
      snprintf(buf, sizeof buf, "precision@%g%%", (double)g->k[j - 2]);
      pad(f, buf, w);
    }
  }
  fprintf(f, "\n");
  for (int k = 0; k <= m->nmodes; k++) {
    fprintf(f, "%-*s %5lld", mw, k < m->nmodes ? m->modes[k] : "centre control", (long long)g->stat[k][0].n);
    for (int j = 0; j < ADX_RESULTS_NGT; j++) pad(f, adx_report_fmt_mean(&g->stat[k][j], buf, sizeof buf), w);
    fprintf(f, "\n");
  }
  fprintf(f,
          "centre control: pixels ranked by distance to the image centre, nearest first (docs/metrics.md)\n");
}

void adx_report_gt_html(FILE *f, adx_results *r) {
  const adx_results_meta *m = adx_results_get_meta(r);
  adx_report_gt g;
  adx_error e = {0};
  fprintf(f, "<h2 id=\"ground-truth\">Ground truth</h2>\n");
  if (adx_report_gt_compute(r, &g, &e)) {
    fprintf(f, "<p class=\"note\">Ground truth could not be read: ");
    adx_report_html_escape(f, e.msg);
    fprintf(f, "</p>\n");
    return;
  }
  if (!g.present) {
    fprintf(f, "<p class=\"note\" id=\"ground-truth-absent\">Ground truth: %s.</p>\n",
            m->no_metrics ? ADX_REPORT_NOT_MEASURED : "absent (the dataset has no object masks)");
    return;
  }
  fprintf(f,
          "<div class=\"scroll\"><table id=\"ground-truth-table\" class=\"num\">\n<thead><tr><th>mode</th>"
          "<th>n</th><th>%s</th><th>%s</th>",
          gt_label[0], gt_label[1]);
  for (int j = 0; j < ADX_ROB_K; j++) fprintf(f, "<th>precision@%g%%</th>", (double)g.k[j]);
  fprintf(f, "</tr></thead>\n<tbody>\n");
  char buf[64];
  for (int k = 0; k <= m->nmodes; k++) {
    fprintf(f, "<tr data-mode=\"");
    adx_report_html_escape(f, k < m->nmodes ? m->modes[k] : "centre control");
    fprintf(f, "\"><th class=\"mode\">");
    adx_report_html_escape(f, k < m->nmodes ? m->modes[k] : "centre control");
    fprintf(f, "</th><td class=\"num\">%lld</td>", (long long)g.stat[k][0].n);
    for (int j = 0; j < ADX_RESULTS_NGT; j++) {
      const adx_summary *s = &g.stat[k][j];
      fprintf(
          f, "<td class=\"num\" data-mean=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" data-n=\"%lld\">%s</td>",
          s->mean, s->ci95_low, s->ci95_high, (long long)s->n, adx_report_fmt_mean(s, buf, sizeof buf));
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f,
          "</tbody>\n</table></div>\n<p class=\"note\">Against the dataset's object masks: pointing game = "
          "the top-ranked pixel lies on the object; energy in object = share of the positive "
          "responsibility on it; precision@k = share of the top k%% pixels on it. Higher is better. The "
          "last row, the <b>centre control</b>, ranks pixels by their distance to the image centre: a "
          "mode that does not beat it says little about the object (docs/metrics.md).</p>\n");
  adx_report_gt_free(&g);
}
