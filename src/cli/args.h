/* Internal: a small long-option parser shared by the adx subcommands.
 *
 *   --key value, --key=value, -k value, -kvalue, flags (--logits), "--" ends the options;
 *   options and positional arguments may be mixed; "-" alone is a positional argument.
 *   Names must match exactly (no abbreviations). No global state (unlike getopt_long).
 *
 * Typical use:
 *   enum { O_MODEL, O_TOP, O_LOGITS, O_HELP };
 *   static const adx_opt opts[] = {{"model", 'm', 1, "FILE", "ONNX model"}, ..., {0}};
 *   adx_args a;
 *   if (adx_args_parse(argc, argv, opts, &a, &err)) return adx_cli_report("predict", &err);
 *   for (int i = 0; i < a.n; i++) switch (a.items[i].opt) { case O_TOP: ... a.items[i].value ... }
 *   ... a.pos[0 .. a.npos-1] ...
 *   adx_args_free(&a);
 */
#ifndef ADX_CLI_ARGS_H
#define ADX_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "adx/core.h"

typedef struct adx_opt {
  const char *name;    /* long name without "--"; NULL ends the table */
  char short_name;     /* 0 = none */
  int takes_value;     /* 1: needs a value; 0: a flag */
  const char *metavar; /* value placeholder in the help text, e.g. "FILE" */
  const char *help;
} adx_opt;

typedef struct adx_arg {
  int opt;           /* index into the option table */
  const char *value; /* NULL for flags; points into argv */
} adx_arg;

typedef struct adx_args {
  int n;
  adx_arg *items; /* options in command-line order (later ones override earlier ones) */
  int npos;
  char **pos; /* positional arguments, in order; point into argv */
} adx_args;

/* argv[0] is the subcommand name and is skipped. Unknown options, a missing value or a value given to a
 * flag -> ADX_ERR_ARG with the option named. On failure *out is freed and zeroed. */
adx_status adx_args_parse(int argc, char **argv, const adx_opt *opts, adx_args *out, adx_error *err);
void adx_args_free(adx_args *a);
/* Index of the option called name in opts, or -1. */
int adx_args_find(const adx_opt *opts, const char *name);
/* The last value given for option index opt, or NULL; for flags, non-NULL ("") when given. */
const char *adx_args_last(const adx_args *a, int opt);

/* "usage: adx CMD SYNOPSIS" then one line per option. */
void adx_args_usage(FILE *f, const char *cmd, const char *synopsis, const adx_opt *opts);
/* When option help_opt was given: the usage on stdout, then a blank line and `more` (NULL: nothing), a
 * freed, and 1 (the command then returns 0); else 0. */
int adx_args_help(adx_args *a, int help_opt, const char *cmd, const char *synopsis, const adx_opt *opts,
                  const char *more);

/* Value parsers; errors name the option ("--top: 'x' is not an integer in 0..100"). */
adx_status adx_arg_int(const char *opt, const char *s, long lo, long hi, long *out, adx_error *err);
adx_status adx_arg_double(const char *opt, const char *s, double lo, double hi, double *out, adx_error *err);
/* A byte count: a positive number with an optional K/M/G/T suffix (binary, "Gi"/"GB" also taken). */
adx_status adx_arg_size(const char *opt, const char *s, int64_t *out, adx_error *err);
/* true/false, yes/no, on/off, 1/0 (for flags set from a config file). */
adx_status adx_arg_bool(const char *opt, const char *s, int *out, adx_error *err);

#endif
