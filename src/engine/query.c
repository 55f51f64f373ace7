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

adx_status adx_engine_query_based(adx_engine *e, const adx_mode *m, const adx_norm *norm, const float *raw,
                                  const float *fill_source, const uint8_t *masks, int B, const uint8_t *bases,
                                  int NB, const int *base_of, const adx_tensor **logits, adx_error *err) {
  const adx_value *iv = adx_engine_input(e);
  int use = e->incremental && NB > 0 && bases && base_of && iv->ndim == 4 && B >= 1 &&
            (m->kind == ADX_MODE_FILL || (m->kind == ADX_MODE_AD && e->lib &&
                                          m->ad.renorm != ADX_RENORM_PARTIAL && adx_ad_band_setting() == 1));
  for (int b = 0; use && b < B; b++) use = base_of[b] >= -1 && base_of[b] < NB;
  if (use && m->kind == ADX_MODE_FILL && !fill_source)
    return adx_fail(err, ADX_ERR_ARG, "fill mode query without a fill source");
  if (use) {
    adx_error e2 = {0};
    adx_status s = adx_incr_bases_reserve(e, NB, &e2); /* too many bases: asked without them */
    if (s && s != ADX_ERR_LIMIT) return adx_fail(err, s, "%s", e2.msg);
    use = !s;
  }
  if (!use) return adx_engine_query(e, m, norm, raw, fill_source, masks, B, logits, err);
  int C = (int)iv->dims[1], H = (int)iv->dims[2], W = (int)iv->dims[3];
  size_t chw = (size_t)C * (size_t)H * (size_t)W, need = chw * (size_t)(B + NB);
  if (e->staging_floats < need) {
    adx_free(e->staging);
    e->staging = adx_alloc(need * sizeof(float));
    e->staging_floats = e->staging ? need : 0;
    if (!e->staging) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d query inputs", B + NB);
  }
  float *bx = e->staging + chw * (size_t)B;
  adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {B, C, H, W}, .data = e->staging};
  adx_tensor bin = {.dtype = ADX_F32, .ndim = 4, .dims = {NB, C, H, W}, .data = bx};
  if (m->kind == ADX_MODE_FILL) {
    adx_fill_apply(norm, raw, fill_source, bases, NB, C, H, W, bx);
    adx_fill_apply(norm, raw, fill_source, masks, B, C, H, W, e->staging);
    return adx_engine_run_incremental_based(e, &bin, &in, base_of, logits, err);
  }
  adx_norm_apply(norm, raw, C, H, W, e->staging);
  for (int b = 1; b < B; b++) memcpy(e->staging + (size_t)b * chw, e->staging, chw * sizeof(float));
  for (int b = 0; b < NB; b++) memcpy(bx + (size_t)b * chw, e->staging, chw * sizeof(float));
  return adx_engine_run_ad_based(e, &bin, bases, &in, masks, base_of, &m->ad, logits, err);
}
