/* Results summary: the statistics over the images of a run, computed by the metrics layer
 * (adx_summarize_done, adx_class_means, adx_rel_improvement_done; the same calls as adx summary and adx
 * report make), written into the /summary skeleton that exists since the file was created (attributes are
 * overwritten in place, nothing is allocated), then finished = 1 after a flush. Nothing is computed here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adx/ad.h"
#include "adx/metrics.h"
#include "results_internal.h"

/* ------------------------------------------------------------------ writing /summary */

static adx_status put_stats(adx_results *r, const char *gpath, const adx_summary *sm, const double *per_class,
                            adx_error *err) {
  hid_t g = H5Gopen2(r->file, gpath, H5P_DEFAULT);
  if (g < 0) return adx_fail(err, ADX_ERR_FORMAT, "%s: no group %s (not made by adx?)", r->path, gpath);
  adx_status s;
  if (!(s = adx_results_attr_write(g, "mean", H5T_NATIVE_DOUBLE, &sm->mean, r->path, err)) &&
      !(s = adx_results_attr_write(g, "std", H5T_NATIVE_DOUBLE, &sm->std, r->path, err)) &&
      !(s = adx_results_attr_write(g, "ci95_low", H5T_NATIVE_DOUBLE, &sm->ci95_low, r->path, err)) &&
      !(s = adx_results_attr_write(g, "ci95_high", H5T_NATIVE_DOUBLE, &sm->ci95_high, r->path, err)) &&
      !(s = adx_results_attr_write(g, "n", H5T_NATIVE_INT64, &sm->n, r->path, err))) {
    hid_t d = H5Dopen2(g, "per_class", H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, per_class) < 0)
      s = adx_results_h5fail(err, r->path, "writing per_class");
    if (d >= 0) H5Dclose(d);
  }
  H5Gclose(g);
  return s;
}

static adx_status put_ad_vs(adx_results *r, const char *gpath, const adx_ad_vs *v, adx_error *err) {
  hid_t g = H5Gopen2(r->file, gpath, H5P_DEFAULT);
  if (g < 0) return adx_fail(err, ADX_ERR_FORMAT, "%s: no group %s (not made by adx?)", r->path, gpath);
  adx_status s;
  if (!(s = adx_results_attr_write(g, "improvement", H5T_NATIVE_DOUBLE, &v->improvement, r->path, err)) &&
      !(s = adx_results_attr_write(g, "ci95_low", H5T_NATIVE_DOUBLE, &v->ci95_low, r->path, err)) &&
      !(s = adx_results_attr_write(g, "ci95_high", H5T_NATIVE_DOUBLE, &v->ci95_high, r->path, err)) &&
      !(s = adx_results_attr_write(g, "mean_ad", H5T_NATIVE_DOUBLE, &v->mean_ad, r->path, err)) &&
      !(s = adx_results_attr_write(g, "mean_fill", H5T_NATIVE_DOUBLE, &v->mean_fill, r->path, err)))
    s = adx_results_attr_write(g, "n", H5T_NATIVE_INT64, &v->n, r->path, err);
  /* the paired difference and p-values: created with the file since adx 0.3 (a resumed older file lacks them)
   */
  static const char *const extra[] = {"diff", "diff_ci95_low", "diff_ci95_high", "p_value", "p_holm"};
  const double *val[] = {&v->diff, &v->diff_ci95_low, &v->diff_ci95_high, &v->p, &v->p_holm};
  for (int i = 0; i < 5 && !s; i++)
    if (H5Aexists(g, extra[i]) > 0)
      s = adx_results_attr_write(g, extra[i], H5T_NATIVE_DOUBLE, val[i], r->path, err);
  H5Gclose(g);
  return s;
}

/* /summary/<mode>/judges_*: the judge matrix per k over the images done (adx_judge_summarize_done). */
static adx_status put_judges(adx_results *r, const uint8_t *done, adx_error *err) {
  int64_t n = r->meta.n;
  const size_t cells = (size_t)ADX_ROB_K * ADX_NJUDGES * 2;
  float *rows = malloc((size_t)n * cells * sizeof(float));
  double *x = malloc((size_t)n * sizeof(double)), *v[3];
  int64_t *cnt = malloc(cells * sizeof(int64_t));
  adx_summary(*sm)[ADX_NJUDGES][2] = malloc(sizeof(adx_summary[ADX_ROB_K + 1][ADX_NJUDGES][2]));
  for (int i = 0; i < 3; i++) v[i] = malloc(cells * sizeof(double));
  adx_status s = ADX_OK;
  if (!rows || !x || !cnt || !sm || !v[0] || !v[1] || !v[2])
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for the judge summary", r->path);
  static const char *const names[3] = {"judges_mean", "judges_ci95_low", "judges_ci95_high"};
  for (int mi = 0; mi < r->meta.nmodes && !s; mi++) {
    if ((s = adx_results_read_judges(r, mi, rows, err))) break;
    adx_judge_summarize_done(rows, done, n, x, sm);
    for (int k = 0; k < ADX_ROB_K; k++)
      for (int j = 0; j < ADX_NJUDGES; j++)
        for (int q = 0; q < 2; q++) {
          size_t c = ((size_t)k * ADX_NJUDGES + (size_t)j) * 2 + (size_t)q;
          v[0][c] = sm[k][j][q].mean, v[1][c] = sm[k][j][q].ci95_low, v[2][c] = sm[k][j][q].ci95_high;
          cnt[c] = sm[k][j][q].n;
        }
    char dpath[800];
    for (int i = 0; i < 4 && !s; i++) {
      snprintf(dpath, sizeof dpath, "/summary/%s/%s", r->group[mi], i < 3 ? names[i] : "judges_n");
      hid_t d = H5Dopen2(r->file, dpath, H5P_DEFAULT);
      if (d < 0) {
        s = adx_fail(err, ADX_ERR_FORMAT, "%s: no dataset %s (not made by adx?)", r->path, dpath);
        break;
      }
      if (H5Dwrite(d, i < 3 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                   i < 3 ? (const void *)v[i] : (const void *)cnt) < 0)
        s = adx_results_h5fail(err, r->path, "writing the judge summary");
      H5Dclose(d);
    }
  }
  free(rows), free(x), free(cnt), free(sm);
  for (int i = 0; i < 3; i++) free(v[i]);
  return s;
}

adx_status adx_results_write_summary(adx_results *r, adx_error *err) {
  const adx_results_meta *m = &r->meta;
  int64_t n = m->n;
  int C = m->nclasses;
  uint8_t *done = malloc((size_t)n);
  int32_t *label = malloc((size_t)n * sizeof *label), *pred = malloc((size_t)n * sizeof *pred);
  double *col = malloc((size_t)2 * (size_t)n * sizeof *col), *x = malloc((size_t)2 * (size_t)n * sizeof *x),
         *pc = malloc((size_t)C * sizeof *pc);
  int64_t *cnt = malloc((size_t)C * sizeof *cnt);
  adx_status s = ADX_OK;
  if (!done || !label || !pred || !col || !x || !pc || !cnt) {
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for the summary", r->path);
    goto out;
  }
  if ((s = adx_results_rows(r, r->d_done, 0, H5T_NATIVE_UINT8, 0, n, 1, done, "/images/done", err)) ||
      (s = adx_results_rows(r, r->d_label, 0, H5T_NATIVE_INT32, 0, n, 1, label, "/images/label", err)) ||
      (s = adx_results_rows(r, r->d_pred, 0, H5T_NATIVE_INT32, 0, n, 1, pred, "/images/pred", err)))
    goto out;
  int all_done = 1;
  for (int64_t i = 0; i < n; i++) all_done &= done[i] != 0;
  char gpath[800];
  for (int mi = 0; mi < m->nmodes && !s; mi++) {
    for (int j = 0; j < ADX_RESULTS_NMETRICS && !s; j++) {
      if (!adx_results_has_metric(r, j)) continue; /* --no-metrics: no such group */
      const char *name = r->metric_names[j];
      if ((s = adx_results_read_column(r, mi, name, col, err))) break;
      adx_summary sm;
      adx_summarize_done(col, done, n, x, &sm);
      adx_class_means(col, done, label, pred, n, C, pc, cnt);
      snprintf(gpath, sizeof gpath, "/summary/%s/%s", r->group[mi], name);
      s = put_stats(r, gpath, &sm, pc, err);
    }
  }
  if (!s && m->judges) s = put_judges(r, done, err);
  if (!s) s = adx_results_gt_write_summary(r, done, label, pred, col, x, pc, cnt, put_stats, err);
  /* AD against every fill mode on both robustness metrics; Holm's correction over all of them */
  static const char *const rob[] = {"robustness_colour", "robustness_context"};
  size_t nv = 2 * (size_t)(m->nmodes > 0 ? m->nmodes : 0);
  adx_ad_vs *vs = s ? NULL : calloc(nv ? nv : 1, sizeof *vs);
  double *pv = s ? NULL : malloc((nv ? nv : 1) * sizeof *pv);
  if (!s && (!vs || !pv)) s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for the summary", r->path);
  for (size_t i = 0; i < nv && !s; i++) vs[i].n = -1, pv[i] = NAN; /* n = -1: no comparison */
  for (int mi = 0; m->ad_mode >= 0 && !m->no_metrics && mi < m->nmodes && !s; mi++) {
    if (adx_mode_name_is_ad(m->modes[mi])) continue;
    for (int j = 0; j < 2 && !s; j++) {
      if ((s = adx_results_read_column(r, m->ad_mode, rob[j], col, err)) ||
          (s = adx_results_read_column(r, mi, rob[j], col + n, err)))
        break;
      adx_rel_improvement_done(col, col + n, done, n, x, &vs[2 * mi + j]);
      pv[2 * mi + j] = vs[2 * mi + j].p;
    }
  }
  if (!s) adx_holm(pv, (int)nv, pv);
  for (size_t i = 0; i < nv && !s; i++) {
    if (vs[i].n < 0) continue;
    vs[i].p_holm = pv[i];
    snprintf(gpath, sizeof gpath, "/summary/ad_vs_%s/%s", r->group[i / 2], rob[i % 2]);
    s = put_ad_vs(r, gpath, &vs[i], err);
  }
  free(vs), free(pv);
  /* the wall time of this session (absent from files made before it was recorded: left alone) */
  if (!s && H5Aexists(r->file, "wall_seconds") > 0) {
    double wall = adx_now() - r->t_start;
    s = adx_results_attr_write(r->file, "wall_seconds", H5T_NATIVE_DOUBLE, &wall, r->path, err);
  }
  if (!s && H5Aexists(r->file, "finished_at") > 0) {
    char at[ADX_RESULTS_TIME_LEN + 1] = {0};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    hid_t ft = H5Tcopy(H5T_C_S1);
    H5Tset_size(ft, ADX_RESULTS_TIME_LEN);
    H5Tset_strpad(ft, H5T_STR_NULLPAD);
    s = adx_results_attr_write(r->file, "finished_at", ft, at, r->path, err);
    H5Tclose(ft);
  }
  if (!s) s = adx_results_write_provenance(r, err);
  /* the summary reaches the file before finished says it is there */
  if (!s && H5Fflush(r->file, H5F_SCOPE_GLOBAL) < 0)
    s = adx_results_h5fail(err, r->path, "flushing the summary");
  int32_t fin = all_done;
  if (!s) s = adx_results_attr_write(r->file, "finished", H5T_NATIVE_INT32, &fin, r->path, err);
  if (!s) r->meta.finished = fin;
out:
  free(done), free(label), free(pred), free(col), free(x), free(pc), free(cnt);
  return s;
}
