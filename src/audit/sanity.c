/* The cascading model randomisation test (adx/sanity.h; docs/metrics.md "Sanity checks"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adx/engine.h"
#include "adx/results.h"
#include "adx/sanity.h"
#include "adx/sha256.h"

#define SANITY_INIT                                                                                          \
  "weights and biases of each re-initialised layer uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's " \
  "default for Conv2d and Linear), one seeded stream per layer"

void adx_sanity_options_default(adx_sanity_options *o) {
  memset(o, 0, sizeof *o);
  o->images = ADX_SANITY_IMAGES_DEFAULT;
  adx_audit_options_default(&o->run);
  adx_model_limits_default(&o->model_limits);
}

void adx_sanity_result_free(adx_sanity_result *res) {
  if (!res) return;
  for (int i = 0; i < res->nmodes && res->modes; i++) free(res->modes[i]);
  for (int i = 0; i < res->levels && res->level_names; i++) free(res->level_names[i]);
  free(res->modes), free(res->level_names), free(res->spearman);
  memset(res, 0, sizeof *res);
}

/* A path recorded in the file as given to adx explain: as is, or else beside the results file. *alt gets the
 * second form when that is the one that exists (caller frees). */
static const char *locate(const char *recorded, const char *results, char **alt) {
  struct stat st;
  *alt = NULL;
  if (!recorded || !recorded[0] || stat(recorded, &st) == 0 || recorded[0] == '/') return recorded;
  const char *slash = strrchr(results, '/');
  if (!slash) return recorded;
  size_t len = (size_t)(slash - results) + 2 + strlen(recorded);
  char *p = malloc(len);
  if (!p) return recorded;
  snprintf(p, len, "%.*s/%s", (int)(slash - results), results, recorded);
  if (stat(p, &st) != 0) {
    free(p);
    return recorded;
  }
  *alt = p;
  return p;
}

typedef struct sanity {
  const adx_sanity_options *o;
  adx_results *r;
  const adx_results_meta *m;
  const char *model;
  adx_preproc pp;
  adx_dataset *ds;
  int C, H, W, nmodes, levels;
  int64_t n;
  adx_mode modes[32];
  int64_t *slots, *index;
  int32_t *pred;
  float *raw;  /* [n][C*H*W] */
  float *orig; /* [nmodes][n][H*W] the file's maps */
  float *resp; /* [nmodes][n][levels][H*W] */
  double *rho; /* [nmodes][n][levels] */
  float *buf;  /* [H*W] */
  uint64_t seed;
} sanity;

static adx_status check_model(sanity *a, adx_error *err) {
  struct stat st;
  if (!a->model || !a->model[0]) return adx_fail(err, ADX_ERR_ARG, "%s names no model file", a->o->path);
  if (stat(a->model, &st) != 0)
    return adx_fail(err, ADX_ERR_ARG, "%s: the run's model %s is missing (%s)", a->o->path, a->model,
                    strerror(errno));
  char sha[65];
  adx_status s = adx_sha256_file(a->model, sha, err);
  if (s) return s;
  if (strcmp(sha, a->m->model_sha256))
    return adx_fail(err, ADX_ERR_ARG,
                    "%s was made with model sha256 %s, but %s now has sha256 %s: not the model of the run",
                    a->o->path, a->m->model_sha256, a->model, sha);
  return ADX_OK;
}

/* The first n images done, their dataset positions, explained classes and raw pixels. */
static adx_status select_images(sanity *a, adx_error *err) {
  int64_t N = a->m->n;
  uint8_t *done = malloc((size_t)N);
  int64_t *index = malloc((size_t)N * sizeof *index);
  int32_t *pred = malloc((size_t)N * sizeof *pred);
  adx_status s = done && index && pred ? ADX_OK : adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  if (!s) s = adx_results_read_done(a->r, done, err);
  if (!s) s = adx_results_read_images_columns(a->r, index, NULL, pred, NULL, err);
  int64_t want = a->o->images > 0 ? a->o->images : ADX_SANITY_IMAGES_DEFAULT;
  if (!s) {
    a->slots = malloc((size_t)want * sizeof *a->slots);
    a->index = malloc((size_t)want * sizeof *a->index);
    a->pred = malloc((size_t)want * sizeof *a->pred);
    if (!a->slots || !a->index || !a->pred) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  }
  for (int64_t i = 0; !s && i < N && a->n < want; i++)
    if (done[i]) {
      a->slots[a->n] = i;
      a->index[a->n] = index[i];
      a->pred[a->n] = pred[i];
      a->n++;
    }
  free(done), free(index), free(pred);
  if (!s && a->n == 0) s = adx_fail(err, ADX_ERR_ARG, "%s has no image done", a->o->path);
  return s;
}

static adx_status setup(sanity *a, adx_graph **g0, adx_error *err) {
  const adx_sanity_options *o = a->o;
  adx_status s = adx_results_open_sanity(o->path, &a->r, err);
  if (s) return s;
  a->m = adx_results_get_meta(a->r);
  char *alt_model = NULL, *alt_data = NULL;
  a->model = locate(a->m->model_path, o->path, &alt_model);
  a->nmodes = a->m->nmodes;
  if (a->nmodes > 32) s = adx_fail(err, ADX_ERR_ARG, "%s: more than 32 modes", o->path);
  for (int k = 0; k < a->nmodes && !s; k++)
    if ((s = adx_mode_parse(a->m->variants[k], &a->modes[k], err)))
      adx_error_prefix(err, "%s: mode %s: ", o->path, a->m->modes[k]);
  if (!s) s = check_model(a, err);
  if (!s) s = adx_model_load(a->model, &o->model_limits, g0, err);
  a->pp = o->run.pp;
  if (!s) s = adx_preproc_from_model(&a->pp, *g0, err);
  if (!s) {
    const adx_value *iv = &(*g0)->values[(*g0)->inputs[0]];
    a->C = (int)iv->dims[1], a->H = (int)iv->dims[2], a->W = (int)iv->dims[3];
    if (iv->ndim != 4 || a->H != a->m->h || a->W != a->m->w)
      s = adx_fail(err, ADX_ERR_ARG, "%s: the model's input is not the %dx%d images of the run", a->model,
                   a->m->h, a->m->w);
  }
  if (!s) s = adx_explainer_check(&o->run.x, a->H, a->W, err);
  int total = s ? 0 : adx_model_param_layers(*g0, NULL, 0);
  if (!s && o->levels > total)
    s = adx_fail(err, ADX_ERR_ARG, "--levels %d: %s has %d parameterised layers (Conv, Gemm, MatMul)",
                 o->levels, a->model, total);
  a->levels = o->levels > 0 ? o->levels : total;
  if (!s && a->levels == 0) s = adx_fail(err, ADX_ERR_ARG, "%s has no Conv, Gemm or MatMul layer", a->model);
  if (!s) s = select_images(a, err);
  if (!s) {
    const char *data = locate(a->m->data_path, o->path, &alt_data);
    s = adx_dataset_open(data, &a->pp, a->C, a->H, a->W, &a->ds, err);
  }
  free(alt_model), free(alt_data);
  a->model = NULL; /* alt_model is gone: reload through the recorded path below */
  return s;
}

/* One image (slot i of the selection) in mode k with engine e: its responsibility map into out. */
static adx_status explain(sanity *a, adx_engine *e, int64_t i, int k, float *out, adx_error *err) {
  uint64_t seed = adx_seed_mix(a->m->seed, (uint64_t)a->index[i]); /* as adx explain (src/audit/audit.c) */
  adx_mode mode = a->modes[k];
  mode.seed = adx_seed_mix(seed, 0xf111 + (uint64_t)k);
  size_t chw = (size_t)a->C * a->H * a->W;
  adx_oracle mo;
  adx_status s = adx_oracle_init(&mo, e, &mode, &a->pp.norm, a->raw + (size_t)i * chw, a->o->run.batch, err);
  if (s) return s;
  s = adx_explain_responsibility(&a->o->run.x, &mo, a->pred[i], seed, out, err);
  adx_oracle_free(&mo);
  return s;
}

/* Level lvl (0: the model as trained, first image only) on every image and mode. */
static adx_status level(sanity *a, const char *model, int lvl, adx_error *err) {
  adx_graph *g = NULL;
  adx_engine *e = NULL;
  size_t hw = (size_t)a->H * a->W;
  adx_status s = adx_model_load(model, &a->o->model_limits, &g, err);
  if (!s) s = adx_model_randomize(g, lvl, a->seed, err);
  if (!s) s = adx_engine_create(g, a->o->threads, &e, err);
  if (!s) s = adx_engine_reserve(e, a->o->run.batch, err);
  int64_t n = lvl == 0 ? 1 : a->n;
  for (int64_t i = 0; i < n && !s; i++)
    for (int k = 0; k < a->nmodes && !s; k++) {
      const float *orig = a->orig + ((size_t)k * a->n + i) * hw;
      float *out = lvl == 0 ? a->buf : a->resp + (((size_t)k * a->n + i) * a->levels + (lvl - 1)) * hw;
      s = explain(a, e, i, k, out, err);
      if (s) break;
      if (lvl == 0)
        a->rho[0] = a->rho[0] && !memcmp(out, orig, hw * sizeof(float)); /* rho[0] holds "reproduced" */
      else
        a->rho[((size_t)k * a->n + i) * a->levels + (lvl - 1)] = adx_spearman(orig, out, (int64_t)hw);
    }
  adx_engine_free(e);
  adx_graph_free(g);
  if (s) adx_error_prefix(err, "level %d: ", lvl);
  return s;
}

static adx_status run(sanity *a, adx_sanity_result *res, adx_error *err) {
  const adx_sanity_options *o = a->o;
  adx_graph *g0 = NULL;
  adx_status s = setup(a, &g0, err);
  if (s) {
    adx_graph_free(g0);
    return s;
  }
  char *alt = NULL;
  const char *model = locate(a->m->model_path, o->path, &alt);
  a->seed = o->have_seed ? o->seed : a->m->seed;
  size_t hw = (size_t)a->H * a->W, chw = (size_t)a->C * hw, nm = (size_t)a->nmodes, n = (size_t)a->n,
         L = (size_t)a->levels;
  int nodes[a->levels];
  adx_model_param_layers(g0, nodes, a->levels);
  res->nmodes = a->nmodes;
  res->n = a->n;
  res->modes = calloc(nm, sizeof *res->modes);
  res->level_names = calloc(L, sizeof *res->level_names);
  a->raw = malloc(n * chw * sizeof(float));
  a->orig = malloc(nm * n * hw * sizeof(float));
  a->resp = malloc(nm * n * L * hw * sizeof(float));
  a->rho = malloc(nm * n * L * sizeof(double));
  a->buf = malloc(hw * sizeof(float));
  if (!res->modes || !res->level_names || !a->raw || !a->orig || !a->resp || !a->rho || !a->buf)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for %lld images x %d levels", (long long)a->n, a->levels);
  if (!s) res->levels = a->levels;
  for (int k = 0; k < a->nmodes && !s; k++)
    if (!(res->modes[k] = strdup(a->m->modes[k]))) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  for (int j = 0; j < a->levels && !s; j++) {
    const char *name = g0->nodes[nodes[j]].name;
    if (!(res->level_names[j] = strdup(name && name[0] ? name : g0->nodes[nodes[j]].op_type)))
      s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  }
  adx_graph_free(g0);
  for (int64_t i = 0; i < a->n && !s; i++) {
    int32_t lab;
    s = adx_dataset_get(a->ds, a->index[i], a->raw + (size_t)i * chw, &lab, err);
  }
  for (int k = 0; k < a->nmodes && !s; k++)
    for (int64_t i = 0; i < a->n && !s; i++)
      s = adx_results_read_responsibilities(a->r, k, a->slots[i], 1,
                                            a->orig + ((size_t)k * n + (size_t)i) * hw, err);
  if (!s) {
    a->rho[0] = 1;
    s = level(a, model, 0, err);
    res->reproduced = a->rho[0] != 0;
    if (o->log && !s)
      fprintf(o->log, "adx sanity: %s: %lld images, %d modes, %d levels; the trained model %s\n", o->path,
              (long long)a->n, a->nmodes, a->levels,
              res->reproduced
                  ? "gives the file's maps back bit for bit"
                  : "does NOT give the file's maps back bit for bit (another machine or conv path?)");
  }
  for (int lvl = 1; lvl <= a->levels && !s; lvl++) {
    double t0 = adx_now();
    s = level(a, model, lvl, err);
    if (o->log && !s) {
      fprintf(o->log, "adx sanity: level %d/%d (%s) done in %.1f s\n", lvl, a->levels,
              res->level_names[lvl - 1], adx_now() - t0);
      fflush(o->log);
    }
  }
  if (!s) {
    const float *rp[32];
    const double *sp[32];
    for (int k = 0; k < a->nmodes; k++) {
      rp[k] = a->resp + (size_t)k * n * L * hw;
      sp[k] = a->rho + (size_t)k * n * L;
    }
    adx_results_sanity t = {.n = a->n,
                            .levels = a->levels,
                            .slots = a->slots,
                            .level_names = (const char *const *)res->level_names,
                            .responsibility = rp,
                            .spearman = sp,
                            .seed = a->seed,
                            .init = SANITY_INIT,
                            .reproduced = res->reproduced};
    s = adx_results_write_sanity(a->r, &t, err);
  }
  if (!s) {
    res->spearman = a->rho;
    a->rho = NULL;
  }
  free(alt);
  return s;
}

adx_status adx_sanity_run(const adx_sanity_options *o, adx_sanity_result *res, adx_error *err) {
  memset(res, 0, sizeof *res);
  sanity a;
  memset(&a, 0, sizeof a);
  a.o = o;
  adx_status s = run(&a, res, err);
  if (s) adx_sanity_result_free(res);
  adx_results_close(a.r);
  adx_dataset_close(a.ds);
  free(a.slots), free(a.index), free(a.pred), free(a.raw), free(a.orig), free(a.resp), free(a.rho);
  free(a.buf);
  return s;
}
