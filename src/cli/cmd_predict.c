/* adx predict: class probabilities for images (PNG/JPEG, preprocessed) or .npy arrays (fed as is),
 * one JSON object per line on stdout. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/ad.h"
#include "adx/engine.h"
#include "adx/io.h"
#include "adx/model.h"
#include "args.h"
#include "cli.h"

enum {
  O_MODEL,
  O_CONFIG,
  ADX_CLI_PREPROC_IDS,
  O_TOP,
  O_LOGITS,
  O_THREADS,
  O_BATCH,
  O_MODE,
  O_MASK,
  ADX_CLI_AD_IDS,
  O_SEED,
  ADX_CLI_CAP_IDS,
  O_HELP
};

static const adx_opt opts[] = {
    {"model", 'm', 1, "FILE", "ONNX model (required)"},
    {"config", 'c', 1, "FILE", "INI file: [preprocess] resize/crop/scale/mean/std, [predict] other options"},
    ADX_CLI_PREPROC_OPTS,
    {"top", 'k', 1, "K", "classes listed in \"top\" (default 5)"},
    {"logits", 0, 0, NULL, "also print the raw logits"},
    {"threads", 't', 1, "T", "OpenMP threads (default: OMP_NUM_THREADS, else all cores)"},
    {"batch", 'b', 1, "B", "images per forward pass (default 16)"},
    {"mode", 0, 1, "MODE",
     "plain (default), ad, ad:RULE:POOL:RENORM:AT, or fill:zero|min|max|mean|blur|noise|<number>"},
    {"mask", 0, 1, "MASK.png", "grey image at model input size, nonzero = visible (ad/fill modes)"},
    ADX_CLI_AD_OPTS,
    {"seed", 0, 1, "S", "seed for fill:noise (default 0)"},
    ADX_CLI_CAP_OPTS,
    {"help", 'h', 0, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct cls_prob {
  double p;
  int cls;
} cls_prob;

typedef struct predict {
  /* settings */
  const char *model, *mode_name, *mask;
  adx_cli_ad ad;
  adx_preproc pp;
  long top, threads, batch;
  int logits;
  uint64_t seed;
  adx_cli_caps caps;        /* resource caps */
  adx_image_limits img_lim; /* images and the mask, from caps */
  adx_mode mode;
  uint8_t *masks;  /* the mask replicated for a batch: [batch, H, W] */
  float *raw;      /* raw pixels of each slot [batch, sample] (fill modes) */
  float *source;   /* fill source of one sample */
  uint8_t *is_npy; /* per slot: fed as is (identity normalisation) */
  int warned;
  /* run state */
  adx_graph *g;
  adx_engine *e;
  int sndim;                   /* per-sample input rank (model input rank - 1) */
  int64_t sdims[ADX_MAX_DIMS]; /* per-sample input shape */
  size_t snumel;
  adx_tensor buf; /* [batch, sample...] */
  int fill;       /* samples in buf */
  char **names;   /* display name per slot */
  cls_prob *sorted;
  double *probs;
  int64_t nclasses;
} predict;

/* ------------------------------------------------------------------ settings */

static adx_status set_option(predict *p, int opt, const char *v, adx_error *err) {
  long l;
  adx_status s = ADX_OK;
  switch (opt) {
  case O_MODEL: p->model = v; break;
  case O_RESIZE:
  case O_CROP:
  case O_SCALE:
  case O_MEAN:
  case O_STD: s = adx_cli_preproc_set(&p->pp, opt - O_RESIZE, v, err); break;
  case O_TOP:
    if (!(s = adx_arg_int("top", v, 0, 1000000, &l, err))) p->top = l;
    break;
  case O_LOGITS:
    if (v)
      s = adx_arg_bool("logits", v, &p->logits, err);
    else
      p->logits = 1;
    break;
  case O_THREADS:
    if (!(s = adx_arg_int("threads", v, 0, 4096, &l, err))) p->threads = l;
    break;
  case O_BATCH:
    if (!(s = adx_arg_int("batch", v, 1, 65536, &l, err))) p->batch = l;
    break;
  case O_MODE: p->mode_name = v; break;
  case O_MASK: p->mask = v; break;
  case O_AD_RULE:
  case O_AD_POOL:
  case O_AD_RENORM:
  case O_AD_AT: p->ad.v[opt - O_AD_RULE] = v; break;
  case O_SEED:
    if (!(s = adx_arg_int("seed", v, 0, LONG_MAX, &l, err))) p->seed = (uint64_t)l;
    break;
  case O_MAX_TENSOR:
  case O_MAX_ACT:
  case O_MAX_PIXELS: s = adx_cli_caps_set(&p->caps, opt - O_MAX_TENSOR, v, err); break;
  default: break;
  }
  return s;
}

/* Config file first ([preprocess], then [predict]); the command line overrides it. [explain] belongs to
 * the other command and is left alone; any other section is refused (adx_cli_config_section). */
static adx_status set_from_config(void *p, int opt, const char *v, adx_error *err) {
  return set_option(p, opt, v, err);
}

/* The [predict] keys are the long options less config, help and the [preprocess] keys. */
static adx_status apply_config(predict *p, const adx_config *cfg, adx_error *err) {
  static const int except[] = {O_CONFIG, ADX_CLI_PREPROC_IDS, O_HELP, -1};
  adx_status s = adx_config_apply_preprocess(cfg, &p->pp, err);
  return s ? s : adx_cli_config_section(cfg, "predict", opts, except, 0, set_from_config, p, err);
}

/* ------------------------------------------------------------------ modes */

/* Every mode-specific decision lives here and in predict_forward(). */
static adx_status mode_parse(predict *p, adx_error *err) {
  const char *m = p->mode_name ? p->mode_name : "plain";
  adx_ad_opts bare;
  adx_status s = adx_cli_ad_bare(&p->ad, &bare, err);
  if (s) return s;
  if ((s = adx_mode_parse_with(m, &bare, &p->mode, err))) return adx_error_prefix(err, "--mode: ");
  p->mode.seed = p->seed;
  if (p->mode.kind != ADX_MODE_PLAIN && !p->mask)
    return adx_fail(err, ADX_ERR_ARG, "--mode %s needs --mask MASK.png (nonzero = visible)", m);
  if (p->mode.kind == ADX_MODE_PLAIN && p->mask)
    return adx_fail(err, ADX_ERR_ARG, "--mask needs --mode ad or fill:VALUE (the mode is %s)", m);
  if (strcmp(m, "ad") && adx_cli_ad_any(&p->ad))
    return adx_fail(
        err, ADX_ERR_ARG,
        "--ad-rule, --ad-pool, --ad-renorm and --ad-at set what a bare --mode ad means (the mode is %s)", m);
  return ADX_OK;
}

/* Load the mask (a grey image at model input size) and replicate it for a batch. */
static adx_status load_mask(predict *p, adx_error *err) {
  if (p->mode.kind == ADX_MODE_PLAIN) return ADX_OK;
  if (p->sndim != 3)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: --mode %s needs an image input [N,C,H,W]", p->model,
                    p->mode_name);
  int C = (int)p->sdims[0], H = (int)p->sdims[1], W = (int)p->sdims[2];
  adx_image img;
  adx_status s = adx_image_load(p->mask, &p->img_lim, &img, err);
  if (s) return s;
  if (img.height != H || img.width != W) {
    s = adx_fail(err, ADX_ERR_SHAPE, "%s: mask is %dx%d (WxH) but the model input is %dx%d", p->mask,
                 img.width, img.height, W, H);
    adx_image_free(&img);
    return s;
  }
  size_t hw = (size_t)H * (size_t)W;
  p->masks = malloc(hw * (size_t)p->batch);
  p->raw = malloc(sizeof(float) * p->snumel * (size_t)p->batch);
  p->source = malloc(sizeof(float) * p->snumel);
  p->is_npy = calloc((size_t)p->batch, 1);
  if (!p->masks || !p->raw || !p->source || !p->is_npy) {
    adx_image_free(&img);
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < hw; i++) {
    int vis = 0;
    for (int c = 0; c < img.channels; c++) vis |= img.data[(size_t)c * hw + i] != 0.0f;
    p->masks[i] = (uint8_t)vis;
  }
  for (long b = 1; b < p->batch; b++) memcpy(p->masks + (size_t)b * hw, p->masks, hw);
  adx_image_free(&img);
  (void)C;
  return ADX_OK;
}

static void norm_of(const predict *p, int slot, adx_norm *n) {
  if (p->is_npy[slot]) /* arrays are fed as is: fill values are in the array's own units */
    adx_norm_identity(n);
  else
    *n = p->pp.norm;
}

static adx_status predict_forward(predict *p, const adx_tensor *in, const adx_tensor **out, adx_error *err) {
  adx_status s;
  switch (p->mode.kind) {
  case ADX_MODE_PLAIN: return adx_engine_run(p->e, in, out, err);
  case ADX_MODE_AD:
    if ((s = adx_engine_run_ad(p->e, in, p->masks, &p->mode.ad, out, err))) return s;
    if (!p->warned && adx_engine_ad_fallback(p->e)) {
      fprintf(
          stderr,
          "adx predict: warning: AD follows %s only up to node '%s'; from there on it computes plainly on "
          "the deactivated zeros (see docs/ad.md)\n",
          p->model, adx_engine_ad_fallback(p->e));
      p->warned = 1;
    }
    return ADX_OK;
  case ADX_MODE_FILL: {
    int C = (int)p->sdims[0], H = (int)p->sdims[1], W = (int)p->sdims[2];
    for (int64_t b = 0; b < in->dims[0]; b++) {
      adx_norm n;
      norm_of(p, (int)b, &n);
      const float *raw = p->raw + (size_t)b * p->snumel;
      if ((s = adx_fill_source(&p->mode, raw, C, H, W, p->source, err))) return s;
      adx_fill_apply(&n, raw, p->source, p->masks, 1, C, H, W, adx_f32(in) + (size_t)b * p->snumel);
    }
    return adx_engine_run(p->e, in, out, err);
  }
  }
  return adx_fail(err, ADX_ERR_INTERNAL, "predict: bad mode %d", (int)p->mode.kind);
}

/* ------------------------------------------------------------------ output */

static void json_num(FILE *f, double v) {
  if (isfinite(v))
    fprintf(f, "%.9g", v);
  else
    fputs("null", f); /* JSON has no NaN/Inf */
}

static int cmp_prob(const void *a, const void *b) {
  const cls_prob *x = a, *y = b;
  int xn = isnan(x->p), yn = isnan(y->p);
  if (xn != yn) return xn - yn; /* NaN last */
  if (!xn && x->p != y->p) return x->p < y->p ? 1 : -1;
  return x->cls - y->cls;
}

static void emit(predict *p, const char *name, const float *logits) {
  int64_t C = p->nclasses;
  adx_softmax(logits, C, p->probs, NULL); /* non-finite logits give NaN probabilities, listed last */
  for (int64_t i = 0; i < C; i++) {
    p->sorted[i].p = p->probs[i];
    p->sorted[i].cls = (int)i;
  }
  qsort(p->sorted, (size_t)C, sizeof *p->sorted, cmp_prob);
  FILE *f = stdout;
  fputs("{\"image\": ", f);
  adx_cli_json_str(f, name);
  fputs(", \"top\": [", f);
  int64_t k = p->top < C ? p->top : C;
  for (int64_t i = 0; i < k; i++) {
    fprintf(f, "%s[%d, ", i ? ", " : "", p->sorted[i].cls);
    json_num(f, p->sorted[i].p);
    fputc(']', f);
  }
  fputs("], \"probs\": [", f);
  for (int64_t i = 0; i < C; i++) {
    if (i) fputs(", ", f);
    json_num(f, p->probs[i]);
  }
  fputc(']', f);
  if (p->logits) {
    fputs(", \"logits\": [", f);
    for (int64_t i = 0; i < C; i++) {
      if (i) fputs(", ", f);
      json_num(f, logits[i]);
    }
    fputc(']', f);
  }
  fputs("}\n", f);
}

/* ------------------------------------------------------------------ batching */

static adx_status flush(predict *p, adx_error *err) {
  if (p->fill == 0) return ADX_OK;
  adx_tensor in = p->buf; /* a view of the first `fill` samples */
  in.dims[0] = p->fill;
  in.owns_data = 0;
  const adx_tensor *out = NULL;
  adx_status s = predict_forward(p, &in, &out, err);
  if (s) return s;
  int64_t n = adx_tensor_numel(out);
  if (out->dtype != ADX_F32 || out->ndim < 1 || out->dims[0] != p->fill || n % p->fill || n == 0)
    return adx_fail(err, ADX_ERR_RUNTIME, "%s: model output has an unexpected shape or type", p->model);
  int64_t C = n / p->fill;
  if (C != p->nclasses) {
    free(p->sorted);
    free(p->probs);
    p->sorted = malloc(sizeof *p->sorted * (size_t)C);
    p->probs = malloc(sizeof *p->probs * (size_t)C);
    p->nclasses = C;
    if (!p->sorted || !p->probs)
      return adx_fail(err, ADX_ERR_NOMEM, "out of memory for %lld classes", (long long)C);
  }
  for (int i = 0; i < p->fill; i++) emit(p, p->names[i], adx_f32(out) + (size_t)i * C);
  for (int i = 0; i < p->fill; i++) free(p->names[i]), p->names[i] = NULL;
  p->fill = 0;
  if (fflush(stdout) != 0)
    return adx_fail(err, ADX_ERR_RUNTIME, "writing standard output: %s", strerror(errno));
  return ADX_OK;
}

/* Slot for the next sample, flushing a full batch first. The name is copied. */
static adx_status next_slot(predict *p, const char *name, float **slot, adx_error *err) {
  if (p->fill == p->batch) {
    adx_status s = flush(p, err);
    if (s) return s;
  }
  p->names[p->fill] = strdup(name);
  if (!p->names[p->fill]) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  *slot = adx_f32(&p->buf) + (size_t)p->fill * p->snumel;
  p->fill++;
  return ADX_OK;
}

static int is_npy(const char *path) {
  unsigned char m[6] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  size_t n = fread(m, 1, 6, f);
  fclose(f);
  return n == 6 && !memcmp(m, "\x93NUMPY", 6);
}

static adx_status feed_npy(predict *p, const char *path, adx_error *err) {
  adx_tensor t;
  adx_status s = adx_npy_load(path, &t, err);
  if (s) return s;
  char got[256], want[256];
  adx_dims_str(t.dims, t.ndim, got, sizeof got);
  adx_dims_str(p->sdims, p->sndim, want, sizeof want);
  int64_t n = -1;
  if (t.ndim == p->sndim && !memcmp(t.dims, p->sdims, sizeof(int64_t) * (size_t)p->sndim))
    n = 1;
  else if (t.ndim == p->sndim + 1 && !memcmp(t.dims + 1, p->sdims, sizeof(int64_t) * (size_t)p->sndim))
    n = t.dims[0];
  if (t.dtype != ADX_F32)
    s = adx_fail(err, ADX_ERR_UNSUPPORTED,
                 "%s: an int64 array cannot be a model input (float32 or uint8 only)", path);
  else if (n < 0)
    s = adx_fail(err, ADX_ERR_SHAPE,
                 "%s: array shape %s does not match the model input %s (per sample) or [N,%s", path, got,
                 want, want + 1);
  for (int64_t i = 0; i < n && !s; i++) {
    char name[4096 + 32];
    if (t.ndim == p->sndim)
      snprintf(name, sizeof name, "%s", path);
    else
      snprintf(name, sizeof name, "%s[%lld]", path, (long long)i);
    float *slot = NULL;
    if (!(s = next_slot(p, name, &slot, err))) {
      memcpy(slot, adx_f32(&t) + (size_t)i * p->snumel, sizeof(float) * p->snumel);
      if (p->raw) {
        memcpy(p->raw + (size_t)(p->fill - 1) * p->snumel, slot, sizeof(float) * p->snumel);
        p->is_npy[p->fill - 1] = 1;
      }
    }
  }
  adx_tensor_free(&t);
  return s;
}

static adx_status feed_image(predict *p, const char *path, adx_error *err) {
  if (p->sndim != 3)
    return adx_fail(err, ADX_ERR_UNSUPPORTED,
                    "%s: the model input has rank %d, images need [N,C,H,W]; pass a .npy array", path,
                    p->sndim + 1);
  adx_image img, raw;
  adx_status s = adx_image_load(path, &p->img_lim, &img, err);
  if (s) return s;
  s = adx_preproc_geometry(&p->pp, &img, (int)p->sdims[0], (int)p->sdims[1], (int)p->sdims[2], &raw, err);
  adx_image_free(&img);
  if (s) return adx_error_prefix(err, "%s: ", path);
  float *slot = NULL;
  if (!(s = next_slot(p, path, &slot, err))) {
    adx_preproc_normalize(&p->pp, raw.data, raw.channels, raw.height, raw.width, slot);
    if (p->raw) {
      memcpy(p->raw + (size_t)(p->fill - 1) * p->snumel, raw.data, sizeof(float) * p->snumel);
      p->is_npy[p->fill - 1] = 0;
    }
  }
  adx_image_free(&raw);
  return s;
}

/* ------------------------------------------------------------------ command */

static adx_status run(predict *p, int nimg, char **imgs, adx_error *err) {
  adx_model_limits lim;
  adx_cli_caps_apply(&p->caps, &lim, &p->img_lim);
  adx_status s = adx_model_load(p->model, &lim, &p->g, err);
  if (!s) s = adx_preproc_from_model(&p->pp, p->g, err);
  if (s) return s;
  if ((s = adx_engine_create(p->g, (int)p->threads, &p->e, err))) return s;
  /* plan a full batch now: a model over --max-activation-mem is refused before any image is read */
  if ((s = adx_engine_reserve(p->e, p->batch, err))) return s;
  const adx_value *v = adx_engine_input(p->e);
  char dims[256];
  if (!v || v->dtype != ADX_F32 || v->ndim < 2)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: the first model input must be float32 [N,...], not %s",
                    p->model, v ? adx_dims_str(v->dims, v->ndim, dims, sizeof dims) : "absent");
  p->sndim = v->ndim - 1;
  p->snumel = 1;
  for (int i = 0; i < p->sndim; i++) {
    p->sdims[i] = v->dims[i + 1];
    if (p->sdims[i] <= 0 || p->sdims[i] > INT32_MAX)
      return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: model input has a bad dimension %s", p->model,
                      adx_dims_str(v->dims, v->ndim, dims, sizeof dims));
    p->snumel *= (size_t)p->sdims[i];
  }
  int64_t bdims[ADX_MAX_DIMS];
  bdims[0] = p->batch;
  memcpy(bdims + 1, p->sdims, sizeof(int64_t) * (size_t)p->sndim);
  if ((s = adx_tensor_alloc(&p->buf, ADX_F32, p->sndim + 1, bdims, err))) return s;
  p->names = calloc((size_t)p->batch, sizeof(char *));
  if (!p->names) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  if ((s = load_mask(p, err))) return s;
  for (int i = 0; i < nimg && !s; i++)
    s = is_npy(imgs[i]) ? feed_npy(p, imgs[i], err) : feed_image(p, imgs[i], err);
  if (!s) s = flush(p, err);
  return s;
}

int adx_cmd_predict(int argc, char **argv) {
  adx_error err = {0};
  adx_args a;
  adx_config cfg = {0};
  predict p = {0};
  adx_preproc_default(&p.pp);
  p.top = 5;
  p.batch = 16;
  adx_status s = adx_args_parse(argc, argv, opts, &a, &err);
  if (s) return adx_cli_report("predict", &err);
  if (adx_args_help(
          &a, O_HELP, "predict", "--model M.onnx [options] IMAGE...", opts,
          "IMAGE: PNG or JPEG (preprocessed), or a .npy float32/uint8 array shaped (C,H,W) or (N,C,H,W)\n"
          "fed as is. One JSON object per line: {\"image\": ..., \"top\": [[class, prob], ...], "
          "\"probs\": [...]}.\n"))
    return 0;
  const char *cfg_path = adx_args_last(&a, O_CONFIG);
  if (cfg_path) {
    if (!(s = adx_config_load(cfg_path, &cfg, &err))) s = apply_config(&p, &cfg, &err);
  }
  for (int i = 0; i < a.n && !s; i++)
    if (a.items[i].opt != O_CONFIG) s = set_option(&p, a.items[i].opt, a.items[i].value, &err);
  if (!s && !p.model) s = adx_fail(&err, ADX_ERR_ARG, "--model is required (see --help)");
  if (!s && a.npos == 0) s = adx_fail(&err, ADX_ERR_ARG, "no IMAGE given (see --help)");
  if (!s) s = mode_parse(&p, &err);
  for (int i = 0; i < a.npos && !s; i++) { /* fail on a missing file before any output */
    FILE *f = fopen(a.pos[i], "rb");
    if (!f)
      s = adx_fail(&err, ADX_ERR_IO, "%s: cannot open: %s", a.pos[i], strerror(errno));
    else
      fclose(f);
  }
  if (!s) s = run(&p, a.npos, a.pos, &err);
  int rc = s ? adx_cli_report("predict", &err) : 0;
  if (p.names)
    for (int i = 0; i < p.batch; i++) free(p.names[i]);
  free(p.names);
  free(p.sorted);
  free(p.probs);
  free(p.masks);
  free(p.raw);
  free(p.source);
  free(p.is_npy);
  adx_tensor_free(&p.buf);
  adx_engine_free(p.e);
  adx_graph_free(p.g);
  adx_config_free(&cfg);
  adx_args_free(&a);
  return rc;
}
