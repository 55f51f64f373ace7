/* adx merge OUT.h5 IN1.h5 IN2.h5 ...: combine the results files of a job array (adx/results.h). */
#include <stdio.h>

#include "adx/results.h"
#include "args.h"
#include "cli.h"

int adx_cmd_merge(int argc, char **argv) {
  enum { O_FORCE, O_HELP };
  static const adx_opt opts[] = {{"force", 0, 0, NULL, "overwrite an existing OUT.h5"},
                                 {"help", 'h', 0, NULL, "show this help"},
                                 {NULL, 0, 0, NULL, NULL}};
  adx_error err = {0};
  adx_args a;
  if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("merge", &err);
  if (adx_args_help(
          &a, O_HELP, "merge", "OUT.h5 IN1.h5 IN2.h5 ...", opts,
          "Combines finished results files of one audit split with --offset/--limit (e.g. a Slurm job\n"
          "array, jobs/audit-array.sbatch) into OUT.h5, as if one run had done every image. Refuses\n"
          "unfinished inputs, inputs from different models or settings, overlapping inputs, and an OUT\n"
          "that another adx job is writing (exit 2).\n"))
    return 0;
  adx_status s = ADX_OK;
  if (a.npos < 2)
    s = adx_fail(&err, ADX_ERR_ARG, "expected OUT.h5 and at least one input (see --help)");
  else
    s = adx_results_merge(a.pos[0], (const char *const *)a.pos + 1, a.npos - 1,
                          adx_args_last(&a, O_FORCE) != NULL, &err);
  int rc = s ? adx_cli_report("merge", &err) : 0;
  if (!s) printf("adx merge: %s: %d files merged\n", a.pos[0], a.npos - 1);
  adx_args_free(&a);
  return rc;
}
