/* Fuzz target: JPEG decoding (adx_image_decode sniffs the magic bytes; the corpus holds JPEGs), followed by
 * the preprocessing geometry stage (resize + centre crop) on what was decoded. */
#include "adx/io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  adx_image_limits lim;
  adx_image_limits_default(&lim);
  lim.max_pixels = 1 << 22; /* keep one input's work small; the check itself is what is fuzzed */
  adx_image img, out;
  adx_error err = {0};
  if (adx_image_decode(data, size, "fuzz.jpg", &lim, &img, &err) == ADX_OK) {
    adx_preproc pp;
    adx_preproc_default(&pp);
    pp.resize = 32;
    pp.crop_h = pp.crop_w = 28;
    if (adx_preproc_geometry(&pp, &img, 3, 28, 28, &out, &err) == ADX_OK) adx_image_free(&out);
    adx_image_free(&img);
  }
  return 0;
}
