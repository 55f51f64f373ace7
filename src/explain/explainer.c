/* Explainer parameters: defaults, names, config keys, validation, and the dispatch to rex / sliding.
 * The choices behind every default are in docs/explainers.md. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adx/explain.h"

void adx_explainer_default(adx_explainer *x) {
  memset(x, 0, sizeof *x);
  x->kind = ADX_EXPLAINER_REX;
  x->rex.iters = 20;
  x->rex.tree_depth = 10;
  x->rex.min_box = 0; /* 10 px at 224, scaled: adx_rex_min_box */
  x->rex.search_limit = 0;
  x->rex.confidence_filter = 0.0f;
  x->rex.seed = 0;
  x->sliding.window = 0; /* adx_sliding_window */
  x->sliding.stride = 0; /* window / 2 */
  x->confidence = 0.0f;  /* sufficiency = the target stays top-1, as in ReX */
  x->chunks = 50;        /* 2% of the image per step */
  x->refine = 1;         /* then to the pixel */
}

int adx_rex_min_box(int H, int W) {
  int m = H < W ? H : W;
  int b = (int)lround(10.0 * m / 224.0);
  return b < 2 ? 2 : b;
}

int adx_sliding_window(int H, int W) {
  int m = H < W ? H : W;
  return m / 7 < 2 ? 2 : m / 7;
}

const char *adx_explainer_name(adx_explainer_kind k) {
  return k == ADX_EXPLAINER_SLIDING ? "sliding" : "rex";
}

adx_status adx_explainer_parse(const char *name, adx_explainer *x, adx_error *err) {
  if (name && !strcmp(name, "rex"))
    x->kind = ADX_EXPLAINER_REX;
  else if (name && !strcmp(name, "sliding"))
    x->kind = ADX_EXPLAINER_SLIDING;
  else
    return adx_fail(err, ADX_ERR_ARG, "unknown explainer '%s' (valid: rex, sliding)", name ? name : "(null)");
  return ADX_OK;
}

static adx_status parse_int(const char *key, const char *v, int *out, adx_error *err) {
  char *end;
  errno = 0;
  long n = v ? strtol(v, &end, 10) : 0;
  if (!v || end == v || *end || errno || n < -2147483647L || n > 2147483647L)
    return adx_fail(err, ADX_ERR_ARG, "explainer parameter '%s': '%s' is not an integer", key, v ? v : "");
  *out = (int)n;
  return ADX_OK;
}

static adx_status parse_float(const char *key, const char *v, float *out, adx_error *err) {
  char *end;
  double d = v ? strtod(v, &end) : 0;
  if (!v || end == v || *end || !isfinite(d))
    return adx_fail(err, ADX_ERR_ARG, "explainer parameter '%s': '%s' is not a number", key, v ? v : "");
  *out = (float)d;
  return ADX_OK;
}

adx_status adx_explainer_set(adx_explainer *x, const char *key, const char *value, adx_error *err) {
  if (!key) return adx_fail(err, ADX_ERR_ARG, "explainer parameter without a name");
  if (!strcmp(key, "iters")) return parse_int(key, value, &x->rex.iters, err);
  if (!strcmp(key, "tree_depth")) return parse_int(key, value, &x->rex.tree_depth, err);
  if (!strcmp(key, "min_box_size")) return parse_int(key, value, &x->rex.min_box, err);
  if (!strcmp(key, "search_limit")) return parse_int(key, value, &x->rex.search_limit, err);
  if (!strcmp(key, "confidence_filter")) return parse_float(key, value, &x->rex.confidence_filter, err);
  if (!strcmp(key, "window")) return parse_int(key, value, &x->sliding.window, err);
  if (!strcmp(key, "stride")) return parse_int(key, value, &x->sliding.stride, err);
  if (!strcmp(key, "confidence")) return parse_float(key, value, &x->confidence, err);
  if (!strcmp(key, "chunks")) return parse_int(key, value, &x->chunks, err);
  if (!strcmp(key, "refine")) {
    int v = 0;
    adx_status s = parse_int(key, value, &v, err);
    if (!s && v != 0 && v != 1)
      s = adx_fail(err, ADX_ERR_ARG, "explainer parameter 'refine': '%s' must be 0 or 1", value);
    if (!s) x->refine = v;
    return s;
  }
  return adx_fail(err, ADX_ERR_ARG,
                  "unknown explainer parameter '%s' (valid: iters, tree_depth, min_box_size, search_limit, "
                  "confidence_filter, window, stride, confidence, chunks, refine)",
                  key);
}

/* A step of rex asks the ADX_REX_MUTANTS mutants of one box at least: a smaller positive limit could never
 * run. */
adx_status adx_explainer_check(const adx_explainer *x, int H, int W, adx_error *err) {
  if (H < 1 || W < 1) return adx_fail(err, ADX_ERR_ARG, "explainer: image size %dx%d", H, W);
  int m = H < W ? H : W;
  if (x->kind != ADX_EXPLAINER_REX && x->kind != ADX_EXPLAINER_SLIDING)
    return adx_fail(err, ADX_ERR_ARG, "explainer: unknown kind %d", (int)x->kind);
  if (x->kind == ADX_EXPLAINER_REX) {
    const adx_rex_params *r = &x->rex;
    if (r->iters < 1)
      return adx_fail(err, ADX_ERR_ARG, "explainer parameter 'iters' is %d; must be >= 1", r->iters);
    if (r->tree_depth < 1)
      return adx_fail(err, ADX_ERR_ARG, "explainer parameter 'tree_depth' is %d; must be >= 1",
                      r->tree_depth);
    if (r->min_box < 0)
      return adx_fail(err, ADX_ERR_ARG,
                      "explainer parameter 'min_box_size' is %d; must be >= 1 (0 = default)", r->min_box);
    if (2 * (int64_t)r->min_box > m)
      return adx_fail(
          err, ADX_ERR_ARG,
          "explainer parameter 'min_box_size' is %d: too large for a %dx%d image (at most %d, so that "
          "the image can be split)",
          r->min_box, H, W, m / 2);
    if (r->search_limit < 0 || (r->search_limit > 0 && r->search_limit < ADX_REX_MUTANTS))
      return adx_fail(err, ADX_ERR_ARG,
                      "explainer parameter 'search_limit' is %d; must be 0 (unlimited) or >= %d",
                      r->search_limit, ADX_REX_MUTANTS);
    if (!(r->confidence_filter >= 0 && r->confidence_filter <= 1))
      return adx_fail(err, ADX_ERR_ARG, "explainer parameter 'confidence_filter' is %g; must be in [0, 1]",
                      (double)r->confidence_filter);
  } else {
    const adx_sliding_params *s = &x->sliding;
    if (s->window < 0 || s->window > m)
      return adx_fail(err, ADX_ERR_ARG,
                      "explainer parameter 'window' is %d; must be in [1, %d] (0 = default)", s->window, m);
    if (s->stride < 0 || s->stride > m)
      return adx_fail(err, ADX_ERR_ARG,
                      "explainer parameter 'stride' is %d; must be in [1, %d] (0 = default)", s->stride, m);
  }
  if (!(x->confidence >= 0 && x->confidence <= 1))
    return adx_fail(err, ADX_ERR_ARG, "explainer parameter 'confidence' is %g; must be in [0, 1]",
                    (double)x->confidence);
  if (x->refine != 0 && x->refine != 1)
    return adx_fail(err, ADX_ERR_ARG, "explainer parameter 'refine' is %d; must be 0 or 1", x->refine);
  if (x->chunks < 1 || (int64_t)x->chunks > (int64_t)H * W)
    return adx_fail(err, ADX_ERR_ARG, "explainer parameter 'chunks' is %d; must be in [1, %lld] (pixels)",
                    x->chunks, (long long)H * W);
  return ADX_OK;
}

adx_status adx_explain_responsibility(const adx_explainer *x, adx_oracle *o, int target, uint64_t seed,
                                      float *resp, adx_error *err) {
  if (!x || !o || !resp) return adx_fail(err, ADX_ERR_ARG, "explain: missing explainer, oracle or map");
  adx_status s = adx_explainer_check(x, o->H, o->W, err);
  if (s) return s;
  if (target < 0 || target >= o->nclasses)
    return adx_fail(err, ADX_ERR_ARG, "explain: target class %d outside [0, %d)", target, o->nclasses);
  if (x->kind == ADX_EXPLAINER_SLIDING) return adx_sliding_responsibility(&x->sliding, o, target, resp, err);
  return adx_rex_responsibility(&x->rex, o, target, seed, resp, err);
}
