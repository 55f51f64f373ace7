/* A config file's command section ([explain], [predict]) applied through the command's option table. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cli.h"

#define MAX_KEYS 128

static int listed(const int *except, int opt) {
  for (int k = 0; except && except[k] >= 0; k++)
    if (except[k] == opt) return 1;
  return 0;
}

/* The option a key names (either spelling), or -1 when it names none that the section may set. */
static int key_opt(const adx_opt *opts, const int *except, const char *key) {
  char name[64];
  snprintf(name, sizeof name, "%s", key);
  for (char *c = name; *c; c++)
    if (*c == '_') *c = '-';
  int opt = adx_args_find(opts, name);
  return opt < 0 || listed(except, opt) ? -1 : opt;
}

adx_status adx_cli_config_section(const adx_config *cfg, const char *section, const adx_opt *opts,
                                  const int *except, int skip_empty, adx_cli_set_fn set, void *ctx,
                                  adx_error *err) {
  const char *known[MAX_KEYS + 1];
  int nk = 0;
  for (int i = 0; opts[i].name && nk < MAX_KEYS; i++)
    if (!listed(except, i)) known[nk++] = opts[i].name;
  known[nk] = NULL;
  /* one config file may serve both commands; a section neither reads is a mistake, not someone else's */
  static const char *const sections[] = {"explain", "predict", "preprocess", NULL};
  adx_status s0 = adx_config_check_sections(cfg, sections, err);
  if (s0) return s0;
  for (int pass = 0; pass < 2; pass++) /* every key is checked before any is applied */
    for (int i = 0; i < cfg->n; i++) {
      const adx_config_entry *en = &cfg->entries[i];
      if (strcmp(en->section, section)) continue;
      int opt = key_opt(opts, except, en->key);
      if (pass == 1 && skip_empty && !en->value[0]) continue; /* a known key left empty: the default */
      adx_status s = ADX_OK;
      if (pass == 0 && opt < 0 && !(s = adx_config_check_keys(cfg, section, known, err)))
        s = adx_fail(err, ADX_ERR_ARG, "%s:%d: unknown key '%s' in [%s]", cfg->path, en->line, en->key,
                     section); /* check_keys found none (a key too long to look up) */
      if (pass == 1 && (s = set(ctx, opt, en->value, err)))
        adx_error_prefix(err, "%s:%d: ", cfg->path, en->line);
      if (s) return s;
    }
  return ADX_OK;
}
