/* The explainers' question: one image, B masks, one mode -> B rows of logits. */
#include <string.h>

#include "adx/ad.h"
#include "engine_internal.h"

adx_status adx_engine_query(adx_engine *e, const adx_mode *m, const adx_norm *norm, const float *raw,
                            const float *fill_source, const uint8_t *masks, int B, const adx_tensor **logits,
                            adx_error *err) {
  const adx_value *iv = adx_engine_input(e);
  if (iv->ndim != 4) return adx_fail(err, ADX_ERR_UNSUPPORTED, "queries need a 4-D image input (N,C,H,W)");
  if (B < 1) return adx_fail(err, ADX_ERR_ARG, "query batch must hold at least one mask");
  int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  size_t chw = (size_t)C * (size_t)H * (size_t)W, need = chw * (size_t)B;
  if (e->staging_floats < need) {
    adx_free(e->staging);
    e->staging = adx_alloc(need * sizeof(float));
    e->staging_floats = e->staging ? need : 0;
    if (!e->staging) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d query inputs", B);
  }
  adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {B, C, H, W}, .data = e->staging};
  switch (m->kind) {
  case ADX_MODE_FILL:
    if (!fill_source) return adx_fail(err, ADX_ERR_ARG, "fill mode query without a fill source");
    adx_fill_apply(norm, raw, fill_source, masks, B, C, H, W, e->staging);
    if (e->incremental) return adx_engine_run_incremental(e, norm, raw, &in, logits, err);
    return adx_engine_run(e, &in, logits, err);
  case ADX_MODE_AD:
  case ADX_MODE_PLAIN:
    adx_norm_apply(norm, raw, C, H, W, e->staging);
    for (int b = 1; b < B; b++) memcpy(e->staging + (size_t)b * chw, e->staging, chw * sizeof(float));
    if (m->kind == ADX_MODE_PLAIN) return adx_engine_run(e, &in, logits, err);
    if (e->incremental) return adx_engine_run_ad_incremental(e, norm, raw, &in, masks, &m->ad, logits, err);
    return adx_engine_run_ad(e, &in, masks, &m->ad, logits, err);
  }
  return adx_fail(err, ADX_ERR_ARG, "unknown mode");
}
