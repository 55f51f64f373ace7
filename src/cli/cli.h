/* Internal: adx subcommands. Each returns the process exit status (0 ok, 1 run failed, 2 bad input). */
#ifndef ADX_CLI_H
#define ADX_CLI_H

#include "adx/ad.h"
#include <stdio.h>

#include "adx/core.h"
#include "adx/io.h"
#include "adx/model.h"
#include "args.h"

int adx_cmd_info(int argc, char **argv);
int adx_cmd_predict(int argc, char **argv);
int adx_cmd_bench(int argc, char **argv);
int adx_cmd_explain(int argc, char **argv);
int adx_cmd_summary(int argc, char **argv);
int adx_cmd_report(int argc, char **argv);
int adx_cmd_show(int argc, char **argv);
int adx_cmd_merge(int argc, char **argv);
int adx_cmd_sanity(int argc, char **argv);

/* The headline table of a results file (adx_report_print_summary): one row per mode, mean ±95% CI per
 * metric, and AD's relative robustness improvement over each fill mode. Says so when the run is unfinished;
 * warns on stderr when most labelled images are misclassified in plain mode (adx_report_fit_warning). */
adx_status adx_cli_print_summary(FILE *f, const char *path, adx_error *err);

/* The resource caps taken by explain and predict (docs/configuration.md#resource-caps): three option-table
 * entries, in this order, their enum names (at the same place in the command's option enum) and their
 * values (0: the library default). */
#define ADX_CLI_CAP_IDS O_MAX_TENSOR, O_MAX_ACT, O_MAX_PIXELS
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

/* clang-format off */
/* What a bare "ad" mode means, the same in every command (a spelled-out mode, e.g.
 * ad:strict:all:partial:every, ignores these). Four consecutive options, in this order. */
#define ADX_CLI_AD_OPTS \
  {"ad-rule", 0, 1, "RULE", "bare 'ad' mode: rule strict, ratio:T (0<=T<1) or loose (default ratio:0.5)"}, \
  {"ad-pool", 0, 1, "P", "bare 'ad' mode: global pooling all (default) or active"}, \
  {"ad-renorm", 0, 1, "R", "bare 'ad' mode: renormalisation none (default), partial, or leak (adx 0.1)"}, \
  {"ad-at", 0, 1, "AT", "bare 'ad' mode: deactivate at every layer (default) or at checkpoints"}
#define ADX_CLI_AD_KEYS "ad-rule", "ad-pool", "ad-renorm", "ad-at"
/* clang-format on */
/* Their enum names, at the same place in the command's option enum. */
#define ADX_CLI_AD_IDS O_AD_RULE, O_AD_POOL, O_AD_RENORM, O_AD_AT
typedef struct adx_cli_ad {
  const char *v[4]; /* the values of the ADX_CLI_AD_OPTS options, NULL when not given */
} adx_cli_ad;
/* What a bare "ad" means from the options given (errors name the option). */
adx_status adx_cli_ad_bare(const adx_cli_ad *a, adx_ad_opts *o, adx_error *err);
/* Is any of the ADX_CLI_AD_OPTS options given? */
int adx_cli_ad_any(const adx_cli_ad *a);

/* The preprocessing options taken by explain and predict (docs/configuration.md): five option-table
 * entries, in this order (resize, crop, scale, mean, std: the [preprocess] keys), and their enum names.
 * Unset, scale, mean and std come from the model's metadata_props (adx_preproc_from_model), else the
 * defaults. */
#define ADX_CLI_PREPROC_IDS O_RESIZE, O_CROP, O_SCALE, O_MEAN, O_STD
/* clang-format off */
#define ADX_CLI_PREPROC_OPTS \
  {"resize", 0, 1, "N", "resize so the shorter side is N (bilinear, no antialiasing)"}, \
  {"crop", 0, 1, "N|HxW", "centre crop after resizing"}, \
  {"scale", 0, 1, "F", "multiply raw 0..255 pixels by F (default: the model's, else 1/255)"}, \
  {"mean", 0, 1, "a[,b,c]", "subtract after scaling, per channel (default: the model's, else 0)"}, \
  {"std", 0, 1, "a[,b,c]", "then divide, per channel (default: the model's, else 1)"}
/* clang-format on */
/* Set preprocessing option k (0..4: the order of ADX_CLI_PREPROC_OPTS); errors name "--<key>". */
adx_status adx_cli_preproc_set(adx_preproc *p, int k, const char *v, adx_error *err);

/* Apply a config file's command section ([explain], [predict]) entry by entry, in file order. A key names a
 * long option of opts in either spelling (max_image_pixels or max-image-pixels); the options listed in
 * except (ended by -1: config, help, and those with a section of their own) are not keys. Every key is
 * checked first: an unknown one -> ADX_ERR_ARG "FILE:LINE: unknown key 'K' in [SECTION] (known: ...)". Then
 * set(ctx, opt, value, err) applies each entry (its errors get "FILE:LINE: " in front); an entry with an
 * empty value is not applied when skip_empty (its key is still checked). */
typedef adx_status (*adx_cli_set_fn)(void *ctx, int opt, const char *value, adx_error *err);
adx_status adx_cli_config_section(const adx_config *cfg, const char *section, const adx_opt *opts,
                                  const int *except, int skip_empty, adx_cli_set_fn set, void *ctx,
                                  adx_error *err);

/* s as a JSON string (NULL as ""): control characters escaped, invalid UTF-8 bytes as U+FFFD. */
void adx_cli_json_str(FILE *f, const char *s);

/* Print "adx <cmd>: <message>" for an error and return its exit code. */
int adx_cli_report(const char *cmd, const adx_error *err);

/* adx sanity (cmd_explain.c): the settings of a run recorded in a results file's `config` attribute, as adx
 * explain parsed them: preprocessing, explainer, metric parameters, batch and seed go into *out (the rest of
 * *out is left alone). Flags are split at spaces (effective_config joins them so). */
struct adx_audit_options;
adx_status adx_cli_explain_replay(const char *config_text, struct adx_audit_options *out, adx_error *err);

#endif
