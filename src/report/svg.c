/* The report's plots as inline SVG, drawn from the per-image columns (no plotting library, no script). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "report_internal.h"

#define FONT "font-family=\"sans-serif\""

static double clamp01(double v) { return isnan(v) ? 0 : v < 0 ? 0 : v > 1 ? 1 : v; }

static void svg_begin(FILE *f, int w, int h, const char *label) {
  fprintf(f,
          "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "role=\"img\" "
          "aria-label=\"",
          w, h, w, h);
  adx_report_html_escape(f, label);
  fprintf(f, "\">\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", w, h);
}

static void text(FILE *f, double x, double y, const char *anchor, int size, const char *extra,
                 const char *s) {
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\" " FONT "%s%s>", x, y, anchor,
          size, extra ? " " : "", extra ? extra : "");
  adx_report_html_escape(f, s);
  fprintf(f, "</text>\n");
}

/* A y axis from 0 to 1 with gridlines at quarters, over [x0, x1] x [ytop, ybot]. */
static void y_axis01(FILE *f, double x0, double x1, double ytop, double ybot, const char *label) {
  for (int i = 0; i <= 4; i++) {
    double y = ybot - (ybot - ytop) * i / 4.0;
    char t[16];
    snprintf(t, sizeof t, "%.2f", i / 4.0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1\"/>\n",
            x0, y, x1, y, i ? "#e3e3e3" : "#555555");
    text(f, x0 - 5, y + 4, "end", 11, NULL, t);
  }
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", x0, ytop, x0,
          ybot);
  char tr[96];
  double cy = (ytop + ybot) / 2;
  snprintf(tr, sizeof tr, "transform=\"rotate(-90 %.1f %.1f)\"", x0 - 38, cy);
  text(f, x0 - 38, cy, "middle", 12, tr, label);
}

static void caption(FILE *f, const char *title, const char *body) {
  fprintf(f, "<figcaption><b>");
  adx_report_html_escape(f, title);
  fprintf(f, "</b> ");
  adx_report_html_escape(f, body);
  fprintf(f, "</figcaption>\n</figure>\n");
}

static void no_data(FILE *f, const char *title, const char *why) {
  fprintf(f, "<figure>\n<p class=\"note\">");
  adx_report_html_escape(f, why);
  fprintf(f, "</p>\n");
  caption(f, title, "");
}

/* ------------------------------------------------------------------ robustness per mode */

void adx_report_plot_robustness(FILE *f, const adx_report_data *d, const adx_report_stats *st) {
  const char *title = "Robustness per mode.";
  if (d->ndone == 0) {
    no_data(f, title, "No image is done yet.");
    return;
  }
  int nm = d->m->nmodes, pw = 70 * nm < 260 ? 260 : 70 * nm, left = 60, top = 30, ph = 220, bottom = 70;
  int W = left + 2 * (pw + left) - 20, H = top + ph + bottom;
  fprintf(f, "<figure>\n");
  svg_begin(f, W, H, "robustness per mode with 95% confidence intervals");
  for (int p = 0; p < 2; p++) {
    double x0 = left + p * (pw + left), x1 = x0 + pw, yb = top + ph;
    int j = p ? ADX_REPORT_ROB_CONTEXT : ADX_REPORT_ROB_COLOUR;
    y_axis01(f, x0, x1, top, yb, p ? "robustness (context)" : "robustness (colour)");
    text(f, (x0 + x1) / 2, 18, "middle", 13, "font-weight=\"bold\"",
         p ? "pasted on other-class images" : "pasted on solid colours");
    double slot = (double)pw / nm, bw = slot * 0.55;
    for (int k = 0; k < nm; k++) {
      const adx_summary *s = &st->stat[k][j];
      double cx = x0 + slot * (k + 0.5);
      if (s->n > 0 && !isnan(s->mean)) {
        double yv = yb - ph * clamp01(s->mean);
        fprintf(
            f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.85\">"
            "<title>",
            cx - bw / 2, yv, bw, yb - yv, adx_report_mode_colour(k));
        char buf[64];
        adx_report_html_escape(f, d->m->modes[k]);
        fprintf(f, ": %s</title></rect>\n", adx_report_fmt_mean(s, buf, sizeof buf));
        if (!isnan(s->ci95_low)) {
          double ylo = yb - ph * clamp01(s->ci95_low), yhi = yb - ph * clamp01(s->ci95_high);
          fprintf(f,
                  "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" stroke=\"#222222\" "
                  "stroke-width=\"1.5\" fill=\"none\"/>\n",
                  cx, ylo, yhi, cx - 6, ylo, cx + 6, cx - 6, yhi, cx + 6);
        }
        char v[24];
        snprintf(v, sizeof v, "%.2f", s->mean);
        double ylab = (isnan(s->ci95_high) ? yv : yb - ph * clamp01(s->ci95_high)) - 5;
        text(f, cx + (isnan(s->ci95_high) ? 0 : 14), ylab < top + 10 ? top + 10 : ylab, "middle", 11, NULL,
             v);
      }
      char tr[96];
      snprintf(tr, sizeof tr, "transform=\"rotate(-30 %.1f %.1f)\" fill=\"%s\"", cx, yb + 14,
               adx_report_mode_colour(k));
      text(f, cx, yb + 14, "end", 12, tr, d->m->modes[k]);
    }
  }
  fprintf(f, "</svg>\n");
  caption(
      f, title,
      "Mean fraction of pastes (the explanation alone on a new background) whose plain top-1 class stays "
      "the explained class; error bars: 95% t interval of the mean over the images done. Higher is better, "
      "but larger explanations survive more easily: compare at fixed size below.");
}

/* ------------------------------------------------------------------ robustness@k */

void adx_report_plot_rob_at_k(FILE *f, const adx_report_data *d, const adx_report_stats *st) {
  const char *title = "Robustness at fixed size k.";
  if (d->ndone == 0) {
    no_data(f, title, "No image is done yet.");
    return;
  }
  int nm = d->m->nmodes, left = 60, top = 20, pw = 480, ph = 260, legend = 170;
  int W = left + pw + 20 + legend, H = top + ph + 50;
  double x0 = left, yb = top + ph;
  /* the k values (5, 10, 20, 40 by default) double: equally spaced, as on a log axis */
#define KX(j) (x0 + pw * ((j) + 0.5) / ADX_ROB_K)
#define VY(v) (yb - ph * clamp01(v))
  fprintf(f, "<figure>\n");
  svg_begin(f, W, H, "robustness at k percent of pixels, per mode");
  y_axis01(f, x0, x0 + pw, top, yb, "robustness@k (colour + context)");
  for (int j = 0; j < ADX_ROB_K; j++) {
    char t[24];
    snprintf(t, sizeof t, "%g%%", (double)d->m->rob_k[j]);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", KX(j), yb,
            KX(j), yb + 5);
    text(f, KX(j), yb + 18, "middle", 11, NULL, t);
  }
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", x0, yb, x0 + pw,
          yb);
  text(f, x0 + pw / 2.0, yb + 40, "middle", 12, NULL,
       "k: pixels pasted, in percent of the image (top of the ranking)");
  for (int k = 0; k < nm; k++) { /* bands first, lines over them */
    int ok = 1;
    for (int j = 0; j < ADX_ROB_K; j++) ok &= !isnan(st->stat[k][ADX_REPORT_ROB_K0 + j].ci95_low);
    if (!ok) continue;
    fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"",
            adx_report_mode_colour(k));
    for (int j = 0; j < ADX_ROB_K; j++)
      fprintf(f, "%.1f,%.1f ", KX(j), VY(st->stat[k][ADX_REPORT_ROB_K0 + j].ci95_high));
    for (int j = ADX_ROB_K - 1; j >= 0; j--)
      fprintf(f, "%.1f,%.1f ", KX(j), VY(st->stat[k][ADX_REPORT_ROB_K0 + j].ci95_low));
    fprintf(f, "\"/>\n");
  }
  for (int k = 0; k < nm; k++) {
    /* fill modes dashed, AD modes solid: the two families apart even where colours are close */
    const char *dash = adx_report_is_ad(d->m->modes[k]) ? "" : " stroke-dasharray=\"7 4\"";
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\"%s points=\"",
            adx_report_mode_colour(k), dash);
    for (int j = 0; j < ADX_ROB_K; j++)
      if (!isnan(st->stat[k][ADX_REPORT_ROB_K0 + j].mean))
        fprintf(f, "%.1f,%.1f ", KX(j), VY(st->stat[k][ADX_REPORT_ROB_K0 + j].mean));
    fprintf(f, "\"/>\n");
    for (int j = 0; j < ADX_ROB_K; j++) {
      const adx_summary *s = &st->stat[k][ADX_REPORT_ROB_K0 + j];
      if (isnan(s->mean)) continue;
      char buf[64];
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>", KX(j), VY(s->mean),
              adx_report_mode_colour(k));
      adx_report_html_escape(f, d->m->modes[k]);
      fprintf(f, " at k=%g%%: %s</title></circle>\n", (double)d->m->rob_k[j],
              adx_report_fmt_mean(s, buf, sizeof buf));
    }
    double ly = top + 14 + 22 * k, lx = x0 + pw + 25;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"%s/>\n",
            lx, ly - 4, lx + 22, ly - 4, adx_report_mode_colour(k), dash);
    text(f, lx + 28, ly, "start", 12, NULL, d->m->modes[k]);
  }
#undef KX
#undef VY
  fprintf(f, "</svg>\n");
  caption(
      f, title,
      "The same pasting test with the top k% pixels of each mode's ranking, so every mode pastes the same "
      "number of pixels: the size-fair comparison of the rankings. Lines: mean over the images done; bands: "
      "95% t interval.");
}

/* ------------------------------------------------------------------ histograms */

void adx_report_plot_histograms(FILE *f, const adx_report_data *d) {
  const char *title = "Distributions per mode.";
  if (d->ndone == 0) {
    no_data(f, title, "No image is done yet.");
    return;
  }
  enum { NB = 10, NCOL = 3 };
  static const int cols[NCOL] = {ADX_REPORT_SIZE, ADX_REPORT_ROB_COLOUR, ADX_REPORT_ROB_CONTEXT};
  static const char *const names[NCOL] = {"size (fraction of the image)", "robustness (colour)",
                                          "robustness (context)"};
  int nm = d->m->nmodes, labw = 120, cw = 230, gap = 30, ch = 70, rowh = ch + 38, top = 44;
  for (int k = 0; k < nm; k++) { /* room for the longest mode name (bold 12 px: ~7.5 px a character) */
    int need = 20 + (int)(7.5 * (double)strlen(d->m->modes[k]));
    if (need > labw) labw = need;
  }
  int W = labw + NCOL * (cw + gap), H = top + nm * rowh + 8;
  /* x ranges: robustness 0..1; size 0..the largest size rounded up to a tenth (shared by every mode) */
  double hi[NCOL] = {0.1, 1, 1};
  for (int k = 0; k < nm; k++)
    for (int64_t i = 0; i < d->n; i++) {
      double v = adx_report_col(d, k, ADX_REPORT_SIZE)[i];
      if (d->done[i] && !isnan(v) && v > hi[0]) hi[0] = v;
    }
  hi[0] = ceil(hi[0] * 10 - 1e-9) / 10;
  if (hi[0] > 1) hi[0] = 1;
  double *fr = calloc((size_t)nm * NCOL * NB, sizeof *fr), *mean = calloc((size_t)nm * NCOL, sizeof *mean);
  double ymax[NCOL] = {0};
  if (!fr || !mean) {
    free(fr), free(mean);
    no_data(f, title, "out of memory");
    return;
  }
  for (int k = 0; k < nm; k++)
    for (int c = 0; c < NCOL; c++) {
      const double *v = adx_report_col(d, k, cols[c]);
      int64_t cnt = 0;
      double sum = 0;
      double *h = fr + ((size_t)k * NCOL + c) * NB;
      for (int64_t i = 0; i < d->n; i++) {
        if (!d->done[i] || isnan(v[i])) continue;
        /* the robustness values are multiples of 1/K held in float32: a small tolerance keeps 0.7 in [0.7,
         * 0.8) */
        int b = (int)floor(v[i] / hi[c] * NB + 1e-4);
        b = b < 0 ? 0 : b >= NB ? NB - 1 : b;
        h[b] += 1, cnt++, sum += v[i];
      }
      for (int b = 0; b < NB; b++) {
        h[b] = cnt ? h[b] / (double)cnt : 0;
        if (h[b] > ymax[c]) ymax[c] = h[b];
      }
      mean[k * NCOL + c] = cnt ? sum / (double)cnt : NAN;
    }
  fprintf(f, "<figure>\n");
  svg_begin(f, W, H, "histograms of explanation size and robustness per mode");
  for (int c = 0; c < NCOL; c++)
    text(f, labw + c * (cw + gap) + cw / 2.0, 16, "middle", 13, "font-weight=\"bold\"", names[c]);
  for (int k = 0; k < nm; k++) {
    double y0 = top + k * rowh, yb = y0 + ch;
    char fill[64];
    snprintf(fill, sizeof fill, "fill=\"%s\" font-weight=\"bold\"", adx_report_mode_colour(k));
    text(f, labw - 10, y0 + ch / 2.0 + 4, "end", 12, fill, d->m->modes[k]);
    for (int c = 0; c < NCOL; c++) {
      double x0 = labw + c * (cw + gap), bw = (double)cw / NB;
      const double *h = fr + ((size_t)k * NCOL + c) * NB;
      for (int b = 0; b < NB; b++) {
        double bh = ymax[c] > 0 ? ch * h[b] / ymax[c] : 0;
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"#ffffff\" "
                "stroke-width=\"0.5\"><title>%.2f..%.2f: %.0f%% of images</title></rect>\n",
                x0 + b * bw, yb - bh, bw, bh, adx_report_mode_colour(k), hi[c] * b / NB, hi[c] * (b + 1) / NB,
                100 * h[b]);
      }
      fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", x0, yb,
              x0 + cw, yb);
      double mv = mean[k * NCOL + c];
      if (!isnan(mv)) {
        double mx = x0 + cw * (mv / hi[c] > 1 ? 1 : mv / hi[c]);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000000\" "
                "stroke-dasharray=\"4 3\" "
                "stroke-width=\"1.5\"/>\n",
                mx, y0 - 2, mx, yb);
      }
      char a[16], mid[16], b2[16], m2[32];
      snprintf(a, sizeof a, "0");
      snprintf(mid, sizeof mid, "%g", hi[c] / 2);
      snprintf(b2, sizeof b2, "%g", hi[c]);
      snprintf(m2, sizeof m2, "mean %.2f", mv);
      text(f, x0, yb + 13, "start", 10, NULL, a);
      fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n",
              x0 + cw / 2.0, yb, x0 + cw / 2.0, yb + 3);
      text(f, x0 + cw / 2.0, yb + 13, "middle", 10, NULL, mid);
      text(f, x0 + cw, yb + 13, "end", 10, NULL, b2);
      if (!isnan(mv)) text(f, x0 + cw, y0 - 4, "end", 10, "fill=\"#333333\"", m2);
    }
  }
  fprintf(f, "</svg>\n");
  free(fr), free(mean);
  caption(f, title,
          "Share of the images done per bin (10 bins; bar heights scaled per column); dashed line: the mean. "
          "Robustness takes K+1 values (K backgrounds), so it is coarse by nature.");
}

/* ------------------------------------------------------------------ per class */

/* Mean per class of each mode's colour (p 0) and context (p 1) robustness over the done images:
 * pc[(p * nm + k) * C + c], NaN for a class without images, with the image counts in cnt. */
static void per_class_means(const adx_report_data *d, double *pc, int64_t *cnt) {
  int nm = d->m->nmodes, C = d->m->nclasses;
  for (int p = 0; p < 2; p++)
    for (int k = 0; k < nm; k++) {
      size_t at = ((size_t)p * nm + k) * C;
      adx_class_means(adx_report_col(d, k, p ? ADX_REPORT_ROB_CONTEXT : ADX_REPORT_ROB_COLOUR), d->done,
                      d->label, d->pred, d->n, C, pc + at, cnt + at);
    }
}

/* The fill mode with the highest overall mean of statistic j, or -1. */
static int best_fill(const adx_report_stats *st, int j) {
  int best = -1;
  for (int k = 0; k < st->nmodes; k++)
    if (st->is_fill[k] && !isnan(st->stat[k][j].mean) &&
        (best < 0 || st->stat[k][j].mean > st->stat[best][j].mean))
      best = k;
  return best;
}

/* One panel of per-class bars: AD (va) and the best fill mode (vb) side by side for each class. */
typedef struct class_panel {
  const adx_report_data *d;
  const adx_report_source *src;
  const double *va, *vb;  /* [C] means of AD and of the best fill mode */
  const int64_t *na, *nb; /* [C] their image counts */
  int ad, best, p;
  double x0, x1, top, yb, ph;
} class_panel;

static void class_bars(FILE *f, const class_panel *cp) {
  int C = cp->d->m->nclasses;
  double pw = cp->x1 - cp->x0, yb = cp->yb, ph = cp->ph;
  y_axis01(f, cp->x0, cp->x1, cp->top, yb, cp->p ? "robustness (context)" : "robustness (colour)");
  double slot = pw / C, bw = slot * 0.36;
  for (int c = 0; c < C; c++) {
    double cx = cp->x0 + slot * (c + 0.5);
    const double vals[2] = {cp->va[c], cp->vb[c]};
    const int64_t counts[2] = {cp->na[c], cp->nb[c]};
    const int modes[2] = {cp->ad, cp->best};
    for (int q = 0; q < 2; q++) {
      if (isnan(vals[q])) continue;
      double y = yb - ph * clamp01(vals[q]);
      if (yb - y < 2) y = yb - 2; /* a zero stays visible (absent classes have no bar at all) */
      fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>class %d, ",
              cx - bw + q * bw, y, bw, yb - y, adx_report_mode_colour(modes[q]), c);
      adx_report_html_escape(f, cp->d->m->modes[modes[q]]);
      fprintf(f, ": %.3f over %lld images</title></rect>\n", vals[q], (long long)counts[q]);
    }
    char name[80];
    adx_report_class_name(cp->src, c, name, sizeof name);
    if (isnan(vals[0]) && isnan(vals[1])) text(f, cx, yb - 4, "middle", 9, "fill=\"#999999\"", "none");
    if (C > 12) {
      char tr[96];
      snprintf(tr, sizeof tr, "transform=\"rotate(-45 %.1f %.1f)\"", cx, yb + 14);
      text(f, cx, yb + 14, "end", 10, tr, name);
    } else {
      text(f, cx, yb + 15, "middle", 11, NULL, name);
    }
  }
  text(f, (cp->x0 + cp->x1) / 2, yb + (C > 12 ? 52 : 34), "middle", 12, NULL,
       "class (label; prediction where unknown)");
}

/* Many classes: one point per class, AD on y against the best fill mode on x. */
static void class_scatter(FILE *f, const class_panel *cp) {
  int C = cp->d->m->nclasses;
  double pw = cp->x1 - cp->x0, s = pw < cp->ph ? pw : cp->ph, x0 = cp->x0, top = cp->top;
  y_axis01(f, x0, x0 + s, top, top + s, cp->d->m->modes[cp->ad]);
  fprintf(f,
          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999999\" stroke-dasharray=\"4 "
          "3\"/>\n",
          x0, top + s, x0 + s, top);
  for (int c = 0; c < C; c++)
    if (!isnan(cp->va[c]) && !isnan(cp->vb[c]))
      fprintf(f,
              "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\" fill-opacity=\"0.6\"><title>class "
              "%d</title></circle>\n",
              x0 + s * clamp01(cp->vb[c]), top + s - s * clamp01(cp->va[c]), adx_report_mode_colour(cp->ad),
              c);
  text(f, x0 + s / 2, top + s + 30, "middle", 12, NULL, cp->d->m->modes[cp->best]);
}

static void legend_item(FILE *f, double x, double y, int mode, const char *name) {
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y - 10,
          adx_report_mode_colour(mode));
  text(f, x + 16, y, "start", 12, NULL, name);
}

void adx_report_plot_per_class(FILE *f, const adx_report_data *d, const adx_report_stats *st,
                               const adx_report_source *src) {
  const char *title = "Robustness per class: AD against the best fill mode.";
  int nm = d->m->nmodes, C = d->m->nclasses, ad = st->ad_mode;
  int nfill = 0;
  for (int k = 0; k < nm; k++) nfill += st->is_fill[k];
  if (ad < 0 || nfill == 0) {
    no_data(f, title, "Needs an AD mode and a fill mode in the run.");
    return;
  }
  if (d->ndone == 0) {
    no_data(f, title, "No image is done yet.");
    return;
  }
  double *pc = calloc((size_t)2 * nm * C, sizeof *pc);
  int64_t *cnt = calloc((size_t)2 * nm * C, sizeof *cnt);
  if (!pc || !cnt) {
    free(pc), free(cnt);
    no_data(f, title, "out of memory");
    return;
  }
  per_class_means(d, pc, cnt);
  int bars = C <= 30, left = 60, top = 30, ph = 200, bottom = bars ? 60 : 50;
  int pw = bars ? (C * 44 < 360 ? 360 : C * 44) : 300;
  int W = left + 2 * (pw + left) + 10, H = top + ph + bottom + 24;
  fprintf(f, "<figure>\n");
  svg_begin(f, W, H, "per-class robustness, AD against the best fill mode");
  for (int p = 0; p < 2; p++) {
    int best = best_fill(st, p ? ADX_REPORT_ROB_CONTEXT : ADX_REPORT_ROB_COLOUR);
    double x0 = left + p * (pw + left), x1 = x0 + pw, yb = top + ph;
    char head[300];
    snprintf(head, sizeof head, "%s: %s vs %s", p ? "context" : "colour", d->m->modes[ad],
             best >= 0 ? d->m->modes[best] : "(no fill value)");
    text(f, (x0 + x1) / 2, 18, "middle", 13, "font-weight=\"bold\"", head);
    if (best < 0) continue;
    size_t oa = ((size_t)p * nm + ad) * C, ob = ((size_t)p * nm + best) * C;
    class_panel cp = {d, src, pc + oa, pc + ob, cnt + oa, cnt + ob, ad, best, p, x0, x1, top, yb, ph};
    if (bars)
      class_bars(f, &cp);
    else
      class_scatter(f, &cp);
    legend_item(f, x0, H - 10, ad, d->m->modes[ad]);
    legend_item(f, x0 + 130, H - 10, best, d->m->modes[best]);
  }
  fprintf(f, "</svg>\n");
  free(pc), free(cnt);
  caption(
      f, title,
      "Mean robustness over the images done of each class (its label, or the prediction where the label is "
      "unknown), for the AD mode and for the fill mode with the highest overall mean on that robustness.");
}
