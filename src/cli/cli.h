/* Internal: adx subcommands. Each returns the process exit status (0 ok, 1 run failed, 2 bad input). */
#ifndef ADX_CLI_H
#define ADX_CLI_H

#include "adx/core.h"

int adx_cmd_info(int argc, char **argv);
int adx_cmd_predict(int argc, char **argv);
int adx_cmd_bench(int argc, char **argv);

/* Print "adx <cmd>: <message>" for an error and return its exit code. */
int adx_cli_report(const char *cmd, const adx_error *err);

#endif
