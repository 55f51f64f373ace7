/* The option groups shared by several commands (cli.h): resource caps, preprocessing, and what a bare
 * "ad" means. */
#include <limits.h>

#include "args.h"
#include "cli.h"

adx_status adx_cli_caps_set(adx_cli_caps *c, int k, const char *v, adx_error *err) {
  long l;
  adx_status s;
  switch (k) {
  case 0:
    if (!(s = adx_arg_int("max-tensor-elems", v, 1, LONG_MAX, &l, err))) c->tensor_elems = l;
    return s;
  case 1: return adx_arg_size("max-activation-mem", v, &c->activation_bytes, err);
  case 2:
    if (!(s = adx_arg_int("max-image-pixels", v, 1, LONG_MAX, &l, err))) c->image_pixels = l;
    return s;
  default: return adx_fail(err, ADX_ERR_ARG, "resource cap %d does not exist", k);
  }
}

void adx_cli_caps_apply(const adx_cli_caps *c, adx_model_limits *model, adx_image_limits *image) {
  if (model) {
    adx_model_limits_default(model);
    if (c->tensor_elems > 0) model->max_tensor_elems = c->tensor_elems;
    if (c->activation_bytes > 0) model->max_activation_bytes = c->activation_bytes;
  }
  if (image) {
    adx_image_limits_default(image);
    if (c->image_pixels > 0) image->max_pixels = c->image_pixels;
  }
}

adx_status adx_cli_ad_bare(const adx_cli_ad *a, adx_ad_opts *o, adx_error *err) {
  return adx_ad_opts_from_flags(a->v[0], a->v[1], a->v[2], a->v[3], o, err);
}

int adx_cli_ad_any(const adx_cli_ad *a) { return a->v[0] || a->v[1] || a->v[2] || a->v[3]; }

adx_status adx_cli_preproc_set(adx_preproc *p, int k, const char *v, adx_error *err) {
  static const char *const keys[] = {"resize", "crop", "scale", "mean", "std"};
  if (k < 0 || k > 4) return adx_fail(err, ADX_ERR_ARG, "preprocessing option %d does not exist", k);
  adx_status s = adx_preproc_set(p, keys[k], v, err);
  if (s) adx_error_prefix(err, "--");
  return s;
}
