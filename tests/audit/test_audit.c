/* The audit as a library call (adx_audit_run), without the command line: a small run on Fashion-MNIST
 * with the fixture model, whose preprocessing comes from its metadata_props, and a setup failure that
 * every rank reports. One MPI rank; skipped under valgrind (no MPI there) or without the dataset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adx/audit.h"
#include "adx/results.h"
#include "common/testutil.h"

#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static char g_model[1024], g_out[1100];
static adx_mode g_modes[2];
static const char *const g_names[2] = {"ad", "fill:zero"};

static void small_run(adx_audit_options *o, FILE *log) {
  adx_audit_options_default(o);
  o->model = tu_data(g_model, sizeof g_model, "fashion_resnet.onnx");
  o->data = FASHION;
  o->out = g_out;
  o->config_text = "# test_audit\n";
  TU_OK(adx_mode_parse("ad", &g_modes[0], err));
  TU_OK(adx_mode_parse("fill:zero", &g_modes[1], err));
  o->nmodes = 2;
  o->modes = g_modes;
  o->mode_names = g_names;
  o->limit = 4;
  o->backgrounds = 20;
  o->mp.k_colour = o->mp.k_context = 2;
  o->mp.auc_steps = 5;
  TU_OK(adx_explainer_set(&o->x, "iters", "2", err));
  o->force = 1;
  o->progress = ADX_PROGRESS_OFF;
  o->log = log;
  o->name = "test_audit";
}

/* Four images in two modes: the file is finished with every image done, and the model's own
 * preprocessing (no mean/std given here) classifies them as the labels say. */
static void test_run(void **state) {
  (void)state;
  if (access(FASHION, R_OK)) skip();
  FILE *log = tmpfile();
  assert_non_null(log);
  adx_audit_options o;
  small_run(&o, log);
  TU_OK(adx_audit_run(&o, err));
  fclose(log);
  adx_results *r;
  TU_OK(adx_results_open_read(g_out, &r, err));
  const adx_results_meta *m = adx_results_get_meta(r);
  assert_int_equal(m->n, 4);
  assert_int_equal(m->nmodes, 2);
  assert_true(m->finished);
  uint8_t done[4];
  int32_t label[4], pred[4];
  TU_OK(adx_results_read_done(r, done, err));
  TU_OK(adx_results_read_images_columns(r, NULL, label, pred, NULL, err));
  int correct = 0;
  for (int i = 0; i < 4; i++) {
    assert_true(done[i]);
    correct += label[i] == pred[i];
  }
  assert_true(correct >= 3); /* 92% test accuracy with the right preprocessing; ~10% without */
  adx_results_close(r);
  remove(g_out);
}

/* A model that cannot be read fails setup with the path named, and no file is made. */
static void test_setup_error(void **state) {
  (void)state;
  adx_audit_options o;
  small_run(&o, stderr);
  o.model = "/nonexistent/model.onnx";
  adx_error e = {0};
  assert_int_equal(adx_audit_run(&o, &e), ADX_ERR_IO);
  assert_non_null(strstr(e.msg, "/nonexistent/model.onnx"));
  assert_int_equal(access(g_out, F_OK), -1);
}

TU_LSAN_IGNORE_MPI

int main(int argc, char **argv) {
  if (getenv("ADX_VALGRIND")) return 0; /* MPI does not run under valgrind */
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  const char *tmp = getenv("TMPDIR");
  snprintf(g_out, sizeof g_out, "%s/adx_test_audit_%d.h5", tmp ? tmp : "/tmp", (int)getpid());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run),
      cmocka_unit_test(test_setup_error),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
