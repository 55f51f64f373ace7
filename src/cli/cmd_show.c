/* adx show RESULTS.h5 --image I [--mode M] -o x.png: one image's panel (adx/report.h). */
#include <stdio.h>
#include <string.h>

#include "adx/report.h"
#include "args.h"
#include "cli.h"

int adx_cmd_show(int argc, char **argv) {
  enum { O_IMAGE, O_MODE, O_OUT, O_HELP };
  static const adx_opt opts[] = {{"image", 'i', 1, "I", "row of the results file, 0..N-1 (required)"},
                                 {"mode", 0, 1, "M", "only this mode (default: every mode, a row each)"},
                                 {"output", 'o', 1, "FILE.png", "the panel (required)"},
                                 {"help", 'h', 0, NULL, "show this help"},
                                 {NULL, 0, 0, NULL, NULL}};
  adx_error err = {0};
  adx_args a;
  if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("show", &err);
  if (adx_args_help(&a, O_HELP, "show", "RESULTS.h5 --image I [--mode M] -o FILE.png", opts, NULL)) return 0;
  const char *img = adx_args_last(&a, O_IMAGE), *out = adx_args_last(&a, O_OUT);
  long i = 0;
  adx_status s = ADX_OK;
  if (a.npos != 1)
    s = adx_fail(&err, ADX_ERR_ARG, "expected one RESULTS.h5 (see --help)");
  else if (!img)
    s = adx_fail(&err, ADX_ERR_ARG, "--image I is required (see --help)");
  else if (!out)
    s = adx_fail(&err, ADX_ERR_ARG, "-o FILE.png is required (see --help)");
  if (!s) s = adx_arg_int("image", img, 0, 0x7fffffffL, &i, &err);
  char legend[2048];
  if (!s) s = adx_report_show(a.pos[0], i, adx_args_last(&a, O_MODE), out, legend, sizeof legend, &err);
  int rc = s ? adx_cli_report("show", &err) : 0;
  if (!s) printf("%s\n", legend);
  adx_args_free(&a);
  return rc;
}
