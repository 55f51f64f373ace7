/* Ground truth in the results file (docs/output-format.md, docs/metrics.md "Ground truth"): when the run's
 * dataset has object masks (root attribute has_masks = 1), /images/object_mask [N,H,W] uint8, the centre
 * control /images/centre_{pointing_game,energy_in_object,precision_at_k} and, per mode,
 * /modes/<mode>/{pointing_game,energy_in_object,precision_at_k}; their /summary groups. Created with the
 * file (results_h5.c), written before the done flags like every other row, absent from files without
 * masks (and from files written before ground truth), whose ground truth then reads as NaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/metrics.h"
#include "results_internal.h"

const char *const adx_results_gt_ds_names[3] = {"pointing_game", "energy_in_object", "precision_at_k"};

void adx_results_gt_set_names(adx_results *r) {
  snprintf(r->gt_names[0], sizeof r->gt_names[0], "%s", adx_results_gt_ds_names[0]);
  snprintf(r->gt_names[1], sizeof r->gt_names[1], "%s", adx_results_gt_ds_names[1]);
  for (int j = 0; j < ADX_ROB_K; j++)
    snprintf(r->gt_names[2 + j], sizeof r->gt_names[0], "precision_at_k/k=%g", (double)r->meta.rob_k[j]);
}

const char *adx_results_gt_name(const adx_results *r, int i) {
  return i >= 0 && i < ADX_RESULTS_NGT ? r->gt_names[i] : NULL;
}

void adx_results_gt_init(adx_results *r) {
  r->d_mask = r->d_centre_pg = r->d_centre_energy = r->d_centre_pk = H5I_INVALID_HID;
  for (int i = 0; r->m && i < r->meta.nmodes; i++)
    r->m[i].gt_pg = r->m[i].gt_energy = r->m[i].gt_pk = H5I_INVALID_HID;
}

static void close_ds(hid_t *d) {
  if (*d >= 0) H5Dclose(*d);
  *d = H5I_INVALID_HID;
}

void adx_results_gt_close(adx_results *r) {
  close_ds(&r->d_mask), close_ds(&r->d_centre_pg), close_ds(&r->d_centre_energy), close_ds(&r->d_centre_pk);
  for (int i = 0; r->m && i < r->meta.nmodes; i++)
    close_ds(&r->m[i].gt_pg), close_ds(&r->m[i].gt_energy), close_ds(&r->m[i].gt_pk);
}

adx_status adx_results_gt_open(adx_results *r, hid_t dapl, adx_error *err) {
  if (!r->meta.has_masks) return ADX_OK;
  hsize_t hw[2] = {(hsize_t)r->meta.h, (hsize_t)r->meta.w}, k = ADX_ROB_K;
  adx_status s;
  if ((s = adx_results_open_dataset(r, dapl, "/images", "object_mask", 3, hw, &r->d_mask, err)) ||
      (s = adx_results_open_dataset(r, dapl, "/images", "centre_pointing_game", 1, NULL, &r->d_centre_pg,
                                    err)) ||
      (s = adx_results_open_dataset(r, dapl, "/images", "centre_energy_in_object", 1, NULL,
                                    &r->d_centre_energy, err)) ||
      (s = adx_results_open_dataset(r, dapl, "/images", "centre_precision_at_k", 2, &k, &r->d_centre_pk,
                                    err)))
    return s;
  for (int i = 0; i < r->meta.nmodes; i++) {
    adx_results_mode_ds *m = &r->m[i];
    char dir[700];
    snprintf(dir, sizeof dir, "/modes/%s", r->group[i]);
    if ((s = adx_results_open_dataset(r, dapl, dir, adx_results_gt_ds_names[0], 1, NULL, &m->gt_pg, err)) ||
        (s = adx_results_open_dataset(r, dapl, dir, adx_results_gt_ds_names[1], 1, NULL, &m->gt_energy,
                                      err)) ||
        (s = adx_results_open_dataset(r, dapl, dir, adx_results_gt_ds_names[2], 2, &k, &m->gt_pk, err)))
      return s;
  }
  return ADX_OK;
}

/* The three ground-truth datasets of a mode (or of the centre control). */
static void gt_ds(const adx_results *r, int mode, hid_t ds[3]) {
  if (mode == ADX_RESULTS_CENTRE) {
    ds[0] = r->d_centre_pg, ds[1] = r->d_centre_energy, ds[2] = r->d_centre_pk;
  } else {
    ds[0] = r->m[mode].gt_pg, ds[1] = r->m[mode].gt_energy, ds[2] = r->m[mode].gt_pk;
  }
}

static adx_status write_gt(adx_results *r, hid_t ds[3], const adx_image_result *const *p, int64_t cnt,
                           int mode, float *buf, adx_results_rows_fn rows_set, adx_error *err) {
  adx_status s = ADX_OK;
  for (int j = 0; j < 3 && !s; j++) {
    for (int64_t i = 0; i < cnt; i++) {
      const adx_gt *g = mode == ADX_RESULTS_CENTRE ? &p[i]->centre : &p[i]->metrics[mode].gt;
      if (j == 0) buf[i] = g->pointing_game;
      if (j == 1) buf[i] = g->energy_in_object;
      if (j == 2) memcpy(buf + i * ADX_ROB_K, g->precision_at_k, sizeof(float) * ADX_ROB_K);
    }
    s = rows_set(r, ds[j], H5T_NATIVE_FLOAT, p, cnt, j == 2 ? ADX_ROB_K : 1, buf, adx_results_gt_ds_names[j],
                 err);
  }
  return s;
}

adx_status adx_results_gt_write(adx_results *r, const adx_image_result *const *p, int64_t cnt,
                                adx_results_rows_fn rows_set, adx_error *err) {
  if (!r->meta.has_masks || cnt <= 0) return ADX_OK;
  int64_t hw = (int64_t)r->meta.h * r->meta.w;
  for (int64_t i = 0; i < cnt; i++)
    if (!p[i]->object_mask)
      return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld lacks its object mask (the run has masks)",
                      r->path, (long long)p[i]->slot);
  float *buf = malloc((size_t)cnt * ADX_ROB_K * sizeof(float));
  uint8_t *masks = malloc((size_t)cnt * (size_t)hw);
  adx_status s = ADX_OK;
  if (!buf || !masks)
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for %lld masks", r->path, (long long)cnt);
  for (int64_t i = 0; i < cnt && !s; i++) memcpy(masks + i * hw, p[i]->object_mask, (size_t)hw);
  if (!s) s = rows_set(r, r->d_mask, H5T_NATIVE_UINT8, p, cnt, hw, masks, "/images/object_mask", err);
  hid_t ds[3];
  gt_ds(r, ADX_RESULTS_CENTRE, ds);
  if (!s) s = write_gt(r, ds, p, cnt, ADX_RESULTS_CENTRE, buf, rows_set, err);
  for (int m = 0; m < r->meta.nmodes && !s; m++) {
    gt_ds(r, m, ds);
    s = write_gt(r, ds, p, cnt, m, buf, rows_set, err);
  }
  free(buf);
  free(masks);
  return s;
}

static void gt_nan(adx_gt *g) { adx_gt_clear(g); }

adx_status adx_results_gt_read_image(adx_results *r, int64_t slot, adx_image_record *rec, adx_error *err) {
  gt_nan(&rec->centre);
  for (int m = 0; m < rec->nmodes; m++) gt_nan(&rec->metrics[m].gt);
  rec->object_mask = NULL;
  if (!r->meta.has_masks) return ADX_OK;
  int64_t hw = (int64_t)r->meta.h * r->meta.w;
  rec->object_mask = adx_alloc((size_t)hw);
  if (!rec->object_mask)
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory reading image %lld", r->path, (long long)slot);
  adx_status s = adx_results_rows(r, r->d_mask, 0, H5T_NATIVE_UINT8, slot, 1, hw, rec->object_mask,
                                  "/images/object_mask", err);
  for (int m = ADX_RESULTS_CENTRE; m < rec->nmodes && !s; m++) {
    adx_gt *g = m == ADX_RESULTS_CENTRE ? &rec->centre : &rec->metrics[m].gt;
    hid_t ds[3];
    gt_ds(r, m, ds);
    if (!(s = adx_results_rows(r, ds[0], 0, H5T_NATIVE_FLOAT, slot, 1, 1, &g->pointing_game, "pointing_game",
                               err)) &&
        !(s = adx_results_rows(r, ds[1], 0, H5T_NATIVE_FLOAT, slot, 1, 1, &g->energy_in_object,
                               "energy_in_object", err)))
      s = adx_results_rows(r, ds[2], 0, H5T_NATIVE_FLOAT, slot, 1, ADX_ROB_K, g->precision_at_k,
                           "precision_at_k", err);
  }
  return s;
}

static adx_status check_open(const adx_results *r, adx_error *err) {
  if (!r || r->file < 0 || !r->m) return adx_fail(err, ADX_ERR_ARG, "results: file not open");
  return ADX_OK;
}

adx_status adx_results_read_gt_column(adx_results *r, int mode, const char *metric, double *out,
                                      adx_error *err) {
  adx_status s = check_open(r, err);
  if (s) return s;
  if (mode != ADX_RESULTS_CENTRE && (mode < 0 || mode >= r->meta.nmodes))
    return adx_fail(err, ADX_ERR_ARG, "%s: no mode number %d (the file has %d)", r->path, mode,
                    r->meta.nmodes);
  int i = -1;
  for (int j = 0; metric && j < ADX_RESULTS_NGT; j++)
    if (!strcmp(r->gt_names[j], metric)) i = j;
  if (i < 0)
    return adx_fail(err, ADX_ERR_ARG, "%s: unknown ground-truth metric '%s'", r->path,
                    metric ? metric : "(null)");
  int64_t n = r->meta.n;
  if (!r->meta.has_masks) {
    for (int64_t k = 0; k < n; k++) out[k] = NAN;
    return ADX_OK;
  }
  hid_t ds[3];
  gt_ds(r, mode, ds);
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  if (i < 2) {
    s = adx_results_rows(r, ds[i], 0, H5T_NATIVE_DOUBLE, 0, n, 1, out, metric, err);
  } else {
    hid_t fs = H5Dget_space(ds[2]);
    hsize_t start[2] = {0, (hsize_t)(i - 2)}, cnt[2] = {(hsize_t)n, 1}, mn = (hsize_t)n;
    hid_t ms = H5Screate_simple(1, &mn, NULL);
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
        H5Dread(ds[2], H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, out) < 0)
      s = adx_results_h5fail(err, r->path, "reading precision_at_k");
    H5Sclose(ms);
    H5Sclose(fs);
  }
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_read_object_masks(adx_results *r, int64_t first, int64_t count, uint8_t *out,
                                         adx_error *err) {
  adx_status s = check_open(r, err);
  if (s) return s;
  if (!r->meta.has_masks)
    return adx_fail(err, ADX_ERR_ARG, "%s has no object masks (its dataset had none)", r->path);
  if (first < 0 || count < 0 || first + count > r->meta.n)
    return adx_fail(err, ADX_ERR_ARG, "%s: image rows %lld..%lld outside 0..%lld", r->path, (long long)first,
                    (long long)(first + count - 1), (long long)r->meta.n - 1);
  if (count == 0) return ADX_OK;
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  s = adx_results_rows(r, r->d_mask, 0, H5T_NATIVE_UINT8, first, count, (int64_t)r->meta.h * r->meta.w, out,
                       "/images/object_mask", err);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_gt_write_summary(adx_results *r, const uint8_t *done, const int32_t *label,
                                        const int32_t *pred, double *col, double *x, double *pc, int64_t *cnt,
                                        adx_results_put_stats_fn put_stats, adx_error *err) {
  if (!r->meta.has_masks) return ADX_OK;
  const adx_results_meta *m = &r->meta;
  adx_status s = ADX_OK;
  char gpath[800];
  for (int mi = ADX_RESULTS_CENTRE; mi < m->nmodes && !s; mi++)
    for (int j = 0; j < ADX_RESULTS_NGT && !s; j++) {
      if ((s = adx_results_read_gt_column(r, mi, r->gt_names[j], col, err))) break;
      adx_summary sm;
      adx_summarize_done(col, done, m->n, x, &sm);
      adx_class_means(col, done, label, pred, m->n, m->nclasses, pc, cnt);
      snprintf(gpath, sizeof gpath, "/summary/%s/%s",
               mi == ADX_RESULTS_CENTRE ? ADX_RESULTS_CENTRE_GROUP : r->group[mi], r->gt_names[j]);
      s = put_stats(r, gpath, &sm, pc, err);
    }
  return s;
}
