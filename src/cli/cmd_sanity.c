/* adx sanity RESULTS.h5: the cascading model randomisation test (adx/sanity.h) on a finished audit, then a
 * table of the mean Spearman correlation per mode and level. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "adx/results.h"
#include "adx/sanity.h"
#include "args.h"
#include "cli.h"

enum { O_IMAGES, O_SEED, O_LEVELS, O_THREADS, O_HELP };

static const adx_opt opts[] = {
    {"images", 0, 1, "N", "the first N images done (default 16)"},
    {"seed", 0, 1, "S", "randomisation seed (default: the run's seed)"},
    {"levels", 0, 1, "L", "re-initialise the top 1..L layers (default: every Conv, Gemm and MatMul)"},
    {"threads", 't', 1, "T", "OpenMP threads (default OMP_NUM_THREADS, else all cores)"},
    {"help", 'h', 0, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL}};

/* The run's settings from its recorded configuration. */
static adx_status replay(const char *path, adx_sanity_options *o, adx_error *err) {
  adx_results *r = NULL;
  adx_status s = adx_results_open_read(path, &r, err);
  if (!s) s = adx_cli_explain_replay(adx_results_get_meta(r)->config_text, &o->run, err);
  if (s && r) adx_error_prefix(err, "%s: ", path);
  adx_results_close(r);
  return s;
}

static void print_table(FILE *f, const adx_sanity_result *res) {
  int mw = 12, lw = 8;
  for (int k = 0; k < res->nmodes; k++)
    if ((int)strlen(res->modes[k]) + 1 > mw) mw = (int)strlen(res->modes[k]) + 1;
  for (int j = 0; j < res->levels; j++)
    if ((int)strlen(res->level_names[j]) + 1 > lw) lw = (int)strlen(res->level_names[j]) + 1;
  fprintf(f,
          "\ncascading model randomisation: Spearman rank correlation of each mode's map with its original,\n"
          "mean [95%% CI] over %lld images (t interval, clipped to [-1, 1], a correlation's range); level L\n"
          "re-initialises the top L layers\n",
          (long long)res->n);
  fprintf(f, "%-*s %5s %-*s %5s %5s %24s\n", mw, "mode", "level", lw, "layer", "n", "flat", "spearman");
  double *v = malloc((size_t)(res->n > 0 ? res->n : 1) * sizeof *v);
  for (int k = 0; k < res->nmodes && v; k++)
    for (int j = 0; j < res->levels; j++) {
      for (int64_t i = 0; i < res->n; i++)
        v[i] = res->spearman[((size_t)k * (size_t)res->n + (size_t)i) * (size_t)res->levels + (size_t)j];
      adx_summary s;
      adx_summarize(v, res->n, &s);
      char cell[64];
      if (s.n == 0)
        snprintf(cell, sizeof cell, "-");
      else if (isnan(s.ci95_high))
        snprintf(cell, sizeof cell, "%.3f (n=1)", s.mean);
      else
        snprintf(cell, sizeof cell, "%.3f [%.3f, %.3f]", s.mean, fmax(s.ci95_low, -1.0),
                 fmin(s.ci95_high, 1.0));
      fprintf(f, "%-*s %5d %-*s %5lld %5lld %24s\n", mw, j ? "" : res->modes[k], j + 1, lw,
              res->level_names[j], (long long)s.n, (long long)(res->n - s.n), cell);
    }
  free(v);
  fprintf(f, "flat: images where the original or the randomised map is constant (no ranking: Spearman "
             "undefined, NaN)\n");
  if (!res->reproduced)
    fprintf(f, "warning: the trained model did not give the file's maps back bit for bit; the correlations "
               "also measure that difference\n");
}

int adx_cmd_sanity(int argc, char **argv) {
  adx_error err = {0};
  adx_args a;
  if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("sanity", &err);
  if (adx_args_help(&a, O_HELP, "sanity", "RESULTS.h5 [--images N] [--seed S] [--levels L]", opts,
                    "Re-initialises the model's layers from the top down (Adebayo et al. 2018), explains the "
                    "first images\nagain in every mode of the run, and writes the Spearman correlations with "
                    "the original maps to\n/sanity in RESULTS.h5 (docs/metrics.md).\n"))
    return 0;
  adx_sanity_options o;
  adx_sanity_options_default(&o);
  o.log = stderr;
  adx_status s = ADX_OK;
  for (int i = 0; i < a.n && !s; i++) {
    const char *v = a.items[i].value;
    long l;
    switch (a.items[i].opt) {
    case O_IMAGES:
      if (!(s = adx_arg_int("images", v, 1, 1000000, &l, &err))) o.images = l;
      break;
    case O_SEED:
      if (!(s = adx_arg_int("seed", v, 0, LONG_MAX, &l, &err))) o.seed = (uint64_t)l, o.have_seed = 1;
      break;
    case O_LEVELS:
      if (!(s = adx_arg_int("levels", v, 1, 100000, &l, &err))) o.levels = (int)l;
      break;
    case O_THREADS:
      if (!(s = adx_arg_int("threads", v, 0, 4096, &l, &err))) o.threads = (int)l;
      break;
    default: break;
    }
  }
  if (!s && a.npos != 1) s = adx_fail(&err, ADX_ERR_ARG, "expected one RESULTS.h5 (see --help)");
  if (!s) o.path = a.pos[0];
  if (!s && o.threads > 0) adx_threads_set(o.threads);
  if (!s) s = replay(o.path, &o, &err);
  adx_sanity_result res;
  if (!s) s = adx_sanity_run(&o, &res, &err);
  int rc = 0;
  if (s) {
    rc = adx_cli_report("sanity", &err);
  } else {
    print_table(stdout, &res);
    printf("written to %s: /sanity (docs/output-format.md)\n", o.path);
    adx_sanity_result_free(&res);
  }
  adx_args_free(&a);
  return rc;
}
