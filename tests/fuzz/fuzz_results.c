/* Fuzz target: the results file (HDF5) as `summary`/`report` read it and as `explain --resume` reopens it.
 * The input is written to a temporary file; it is opened for reading (attributes, done flags, an image,
 * columns, summaries), then reopened for resume with a run built from its own attributes (so the
 * comparison passes and the write path is reached), one image is written and the run is finished.
 * HDF5's error stack printing is off; a handle left open after a call is a finding (abort). */
#include <hdf5.h>

#include "adx/results_mpi.h"
#include "fuzz_common.h"

#define MAX_N 4096
#define MAX_HW 4096

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  return 0;
}

static void check_no_open_handles(const char *where) {
  ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (n > 0) {
    fprintf(stderr, "fuzz_results: %zd HDF5 objects left open after %s\n", n, where);
    abort();
  }
}

static int small(const adx_results_meta *m) {
  return m->n <= MAX_N && (int64_t)m->h * m->w <= MAX_HW && m->nmodes <= 32 && m->nclasses <= 100000;
}

static void read_all(const char *path) {
  adx_results *r = NULL;
  adx_error err = {0};
  if (adx_results_open_read(path, &r, &err) != ADX_OK) return;
  const adx_results_meta *m = adx_results_get_meta(r);
  if (small(m)) {
    uint8_t *done = malloc((size_t)m->n);
    double *col = malloc(sizeof(double) * (size_t)m->n);
    double *per_class = malloc(sizeof(double) * (size_t)m->nclasses);
    if (done && col && per_class) {
      (void)adx_results_read_done(r, done, &err);
      adx_image_record rec;
      if (adx_results_read_image(r, m->n - 1, &rec, &err) == ADX_OK) adx_image_record_free(&rec);
      for (int mode = 0; mode < m->nmodes; mode++) {
        (void)adx_results_read_column(r, mode, adx_results_metric_name(r, mode % ADX_RESULTS_NMETRICS), col,
                                      &err);
        adx_summary sum;
        (void)adx_results_read_summary(r, mode, "size", &sum, per_class, &err);
        adx_ad_vs v;
        (void)adx_results_read_ad_vs(r, mode, "robustness_colour", &v, &err);
      }
    }
    free(done);
    free(col);
    free(per_class);
  }
  adx_results_close(r);
}

/* Reopen for --resume with the file's own run attributes, write the first image to do, finish. */
static void resume(const char *path) {
  adx_results *old = NULL;
  adx_error err = {0};
  if (adx_results_open_read(path, &old, &err) != ADX_OK) return;
  const adx_results_meta *m = adx_results_get_meta(old);
  if (!small(m)) {
    adx_results_close(old);
    return;
  }
  adx_run_info run = {.model_path = m->model_path,
                      .model_sha256 = m->model_sha256,
                      .data_path = m->data_path,
                      .config_text = m->config_text,
                      .explainer = m->explainer,
                      .nmodes = m->nmodes,
                      .modes = (const char *const *)m->modes,
                      .seed = m->seed,
                      .ranks = 1,
                      .threads_per_rank = 1,
                      .n = m->n,
                      .h = m->h,
                      .w = m->w,
                      .nclasses = m->nclasses,
                      .rob_k = m->rob_k};
  adx_results *r = NULL;
  int64_t *todo = NULL, ntodo = 0;
  if (adx_results_open_resume(path, &run, MPI_COMM_NULL, 1, &r, &todo, &ntodo, &err) == ADX_OK) {
    size_t hw = (size_t)m->h * m->w;
    float *resp = calloc(hw ? hw : 1, sizeof(float));
    uint8_t *expl = calloc(hw ? hw : 1, 1);
    const float *rp[32];
    const uint8_t *ep[32];
    adx_metrics met[32];
    memset(met, 0, sizeof met);
    for (int i = 0; i < m->nmodes; i++) {
      rp[i] = resp;
      ep[i] = expl;
      met[i].size = 0.5f;
      met[i].queries = 7;
    }
    if (ntodo > 0 && resp && expl) {
      adx_image_result im = {.slot = todo[0],
                             .index = todo[0],
                             .label = 0,
                             .pred = 0,
                             .conf = 0.5f,
                             .responsibility = rp,
                             .explanation = ep,
                             .metrics = met};
      (void)adx_results_write_image(r, &im, &err);
    }
    free(resp);
    free(expl);
    (void)adx_results_finish(r, &err);
    adx_results_close(r);
    adx_free(todo);
  }
  adx_results_close(old);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[512];
  fuzz_temp_path(path, sizeof path, "results.h5");
  fuzz_write_file(path, data, size);
  read_all(path);
  check_no_open_handles("reading");
  resume(path);
  check_no_open_handles("resume");
  unlink(path);
  return 0;
}
