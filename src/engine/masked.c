/* AD runs: the engine hands its graph, tensors and scratch to the AD runner (src/ad/run.c), which
 * owns the masks and decides per operator kind what happens (docs/ad.md). */
#include <string.h>

#include "adx/ad.h"
#include "engine_internal.h"

static adx_status run_node(void *eng, int node, adx_error *err) {
  adx_engine *e = eng;
  return adx_engine_run_node_in(e, node, e->run_blocked, err);
}

static adx_status incr_node(void *eng, int node, adx_error *err) { return adx_incr_ad_node(eng, node, err); }

static int incr_conv(void *eng, int vout, int b, const uint8_t **unchanged, const float **base) {
  return adx_incr_ad_conv(eng, vout, b, unchanged, base);
}

static adx_status run_ad(adx_engine *e, const adx_norm *norm, const float *raw, const adx_tensor *input,
                         const uint8_t *masks, const adx_ad_opts *o, const adx_tensor **output,
                         adx_error *err);

adx_status adx_engine_run_ad(adx_engine *e, const adx_tensor *input, const uint8_t *masks,
                             const adx_ad_opts *o, const adx_tensor **output, adx_error *err) {
  return run_ad(e, NULL, NULL, input, masks, o, output, err);
}

adx_status adx_engine_run_ad_incremental(adx_engine *e, const adx_norm *norm, const float *raw,
                                         const adx_tensor *input, const uint8_t *masks, const adx_ad_opts *o,
                                         const adx_tensor **output, adx_error *err) {
  return run_ad(e, norm, raw, input, masks, o, output, err);
}

/* norm and raw given: incremental (the image's base reused), where it is the full computation bit for bit:
 * oneDNN crops, not under partial renormalisation, something hidden somewhere. */
static adx_status run_ad(adx_engine *e, const adx_norm *norm, const float *raw, const adx_tensor *input,
                         const uint8_t *masks, const adx_ad_opts *o, const adx_tensor **output,
                         adx_error *err) {
  adx_graph *g = e->g;
  if (g->ninputs != 1)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "model has %d inputs; adx expects one image input", g->ninputs);
  const adx_value *iv = &g->values[g->inputs[0]];
  if (!(iv->batched && iv->ndim == 4))
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "AD needs a 4-D image input (N,C,H,W); '%s' has rank %d",
                    iv->name, iv->ndim);
  int B = (int)input->dims[0];
  size_t hw = (size_t)iv->dims[2] * (size_t)iv->dims[3];
  int incr = raw && norm && e->lib && o->renorm != ADX_RENORM_PARTIAL && adx_ad_band_setting() == 1 &&
             memchr(masks, 0, (size_t)B * hw);
  adx_status s = ADX_OK;
  /* the blocked layout between layers, as in plain runs, except under partial renormalisation (its raw
   * sums are rescaled per NCHW position, src/ad/run.c) */
  const uint8_t *plan = NULL;
  if (o->renorm != ADX_RENORM_PARTIAL && (s = adx_engine_ad_plan(e, &plan, err))) return s;
  /* the base first: it runs the engine at batch 1 */
  if (incr && (s = adx_incr_ad_begin(e, norm, raw, masks, B, plan, err))) return s;
  if ((s = adx_engine_prepare_batch(e, B, err)) || (s = adx_engine_bind_input(e, 0, input, err))) return s;
  if (o->renorm != ADX_RENORM_PARTIAL && (s = adx_engine_ad_plan(e, &plan, err))) return s;
  if (!e->ad && !(e->ad = adx_ad_state_new()))
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for AD state");
  adx_ad_host h = {g,
                   e->vt,
                   e->threads,
                   e->scratch,
                   e->scratch_bytes,
                   e,
                   run_node,
                   e->lib,
                   plan,
                   incr ? incr_node : NULL,
                   incr ? incr_conv : NULL};
  e->run_blocked = plan;
  s = adx_ad_run(e->ad, &h, masks, o, err);
  e->run_blocked = NULL;
  if (s) return s;
  *output = &e->vt[g->outputs[0]];
  return ADX_OK;
}

const char *adx_engine_ad_fallback(const adx_engine *e) {
  int n = adx_ad_state_fallback(e->ad);
  return n >= 0 ? e->g->nodes[n].name : NULL;
}

const uint8_t *adx_engine_ad_mask(const adx_engine *e, int value, int channel) {
  return adx_ad_state_mask(e->ad, value, channel);
}
