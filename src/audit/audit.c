/* The dataset audit (adx/audit.h): setup, one image in every mode, the work loop over the shared counter,
 * the results file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/audit.h"
#include "adx/engine.h"
#include "adx/results_mpi.h"
#include "adx/sha256.h"

void adx_audit_options_default(adx_audit_options *o) {
  memset(o, 0, sizeof *o);
  adx_preproc_default(&o->pp);
  adx_explainer_default(&o->x);
  adx_metrics_params_default(&o->mp);
  adx_model_limits_default(&o->model_limits);
  adx_image_limits_default(&o->data_limits.image); /* the rest of data_limits: 0 = the defaults */
  o->batch = 64;
  o->judges = 1;
  o->backgrounds = 100;
  o->chunk = 1;
  o->flush_images = ADX_FLUSH_IMAGES_DEFAULT;
  o->flush_seconds = ADX_FLUSH_SECONDS_DEFAULT;
  o->comm = MPI_COMM_WORLD;
  o->sched = ADX_SCHEDULE_DYNAMIC;
  o->progress = ADX_PROGRESS_AUTO;
  o->log = stderr;
  o->name = "adx audit";
}

/* The state of one run on this rank. */
typedef struct audit {
  const adx_audit_options *o;
  adx_preproc pp; /* o->pp completed from the model */
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
  int warned_fallback; /* the AD fallback node was reported */
  int judges;          /* the judge matrix is computed: asked for, and the file (a resumed one) has it */
  int masks;           /* ground truth is computed: the dataset has object masks and the metrics are on */
  int64_t q_expl, q_metric, n_expl; /* this session, this rank: explainer and metric queries, explanations */
} audit;

static int stop_requested(const audit *a) { return a->o->stop && *a->o->stop; }

static adx_status load_backgrounds(audit *a, adx_error *err) {
  int64_t n = adx_dataset_size(a->ds), want = a->o->backgrounds < n ? a->o->backgrounds : n, *idx = NULL,
          cnt = 0;
  if (want <= 0 || a->o->no_metrics) return ADX_OK; /* only context robustness pastes them */
  adx_status s = adx_dataset_select(n, 0, 0, want, adx_seed_mix(a->o->seed, 0xb6b6), &idx, &cnt, err);
  if (s) return s;
  size_t chw = (size_t)a->C * a->H * a->W;
  a->bg_raw = malloc(sizeof(float) * chw * (size_t)cnt);
  a->bg_label = malloc(sizeof(int) * (size_t)cnt);
  if (!a->bg_raw || !a->bg_label)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory for %lld backgrounds", (long long)cnt);
  for (int64_t i = 0; i < cnt && !s; i++) {
    int32_t lab;
    s = adx_dataset_get(a->ds, idx[i], a->bg_raw + (size_t)i * chw, &lab, err);
    a->bg_label[i] = lab;
  }
  a->bg.n = (int)cnt;
  a->bg.raw = a->bg_raw;
  a->bg.label = a->bg_label;
  a->bg_index = idx;
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
  uint8_t *mask;     /* [HW] the object mask (datasets with masks), or NULL */
  float *centre_map; /* [HW] scratch of the centre control */
} image_work;

/* The record of an explanation without metrics (--no-metrics): its size, every metric NaN, no metric query
 * (seconds and queries are the caller's). */
static void no_metrics(const uint8_t *expl, int64_t hw, adx_metrics *out) {
  int64_t npx = 0;
  for (int64_t i = 0; i < hw; i++) npx += expl[i] != 0;
  out->size = (float)((double)npx / (double)hw);
  out->confidence = out->drop_off = out->robustness_colour = out->robustness_context = NAN;
  out->insertion_auc = out->deletion_auc = NAN;
  for (int j = 0; j < ADX_ROB_K; j++) out->robustness_at_k[j] = NAN;
  for (int j = 0; j < ADX_ROB_K; j++)
    for (int k = 0; k < ADX_NJUDGES; k++) out->judges[j][k][0] = out->judges[j][k][1] = NAN;
  out->metric_queries = 0;
}

static adx_status explain_one(audit *a, image_work *w, int64_t slot, adx_image_result *out, adx_error *err) {
  const adx_audit_options *o = a->o;
  int64_t index = a->sel[slot];
  size_t hw = (size_t)a->H * a->W;
  int32_t label;
  adx_status s = adx_dataset_get(a->ds, index, w->raw, &label, err);
  if (!s && w->mask) s = adx_dataset_get_mask(a->ds, index, w->mask, err);
  if (s) return s;
  uint64_t seed = adx_seed_mix(o->seed, (uint64_t)index);
  adx_mode plain_mode;
  adx_mode_parse("plain", &plain_mode, NULL);
  adx_oracle plain;
  if ((s = adx_oracle_init(&plain, a->e, &plain_mode, &a->norm, w->raw, o->batch, err))) return s;
  /* the oracle's probe pass holds the full image's probabilities (not counted as a query) */
  int pred = 0;
  for (int k = 1; k < a->nclasses; k++)
    if (plain.full[k] > plain.full[pred]) pred = k;
  float p_full = plain.full[pred];
  memset(out, 0, sizeof *out);
  out->slot = slot;
  out->index = index;
  out->label = label;
  out->pred = pred;
  out->conf = p_full;
  out->flags = (label >= 0 && label != pred) ? ADX_RESULTS_FLAG_MISCLASSIFIED : 0;
  /* The image is never its own context background. */
  adx_backgrounds bg = a->bg;
  for (int j = 0; j < bg.n; j++)
    if (a->bg_index[j] == index) bg.exclude_one = 1, bg.excluded = j;
  /* the judges' oracles (docs/metrics.md, "Judges"): made once per image, asked by every mode */
  adx_oracle jo[ADX_NJUDGES];
  adx_oracle *judges[ADX_NJUDGES] = {NULL};
  int njo = 0;
  memset(jo, 0, sizeof jo);
  for (int j = ADX_JUDGE_FILL_ZERO; a->judges && j < ADX_NJUDGES && !s; j++) {
    adx_mode jm;
    if (!(s = adx_judge_mode(j, &jm, err)) &&
        !(s = adx_oracle_init(&jo[j], a->e, &jm, &a->norm, w->raw, o->batch, err))) {
      judges[j] = &jo[j];
      njo = j + 1;
    }
  }
  for (int m = 0; m < o->nmodes && !s; m++) {
    double t0 = adx_now();
    adx_mode mode = o->modes[m];
    mode.seed = adx_seed_mix(seed, 0xf111 + (uint64_t)m);
    adx_oracle mo;
    if ((s = adx_oracle_init(&mo, a->e, &mode, &a->norm, w->raw, o->batch, err))) break;
    float *resp = w->resp + (size_t)m * hw;
    uint8_t *expl = w->expl + (size_t)m * hw;
    int size_px;
    float p_expl;
    s = adx_explain_responsibility(&o->x, &mo, pred, seed, resp, err);
    if (!s) adx_rank_pixels(resp, a->H, a->W, w->order);
    if (!s) s = adx_explainer_extract(&o->x, &mo, pred, w->order, p_full, expl, &size_px, &p_expl, err);
    int64_t q = mo.queries;
    if (!s && o->no_metrics)
      no_metrics(expl, (int64_t)hw, &w->met[m]); /* explanations only: not one more query */
    else if (!s)
      s = adx_metrics_compute_judged(&mo, &plain, a->judges ? judges : NULL, pred, p_full, expl, w->order,
                                     &bg, &o->mp, seed, &w->met[m], err);
    w->met[m].queries = q;
    if (!s) a->q_expl += q, a->q_metric += w->met[m].metric_queries, a->n_expl++;
    /* ground truth against the object mask, with the same ranking (docs/metrics.md) */
    if (w->mask)
      adx_gt_compute(resp, w->order, w->mask, (int64_t)hw, &w->met[m].gt);
    else
      adx_gt_clear(&w->met[m].gt);
    if (!s && mode.kind == ADX_MODE_AD && !a->warned_fallback && adx_engine_ad_fallback(a->e)) {
      if (a->rank == 0)
        fprintf(
            o->log ? o->log : stderr,
            "adx explain: warning: AD follows %s only up to node '%s'; from there on it computes plainly on "
            "the deactivated zeros (see docs/ad.md)\n",
            o->model, adx_engine_ad_fallback(a->e));
      a->warned_fallback = 1;
    }
    w->met[m].seconds = (float)(adx_now() - t0);
    w->resp_ptr[m] = resp;
    w->expl_ptr[m] = expl;
    adx_oracle_free(&mo);
  }
  for (int j = 0; j < njo; j++) adx_oracle_free(&jo[j]);
  adx_oracle_free(&plain);
  out->object_mask = w->mask;
  if (w->mask && !s)
    adx_gt_centre(w->mask, a->H, a->W, w->centre_map, w->order, &out->centre);
  else
    adx_gt_clear(&out->centre);
  out->responsibility = w->resp_ptr;
  out->explanation = w->expl_ptr;
  out->metrics = w->met;
  if (s) adx_error_prefix(err, "image %lld: ", (long long)index);
  return s;
}

/* Model, engine, dataset, selection, normalisation, number of classes and backgrounds. */
static adx_status setup(audit *a, adx_error *err) {
  const adx_audit_options *o = a->o;
  adx_status s;
  if ((s = adx_model_load(o->model, &o->model_limits, &a->g, err))) return s;
  if ((s = adx_preproc_from_model(&a->pp, a->g, err))) return s;
  const adx_value *iv = &a->g->values[a->g->inputs[0]];
  if (iv->ndim != 4)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: explain needs an image input [N,C,H,W]", o->model);
  a->C = (int)iv->dims[1];
  a->H = (int)iv->dims[2];
  a->W = (int)iv->dims[3];
  if ((s = adx_explainer_check(&o->x, a->H, a->W, err))) return s;
  if ((s = adx_engine_create(a->g, o->threads, &a->e, err))) return s;
  /* `sliding` hides one small window per mutant: its fill queries reuse the image's activations outside
   * the window's cone (engine/incr.c) unless ADX_INCREMENTAL says otherwise. Only where that is bit for bit
   * the full computation: the oneDNN path with the blocked layout (docs/configuration.md). */
  const char *inc = getenv("ADX_INCREMENTAL");
  if ((!inc || !*inc) && o->x.kind == ADX_EXPLAINER_SLIDING && adx_conv_backend() == 1 &&
      adx_layout_setting() == 1)
    adx_engine_set_incremental(a->e, 1);
  /* plan the buffers of a full batch now: a model over --max-activation-mem is refused before any work */
  if ((s = adx_engine_reserve(a->e, o->batch, err))) return s;
  if ((s = adx_dataset_open_ex(o->data, &a->pp, a->C, a->H, a->W, &o->data_limits, &a->ds, err))) return s;
  if ((s = adx_dataset_select(adx_dataset_size(a->ds), o->offset, o->limit, o->sample, o->seed, &a->sel,
                              &a->nsel, err)))
    return s;
  if (a->nsel == 0) return adx_fail(err, ADX_ERR_ARG, "%s: no image selected", o->data);
  a->norm = a->pp.norm;
  a->masks = adx_dataset_has_masks(a->ds) && !o->no_metrics; /* ground truth is a metric */
  /* number of classes from one plain pass */
  adx_tensor in;
  int64_t d[4] = {1, a->C, a->H, a->W};
  if ((s = adx_tensor_alloc(&in, ADX_F32, 4, d, err))) return s;
  const adx_tensor *out;
  s = adx_engine_run(a->e, &in, &out, err);
  if (!s) a->nclasses = (int)(adx_tensor_numel(out));
  adx_tensor_free(&in);
  if (s) return s;
  return load_backgrounds(a, err);
}

/* Create the file, or open it to resume: *todo lists the slots to explain (adx_alloc'd). */
static adx_status open_results(audit *a, int64_t **todo, int64_t *ntodo, adx_error *err) {
  const adx_audit_options *o = a->o;
  char sha[65] = "";
  adx_status s = adx_sha256_file(o->model, sha, err);
  /* Every rank must agree the setup worked before the collective file creation, or one would hang. */
  int code = adx_exit_code(s), worst;
  MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, o->comm);
  if (s) return s;
  if (worst) return adx_fail(err, worst == 2 ? ADX_ERR_ARG : ADX_ERR_RUNTIME, "another rank failed to start");
  char xname[64];
  snprintf(xname, sizeof xname, "%s", adx_explainer_name(o->x.kind));
  adx_run_info info = {.model_path = o->model,
                       .model_sha256 = sha,
                       .data_path = o->data,
                       .config_text = o->config_text,
                       .explainer = xname,
                       .nmodes = o->nmodes,
                       .modes = o->mode_names,
                       .variants = o->mode_variants,
                       .seed = o->seed,
                       .ranks = a->size,
                       .threads_per_rank = o->threads > 0 ? o->threads : adx_threads_get(),
                       .n = a->nsel,
                       .h = a->H,
                       .w = a->W,
                       .nclasses = a->nclasses,
                       .judges = o->judges && !o->no_metrics,
                       .has_masks = a->masks,
                       .no_metrics = o->no_metrics};
  *todo = NULL;
  if (o->resume) {
    s = adx_results_open_resume(o->out, &info, o->comm, o->force, &a->res, todo, ntodo, err);
  } else {
    s = adx_results_create(o->out, &info, o->comm, o->force, &a->res, err);
    *ntodo = a->nsel;
    *todo = adx_alloc(sizeof(int64_t) * (size_t)*ntodo);
    if (!s && !*todo) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < *ntodo && *todo; i++) (*todo)[i] = i;
  }
  if (!s) s = adx_results_record_hosts(a->res, err); /* provenance: the host of every rank */
  if (!s) {
    a->judges = info.judges && adx_results_get_meta(a->res)->judges;
    if (info.judges && !a->judges && a->rank == 0)
      fprintf(o->log,
              "%s: %s has no judge matrix (made before cross-judging or with --judges none): resumed "
              "without it\n",
              o->name, o->out);
    const char *v = adx_results_get_meta(a->res)->adx_version;
    if (o->resume && a->rank == 0 && v && strcmp(v, ADX_VERSION))
      fprintf(o->log,
              "%s: note: %s was started by adx %s and is resumed by adx %s; the images of the two sessions "
              "may differ in the last bits of their numbers (docs/output-format.md, adx_version)\n",
              o->name, o->out, v, ADX_VERSION);
  }
  if (s) {
    adx_free(*todo);
    *todo = NULL;
    return s;
  }
  if (a->rank == 0)
    fprintf(o->log,
            "%s: %lld images (%lld to do), %d modes, explainer %s, %d rank(s) x %d thread(s)%s, passes of %d "
            "samples, OpenMP waits: %s\n",
            o->name, (long long)a->nsel, (long long)*ntodo, o->nmodes, xname, a->size, info.threads_per_rank,
            adx_engine_incremental(a->e) ? ", incremental queries (fill and AD)" : "", adx_engine_chunk(a->e),
            getenv("OMP_WAIT_POLICY")  ? getenv("OMP_WAIT_POLICY")
            : getenv("GOMP_SPINCOUNT") ? "spin for GOMP_SPINCOUNT, then sleep"
                                       : "libgomp's default");
  return ADX_OK;
}

/* Explain the todo slots drawn from the shared counter; returns 1 when a signal stopped any rank. */
static int work(audit *a, const int64_t *todo, int64_t ntodo, adx_error *err) {
  const adx_audit_options *o = a->o;
  size_t hw = (size_t)a->H * a->W, chw = (size_t)a->C * hw;
  image_work w = {0};
  w.raw = malloc(sizeof(float) * chw);
  w.resp = malloc(sizeof(float) * hw * (size_t)o->nmodes);
  w.expl = malloc(hw * (size_t)o->nmodes);
  w.order = malloc(sizeof(int32_t) * hw);
  int masks = a->masks;
  if (masks) {
    w.mask = malloc(hw);
    w.centre_map = malloc(sizeof(float) * hw);
  }
  adx_status s = ADX_OK;
  if (!w.raw || !w.resp || !w.expl || !w.order || (masks && (!w.mask || !w.centre_map)))
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  adx_dist *dist = NULL;
  adx_results_buffer *wbuf = NULL; /* images reach the file in batches (docs/scaling.md) */
  if (!s) s = adx_results_buffer_create(a->res, o->flush_images, o->flush_seconds, &wbuf, err);
  if (!s) s = adx_dist_create(o->comm, ntodo, o->chunk, o->sched, &dist, err);
  adx_progress prog;
  adx_progress_init(&prog, o->log, a->rank == 0 ? o->progress : ADX_PROGRESS_OFF, a->nsel, a->nsel - ntodo);
  /* Test hook (docs/reliability.md): ADX_DEBUG_IMAGE_DELAY_MS=N makes every rank say which image it has
   * written and then sleep N ms, so that a fault test can land a kill between two images on any machine. */
  const char *dbg = getenv("ADX_DEBUG_IMAGE_DELAY_MS");
  long dbg_ms = dbg && *dbg ? strtol(dbg, NULL, 10) : 0;
  int64_t lo, hi;
  int local_fail = s != ADX_OK;
  while (!local_fail && !stop_requested(a) && adx_dist_next(dist, &lo, &hi)) {
    for (int64_t t = lo; t < hi && !local_fail; t++) {
      adx_image_result res;
      if ((s = explain_one(a, &w, todo[t], &res, err)) || (s = adx_results_buffer_add(wbuf, &res, err))) {
        local_fail = 1;
        break;
      }
      adx_dist_add_done(dist, 1);
      if (a->rank == 0) adx_progress_update(&prog, a->nsel - ntodo + adx_dist_done(dist), 0);
      if (dbg_ms > 0 && !stop_requested(a)) { /* the image is in the file when the hook says so */
        if ((s = adx_results_buffer_flush(wbuf, err))) {
          local_fail = 1;
          break;
        }
        fprintf(stderr, "adx: debug: rank %d wrote image %lld\n", a->rank, (long long)todo[t]);
        fflush(stderr);
        usleep((useconds_t)(dbg_ms > 60000 ? 60000 : dbg_ms) * 1000);
      }
      if (stop_requested(a)) break;
    }
  }
  /* at the end of the work, and after a SIGTERM: what the buffer holds goes to the file now */
  if (!local_fail && (s = adx_results_buffer_flush(wbuf, err))) local_fail = 1;
  if (local_fail) {
    /* A rank that cannot go on stops the run: the file keeps every image already marked done. */
    adx_error e2 = {0}; /* keep what the buffer holds, if the file still takes it */
    adx_results_buffer_flush(wbuf, &e2);
    fprintf(o->log, "%s: rank %d: %s\n", o->name, a->rank, err ? err->msg : adx_status_name(s));
    fprintf(o->log, "%s: stopping; completed images are kept, rerun with --resume to finish\n", o->name);
    fflush(o->log);
    MPI_Abort(o->comm, adx_exit_code(s));
  }
  /* rank 0 keeps reporting while the others finish */
  if (a->rank == 0 && dist)
    while (!stop_requested(a)) {
      int64_t d = adx_dist_done(dist);
      adx_progress_update(&prog, a->nsel - ntodo + d, 0);
      if (d >= ntodo) break;
      usleep(200000);
    }
  int64_t final_done = a->rank == 0 && dist ? adx_dist_done(dist) : -1;
  adx_dist_free(dist); /* before any other collective: the p2p counter answers its last requests here */
  int stopped = stop_requested(a), any_stopped;
  MPI_Allreduce(&stopped, &any_stopped, 1, MPI_INT, MPI_MAX, o->comm);
  if (final_done >= 0) adx_progress_end(&prog, a->nsel - ntodo + final_done);
  /* the session's mutant queries over every rank: the explainer's (the results file's `queries`) and the
   * metrics' (not in the file), so that the cost of the metrics can be read off the log */
  int64_t mine[3] = {a->q_expl, a->q_metric, a->n_expl}, all[3] = {0, 0, 0};
  MPI_Reduce(mine, all, 3, MPI_INT64_T, MPI_SUM, 0, o->comm);
  if (a->rank == 0 && all[2] > 0)
    fprintf(o->log,
            "%s: mutant queries this session: explainer %lld, metrics %lld%s (%lld explanations: %.1f and "
            "%.1f per explanation)\n",
            o->name, (long long)all[0], (long long)all[1], o->no_metrics ? " (--no-metrics)" : "",
            (long long)all[2], (double)all[0] / (double)all[2], (double)all[1] / (double)all[2]);
  adx_results_buffer_free(wbuf);
  free(w.raw);
  free(w.resp);
  free(w.expl);
  free(w.order);
  free(w.mask);
  free(w.centre_map);
  return any_stopped;
}

static adx_status run(audit *a, adx_error *err) {
  adx_status s = setup(a, err);
  if (s) return s;
  int64_t *todo = NULL, ntodo = 0;
  if ((s = open_results(a, &todo, &ntodo, err))) return s;
  int any_stopped = work(a, todo, ntodo, err);
  adx_free(todo);
  s = adx_results_finish(a->res, err);
  adx_results_close(a->res); /* finish closes the file; close frees the handle */
  a->res = NULL;
  if (s) return s;
  if (any_stopped)
    return adx_fail(err, ADX_ERR_RUNTIME, "interrupted by a signal: %s is unfinished; rerun with --resume",
                    a->o->out);
  return ADX_OK;
}

adx_status adx_audit_run(const adx_audit_options *o, adx_error *err) {
  audit a;
  memset(&a, 0, sizeof a);
  a.o = o;
  a.pp = o->pp;
  MPI_Comm_rank(o->comm, &a.rank);
  MPI_Comm_size(o->comm, &a.size);
  adx_status s = run(&a, err);
  adx_results_close(a.res);
  adx_engine_free(a.e);
  adx_graph_free(a.g);
  adx_dataset_close(a.ds);
  free(a.sel);
  free(a.bg_raw);
  free(a.bg_label);
  free(a.bg_index);
  return s;
}
