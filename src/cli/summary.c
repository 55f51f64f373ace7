/* adx summary: the headline table of a results file, in the terminal (computed by the report layer, the
 * same numbers as the HTML report's headline table). */
#include <stdio.h>

#include "adx/report.h"
#include "args.h"
#include "cli.h"

adx_status adx_cli_print_summary(FILE *f, const char *path, adx_error *err) {
  return adx_report_print_summary(f, stderr, path, err);
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
