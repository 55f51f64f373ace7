/* Internal: adx subcommands. Each returns the process exit status (0 ok, 1 run failed, 2 bad input). */
#ifndef ADX_CLI_H
#define ADX_CLI_H

#include <stdio.h>

#include "adx/core.h"

int adx_cmd_info(int argc, char **argv);
int adx_cmd_predict(int argc, char **argv);
int adx_cmd_bench(int argc, char **argv);
int adx_cmd_explain(int argc, char **argv);
int adx_cmd_summary(int argc, char **argv);
int adx_cmd_report(int argc, char **argv);
int adx_cmd_show(int argc, char **argv);

/* The headline table of a results file (adx_report_print_summary): one row per mode, mean ±95% CI per
 * metric, and AD's relative robustness improvement over each fill mode. Says so when the run is unfinished. */
adx_status adx_cli_print_summary(FILE *f, const char *path, adx_error *err);

/* Print "adx <cmd>: <message>" for an error and return its exit code. */
int adx_cli_report(const char *cmd, const adx_error *err);

#endif
