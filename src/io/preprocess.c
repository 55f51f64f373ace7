/* Image preprocessing: channel conversion, resize + centre crop (raw pixels), then normalisation.
 * The order and conventions follow torchvision's Resize(int) -> CenterCrop -> ToTensor -> Normalize,
 * with PyTorch's non-antialiased bilinear interpolation (half-pixel centres). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/ir.h"
#include "adx/io.h"

#define PREPROC_MAX_SIZE 65536

void adx_preproc_default(adx_preproc *p) {
  memset(p, 0, sizeof *p);
  p->norm.scale = 1.0f / 255.0f;
}

/* ------------------------------------------------------------------ parsing settings */

static int parse_double(const char *s, const char *stop, double *out) {
  while (s < stop && isspace((unsigned char)*s)) s++;
  while (stop > s && isspace((unsigned char)stop[-1])) stop--;
  if (s == stop || stop - s > 63) return -1;
  char buf[64];
  memcpy(buf, s, (size_t)(stop - s));
  buf[stop - s] = '\0';
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (*end || errno || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

static int parse_int(const char *s, const char *stop, int lo, int hi, int *out) {
  while (s < stop && isspace((unsigned char)*s)) s++;
  while (stop > s && isspace((unsigned char)stop[-1])) stop--;
  if (s == stop) return -1;
  long v = 0;
  for (const char *q = s; q < stop; q++) {
    if (!isdigit((unsigned char)*q)) return -1;
    v = v * 10 + (*q - '0');
    if (v > hi) return -1;
  }
  if (v < lo) return -1;
  *out = (int)v;
  return 0;
}

/* "a,b,c" -> up to 4 numbers; returns the count or -1. */
static int parse_list(const char *s, float *v, int positive) {
  int n = 0;
  for (;;) {
    const char *comma = strchr(s, ',');
    const char *stop = comma ? comma : s + strlen(s);
    double d;
    if (n == 4 || parse_double(s, stop, &d) || (positive && !(d > 0)) || fabs(d) > 3.4e38) return -1;
    v[n++] = (float)d;
    if (!comma) return n;
    s = comma + 1;
  }
}

adx_status adx_preproc_set(adx_preproc *p, const char *key, const char *value, adx_error *err) {
  const char *end = value + strlen(value);
  if (!strcmp(key, "resize")) {
    if (parse_int(value, end, 0, PREPROC_MAX_SIZE, &p->resize))
      return adx_fail(err, ADX_ERR_ARG, "resize: '%s' is not a size in 0..%d (0 = no resize)", value,
                      PREPROC_MAX_SIZE);
  } else if (!strcmp(key, "crop")) {
    const char *x = strchr(value, 'x');
    int h, w;
    if (x ? parse_int(value, x, 1, PREPROC_MAX_SIZE, &h) || parse_int(x + 1, end, 1, PREPROC_MAX_SIZE, &w)
          : parse_int(value, end, 0, PREPROC_MAX_SIZE, &h))
      return adx_fail(err, ADX_ERR_ARG, "crop: '%s' is not N or HxW with sizes in 1..%d (0 = no crop)", value,
                      PREPROC_MAX_SIZE);
    p->crop_h = h;
    p->crop_w = x ? w : h;
  } else if (!strcmp(key, "scale")) {
    const char *slash = strchr(value, '/');
    double a, b = 1;
    if ((slash ? parse_double(value, slash, &a) || parse_double(slash + 1, end, &b)
               : parse_double(value, end, &a)) ||
        !(b > 0) || !(a / b > 0) || a / b > 3.4e38)
      return adx_fail(err, ADX_ERR_ARG, "scale: '%s' is not a positive number or fraction (e.g. 1/255)",
                      value);
    p->norm.scale = (float)(a / b);
  } else if (!strcmp(key, "mean")) {
    float v[4];
    int n = parse_list(value, v, 0);
    if (n < 0) return adx_fail(err, ADX_ERR_ARG, "mean: '%s' is not a list of 1 to 4 numbers", value);
    p->norm.nmean = n;
    memcpy(p->norm.mean, v, sizeof v);
  } else if (!strcmp(key, "std")) {
    float v[4];
    int n = parse_list(value, v, 1);
    if (n < 0) return adx_fail(err, ADX_ERR_ARG, "std: '%s' is not a list of 1 to 4 positive numbers", value);
    p->norm.nstd = n;
    memcpy(p->norm.std, v, sizeof v);
  } else {
    return adx_fail(err, ADX_ERR_ARG,
                    "unknown preprocessing key '%s' (known: resize, crop, scale, mean, std)", key);
  }
  static const char *const keys[] = {"resize", "crop", "scale", "mean", "std"};
  for (unsigned i = 0; i < 5; i++)
    if (!strcmp(key, keys[i])) p->given |= 1u << i;
  return ADX_OK;
}

adx_status adx_preproc_from_model(adx_preproc *p, const struct adx_graph *g, adx_error *err) {
  static const char *const keys[] = {"scale", "mean", "std"};
  static const unsigned bits[] = {ADX_PREPROC_SCALE, ADX_PREPROC_MEAN, ADX_PREPROC_STD};
  unsigned given = p->given;
  for (int i = 0; i < 3; i++) {
    char name[32];
    snprintf(name, sizeof name, "preprocess.%s", keys[i]);
    const char *v = adx_graph_meta(g, name);
    if (!v || (given & bits[i])) continue;
    if (adx_preproc_set(p, keys[i], v, err)) {
      p->given = given;
      adx_error_prefix(err, "%s: metadata_props %s: ", g->path ? g->path : "model", name);
      if (err) err->code = ADX_ERR_FORMAT;
      return ADX_ERR_FORMAT;
    }
  }
  p->given = given; /* the model's values are defaults: a later flag still overrides them */
  return ADX_OK;
}

/* ------------------------------------------------------------------ geometry */

/* round(d / 2) with ties to even, as Python's round() in torchvision's CenterCrop */
static int half_round_even(int d) {
  int k = d / 2;
  return (d % 2 == 0) ? k : (k % 2 == 0 ? k : k + 1);
}

/* The resize and crop of an h x w image for a model input of mh x mw: the resized size rh x rw and the
 * crop offsets top, left. */
static adx_status plan_geometry(const adx_preproc *p, int h, int w, int mh, int mw, int *rh_, int *rw_,
                                int *top_, int *left_, adx_error *err) {
  int rh = h, rw = w;
  if (p->resize > 0) {
    if (h <= w)
      rh = p->resize, rw = (int)((int64_t)p->resize * w / h);
    else
      rw = p->resize, rh = (int)((int64_t)p->resize * h / w);
  }
  int ch = rh, cw = rw, top = 0, left = 0;
  if (p->crop_h > 0 && p->crop_w > 0) {
    if (p->crop_h > rh || p->crop_w > rw)
      return adx_fail(err, ADX_ERR_SHAPE, "crop %dx%d is larger than the %simage, %dx%d (HxW)", p->crop_h,
                      p->crop_w, p->resize > 0 ? "resized " : "", rh, rw);
    top = half_round_even(rh - p->crop_h);
    left = half_round_even(rw - p->crop_w);
    ch = p->crop_h;
    cw = p->crop_w;
  }
  if (ch != mh || cw != mw) {
    if (p->resize <= 0 && p->crop_h <= 0)
      return adx_fail(err, ADX_ERR_SHAPE,
                      "image is %dx%d (HxW) but the model input is %dx%d; set resize and/or crop to adapt it",
                      h, w, mh, mw);
    return adx_fail(err, ADX_ERR_SHAPE,
                    "image is %dx%d (HxW), %dx%d after resize/crop, but the model input is %dx%d", h, w, ch,
                    cw, mh, mw);
  }
  *rh_ = rh, *rw_ = rw, *top_ = top, *left_ = left;
  return ADX_OK;
}

adx_status adx_preproc_geometry(const adx_preproc *p, const adx_image *in, int mc, int mh, int mw,
                                adx_image *out, adx_error *err) {
  memset(out, 0, sizeof *out);
  if (!in->data || in->channels <= 0 || in->height <= 0 || in->width <= 0)
    return adx_fail(err, ADX_ERR_ARG, "empty image");
  if (mc <= 0 || mh <= 0 || mw <= 0)
    return adx_fail(err, ADX_ERR_SHAPE, "bad model input size %dx%dx%d", mc, mh, mw);
  int ic = in->channels, luma = ic == 3 && mc == 1;
  if (!(ic == mc || ic == 1 || luma))
    return adx_fail(err, ADX_ERR_SHAPE, "image has %d channels but the model expects %d", ic, mc);
  if (p->norm.nmean > 1 && p->norm.nmean != mc)
    return adx_fail(err, ADX_ERR_ARG, "mean has %d values but the model has %d channels", p->norm.nmean, mc);
  if (p->norm.nstd > 1 && p->norm.nstd != mc)
    return adx_fail(err, ADX_ERR_ARG, "std has %d values but the model has %d channels", p->norm.nstd, mc);
  int h = in->height, w = in->width, rh, rw, top, left;
  adx_status ps = plan_geometry(p, h, w, mh, mw, &rh, &rw, &top, &left, err);
  if (ps) return ps;
  size_t iplane = (size_t)h * w;
  const float *src = in->data;
  float *grey = NULL;
  int wc = ic;
  if (luma) { /* ITU-R BT.601; reduce channels before resizing (both steps are linear) */
    grey = malloc(sizeof(float) * iplane);
    if (!grey) return adx_fail(err, ADX_ERR_NOMEM, "out of memory converting a %dx%d image to grey", h, w);
    const float *r = src, *g = src + iplane, *b = src + 2 * iplane;
    for (size_t i = 0; i < iplane; i++) grey[i] = 0.299f * r[i] + 0.587f * g[i] + 0.114f * b[i];
    src = grey;
    wc = 1;
  }
  adx_status s = adx_image_alloc(out, mc, mh, mw, err);
  if (s) {
    free(grey);
    return s;
  }
  if (rh != h || rw != w) {
    adx_image_resize(src, wc, h, w, rh, rw, top, left, out->data, mh, mw);
  } else {
    for (int c = 0; c < wc; c++)
      for (int y = 0; y < mh; y++)
        memcpy(out->data + ((size_t)c * mh + y) * mw, src + c * iplane + (size_t)(y + top) * w + left,
               sizeof(float) * (size_t)mw);
  }
  size_t oplane = (size_t)mh * mw;
  for (int c = wc; c < mc; c++) memcpy(out->data + c * oplane, out->data, sizeof(float) * oplane);
  free(grey);
  return ADX_OK;
}

adx_status adx_preproc_geometry_mask(const adx_preproc *p, const uint8_t *in, int h, int w, int mh, int mw,
                                     uint8_t *out, adx_error *err) {
  if (!in || h <= 0 || w <= 0) return adx_fail(err, ADX_ERR_ARG, "empty mask");
  int rh, rw, top, left;
  adx_status s = plan_geometry(p, h, w, mh, mw, &rh, &rw, &top, &left, err);
  if (s) return s;
  for (int y = 0; y < mh; y++) {
    int64_t sy = ((int64_t)2 * (y + top) + 1) * h / (2 * (int64_t)rh); /* floor((y + top + 0.5) h / rh) */
    if (sy > h - 1) sy = h - 1;
    for (int x = 0; x < mw; x++) {
      int64_t sx = ((int64_t)2 * (x + left) + 1) * w / (2 * (int64_t)rw);
      if (sx > w - 1) sx = w - 1;
      out[(size_t)y * mw + x] = in[(size_t)sy * w + sx] != 0;
    }
  }
  return ADX_OK;
}

void adx_preproc_normalize(const adx_preproc *p, const float *raw, int c, int h, int w, float *out) {
  adx_norm_apply(&p->norm, raw, c, h, w, out);
}
