/* adx summary: the headline table of a results file, in the terminal. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "adx/results.h"
#include "args.h"
#include "cli.h"

static const char *const columns[] = {
    "size",         "confidence", "drop_off", "robustness_colour", "robustness_context", "insertion_auc",
    "deletion_auc", "queries",    "seconds"};
static const char *const headers[] = {"size",    "confidence", "drop-off", "rob.colour", "rob.context",
                                      "ins.AUC", "del.AUC",    "queries",  "s/image"};

static void cell(FILE *f, const adx_summary *s, int integer) {
  char buf[40];
  if (s->n == 0 || isnan(s->mean))
    snprintf(buf, sizeof buf, "-");
  else if (integer)
    snprintf(buf, sizeof buf, "%.0f ±%.0f", s->mean, isnan(s->ci95_high) ? 0 : s->ci95_high - s->mean);
  else
    snprintf(buf, sizeof buf, "%.3f ±%.3f", s->mean, isnan(s->ci95_high) ? 0 : s->ci95_high - s->mean);
  fprintf(f, " %14s", buf);
}

adx_status adx_cli_print_summary(FILE *f, const char *path, adx_error *err) {
  adx_results *r;
  adx_status s = adx_results_open_read(path, &r, err);
  if (s) return s;
  const adx_results_meta *m = adx_results_get_meta(r);
  uint8_t *done = malloc((size_t)(m->n > 0 ? m->n : 1));
  int64_t ndone = 0;
  if (!done) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  if (!s) s = adx_results_read_done(r, done, err);
  for (int64_t i = 0; i < m->n && !s; i++) ndone += done[i] != 0;
  free(done);
  if (s) {
    adx_results_close(r);
    return s;
  }
  fprintf(f, "\n%s: model %s, data %s, explainer %s, %lld/%lld images done%s\n", path, m->model_path,
          m->data_path, m->explainer, (long long)ndone, (long long)m->n,
          m->finished ? "" : " -- UNFINISHED run: figures cover the images done so far");
  fprintf(f, "mean ±95%% CI half-width over images\n%-22s", "mode");
  for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) fprintf(f, " %14s", headers[c]);
  fprintf(f, "\n");
  for (int k = 0; k < m->nmodes; k++) {
    fprintf(f, "%-22s", m->modes[k]);
    for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) {
      adx_summary sm = {0};
      if (adx_results_read_summary(r, k, columns[c], &sm, NULL, err)) sm.n = 0;
      cell(f, &sm, !strcmp(columns[c], "queries"));
    }
    fprintf(f, "\n");
  }
  if (m->ad_mode >= 0) {
    fprintf(f, "\nrelative robustness improvement of %s over each fill mode, (ad - fill) / fill [95%% CI]\n",
            m->modes[m->ad_mode]);
    for (int k = 0; k < m->nmodes; k++) {
      if (strncmp(m->modes[k], "fill:", 5)) continue;
      fprintf(f, "  vs %-16s", m->modes[k]);
      for (int c = 0; c < 2; c++) {
        adx_ad_vs v;
        const char *metric = c ? "robustness_context" : "robustness_colour";
        if (adx_results_read_ad_vs(r, k, metric, &v, err) || isnan(v.improvement))
          fprintf(f, "  %s: -", c ? "context" : "colour");
        else if (isnan(v.ci95_low) || isnan(v.ci95_high))
          fprintf(f, "  %s: %+.1f%% [CI n/a]", c ? "context" : "colour", 100 * v.improvement);
        else
          fprintf(f, "  %s: %+.1f%% [%+.1f%%, %+.1f%%]", c ? "context" : "colour", 100 * v.improvement,
                  100 * v.ci95_low, 100 * v.ci95_high);
      }
      fprintf(f, "\n");
    }
  }
  adx_error_clear(err);
  adx_results_close(r);
  return ADX_OK;
}

int adx_cmd_summary(int argc, char **argv) {
  static const adx_opt opts[] = {{"help", 'h', 0, NULL, "show this help"}, {NULL, 0, 0, NULL, NULL}};
  adx_error err = {0};
  adx_args a;
  if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("summary", &err);
  int rc = 0;
  if (adx_args_last(&a, 0)) {
    adx_args_usage(stdout, "summary", "RESULTS.h5", opts);
  } else if (a.npos != 1) {
    adx_fail(&err, ADX_ERR_ARG, "expected one RESULTS.h5 (see --help)");
    rc = adx_cli_report("summary", &err);
  } else if (adx_cli_print_summary(stdout, a.pos[0], &err)) {
    rc = adx_cli_report("summary", &err);
  }
  adx_args_free(&a);
  return rc;
}
