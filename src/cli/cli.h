/* Internal: adx subcommands. Each returns the process exit status (0 ok, 1 run failed, 2 bad input). */
#ifndef ADX_CLI_H
#define ADX_CLI_H

#include <stdio.h>

#include "adx/core.h"
#include "adx/io.h"
#include "adx/model.h"

int adx_cmd_info(int argc, char **argv);
int adx_cmd_predict(int argc, char **argv);
int adx_cmd_bench(int argc, char **argv);
int adx_cmd_explain(int argc, char **argv);
int adx_cmd_summary(int argc, char **argv);
int adx_cmd_report(int argc, char **argv);
int adx_cmd_show(int argc, char **argv);
int adx_cmd_merge(int argc, char **argv);

/* The headline table of a results file (adx_report_print_summary): one row per mode, mean ±95% CI per
 * metric, and AD's relative robustness improvement over each fill mode. Says so when the run is unfinished.
 */
adx_status adx_cli_print_summary(FILE *f, const char *path, adx_error *err);

/* The resource caps taken by explain and predict (docs/configuration.md#resource-caps): three option-table
 * entries, in this order, and their values (0: the library default). */
/* clang-format off */
#define ADX_CLI_CAP_OPTS \
  {"max-tensor-elems", 0, 1, "N", "refuse a model with a tensor over N elements per image (default 2^30)"}, \
  {"max-activation-mem", 0, 1, "SIZE", "cap on activation + scratch memory per batch, e.g. 4G (default 16G)"}, \
  {"max-image-pixels", 0, 1, "N", "refuse images over N pixels (default 100000000)"}
/* clang-format on */
typedef struct adx_cli_caps {
  int64_t tensor_elems, activation_bytes, image_pixels;
} adx_cli_caps;
/* Set cap k (0, 1, 2: the order of ADX_CLI_CAP_OPTS) from an option or config value. */
adx_status adx_cli_caps_set(adx_cli_caps *c, int k, const char *v, adx_error *err);
/* Defaults, then the caps that were set. */
void adx_cli_caps_apply(const adx_cli_caps *c, adx_model_limits *model, adx_image_limits *image);

/* Print "adx <cmd>: <message>" for an error and return its exit code. */
int adx_cli_report(const char *cmd, const adx_error *err);

#endif
