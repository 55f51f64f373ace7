/* adx report: DIR/index.html (static, no script, no network) and its pictures under DIR/img/.
 * Every file name inside DIR is made here from numbers (rows of the results file, mode indices), never
 * from mode names or data paths. Sections and gallery rules: docs/report.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adx/explain.h"
#include "adx/io.h"
#include "report_internal.h"

#define SEED_SAMPLE 0x73616d706c65ULL /* "sample" */

typedef struct item {
  int64_t slot;
  double score, tie;
} item;

typedef struct ctx {
  adx_results *r;
  const char *path, *dir;
  const adx_results_meta *m;
  adx_report_data d;
  adx_report_stats st;
  adx_report_source src;
  int s; /* display upscale */
  uint8_t *rgb, *pix;
  uint8_t *written; /* [n]: pictures of this row already written */
  char *file;       /* scratch for paths */
  size_t file_len;
} ctx;

void adx_report_options_default(adx_report_options *o) {
  memset(o, 0, sizeof *o);
  o->gallery = 8;
}

/* ------------------------------------------------------------------ pictures */

static adx_status save(ctx *c, const char *name, const uint8_t *px, int w, int h, adx_error *err) {
  snprintf(c->file, c->file_len, "%s/img/%s", c->dir, name);
  return adx_image_save_png(c->file, px, w, h, 3, err);
}

/* img/r<slot>_image.png (when the original is available), img/r<slot>_m<k>_heat.png,
 * img/r<slot>_m<k>_expl.png. *have_image: whether the first was written. */
static adx_status pictures(ctx *c, int64_t slot, int *have_image, adx_error *err) {
  int h = c->m->h, w = c->m->w, s = c->s;
  adx_image_record rec;
  adx_status st = adx_results_read_image(c->r, slot, &rec, err);
  if (st) return st;
  *have_image = adx_report_source_rgb(&c->src, rec.index, c->rgb) == 0;
  if (c->written[slot]) {
    adx_image_record_free(&rec);
    return ADX_OK;
  }
  char name[96];
  if (*have_image) {
    adx_report_render_image(c->rgb, h, w, s, c->pix);
    snprintf(name, sizeof name, "r%lld_image.png", (long long)slot);
    st = save(c, name, c->pix, w * s, h * s, err);
  }
  size_t hw = (size_t)h * w;
  for (int k = 0; k < c->m->nmodes && !st; k++) {
    adx_report_render_heatmap(rec.responsibility + k * hw, h, w, s, c->pix);
    snprintf(name, sizeof name, "r%lld_m%d_heat.png", (long long)slot, k);
    st = save(c, name, c->pix, w * s, h * s, err);
    if (st) break;
    adx_report_render_overlay(*have_image ? c->rgb : NULL, rec.explanation + k * hw, h, w, s, c->pix);
    snprintf(name, sizeof name, "r%lld_m%d_expl.png", (long long)slot, k);
    st = save(c, name, c->pix, w * s, h * s, err);
  }
  adx_image_record_free(&rec);
  if (!st) c->written[slot] = 1;
  return st;
}

static adx_status colour_bar(ctx *c, adx_error *err) {
  enum { BW = 256, BH = 14 };
  uint8_t px[BW * BH * 3];
  for (int y = 0; y < BH; y++)
    for (int x = 0; x < BW; x++) adx_viridis(x / (double)(BW - 1), px + ((size_t)y * BW + x) * 3);
  return save(c, "colorbar.png", px, BW, BH, err);
}

/* ------------------------------------------------------------------ gallery choice */

static int by_score_desc(const void *a, const void *b) {
  const item *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int by_score_asc(const void *a, const void *b) {
  const item *x = a, *y = b;
  if (x->score != y->score) return x->score < y->score ? -1 : 1;
  if (x->tie != y->tie) return x->tie < y->tie ? -1 : 1;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int by_slot(const void *a, const void *b) {
  const item *x = a, *y = b;
  return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* A seeded sample of the images done (partial Fisher-Yates), in row order. */
static int64_t pick_sample(const ctx *c, uint64_t seed, int want, item *out) {
  int64_t nd = 0;
  item *all = malloc((size_t)(c->d.ndone > 0 ? c->d.ndone : 1) * sizeof *all);
  if (!all) return 0;
  for (int64_t i = 0; i < c->d.n; i++)
    if (c->d.done[i]) all[nd++] = (item){i, NAN, 0};
  int64_t k = want < nd ? want : nd;
  adx_rng rng;
  adx_rng_seed(&rng, adx_seed_mix(seed, SEED_SAMPLE));
  for (int64_t i = 0; i < k; i++) {
    int64_t j = i + (int64_t)adx_rng_below(&rng, (uint64_t)(nd - i));
    item t = all[i];
    all[i] = all[j], all[j] = t;
  }
  memcpy(out, all, (size_t)k * sizeof *out);
  free(all);
  qsort(out, (size_t)k, sizeof *out, by_slot);
  return k;
}

/* Disagreement of image i: the mean over the fill modes of 1 - IoU of the top ADX_REPORT_DISAGREE_PCT % of
 * the AD ranking and of the fill ranking (adx_rank_pixels: the ranking robustness@k pastes). Equal pixel
 * counts make it size-fair: explanation masks would let one tiny mask against another count as total
 * disagreement. Read in blocks of rows; the top `want` by disagreement. */
static adx_status pick_disagree(ctx *c, int want, item *out, int64_t *count, adx_error *err) {
  *count = 0;
  int ad = c->st.ad_mode, nm = c->m->nmodes, nfill = 0;
  for (int k = 0; k < nm; k++) nfill += c->st.is_fill[k];
  if (ad < 0 || nfill == 0 || c->d.ndone == 0) return ADX_OK;
  enum { BLOCK = 64 };
  int hw = c->m->h * c->m->w;
  int top = (int)(((int64_t)ADX_REPORT_DISAGREE_PCT * hw + 99) / 100); /* ceil, as robustness@k */
  float *ra = malloc((size_t)BLOCK * hw * sizeof *ra), *rf = malloc((size_t)BLOCK * hw * sizeof *rf);
  int32_t *order = malloc((size_t)hw * sizeof *order);
  uint8_t *in_a = malloc((size_t)BLOCK * hw);
  double *sum = calloc((size_t)c->d.n, sizeof *sum);
  item *all = malloc((size_t)c->d.ndone * sizeof *all);
  adx_status s = ADX_OK;
  if (!ra || !rf || !order || !in_a || !sum || !all)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for the disagreement gallery");
  for (int64_t first = 0; first < c->d.n && !s; first += BLOCK) {
    int64_t cnt = c->d.n - first < BLOCK ? c->d.n - first : BLOCK;
    if ((s = adx_results_read_responsibilities(c->r, ad, first, cnt, ra, err))) break;
    memset(in_a, 0, (size_t)cnt * hw);
    for (int64_t i = 0; i < cnt; i++) {
      adx_rank_pixels(ra + i * hw, c->m->h, c->m->w, order);
      for (int p = 0; p < top; p++) in_a[i * hw + order[p]] = 1;
    }
    for (int k = 0; k < nm && !s; k++) {
      if (!c->st.is_fill[k]) continue;
      if ((s = adx_results_read_responsibilities(c->r, k, first, cnt, rf, err))) break;
      for (int64_t i = 0; i < cnt; i++) {
        adx_rank_pixels(rf + i * hw, c->m->h, c->m->w, order);
        int inter = 0;
        for (int p = 0; p < top; p++) inter += in_a[i * hw + order[p]];
        sum[first + i] += 1.0 - (double)inter / (double)(2 * top - inter);
      }
    }
  }
  if (!s) {
    int64_t nd = 0;
    for (int64_t i = 0; i < c->d.n; i++)
      if (c->d.done[i]) all[nd++] = (item){i, sum[i] / nfill, 0};
    qsort(all, (size_t)nd, sizeof *all, by_score_desc);
    *count = want < nd ? want : nd;
    memcpy(out, all, (size_t)*count * sizeof *out);
  }
  free(ra), free(rf), free(order), free(in_a), free(sum), free(all);
  return s;
}

static double rob_of(const ctx *c, int k, int64_t i) {
  double a = adx_report_col(&c->d, k, ADX_REPORT_ROB_COLOUR)[i],
         b = adx_report_col(&c->d, k, ADX_REPORT_ROB_CONTEXT)[i];
  if (isnan(a)) return b;
  if (isnan(b)) return a;
  return (a + b) / 2;
}

/* Worst: the lowest robustness (mean of colour and context) in the reference mode (the AD mode, else the
 * first); ties go to the lower robustness averaged over every mode, then to the lower row. */
static int64_t pick_worst(const ctx *c, int want, item *out, int *ref) {
  *ref = c->st.ad_mode >= 0 ? c->st.ad_mode : 0;
  item *all = malloc((size_t)(c->d.ndone > 0 ? c->d.ndone : 1) * sizeof *all);
  if (!all) return 0;
  int64_t nd = 0;
  for (int64_t i = 0; i < c->d.n; i++) {
    if (!c->d.done[i]) continue;
    double v = rob_of(c, *ref, i), t = 0;
    if (isnan(v)) continue;
    int nt = 0;
    for (int k = 0; k < c->m->nmodes; k++) {
      double x = rob_of(c, k, i);
      if (!isnan(x)) t += x, nt++;
    }
    all[nd++] = (item){i, v, nt ? t / nt : 0};
  }
  qsort(all, (size_t)nd, sizeof *all, by_score_asc);
  int64_t k = want < nd ? want : nd;
  memcpy(out, all, (size_t)k * sizeof *out);
  free(all);
  return k;
}

/* ------------------------------------------------------------------ HTML pieces */

static void esc(FILE *f, const char *s) { adx_report_html_escape(f, s); }

static void fmt_seconds(double sec, char *buf, size_t len) {
  if (sec < 120)
    snprintf(buf, len, "%.1f s", sec);
  else
    snprintf(buf, len, "%.0f s (%dh %02dm %02ds)", sec, (int)(sec / 3600), (int)fmod(sec / 60, 60),
             (int)fmod(sec, 60));
}

static void fact(FILE *f, const char *name, const char *value, int code) {
  fprintf(f, "<tr><th>%s</th><td>%s", name, code ? "<code>" : "");
  esc(f, value);
  fprintf(f, "%s</td></tr>\n", code ? "</code>" : "");
}

static void run_facts(FILE *f, ctx *c) {
  const adx_results_meta *m = c->m;
  char buf[1400];
  fprintf(f, "<h2 id=\"run\">Run</h2>\n<table class=\"facts\">\n");
  fact(f, "results file", c->path, 1);
  fact(f, "model", m->model_path, 1);
  fact(f, "model sha256", m->model_sha256, 1);
  fact(f, "data", m->data_path, 1);
  if (!c->src.ds) {
    snprintf(buf, sizeof buf, "unavailable (%s): the galleries show the maps without the images", c->src.why);
    fact(f, "original images", buf, 0);
  } else {
    snprintf(buf, sizeof buf, "re-read from the data (%s), shown %dx%d px upscaled x%d",
             adx_dataset_kind(c->src.ds), m->w, m->h, c->s);
    fact(f, "original images", buf, 0);
  }
  snprintf(buf, sizeof buf, "%lld of %lld done%s", (long long)c->d.ndone, (long long)c->d.n,
           m->finished ? " (finished)" : " (unfinished)");
  fact(f, "images", buf, 0);
  snprintf(buf, sizeof buf, "%d x %d", m->ranks, m->threads_per_rank);
  fact(f, "ranks x threads", buf, 0);
  char t[80];
  if (!isnan(m->wall_seconds)) {
    fmt_seconds(m->wall_seconds, t, sizeof t);
    snprintf(buf, sizeof buf, "%s (%s, at %s)", t,
             m->finished ? "the session that finished the file"
                         : "the last session that reached finish; the run is not complete",
             m->finished_at[0] ? m->finished_at : "?");
  } else {
    snprintf(buf, sizeof buf, "unknown (%s)",
             m->finished ? "not recorded by the adx that wrote the file" : "the run has not finished");
  }
  fact(f, "wall time", buf, 0);
  double sum = 0;
  for (int k = 0; k < m->nmodes; k++)
    for (int64_t i = 0; i < c->d.n; i++) {
      double v = adx_report_col(&c->d, k, ADX_REPORT_SECONDS)[i];
      if (c->d.done[i] && !isnan(v)) sum += v;
    }
  fmt_seconds(sum, t, sizeof t);
  snprintf(buf, sizeof buf,
           "%s (sum of the per-image seconds of every mode over the images done; all ranks and "
           "threads)",
           t);
  fact(f, "compute time", buf, 0);
  fact(f, "explainer", m->explainer, 1);
  size_t o = 0;
  buf[0] = 0;
  for (int k = 0; k < m->nmodes && o < sizeof buf; k++)
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s%s%s%s", k ? ", " : "", m->modes[k],
                          strcmp(m->modes[k], m->variants[k]) ? " (= " : "",
                          strcmp(m->modes[k], m->variants[k]) ? m->variants[k] : "",
                          strcmp(m->modes[k], m->variants[k]) ? ")" : "");
  fact(f, "modes", buf, 1);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)m->seed);
  fact(f, "seed", buf, 0);
  snprintf(buf, sizeof buf, "%s, adx %s", m->created, m->adx_version);
  fact(f, "created", buf, 0);
  fprintf(f, "</table>\n<details><summary>Explainer parameters: the effective settings of the run "
             "(config file and command line)</summary>\n<pre class=\"config\">");
  esc(f, m->config_text);
  fprintf(f, "</pre></details>\n");
}

static void num_cell_d(FILE *f, const adx_summary *s, int decimals) {
  char buf[64];
  fprintf(f, "<td class=\"num\" data-mean=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" data-n=\"%lld\">%s</td>",
          s->mean, s->ci95_low, s->ci95_high, (long long)s->n,
          adx_report_fmt_mean_d(s, decimals, buf, sizeof buf));
}

static void num_cell(FILE *f, const adx_summary *s) { num_cell_d(f, s, 3); }

/* AD against each fill mode: absolute and relative differences, p-values, Holm over the table. */
static void comparisons(FILE *f, ctx *c) {
  const adx_report_stats *st = &c->st;
  if (st->ad_mode < 0 || st->ncomparisons == 0) return;
  fprintf(f, "<h3>AD against each fill mode</h3>\n<div class=\"scroll\"><table id=\"comparisons\" "
             "class=\"num\">\n<thead><tr><th>fill mode</th><th>metric</th><th>AD</th><th>fill</th>"
             "<th>AD − fill</th><th>relative</th><th>p</th><th>p (Holm)</th></tr></thead>\n<tbody>\n");
  int mode, metric, held;
  const adx_ad_vs *v;
  char buf[64];
  for (int row = 0; (row = adx_report_comparison(st, row, &mode, &metric, &held, &v));) {
    fprintf(f, "<tr%s data-mode=\"", v->p_holm < 0.05 ? " class=\"sig\"" : "");
    esc(f, c->m->modes[mode]);
    fprintf(f, "\" data-metric=\"%s\" data-heldout=\"%d\"><th class=\"mode\">", metric ? "context" : "colour",
            held);
    esc(f, c->m->modes[mode]);
    fprintf(f, "%s</th><td>%s</td><td class=\"num\">%.3f</td><td class=\"num\">%.3f</td>",
            held ? " (held out)" : "", metric ? "context" : "colour", v->mean_ad, v->mean_fill);
    fprintf(f, "<td class=\"num\" data-diff=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\">%s</td>", v->diff,
            v->diff_ci95_low, v->diff_ci95_high, adx_report_fmt_diff(v, buf, sizeof buf));
    fprintf(f, "<td class=\"num\">%s</td>", adx_report_fmt_improvement(v, buf, sizeof buf));
    fprintf(f, "<td class=\"num\" data-p=\"%.9g\">%s</td>", v->p, adx_report_fmt_p(v->p, buf, sizeof buf));
    fprintf(f, "<td class=\"num\" data-p-holm=\"%.9g\">%s%s</td></tr>\n", v->p_holm,
            adx_report_fmt_p(v->p_holm, buf, sizeof buf), v->p_holm < 0.05 ? " *" : "");
  }
  fprintf(f, "</tbody>\n</table></div>\n<p class=\"note\">Robustness of <code>");
  esc(f, c->m->modes[st->ad_mode]);
  fprintf(
      f,
      "</code> against each fill mode, paired over the images done. <b>AD − fill</b>: difference of the "
      "means, ± half-width of its 95%% t interval. <b>relative</b>: (AD − fill) / fill, ± 95%% (delta "
      "method); a ratio of small numbers says little, so read it beside the difference. <b>p</b>: paired "
      "t-test of no difference. <b>p (Holm)</b>: Holm's correction over the %d comparisons of this table; "
      "* marks p (Holm) below 0.05. <b>(held out)</b>: the fill mode with the best mean on the first %lld "
      "images done is picked there and compared with AD on the other %lld, so that the best fill is not "
      "chosen on the images that test it.</p>\n",
      st->ncomparisons, (long long)st->heldout_pick_n, (long long)st->heldout_test_n);
}

/* The cost table of every report: the explainer's queries per image (the metrics' are not counted) and the
 * seconds per image. */
static void cost_table(FILE *f, ctx *c) {
  const adx_results_meta *m = c->m;
  const adx_report_stats *st = &c->st;
  fprintf(f, "<h3>Cost per image</h3>\n<table id=\"cost\" class=\"num\">\n<thead><tr><th>mode</th><th>mutant "
             "queries</th><th>seconds</th></tr></thead>\n<tbody>\n");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "<tr><th class=\"mode\">");
    esc(f, m->modes[k]);
    fprintf(f, "</th>");
    num_cell_d(f, &st->stat[k][ADX_REPORT_QUERIES], 1);
    num_cell(f, &st->stat[k][ADX_REPORT_SECONDS]);
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</tbody>\n</table>\n");
}

/* A run without metrics (--no-metrics): the explanations' size, then the cost. */
static void headline_no_metrics(FILE *f, ctx *c) {
  const adx_results_meta *m = c->m;
  const adx_report_stats *st = &c->st;
  fprintf(f,
          "<h2 id=\"headline-title\">Headline</h2>\n<p class=\"note\" id=\"metrics-absent\">Metrics: "
          "%s. The run computed the explanations only: robustness, confidence, drop-off, insertion and "
          "deletion AUC, robustness@k, the judge matrix and the ground truth were not computed.</p>\n",
          ADX_REPORT_NOT_MEASURED);
  fprintf(f,
          "<table id=\"size\" class=\"num\">\n<thead><tr><th>mode</th><th>n</th><th>%s</th></tr></thead>\n"
          "<tbody>\n",
          adx_report_stat_label[ADX_REPORT_SIZE]);
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "<tr data-mode=\"");
    esc(f, m->modes[k]);
    fprintf(f, "\"><th class=\"mode\">");
    esc(f, m->modes[k]);
    fprintf(f, "</th><td class=\"num\">%lld</td>", (long long)st->stat[k][ADX_REPORT_SIZE].n);
    num_cell(f, &st->stat[k][ADX_REPORT_SIZE]);
    fprintf(f, "</tr>\n");
  }
  fprintf(f,
          "</tbody>\n</table>\n<p class=\"note\">Explanation size = explanation pixels / all pixels, mean "
          "± half-width of the 95%% t interval over the %lld images done.</p>\n",
          (long long)c->d.ndone);
  cost_table(f, c);
}

static void headline(FILE *f, ctx *c) {
  const adx_results_meta *m = c->m;
  const adx_report_stats *st = &c->st;
  if (m->no_metrics) {
    headline_no_metrics(f, c);
    return;
  }
  fprintf(f, "<h2 id=\"headline-title\">Headline</h2>\n<div class=\"scroll\"><table id=\"headline\" "
             "class=\"num\">\n<thead><tr><th>mode</th>"
             "<th>n</th>");
  for (int j = 0; j < ADX_REPORT_NHEAD; j++) fprintf(f, "<th>%s</th>", adx_report_stat_label[j]);
  if (st->ad_mode >= 0) fprintf(f, "<th>AD vs: colour</th><th>AD vs: context</th>");
  fprintf(f, "</tr></thead>\n<tbody>\n");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "<tr data-mode=\"");
    esc(f, m->modes[k]);
    fprintf(f, "\"><th class=\"mode\"><span class=\"swatch\" style=\"background:%s\"></span>",
            adx_report_mode_colour(k));
    esc(f, m->modes[k]);
    fprintf(f, "</th><td class=\"num\">%lld</td>", (long long)st->stat[k][ADX_REPORT_ROB_COLOUR].n);
    for (int j = 0; j < ADX_REPORT_NHEAD; j++) num_cell(f, &st->stat[k][j]);
    for (int q = 0; st->ad_mode >= 0 && q < 2; q++) {
      const adx_ad_vs *v = &st->ad_vs[k][q];
      char buf[64];
      if (k == st->ad_mode)
        fprintf(f, "<td class=\"ref\">reference</td>");
      else
        fprintf(f,
                "<td class=\"num\" data-improvement=\"%.9g\" data-lo=\"%.9g\" data-hi=\"%.9g\" "
                "data-n=\"%lld\">%s</td>",
                v->improvement, v->ci95_low, v->ci95_high, (long long)v->n,
                adx_report_fmt_improvement(v, buf, sizeof buf));
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(
      f,
      "</tbody>\n</table></div>\n<p class=\"note\">Each cell: mean ± half-width of the 95%% t interval over "
      "the "
      "%lld images done (robustness: higher is better; size: smaller is sharper; confidence, insertion AUC: "
      "higher is better; drop-off, deletion AUC: lower is better; definitions in docs/metrics.md).",
      (long long)c->d.ndone);
  if (st->ad_mode >= 0) {
    fprintf(f, " <b>AD vs</b>: relative robustness improvement of <code>");
    esc(f, m->modes[st->ad_mode]);
    fprintf(f,
            "</code> over the row's mode, (mean AD − mean mode) / mean mode in %%, ± half-width of the 95%% "
            "interval (delta method, paired images).");
  }
  fprintf(f, "</p>\n");
  comparisons(f, c);
  cost_table(f, c);
}

static adx_status gallery(FILE *f, ctx *c, const char *id, const char *title, const char *intro,
                          const item *it, int64_t cnt, const char *score_name, adx_error *err) {
  const adx_results_meta *m = c->m;
  int px_w = m->w * c->s, px_h = m->h * c->s;
  /* shown at most 160 px wide; the full-size picture is one click away */
  int dw = px_w > 160 ? 160 : px_w, dh = (int)lround((double)px_h * dw / px_w);
  fprintf(f, "<h3 id=\"%s\">", id);
  esc(f, title);
  fprintf(f, "</h3>\n<p class=\"note\">");
  esc(f, intro);
  fprintf(f, "</p>\n");
  if (cnt == 0) {
    fprintf(f, "<p class=\"note\"><i>No image to show.</i></p>\n");
    return ADX_OK;
  }
  fprintf(f, "<div class=\"scroll\"><table class=\"gallery\">\n<thead><tr><th rowspan=\"2\">image</th>");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "<th colspan=\"2\" class=\"modehead\" style=\"border-top:4px solid %s\">",
            adx_report_mode_colour(k));
    esc(f, m->modes[k]);
    fprintf(f, "</th>");
  }
  fprintf(f, "</tr>\n<tr>");
  for (int k = 0; k < m->nmodes; k++)
    fprintf(f, "<th class=\"sub\">responsibility</th><th class=\"sub\">explanation</th>");
  fprintf(f, "</tr></thead>\n<tbody>\n");
  for (int64_t g = 0; g < cnt; g++) {
    int64_t slot = it[g].slot;
    int have = 0;
    adx_status s = pictures(c, slot, &have, err);
    if (s) return s;
    fprintf(f, "<tr><td class=\"imgcell\">");
    if (have)
      fprintf(f,
              "<a href=\"img/r%lld_image.png\"><img src=\"img/r%lld_image.png\" width=\"%d\" height=\"%d\" "
              "alt=\"image %lld\"></a>",
              (long long)slot, (long long)slot, dw, dh, (long long)slot);
    else
      fprintf(f, "<div class=\"noimg\" style=\"width:%dpx;height:%dpx\">image unavailable</div>", dw, dh);
    char lab[80], prd[80];
    adx_report_class_name(&c->src, c->d.label[slot], lab, sizeof lab);
    adx_report_class_name(&c->src, c->d.pred[slot], prd, sizeof prd);
    fprintf(f, "<div class=\"cap\">row %lld · data #%lld<br>label ", (long long)slot,
            (long long)c->d.index[slot]);
    esc(f, c->d.label[slot] >= 0 ? lab : "?");
    fprintf(f, " · pred ");
    esc(f, prd);
    fprintf(f, " (%.2f)", c->d.conf[slot]);
    if (score_name && !isnan(it[g].score)) fprintf(f, "<br>%s %.3f", score_name, it[g].score);
    fprintf(f, "</div></td>");
    for (int k = 0; k < m->nmodes; k++) {
      double sz = adx_report_col(&c->d, k, ADX_REPORT_SIZE)[slot],
             rc = adx_report_col(&c->d, k, ADX_REPORT_ROB_COLOUR)[slot],
             rx = adx_report_col(&c->d, k, ADX_REPORT_ROB_CONTEXT)[slot];
      fprintf(f,
              "<td><a href=\"img/r%lld_m%d_heat.png\"><img src=\"img/r%lld_m%d_heat.png\" width=\"%d\" "
              "height=\"%d\" "
              "alt=\"responsibility, mode %d\"></a></td>",
              (long long)slot, k, (long long)slot, k, dw, dh, k);
      fprintf(f,
              "<td><a href=\"img/r%lld_m%d_expl.png\"><img src=\"img/r%lld_m%d_expl.png\" width=\"%d\" "
              "height=\"%d\" "
              "alt=\"explanation, mode %d\"></a><div class=\"cap\">size %.2f",
              (long long)slot, k, (long long)slot, k, dw, dh, k, sz);
      if (!m->no_metrics) fprintf(f, "<br>rob. %.2f / %.2f", rc, rx); /* none without the metrics */
      fprintf(f, "</div></td>");
    }
    fprintf(f, "</tr>\n");
  }
  fprintf(f, "</tbody>\n</table></div>\n");
  return ADX_OK;
}

static const char *css =
    "body{font-family:sans-serif;margin:24px auto;max-width:1500px;padding:0 "
    "20px;color:#222;line-height:1.35}\n"
    "h1{font-size:24px;margin-bottom:4px}h2{font-size:20px;margin-top:32px;border-bottom:1px solid #ccc;"
    "padding-bottom:4px}h3{font-size:16px;margin-top:24px}\n"
    "table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d0d0;padding:4px "
    "8px;vertical-align:top}\n"
    "table.verdict th{text-align:left;max-width:22em;vertical-align:top}table.verdict td{vertical-align:top}"
    "td.answer{font-weight:bold;text-transform:uppercase;white-space:nowrap}td.yes{background:#d8f0d8}"
    "td.no{background:#f6d6d6}td.unclear{background:#f6ecc8}td.absent{background:#eee;color:#666}\n"
    "table.facts th{text-align:left;background:#f4f4f4;white-space:nowrap}table.facts "
    "td{word-break:break-all}\n"
    /* numeric tables at 14 px with narrow padding: the headline's 11 columns fit a 1280-px window */
    "table.num{font-size:14px}table.num th,table.num td{padding:3px 6px}\n"
    "table.num td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "table.num thead th{background:#f4f4f4;white-space:nowrap}th.mode{text-align:left;white-space:nowrap}\n"
    "td.ref{color:#777;font-style:italic;text-align:center}\n"
    ".swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}\n"
    ".banner{background:#fff3cd;border:2px solid #e0a800;padding:10px 14px;font-size:17px;font-weight:bold;"
    "margin:12px 0}\n"
    ".note{color:#555;font-size:13px;max-width:1100px}\n"
    "pre.config{background:#f7f7f7;border:1px solid #ddd;padding:8px;white-space:pre-wrap;font-size:12px;"
    "max-width:1100px}\n"
    "figure{margin:18px 0}figcaption{font-size:13px;color:#444;max-width:1000px;margin-top:4px}\n"
    "svg{display:block;max-width:100%;height:auto}\n"
    ".scroll{overflow-x:auto}table.gallery td,table.gallery th{text-align:center;padding:3px}\n"
    "table.gallery img{image-rendering:pixelated;display:block;margin:0 auto}\n"
    "table.gallery th.sub{font-weight:normal;font-size:11px;color:#555}table.gallery "
    "th.modehead{font-size:13px}\n"
    ".cap{font-size:11px;color:#444;margin-top:2px;white-space:nowrap}\n"
    ".noimg{background:#eee;color:#777;font-size:11px;display:flex;align-items:center;justify-content:center;"
    "margin:0 auto}\n"
    ".colorbar{display:flex;align-items:center;gap:8px;font-size:12px;color:#444;margin:6px 0}\n"
    ".colorbar img{width:256px;height:14px;border:1px solid #999}\n"
    "nav a{margin-right:14px}\n";

static adx_status page(FILE *f, ctx *c, const adx_report_options *o, adx_error *err) {
  const adx_results_meta *m = c->m;
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>adx report: ");
  esc(f, c->path);
  fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>adx audit report</h1>\n<p class=\"note\">",
          css);
  esc(f, c->path);
  fprintf(f, " · model <code>");
  esc(f, m->model_path);
  fprintf(f, "</code> · %lld of %lld images</p>\n", (long long)c->d.ndone, (long long)c->d.n);
  if (!m->finished)
    fprintf(f,
            "<div class=\"banner\" id=\"unfinished\">unfinished: %lld of %lld images done. The run is still "
            "going "
            "or was stopped; every number and picture below covers the images done so far.</div>\n",
            (long long)c->d.ndone, (long long)c->d.n);
  char fit[160];
  if (adx_report_fit_warning(&c->st, fit, sizeof fit)) {
    fprintf(f, "<div class=\"banner\" id=\"fit\">");
    esc(f, fit);
    fprintf(f, " (--scale, --mean, --std or the model's metadata_props: docs/configuration.md)</div>\n");
  }
  fprintf(f, "<nav><a href=\"#verdict\">Verdict</a><a href=\"#headline-title\">Headline</a><a "
             "href=\"#plots\">Plots</a>"
             "<a href=\"#galleries\">Galleries</a><a href=\"#run\">Run</a></nav>\n");
  /* the answer first: the verdict, the headline table and the plots; the run facts and the config at the end
   */
  adx_verdict verdict;
  adx_status vs = adx_report_verdict(c->r, &c->st, &verdict, err);
  if (vs) return vs;
  adx_report_verdict_html(f, &verdict);
  headline(f, c);
  adx_report_gt_html(f, c->r); /* ground truth (ground_truth.c) */
  adx_report_judges J;         /* the judge matrix (judges.c) */
  adx_status js = adx_report_judges_compute(c->r, &J, err);
  if (js) return js;
  adx_report_html_judges(f, c->r, &J);
  adx_report_judges_free(&J);
  fprintf(f, "<h2 id=\"plots\">Plots</h2>\n");
  if (m->no_metrics) { /* every plot but the position bias shows metrics */
    fprintf(f, "<p class=\"note\" id=\"plots-absent\">Plots of the metrics: %s.</p>\n",
            ADX_REPORT_NOT_MEASURED);
  } else {
    adx_report_plot_robustness(f, &c->d, &c->st);
    adx_report_plot_rob_at_k(f, &c->d, &c->st);
    adx_report_plot_histograms(f, &c->d);
    adx_report_plot_per_class(f, &c->d, &c->st, &c->src);
  }
  adx_report_position_html(f, c->r); /* position bias table (position.c) */

  fprintf(
      f,
      "<h2 id=\"galleries\">Galleries</h2>\n<p class=\"note\">Per image: the image, then for every mode its "
      "responsibility map and its explanation (the explanation's pixels as they are, outlined in yellow; the "
      "rest dimmed). Click a picture for its full-size PNG. Captions: size = explanation pixels / all "
      "pixels%s.</p>\n",
      m->no_metrics ? "" : "; rob. = robustness colour / context");
  fprintf(
      f,
      "<div class=\"colorbar\"><span>low</span><img src=\"img/colorbar.png\" width=\"256\" height=\"14\" "
      "alt=\"viridis colour bar\"><span>high responsibility</span><span>(viridis; each map scaled from its "
      "own minimum to its maximum)</span></div>\n");
  if (!c->src.ds) {
    fprintf(f, "<p class=\"note\"><b>Original images unavailable:</b> ");
    esc(f, c->src.why);
    fprintf(f, "</p>\n");
  }
  int want = o->gallery;
  item *it = malloc((size_t)(want > 0 ? want : 1) * sizeof *it);
  if (!it) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  adx_status s;
  char intro[400];
  int64_t cnt = want > 0 ? pick_sample(c, o->have_seed ? o->seed : m->seed, want, it) : 0;
  snprintf(intro, sizeof intro,
           "%lld images drawn at random from the images done, with seed %llu, in row order.", (long long)cnt,
           (unsigned long long)(o->have_seed ? o->seed : m->seed));
  s = gallery(f, c, "sample", "A seeded sample", intro, it, cnt, NULL, err);
  if (!s) s = want > 0 ? pick_disagree(c, want, it, &cnt, err) : ADX_OK;
  if (!s) {
    if (c->st.ad_mode < 0)
      snprintf(intro, sizeof intro, "The run has no AD mode to compare.");
    else
      snprintf(
          intro, sizeof intro,
          "The images where the rankings of %s and of the fill modes differ most: disagreement = the mean "
          "over the fill modes of 1 - IoU of the top %d%% pixels of the two responsibility rankings (the "
          "pixels robustness@k pastes; 0 = the same pixels, 1 = no pixel in common). Equal pixel counts keep "
          "it fair when the explanations differ in size.",
          m->modes[c->st.ad_mode], ADX_REPORT_DISAGREE_PCT);
    s = gallery(f, c, "disagree", "Where AD and fill disagree most", intro, it, cnt, "disagreement", err);
  }
  if (!s) {
    int ref = 0;
    cnt = want > 0 && !m->no_metrics ? pick_worst(c, want, it, &ref) : 0;
    if (m->no_metrics)
      snprintf(intro, sizeof intro, "Robustness: %s.", ADX_REPORT_NOT_MEASURED);
    else
      snprintf(intro, sizeof intro,
               "The images with the lowest robustness of %s (the mean of its colour and context robustness; "
               "ties: the lower mean over every mode first).",
               m->modes[ref]);
    s = gallery(f, c, "worst", "Worst by robustness", intro, it, cnt, "robustness", err);
  }
  free(it);
  if (s) return s;
  run_facts(f, c);
  char now[40];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(
      f,
      "<p class=\"note\">Made by adx %s at %s from the per-image values of the results file (docs/report.md)."
      "</p>\n</body>\n</html>\n",
      ADX_VERSION, now);
  return ADX_OK;
}

adx_status adx_report_write(const char *path, const char *dir, const adx_report_options *opt,
                            adx_error *err) {
  adx_report_options def;
  if (!opt) adx_report_options_default(&def), opt = &def;
  if (opt->gallery < 0) return adx_fail(err, ADX_ERR_ARG, "gallery size %d is negative", opt->gallery);
  ctx c;
  memset(&c, 0, sizeof c);
  c.path = path, c.dir = dir;
  adx_status s = adx_results_open_read(path, &c.r, err);
  if (s) return s;
  c.m = adx_results_get_meta(c.r);
  size_t hw = (size_t)c.m->h * c.m->w;
  c.s = adx_report_scale(c.m->h, c.m->w);
  c.file_len = strlen(dir) + 128;
  c.file = malloc(c.file_len);
  c.rgb = malloc(hw * 3);
  c.pix = malloc(hw * 3 * (size_t)c.s * (size_t)c.s);
  c.written = calloc((size_t)c.m->n, 1);
  FILE *f = NULL;
  if (!c.file || !c.rgb || !c.pix || !c.written) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  if (!s) s = adx_report_data_load(c.r, &c.d, err);
  if (!s) s = adx_report_stats_of(&c.d, &c.st, err);
  if (!s) s = adx_report_mkdirs(dir, err);
  if (!s) {
    snprintf(c.file, c.file_len, "%s/img", dir);
    s = adx_report_mkdirs(c.file, err);
  }
  if (!s) {
    adx_report_source_open(&c.src, c.m, path);
    s = colour_bar(&c, err);
  }
  char *html = NULL;
  if (!s) {
    size_t len = strlen(dir) + 32;
    html = malloc(len);
    if (!html)
      s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    else {
      snprintf(html, len, "%s/index.html.tmp", dir);
      f = fopen(html, "w");
      if (!f) s = adx_fail(err, ADX_ERR_IO, "%s: cannot write: %s", html, strerror(errno));
    }
  }
  if (!s) s = page(f, &c, opt, err);
  if (f) {
    if ((ferror(f) | fclose(f)) && !s) s = adx_fail(err, ADX_ERR_IO, "%s: write failed", html);
    if (!s) { /* index.html appears complete or not at all */
      char *final = strdup(html);
      if (!final)
        s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
      else {
        final[strlen(final) - 4] = 0;
        if (rename(html, final) != 0)
          s = adx_fail(err, ADX_ERR_IO, "%s: cannot rename: %s", final, strerror(errno));
        free(final);
      }
    }
    if (s) remove(html);
  }
  free(html);
  adx_report_source_close(&c.src);
  adx_report_stats_free(&c.st);
  adx_report_data_free(&c.d);
  free(c.file), free(c.rgb), free(c.pix), free(c.written);
  adx_results_close(c.r);
  return s;
}
