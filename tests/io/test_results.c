/* Results store (parallel HDF5). Runs as one process or under `mpirun -np N` (ranks write disjoint images).
 * Expected values: image data comes from a generator in this file; statistics from hand derivations and
 * published t tables; SHA-256 from the FIPS 180-2 / NIST example vectors. Kill safety: child processes (this
 * binary with --kill-child) are killed with SIGKILL at chosen and at random moments; the file must then
 * open, every done image must hold its data, and --resume must complete it to a file equal, dataset by
 * dataset and attribute by attribute, to an uninterrupted run's.
 *
 * Extra entry points (used by tests/integration/test_results_mpi.sh):
 *   test_results --kill-child DIR serial|mpi SPEC   write DIR/kill.h5, dying as SPEC says
 *   test_results --complete-check FILE              check a killed file, resume it, compare with a reference
 *   test_results --lock-child DIR                   create DIR/locked.h5 and hold it until killed
 * ADX_RESULTS_TEST_DIR=DIR keeps the files in DIR (for h5dump / h5py checks); ADX_RESULTS_TEST_VERBOSE=1
 * reports how many images each killed run had done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adx/metrics.h"
#include "adx/results_mpi.h"
#include "adx/sha256.h"
#include "common/testutil.h"

extern char **environ;

static int g_rank, g_size = 1;
static int g_light; /* under valgrind or sanitizers: fewer kill runs */
/* Under valgrind the test runs without MPI (Open MPI's own allocations would fail the leak check): the
 * communicators are then MPI_COMM_NULL, which makes the store use HDF5's serial driver. */
static int g_mpi = 1;
static MPI_Comm g_world = MPI_COMM_NULL, g_one = MPI_COMM_NULL;

static void barrier(void) {
  if (g_mpi) MPI_Barrier(MPI_COMM_WORLD);
}
static char g_dir[512];
static char g_self[1024];

static const char *const modes3[] = {"ad", "fill:zero", "fill:a/b"};
static const char *const cfg_text = "[run]\nseed = 7\nlimit = 12\n[explain]\nconfidence = 0.9\n";
static const char *const sha_a = "ab12000000000000000000000000000000000000000000000000000000000000";
static const char *const sha_b = "cd34000000000000000000000000000000000000000000000000000000000000";

/* ------------------------------------------------------------------ generated images */

typedef struct gen {
  int nmodes, h, w;
  float *resp;
  uint8_t *expl;
  adx_metrics met[4];
  const float *rp[4];
  const uint8_t *ep[4];
  adx_image_result ir;
} gen;

static void gen_init(gen *g, int nmodes, int h, int w) {
  memset(g, 0, sizeof *g);
  g->nmodes = nmodes, g->h = h, g->w = w;
  g->resp = calloc((size_t)(nmodes * h * w), sizeof(float));
  g->expl = calloc((size_t)(nmodes * h * w), 1);
  assert_non_null(g->resp);
  assert_non_null(g->expl);
  for (int m = 0; m < nmodes; m++) g->rp[m] = g->resp + m * h * w, g->ep[m] = g->expl + m * h * w;
}

static void gen_free(gen *g) {
  free(g->resp);
  free(g->expl);
}

/* Every value of image `slot` (the formulas are repeated in test_results_mpi.sh's h5py check). */
static const adx_image_result *gen_fill(gen *g, int64_t slot) {
  int hw = g->h * g->w;
  for (int m = 0; m < g->nmodes; m++) {
    for (int p = 0; p < hw; p++) {
      g->resp[m * hw + p] = sinf((float)slot * 0.1f + (float)m * 1.3f + (float)p * 0.01f);
      g->expl[m * hw + p] = (uint8_t)((p + slot + m) % 3 == 0);
    }
    adx_metrics *mt = &g->met[m];
    float *f[8] = {
        &mt->size,          &mt->confidence,   &mt->drop_off, &mt->robustness_colour, &mt->robustness_context,
        &mt->insertion_auc, &mt->deletion_auc, &mt->seconds};
    for (int j = 0; j < 8; j++) *f[j] = (float)((slot * 13 + m * 5 + j * 3) % 17) / 16.0f;
    for (int j = 0; j < ADX_ROB_K; j++) mt->robustness_at_k[j] = (float)((slot + j * 2 + m) % 5) / 4.0f;
    mt->queries = 1000 + slot * 10 + m;
  }
  adx_image_result *r = &g->ir;
  r->slot = slot;
  r->index = 100 + 3 * slot;
  r->label = slot % 4 == 3 ? -1 : (int32_t)(slot % 3);
  r->pred = (int32_t)((slot * 7) % 3);
  r->conf = 0.5f + (float)slot / 100.0f;
  r->flags = r->label >= 0 && r->pred != r->label ? ADX_RESULTS_FLAG_MISCLASSIFIED : 0;
  r->responsibility = g->rp;
  r->explanation = g->ep;
  r->metrics = g->met;
  return r;
}

static adx_run_info make_run(int64_t n, int h, int w, int nmodes) {
  adx_run_info r = {0};
  r.model_path = "models/m.onnx";
  r.model_sha256 = sha_a;
  r.data_path = "data/test";
  r.config_text = cfg_text;
  r.explainer = "rex";
  r.nmodes = nmodes;
  r.modes = modes3;
  r.seed = 7;
  r.ranks = g_size;
  r.threads_per_rank = 2;
  r.n = n;
  r.h = h;
  r.w = w;
  r.nclasses = 3;
  return r;
}

static const char *tpath(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", g_dir, name);
  return buf;
}

/* Check that a record holds the generated data of its slot. */
static void check_record(const adx_image_record *rec, gen *g) {
  const adx_image_result *e = gen_fill(g, rec->slot);
  int hw = g->h * g->w;
  assert_int_equal(rec->index, e->index);
  assert_int_equal(rec->label, e->label);
  assert_int_equal(rec->pred, e->pred);
  assert_true(rec->conf == e->conf);
  assert_int_equal(rec->flags, e->flags);
  assert_int_equal(rec->nmodes, g->nmodes);
  assert_memory_equal(rec->responsibility, g->resp, (size_t)(g->nmodes * hw) * sizeof(float));
  assert_memory_equal(rec->explanation, g->expl, (size_t)(g->nmodes * hw));
  for (int m = 0; m < g->nmodes; m++) {
    assert_true(rec->metrics[m].size == g->met[m].size);
    assert_true(rec->metrics[m].confidence == g->met[m].confidence);
    assert_true(rec->metrics[m].drop_off == g->met[m].drop_off);
    assert_true(rec->metrics[m].robustness_colour == g->met[m].robustness_colour);
    assert_true(rec->metrics[m].robustness_context == g->met[m].robustness_context);
    assert_true(rec->metrics[m].insertion_auc == g->met[m].insertion_auc);
    assert_true(rec->metrics[m].deletion_auc == g->met[m].deletion_auc);
    assert_true(rec->metrics[m].seconds == g->met[m].seconds);
    assert_memory_equal(rec->metrics[m].robustness_at_k, g->met[m].robustness_at_k,
                        sizeof(float) * ADX_ROB_K);
    assert_int_equal(rec->metrics[m].queries, g->met[m].queries);
  }
}

/* Open with the serial reader; every done image must hold its data, every other image must read as zero
 * maps unless partially written. Returns the number of done images; done[] filled if not NULL. */
static int64_t verify_done_images(const char *path, uint8_t *done_out) {
  adx_results *rd = NULL;
  TU_OK(adx_results_open_read(path, &rd, err));
  const adx_results_meta *m = adx_results_get_meta(rd);
  uint8_t *done = malloc((size_t)m->n);
  assert_non_null(done);
  TU_OK(adx_results_read_done(rd, done, err));
  gen g;
  gen_init(&g, m->nmodes, m->h, m->w);
  int64_t nd = 0;
  for (int64_t i = 0; i < m->n; i++) {
    assert_true(done[i] <= 1);
    if (!done[i]) continue;
    nd++;
    adx_image_record rec;
    TU_OK(adx_results_read_image(rd, i, &rec, err));
    assert_int_equal(rec.done, 1);
    check_record(&rec, &g);
    adx_image_record_free(&rec);
  }
  if (done_out) memcpy(done_out, done, (size_t)m->n);
  gen_free(&g);
  free(done);
  adx_results_close(rd);
  return nd;
}

/* ------------------------------------------------------------------ comparing two files */

typedef struct cmp_ctx {
  hid_t other;
  char diff[600];
  int64_t objects;
} cmp_ctx;

static int is_vlstr(hid_t t) { return H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0; }

static void compare_attr(hid_t a, hid_t b, const char *where, const char *name, char *diff, size_t len) {
  hid_t ta = H5Aget_type(a), tb = H5Aget_type(b), sa = H5Aget_space(a), sb = H5Aget_space(b);
  hssize_t na = H5Sget_simple_extent_npoints(sa), nb = H5Sget_simple_extent_npoints(sb);
  if (H5Tequal(ta, tb) <= 0 || na != nb) {
    snprintf(diff, len, "%s: attribute %s differs in type or size", where, name);
  } else if (is_vlstr(ta)) {
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    char **va = calloc((size_t)na, sizeof *va), **vb = calloc((size_t)na, sizeof *vb);
    H5Aread(a, mt, va);
    H5Aread(b, mt, vb);
    for (hssize_t i = 0; i < na && !diff[0]; i++)
      if (strcmp(va[i], vb[i]))
        snprintf(diff, len, "%s: attribute %s: '%.60s' vs '%.60s'", where, name, va[i], vb[i]);
    H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, va);
    H5Dvlen_reclaim(mt, sb, H5P_DEFAULT, vb);
    free(va), free(vb);
    H5Tclose(mt);
  } else {
    hid_t nt = H5Tget_native_type(ta, H5T_DIR_ASCEND);
    size_t bytes = H5Tget_size(nt) * (size_t)na;
    char *ba = calloc(1, bytes + 1), *bb = calloc(1, bytes + 1);
    H5Aread(a, nt, ba);
    H5Aread(b, nt, bb);
    if (memcmp(ba, bb, bytes)) snprintf(diff, len, "%s: attribute %s differs", where, name);
    free(ba), free(bb);
    H5Tclose(nt);
  }
  H5Tclose(ta), H5Tclose(tb), H5Sclose(sa), H5Sclose(sb);
}

typedef struct attr_ctx {
  hid_t other;
  const char *where;
  char *diff;
  size_t len;
  int count;
} attr_ctx;

/* Root attributes that legitimately differ between two runs of the same audit. */
static int root_varies(const char *name) {
  return !strcmp(name, "created") || !strcmp(name, "ranks") || !strcmp(name, "wall_seconds") ||
         !strcmp(name, "finished_at") || !strcmp(name, "hosts");
}

static herr_t attr_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)info;
  attr_ctx *c = data;
  int root = !strcmp(c->where, ".");
  if (root && root_varies(name)) return 0;
  c->count++;
  if (H5Aexists(c->other, name) <= 0) {
    snprintf(c->diff, c->len, "%s: attribute %s missing in the other file", c->where, name);
    return 1;
  }
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT), b = H5Aopen(c->other, name, H5P_DEFAULT);
  compare_attr(a, b, c->where, name, c->diff, c->len);
  H5Aclose(a), H5Aclose(b);
  return c->diff[0] ? 1 : 0;
}

static herr_t count_cb(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)loc, (void)info;
  const char *where = ((attr_ctx *)data)->where;
  if (!strcmp(where, ".") && root_varies(name)) return 0;
  ((attr_ctx *)data)->count++;
  return 0;
}

static void compare_dataset(hid_t a, hid_t b, const char *where, char *diff, size_t len) {
  hid_t ta = H5Dget_type(a), tb = H5Dget_type(b), sa = H5Dget_space(a), sb = H5Dget_space(b);
  hsize_t da[4] = {0}, db[4] = {0};
  int ra = H5Sget_simple_extent_dims(sa, da, NULL), rb = H5Sget_simple_extent_dims(sb, db, NULL);
  if (H5Tequal(ta, tb) <= 0 || ra != rb || memcmp(da, db, sizeof da)) {
    snprintf(diff, len, "%s: type or shape differs", where);
  } else {
    hid_t nt = H5Tget_native_type(ta, H5T_DIR_ASCEND);
    size_t bytes = H5Tget_size(nt) * (size_t)H5Sget_simple_extent_npoints(sa);
    char *ba = malloc(bytes + 1), *bb = malloc(bytes + 1);
    H5Dread(a, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, ba);
    H5Dread(b, nt, H5S_ALL, H5S_ALL, H5P_DEFAULT, bb);
    if (memcmp(ba, bb, bytes)) snprintf(diff, len, "%s: data differs", where);
    free(ba), free(bb);
    H5Tclose(nt);
  }
  H5Tclose(ta), H5Tclose(tb), H5Sclose(sa), H5Sclose(sb);
}

static herr_t visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  cmp_ctx *c = data;
  c->objects++;
  if (H5Oexists_by_name(c->other, name, H5P_DEFAULT) <= 0) {
    snprintf(c->diff, sizeof c->diff, "%s missing in the other file", name);
    return 1;
  }
  hid_t a = H5Oopen(obj, name, H5P_DEFAULT), b = H5Oopen(c->other, name, H5P_DEFAULT);
  attr_ctx ac = {b, name, c->diff, sizeof c->diff, 0}, bc = {a, name, NULL, 0, 0};
  H5Aiterate2(a, H5_INDEX_NAME, H5_ITER_INC, NULL, attr_cb, &ac);
  H5Aiterate2(b, H5_INDEX_NAME, H5_ITER_INC, NULL, count_cb, &bc);
  if (!c->diff[0] && ac.count != bc.count)
    snprintf(c->diff, sizeof c->diff, "%s: attribute counts differ", name);
  if (!c->diff[0] && info->type == H5O_TYPE_DATASET) compare_dataset(a, b, name, c->diff, sizeof c->diff);
  H5Oclose(a), H5Oclose(b);
  return c->diff[0] ? 1 : 0;
}

static herr_t count_obj_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  (void)obj, (void)name, (void)info;
  ((cmp_ctx *)data)->objects++;
  return 0;
}

/* "" when the files are equal (every object, attribute and dataset; the root attributes of root_varies
 * excepted). */
static void compare_files(const char *pa, const char *pb, char *diff, size_t len) {
  hid_t fa = H5Fopen(pa, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(pb, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(fa >= 0 && fb >= 0);
  cmp_ctx c = {fb, "", 0}, cb = {fa, "", 0};
  H5Ovisit2(fa, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &c, H5O_INFO_BASIC);
  H5Ovisit2(fb, H5_INDEX_NAME, H5_ITER_INC, count_obj_cb, &cb, H5O_INFO_BASIC);
  if (!c.diff[0] && c.objects != cb.objects)
    snprintf(c.diff, sizeof c.diff, "object counts differ: %lld vs %lld", (long long)c.objects,
             (long long)cb.objects);
  H5Fclose(fa), H5Fclose(fb);
  snprintf(diff, len, "%s", c.diff);
}

/* ------------------------------------------------------------------ writing whole runs */

/* Write all images of a run (this process only), finish and close. */
static void write_full(const char *path, const adx_run_info *run, MPI_Comm comm) {
  adx_results *r = NULL;
  TU_OK(adx_results_create(path, run, comm, 1, &r, err));
  gen g;
  gen_init(&g, run->nmodes, run->h, run->w);
  for (int64_t i = 0; i < run->n; i++) TU_OK(adx_results_write_image(r, gen_fill(&g, i), err));
  gen_free(&g);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
}

static void remove_file(const char *p) {
  char b[1100];
  unlink(p);
  snprintf(b, sizeof b, "%.1000s.creating", p);
  unlink(b);
}

/* Collective: rank 0 removes the file. */
static void remove_all(const char *p) {
  if (g_rank == 0) remove_file(p);
  barrier();
}

/* ------------------------------------------------------------------ tests: SHA-256, statistics */

static void hex(const uint8_t *d, char *out) {
  for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256(void **state) {
  (void)state;
  uint8_t d[32];
  char h[65];
  adx_sha256("abc", 3, d);
  hex(d, h);
  assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  adx_sha256("", 0, d);
  hex(d, h);
  assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  adx_sha256(m448, strlen(m448), d);
  hex(d, h);
  assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  if (g_rank != 0) return;
  /* one million 'a' through the file (streaming, several buffers) */
  char p[600];
  tpath(p, sizeof p, "million_a.bin");
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  for (int i = 0; i < 1000000; i++) fputc('a', f);
  fclose(f);
  TU_OK(adx_sha256_file(p, h, err));
  assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  unlink(p);
  adx_error e = {0};
  assert_int_equal(adx_sha256_file(p, h, &e), ADX_ERR_IO);
  assert_non_null(strstr(e.msg, "million_a.bin"));
}

/* Delta-method CI of the relative improvement, against hand derivations with published t(0.975, 3). */
static void test_rel_improvement(void **state) {
  (void)state;
  double half;
  adx_ad_vs r;
  double a[] = {1, 2, 3, 4}, f1[] = {2, 2, 2, 2}, f2[] = {1, 3, 2, 4};
  adx_rel_improvement(a, f1, 4, &r);
  /* f constant: Var(ma/mf) = Var(a)/(n mf^2) = (5/3)/(4*4) */
  assert_true(fabs(r.improvement - 0.25) < 1e-12);
  half = 3.182446 * sqrt(5.0 / 3.0 / 4.0) / 2.0;
  assert_true(fabs(r.ci95_low - (0.25 - half)) < 1e-5 && fabs(r.ci95_high - (0.25 + half)) < 1e-5);
  assert_true(r.mean_ad == 2.5 && r.mean_fill == 2 && r.n == 4);
  /* textbook delta method, var_a = var_f = 5/3, cov = 4/3, means 2.5:
   * Var(R) = (1/4)(var_a/mf^2 - 2 ma cov/mf^3 + ma^2 var_f/mf^4) = 0.0266667 */
  adx_rel_improvement(a, f2, 4, &r);
  double var = 0.25 * ((5.0 / 3) / 6.25 - 2 * 2.5 * (4.0 / 3) / 15.625 + 6.25 * (5.0 / 3) / 39.0625);
  half = 3.182446 * sqrt(var);
  assert_true(fabs(r.improvement) < 1e-12);
  assert_true(fabs(r.ci95_low + half) < 1e-5 && fabs(r.ci95_high - half) < 1e-5);
  double z[] = {0, 0};
  adx_rel_improvement(a, z, 2, &r); /* relative to zero: undefined */
  assert_true(isnan(r.improvement) && r.n == 2 && r.mean_fill == 0);
  double an[] = {1, NAN, 3}, fn[] = {2, 5, NAN};
  adx_rel_improvement(an, fn, 3, &r); /* NaN pairs skipped; one pair: no CI */
  assert_true(r.n == 1 && r.improvement == -0.5 && isnan(r.ci95_low) && isnan(r.ci95_high));
}

/* ------------------------------------------------------------------ tests: write, read, layout */

/* Ranks write disjoint slots, out of order, in batches (contiguous and not) and singly; a serial reader
 * checks the file mid-run and at the end. */
static void test_roundtrip(void **state) {
  (void)state;
  char p[600];
  tpath(p, sizeof p, "full.h5");
  remove_all(p);
  const int64_t N = 12;
  adx_run_info run = make_run(N, 6, 5, 3);
  adx_results *r = NULL;
  double t_test = adx_now();
  TU_OK(adx_results_create(p, &run, g_world, 0, &r, err));
  int64_t mine[12];
  int nm = 0;
  for (int64_t s = N - 1; s >= 0; s--)
    if (s % g_size == g_rank) mine[nm++] = s;
  gen g[3];
  for (int i = 0; i < 3; i++) gen_init(&g[i], 3, 6, 5);
  adx_image_result batch[3];
  int first = nm < 3 ? nm : 3;
  for (int i = 0; i < first; i++) batch[i] = *gen_fill(&g[i], mine[i]);
  TU_OK(adx_results_write_images(r, batch, first, err));
  barrier();
  if (g_rank == 0) { /* mid-run: exactly the first batches are done, and readable while the run is open */
    uint8_t done[12];
    assert_int_equal(verify_done_images(p, done), 3 * g_size < N ? 3 * g_size : N);
    for (int64_t s = 0; s < N; s++) {
      int64_t pos = 0; /* position of s in its rank's descending list */
      for (int64_t t = N - 1; t > s; t--) pos += t % g_size == s % g_size;
      assert_int_equal(done[s], pos < 3);
    }
    adx_results *rd;
    TU_OK(adx_results_open_read(p, &rd, err));
    adx_image_record rec;
    for (int64_t s = 0; s < N; s++)
      if (!done[s]) { /* never written: zeros (fill value 0 and file holes) */
        TU_OK(adx_results_read_image(rd, s, &rec, err));
        for (int i = 0; i < 3 * 30; i++) assert_true(rec.responsibility[i] == 0 && rec.explanation[i] == 0);
        assert_int_equal(rec.label, -1);
        adx_image_record_free(&rec);
        break;
      }
    assert_int_equal(adx_results_get_meta(rd)->finished, 0);
    /* no finish yet: no wall time */
    assert_true(isnan(adx_results_get_meta(rd)->wall_seconds));
    assert_string_equal(adx_results_get_meta(rd)->finished_at, "");
    adx_results_close(rd);
  }
  barrier();
  for (int i = first; i < nm; i++) TU_OK(adx_results_write_image(r, gen_fill(&g[0], mine[i]), err));
  for (int i = 0; i < 3; i++) gen_free(&g[i]);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  if (g_rank != 0) return;
  assert_int_equal(verify_done_images(p, NULL), N);
  adx_results *rd;
  TU_OK(adx_results_open_read(p, &rd, err));
  const adx_results_meta *m = adx_results_get_meta(rd);
  assert_int_equal(m->finished, 1);
  assert_string_equal(m->adx_version, ADX_VERSION);
  assert_string_equal(m->model_sha256, sha_a);
  assert_string_equal(m->config_text, cfg_text);
  assert_string_equal(m->model_path, "models/m.onnx");
  assert_string_equal(m->data_path, "data/test");
  assert_string_equal(m->explainer, "rex");
  assert_int_equal(m->nmodes, 3);
  for (int i = 0; i < 3; i++) assert_string_equal(m->modes[i], modes3[i]);
  assert_int_equal(m->seed, 7);
  assert_int_equal(m->ranks, g_size);
  assert_int_equal(m->threads_per_rank, 2);
  assert_int_equal(m->n, N);
  assert_int_equal(m->h, 6);
  assert_int_equal(m->w, 5);
  assert_int_equal(m->nclasses, 3);
  assert_int_equal(m->ad_mode, 0);
  assert_true(m->rob_k[0] == 5 && m->rob_k[1] == 10 && m->rob_k[2] == 20 && m->rob_k[3] == 40);
  assert_int_equal(strlen(m->created), 20); /* 2024-01-01T00:00:00Z */
  /* finish recorded this session's wall time: positive, and not longer than this test has run */
  assert_true(m->wall_seconds > 0 && m->wall_seconds < adx_now() - t_test + 1e-3);
  assert_int_equal(strlen(m->finished_at), 20);
  assert_true(m->finished_at[4] == '-' && m->finished_at[10] == 'T' && m->finished_at[19] == 'Z');
  assert_true(strcmp(m->finished_at, m->created) >= 0);
  assert_int_equal(adx_results_mode_index(rd, "fill:a/b"), 2);
  assert_int_equal(adx_results_mode_index(rd, "fill:mean"), -1);
  assert_string_equal(adx_results_metric_name(rd, 8), "queries");
  assert_string_equal(adx_results_metric_name(rd, ADX_RESULTS_NSCALAR + 1), "robustness_at_k/k=10");
  assert_null(adx_results_metric_name(rd, ADX_RESULTS_NMETRICS));
  /* a column: robustness_at_k k=20 of mode 1 is ((s + 2*2 + 1) % 5) / 4 */
  double col[12];
  TU_OK(adx_results_read_column(rd, 1, "robustness_at_k/k=20", col, err));
  for (int s = 0; s < N; s++) assert_true(col[s] == (double)((s + 5) % 5) / 4.0);
  TU_OK(adx_results_read_column(rd, 2, "queries", col, err));
  for (int s = 0; s < N; s++) assert_true(col[s] == 1000 + s * 10 + 2);
  adx_error e = {0};
  assert_int_equal(adx_results_read_column(rd, 0, "robustness", col, &e), ADX_ERR_ARG);
  assert_int_equal(adx_results_read_column(rd, 3, "size", col, &e), ADX_ERR_ARG);
  adx_ad_vs v;
  assert_int_equal(adx_results_read_ad_vs(rd, 1, "size", &v, &e), ADX_ERR_ARG);
  TU_OK(adx_results_read_ad_vs(rd, 2, "robustness_context", &v, err));
  assert_int_equal(v.n, N);
  adx_results_close(rd);
}

/* The schema as any HDF5 client sees it (raw HDF5 calls, not adx's reader). */
static void test_layout(void **state) {
  (void)state;
  if (g_rank != 0) return;
  char p[600];
  tpath(p, sizeof p, "layout.h5");
  remove_file(p);
  adx_run_info run = make_run(4, 6, 5, 3);
  write_full(p, &run, g_one);
  hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  static const char *const root_attrs[] = {
      "adx_version", "created",  "model_path",   "model_sha256",     "data_path", "config", "explainer",
      "modes",       "seed",     "ranks",        "threads_per_rank", "finished",  "n",      "height",
      "width",       "nclasses", "wall_seconds", "finished_at",      "build_cpu", "hosts"};
  for (size_t i = 0; i < sizeof root_attrs / sizeof *root_attrs; i++)
    assert_true(H5Aexists(f, root_attrs[i]) > 0);
  /* mode group names: '/' escaped as %2F, ':' kept; the real name in attribute "mode" */
  assert_true(H5Lexists(f, "/modes/fill:zero", H5P_DEFAULT) > 0);
  assert_true(H5Lexists(f, "/modes/fill:a%2Fb", H5P_DEFAULT) > 0);
  hid_t g = H5Gopen2(f, "/modes/fill:a%2Fb", H5P_DEFAULT);
  hid_t a = H5Aopen(g, "mode", H5P_DEFAULT), st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, H5T_VARIABLE);
  char *name = NULL;
  assert_true(H5Aread(a, st, &name) >= 0);
  assert_string_equal(name, "fill:a/b");
  H5free_memory(name);
  H5Aclose(a), H5Gclose(g);
  struct {
    const char *path;
    hid_t type;
    int rank;
    hsize_t d1, d2;
    int chunked;
  } ds[] = {{"/images/index", H5T_STD_I64LE, 1, 0, 0, 0},
            {"/images/label", H5T_STD_I32LE, 1, 0, 0, 0},
            {"/images/pred", H5T_STD_I32LE, 1, 0, 0, 0},
            {"/images/conf", H5T_IEEE_F32LE, 1, 0, 0, 0},
            {"/images/flags", H5T_STD_U8LE, 1, 0, 0, 0},
            {"/images/done", H5T_STD_U8LE, 1, 0, 0, 0},
            {"/modes/ad/responsibility", H5T_IEEE_F32LE, 3, 6, 5, 1},
            {"/modes/fill:zero/explanation", H5T_STD_U8LE, 3, 6, 5, 1},
            {"/modes/ad/size", H5T_IEEE_F32LE, 1, 0, 0, 0},
            {"/modes/ad/robustness_context", H5T_IEEE_F32LE, 1, 0, 0, 0},
            {"/modes/fill:a%2Fb/seconds", H5T_IEEE_F32LE, 1, 0, 0, 0},
            {"/modes/ad/queries", H5T_STD_I64LE, 1, 0, 0, 0},
            {"/modes/ad/robustness_at_k", H5T_IEEE_F32LE, 2, ADX_ROB_K, 0, 0},
            {"/summary/ad/size/per_class", H5T_IEEE_F64LE, 1, 0, 0, 0}};
  for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
    hid_t d = H5Dopen2(f, ds[i].path, H5P_DEFAULT);
    assert_true(d >= 0);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d), pl = H5Dget_create_plist(d);
    hsize_t dims[3] = {0};
    assert_true(H5Tequal(t, ds[i].type) > 0);
    assert_int_equal(H5Sget_simple_extent_dims(sp, dims, NULL), ds[i].rank);
    assert_int_equal(dims[0], strstr(ds[i].path, "per_class") ? 3 : 4);
    if (ds[i].rank > 1) assert_int_equal(dims[1], ds[i].d1);
    if (ds[i].rank > 2) assert_int_equal(dims[2], ds[i].d2);
    assert_int_equal(H5Pget_nfilters(pl), 0); /* no compression in the parallel file */
    H5D_space_status_t ss;
    H5Dget_space_status(d, &ss);
    assert_int_equal(ss, H5D_SPACE_STATUS_ALLOCATED);
    if (ds[i].chunked) {
      hsize_t ch[3];
      assert_int_equal(H5Pget_layout(pl), H5D_CHUNKED);
      assert_int_equal(H5Pget_chunk(pl, 3, ch), 3);
      assert_true(ch[0] == 1 && ch[1] == 6 && ch[2] == 5);
    }
    H5Tclose(t), H5Sclose(sp), H5Pclose(pl), H5Dclose(d);
  }
  float k[ADX_ROB_K];
  hid_t d = H5Dopen2(f, "/modes/fill:zero/robustness_at_k", H5P_DEFAULT);
  a = H5Aopen(d, "k", H5P_DEFAULT);
  assert_true(H5Aread(a, H5T_NATIVE_FLOAT, k) >= 0);
  assert_true(k[0] == 5 && k[3] == 40);
  H5Aclose(a), H5Dclose(d);
  static const char *const groups[] = {"/summary/ad/robustness_at_k/k=5", "/summary/fill:a%2Fb/queries",
                                       "/summary/ad_vs_fill:zero/robustness_colour",
                                       "/summary/ad_vs_fill:a%2Fb/robustness_context"};
  for (size_t i = 0; i < 4; i++) {
    g = H5Gopen2(f, groups[i], H5P_DEFAULT);
    assert_true(g >= 0);
    assert_true(H5Aexists(g, "ci95_low") > 0 && H5Aexists(g, "n") > 0);
    H5Gclose(g);
  }
  assert_true(H5Lexists(f, "/summary/ad_vs_ad", H5P_DEFAULT) == 0);
  H5Tclose(st);
  H5Fclose(f);
}

/* The run writes only raw data: between create and close, every byte that changes lies inside a dataset's
 * storage (so a killed run cannot leave metadata half-written); finish allocates nothing. */
typedef struct raw_ranges {
  int n;
  uint64_t lo[256], hi[256];
} raw_ranges;

static herr_t raw_cb(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  raw_ranges *R = data;
  hid_t d = H5Dopen2(obj, name, H5P_DEFAULT), pl = H5Dget_create_plist(d);
  if (H5Pget_layout(pl) == H5D_CHUNKED) {
    hsize_t nc = 0;
    hid_t sp = H5Dget_space(d);
    assert_true(H5Dget_num_chunks(d, sp, &nc) >= 0);
    for (hsize_t i = 0; i < nc && R->n < 256; i++) {
      haddr_t addr;
      hsize_t size;
      assert_true(H5Dget_chunk_info(d, sp, i, NULL, NULL, &addr, &size) >= 0);
      R->lo[R->n] = addr, R->hi[R->n++] = addr + size;
    }
    H5Sclose(sp);
  } else if (R->n < 256) {
    R->lo[R->n] = H5Dget_offset(d), R->hi[R->n] = R->lo[R->n] + H5Dget_storage_size(d), R->n++;
  }
  H5Pclose(pl), H5Dclose(d);
  return 0;
}

static char *slurp(const char *p, size_t *len) {
  FILE *f = fopen(p, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc(*len + 1);
  assert_int_equal(fread(b, 1, *len, f), *len);
  fclose(f);
  return b;
}

static void test_raw_only(void **state) {
  (void)state;
  if (g_rank != 0) return;
  char p[600];
  tpath(p, sizeof p, "rawonly.h5");
  MPI_Comm comms[2] = {g_one, MPI_COMM_NULL};
  for (int c = 0; c < (g_mpi ? 2 : 1); c++) {
    remove_file(p);
    adx_run_info run = make_run(6, 4, 3, 3);
    adx_results *r = NULL;
    TU_OK(adx_results_create(p, &run, comms[c], 0, &r, err));
    size_t la, lb, lc;
    char *a = slurp(p, &la);
    gen g;
    gen_init(&g, 3, 4, 3);
    for (int64_t s = 0; s < 6; s++) TU_OK(adx_results_write_image(r, gen_fill(&g, s), err));
    gen_free(&g);
    adx_results_close(r);
    char *b = slurp(p, &lb);
    assert_int_equal(la, lb);
    raw_ranges R = {0};
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, raw_cb, &R, H5O_INFO_BASIC);
    H5Fclose(f);
    assert_true(R.n > 3 * 6 * 2); /* the chunks of 3 modes x 2 maps x 6 images, and more */
    /* the one exception, with the serial driver only: HDF5 sets the superblock's file consistency flags
     * (bytes 20-23 of a version 0 superblock) while the file is open for writing and clears them at close;
     * for version 0 it does not enforce them on open, which is why files of killed runs (flag still set)
     * open in the kill tests. The MPI-IO driver leaves them alone. */
    assert_int_equal(a[20], comms[c] == MPI_COMM_NULL);
    assert_int_equal(b[20], 0);
    assert_int_equal(a[8], 0); /* superblock version 0 */
    size_t changed = 0;
    for (size_t i = 0; i < la; i++) {
      if (a[i] == b[i] || (i >= 20 && i < 24)) continue;
      changed++;
      int inside = 0;
      for (int k = 0; k < R.n && !inside; k++) inside = i >= R.lo[k] && i < R.hi[k];
      if (!inside) fail_msg("byte %zu outside every dataset's storage changed during the run", i);
    }
    assert_true(changed > 1000);
    TU_OK(adx_results_open_resume(p, &run, comms[c], 0, &r, &(int64_t *){NULL}, &(int64_t){0}, err));
    TU_OK(adx_results_finish(r, err));
    adx_results_close(r);
    char *d = slurp(p, &lc);
    assert_int_equal(lc, la); /* nothing allocated by finish */
    free(a), free(b), free(d);
  }
  remove_file(p);
}

/* Hand-derived summary: 4 images, modes ad and fill:zero. */
static void test_summary_values(void **state) {
  (void)state;
  if (g_rank != 0) return;
  char p[600];
  tpath(p, sizeof p, "summary.h5");
  remove_file(p);
  adx_run_info run = make_run(5, 2, 2, 2);
  run.nclasses = 4;
  adx_results *r = NULL;
  TU_OK(adx_results_create(p, &run, MPI_COMM_NULL, 0, &r, err));
  gen g;
  gen_init(&g, 2, 2, 2);
  const int32_t label[] = {0, 1, 0, -1}, pred[] = {0, 1, 1, 2};
  const float ad_col[] = {1, 2, 3, 4}, fill_col[] = {1, 3, 2, 4};
  for (int s = 0; s < 4; s++) { /* image 4 is never written */
    adx_image_result im = *gen_fill(&g, s);
    im.label = label[s];
    im.pred = pred[s];
    g.met[0].size = ad_col[s];
    g.met[0].robustness_colour = ad_col[s];
    g.met[1].robustness_colour = fill_col[s];
    g.met[0].robustness_context = ad_col[s];
    g.met[1].robustness_context = 2;
    g.met[0].queries = 10 * (s + 1);
    g.met[1].drop_off = s == 2 ? NAN : 1;
    TU_OK(adx_results_write_image(r, &im, err));
  }
  gen_free(&g);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  adx_results *rd;
  TU_OK(adx_results_open_read(p, &rd, err));
  assert_int_equal(adx_results_get_meta(rd)->finished, 0); /* image 4 not done */
  adx_summary s;
  double pc[4];
  double half = 3.182446 * sqrt(5.0 / 3.0) / 2.0;
  TU_OK(adx_results_read_summary(rd, 0, "size", &s, pc, err));
  assert_int_equal(s.n, 4);
  assert_true(fabs(s.mean - 2.5) < 1e-7 && fabs(s.std - 1.2909944) < 1e-6);
  assert_true(fabs(s.ci95_low - (2.5 - half)) < 1e-5 && fabs(s.ci95_high - (2.5 + half)) < 1e-5);
  /* classes: label, or pred where the label is unknown: class 0 {1,3}, class 1 {2}, class 2 {4}, 3 none */
  assert_true(fabs(pc[0] - 2) < 1e-12 && fabs(pc[1] - 2) < 1e-12 && fabs(pc[2] - 4) < 1e-12 && isnan(pc[3]));
  TU_OK(adx_results_read_summary(rd, 0, "queries", &s, NULL, err));
  assert_true(fabs(s.mean - 25) < 1e-9 && fabs(s.std - 10 * 1.2909944) < 1e-5);
  TU_OK(adx_results_read_summary(rd, 1, "drop_off", &s, pc, err)); /* NaN skipped */
  assert_int_equal(s.n, 3);
  assert_true(s.mean == 1 && s.std == 0 && s.ci95_low == 1 && s.ci95_high == 1);
  TU_OK(adx_results_read_summary(rd, 0, "robustness_at_k/k=40", &s, NULL, err));
  assert_int_equal(s.n, 4);
  adx_ad_vs v;
  TU_OK(adx_results_read_ad_vs(rd, 1, "robustness_colour", &v, err));
  double var = 0.25 * ((5.0 / 3) / 6.25 - 2 * 2.5 * (4.0 / 3) / 15.625 + 6.25 * (5.0 / 3) / 39.0625);
  assert_int_equal(v.n, 4);
  assert_true(fabs(v.improvement) < 1e-9 && fabs(v.ci95_high - 3.182446 * sqrt(var)) < 1e-5);
  TU_OK(adx_results_read_ad_vs(rd, 1, "robustness_context", &v, err));
  half = 3.182446 * sqrt(5.0 / 3.0 / 4.0) / 2.0;
  assert_true(fabs(v.improvement - 0.25) < 1e-9 && fabs(v.ci95_low - (0.25 - half)) < 1e-5);
  assert_true(v.mean_ad == 2.5 && v.mean_fill == 2);
  adx_results_close(rd);
}

/* The judge matrix (docs/output-format.md): written as [N, K, 6, 2] rows, read back by image and by mode,
 * NaN for images never written; its /summary cells by hand; a file without it reads NaN and refuses nothing
 * on resume, a file with it refuses a run without it. */
static void expect_msg(adx_status got, adx_status want, const adx_error *e, const char *needle);
static float judge_value(int64_t slot, int m, int cell) {
  return (float)((slot * 7 + m * 3 + cell) % 11) / 10.0f;
}

static void test_judges_store(void **state) {
  (void)state;
  if (g_rank != 0) return;
  enum { JN = ADX_ROB_K * ADX_NJUDGES * 2, N = 4 };
  char p[600], q[600];
  tpath(p, sizeof p, "judges.h5");
  tpath(q, sizeof q, "nojudges.h5");
  remove_file(p);
  remove_file(q);
  for (int with = 0; with < 2; with++) {
    adx_run_info run = make_run(N, 2, 3, 2);
    run.judges = with;
    adx_results *r = NULL;
    TU_OK(adx_results_create(with ? p : q, &run, MPI_COMM_NULL, 0, &r, err));
    gen g;
    gen_init(&g, 2, 2, 3);
    for (int s = 0; s < N - 1; s++) { /* image 3 is never written */
      adx_image_result im = *gen_fill(&g, s);
      for (int m = 0; m < 2; m++)
        for (int c = 0; c < JN; c++) (&g.met[m].judges[0][0][0])[c] = judge_value(s, m, c);
      TU_OK(adx_results_write_image(r, &im, err));
    }
    gen_free(&g);
    TU_OK(adx_results_finish(r, err));
    adx_results_close(r);
  }
  adx_results *rd;
  TU_OK(adx_results_open_read(p, &rd, err));
  assert_int_equal(adx_results_get_meta(rd)->judges, 1);
  float rows[N * JN];
  for (int m = 0; m < 2; m++) {
    TU_OK(adx_results_read_judges(rd, m, rows, err));
    for (int s = 0; s < N; s++)
      for (int c = 0; c < JN; c++) {
        float v = rows[s * JN + c];
        if (s == N - 1)
          assert_true(isnan(v)); /* the fill value until written */
        else
          assert_float_equal(v, judge_value(s, m, c), 0);
      }
  }
  adx_image_record rec;
  TU_OK(adx_results_read_image(rd, 2, &rec, err));
  assert_float_equal(rec.metrics[1].judges[3][ADX_JUDGE_AD][1],
                     judge_value(2, 1, (3 * ADX_NJUDGES + 5) * 2 + 1), 0);
  adx_image_record_free(&rec);
  adx_results_close(rd);
  /* /summary/<mode>/judges_mean and judges_n over the 3 images done, by hand */
  hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  double mean[JN];
  int64_t cnt[JN];
  hid_t d = H5Dopen2(f, "/summary/fill:zero/judges_mean", H5P_DEFAULT),
        dn = H5Dopen2(f, "/summary/fill:zero/judges_n", H5P_DEFAULT);
  assert_true(d >= 0 && dn >= 0);
  assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, mean) >= 0);
  assert_true(H5Dread(dn, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, cnt) >= 0);
  for (int c = 0; c < JN; c++) {
    double want = 0;
    for (int s = 0; s < N - 1; s++) want += judge_value(s, 1, c) / 3.0;
    assert_float_equal(mean[c], want, 1e-6);
    assert_int_equal(cnt[c], 3);
  }
  H5Dclose(d), H5Dclose(dn), H5Fclose(f);
  /* without the matrix: NaN on reading, nothing in the file */
  TU_OK(adx_results_open_read(q, &rd, err));
  assert_int_equal(adx_results_get_meta(rd)->judges, 0);
  TU_OK(adx_results_read_judges(rd, 0, rows, err));
  for (int c = 0; c < N * JN; c++) assert_true(isnan(rows[c]));
  TU_OK(adx_results_read_image(rd, 0, &rec, err));
  assert_true(isnan(rec.metrics[0].judges[0][0][0]));
  adx_image_record_free(&rec);
  adx_results_close(rd);
  f = H5Fopen(q, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_int_equal(H5Lexists(f, "/modes/ad/judges", H5P_DEFAULT), 0);
  assert_int_equal(H5Lexists(f, "/summary/ad/judges_mean", H5P_DEFAULT), 0);
  H5Fclose(f);
  /* resume: the file without the matrix takes a run with it (and stays without); the one with it refuses a
   * run without it */
  adx_run_info run = make_run(N, 2, 3, 2);
  run.judges = 1;
  adx_results *w = NULL;
  int64_t *todo = NULL, ntodo = 0;
  TU_OK(adx_results_open_resume(q, &run, MPI_COMM_NULL, 0, &w, &todo, &ntodo, err));
  assert_int_equal(ntodo, 1);
  assert_int_equal(adx_results_get_meta(w)->judges, 0);
  adx_free(todo);
  adx_results_close(w);
  run.judges = 0;
  adx_error e = {0};
  expect_msg(adx_results_open_resume(p, &run, MPI_COMM_NULL, 0, &w, &todo, &ntodo, &e), ADX_ERR_ARG, &e,
             "--judges all but this run uses --judges none");
}

/* A run without metrics (--no-metrics): only size, seconds and queries per mode; the rest reads as NaN, is
 * absent from the file and from /summary; a resume with the other setting is refused. Expected values are
 * gen_fill's formulas. */
static void test_no_metrics_store(void **state) {
  (void)state;
  if (g_rank != 0) return;
  enum { N = 4 };
  char p[600], q[600];
  tpath(p, sizeof p, "nometrics.h5");
  tpath(q, sizeof q, "withmetrics.h5");
  remove_file(p);
  remove_file(q);
  adx_error e = {0};
  adx_results *r = NULL;
  adx_run_info run = make_run(N, 2, 3, 2);
  run.no_metrics = 1;
  run.judges = 1; /* a run without metrics has no judges */
  expect_msg(adx_results_create(p, &run, MPI_COMM_NULL, 0, &r, &e), ADX_ERR_ARG, &e, "no judge matrix");
  run.judges = 0;
  for (int with = 0; with < 2; with++) {
    run.no_metrics = !with;
    TU_OK(adx_results_create(with ? q : p, &run, MPI_COMM_NULL, 0, &r, err));
    gen g;
    gen_init(&g, 2, 2, 3);
    for (int s = 0; s < N - 1; s++) TU_OK(adx_results_write_image(r, gen_fill(&g, s), err)); /* 3: never */
    gen_free(&g);
    TU_OK(adx_results_finish(r, err));
    adx_results_close(r);
  }
  adx_results *rd;
  TU_OK(adx_results_open_read(p, &rd, err));
  const adx_results_meta *m = adx_results_get_meta(rd);
  assert_int_equal(m->no_metrics, 1);
  assert_int_equal(m->judges, 0);
  for (int i = 0; i < ADX_RESULTS_NMETRICS; i++) {
    const char *name = adx_results_metric_name(rd, i);
    int kept = !strcmp(name, "size") || !strcmp(name, "seconds") || !strcmp(name, "queries");
    assert_int_equal(adx_results_has_metric(rd, i), kept);
  }
  double col[N];
  TU_OK(adx_results_read_column(rd, 1, "size", col, err));
  for (int s = 0; s < N - 1; s++) assert_float_equal(col[s], (float)((s * 13 + 5) % 17) / 16.0f, 1e-7);
  TU_OK(adx_results_read_column(rd, 1, "queries", col, err));
  for (int s = 0; s < N - 1; s++) assert_float_equal(col[s], 1000 + s * 10 + 1, 0);
  TU_OK(adx_results_read_column(rd, 0, "robustness_colour", col, err));
  for (int s = 0; s < N; s++) assert_true(isnan(col[s]));
  TU_OK(adx_results_read_column(rd, 0, "robustness_at_k/k=20", col, err));
  for (int s = 0; s < N; s++) assert_true(isnan(col[s]));
  adx_image_record rec;
  TU_OK(adx_results_read_image(rd, 2, &rec, err));
  assert_float_equal(rec.metrics[0].size, (float)((2 * 13) % 17) / 16.0f, 0);
  assert_float_equal(rec.metrics[0].seconds, (float)((2 * 13 + 7 * 3) % 17) / 16.0f, 0);
  assert_int_equal(rec.metrics[0].queries, 1020);
  assert_true(isnan(rec.metrics[0].confidence) && isnan(rec.metrics[1].deletion_auc));
  assert_true(isnan(rec.metrics[0].robustness_at_k[0]) && isnan(rec.metrics[0].judges[0][0][0]));
  adx_image_record_free(&rec);
  adx_summary sm;
  TU_OK(adx_results_read_summary(rd, 0, "size", &sm, NULL, err));
  double want = 0;
  for (int s = 0; s < N - 1; s++) want += (float)((s * 13) % 17) / 16.0f / 3.0;
  assert_float_equal(sm.mean, want, 1e-6);
  assert_int_equal(sm.n, 3);
  expect_msg(adx_results_read_summary(rd, 0, "confidence", &sm, NULL, &e), ADX_ERR_ARG, &e,
             "not measured (--no-metrics)");
  adx_ad_vs v;
  expect_msg(adx_results_read_ad_vs(rd, 1, "robustness_colour", &v, &e), ADX_ERR_ARG, &e,
             "not measured (--no-metrics)");
  adx_results_close(rd);
  hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  static const char *const absent[] = {"/modes/ad/confidence",      "/modes/ad/robustness_colour",
                                       "/modes/ad/robustness_at_k", "/modes/ad/judges",
                                       "/summary/ad/deletion_auc",  "/summary/ad/robustness_at_k",
                                       "/summary/ad_vs_fill:zero"};
  for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
    if (H5Lexists(f, absent[i], H5P_DEFAULT) != 0) fail_msg("%s exists in a --no-metrics file", absent[i]);
  assert_true(H5Lexists(f, "/modes/ad/size", H5P_DEFAULT) > 0);
  assert_true(H5Lexists(f, "/summary/fill:zero/seconds", H5P_DEFAULT) > 0);
  H5Fclose(f);
  TU_OK(adx_results_open_read(q, &rd, err)); /* the same run with metrics has them */
  assert_int_equal(adx_results_get_meta(rd)->no_metrics, 0);
  TU_OK(adx_results_read_column(rd, 0, "robustness_colour", col, err));
  assert_float_equal(col[1], (float)((13 + 3 * 3) % 17) / 16.0f, 1e-7); /* j = 3 */
  adx_results_close(rd);
  /* resume with the other setting: refused (image 3 was never written: both files are unfinished) */
  int64_t *todo = NULL, ntodo = 0;
  adx_results *w = NULL;
  run.no_metrics = 0;
  expect_msg(adx_results_open_resume(p, &run, MPI_COMM_NULL, 0, &w, &todo, &ntodo, &e), ADX_ERR_ARG, &e,
             "was made with --no-metrics");
  run.no_metrics = 1;
  expect_msg(adx_results_open_resume(q, &run, MPI_COMM_NULL, 0, &w, &todo, &ntodo, &e), ADX_ERR_ARG, &e,
             "this run uses --no-metrics");
  TU_OK(adx_results_open_resume(p, &run, MPI_COMM_NULL, 0, &w, &todo, &ntodo, err));
  assert_int_equal(ntodo, 1);
  adx_free(todo);
  adx_results_close(w);
}

/* ------------------------------------------------------------------ tests: refusals and resume */

static void expect_msg(adx_status got, adx_status want, const adx_error *e, const char *needle) {
  if (got != want || !strstr(e->msg, needle))
    fail_msg("status %s, message '%s'; wanted %s with '%s'", adx_status_name(got), e->msg,
             adx_status_name(want), needle);
}

static void test_refuse_overwrite(void **state) {
  (void)state;
  char p[600], msg[700];
  tpath(p, sizeof p, "refuse.h5");
  remove_all(p);
  adx_run_info run = make_run(4, 3, 3, 2);
  adx_results *r = NULL;
  adx_error e = {0};
  TU_OK(adx_results_create(p, &run, g_world, 0, &r, err));
  adx_results_close(r); /* unfinished */
  assert_int_equal(adx_results_create(p, &run, g_world, 0, &r, &e), ADX_ERR_ARG);
  assert_null(r);
  snprintf(msg, sizeof msg, "%s exists (unfinished run); use --resume to complete it or --force to overwrite",
           p);
  assert_string_equal(e.msg, msg);
  TU_OK(adx_results_create(p, &run, g_world, 1, &r, err)); /* force */
  gen g;
  gen_init(&g, 2, 3, 3);
  for (int64_t s = 0; s < 4; s++)
    if (s % g_size == g_rank) TU_OK(adx_results_write_image(r, gen_fill(&g, s), err));
  gen_free(&g);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  assert_int_equal(adx_results_create(p, &run, g_world, 0, &r, &e), ADX_ERR_ARG);
  snprintf(msg, sizeof msg, "%s exists (finished run); use --force to overwrite", p);
  assert_string_equal(e.msg, msg);
  /* --force replaces a finished file with a new, empty run */
  TU_OK(adx_results_create(p, &run, g_world, 1, &r, err));
  adx_results_close(r);
  if (g_rank == 0) {
    assert_int_equal(verify_done_images(p, NULL), 0);
    FILE *f = fopen(p, "wb");
    fputs("not hdf5\n", f);
    fclose(f);
  }
  barrier();
  expect_msg(adx_results_create(p, &run, g_world, 0, &r, &e), ADX_ERR_ARG, &e, "not an adx results file");
  if (g_rank == 0) {
    expect_msg(adx_results_open_read(p, &r, &e), ADX_ERR_FORMAT, &e, "not an HDF5 file");
    char q[600];
    expect_msg(adx_results_open_read(tpath(q, sizeof q, "nope.h5"), &r, &e), ADX_ERR_IO, &e, "nope.h5");
  }
  /* bad run descriptions */
  adx_run_info bad = run;
  static const char *const dup[] = {"ad", "ad"};
  bad.modes = dup;
  expect_msg(adx_results_create(p, &bad, g_world, 1, &r, &e), ADX_ERR_ARG, &e, "given twice");
  bad = run;
  bad.n = 0;
  expect_msg(adx_results_create(p, &bad, g_world, 1, &r, &e), ADX_ERR_ARG, &e, "at least one image");
  remove_all(p);
  /* adx creates the file, never its folder: a missing folder, or a file where the folder should be */
  char q[700];
  snprintf(q, sizeof q, "%s.nodir/sub/r.h5", p);
  expect_msg(adx_results_create(q, &run, g_world, 1, &r, &e), ADX_ERR_ARG, &e, "does not exist");
  snprintf(q, sizeof q, "%s.nodir", p);
  assert_int_equal(access(q, F_OK), -1); /* nothing made */
  if (g_rank == 0) {
    FILE *f = fopen(p, "wb");
    fclose(f);
  }
  barrier();
  snprintf(q, sizeof q, "%s/r.h5", p);
  expect_msg(adx_results_create(q, &run, g_world, 1, &r, &e), ADX_ERR_ARG, &e, "is not a folder");
  remove_all(p);
}

static void test_write_errors(void **state) {
  (void)state;
  if (g_rank != 0) return;
  char p[600];
  tpath(p, sizeof p, "errors.h5");
  remove_file(p);
  adx_run_info run = make_run(4, 3, 3, 2);
  adx_results *r = NULL;
  adx_error e = {0};
  TU_OK(adx_results_create(p, &run, g_one, 0, &r, err));
  gen g;
  gen_init(&g, 2, 3, 3);
  adx_image_result im[2] = {*gen_fill(&g, 4), *gen_fill(&g, 1)};
  expect_msg(adx_results_write_image(r, &im[0], &e), ADX_ERR_ARG, &e, "slot 4 outside 0..3");
  im[0].slot = 1;
  expect_msg(adx_results_write_images(r, im, 2, &e), ADX_ERR_ARG, &e, "slot 1 given twice");
  const float *nomaps[2] = {g.rp[0], NULL};
  im[0].responsibility = nomaps;
  expect_msg(adx_results_write_image(r, &im[0], &e), ADX_ERR_ARG, &e, "lacks the maps of mode 'fill:zero'");
  gen_free(&g);
  TU_OK(adx_results_set_durable(r, 1, err)); /* fsync before done flags */
  gen_init(&g, 2, 3, 3);
  TU_OK(adx_results_write_image(r, gen_fill(&g, 2), err));
  gen_free(&g);
  adx_results_close(r);
  assert_int_equal(verify_done_images(p, NULL), 1); /* failed writes left nothing done */
  remove_file(p);
}

static void test_resume(void **state) {
  (void)state;
  char p[600], ref[600];
  tpath(p, sizeof p, "resume.h5");
  tpath(ref, sizeof ref, "resume_ref.h5");
  remove_all(p);
  const int64_t N = 10;
  adx_run_info run = make_run(N, 4, 4, 3);
  if (g_rank == 0) {
    remove_file(ref);
    write_full(ref, &run, g_one);
  }
  adx_results *r = NULL;
  adx_error e = {0};
  int64_t *todo = NULL, ntodo = -1;
  /* a missing file: resume starts the run */
  TU_OK(adx_results_open_resume(p, &run, g_world, 0, &r, &todo, &ntodo, err));
  assert_int_equal(ntodo, N);
  for (int64_t i = 0; i < N; i++) assert_int_equal(todo[i], i);
  adx_free(todo);
  gen g;
  gen_init(&g, 3, 4, 4);
  for (int64_t s = 0; s < N; s += 3) /* 0 3 6 9, split over ranks */
    if ((s / 3) % g_size == g_rank) TU_OK(adx_results_write_image(r, gen_fill(&g, s), err));
  adx_results_close(r); /* interrupted (no finish) */

  /* every mismatch is refused, naming the difference */
  struct {
    const char *needle;
    adx_run_info run;
  } cases[9];
  for (int i = 0; i < 9; i++) cases[i].run = run;
  cases[0].run.model_sha256 = sha_b;
  cases[0].needle =
      "was made with model sha256 ab1200000000000000000000000000000000000000000000000000000000000"
      "0 but this run uses cd34";
  static const char *const other_modes[] = {"ad", "fill:mean", "fill:a/b"};
  cases[1].run.modes = other_modes;
  cases[1].needle = "was made with modes ad,fill:zero,fill:a/b but this run uses ad,fill:mean,fill:a/b";
  cases[2].run.explainer = "sliding";
  cases[2].needle = "was made with explainer 'rex' but this run uses 'sliding'";
  cases[3].run.seed = 8;
  cases[3].needle = "was made with seed 7 but this run uses 8";
  cases[4].run.config_text = "[run]\nseed = 7\nlimit = 13\n";
  cases[4].needle = "different configuration (line 3: 'limit = 12' there, 'limit = 13' in this run)";
  cases[5].run.n = 11;
  cases[5].needle = "holds 10 images but this run has 11";
  cases[6].run.w = 5;
  cases[6].needle = "was made for 4x4 inputs but this run's are 4x5";
  cases[7].run.nclasses = 10;
  cases[7].needle = "was made for 3 classes but this run has 10";
  static const float k2[ADX_ROB_K] = {5, 10, 25, 40};
  cases[8].run.rob_k = k2;
  cases[8].needle = "robustness@k value 20 but this run uses 25";
  for (int i = 0; i < 9; i++) {
    e.msg[0] = '\0';
    expect_msg(adx_results_open_resume(p, &cases[i].run, g_world, 1, &r, &todo, &ntodo, &e), ADX_ERR_ARG, &e,
               cases[i].needle);
    assert_null(r);
    assert_null(todo);
  }
  /* the ranks and threads of a run may change */
  run.ranks = 99;
  run.threads_per_rank = 7;
  TU_OK(adx_results_open_resume(p, &run, g_world, 0, &r, &todo, &ntodo, err));
  assert_int_equal(ntodo, 6);
  static const int64_t want[] = {1, 2, 4, 5, 7, 8};
  assert_memory_equal(todo, want, sizeof want);
  for (int64_t i = 0; i < ntodo; i++)
    if (i % g_size == g_rank) TU_OK(adx_results_write_image(r, gen_fill(&g, todo[i]), err));
  adx_free(todo);
  gen_free(&g);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  /* finished: resume refused unless forced; forced, nothing to do */
  expect_msg(adx_results_open_resume(p, &run, g_world, 0, &r, &todo, &ntodo, &e), ADX_ERR_ARG, &e,
             "is a finished run; nothing to resume");
  TU_OK(adx_results_open_resume(p, &run, g_world, 1, &r, &todo, &ntodo, err));
  assert_int_equal(ntodo, 0);
  assert_null(todo);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  if (g_rank == 0) {
    char diff[600];
    compare_files(p, ref, diff, sizeof diff);
    assert_string_equal(diff, "");
    remove_file(ref);
  }
  remove_all(p);
}

/* ------------------------------------------------------------------ kill safety */

enum { KN = 40, KH = 32, KW = 32 };

static int64_t kill_slot(int64_t i) { return (i * 7) % KN; } /* the order the child writes in */

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void on_alarm(int sig) {
  (void)sig;
  raise(SIGKILL);
}

static void arm_timer(long us) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {us / 1000000, us % 1000000}};
  if (us <= 0) raise(SIGKILL);
  setitimer(ITIMER_REAL, &it, NULL);
}

/* --kill-child DIR serial|mpi SPEC; SPEC: none | slow | slow:MS | after:K[:RANK] | timer:start:US |
 * timer:write:US. slow sleeps 50 ms after each image; slow:MS sleeps MS ms and first prints
 * "kill child: rank R wrote image I" (the integration test's fallback kills right after the first one).
 * timer:start counts from the start of the run (after MPI_Init), timer:write from the end of create.
 * With several ranks, rank r writes the images i with i % size == r of the order kill_slot(i). */
static int kill_child(char **argv) {
  int mpi = !strcmp(argv[3], "mpi");
  const char *spec = argv[4];
  long after = -1, us = -1, who = -1;
  int at_start = 0;
  if (!strncmp(spec, "after:", 6)) {
    char *e;
    after = strtol(spec + 6, &e, 10);
    if (*e == ':') who = strtol(e + 1, NULL, 10);
  } else if (!strncmp(spec, "timer:", 6)) {
    at_start = !strncmp(spec + 6, "start:", 6);
    us = strtol(strchr(spec + 6, ':') + 1, NULL, 10);
  }
  int rank = 0, size = 1;
  MPI_Comm comm = MPI_COMM_NULL;
  if (mpi) {
    MPI_Init(NULL, NULL);
    comm = MPI_COMM_WORLD;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
  }
  double t_init = now_us();
  if (at_start) arm_timer(us);
  char p[600];
  snprintf(p, sizeof p, "%s/kill.h5", argv[2]);
  g_size = 1; /* make_run records ranks = 1, as the reference does */
  adx_run_info run = make_run(KN, KH, KW, 3);
  adx_results *r = NULL;
  adx_error e = {0};
  if (adx_results_create(p, &run, comm, 0, &r, &e)) {
    fprintf(stderr, "kill child: %s\n", e.msg);
    return 3;
  }
  double t_created = now_us();
  if (us >= 0 && !at_start) arm_timer(us);
  if (after == 0 && (who < 0 || who == rank)) raise(SIGKILL);
  gen g;
  gen_init(&g, 3, KH, KW);
  long written = 0;
  for (int64_t i = 0; i < KN; i++) {
    if (i % size != rank) continue;
    if (adx_results_write_image(r, gen_fill(&g, kill_slot(i)), &e)) {
      fprintf(stderr, "kill child: %s\n", e.msg);
      return 3;
    }
    if (++written == after && (who < 0 || who == rank)) raise(SIGKILL);
    if (!strcmp(spec, "slow")) usleep(50000); /* a window for the integration test to kill a rank */
    if (!strncmp(spec, "slow:", 5)) {
      printf("kill child: rank %d wrote image %lld\n", rank, (long long)kill_slot(i));
      fflush(stdout);
      usleep((useconds_t)strtol(spec + 5, NULL, 10) * 1000);
    }
  }
  gen_free(&g);
  double t_written = now_us();
  if (adx_results_finish(r, &e)) {
    fprintf(stderr, "kill child: %s\n", e.msg);
    return 3;
  }
  if (!strcmp(spec, "none") && rank == 0) { /* the phases' durations, for the parent's choice of kill times */
    char tp[640];
    snprintf(tp, sizeof tp, "%s/kill_times.txt", argv[2]);
    FILE *f = fopen(tp, "w");
    if (f) {
      fprintf(f, "%.0f %.0f %.0f\n", t_created - t_init, t_written - t_created, now_us() - t_written);
      fclose(f);
    }
  }
  adx_results_close(r);
  if (mpi) MPI_Finalize();
  return 0;
}

/* Environment for a child MPI singleton: without the variables of our own mpirun job. */
static char **child_env(void) {
  int n = 0;
  while (environ[n]) n++;
  char **env = calloc((size_t)n + 3, sizeof *env);
  int k = 0;
  /* sanitized builds: the children are killed anyway; skip their leak check and its slow stack unwinding */
  static char lsan[] = "LSAN_OPTIONS=detect_leaks=0:fast_unwind_on_malloc=1";
  static char asan[] = "ASAN_OPTIONS=detect_leaks=0";
  env[k++] = lsan;
  env[k++] = asan;
  for (int i = 0; i < n; i++) {
    const char *v = environ[i];
    if ((!strncmp(v, "OMPI_", 5) && strncmp(v, "OMPI_ALLOW_RUN_AS_ROOT", 22)) || !strncmp(v, "PMIX_", 5) ||
        !strncmp(v, "OPAL_", 5) || !strncmp(v, "ORTE_", 5) || !strncmp(v, "PRTE_", 5) ||
        !strncmp(v, "LSAN_OPTIONS=", 13) || !strncmp(v, "ASAN_OPTIONS=", 13))
      continue;
    env[k++] = environ[i];
  }
  return env;
}

/* Run the child; returns 0 if it exited normally with 0, 1 if SIGKILLed, fails the test otherwise. */
static int run_child(const char *mode, const char *spec, long kill_after_us) {
  char *args[] = {g_self, "--kill-child", g_dir, (char *)mode, (char *)spec, NULL};
  char **env = child_env();
  pid_t pid;
  int rc = posix_spawn(&pid, g_self, NULL, NULL, args, env);
  free(env);
  assert_int_equal(rc, 0);
  if (kill_after_us >= 0) {
    struct timespec ts = {kill_after_us / 1000000, (kill_after_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) return 1;
  fail_msg("kill child (%s %s) ended with status %d", mode, spec, st);
  return -1;
}

/* --lock-child DIR: create DIR/locked.h5 (serial driver) and keep the handle, and with it the writer's
 * lock, until killed (the test SIGKILLs it). */
static int lock_child(char **argv) {
  char p[600];
  snprintf(p, sizeof p, "%s/locked.h5", argv[2]);
  adx_run_info run = make_run(4, 3, 3, 2);
  adx_results *r = NULL;
  adx_error e = {0};
  if (adx_results_create(p, &run, MPI_COMM_NULL, 1, &r, &e)) {
    fprintf(stderr, "lock child: %s\n", e.msg);
    return 3;
  }
  /* a parent that fails half-way never kills us: go when it is gone, or after two minutes */
  pid_t parent = getppid();
  for (int i = 0; i < 1200 && getppid() == parent; i++) usleep(100000);
  adx_results_close(r);
  return 0;
}

/* One writer per file: while another process holds the handle of locked.h5, create (even with force) and
 * resume are refused with ADX_ERR_ARG naming its pid, and the file is left as it was; once that process is
 * SIGKILLed, the PATH.lock it leaves behind blocks nothing, and the next writer removes it at close. */
static void test_writer_lock(void **state) {
  (void)state;
  if (g_rank != 0) return;
  char p[600], lp[640], want[64];
  tpath(p, sizeof p, "locked.h5");
  snprintf(lp, sizeof lp, "%s.lock", p);
  remove_file(p);
  unlink(lp);
  char *args[] = {g_self, "--lock-child", g_dir, NULL};
  char **env = child_env();
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, g_self, NULL, NULL, args, env), 0);
  free(env);
  /* the child holds the lock once locked.h5 exists (it is renamed into place under the lock) */
  for (int i = 0; i < 600 && access(p, F_OK) != 0; i++) usleep(50000);
  assert_int_equal(access(p, F_OK), 0);
  size_t la, lb;
  char *a = slurp(p, &la);
  snprintf(want, sizeof want, "pid %ld, since ", (long)pid);
  adx_run_info run = make_run(4, 3, 3, 2);
  adx_results *r = NULL;
  adx_error e = {0};
  int64_t *todo = NULL, ntodo = 0;
  MPI_Comm comms[2] = {MPI_COMM_NULL, g_one};
  for (int c = 0; c < 2; c++) {
    expect_msg(adx_results_create(p, &run, comms[c], 1, &r, &e), ADX_ERR_ARG, &e,
               "is in use by another adx job (host ");
    if (!strstr(e.msg, want)) fail_msg("'%s' does not name the holder ('%s')", e.msg, want);
    assert_null(r);
    expect_msg(adx_results_open_resume(p, &run, comms[c], 0, &r, &todo, &ntodo, &e), ADX_ERR_ARG, &e, want);
    assert_null(r);
  }
  char *b = slurp(p, &lb);
  assert_int_equal(la, lb);
  assert_memory_equal(a, b, la); /* the refused calls did not touch the file */
  free(a), free(b);
  assert_int_equal(access(lp, F_OK), 0);
  kill(pid, SIGKILL);
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_int_equal(access(lp, F_OK), 0); /* left behind by the killed holder, unlocked */
  TU_OK(adx_results_open_resume(p, &run, g_one, 0, &r, &todo, &ntodo, err));
  assert_int_equal(ntodo, 4);
  adx_free(todo);
  adx_results_close(r);
  assert_int_equal(access(lp, F_OK), -1); /* the writer removes it when it lets go */
  remove_file(p);
}

static void make_kill_reference(const char *ref) {
  int saved = g_size;
  g_size = 1;
  adx_run_info run = make_run(KN, KH, KW, 3);
  g_size = saved;
  remove_file(ref);
  write_full(ref, &run, g_one);
}

/* After a kill: the file (if it exists) opens, done images hold their data; resume completes it to a file
 * equal to the reference. Returns the number of images that were done. */
static int64_t complete_and_compare(const char *p, const char *ref) {
  int64_t nd = 0;
  uint8_t done[KN] = {0};
  int exists = access(p, F_OK) == 0;
  if (exists) nd = verify_done_images(p, done);
  if (getenv("ADX_RESULTS_TEST_VERBOSE"))
    fprintf(stderr, "  kill: file %s, %lld done\n", exists ? "present" : "absent", (long long)nd);
  int saved = g_size;
  g_size = 1;
  adx_run_info run = make_run(KN, KH, KW, 3);
  g_size = saved;
  adx_results *r = NULL;
  int64_t *todo = NULL, ntodo = 0;
  TU_OK(adx_results_open_resume(p, &run, g_one, 1, &r, &todo, &ntodo, err));
  assert_int_equal(ntodo, KN - nd);
  gen g;
  gen_init(&g, 3, KH, KW);
  for (int64_t i = 0; i < ntodo; i++) {
    assert_int_equal(done[todo[i]], 0);
    TU_OK(adx_results_write_image(r, gen_fill(&g, todo[i]), err));
  }
  gen_free(&g);
  adx_free(todo);
  TU_OK(adx_results_finish(r, err));
  adx_results_close(r);
  char diff[600];
  compare_files(p, ref, diff, sizeof diff);
  if (diff[0]) fail_msg("%s after resume differs from the uninterrupted run: %s", p, diff);
  return nd;
}

static void test_kill_safety(void **state) {
  (void)state;
  if (g_rank != 0) return;
  char p[600], ref[600], spec[64], tp[600];
  tpath(p, sizeof p, "kill.h5");
  tpath(ref, sizeof ref, "kill_ref.h5");
  tpath(tp, sizeof tp, "kill_times.txt");
  make_kill_reference(ref);
  static const char *const drivers[] = {"serial", "mpi"};
  for (int d = 0; d < (g_mpi ? 2 : 1); d++) {
    int few = d == 1 || g_light; /* an MPI singleton takes about a second to start; checkers are slow */
    /* an uninterrupted child run equals the in-process reference */
    remove_file(p);
    assert_int_equal(run_child(drivers[d], "none", -1), 0);
    complete_and_compare(p, ref);
    double tc = 0, tw = 0, tf = 0;
    FILE *f = fopen(tp, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lf %lf %lf", &tc, &tw, &tf), 3);
    fclose(f);
    /* killed right after K write calls returned: exactly those K images are done and intact */
    static const int ks[] = {17, 0, 1};
    for (int i = 0; i < (few ? 1 : 3); i++) {
      remove_file(p);
      snprintf(spec, sizeof spec, "after:%d", ks[i]);
      assert_int_equal(run_child(drivers[d], spec, -1), 1);
      uint8_t done[KN];
      assert_int_equal(verify_done_images(p, done), ks[i]);
      for (int64_t j = 0; j < KN; j++) assert_int_equal(done[kill_slot(j)], j < ks[i]);
      assert_int_equal(complete_and_compare(p, ref), ks[i]);
    }
    /* killed by a timer at arbitrary instructions: during create, inside the writes, during finish */
    const double at[][2] = {{0, 0.5},  {1, 0.03}, {1, 0.3}, {1, 0.55}, {1, 0.8},
                            {1, 0.97}, {2, 0.2},  {2, 0.6}, {2, 0.95}};
    int nat = (int)(sizeof at / sizeof at[0]);
    for (int i = few ? 2 : 0; i < nat; i += few ? 3 : 1) {
      remove_file(p);
      long us = (long)(at[i][0] == 0 ? tc * at[i][1] : at[i][0] == 1 ? tw * at[i][1] : tw + tf * at[i][1]);
      snprintf(spec, sizeof spec, "timer:%s:%ld", at[i][0] == 0 ? "start" : "write", us);
      run_child(drivers[d], spec, -1);
      complete_and_compare(p, ref);
    }
  }
  remove_file(p);
  remove_file(ref);
  unlink(tp);
}

/* --complete-check FILE: the integration test's check after killing a rank of an mpirun job. */
static int complete_check(const char *p) {
  if (access(p, F_OK) != 0) {
    printf("complete-check: FAIL %s is absent: the kill left no file to resume\n", p);
    return 1;
  }
  char ref[1100];
  snprintf(ref, sizeof ref, "%.1000s.ref.h5", p);
  make_kill_reference(ref);
  int64_t nd = complete_and_compare(p, ref);
  remove_file(ref);
  if (nd == 0 || nd == KN) {
    printf("complete-check: FAIL %lld of %d images were done: not a mid-way kill, nothing resumed\n",
           (long long)nd, KN);
    return 1;
  }
  printf("complete-check: %lld of %d images were done; resumed file equals the uninterrupted run\n",
         (long long)nd, KN);
  return 0;
}

/* ------------------------------------------------------------------ main */

TU_LSAN_IGNORE_MPI

static int rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  char p[1100];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      unlink(p);
    }
  closedir(d);
  return rmdir(dir);
}

int main(int argc, char **argv) {
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  if (!realpath(argv[0], g_self)) snprintf(g_self, sizeof g_self, "%s", argv[0]);
  if (argc == 5 && !strcmp(argv[1], "--kill-child")) return kill_child(argv);
  if (argc == 3 && !strcmp(argv[1], "--lock-child")) return lock_child(argv);
  g_mpi = !getenv("ADX_VALGRIND");
  g_light = !g_mpi || getenv("ADX_SANITIZED");
  if (g_mpi) {
    MPI_Init(&argc, &argv);
    g_world = MPI_COMM_WORLD;
    g_one = MPI_COMM_SELF;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  }
  const char *keep = getenv("ADX_RESULTS_TEST_DIR");
  int rc = 0;
  if (argc == 3 && !strcmp(argv[1], "--complete-check")) {
    snprintf(g_dir, sizeof g_dir, "%s", argv[2]); /* the directory of the file */
    char *slash = strrchr(g_dir, '/');
    if (slash)
      *slash = '\0';
    else
      strcpy(g_dir, ".");
    rc = g_rank == 0 ? complete_check(argv[2]) : 0;
  } else {
    if (keep && *keep) {
      snprintf(g_dir, sizeof g_dir, "%s", keep);
      if (g_rank == 0) mkdir(g_dir, 0755);
    } else if (g_rank == 0) {
      snprintf(g_dir, sizeof g_dir, "/tmp/adx_test_results_XXXXXX");
      if (!mkdtemp(g_dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        if (g_mpi) MPI_Abort(MPI_COMM_WORLD, 1);
        return 1;
      }
    }
    if (g_mpi) MPI_Bcast(g_dir, sizeof g_dir, MPI_CHAR, 0, MPI_COMM_WORLD);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),           cmocka_unit_test(test_rel_improvement),
        cmocka_unit_test(test_roundtrip),        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_raw_only),         cmocka_unit_test(test_summary_values),
        cmocka_unit_test(test_refuse_overwrite), cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_resume),           cmocka_unit_test(test_kill_safety),
        cmocka_unit_test(test_writer_lock),      cmocka_unit_test(test_judges_store),
        cmocka_unit_test(test_no_metrics_store),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (g_mpi) {
      int any = 0;
      MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      rc = any;
    }
    if (g_rank == 0 && !(keep && *keep)) rm_tree(g_dir);
  }
  if (g_mpi) MPI_Finalize();
  return rc ? 1 : 0;
}
