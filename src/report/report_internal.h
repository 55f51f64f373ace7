/* Shared inside src/report: the per-image columns of a results file, the original images, SVG helpers. */
#ifndef ADX_REPORT_INTERNAL_H
#define ADX_REPORT_INTERNAL_H

#include <stdio.h>

#include "adx/dataset.h"
#include "adx/report.h"

/* What the report says where a run made with adx explain --no-metrics has no metric to show. */
#define ADX_REPORT_NOT_MEASURED "not measured (--no-metrics)"
#define ADX_REPORT_NOT_MEASURED_TEXT                                                                         \
  "Not measured (--no-metrics): the run computed the explanations only, without metrics, judges or "         \
  "ground truth."

/* The "disagree most" gallery compares the top this-many percent of the AD and fill rankings. */
#define ADX_REPORT_DISAGREE_PCT 10

/* Everything per image a report needs except the maps: loaded once. */
typedef struct adx_report_data {
  const adx_results_meta *m;
  int64_t n, ndone;
  uint8_t *done;         /* [n] */
  int64_t *index;        /* [n] dataset positions */
  int32_t *label, *pred; /* [n] */
  double *conf;          /* [n] */
  double *col;           /* [nmodes][ADX_REPORT_NSTAT][n] */
} adx_report_data;

adx_status adx_report_data_load(adx_results *r, adx_report_data *d, adx_error *err);
void adx_report_data_free(adx_report_data *d);
static inline const double *adx_report_col(const adx_report_data *d, int mode, int stat) {
  return d->col + ((size_t)mode * ADX_REPORT_NSTAT + (size_t)stat) * (size_t)d->n;
}
/* The statistics of adx_report_stats from loaded columns. */
adx_status adx_report_stats_of(const adx_report_data *d, adx_report_stats *st, adx_error *err);
/* 1 for "ad" and "ad:..." */
int adx_report_is_ad(const char *mode);

/* The original images of a run, re-read from its data for display. */
typedef struct adx_report_source {
  adx_dataset *ds; /* NULL when unavailable */
  char why[1100];  /* why not, when ds is NULL */
  int h, w;
  float *raw; /* 3*h*w scratch */
} adx_report_source;
/* Never fails: a dataset that cannot be opened leaves ds NULL with the reason in why. */
void adx_report_source_open(adx_report_source *s, const adx_results_meta *m, const char *results_path);
/* 8-bit interleaved RGB (h*w*3) of dataset item index; -1 (with the reason in why) when unavailable. */
int adx_report_source_rgb(adx_report_source *s, int64_t index, uint8_t *rgb);
void adx_report_source_close(adx_report_source *s);

/* Text output */
void adx_report_html_escape(FILE *f, const char *s);
/* A class label for dataset class k: the class folder name, or the number. */
const char *adx_report_class_name(const adx_report_source *s, int k, char *buf, size_t len);

/* Categorical colour of mode i (Okabe-Ito palette). */
const char *adx_report_mode_colour(int i);

/* Inline SVG plots of the report (svg.c). Each writes one <figure> with an <svg> and a caption. */
void adx_report_plot_robustness(FILE *f, const adx_report_data *d, const adx_report_stats *st);
void adx_report_plot_rob_at_k(FILE *f, const adx_report_data *d, const adx_report_stats *st);
void adx_report_plot_histograms(FILE *f, const adx_report_data *d);
void adx_report_plot_per_class(FILE *f, const adx_report_data *d, const adx_report_stats *st,
                               const adx_report_source *src);

/* The ground-truth table (ground_truth.c): statistics over the images done of every mode and, in row
 * nmodes, of the centre control; present 0 when the run has no object masks. */
typedef struct adx_report_gt {
  int present, nmodes;
  float k[ADX_ROB_K];
  adx_summary (*stat)[ADX_RESULTS_NGT]; /* [nmodes + 1] */
} adx_report_gt;
adx_status adx_report_gt_compute(adx_results *r, adx_report_gt *g, adx_error *err);
void adx_report_gt_free(adx_report_gt *g);
/* The terminal table of adx summary, or "ground truth: absent (the dataset has no object masks)". */
void adx_report_gt_print(FILE *f, const adx_report_gt *g, const adx_results_meta *m);
/* The report's section: the table, or a line saying the masks are absent. */
void adx_report_gt_html(FILE *f, adx_results *r);

/* Position bias (position.c): per mode, adx_summarize over the images done of the centroid row [0], column
 * [1] and border share [2] of the top ADX_POSITION_TOP_PCT% of each ranking (adx_position_of); gt: the
 * object masks' centroid row and column when the file has /images/object_mask (have_mask). */
typedef struct adx_report_position {
  int nmodes, h, w, have_mask;
  adx_summary (*stat)[3]; /* [nmodes] */
  adx_summary gt[2];
  double band_area; /* the border band's share of the image area */
} adx_report_position;
adx_status adx_report_position_compute(adx_results *r, adx_report_position *p, adx_error *err);
void adx_report_position_free(adx_report_position *p);
/* The text table of adx summary. */
void adx_report_position_print(FILE *f, const adx_results_meta *m, const adx_report_position *p);
/* The report's section (computes; a failure becomes a note on the page). */
void adx_report_position_html(FILE *f, adx_results *r);

/* ------------------------------------------------------------------ the verdict panel (verdict.c) */

#define ADX_VERDICT_NQ 3
#define ADX_VERDICT_SANITY_RHO 0.5 /* the sanity test passes when the whole 95% interval lies below this */
typedef enum adx_verdict_answer {
  ADX_VERDICT_ABSENT = 0, /* the run has not the data for this question */
  ADX_VERDICT_YES,
  ADX_VERDICT_NO,
  ADX_VERDICT_UNCLEAR
} adx_verdict_answer;
typedef struct adx_verdict_item {
  adx_verdict_answer answer;
  char text[1536]; /* the numbers behind the answer, or what is missing */
} adx_verdict_item;
typedef struct adx_verdict {
  int ad_mode;
  adx_verdict_item q[ADX_VERDICT_NQ]; /* ground truth, judges, sanity */
} adx_verdict;
extern const char *const adx_verdict_questions[ADX_VERDICT_NQ];
/* "not measured", "yes", "no", "unclear" */
const char *adx_verdict_word(adx_verdict_answer a);
/* The three answers for a results file (st: adx_report_stats_compute of it). */
adx_status adx_report_verdict(adx_results *r, const adx_report_stats *st, adx_verdict *v, adx_error *err);
/* adx summary's lines, and the report's panel (section id "verdict"). */
void adx_report_verdict_print(FILE *f, const adx_verdict *v);
void adx_report_verdict_html(FILE *f, const adx_verdict *v);

#endif
