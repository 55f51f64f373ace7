/* Ground truth in the results file (docs/output-format.md): /images/object_mask, the per-mode and centre
 * ground-truth datasets and their /summary, written and read back with hand-chosen values (the summary
 * means are computed by hand below); a run without masks has none of them and reads NaN; a file without
 * the has_masks attribute (written before ground truth) opens and summarises; resume and merge refuse a
 * change of masks. Serial HDF5 (MPI_COMM_NULL): no MPI initialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/metrics.h"
#include "adx/results_mpi.h"
#include "common/testutil.h"

#define H 2
#define W 3
#define HW (H * W)
#define NM 2

static const char *const modes[NM] = {"ad", "fill:zero"};
static char g_dir[] = "/tmp/adx_test_rgt_XXXXXX";

static adx_run_info make_run(int64_t n, int has_masks) {
  adx_run_info r = {0};
  r.model_path = "m.onnx";
  r.model_sha256 = "ab";
  r.data_path = "data.h5";
  r.config_text = "cfg\n";
  r.explainer = "rex";
  r.nmodes = NM;
  r.modes = modes;
  r.seed = 1;
  r.ranks = 1;
  r.threads_per_rank = 1;
  r.n = n;
  r.h = H;
  r.w = W;
  r.nclasses = 2;
  r.has_masks = has_masks;
  return r;
}

/* Image slot's values: mask bit p = (p + slot) % 2; pointing game (slot + m) % 2; energy 0.1 (slot + 1)
 * + 0.2 m; precision@k j: 0.125 j + 0.05 slot + 0.01 m; the centre: pointing 1, energy 0.5, precision
 * 0.25; slot 2's ad energy is NaN (skipped by the summary). */
typedef struct img {
  float resp[NM][HW];
  uint8_t expl[NM][HW], mask[HW];
  const float *rp[NM];
  const uint8_t *ep[NM];
  adx_metrics met[NM];
  adx_image_result ir;
} img;

static adx_image_result *fill(img *g, int64_t slot, int with_mask) {
  memset(g, 0, sizeof *g);
  for (int m = 0; m < NM; m++) {
    for (int p = 0; p < HW; p++) g->resp[m][p] = (float)(p + m), g->expl[m][p] = p == 0;
    g->rp[m] = g->resp[m], g->ep[m] = g->expl[m];
    adx_gt *t = &g->met[m].gt;
    t->pointing_game = (float)((slot + m) % 2);
    t->energy_in_object = slot == 2 && m == 0 ? NAN : 0.1f * (float)(slot + 1) + 0.2f * (float)m;
    for (int j = 0; j < ADX_ROB_K; j++)
      t->precision_at_k[j] = 0.125f * (float)j + 0.05f * (float)slot + 0.01f * (float)m;
  }
  for (int p = 0; p < HW; p++) g->mask[p] = (uint8_t)((p + slot) % 2);
  g->ir.slot = slot;
  g->ir.index = slot;
  g->ir.label = (int32_t)(slot % 2);
  g->ir.pred = (int32_t)(slot % 2);
  g->ir.conf = 0.9f;
  g->ir.responsibility = g->rp;
  g->ir.explanation = g->ep;
  g->ir.metrics = g->met;
  g->ir.object_mask = with_mask ? g->mask : NULL;
  g->ir.centre.pointing_game = 1;
  g->ir.centre.energy_in_object = 0.5f;
  for (int j = 0; j < ADX_ROB_K; j++) g->ir.centre.precision_at_k[j] = 0.25f;
  return &g->ir;
}

static const char *tpath(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", g_dir, name);
  return buf;
}

/* A finished file of n images (slots 0..n-1 with index offset first). */
static void write_file(const char *path, int64_t n, int64_t first, int has_masks) {
  adx_run_info run = make_run(n, has_masks);
  adx_results *r = NULL;
  TU_OK(adx_results_create(path, &run, MPI_COMM_NULL, 1, &r, err));
  img g;
  for (int64_t i = 0; i < n; i++) {
    adx_image_result *ir = fill(&g, first + i, has_masks);
    ir->slot = i;
    TU_OK(adx_results_write_image(r, ir, err));
  }
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
}

static double attr_d(hid_t f, const char *group, const char *name) {
  hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
  assert_true(g >= 0);
  double v = NAN;
  hid_t a = H5Aopen(g, name, H5P_DEFAULT);
  assert_true(a >= 0);
  H5Aread(a, H5T_NATIVE_DOUBLE, &v);
  H5Aclose(a);
  H5Gclose(g);
  return v;
}

static void test_roundtrip(void **state) {
  char p[600];
  tpath(p, sizeof p, "m.h5");
  write_file(p, 3, 0, 1);
  adx_results *r = NULL;
  TU_OK(adx_results_open_read(p, &r, err));
  assert_int_equal(adx_results_get_meta(r)->has_masks, 1);
  uint8_t masks[3 * HW];
  TU_OK(adx_results_read_object_masks(r, 0, 3, masks, err));
  for (int i = 0; i < 3; i++)
    for (int q = 0; q < HW; q++) assert_int_equal(masks[i * HW + q], (q + i) % 2);
  assert_string_equal(adx_results_gt_name(r, 0), "pointing_game");
  assert_string_equal(adx_results_gt_name(r, 2 + 1), "precision_at_k/k=10");
  double col[3];
  TU_OK(adx_results_read_gt_column(r, 1, "energy_in_object", col, err));
  for (int i = 0; i < 3; i++) assert_float_equal(col[i], 0.1 * (i + 1) + 0.2, 1e-6);
  TU_OK(adx_results_read_gt_column(r, 0, "precision_at_k/k=20", col, err));
  for (int i = 0; i < 3; i++) assert_float_equal(col[i], 0.25 + 0.05 * i, 1e-6);
  TU_OK(adx_results_read_gt_column(r, ADX_RESULTS_CENTRE, "pointing_game", col, err));
  for (int i = 0; i < 3; i++) assert_float_equal(col[i], 1.0, 0);
  adx_error e = {0};
  assert_int_equal(adx_results_read_gt_column(r, 0, "size", col, &e), ADX_ERR_ARG);
  adx_image_record rec;
  TU_OK(adx_results_read_image(r, 2, &rec, err));
  assert_non_null(rec.object_mask);
  for (int q = 0; q < HW; q++) assert_int_equal(rec.object_mask[q], (q + 2) % 2);
  assert_true(isnan(rec.metrics[0].gt.energy_in_object));
  assert_float_equal(rec.metrics[1].gt.pointing_game, 1.0, 0);
  assert_float_equal(rec.centre.precision_at_k[3], 0.25, 0);
  adx_image_record_free(&rec);
  adx_results_close(r);

  /* the summary, by hand: ad pointing game (0 + 1 + 0) / 3; ad energy over slots 0, 1 (2 is NaN):
   * (0.1 + 0.2) / 2, n 2; fill:zero precision@40 (0.385 + 0.435 + 0.485) / 3; centre energy 0.5 */
  hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  assert_float_equal(attr_d(f, "/summary/ad/pointing_game", "mean"), 1.0 / 3, 1e-6);
  assert_float_equal(attr_d(f, "/summary/ad/energy_in_object", "mean"), 0.15, 1e-6);
  assert_float_equal(attr_d(f, "/summary/ad/energy_in_object", "n"), 2, 0);
  assert_float_equal(attr_d(f, "/summary/fill:zero/precision_at_k/k=40", "mean"), (0.385 + 0.435 + 0.485) / 3,
                     1e-6);
  assert_float_equal(attr_d(f, "/summary/centre_control/energy_in_object", "mean"), 0.5, 1e-6);
  assert_float_equal(attr_d(f, "/summary/centre_control/pointing_game", "n"), 3, 0);
  H5Fclose(f);

  /* a run with masks refuses an image without its mask */
  adx_run_info run = make_run(1, 1);
  tpath(p, sizeof p, "m1.h5");
  TU_OK(adx_results_create(p, &run, MPI_COMM_NULL, 1, &r, err));
  img g;
  assert_int_equal(adx_results_write_image(r, fill(&g, 0, 0), &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "object mask"));
  adx_results_close(r);
  unlink(p);
}

static void test_no_masks_and_old_files(void **state) {
  char p[600];
  tpath(p, sizeof p, "n.h5");
  write_file(p, 2, 0, 0);
  hid_t f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
  assert_int_equal(H5Lexists(f, "/images/object_mask", H5P_DEFAULT), 0);
  assert_int_equal(H5Lexists(f, "/images/centre_pointing_game", H5P_DEFAULT), 0);
  assert_int_equal(H5Lexists(f, "/modes/ad/pointing_game", H5P_DEFAULT), 0);
  assert_int_equal(H5Lexists(f, "/summary/centre_control", H5P_DEFAULT), 0);
  /* a file from before ground truth: no has_masks attribute at all */
  assert_true(H5Adelete(f, "has_masks") >= 0);
  H5Fclose(f);
  adx_results *r = NULL;
  TU_OK(adx_results_open_read(p, &r, err));
  assert_int_equal(adx_results_get_meta(r)->has_masks, 0);
  double col[2] = {0, 0};
  TU_OK(adx_results_read_gt_column(r, 0, "pointing_game", col, err));
  assert_true(isnan(col[0]) && isnan(col[1]));
  uint8_t m[HW];
  adx_error e = {0};
  assert_int_equal(adx_results_read_object_masks(r, 0, 1, m, &e), ADX_ERR_ARG);
  adx_image_record rec;
  TU_OK(adx_results_read_image(r, 1, &rec, err));
  assert_null(rec.object_mask);
  assert_true(isnan(rec.centre.pointing_game));
  adx_image_record_free(&rec);
  adx_summary s;
  TU_OK(adx_results_read_summary(r, 0, "size", &s, NULL, err));
  adx_results_close(r);
  unlink(p);
}

static void test_resume_and_merge(void **state) {
  char p[600], q[600], o[600];
  adx_error e = {0};
  adx_results *r = NULL;
  int64_t *todo = NULL, ntodo = 0;
  /* an unfinished file with masks: resuming without masks is refused, with them it goes on */
  tpath(p, sizeof p, "res.h5");
  adx_run_info run = make_run(2, 1);
  TU_OK(adx_results_create(p, &run, MPI_COMM_NULL, 1, &r, err));
  adx_results_close(r);
  run.has_masks = 0;
  assert_int_equal(adx_results_open_resume(p, &run, MPI_COMM_NULL, 0, &r, &todo, &ntodo, &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "with object masks"));
  run.has_masks = 1;
  TU_OK(adx_results_open_resume(p, &run, MPI_COMM_NULL, 0, &r, &todo, &ntodo, err));
  assert_int_equal(ntodo, 2);
  adx_free(todo);
  adx_results_close(r);
  /* and the other way round */
  tpath(q, sizeof q, "res0.h5");
  run.has_masks = 0;
  TU_OK(adx_results_create(q, &run, MPI_COMM_NULL, 1, &r, err));
  adx_results_close(r);
  run.has_masks = 1;
  assert_int_equal(adx_results_open_resume(q, &run, MPI_COMM_NULL, 0, &r, &todo, &ntodo, &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "without object masks"));
  unlink(p), unlink(q);

  /* merge: two slices with masks give the whole; a slice without masks is refused */
  tpath(p, sizeof p, "a.h5"), tpath(q, sizeof q, "b.h5"), tpath(o, sizeof o, "ab.h5");
  write_file(p, 2, 0, 1);
  write_file(q, 1, 2, 1);
  const char *in[2] = {q, p};
  TU_OK(adx_results_merge(o, in, 2, 1, err));
  TU_OK(adx_results_open_read(o, &r, err));
  assert_int_equal(adx_results_get_meta(r)->has_masks, 1);
  double col[3];
  TU_OK(adx_results_read_gt_column(r, 1, "energy_in_object", col, err));
  for (int i = 0; i < 3; i++) assert_float_equal(col[i], 0.1 * (i + 1) + 0.2, 1e-6);
  uint8_t masks[3 * HW];
  TU_OK(adx_results_read_object_masks(r, 0, 3, masks, err));
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < HW; k++) assert_int_equal(masks[i * HW + k], (k + i) % 2);
  adx_results_close(r);
  write_file(q, 1, 2, 0);
  assert_int_equal(adx_results_merge(o, in, 2, 1, &e), ADX_ERR_ARG);
  assert_non_null(strstr(e.msg, "object masks"));
  unlink(p), unlink(q), unlink(o);
}

int main(void) {
  setenv("ADX_NO_LOCK", "1", 0);
  if (!mkdtemp(g_dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_no_masks_and_old_files),
      cmocka_unit_test(test_resume_and_merge),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  if (system(cmd) != 0) rc = rc ? rc : 1;
  return rc;
}
