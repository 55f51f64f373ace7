/* Long-option parsing shared by the subcommands (see args.h). */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int adx_args_find(const adx_opt *opts, const char *name) {
  for (int i = 0; opts[i].name; i++)
    if (!strcmp(opts[i].name, name)) return i;
  return -1;
}

static int find_long(const adx_opt *opts, const char *name, size_t len) {
  for (int i = 0; opts[i].name; i++)
    if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len)) return i;
  return -1;
}

static int find_short(const adx_opt *opts, char c) {
  for (int i = 0; opts[i].name; i++)
    if (opts[i].short_name && opts[i].short_name == c) return i;
  return -1;
}

void adx_args_free(adx_args *a) {
  if (!a) return;
  free(a->items);
  free(a->pos);
  memset(a, 0, sizeof *a);
}

adx_status adx_args_parse(int argc, char **argv, const adx_opt *opts, adx_args *out, adx_error *err) {
  memset(out, 0, sizeof *out);
  int cap = argc > 0 ? argc : 1;
  out->items = malloc(sizeof(adx_arg) * (size_t)cap);
  out->pos = malloc(sizeof(char *) * (size_t)cap);
  if (!out->items || !out->pos) {
    adx_args_free(out);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory parsing arguments");
  }
  int only_pos = 0;
  for (int i = 1; i < argc; i++) {
    char *s = argv[i];
    if (only_pos || s[0] != '-' || s[1] == '\0') {
      out->pos[out->npos++] = s;
      continue;
    }
    if (!strcmp(s, "--")) {
      only_pos = 1;
      continue;
    }
    int k;
    const char *inline_val = NULL;
    char shown[64];
    if (s[1] == '-') {
      const char *name = s + 2, *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      k = find_long(opts, name, len);
      snprintf(shown, sizeof shown, "--%.*s", (int)(len < 40 ? len : 40), name);
      if (k < 0) {
        adx_args_free(out);
        return adx_fail(err, ADX_ERR_ARG, "unknown option '%s' (see --help)", shown);
      }
      if (eq) inline_val = eq + 1;
    } else {
      k = find_short(opts, s[1]);
      snprintf(shown, sizeof shown, "-%c", s[1]);
      if (k < 0) {
        adx_args_free(out);
        return adx_fail(err, ADX_ERR_ARG, "unknown option '%s' (see --help)", shown);
      }
      if (s[2]) inline_val = s + 2;
    }
    const char *val = NULL;
    if (opts[k].takes_value) {
      if (inline_val)
        val = inline_val;
      else if (i + 1 < argc)
        val = argv[++i];
      else {
        adx_args_free(out);
        return adx_fail(err, ADX_ERR_ARG, "option '%s' needs a value (%s)", shown,
                        opts[k].metavar ? opts[k].metavar : "VALUE");
      }
    } else if (inline_val) {
      adx_args_free(out);
      return adx_fail(err, ADX_ERR_ARG, "option '%s' takes no value", shown);
    }
    out->items[out->n].opt = k;
    out->items[out->n].value = val;
    out->n++;
  }
  return ADX_OK;
}

const char *adx_args_last(const adx_args *a, int opt) {
  for (int i = a->n - 1; i >= 0; i--)
    if (a->items[i].opt == opt) return a->items[i].value ? a->items[i].value : "";
  return NULL;
}

void adx_args_usage(FILE *f, const char *cmd, const char *synopsis, const adx_opt *opts) {
  fprintf(f, "usage: adx %s %s\n\noptions:\n", cmd, synopsis);
  for (int i = 0; opts[i].name; i++) {
    char left[64];
    int n = 0;
    if (opts[i].short_name) n = snprintf(left, sizeof left, "-%c, ", opts[i].short_name);
    snprintf(left + n, sizeof left - (size_t)n, "--%s%s%s", opts[i].name, opts[i].takes_value ? " " : "",
             opts[i].takes_value ? (opts[i].metavar ? opts[i].metavar : "VALUE") : "");
    fprintf(f, "  %-26s %s\n", left, opts[i].help ? opts[i].help : "");
  }
}

int adx_args_help(adx_args *a, int help_opt, const char *cmd, const char *synopsis, const adx_opt *opts,
                  const char *more) {
  if (!adx_args_last(a, help_opt)) return 0;
  adx_args_usage(stdout, cmd, synopsis, opts);
  if (more) printf("\n%s", more);
  adx_args_free(a);
  return 1;
}

adx_status adx_arg_int(const char *opt, const char *s, long lo, long hi, long *out, adx_error *err) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || isspace((unsigned char)*s) || *end || errno || v < lo || v > hi)
    return adx_fail(err, ADX_ERR_ARG, "--%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
  *out = v;
  return ADX_OK;
}

adx_status adx_arg_double(const char *opt, const char *s, double lo, double hi, double *out, adx_error *err) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || isspace((unsigned char)*s) || *end || errno || !isfinite(v) || v < lo || v > hi)
    return adx_fail(err, ADX_ERR_ARG, "--%s: '%s' is not a number in %g..%g", opt, s, lo, hi);
  *out = v;
  return ADX_OK;
}

adx_status adx_arg_bool(const char *opt, const char *s, int *out, adx_error *err) {
  static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
  for (int i = 0; i < 4; i++) {
    if (!strcasecmp(s, yes[i])) return *out = 1, ADX_OK;
    if (!strcasecmp(s, no[i])) return *out = 0, ADX_OK;
  }
  return adx_fail(err, ADX_ERR_ARG, "--%s: '%s' is not true or false", opt, s);
}

adx_status adx_arg_size(const char *name, const char *v, int64_t *out, adx_error *err) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  double mul = 1;
  switch (*end) {
  case 'k':
  case 'K': mul = 1024.0, end++; break;
  case 'm':
  case 'M': mul = 1048576.0, end++; break;
  case 'g':
  case 'G': mul = 1073741824.0, end++; break;
  case 't':
  case 'T': mul = 1099511627776.0, end++; break;
  default: break;
  }
  if (mul > 1 && *end == 'i') end++;
  if (*end == 'B' || *end == 'b') end++;
  if (end == v || *end || errno || !(x > 0) || x * mul > 9.0e18)
    return adx_fail(err, ADX_ERR_ARG, "--%s: '%s' is not a size (e.g. 4G, 512M, 1048576)", name, v);
  *out = (int64_t)(x * mul);
  return ADX_OK;
}
