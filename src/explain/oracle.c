/* The oracle: the explainers' one question ("this image, these B masks: class probabilities?") bound to one
 * image and one mode. It splits large requests into engine calls of at most max_batch masks, turns logits
 * into probabilities (softmax in double) and counts the mutants it evaluates. */
#include <math.h>
#include <string.h>

#include "adx/explain.h"

/* One engine call of B <= max_batch masks; probabilities into o->probs. */
static adx_status ask_once(adx_oracle *o, const uint8_t *masks, int B, adx_error *err) {
  const adx_tensor *logits;
  adx_status s =
      adx_engine_query(o->engine, &o->mode, &o->norm, o->raw, o->fill_source, masks, B, &logits, err);
  if (s) return s;
  int64_t n = adx_tensor_numel(logits);
  if (n != (int64_t)B * o->nclasses) {
    return adx_fail(err, ADX_ERR_SHAPE,
                    "oracle: model output has %lld values for %d masks, expected %d classes each",
                    (long long)n, B, o->nclasses);
  }
  for (int b = 0; b < B; b++)
    if (adx_softmax(adx_f32(logits) + (size_t)b * o->nclasses, o->nclasses, NULL,
                    o->probs + (size_t)b * o->nclasses))
      return adx_fail(err, ADX_ERR_RUNTIME, "oracle: the model produced a non-finite logit (mask %d of %d)",
                      b, B);
  return ADX_OK;
}

adx_status adx_oracle_init(adx_oracle *o, adx_engine *e, const adx_mode *m, const adx_norm *norm,
                           const float *raw, int max_batch, adx_error *err) {
  memset(o, 0, sizeof *o);
  if (!e || !m || !norm || !raw)
    return adx_fail(err, ADX_ERR_ARG, "oracle: missing engine, mode, norm or image");
  const adx_value *iv = adx_engine_input(e);
  if (iv->ndim != 4 || iv->dims[1] < 1 || iv->dims[2] < 1 || iv->dims[3] < 1)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "oracle: the model input '%s' is not an image (N,C,H,W)",
                    iv->name);
  o->engine = e;
  o->mode = *m;
  o->norm = *norm;
  o->raw = raw;
  o->C = (int)iv->dims[1];
  o->H = (int)iv->dims[2];
  o->W = (int)iv->dims[3];
  o->max_batch = max_batch > 0 ? max_batch : ADX_ORACLE_DEFAULT_BATCH;
  size_t chw = (size_t)o->C * (size_t)o->H * (size_t)o->W, hw = (size_t)o->H * (size_t)o->W;
  adx_status s = ADX_OK;
  uint8_t *ones = adx_alloc(hw);
  if (!ones) return adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory");
  memset(ones, 1, hw);
  if (m->kind == ADX_MODE_FILL) {
    o->fill_source = adx_alloc(chw * sizeof(float));
    if (!o->fill_source) s = adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory for the fill source");
    if (!s) s = adx_fill_source(m, raw, o->C, o->H, o->W, o->fill_source, err);
  }
  /* The all-visible probe: gives the class count (to size probs) and the full-image probabilities. */
  const adx_tensor *logits = NULL;
  if (!s) s = adx_engine_query(e, &o->mode, &o->norm, raw, o->fill_source, ones, 1, &logits, err);
  if (!s) {
    int64_t n = adx_tensor_numel(logits);
    size_t bytes;
    if (n < 1 || n > (1 << 24))
      s = adx_fail(err, ADX_ERR_SHAPE, "oracle: model output has %lld values", (long long)n);
    else if (adx_mul_size((size_t)o->max_batch * sizeof(float), (size_t)n, &bytes))
      s = adx_fail(err, ADX_ERR_LIMIT, "oracle: max_batch %d too large", o->max_batch);
    if (!s) {
      o->nclasses = (int)n;
      o->probs = adx_alloc(bytes);
      o->full = adx_alloc((size_t)n * sizeof(float));
      if (!o->probs || !o->full) s = adx_fail(err, ADX_ERR_NOMEM, "oracle: out of memory for probabilities");
    }
    if (!s && adx_softmax(adx_f32(logits), o->nclasses, NULL, o->full))
      s = adx_fail(err, ADX_ERR_RUNTIME, "oracle: the model produced a non-finite logit on the full image");
    if (!s) memcpy(o->probs, o->full, (size_t)n * sizeof(float));
  }
  adx_free(ones);
  if (s) adx_oracle_free(o);
  return s;
}

void adx_oracle_free(adx_oracle *o) {
  if (!o) return;
  adx_free(o->fill_source);
  adx_free(o->probs);
  adx_free(o->full);
  o->fill_source = NULL;
  o->probs = o->full = NULL;
}

adx_status adx_oracle_ask(adx_oracle *o, const uint8_t *masks, int B, float *out, adx_error *err) {
  if (B < 0) return adx_fail(err, ADX_ERR_ARG, "oracle: negative batch %d", B);
  if (B == 0) return ADX_OK;
  if (!masks || !out) return adx_fail(err, ADX_ERR_ARG, "oracle: missing masks or output");
  if (!o->probs) return adx_fail(err, ADX_ERR_ARG, "oracle: not initialised");
  size_t hw = (size_t)o->H * (size_t)o->W, nc = (size_t)o->nclasses;
  for (int b0 = 0; b0 < B; b0 += o->max_batch) {
    int nb = B - b0 < o->max_batch ? B - b0 : o->max_batch;
    adx_status s = ask_once(o, masks + (size_t)b0 * hw, nb, err);
    if (s) return s;
    memcpy(out + (size_t)b0 * nc, o->probs, (size_t)nb * nc * sizeof(float));
    o->queries += nb;
  }
  return ADX_OK;
}

adx_status adx_oracle_ask_images(adx_oracle *o, const float *raw, int B, float *out, adx_error *err) {
  if (B < 1) return adx_fail(err, ADX_ERR_ARG, "adx_oracle_ask_images: batch must hold at least one image");
  size_t chw = (size_t)o->C * (size_t)o->H * (size_t)o->W;
  int chunk = o->max_batch > 0 && o->max_batch < B ? o->max_batch : B;
  size_t bytes;
  if (adx_mul_size(chw * sizeof(float), (size_t)chunk, &bytes))
    return adx_fail(err, ADX_ERR_LIMIT, "adx_oracle_ask_images: batch of %d images is too large", B);
  float *buf = adx_alloc(bytes);
  if (!buf) return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %d robustness composites", chunk);
  adx_status st = ADX_OK;
  for (int b0 = 0; b0 < B; b0 += chunk) {
    int nb = B - b0 < chunk ? B - b0 : chunk;
    for (int j = 0; j < nb; j++)
      adx_norm_apply(&o->norm, raw + (size_t)(b0 + j) * chw, o->C, o->H, o->W, buf + (size_t)j * chw);
    adx_tensor in = {.dtype = ADX_F32, .ndim = 4, .dims = {nb, o->C, o->H, o->W}, .data = buf};
    const adx_tensor *logits;
    st = adx_engine_run(o->engine, &in, &logits, err);
    if (st) break;
    if (adx_tensor_numel(logits) != (int64_t)nb * o->nclasses) {
      st = adx_fail(err, ADX_ERR_SHAPE,
                    "adx_oracle_ask_images: model output has %lld values for %d images, "
                    "expected %d classes each",
                    (long long)adx_tensor_numel(logits), nb, o->nclasses);
      break;
    }
    for (int j = 0; j < nb && !st; j++)
      if (adx_softmax(adx_f32(logits) + (size_t)j * o->nclasses, o->nclasses, NULL,
                      out + (size_t)(b0 + j) * o->nclasses))
        st = adx_fail(err, ADX_ERR_RUNTIME,
                      "adx_oracle_ask_images: the model produced a non-finite logit (image %d)", b0 + j);
    if (st) break;
    o->queries += nb;
  }
  adx_free(buf);
  return st;
}
