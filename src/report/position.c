/* Position bias (docs/metrics.md "Position bias"): per mode, the centroid of the top 10% of each done
 * image's ranking and the share of it in the 5-pixel border band, with 95% CIs over the images done; beside
 * them the ground-truth centroid of /images/object_mask where the file has it. For adx summary (text) and
 * adx report (a self-contained section). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "report_internal.h"

#define BLOCK 64 /* maps read per call */

void adx_report_position_free(adx_report_position *p) {
  if (!p) return;
  free(p->stat);
  memset(p, 0, sizeof *p);
}

adx_status adx_report_position_compute(adx_results *r, adx_report_position *p, adx_error *err) {
  memset(p, 0, sizeof *p);
  const adx_results_meta *m = adx_results_get_meta(r);
  int64_t n = m->n;
  size_t hw = (size_t)m->h * m->w;
  p->nmodes = m->nmodes;
  p->h = m->h, p->w = m->w;
  p->stat = calloc((size_t)m->nmodes, sizeof *p->stat);
  uint8_t *done = malloc((size_t)n > 0 ? (size_t)n : 1);
  double *row = malloc((size_t)(n + 1) * sizeof *row), *col = malloc((size_t)(n + 1) * sizeof *col),
         *bor = malloc((size_t)(n + 1) * sizeof *bor), *x = malloc((size_t)(n + 1) * sizeof *x);
  float *maps = malloc((size_t)BLOCK * hw * sizeof *maps);
  int32_t *order = malloc(hw * sizeof *order);
  uint8_t *mask = malloc((size_t)BLOCK * hw);
  adx_status s = p->stat && done && row && col && bor && x && maps && order && mask
                     ? ADX_OK
                     : adx_fail(err, ADX_ERR_NOMEM, "out of memory for the position statistics");
  if (!s) s = adx_results_read_done(r, done, err);
  for (int k = 0; k < m->nmodes && !s; k++) {
    for (int64_t first = 0; first < n && !s; first += BLOCK) {
      int64_t cnt = n - first < BLOCK ? n - first : BLOCK;
      s = adx_results_read_responsibilities(r, k, first, cnt, maps, err);
      for (int64_t i = 0; i < cnt && !s; i++) {
        adx_position q = {NAN, NAN, NAN, 0};
        const float *map = maps + (size_t)i * hw;
        int flat = 1; /* a constant map has no ranking (only the order of its ties): left out */
        for (size_t j = 1; j < hw && flat; j++) flat = map[j] == map[0];
        if (done[first + i] && !flat) {
          adx_rank_pixels(map, m->h, m->w, order);
          adx_position_of(order, m->h, m->w, ADX_POSITION_TOP_PCT, ADX_POSITION_BAND, &q);
        }
        row[first + i] = q.row, col[first + i] = q.col, bor[first + i] = q.border;
      }
    }
    if (s) break;
    adx_summarize_done(row, done, n, x, &p->stat[k][0]);
    adx_summarize_done(col, done, n, x, &p->stat[k][1]);
    adx_summarize_done(bor, done, n, x, &p->stat[k][2]);
  }
  p->have_mask = !s && m->has_masks;
  for (int64_t first = 0; p->have_mask && first < n && !s; first += BLOCK) {
    int64_t cnt = n - first < BLOCK ? n - first : BLOCK;
    s = adx_results_read_object_masks(r, first, cnt, mask, err);
    for (int64_t i = 0; i < cnt && !s; i++)
      adx_mask_centroid(mask + (size_t)i * hw, m->h, m->w, &row[first + i], &col[first + i]);
  }
  if (p->have_mask && !s) {
    adx_summarize_done(row, done, n, x, &p->gt[0]);
    adx_summarize_done(col, done, n, x, &p->gt[1]);
  }
  /* the band's share of the image area: what a ranking blind to position would put there */
  int64_t inner = (int64_t)(m->h > 2 * ADX_POSITION_BAND ? m->h - 2 * ADX_POSITION_BAND : 0) *
                  (m->w > 2 * ADX_POSITION_BAND ? m->w - 2 * ADX_POSITION_BAND : 0);
  p->band_area = hw ? 1.0 - (double)inner / (double)hw : NAN;
  free(done), free(row), free(col), free(bor), free(x), free(maps), free(order), free(mask);
  if (s) adx_report_position_free(p);
  return s;
}

/* right-aligned in width columns, "±" (two bytes) counted as one */
static void pad(FILE *f, const char *s, int width) {
  int cols = 0;
  for (const unsigned char *q = (const unsigned char *)s; *q; q++) cols += (*q & 0xC0) != 0x80;
  for (int i = cols; i < width; i++) fputc(' ', f);
  fputs(s, f);
}

void adx_report_position_print(FILE *f, const adx_results_meta *m, const adx_report_position *p) {
  int mw = 12;
  for (int k = 0; k < m->nmodes; k++)
    if ((int)strlen(m->modes[k]) + 1 > mw) mw = (int)strlen(m->modes[k]) + 1;
  char a[64], b[64], c[64];
  fprintf(f,
          "\nposition bias: centroid (row, col; pixels from the top left of %dx%d) of the top %d%% of each "
          "ranking,\nand its share in the %d-pixel border band (%.1f%% of the image area), mean ±95%% CI "
          "half-width\nover the images done whose map is not constant (n)\n%-*s %5s %16s %16s %16s\n",
          p->h, p->w, ADX_POSITION_TOP_PCT, ADX_POSITION_BAND, 100 * p->band_area, mw, "mode", "n", "row",
          "col", "border share");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "%-*s %5lld", mw, m->modes[k], (long long)p->stat[k][0].n);
    pad(f, adx_report_fmt_mean_d(&p->stat[k][0], 2, a, sizeof a), 17);
    pad(f, adx_report_fmt_mean_d(&p->stat[k][1], 2, b, sizeof b), 17);
    pad(f, adx_report_fmt_mean(&p->stat[k][2], c, sizeof c), 17);
    fprintf(f, "\n");
  }
  if (p->have_mask) {
    fprintf(f, "%-*s %5lld", mw, "ground truth", (long long)p->gt[0].n);
    pad(f, adx_report_fmt_mean_d(&p->gt[0], 2, a, sizeof a), 17);
    pad(f, adx_report_fmt_mean_d(&p->gt[1], 2, b, sizeof b), 17);
    fprintf(f, "\n");
  } else
    fprintf(f, "ground-truth centroid: none (the file has no object masks)\n");
}

static void cell(FILE *f, const adx_summary *s, int decimals) {
  char buf[64];
  fprintf(f, "<td class=\"num\" data-mean=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" data-n=\"%lld\">%s</td>",
          s->mean, s->ci95_low, s->ci95_high, (long long)s->n,
          adx_report_fmt_mean_d(s, decimals, buf, sizeof buf));
}

void adx_report_position_html(FILE *f, adx_results *r) {
  const adx_results_meta *m = adx_results_get_meta(r);
  adx_report_position p;
  adx_error e = {0};
  fprintf(f, "<h2 id=\"position\">Position bias</h2>\n");
  if (adx_report_position_compute(r, &p, &e)) {
    fprintf(f, "<p class=\"note\">Not available: ");
    adx_report_html_escape(f, e.msg);
    fprintf(f, "</p>\n");
    return;
  }
  fprintf(f, "<div class=\"scroll\"><table id=\"position-table\" class=\"num\">\n<thead><tr><th>mode</th>"
             "<th>n</th><th>row</th><th>col</th><th>border share</th></tr></thead>\n<tbody>\n");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "<tr data-mode=\"");
    adx_report_html_escape(f, m->modes[k]);
    fprintf(f, "\"><th class=\"mode\"><span class=\"swatch\" style=\"background:%s\"></span>",
            adx_report_mode_colour(k));
    adx_report_html_escape(f, m->modes[k]);
    fprintf(f, "</th><td class=\"num\">%lld</td>", (long long)p.stat[k][0].n);
    cell(f, &p.stat[k][0], 2), cell(f, &p.stat[k][1], 2), cell(f, &p.stat[k][2], 3);
    fprintf(f, "</tr>\n");
  }
  if (p.have_mask) {
    fprintf(f,
            "<tr data-mode=\"ground truth\"><th class=\"mode\">ground truth (object mask)</th><td "
            "class=\"num\">%lld</td>",
            (long long)p.gt[0].n);
    cell(f, &p.gt[0], 2), cell(f, &p.gt[1], 2);
    fprintf(f, "<td></td></tr>\n");
  }
  fprintf(f,
          "</tbody></table></div>\n<p class=\"note\">Centroid (row, col: pixels from the top left of the "
          "%dx%d input) of the top %d%% of each image's ranking, and the share of those pixels in the "
          "%d-pixel border band (%.1f%% of the image area), mean ±95%% CI half-width over the images done "
          "whose map is not constant (docs/metrics.md). %s</p>\n",
          p.h, p.w, ADX_POSITION_TOP_PCT, ADX_POSITION_BAND, 100 * p.band_area,
          p.have_mask
              ? "The ground-truth row is the centroid of the object masks."
              : "Object masks are absent from this results file, so there is no ground-truth centroid.");
  adx_report_position_free(&p);
}
