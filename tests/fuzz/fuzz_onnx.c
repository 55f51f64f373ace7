/* Fuzz target: ONNX model loading from memory (protobuf decode, graph building, operator checks, shape
 * inference, constant and BatchNorm folding), then, within small resource caps, buffer planning and one
 * plain and one AD forward pass on a batch of 2. */
#include "adx/ad.h"
#include "adx/engine.h"
#include "adx/model.h"
#include "fuzz_common.h"

static void run_once(adx_graph *g) {
  adx_engine *e = NULL;
  adx_error err = {0};
  if (adx_engine_create(g, 1, &e, &err)) return;
  const adx_value *iv = adx_engine_input(e);
  if (adx_engine_reserve(e, 2, &err) == ADX_OK) {
    int64_t dims[ADX_MAX_DIMS];
    for (int k = 0; k < iv->ndim; k++) dims[k] = iv->dims[k];
    if (iv->ndim > 0) dims[0] = 2;
    adx_tensor in;
    if (adx_tensor_alloc(&in, ADX_F32, iv->ndim, dims, &err) == ADX_OK) {
      int64_t n = adx_tensor_numel(&in);
      for (int64_t i = 0; i < n; i++) adx_f32(&in)[i] = (float)(i % 7) * 0.25f - 0.5f;
      const adx_tensor *out;
      (void)adx_engine_run(e, &in, &out, &err);
      if (iv->ndim == 4) { /* AD and a fill mode through the explainers' query: half the image hidden */
        int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
        size_t hw = (size_t)H * W;
        uint8_t *masks = malloc(2 * hw);
        float *src = malloc(sizeof(float) * (size_t)C * hw);
        if (masks && src) {
          for (size_t i = 0; i < 2 * hw; i++) masks[i] = (uint8_t)(i % hw < hw / 2);
          adx_norm norm;
          adx_norm_identity(&norm);
          static const char *const modes[] = {"ad", "fill:mean"};
          for (int m = 0; m < 2; m++) {
            adx_mode mode;
            if (adx_mode_parse(modes[m], &mode, &err)) continue;
            if (adx_fill_source(&mode, adx_f32(&in), C, H, W, src, &err)) continue;
            (void)adx_engine_query(e, &mode, &norm, adx_f32(&in), src, masks, 2, &out, &err);
          }
        }
        free(masks);
        free(src);
      }
      adx_tensor_free(&in);
    }
  }
  adx_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  adx_model_limits lim;
  adx_model_limits_default(&lim);
  lim.max_tensor_elems = 1 << 20;               /* per tensor, per image */
  lim.max_activation_bytes = (int64_t)64 << 20; /* engine buffers for one batch */
  adx_graph *g = NULL;
  adx_error err = {0};
  /* path NULL: no external data files are looked up */
  if (adx_model_load_mem(data, size, NULL, &lim, &g, &err) == ADX_OK) {
    (void)adx_graph_params(g);
    (void)adx_graph_flops(g);
    run_once(g);
    adx_graph_free(g);
  }
  return 0;
}
