/* adx report: what people read after an audit. The statistics of a results file over the images done so
 * far (shared by `adx summary` and `adx report`), the HTML report (a static page with inline SVG plots and
 * PNG pictures), one image's panel (`adx show`) and the colour map of the heatmaps. What the page shows
 * and how its galleries are chosen: docs/report.md. */
#ifndef ADX_REPORT_H
#define ADX_REPORT_H

#include <stdio.h>

#include "adx/core.h"
#include "adx/results.h"

/* ------------------------------------------------------------------ colour map */

/* matplotlib's viridis, 256 8-bit sRGB colours (src/report/colormap.c, made by scripts/make_colormap.py). */
extern const uint8_t adx_viridis_table[256][3];
/* Colour of t in [0, 1] (clamped; NaN -> 0): entry round(255 t) of the table. */
void adx_viridis(double t, uint8_t rgb[3]);

/* ------------------------------------------------------------------ statistics over the images done */

/* Per-mode statistics, in this order: the 7 headline columns, then the cost, then robustness@k. */
enum {
  ADX_REPORT_ROB_COLOUR,
  ADX_REPORT_ROB_CONTEXT,
  ADX_REPORT_SIZE,
  ADX_REPORT_CONFIDENCE,
  ADX_REPORT_DROP_OFF,
  ADX_REPORT_INS_AUC,
  ADX_REPORT_DEL_AUC,
  ADX_REPORT_NHEAD, /* = 7 headline columns */
  ADX_REPORT_QUERIES = ADX_REPORT_NHEAD,
  ADX_REPORT_SECONDS,
  ADX_REPORT_ROB_K0, /* .. ADX_REPORT_ROB_K0 + ADX_ROB_K - 1 */
  ADX_REPORT_NSTAT = ADX_REPORT_ROB_K0 + ADX_ROB_K
};
/* Metric name in the results file of statistic i < ADX_REPORT_ROB_K0 ("robustness_colour", ...). */
extern const char *const adx_report_stat_metric[ADX_REPORT_ROB_K0];
/* Column heading of statistic i < ADX_REPORT_ROB_K0 ("rob. colour", ...), shared by terminal and HTML. */
extern const char *const adx_report_stat_label[ADX_REPORT_ROB_K0];

typedef struct adx_report_stats {
  int nmodes, ad_mode; /* ad_mode: as adx_results_meta (-1 if the run has no AD mode) */
  int64_t n, ndone;
  int finished;
  adx_summary (*stat)[ADX_REPORT_NSTAT]; /* [nmodes]: adx_summarize of the done images' values */
  /* [nmodes][2]: AD over the mode on robustness colour [0] and context [1], adx_rel_improvement
   * over the images done (pairs with a NaN skipped); n = 0 and NaN for the AD modes ("ad", "ad:...") */
  adx_ad_vs (*ad_vs)[2];
  int *is_fill; /* [nmodes]: 1 unless the mode is "ad" or "ad:..." */
  /* AD against the best fill chosen on held-out images, per robustness (colour [0], context [1]): the
   * images done, in slot order, are split in two; the first half picks the fill mode with the highest mean
   * (heldout_fill, -1 without a fill mode or images), the second half tests AD against it (heldout). */
  int heldout_fill[2];
  adx_ad_vs heldout[2];
  int64_t heldout_pick_n, heldout_test_n; /* images in each half */
  int ncomparisons; /* the comparisons of the AD-vs table (fill modes x 2, plus the held-out rows) that
                       have a p-value: Holm's family (p_holm of each ad_vs and heldout entry) */
  /* images done with a label in range, and those of them whose plain-mode prediction is the label */
  int64_t nlabelled, ncorrect;
} adx_report_stats;

/* A bad fit of model and preprocessing: at least ADX_REPORT_FIT_MIN labelled images done, most of them
 * misclassified in plain mode. Then 1, with "plain accuracy 12% on these images: is the preprocessing
 * right?" in buf; else 0. */
#define ADX_REPORT_FIT_MIN 5
int adx_report_fit_warning(const adx_report_stats *st, char *buf, size_t len);

/* Every statistic from the per-image datasets and /images/done (never from /summary, which a killed run
 * lacks), so the numbers hold for finished, running and killed runs alike. */
adx_status adx_report_stats_compute(adx_results *r, adx_report_stats *st, adx_error *err);
void adx_report_stats_free(adx_report_stats *st);

/* Shared cell formats: "0.116 ±0.063" (mean ± 95% CI half-width, 3 decimals; "0.116 (n=1)" without a CI;
 * "-" for no value) and "+25.0% ±102.7" (relative improvement in percent, 1 decimal). */
const char *adx_report_fmt_mean(const adx_summary *s, char *buf, size_t len);
/* The same with another number of decimals (the cost table: queries with 1). */
const char *adx_report_fmt_mean_d(const adx_summary *s, int decimals, char *buf, size_t len);
const char *adx_report_fmt_improvement(const adx_ad_vs *v, char *buf, size_t len);
/* "+0.082 ±0.030" (absolute difference mean_ad - mean_fill, 3 decimals, ± half-width of its 95% interval) */
const char *adx_report_fmt_diff(const adx_ad_vs *v, char *buf, size_t len);
/* "0.0123", "<0.0001" or "-" for NaN */
const char *adx_report_fmt_p(double p, char *buf, size_t len);
/* The rows of the AD-vs-fill comparison table, in order: each fill mode on robustness colour then context,
 * then the held-out best fill on colour and context. Call with row 0, then with the value returned, while it
 * is non-zero: each call gives the row's fill mode, metric (0 colour, 1 context), whether it is a held-out
 * row, and its comparison. 0 when there is no further row (or no AD mode). */
int adx_report_comparison(const adx_report_stats *st, int row, int *mode, int *metric, int *heldout,
                          const adx_ad_vs **v);

/* The headline table of `adx summary`: the run line, one row per mode with the 7 headline columns and
 * AD's improvement on each robustness, then the cost (queries, seconds per image). Unfinished runs say
 * so ("unfinished: X of N images done"). The adx_report_fit_warning, if any, goes to warn (may be NULL). */
adx_status adx_report_print_summary(FILE *f, FILE *warn, const char *path, adx_error *err);

/* ------------------------------------------------------------------ the judge matrix */

/* Cross-judging over the images done (docs/metrics.md, "Judges"; src/report/judges.c). */
typedef struct adx_report_judges {
  int present;         /* 0: the file has no judge matrix (--judges none, or older); nothing else is set */
  int nmodes, ad_mode; /* ad_mode: the reference AD mode of the margins, -1 if none */
  int64_t ndone;
  /* [nmodes]: adx_judge_summarize_done, per k and (index ADX_ROB_K) over the per-image mean across k */
  adx_summary (*cell)[ADX_ROB_K + 1][ADX_NJUDGES][2];
  /* [nmodes]: AD (ad_mode) minus the mode under each judge, paired (adx_judge_margin_done); n = 0 and NaN
   * for AD modes */
  adx_summary (*margin)[ADX_NJUDGES][2];
  /* [nmodes][measure]: AD minus the mode of the per-image mean over the judges that are neither side's own
   * operator (adx_judge_own) and over k, paired */
  adx_summary (*other)[2];
  /* [nmodes][judge or ADX_NJUDGES for "not own"][measure]: the paired t-test p of margin / other
   * (adx_summary_pvalue) and p after Holm's correction over the comparisons of its table; NaN for AD modes
   * and where there is no p. Two tables, two families (docs/report.md): the "not own" margins (index
   * ADX_NJUDGES) of every non-AD mode on both measures, the family of the verdict's question 2; and the
   * margins under each judge (index < ADX_NJUDGES, own operators included) of every non-AD mode on both
   * measures. ncomp: the p-values in each family (not own [0], each judge [1]). */
  double (*p)[ADX_NJUDGES + 1][2];
  double (*p_holm)[ADX_NJUDGES + 1][2];
  int ncomp[2];
} adx_report_judges;
adx_status adx_report_judges_compute(adx_results *r, adx_report_judges *J, adx_error *err);
void adx_report_judges_free(adx_report_judges *J);
/* The caption's own-operator rule (shared by terminal and HTML). */
extern const char *const adx_report_judges_caption;
/* adx summary's matrix (mean over k, then per k when there are at most 6 modes), then AD's margins: the
 * "not own" table and the table under each judge, with their 95% CIs, p and p (Holm). */
void adx_report_print_judges(FILE *f, const adx_results *r, const adx_report_judges *J);
/* The report's matrix (table id "judges") and AD's margins (tables id "judge-margins", the "not own"
 * margins, and "judge-margins-each", under each judge). */
void adx_report_html_judges(FILE *f, const adx_results *r, const adx_report_judges *J);

/* ------------------------------------------------------------------ the HTML report */

typedef struct adx_report_options {
  int gallery;   /* images per gallery (default 8) */
  int have_seed; /* 0: the sample gallery is drawn with the run's seed */
  uint64_t seed;
} adx_report_options;
void adx_report_options_default(adx_report_options *o);

/* Write DIR/index.html and its pictures (DIR/img/...) for the results file PATH. DIR is created if
 * missing (with its parents). The original images are re-read from the run's data (data_path and the
 * geometry settings of the config attribute); if that fails, the page says why and shows the maps
 * alone. Errors: PATH missing, not HDF5 or not an adx results file -> ADX_ERR_IO / ADX_ERR_FORMAT naming
 * it; DIR not creatable or not writable -> ADX_ERR_IO naming it. */
adx_status adx_report_write(const char *path, const char *dir, const adx_report_options *o, adx_error *err);

/* One image's panel as a PNG: a row per mode (all modes, or only `mode` if not NULL) of image |
 * responsibility heatmap | explanation overlay, and a colour bar. image: row of the results file
 * (0..N-1; must be done). ADX_ERR_ARG names a bad image or an unknown mode. legend (may be NULL) gets
 * a one-line description of the rows and columns. */
adx_status adx_report_show(const char *path, int64_t image, const char *mode, const char *png, char *legend,
                           size_t legend_len, adx_error *err);

/* ------------------------------------------------------------------ pictures (used by both, and tests) */

/* mkdir -p: every missing component of dir is created (mode 0777 & ~umask). ADX_ERR_IO naming dir. */
adx_status adx_report_mkdirs(const char *dir, adx_error *err);

/* Display scale of an H x W picture: the nearest-neighbour upscale factor that brings the longer side to
 * at least 112 pixels (1 for images already that large). */
int adx_report_scale(int h, int w);

/* RGB (interleaved, (h*s) x (w*s) x 3) renderings of one map of h x w pixels upscaled s times, nearest
 * neighbour:
 *  heatmap:  viridis of (v - min) / (max - min) over the map (NaN -> min; a constant map -> viridis(0));
 *  overlay:  the image (rgb h x w x 3, or NULL: mid grey) where expl is nonzero, dimmed towards dark blue
 *            elsewhere, with the outline of the explanation in yellow (inside pixels next to outside);
 *  image:    the image itself. */
void adx_report_render_heatmap(const float *map, int h, int w, int s, uint8_t *out);
void adx_report_render_overlay(const uint8_t *rgb, const uint8_t *expl, int h, int w, int s, uint8_t *out);
void adx_report_render_image(const uint8_t *rgb, int h, int w, int s, uint8_t *out);

#endif
