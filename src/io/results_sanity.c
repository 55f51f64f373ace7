/* /sanity of a finished results file (adx sanity; docs/output-format.md): opened under the writer's lock,
 * written serially after the run, replacing an earlier /sanity. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results_internal.h"

adx_status adx_results_open_sanity(const char *path, adx_results **out, adx_error *err) {
  *out = NULL;
  adx_results_writer_lock *lock = NULL;
  adx_status s = adx_results_lock(path, &lock, err);
  if (s) return s;
  adx_results *r = NULL;
  s = adx_results_open_read(path, &r, err);
  if (!s && !r->meta.finished)
    s = adx_fail(
        err, ADX_ERR_ARG,
        "%s is an unfinished run: the sanity test needs a finished one (complete it with adx explain "
        "--resume)",
        path);
  if (s) {
    adx_results_close(r);
    adx_results_unlock(lock);
    return s;
  }
  r->lock = lock; /* released by adx_results_close */
  *out = r;
  return ADX_OK;
}

static adx_status put_attr(hid_t obj, const char *name, hid_t type, const void *v, const char *path,
                           adx_error *err) {
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
  adx_status s = ADX_OK;
  if (a < 0 || H5Awrite(a, type, v) < 0) {
    char what[96];
    snprintf(what, sizeof what, "writing attribute '%s' of /sanity", name);
    s = adx_results_h5fail(err, path, what);
  }
  if (a >= 0) H5Aclose(a);
  H5Sclose(sp);
  return s;
}

static hid_t vlstr(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

/* A dataset of rank dims, file type ftype, written whole from buf of memory type mtype. */
static adx_status put_ds(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                         const void *buf, const char *path, adx_error *err) {
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  adx_status s = ADX_OK;
  if (d < 0 || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    char what[96];
    snprintf(what, sizeof what, "writing /sanity dataset '%s'", name);
    s = adx_results_h5fail(err, path, what);
  }
  if (d >= 0) H5Dclose(d);
  H5Sclose(sp);
  return s;
}

static adx_status write_group(hid_t file, const adx_results *r, const adx_results_sanity *t, adx_error *err) {
  const char *path = r->path;
  hid_t g = H5Gcreate2(file, "sanity", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) return adx_results_h5fail(err, path, "creating /sanity");
  hid_t str = vlstr();
  const char *init = t->init ? t->init : "";
  int32_t repro = t->reproduced, levels = t->levels;
  adx_status s = put_attr(g, "seed", H5T_NATIVE_UINT64, &t->seed, path, err);
  if (!s) s = put_attr(g, "init", str, &init, path, err);
  if (!s) s = put_attr(g, "reproduced", H5T_NATIVE_INT32, &repro, path, err);
  if (!s) s = put_attr(g, "nlevels", H5T_NATIVE_INT32, &levels, path, err);
  hsize_t n = (hsize_t)t->n, L = (hsize_t)t->levels;
  if (!s) s = put_ds(g, "slots", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, t->slots, path, err);
  if (!s) s = put_ds(g, "levels", str, str, 1, &L, t->level_names, path, err);
  for (int k = 0; k < r->meta.nmodes && !s; k++) {
    hid_t mg = H5Gcreate2(g, r->group[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (mg < 0) {
      s = adx_results_h5fail(err, path, "creating a mode group of /sanity");
      break;
    }
    const char *name = r->meta.modes[k];
    s = put_attr(mg, "mode", str, &name, path, err);
    hsize_t d4[4] = {n, L, (hsize_t)r->meta.h, (hsize_t)r->meta.w}, d2[2] = {n, L};
    if (!s)
      s = put_ds(mg, "responsibility", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, d4, t->responsibility[k], path,
                 err);
    if (!s) s = put_ds(mg, "spearman", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, d2, t->spearman[k], path, err);
    H5Gclose(mg);
  }
  H5Tclose(str);
  H5Gclose(g);
  return s;
}

adx_status adx_results_write_sanity(adx_results *r, const adx_results_sanity *t, adx_error *err) {
  if (!r || !r->lock || r->writable)
    return adx_fail(err, ADX_ERR_ARG, "results: /sanity needs a file opened by adx_results_open_sanity");
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  adx_results_close_file(r); /* the reading handle; the lock stays */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &old);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, 0, 1);
  hid_t f = H5Fopen(r->path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  adx_status s = f < 0 ? adx_results_h5fail(err, r->path, "opening to write /sanity") : ADX_OK;
  if (!s && H5Lexists(f, "sanity", H5P_DEFAULT) > 0 && H5Ldelete(f, "sanity", H5P_DEFAULT) < 0)
    s = adx_results_h5fail(err, r->path, "removing the earlier /sanity");
  if (!s) s = write_group(f, r, t, err);
  if (f >= 0 && H5Fclose(f) < 0 && !s) s = adx_results_h5fail(err, r->path, "closing after /sanity");
  sigprocmask(SIG_SETMASK, &old, NULL);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_sanity_spearman(adx_results *r, int mode, int64_t *n, int *levels, double **out,
                                            adx_error *err) {
  *n = 0, *levels = 0, *out = NULL;
  if (!r || r->file < 0) return adx_fail(err, ADX_ERR_ARG, "results: the file is not open");
  if (mode < 0 || mode >= r->meta.nmodes)
    return adx_fail(err, ADX_ERR_ARG, "%s: no mode %d (the run has %d)", r->path, mode, r->meta.nmodes);
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  char path[700];
  snprintf(path, sizeof path, "sanity/%s/spearman", r->group[mode]);
  adx_status s = ADX_OK;
  if (H5Lexists(r->file, "sanity", H5P_DEFAULT) <= 0 || H5Lexists(r->file, path, H5P_DEFAULT) <= 0) {
    adx_results_quiet_end(&q);
    return ADX_OK; /* no sanity test on record for this mode */
  }
  hid_t d = H5Dopen2(r->file, path, H5P_DEFAULT);
  if (d < 0) s = adx_results_h5fail(err, r->path, "opening /sanity spearman");
  hsize_t dims[2] = {0, 0};
  if (!s) {
    hid_t sp = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    if (rank != 2 || dims[1] == 0 || dims[1] > 100000)
      s = adx_fail(err, ADX_ERR_FORMAT, "%s: /%s is not an [images, levels] array", r->path, path);
  }
  double *buf = NULL;
  if (!s && dims[0] > 0) {
    buf = malloc(sizeof *buf * (size_t)(dims[0] * dims[1]));
    if (!buf)
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for /%s", r->path, path);
    else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
      s = adx_results_h5fail(err, r->path, "reading /sanity spearman");
  }
  if (d >= 0) H5Dclose(d);
  adx_results_quiet_end(&q);
  if (s) {
    free(buf);
    return s;
  }
  *n = (int64_t)dims[0], *levels = (int)dims[1], *out = buf;
  return ADX_OK;
}
