/* Fuzz target: IDX reading (plain or gzipped) through a temporary file, the header-only path, and the
 * dataset layer on top of it (a 1x28x28 model; labels beside the file are not present). */
#include "adx/dataset.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[512];
  fuzz_temp_path(path, sizeof path, "images-idx3-ubyte");
  fuzz_write_file(path, data, size);
  const int64_t max_bytes = 1 << 24;
  adx_error err = {0};
  adx_idx x;
  if (adx_idx_header(path, max_bytes, &x, &err) == ADX_OK) adx_idx_free(&x);
  if (adx_idx_load(path, max_bytes, &x, &err) == ADX_OK) adx_idx_free(&x);
  adx_dataset_limits lim = {.max_bytes = max_bytes, .max_image_elems = 1 << 20};
  adx_dataset *d = NULL;
  if (adx_dataset_open_ex(path, NULL, 1, 28, 28, &lim, &d, &err) == ADX_OK) {
    float raw[28 * 28];
    int32_t label;
    int64_t n = adx_dataset_size(d);
    if (n > 0) (void)adx_dataset_get(d, n - 1, raw, &label, &err);
    adx_dataset_close(d);
  }
  unlink(path);
  return 0;
}
