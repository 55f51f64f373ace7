/* adx explain: a dataset audit. Every image is explained in every mode (AD and fill values), judged by
 * the metrics, and written to one shared HDF5 file. Works as one process and under mpirun / srun: ranks
 * draw images from a shared counter, threads work inside each rank. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/ad.h"
#include "adx/dataset.h"
#include "adx/dist.h"
#include "adx/engine.h"
#include "adx/explain.h"
#include "adx/io.h"
#include "adx/metrics.h"
#include "adx/model.h"
#include "adx/results.h"
#include "args.h"
#include "cli.h"

enum {
  O_MODEL,
  O_DATA,
  O_CONFIG,
  O_OUT,
  O_MODES,
  O_EXPLAINER,
  O_LIMIT,
  O_OFFSET,
  O_SAMPLE,
  O_SEED,
  O_THREADS,
  O_BATCH,
  O_RESUME,
  O_FORCE,
  O_AD_RULE,
  O_AD_POOL,
  O_ITERS,
  O_TREE_DEPTH,
  O_MIN_BOX,
  O_SEARCH_LIMIT,
  O_CONF_FILTER,
  O_WINDOW,
  O_STRIDE,
  O_CONFIDENCE,
  O_CHUNKS,
  O_REFINE,
  O_K_COLOUR,
  O_K_CONTEXT,
  O_AUC_STEPS,
  O_BACKGROUNDS,
  O_SCHEDULE,
  O_CHUNK,
  O_FLUSH_IMAGES,
  O_FLUSH_SECONDS,
  O_PROGRESS,
  O_RESIZE,
  O_CROP,
  O_SCALE,
  O_MEAN,
  O_STD,
  O_MAX_TENSOR,
  O_MAX_ACT,
  O_MAX_PIXELS,
  O_HELP
};

static const adx_opt opts[] = {
    {"model", 'm', 1, "FILE", "ONNX model (required)"},
    {"data", 'd', 1, "PATH", "IDX file, folder of class folders, HDF5 file (/images, /labels) or list file"},
    {"config", 'c', 1, "FILE", "INI file: [preprocess] and [explain] sections (keys = these options)"},
    {"output", 'o', 1, "FILE", "results file (HDF5), required"},
    {"modes", 0, 1, "LIST", "default ad,fill:zero,fill:mean,fill:min,fill:max"},
    {"explainer", 0, 1, "NAME", "rex (default) or sliding"},
    {"limit", 0, 1, "N", "at most N images (after --offset)"},
    {"offset", 0, 1, "N", "skip the first N images"},
    {"sample", 0, 1, "N", "a seeded random subset of N images"},
    {"seed", 0, 1, "S", "run seed (default 0); per-image seeds derive from it and the image index"},
    {"threads", 't', 1, "T", "OpenMP threads per rank (default OMP_NUM_THREADS, else all cores)"},
    {"batch", 'b', 1, "B", "mutants per engine call (default 64)"},
    {"resume", 0, 0, NULL, "complete an unfinished results file"},
    {"force", 0, 0, NULL, "overwrite an existing results file"},
    {"ad-rule", 0, 1, "RULE", "AD rule for mode 'ad': strict, ratio:T, loose (default ratio:0.5)"},
    {"ad-pool", 0, 1, "P", "AD global pooling for mode 'ad': all (default) or active"},
    {"iters", 0, 1, "N", "rex: random partition trees per image (default 20)"},
    {"tree-depth", 0, 1, "N", "rex: maximum depth (default 10)"},
    {"min-box-size", 0, 1, "PX", "rex: minimum box side (default 10 px at 224, scaled)"},
    {"search-limit", 0, 1, "N", "rex: mutant queries per iteration, 0 = unlimited"},
    {"confidence-filter", 0, 1, "P", "rex: a passing mutant also needs p >= P"},
    {"window", 0, 1, "PX", "sliding: occluder side"},
    {"stride", 0, 1, "PX", "sliding: stride"},
    {"confidence", 0, 1, "F", "extraction: target top-1 with p >= F * p_full"},
    {"chunks", 0, 1, "N", "extraction: ranking chunks"},
    {"refine", 0, 1, "0|1", "extraction: refine the last chunk to the pixel (default 1)"},
    {"k-colour", 0, 1, "K", "robustness: solid-colour backgrounds (default 20)"},
    {"k-context", 0, 1, "K", "robustness: other-class backgrounds (default 20)"},
    {"auc-steps", 0, 1, "N", "insertion/deletion curve steps (default 20)"},
    {"backgrounds", 0, 1, "N", "dataset images kept as context backgrounds (default 100)"},
    {"schedule", 0, 1, "S", "dynamic (default: shared counter) or static (block split)"},
    {"chunk", 0, 1, "N", "images per draw from the counter (default 1)"},
    {"flush-images", 0, 1, "N", "write buffer: flush every N images (default 16; 1 = write each image)"},
    {"flush-seconds", 0, 1, "S", "write buffer: flush when the oldest image waited S s (default 60)"},
    {"progress", 0, 1, "P", "auto (default), bar, lines or off"},
    {"resize", 0, 1, "N", "preprocess: shorter side to N"},
    {"crop", 0, 1, "N|HxW", "preprocess: centre crop"},
    {"scale", 0, 1, "F", "preprocess: raw 0..255 times F (default 1/255)"},
    {"mean", 0, 1, "a[,b,c]", "preprocess: mean"},
    {"std", 0, 1, "a[,b,c]", "preprocess: std"},
    ADX_CLI_CAP_OPTS,
    {"help", 'h', 0, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL}};

typedef struct run {
  /* settings */
  const char *model, *data, *out, *modes_arg, *ad_rule, *ad_pool;
  char *config_text;
  adx_preproc pp;
  adx_explainer x;
  adx_metrics_params mp;
  int64_t limit, offset, sample, backgrounds, chunk, flush_images;
  double flush_seconds;
  adx_cli_caps caps; /* resource caps */
  uint64_t seed;
  int threads, batch, resume, force;
  adx_schedule sched;
  adx_progress_style progress;
  int nmodes;
  adx_mode modes[32];
  char *mode_names[32];
  /* state */
  int rank, size;
  adx_graph *g;
  adx_engine *e;
  adx_dataset *ds;
  int C, H, W, nclasses;
  adx_norm norm;
  int64_t *sel, nsel; /* slot -> dataset index */
  float *bg_raw;
  int *bg_label;
  int64_t *bg_index; /* dataset index of each background */
  adx_backgrounds bg;
  adx_results *res;
} run;

static volatile sig_atomic_t stop_requested;
static void on_term(int sig) {
  (void)sig;
  stop_requested = 1;
}

/* "123", "64K", "512M", "4G", "1T" (binary units, optional trailing "B" or "iB") -> bytes. */
static adx_status set_option(run *r, int opt, const char *v, adx_error *err) {
  long l;
  adx_status s = ADX_OK;
  switch (opt) {
  case O_MODEL: r->model = v; break;
  case O_DATA: r->data = v; break;
  case O_OUT: r->out = v; break;
  case O_MODES: r->modes_arg = v; break;
  case O_EXPLAINER: s = adx_explainer_parse(v, &r->x, err); break;
  case O_LIMIT:
    if (!(s = adx_arg_int("limit", v, 0, LONG_MAX, &l, err))) r->limit = l;
    break;
  case O_OFFSET:
    if (!(s = adx_arg_int("offset", v, 0, LONG_MAX, &l, err))) r->offset = l;
    break;
  case O_SAMPLE:
    if (!(s = adx_arg_int("sample", v, 0, LONG_MAX, &l, err))) r->sample = l;
    break;
  case O_SEED:
    if (!(s = adx_arg_int("seed", v, 0, LONG_MAX, &l, err))) r->seed = (uint64_t)l;
    break;
  case O_THREADS:
    if (!(s = adx_arg_int("threads", v, 0, 4096, &l, err))) r->threads = (int)l;
    break;
  case O_BATCH:
    if (!(s = adx_arg_int("batch", v, 1, 65536, &l, err))) r->batch = (int)l;
    break;
  case O_RESUME:
    if (v && *v)
      s = adx_arg_bool("resume", v, &r->resume, err);
    else
      r->resume = 1;
    break;
  case O_FORCE:
    if (v && *v)
      s = adx_arg_bool("force", v, &r->force, err);
    else
      r->force = 1;
    break;
  case O_AD_RULE: r->ad_rule = v; break;
  case O_AD_POOL: r->ad_pool = v; break;
  case O_ITERS: s = adx_explainer_set(&r->x, "iters", v, err); break;
  case O_TREE_DEPTH: s = adx_explainer_set(&r->x, "tree_depth", v, err); break;
  case O_MIN_BOX: s = adx_explainer_set(&r->x, "min_box_size", v, err); break;
  case O_SEARCH_LIMIT: s = adx_explainer_set(&r->x, "search_limit", v, err); break;
  case O_CONF_FILTER: s = adx_explainer_set(&r->x, "confidence_filter", v, err); break;
  case O_WINDOW: s = adx_explainer_set(&r->x, "window", v, err); break;
  case O_STRIDE: s = adx_explainer_set(&r->x, "stride", v, err); break;
  case O_CONFIDENCE: s = adx_explainer_set(&r->x, "confidence", v, err); break;
  case O_CHUNKS: s = adx_explainer_set(&r->x, "chunks", v, err); break;
  case O_REFINE: s = adx_explainer_set(&r->x, "refine", v, err); break;
  case O_K_COLOUR:
    if (!(s = adx_arg_int("k-colour", v, 1, 100000, &l, err))) r->mp.k_colour = (int)l;
    break;
  case O_K_CONTEXT:
    if (!(s = adx_arg_int("k-context", v, 1, 100000, &l, err))) r->mp.k_context = (int)l;
    break;
  case O_AUC_STEPS:
    if (!(s = adx_arg_int("auc-steps", v, 2, 100000, &l, err))) r->mp.auc_steps = (int)l;
    break;
  case O_BACKGROUNDS:
    if (!(s = adx_arg_int("backgrounds", v, 0, 1000000, &l, err))) r->backgrounds = l;
    break;
  case O_SCHEDULE:
    if (!strcmp(v, "dynamic"))
      r->sched = ADX_SCHEDULE_DYNAMIC;
    else if (!strcmp(v, "static"))
      r->sched = ADX_SCHEDULE_STATIC;
    else
      s = adx_fail(err, ADX_ERR_ARG, "--schedule: '%s' is not dynamic or static", v);
    break;
  case O_CHUNK:
    if (!(s = adx_arg_int("chunk", v, 1, 1000000, &l, err))) r->chunk = l;
    break;
  case O_FLUSH_IMAGES:
    if (!(s = adx_arg_int("flush-images", v, 1, 1000000, &l, err))) r->flush_images = l;
    break;
  case O_FLUSH_SECONDS: {
    char *end = NULL;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 0) || x > 1e9)
      s = adx_fail(err, ADX_ERR_ARG, "--flush-seconds: '%s' is not a number of seconds >= 0", v);
    else
      r->flush_seconds = x;
    break;
  }
  case O_PROGRESS:
    if (adx_progress_parse(v, &r->progress))
      s = adx_fail(err, ADX_ERR_ARG, "--progress: '%s' is not auto, bar, lines or off", v);
    break;
  case O_MAX_TENSOR:
  case O_MAX_ACT:
  case O_MAX_PIXELS: s = adx_cli_caps_set(&r->caps, opt - O_MAX_TENSOR, v, err); break;
  case O_RESIZE:
  case O_CROP:
  case O_SCALE:
  case O_MEAN:
  case O_STD:
    if ((s = adx_preproc_set(&r->pp, opts[opt].name, v, err))) adx_error_prefix(err, "--");
    break;
  default: break;
  }
  return s;
}

/* The [explain] section's keys are the long options (either '-' or '_' spelling). */
static adx_status apply_config(run *r, const adx_config *cfg, adx_error *err) {
  adx_status s = adx_config_apply_preprocess(cfg, &r->pp, err);
  for (int i = 0; i < cfg->n && !s; i++) {
    const adx_config_entry *en = &cfg->entries[i];
    if (strcmp(en->section, "explain") || !en->value[0]) continue; /* empty value: keep the default */
    char key[64];
    snprintf(key, sizeof key, "%s", en->key);
    for (char *c = key; *c; c++)
      if (*c == '_') *c = '-';
    int opt = adx_args_find(opts, key);
    if (opt < 0 || opt == O_CONFIG || opt == O_HELP)
      s = adx_fail(err, ADX_ERR_ARG, "%s:%d: unknown key '%s' in [explain]", cfg->path, en->line, en->key);
    else if ((s = set_option(r, opt, en->value, err)))
      adx_error_prefix(err, "%s:%d: ", cfg->path, en->line);
  }
  return s;
}

static adx_status parse_modes(run *r, adx_error *err) {
  const char *list = r->modes_arg ? r->modes_arg : "ad,fill:zero,fill:mean,fill:min,fill:max";
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", list);
  r->nmodes = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (r->nmodes == 32) return adx_fail(err, ADX_ERR_ARG, "--modes: at most 32 modes");
    adx_mode *m = &r->modes[r->nmodes];
    adx_status s = adx_mode_parse(tok, m, err);
    if (s) return adx_error_prefix(err, "--modes: ");
    if (m->kind == ADX_MODE_PLAIN)
      return adx_fail(err, ADX_ERR_ARG, "--modes: 'plain' hides nothing and cannot explain");
    if (!strcmp(tok, "ad")) { /* the bare 'ad' mode takes --ad-rule / --ad-pool */
      if (r->ad_rule && (s = adx_ad_parse_rule(r->ad_rule, &m->ad, err)))
        return adx_error_prefix(err, "--ad-rule: ");
      if (r->ad_pool && (s = adx_ad_parse_pool(r->ad_pool, &m->ad, err)))
        return adx_error_prefix(err, "--ad-pool: ");
    }
    for (int k = 0; k < r->nmodes; k++)
      if (!strcmp(r->mode_names[k], tok))
        return adx_fail(err, ADX_ERR_ARG, "--modes: '%s' is listed twice", tok);
    r->mode_names[r->nmodes] = strdup(tok);
    if (!r->mode_names[r->nmodes]) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    r->nmodes++;
  }
  if (!r->nmodes) return adx_fail(err, ADX_ERR_ARG, "--modes: no mode given");
  return ADX_OK;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = cap ? 2 * cap : 8192;
      char *nb = realloc(buf, cap);
      if (!nb) break;
      buf = nb;
    }
    size_t k = fread(buf + n, 1, 4096, f);
    n += k;
    if (k < 4096) break;
  }
  fclose(f);
  if (buf) buf[n] = 0;
  return buf;
}

/* The effective configuration as text: what the file said plus the command line, so a resume can check
 * that nothing that changes results has changed. */
static char *effective_config(int argc, char **argv, const char *cfg_path) {
  size_t cap = 1 << 16, n = 0;
  char *t = malloc(cap);
  if (!t) return NULL;
  n += (size_t)snprintf(t + n, cap - n, "# adx explain: effective settings\n");
  if (cfg_path) {
    char *file = read_text(cfg_path);
    n += (size_t)snprintf(t + n, cap - n, "# from %s\n%s\n", cfg_path, file ? file : "");
    free(file);
  }
  n += (size_t)snprintf(t + n, cap - n, "# command line:");
  for (int i = 1; i < argc && n < cap; i++) {
    /* options that do not change results are left out, so a resume may change them */
    static const char *const neutral[] = {"--resume",
                                          "--force",
                                          "--threads",
                                          "--progress",
                                          "--schedule",
                                          "--chunk",
                                          "--flush-images",
                                          "--flush-seconds",
                                          "-t",
                                          "-o",
                                          "--output",
                                          "--max-tensor-elems",
                                          "--max-activation-mem",
                                          "--max-image-pixels"};
    int skip = 0, takes = 0;
    for (size_t k = 0; k < sizeof neutral / sizeof neutral[0]; k++)
      if (!strncmp(argv[i], neutral[k], strlen(neutral[k])) &&
          (argv[i][strlen(neutral[k])] == 0 || argv[i][strlen(neutral[k])] == '=')) {
        skip = 1;
        takes = argv[i][strlen(neutral[k])] == 0 && strcmp(neutral[k], "--resume") &&
                strcmp(neutral[k], "--force");
      }
    if (skip) {
      if (takes) i++;
      continue;
    }
    n += (size_t)snprintf(t + n, cap - n, " %s", argv[i]);
  }
  if (n < cap) snprintf(t + n, cap - n, "\n");
  return t;
}

static adx_status load_backgrounds(run *r, adx_error *err) {
  int64_t n = adx_dataset_size(r->ds), want = r->backgrounds < n ? r->backgrounds : n, *idx = NULL, cnt = 0;
  if (want <= 0) return ADX_OK;
  adx_status s = adx_dataset_select(n, 0, 0, want, adx_seed_mix(r->seed, 0xb6b6), &idx, &cnt, err);
  if (s) return s;
  size_t chw = (size_t)r->C * r->H * r->W;
  r->bg_raw = malloc(sizeof(float) * chw * (size_t)cnt);
  r->bg_label = malloc(sizeof(int) * (size_t)cnt);
  if (!r->bg_raw || !r->bg_label)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for %lld backgrounds", (long long)cnt);
  for (int64_t i = 0; i < cnt && !s; i++) {
    int32_t lab;
    s = adx_dataset_get(r->ds, idx[i], r->bg_raw + (size_t)i * chw, &lab, err);
    r->bg_label[i] = lab;
  }
  r->bg.n = (int)cnt;
  r->bg.raw = r->bg_raw;
  r->bg.label = r->bg_label;
  r->bg_index = idx;
  return s;
}

/* Everything for one image, in every mode. */
typedef struct image_work {
  float *raw, *resp; /* [CHW], [nmodes][HW] */
  uint8_t *expl;
  int32_t *order;
  adx_metrics met[32];
  const float *resp_ptr[32];
  const uint8_t *expl_ptr[32];
} image_work;

static adx_status explain_one(run *r, image_work *w, int64_t slot, adx_image_result *out, adx_error *err) {
  int64_t index = r->sel[slot];
  size_t hw = (size_t)r->H * r->W;
  int32_t label;
  adx_status s = adx_dataset_get(r->ds, index, w->raw, &label, err);
  if (s) return s;
  uint64_t seed = adx_seed_mix(r->seed, (uint64_t)index);
  adx_mode plain_mode;
  adx_mode_parse("plain", &plain_mode, NULL);
  adx_oracle plain;
  if ((s = adx_oracle_init(&plain, r->e, &plain_mode, &r->norm, w->raw, r->batch, err))) return s;
  /* the oracle's probe pass holds the full image's probabilities (not counted as a query) */
  int pred = 0;
  for (int k = 1; k < r->nclasses; k++)
    if (plain.full[k] > plain.full[pred]) pred = k;
  float p_full = plain.full[pred];
  memset(out, 0, sizeof *out);
  out->slot = slot;
  out->index = index;
  out->label = label;
  out->pred = pred;
  out->conf = p_full;
  out->flags = (label >= 0 && label != pred) ? ADX_RESULTS_FLAG_MISCLASSIFIED : 0;
  /* The image is never its own context background: mark it with the target's label (ineligible). */
  int self_bg = -1, self_label = 0;
  for (int j = 0; j < r->bg.n; j++)
    if (r->bg_index[j] == index) {
      self_bg = j;
      self_label = r->bg_label[j];
      r->bg_label[j] = pred;
    }
  for (int m = 0; m < r->nmodes && !s; m++) {
    double t0 = adx_now();
    adx_mode mode = r->modes[m];
    mode.seed = adx_seed_mix(seed, 0xf111 + (uint64_t)m);
    adx_oracle o;
    if ((s = adx_oracle_init(&o, r->e, &mode, &r->norm, w->raw, r->batch, err))) break;
    float *resp = w->resp + (size_t)m * hw;
    uint8_t *expl = w->expl + (size_t)m * hw;
    int size_px;
    float p_expl;
    s = adx_explain_responsibility(&r->x, &o, pred, seed, resp, err);
    if (!s) adx_rank_pixels(resp, r->H, r->W, w->order);
    if (!s) s = adx_explainer_extract(&r->x, &o, pred, w->order, p_full, expl, &size_px, &p_expl, err);
    int64_t q = o.queries;
    if (!s)
      s = adx_metrics_compute(&o, &plain, pred, p_full, expl, w->order, &r->bg, &r->mp, seed, &w->met[m],
                              err);
    w->met[m].queries = q;
    w->met[m].seconds = (float)(adx_now() - t0);
    w->resp_ptr[m] = resp;
    w->expl_ptr[m] = expl;
    adx_oracle_free(&o);
  }
  adx_oracle_free(&plain);
  if (self_bg >= 0) r->bg_label[self_bg] = self_label;
  out->responsibility = w->resp_ptr;
  out->explanation = w->expl_ptr;
  out->metrics = w->met;
  if (s) adx_error_prefix(err, "image %lld: ", (long long)index);
  return s;
}

/* Every rank exits with the worst status of any rank. */
static int finish_status(adx_status s) {
  int code = adx_exit_code(s), worst;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return worst;
}

static adx_status audit(run *r, adx_error *err) {
  adx_status s;
  /* model and dataset */
  adx_model_limits lim;
  adx_cli_caps_apply(&r->caps, &lim, NULL);
  if ((s = adx_model_load(r->model, &lim, &r->g, err))) return s;
  const adx_value *iv = &r->g->values[r->g->inputs[0]];
  if (iv->ndim != 4)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: explain needs an image input [N,C,H,W]", r->model);
  r->C = (int)iv->dims[1];
  r->H = (int)iv->dims[2];
  r->W = (int)iv->dims[3];
  if ((s = adx_explainer_check(&r->x, r->H, r->W, err))) return s;
  if ((s = adx_engine_create(r->g, r->threads, &r->e, err))) return s;
  /* plan the buffers of a full batch now: a model over --max-activation-mem is refused before any work */
  if ((s = adx_engine_reserve(r->e, r->batch, err))) return s;
  adx_dataset_limits dlim = {0};
  adx_cli_caps_apply(&r->caps, NULL, &dlim.image);
  if ((s = adx_dataset_open_ex(r->data, &r->pp, r->C, r->H, r->W, &dlim, &r->ds, err))) return s;
  if ((s = adx_dataset_select(adx_dataset_size(r->ds), r->offset, r->limit, r->sample, r->seed, &r->sel,
                              &r->nsel, err)))
    return s;
  if (r->nsel == 0) return adx_fail(err, ADX_ERR_ARG, "%s: no image selected", r->data);
  adx_norm_identity(&r->norm);
  r->norm.scale = r->pp.scale;
  r->norm.nch = r->C < 4 ? r->C : 4;
  for (int c = 0; c < r->norm.nch; c++) {
    r->norm.mean[c] = r->pp.nmean == 0 ? 0.0f : r->pp.mean[r->pp.nmean == 1 ? 0 : c];
    r->norm.std[c] = r->pp.nstd == 0 ? 1.0f : r->pp.std[r->pp.nstd == 1 ? 0 : c];
  }
  /* number of classes from one plain pass */
  {
    adx_tensor in;
    int64_t d[4] = {1, r->C, r->H, r->W};
    if ((s = adx_tensor_alloc(&in, ADX_F32, 4, d, err))) return s;
    const adx_tensor *o;
    s = adx_engine_run(r->e, &in, &o, err);
    if (!s) r->nclasses = (int)(adx_tensor_numel(o));
    adx_tensor_free(&in);
    if (s) return s;
  }
  if ((s = load_backgrounds(r, err))) return s;

  char sha[65] = "";
  s = adx_sha256_file(r->model, sha, err);
  /* Every rank must agree the setup worked before the collective file creation, or one would hang. */
  int code = adx_exit_code(s), worst;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (s) return s;
  if (worst) return adx_fail(err, worst == 2 ? ADX_ERR_ARG : ADX_ERR_RUNTIME, "another rank failed to start");
  char xname[64];
  snprintf(xname, sizeof xname, "%s", adx_explainer_name(r->x.kind));
  adx_run_info info = {.model_path = r->model,
                       .model_sha256 = sha,
                       .data_path = r->data,
                       .config_text = r->config_text,
                       .explainer = xname,
                       .nmodes = r->nmodes,
                       .modes = (const char *const *)r->mode_names,
                       .seed = r->seed,
                       .ranks = r->size,
                       .threads_per_rank = r->threads > 0 ? r->threads : adx_threads_get(),
                       .n = r->nsel,
                       .h = r->H,
                       .w = r->W,
                       .nclasses = r->nclasses};
  int64_t *todo = NULL, ntodo = 0;
  if (r->resume) {
    s = adx_results_open_resume(r->out, &info, MPI_COMM_WORLD, r->force, &r->res, &todo, &ntodo, err);
  } else {
    s = adx_results_create(r->out, &info, MPI_COMM_WORLD, r->force, &r->res, err);
    ntodo = r->nsel;
    todo = adx_alloc(sizeof(int64_t) * (size_t)ntodo);
    if (!s && !todo) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < ntodo && todo; i++) todo[i] = i;
  }
  if (!s) s = adx_results_record_hosts(r->res, err); /* provenance: the host of every rank */
  if (s) {
    adx_free(todo);
    return s;
  }
  if (r->rank == 0)
    fprintf(stderr,
            "adx explain: %lld images (%lld to do), %d modes, explainer %s, %d rank(s) x %d thread(s)\n",
            (long long)r->nsel, (long long)ntodo, r->nmodes, xname, r->size, info.threads_per_rank);

  /* the work loop */
  size_t hw = (size_t)r->H * r->W, chw = (size_t)r->C * hw;
  image_work w = {0};
  w.raw = malloc(sizeof(float) * chw);
  w.resp = malloc(sizeof(float) * hw * (size_t)r->nmodes);
  w.expl = malloc(hw * (size_t)r->nmodes);
  w.order = malloc(sizeof(int32_t) * hw);
  if (!w.raw || !w.resp || !w.expl || !w.order) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  adx_dist *dist = NULL;
  adx_results_buffer *wbuf = NULL; /* images reach the file in batches (docs/scaling.md) */
  if (!s) s = adx_results_buffer_create(r->res, (int)r->flush_images, r->flush_seconds, &wbuf, err);
  if (!s) s = adx_dist_create(MPI_COMM_WORLD, ntodo, r->chunk, r->sched, &dist, err);
  adx_progress prog;
  adx_progress_init(&prog, stderr, r->rank == 0 ? r->progress : ADX_PROGRESS_OFF, r->nsel, r->nsel - ntodo);
  int64_t a, b;
  int local_fail = s != ADX_OK;
  while (!local_fail && !stop_requested && adx_dist_next(dist, &a, &b)) {
    for (int64_t t = a; t < b && !local_fail; t++) {
      adx_image_result res;
      if ((s = explain_one(r, &w, todo[t], &res, err)) || (s = adx_results_buffer_add(wbuf, &res, err))) {
        local_fail = 1;
        break;
      }
      adx_dist_add_done(dist, 1);
      if (r->rank == 0) adx_progress_update(&prog, r->nsel - ntodo + adx_dist_done(dist), 0);
      if (stop_requested) break;
    }
  }
  /* at the end of the work, and after a SIGTERM: what the buffer holds goes to the file now */
  if (!local_fail && (s = adx_results_buffer_flush(wbuf, err))) local_fail = 1;
  if (local_fail) {
    /* A rank that cannot go on stops the run: the file keeps every image already marked done. */
    adx_error e2 = {0}; /* keep what the buffer holds, if the file still takes it */
    adx_results_buffer_flush(wbuf, &e2);
    fprintf(stderr, "adx explain: rank %d: %s\n", r->rank, err->msg);
    fprintf(stderr, "adx explain: stopping; completed images are kept, rerun with --resume to finish\n");
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, adx_exit_code(s));
  }
  /* rank 0 keeps reporting while the others finish */
  if (r->rank == 0 && dist)
    while (!stop_requested) {
      int64_t d = adx_dist_done(dist);
      adx_progress_update(&prog, r->nsel - ntodo + d, 0);
      if (d >= ntodo) break;
      usleep(200000);
    }
  int64_t final_done = r->rank == 0 && dist ? adx_dist_done(dist) : -1;
  adx_dist_free(dist); /* before any other collective: the p2p counter answers its last requests here */
  int stopped = stop_requested, any_stopped;
  MPI_Allreduce(&stopped, &any_stopped, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (final_done >= 0) adx_progress_end(&prog, r->nsel - ntodo + final_done);
  adx_results_buffer_free(wbuf);
  free(w.raw);
  free(w.resp);
  free(w.expl);
  free(w.order);
  adx_free(todo);
  s = adx_results_finish(r->res, err);
  adx_results_close(r->res); /* finish closes the file; close frees the handle */
  r->res = NULL;
  if (s) return s;
  if (any_stopped)
    return adx_fail(err, ADX_ERR_RUNTIME, "interrupted by a signal: %s is unfinished; rerun with --resume",
                    r->out);
  if (r->rank == 0) {
    adx_error e2 = {0};
    if (adx_cli_print_summary(stdout, r->out, &e2)) fprintf(stderr, "adx explain: %s\n", e2.msg);
  }
  return ADX_OK;
}

int adx_cmd_explain(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  run r = {0};
  MPI_Comm_rank(MPI_COMM_WORLD, &r.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &r.size);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  adx_error err = {0};
  adx_args a = {0};
  adx_config cfg = {0};
  adx_preproc_default(&r.pp);
  adx_explainer_default(&r.x);
  adx_metrics_params_default(&r.mp);
  r.batch = 64;
  r.backgrounds = 100;
  r.chunk = 1;
  r.flush_images = ADX_FLUSH_IMAGES_DEFAULT;
  r.flush_seconds = ADX_FLUSH_SECONDS_DEFAULT;
  adx_status s = adx_args_parse(argc, argv, opts, &a, &err);
  if (!s && adx_args_last(&a, O_HELP)) {
    if (r.rank == 0)
      adx_args_usage(stdout, "explain", "--model M.onnx --data PATH -o RESULTS.h5 [options]", opts);
    adx_args_free(&a);
    MPI_Finalize();
    return 0;
  }
  const char *cfg_path = s ? NULL : adx_args_last(&a, O_CONFIG);
  if (cfg_path && !(s = adx_config_load(cfg_path, &cfg, &err))) s = apply_config(&r, &cfg, &err);
  for (int i = 0; i < a.n && !s; i++)
    if (a.items[i].opt != O_CONFIG) s = set_option(&r, a.items[i].opt, a.items[i].value, &err);
  if (!s && !r.model) s = adx_fail(&err, ADX_ERR_ARG, "--model is required (see --help)");
  if (!s && !r.data) s = adx_fail(&err, ADX_ERR_ARG, "--data is required (see --help)");
  if (!s && !r.out) s = adx_fail(&err, ADX_ERR_ARG, "-o RESULTS.h5 is required (see --help)");
  if (!s && a.npos) s = adx_fail(&err, ADX_ERR_ARG, "unexpected argument '%s' (see --help)", a.pos[0]);
  if (!s) s = parse_modes(&r, &err);
  if (!s) {
    r.config_text = effective_config(argc, argv, cfg_path);
    if (r.threads > 0) adx_threads_set(r.threads);
  }
  if (!s) s = audit(&r, &err);
  if (s && (r.rank == 0 || s >= ADX_ERR_RUNTIME)) adx_cli_report("explain", &err);
  int rc = finish_status(s);
  adx_results_close(r.res);
  adx_engine_free(r.e);
  adx_graph_free(r.g);
  adx_dataset_close(r.ds);
  free(r.sel);
  free(r.bg_raw);
  free(r.bg_label);
  free(r.bg_index);
  for (int i = 0; i < r.nmodes; i++) free(r.mode_names[i]);
  free(r.config_text);
  adx_config_free(&cfg);
  adx_args_free(&a);
  MPI_Finalize();
  return rc;
}
