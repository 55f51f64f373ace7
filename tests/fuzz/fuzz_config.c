/* Fuzz target: INI configuration parsing (libinih through adx_config_parse) and the consumers of its
 * entries: key lookups, the unknown-key check and the [preprocess] settings. */
#include "adx/io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  if (size) memcpy(text, data, size);
  text[size] = '\0';
  adx_config cfg = {0};
  adx_error err = {0};
  if (adx_config_parse(text, "fuzz.ini", &cfg, &err) == ADX_OK) {
    static const char *const known[] = {"model", "data", "batch", "iters", NULL};
    (void)adx_config_check_keys(&cfg, "explain", known, &err);
    (void)adx_config_get(&cfg, "explain", "model");
    adx_preproc pp;
    adx_preproc_default(&pp);
    (void)adx_config_apply_preprocess(&cfg, &pp, &err);
  }
  adx_config_free(&cfg);
  free(text);
  return 0;
}
