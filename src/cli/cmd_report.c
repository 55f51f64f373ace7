/* adx report RESULTS.h5 -o DIR: the HTML report (adx/report.h; what it shows: docs/report.md). */
#include <stdio.h>
#include <string.h>

#include "adx/report.h"
#include "args.h"
#include "cli.h"

int adx_cmd_report(int argc, char **argv) {
  enum { O_OUT, O_GALLERY, O_SEED, O_HELP };
  static const adx_opt opts[] = {
      {"output", 'o', 1, "DIR", "folder for index.html and img/ (created if missing)"},
      {"gallery", 0, 1, "N", "images per gallery (default 8)"},
      {"seed", 0, 1, "S", "seed of the sample gallery (default: the run's seed)"},
      {"help", 'h', 0, NULL, "show this help"},
      {NULL, 0, 0, NULL, NULL}};
  adx_error err = {0};
  adx_args a;
  if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("report", &err);
  adx_report_options o;
  adx_report_options_default(&o);
  const char *dir = adx_args_last(&a, O_OUT), *v;
  long g = 0;
  double seed = 0;
  adx_status s = ADX_OK;
  if (adx_args_help(&a, O_HELP, "report", "RESULTS.h5 -o DIR [options]", opts, NULL)) return 0;
  if (a.npos != 1)
    s = adx_fail(&err, ADX_ERR_ARG, "expected one RESULTS.h5 (see --help)");
  else if (!dir)
    s = adx_fail(&err, ADX_ERR_ARG, "-o DIR is required (see --help)");
  if (!s && (v = adx_args_last(&a, O_GALLERY)) && !(s = adx_arg_int("gallery", v, 0, 1000, &g, &err)))
    o.gallery = (int)g;
  if (!s && (v = adx_args_last(&a, O_SEED)) && !(s = adx_arg_double("seed", v, 0, 1.8e19, &seed, &err)))
    o.have_seed = 1, o.seed = (uint64_t)seed;
  if (!s) s = adx_report_write(a.pos[0], dir, &o, &err);
  int rc = s ? adx_cli_report("report", &err) : 0;
  if (!s) printf("adx report: wrote %s/index.html\n", dir);
  adx_args_free(&a);
  return rc;
}
