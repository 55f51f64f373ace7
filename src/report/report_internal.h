/* Shared inside src/report: the per-image columns of a results file, the original images, SVG helpers. */
#ifndef ADX_REPORT_INTERNAL_H
#define ADX_REPORT_INTERNAL_H

#include <stdio.h>

#include "adx/dataset.h"
#include "adx/report.h"

/* The "disagree most" gallery compares the top this-many percent of the AD and fill rankings. */
#define ADX_REPORT_DISAGREE_PCT 10

/* Everything per image a report needs except the maps: loaded once. */
typedef struct rp_data {
  const adx_results_meta *m;
  int64_t n, ndone;
  uint8_t *done;         /* [n] */
  int64_t *index;        /* [n] dataset positions */
  int32_t *label, *pred; /* [n] */
  double *conf;          /* [n] */
  double *col;           /* [nmodes][ADX_REPORT_NSTAT][n] */
} rp_data;

adx_status rp_data_load(adx_results *r, rp_data *d, adx_error *err);
void rp_data_free(rp_data *d);
static inline const double *rp_col(const rp_data *d, int mode, int stat) {
  return d->col + ((size_t)mode * ADX_REPORT_NSTAT + (size_t)stat) * (size_t)d->n;
}
/* The statistics of adx_report_stats from loaded columns. */
adx_status rp_stats(const rp_data *d, adx_report_stats *st, adx_error *err);
/* 1 for "ad" and "ad:..." */
int rp_is_ad(const char *mode);
/* Class of image i: its label, or its prediction where the label is unknown; -1 if neither is in range. */
int rp_class(const rp_data *d, int64_t i);

/* The original images of a run, re-read from its data for display. */
typedef struct rp_source {
  adx_dataset *ds; /* NULL when unavailable */
  char why[1100];  /* why not, when ds is NULL */
  int h, w;
  float *raw; /* 3*h*w scratch */
} rp_source;
/* Never fails: a dataset that cannot be opened leaves ds NULL with the reason in why. */
void rp_source_open(rp_source *s, const adx_results_meta *m, const char *results_path);
/* 8-bit interleaved RGB (h*w*3) of dataset item index; -1 (with the reason in why) when unavailable. */
int rp_source_rgb(rp_source *s, int64_t index, uint8_t *rgb);
void rp_source_close(rp_source *s);

/* Text output */
void rp_html_escape(FILE *f, const char *s);
/* A class label for dataset class k: the class folder name, or the number. */
const char *rp_class_name(const rp_source *s, int k, char *buf, size_t len);

/* Categorical colour of mode i (Okabe-Ito palette). */
const char *rp_mode_colour(int i);

/* Inline SVG plots of the report (svg.c). Each writes one <figure> with an <svg> and a caption. */
void rp_plot_robustness(FILE *f, const rp_data *d, const adx_report_stats *st);
void rp_plot_rob_at_k(FILE *f, const rp_data *d, const adx_report_stats *st);
void rp_plot_histograms(FILE *f, const rp_data *d);
void rp_plot_per_class(FILE *f, const rp_data *d, const adx_report_stats *st, const rp_source *src);

#endif
