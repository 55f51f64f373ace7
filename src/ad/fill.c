/* Fill-value occlusion: hidden pixels are replaced in raw pixel space, before normalisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"

void adx_norm_identity(adx_norm *n) {
  memset(n, 0, sizeof *n);
  n->scale = 1.0f; /* nmean = nstd = 0: mean 0, std 1 */
}

void adx_norm_apply(const adx_norm *n, const float *raw, int c, int h, int w, float *out) {
  size_t hw = (size_t)h * (size_t)w;
  for (int ch = 0; ch < c; ch++) {
    float mean = n->nmean <= 0 ? 0.0f : n->mean[ch < n->nmean ? ch : 0];
    float std = n->nstd <= 0 ? 1.0f : n->std[ch < n->nstd ? ch : 0];
    const float *r = raw + (size_t)ch * hw;
    float *o = out + (size_t)ch * hw;
    for (size_t i = 0; i < hw; i++) o[i] = (r[i] * n->scale - mean) / std;
  }
}

/* Separable Gaussian blur of one plane with clamped borders. */
static adx_status blur_plane(const float *in, int h, int w, float sigma, float *out, adx_error *err) {
  int rad = (int)ceilf(3.0f * sigma);
  if (rad < 1) rad = 1;
  float *k = malloc(sizeof(float) * (size_t)(2 * rad + 1));
  float *tmp = malloc(sizeof(float) * (size_t)h * (size_t)w);
  if (!k || !tmp) {
    free(k);
    free(tmp);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory for the blur fill");
  }
  float sum = 0;
  for (int i = -rad; i <= rad; i++) sum += k[i + rad] = expf(-0.5f * (float)(i * i) / (sigma * sigma));
  for (int i = 0; i <= 2 * rad; i++) k[i] /= sum;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int i = -rad; i <= rad; i++) {
        int xx = x + i < 0 ? 0 : (x + i >= w ? w - 1 : x + i);
        acc += k[i + rad] * in[(size_t)y * w + xx];
      }
      tmp[(size_t)y * w + x] = acc;
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int i = -rad; i <= rad; i++) {
        int yy = y + i < 0 ? 0 : (y + i >= h ? h - 1 : y + i);
        acc += k[i + rad] * tmp[(size_t)yy * w + x];
      }
      out[(size_t)y * w + x] = acc;
    }
  free(k);
  free(tmp);
  return ADX_OK;
}

adx_status adx_fill_source(const adx_mode *m, const float *raw, int c, int h, int w, float *out,
                           adx_error *err) {
  if (m->kind != ADX_MODE_FILL)
    return adx_fail(err, ADX_ERR_ARG, "fill source requested for a non-fill mode");
  size_t hw = (size_t)h * (size_t)w;
  adx_rng rng;
  adx_rng_seed(&rng, m->seed);
  for (int ch = 0; ch < c; ch++) {
    const float *r = raw + (size_t)ch * hw;
    float *o = out + (size_t)ch * hw;
    double lo = r[0], hi = r[0], sum = 0;
    for (size_t i = 0; i < hw; i++) {
      if (r[i] < lo) lo = r[i];
      if (r[i] > hi) hi = r[i];
      sum += r[i];
    }
    float v = 0;
    switch (m->fill) {
    case ADX_FILL_ZERO: v = 0; break;
    case ADX_FILL_MIN: v = (float)lo; break;
    case ADX_FILL_MAX: v = (float)hi; break;
    case ADX_FILL_MEAN: v = (float)(sum / (double)hw); break;
    case ADX_FILL_VALUE: v = m->value; break;
    case ADX_FILL_BLUR: {
      float sigma = ADX_FILL_BLUR_SIGMA * (float)(h < w ? h : w);
      adx_status s = blur_plane(r, h, w, sigma > 0.5f ? sigma : 0.5f, o, err);
      if (s) return s;
      continue;
    }
    case ADX_FILL_NOISE:
      for (size_t i = 0; i < hw; i++) o[i] = (float)(lo + (hi - lo) * adx_rng_uniform(&rng));
      continue;
    }
    for (size_t i = 0; i < hw; i++) o[i] = v;
  }
  return ADX_OK;
}

void adx_fill_apply(const adx_norm *n, const float *raw, const float *source, const uint8_t *masks, int B,
                    int c, int h, int w, float *out) {
  size_t hw = (size_t)h * (size_t)w, chw = (size_t)c * hw;
#pragma omp parallel for schedule(static) if (B > 1)
  for (int b = 0; b < B; b++) {
    const uint8_t *m = masks + (size_t)b * hw;
    float *o = out + (size_t)b * chw;
    for (int ch = 0; ch < c; ch++)
      for (size_t i = 0; i < hw; i++) o[ch * hw + i] = m[i] ? raw[ch * hw + i] : source[ch * hw + i];
    adx_norm_apply(n, o, c, h, w, o); /* in place: each element depends only on itself */
  }
}
