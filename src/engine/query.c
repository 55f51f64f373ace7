/* The explainers' question: one image, B masks, one mode -> B rows of logits, in micro-batches
 * (adx_engine_chunk). */
#include <string.h>

#include "adx/ad.h"
#include "engine_internal.h"

typedef struct query {
  const adx_mode *m;
  const adx_norm *norm;
  const float *raw, *fill_source;
  const uint8_t *masks;
  int C, H, W;
} query;

/* One pass: masks [b0, b0 + nb) */
static adx_status query_pass(adx_engine *e, void *ctx, int b0, int nb, const adx_tensor **logits,
                             adx_error *err) {
  const query *q = ctx;
  const int C = q->C, H = q->H, W = q->W;
  size_t chw = (size_t)C * (size_t)H * (size_t)W, need = chw * (size_t)nb;
  const uint8_t *masks = q->masks ? q->masks + (size_t)b0 * (size_t)H * (size_t)W : NULL;
  if (e->staging_floats < need) {
    adx_free(e->staging);
    e->staging = adx_alloc(need * sizeof(float));
    e->staging_floats = e->staging ? need : 0;
    if (!e->staging) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d query inputs", nb);
  }
  adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {nb, C, H, W}, .data = e->staging};
  switch (q->m->kind) {
  case ADX_MODE_FILL:
    adx_fill_apply(q->norm, q->raw, q->fill_source, masks, nb, C, H, W, e->staging);
    if (e->incremental) return adx_engine_run_incremental(e, q->norm, q->raw, &in, logits, err);
    return adx_engine_run(e, &in, logits, err);
  case ADX_MODE_AD:
  case ADX_MODE_PLAIN:
    adx_norm_apply(q->norm, q->raw, C, H, W, e->staging);
    for (int b = 1; b < nb; b++) memcpy(e->staging + (size_t)b * chw, e->staging, chw * sizeof(float));
    if (q->m->kind == ADX_MODE_PLAIN) return adx_engine_run(e, &in, logits, err);
    if (e->incremental)
      return adx_engine_run_ad_incremental(e, q->norm, q->raw, &in, masks, &q->m->ad, logits, err);
    return adx_engine_run_ad(e, &in, masks, &q->m->ad, logits, err);
  }
  return adx_fail(err, ADX_ERR_ARG, "unknown mode");
}

adx_status adx_engine_query(adx_engine *e, const adx_mode *m, const adx_norm *norm, const float *raw,
                            const float *fill_source, const uint8_t *masks, int B, const adx_tensor **logits,
                            adx_error *err) {
  const adx_value *iv = adx_engine_input(e);
  if (iv->ndim != 4) return adx_fail(err, ADX_ERR_UNSUPPORTED, "queries need a 4-D image input (N,C,H,W)");
  if (B < 1) return adx_fail(err, ADX_ERR_ARG, "query batch must hold at least one mask");
  if (m->kind == ADX_MODE_FILL && !fill_source)
    return adx_fail(err, ADX_ERR_ARG, "fill mode query without a fill source");
  if (m->kind != ADX_MODE_FILL && m->kind != ADX_MODE_AD && m->kind != ADX_MODE_PLAIN)
    return adx_fail(err, ADX_ERR_ARG, "unknown mode");
  query q = {m, norm, raw, fill_source, masks, (int)iv->dims[1], (int)iv->dims[2], (int)iv->dims[3]};
  return adx_engine_chunked(e, B, query_pass, &q, logits, err);
}
