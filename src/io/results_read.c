/* Results store reader: serial HDF5, no MPI. Works on a finished file, on the file of a run in progress and
 * on the file of a killed run (every object exists from creation on; the done flags say what is valid). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "results_internal.h"

adx_status adx_results_open_read(const char *path, adx_results **out, adx_error *err) {
  *out = NULL;
  if (!path || !path[0]) return adx_fail(err, ADX_ERR_ARG, "results: no file name");
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  adx_results *r = adx_results_handle_new(path);
  adx_status s = r ? ADX_OK : adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  struct stat st;
  if (!s && stat(path, &st) != 0) s = adx_fail(err, ADX_ERR_IO, "%s: %s", path, strerror(errno));
  if (!s) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(
        fapl, 0,
        1); /* no flock: readers may look at a live run (and the MPI-IO driver does not lock either) */
    htri_t is = H5Fis_hdf5(path);
    if (is < 0)
      s = adx_results_h5fail(err, path, "cannot open");
    else if (is == 0)
      s = adx_fail(err, ADX_ERR_FORMAT, "%s is not an HDF5 file", path);
    if (!s) {
      r->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
      if (r->file < 0) s = adx_results_h5fail(err, path, "cannot open");
    }
    H5Pclose(fapl);
  }
  if (!s) s = adx_results_load_meta(r, err);
  if (!s) s = adx_results_open_datasets(r, H5P_DEFAULT, err);
  if (s)
    adx_results_close(r);
  else
    *out = r;
  adx_results_quiet_end(&q);
  return s;
}

const adx_results_meta *adx_results_get_meta(const adx_results *r) { return &r->meta; }

int adx_results_mode_index(const adx_results *r, const char *mode) {
  for (int i = 0; mode && i < r->meta.nmodes; i++)
    if (!strcmp(r->meta.modes[i], mode)) return i;
  return -1;
}

const char *adx_results_metric_name(const adx_results *r, int i) {
  return i >= 0 && i < ADX_RESULTS_NMETRICS ? r->metric_names[i] : NULL;
}

int adx_results_has_metric(const adx_results *r, int i) {
  return r && adx_results_metric_in_run(r->meta.no_metrics, i);
}

static int metric_index(const adx_results *r, const char *metric) {
  for (int i = 0; metric && i < ADX_RESULTS_NMETRICS; i++)
    if (!strcmp(r->metric_names[i], metric)) return i;
  return -1;
}

static adx_status check_open(const adx_results *r, adx_error *err) {
  if (!r || r->file < 0 || !r->m) return adx_fail(err, ADX_ERR_ARG, "results: file not open");
  return ADX_OK;
}

static adx_status check_mode(const adx_results *r, int mode, adx_error *err) {
  if (mode < 0 || mode >= r->meta.nmodes)
    return adx_fail(err, ADX_ERR_ARG, "%s: no mode number %d (the file has %d)", r->path, mode,
                    r->meta.nmodes);
  return ADX_OK;
}

adx_status adx_results_read_done(adx_results *r, uint8_t *done, adx_error *err) {
  adx_status s = check_open(r, err);
  if (s) return s;
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  s = adx_results_rows(r, r->d_done, 0, H5T_NATIVE_UINT8, 0, r->meta.n, 1, done, "/images/done", err);
  adx_results_quiet_end(&q);
  return s;
}

void adx_image_record_free(adx_image_record *rec) {
  if (!rec) return;
  adx_free(rec->responsibility);
  adx_free(rec->explanation);
  adx_free(rec->metrics);
  adx_free(rec->object_mask);
  memset(rec, 0, sizeof *rec);
}

adx_status adx_results_read_image(adx_results *r, int64_t slot, adx_image_record *rec, adx_error *err) {
  memset(rec, 0, sizeof *rec);
  adx_status s = check_open(r, err);
  if (s) return s;
  if (slot < 0 || slot >= r->meta.n)
    return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld outside 0..%lld", r->path, (long long)slot,
                    (long long)r->meta.n - 1);
  int nm = r->meta.nmodes;
  int64_t hw = (int64_t)r->meta.h * r->meta.w;
  rec->slot = slot, rec->nmodes = nm, rec->h = r->meta.h, rec->w = r->meta.w;
  rec->responsibility = adx_alloc((size_t)(nm * hw) * sizeof(float));
  rec->explanation = adx_alloc((size_t)(nm * hw));
  rec->metrics = adx_calloc((size_t)nm * sizeof(adx_metrics));
  if (!rec->responsibility || !rec->explanation || !rec->metrics) {
    adx_image_record_free(rec);
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory reading image %lld", r->path, (long long)slot);
  }
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  if ((s = adx_results_rows(r, r->d_index, 0, H5T_NATIVE_INT64, slot, 1, 1, &rec->index, "/images/index",
                            err)) ||
      (s = adx_results_rows(r, r->d_label, 0, H5T_NATIVE_INT32, slot, 1, 1, &rec->label, "/images/label",
                            err)) ||
      (s = adx_results_rows(r, r->d_pred, 0, H5T_NATIVE_INT32, slot, 1, 1, &rec->pred, "/images/pred",
                            err)) ||
      (s = adx_results_rows(r, r->d_conf, 0, H5T_NATIVE_FLOAT, slot, 1, 1, &rec->conf, "/images/conf",
                            err)) ||
      (s = adx_results_rows(r, r->d_flags, 0, H5T_NATIVE_UINT8, slot, 1, 1, &rec->flags, "/images/flags",
                            err)) ||
      (s = adx_results_rows(r, r->d_done, 0, H5T_NATIVE_UINT8, slot, 1, 1, &rec->done, "/images/done", err)))
    goto out;
  for (int m = 0; m < nm; m++) {
    adx_results_mode_ds *d = &r->m[m];
    adx_metrics *mt = &rec->metrics[m];
    if ((s = adx_results_rows(r, d->resp, 0, H5T_NATIVE_FLOAT, slot, 1, hw, rec->responsibility + m * hw,
                              "responsibility", err)) ||
        (s = adx_results_rows(r, d->expl, 0, H5T_NATIVE_UINT8, slot, 1, hw, rec->explanation + m * hw,
                              "explanation", err)) ||
        (s = adx_results_rows(r, d->queries, 0, H5T_NATIVE_INT64, slot, 1, 1, &mt->queries, "queries", err)))
      goto out;
    /* metrics the file does not have (--no-metrics) read as NaN */
    for (int j = 0; j < ADX_ROB_K; j++) mt->robustness_at_k[j] = NAN;
    if (d->rob_k >= 0 && (s = adx_results_rows(r, d->rob_k, 0, H5T_NATIVE_FLOAT, slot, 1, ADX_ROB_K,
                                               mt->robustness_at_k, "robustness_at_k", err)))
      goto out;
    for (int j = 0; j < ADX_RESULTS_NFLOAT; j++) {
      float *v = (float *)((char *)mt + adx_results_float_offset[j]);
      *v = NAN;
      if (d->scal[j] >= 0 && (s = adx_results_rows(r, d->scal[j], 0, H5T_NATIVE_FLOAT, slot, 1, 1, v,
                                                   adx_results_scalar_names[j], err)))
        goto out;
    }
    float *jv = &mt->judges[0][0][0];
    if (d->judges >= 0) {
      if ((s = adx_results_rows(r, d->judges, 0, H5T_NATIVE_FLOAT, slot, 1, ADX_ROB_K * ADX_NJUDGES * 2, jv,
                                "judges", err)))
        goto out;
    } else {
      for (int j = 0; j < ADX_ROB_K * ADX_NJUDGES * 2; j++) jv[j] = NAN;
    }
  }
  s = adx_results_gt_read_image(r, slot, rec, err);
out:
  adx_results_quiet_end(&q);
  if (s) adx_image_record_free(rec);
  return s;
}

adx_status adx_results_read_images_columns(adx_results *r, int64_t *index, int32_t *label, int32_t *pred,
                                           double *conf, adx_error *err) {
  adx_status s = check_open(r, err);
  if (s) return s;
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  int64_t n = r->meta.n;
  if (index) s = adx_results_rows(r, r->d_index, 0, H5T_NATIVE_INT64, 0, n, 1, index, "/images/index", err);
  if (!s && label)
    s = adx_results_rows(r, r->d_label, 0, H5T_NATIVE_INT32, 0, n, 1, label, "/images/label", err);
  if (!s && pred) s = adx_results_rows(r, r->d_pred, 0, H5T_NATIVE_INT32, 0, n, 1, pred, "/images/pred", err);
  if (!s && conf)
    s = adx_results_rows(r, r->d_conf, 0, H5T_NATIVE_DOUBLE, 0, n, 1, conf, "/images/conf", err);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_responsibilities(adx_results *r, int mode, int64_t first, int64_t count,
                                             float *out, adx_error *err) {
  adx_status s = check_open(r, err);
  if (!s) s = check_mode(r, mode, err);
  if (s) return s;
  if (first < 0 || count < 0 || first + count > r->meta.n)
    return adx_fail(err, ADX_ERR_ARG, "%s: image rows %lld..%lld outside 0..%lld", r->path, (long long)first,
                    (long long)(first + count - 1), (long long)r->meta.n - 1);
  if (count == 0) return ADX_OK;
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  s = adx_results_rows(r, r->m[mode].resp, 0, H5T_NATIVE_FLOAT, first, count, (int64_t)r->meta.h * r->meta.w,
                       out, "responsibility", err);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_column(adx_results *r, int mode, const char *metric, double *out,
                                   adx_error *err) {
  adx_status s = check_open(r, err);
  if (!s) s = check_mode(r, mode, err);
  if (s) return s;
  int i = metric_index(r, metric);
  if (i < 0)
    return adx_fail(err, ADX_ERR_ARG, "%s: unknown metric '%s'", r->path, metric ? metric : "(null)");
  if (!adx_results_has_metric(r, i)) { /* not in the file (--no-metrics) */
    for (int64_t k = 0; k < r->meta.n; k++) out[k] = NAN;
    return ADX_OK;
  }
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  adx_results_mode_ds *d = &r->m[mode];
  if (i < ADX_RESULTS_NFLOAT) {
    s = adx_results_rows(r, d->scal[i], 0, H5T_NATIVE_DOUBLE, 0, r->meta.n, 1, out, metric, err);
  } else if (i == ADX_RESULTS_NFLOAT) {
    s = adx_results_rows(r, d->queries, 0, H5T_NATIVE_DOUBLE, 0, r->meta.n, 1, out, metric, err);
  } else {
    hid_t fs = H5Dget_space(d->rob_k);
    hsize_t start[2] = {0, (hsize_t)(i - ADX_RESULTS_NSCALAR)}, cnt[2] = {(hsize_t)r->meta.n, 1},
            mn = (hsize_t)r->meta.n;
    hid_t ms = H5Screate_simple(1, &mn, NULL);
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
        H5Dread(d->rob_k, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out) < 0)
      s = adx_results_h5fail(err, r->path, "reading robustness_at_k");
    H5Sclose(ms);
    H5Sclose(fs);
  }
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_judges(adx_results *r, int mode, float *out, adx_error *err) {
  adx_status s = check_open(r, err);
  if (!s) s = check_mode(r, mode, err);
  if (s) return s;
  const int64_t jn = ADX_ROB_K * ADX_NJUDGES * 2;
  if (r->m[mode].judges < 0) {
    for (int64_t i = 0; i < r->meta.n * jn; i++) out[i] = NAN;
    return ADX_OK;
  }
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  s = adx_results_rows(r, r->m[mode].judges, 0, H5T_NATIVE_FLOAT, 0, r->meta.n, jn, out, "judges", err);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_summary(adx_results *r, int mode, const char *metric, adx_summary *sum,
                                    double *per_class, adx_error *err) {
  adx_status s = check_open(r, err);
  if (!s) s = check_mode(r, mode, err);
  if (s) return s;
  int mi = metric_index(r, metric);
  if (mi < 0)
    return adx_fail(err, ADX_ERR_ARG, "%s: unknown metric '%s'", r->path, metric ? metric : "(null)");
  if (!adx_results_has_metric(r, mi))
    return adx_fail(err, ADX_ERR_ARG, "%s: metric '%s' not measured (--no-metrics)", r->path, metric);
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  char gpath[800];
  snprintf(gpath, sizeof gpath, "/summary/%s/%s", r->group[mode], metric);
  hid_t g = H5Gopen2(r->file, gpath, H5P_DEFAULT);
  if (g < 0) s = adx_fail(err, ADX_ERR_FORMAT, "%s: no group %s", r->path, gpath);
  if (!s && !(s = adx_results_attr_read(g, "mean", H5T_NATIVE_DOUBLE, &sum->mean, r->path, err)) &&
      !(s = adx_results_attr_read(g, "std", H5T_NATIVE_DOUBLE, &sum->std, r->path, err)) &&
      !(s = adx_results_attr_read(g, "ci95_low", H5T_NATIVE_DOUBLE, &sum->ci95_low, r->path, err)) &&
      !(s = adx_results_attr_read(g, "ci95_high", H5T_NATIVE_DOUBLE, &sum->ci95_high, r->path, err)) &&
      !(s = adx_results_attr_read(g, "n", H5T_NATIVE_INT64, &sum->n, r->path, err)) && per_class) {
    hid_t d = H5Dopen2(g, "per_class", H5P_DEFAULT);
    if (d < 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, per_class) < 0)
      s = adx_results_h5fail(err, r->path, "reading per_class");
    if (d >= 0) H5Dclose(d);
  }
  if (g >= 0) H5Gclose(g);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_ad_vs(adx_results *r, int mode, const char *metric, adx_ad_vs *out,
                                  adx_error *err) {
  adx_status s = check_open(r, err);
  if (!s) s = check_mode(r, mode, err);
  if (s) return s;
  if (!metric || (strcmp(metric, "robustness_colour") && strcmp(metric, "robustness_context")))
    return adx_fail(err, ADX_ERR_ARG, "%s: ad_vs has robustness_colour and robustness_context, not '%s'",
                    r->path, metric ? metric : "(null)");
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  char gpath[800];
  snprintf(gpath, sizeof gpath, "/summary/ad_vs_%s/%s", r->group[mode], metric);
  hid_t g = H5Gopen2(r->file, gpath, H5P_DEFAULT);
  if (g < 0)
    s = adx_fail(err, ADX_ERR_ARG, "%s: no AD comparison for mode '%s' (%s)", r->path, r->meta.modes[mode],
                 r->meta.no_metrics ? "not measured (--no-metrics)" : "needs an ad mode and a fill mode");
  if (!s &&
      !(s = adx_results_attr_read(g, "improvement", H5T_NATIVE_DOUBLE, &out->improvement, r->path, err)) &&
      !(s = adx_results_attr_read(g, "ci95_low", H5T_NATIVE_DOUBLE, &out->ci95_low, r->path, err)) &&
      !(s = adx_results_attr_read(g, "ci95_high", H5T_NATIVE_DOUBLE, &out->ci95_high, r->path, err)) &&
      !(s = adx_results_attr_read(g, "mean_ad", H5T_NATIVE_DOUBLE, &out->mean_ad, r->path, err)) &&
      !(s = adx_results_attr_read(g, "mean_fill", H5T_NATIVE_DOUBLE, &out->mean_fill, r->path, err)))
    s = adx_results_attr_read(g, "n", H5T_NATIVE_INT64, &out->n, r->path, err);
  /* the paired difference and p-values (files written before they were recorded: NaN) */
  static const char *const extra[] = {"diff", "diff_ci95_low", "diff_ci95_high", "p_value", "p_holm"};
  double *dst[] = {&out->diff, &out->diff_ci95_low, &out->diff_ci95_high, &out->p, &out->p_holm};
  for (int i = 0; i < 5 && !s; i++) {
    *dst[i] = NAN;
    if (H5Aexists(g, extra[i]) > 0)
      s = adx_results_attr_read(g, extra[i], H5T_NATIVE_DOUBLE, dst[i], r->path, err);
  }
  if (g >= 0) H5Gclose(g);
  adx_results_quiet_end(&q);
  return s;
}
