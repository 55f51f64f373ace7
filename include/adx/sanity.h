/* adx sanity: the cascading model randomisation test of Adebayo et al. (NeurIPS 2018, "Sanity Checks for
 * Saliency Maps") on a finished audit (docs/metrics.md "Sanity checks"). The top layers of the model are
 * re-initialised, one more per level (adx_model_randomize), every mode of the run explains the first images
 * again for the class explained before, and the Spearman rank correlation between each new map and the
 * original one goes into the results file's /sanity group (adx_results_write_sanity). An explanation that
 * depends on the model should decorrelate as more layers lose their training. */
#ifndef ADX_SANITY_H
#define ADX_SANITY_H

#include <stdio.h>

#include "adx/audit.h"

#define ADX_SANITY_IMAGES_DEFAULT 16

typedef struct adx_sanity_options {
  const char *path; /* the finished results file (written by adx explain) */
  int64_t images;   /* the first N images done (default ADX_SANITY_IMAGES_DEFAULT; fewer if fewer are done) */
  int levels;       /* levels 1..L; 0 = every parameterised layer of the model */
  int have_seed;    /* 0: the randomisation seed is the run's seed */
  uint64_t seed;
  int threads; /* OpenMP threads (0: adx_threads_get) */
  /* The run's settings (adx explain's, e.g. from adx_cli_explain_replay of its config attribute): pp, x and
   * batch are used; model, data, modes, variants and the run seed come from the file. */
  adx_audit_options run;
  adx_model_limits model_limits;
  FILE *log; /* one line per level (NULL: none) */
} adx_sanity_options;
void adx_sanity_options_default(adx_sanity_options *o);

typedef struct adx_sanity_result {
  int nmodes, levels;
  int64_t n;
  char **modes;       /* [nmodes] */
  char **level_names; /* [levels], top first */
  double *spearman;   /* [nmodes][n][levels] */
  int reproduced;     /* the unrandomised model gave the file's first maps back bit for bit */
} adx_sanity_result;

/* Run the test and write /sanity into o->path. ADX_ERR_ARG (exit 2, nothing written) for a file that is
 * missing, not finished or held by a running adx job, a model file that is missing or whose SHA-256 differs
 * from the recorded one, a data set that cannot be opened, or more levels than the model has layers. */
adx_status adx_sanity_run(const adx_sanity_options *o, adx_sanity_result *res, adx_error *err);
void adx_sanity_result_free(adx_sanity_result *res);

#endif
