/* Results file layout: the HDF5 side of the results store. Builds a complete file up front (every
 * attribute, every dataset at full size with its space allocated, the /summary skeleton), reads the run
 * attributes back, opens the per-image datasets and compares a file with a run. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adx/ad.h"
#include "results_internal.h"

const char *const adx_results_scalar_names[ADX_RESULTS_NSCALAR] = {
    "size",         "confidence", "drop_off", "robustness_colour", "robustness_context", "insertion_auc",
    "deletion_auc", "seconds",    "queries"};

const size_t adx_results_float_offset[ADX_RESULTS_NFLOAT] = {offsetof(adx_metrics, size),
                                                             offsetof(adx_metrics, confidence),
                                                             offsetof(adx_metrics, drop_off),
                                                             offsetof(adx_metrics, robustness_colour),
                                                             offsetof(adx_metrics, robustness_context),
                                                             offsetof(adx_metrics, insertion_auc),
                                                             offsetof(adx_metrics, deletion_auc),
                                                             offsetof(adx_metrics, seconds)};

static const float default_rob_k[ADX_ROB_K] = {5, 10, 20, 40};

/* ------------------------------------------------------------------ errors */

void adx_results_quiet_begin(adx_results_quiet *q) {
  q->func = NULL;
  q->data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void adx_results_quiet_end(const adx_results_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0 && e->desc) snprintf((char *)data, 400, "%s", e->desc);
  return 0;
}

adx_status adx_results_h5fail(adx_error *err, const char *path, const char *what) {
  int e = errno; /* the system call under a failed HDF5 write or open, when that is what failed */
  char detail[400] = "", sys[160] = "";
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, detail);
  if (e == ENOSPC || e == EROFS || e == EACCES || e == EDQUOT || e == EFBIG || e == EIO || e == EPERM)
    snprintf(sys, sizeof sys, " (%s)", strerror(e));
  if (detail[0]) return adx_fail(err, ADX_ERR_IO, "%s: %s: %s%s", path, what, detail, sys);
  return adx_fail(err, ADX_ERR_IO, "%s: %s failed%s", path, what, sys);
}

/* ------------------------------------------------------------------ names */

void adx_results_escape(const char *mode, char *out, size_t len) {
  size_t o = 0;
  if (!strcmp(mode, ".") || !strcmp(mode, "..")) {
    snprintf(out, len, "%s", mode[1] ? "%2E%2E" : "%2E");
    return;
  }
  for (const char *p = mode; *p && o + 4 < len; p++) {
    if (*p == '%' || *p == '/')
      o += (size_t)snprintf(out + o, len - o, "%%%02X", (unsigned char)*p);
    else
      out[o++] = *p;
  }
  out[o] = '\0';
}

static int find_ad_mode(int nmodes, const char *const *modes) {
  for (int i = 0; i < nmodes; i++)
    if (adx_mode_name_is_ad(modes[i])) return i;
  return -1;
}

static void set_metric_names(adx_results *r) {
  for (int i = 0; i < ADX_RESULTS_NSCALAR; i++)
    snprintf(r->metric_names[i], sizeof r->metric_names[i], "%s", adx_results_scalar_names[i]);
  for (int j = 0; j < ADX_ROB_K; j++)
    snprintf(r->metric_names[ADX_RESULTS_NSCALAR + j], sizeof r->metric_names[0], "robustness_at_k/k=%g",
             (double)r->meta.rob_k[j]);
  adx_results_gt_set_names(r);
}

/* ------------------------------------------------------------------ handles */

adx_results *adx_results_handle_new(const char *path) {
  adx_results *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->path = strdup(path);
  if (!r->path) {
    free(r);
    return NULL;
  }
  r->file = H5I_INVALID_HID;
  r->comm = MPI_COMM_NULL;
  r->size = 1;
  r->d_index = r->d_label = r->d_pred = r->d_conf = r->d_flags = r->d_done = H5I_INVALID_HID;
  r->d_mask = r->d_centre_pg = r->d_centre_energy = r->d_centre_pk = H5I_INVALID_HID;
  r->durable_fd = -1;
  r->t_start = adx_now();
  r->meta.wall_seconds = NAN;
  r->meta.ad_mode = -1;
  return r;
}

static void close_ds(hid_t *d) {
  if (*d >= 0) H5Dclose(*d);
  *d = H5I_INVALID_HID;
}

void adx_results_close_file(adx_results *r) {
  close_ds(&r->d_index), close_ds(&r->d_label), close_ds(&r->d_pred);
  close_ds(&r->d_conf), close_ds(&r->d_flags), close_ds(&r->d_done);
  adx_results_gt_close(r);
  if (r->m) {
    for (int i = 0; i < r->meta.nmodes; i++) {
      adx_results_mode_ds *m = &r->m[i];
      close_ds(&m->resp), close_ds(&m->expl), close_ds(&m->queries), close_ds(&m->rob_k);
      close_ds(&m->judges);
      for (int j = 0; j < ADX_RESULTS_NFLOAT; j++) close_ds(&m->scal[j]);
    }
  }
  if (r->file >= 0) H5Fclose(r->file);
  r->file = H5I_INVALID_HID;
}

static void meta_free(adx_results_meta *m) {
  free(m->adx_version), free(m->created), free(m->model_path), free(m->model_sha256);
  free(m->data_path), free(m->config_text), free(m->explainer);
  for (int i = 0; i < m->nmodes && m->modes; i++) free(m->modes[i]);
  for (int i = 0; i < m->nmodes && m->variants; i++) free(m->variants[i]);
  free(m->modes);
  free(m->variants);
  memset(m, 0, sizeof *m);
  m->ad_mode = -1;
}

void adx_results_handle_free(adx_results *r) {
  if (!r) return;
  if (r->group)
    for (int i = 0; i < r->meta.nmodes; i++) free(r->group[i]);
  free(r->group);
  free(r->m);
  meta_free(&r->meta);
  free(r->hosts);
  free(r->path);
  free(r);
}

/* ------------------------------------------------------------------ attributes */

static hid_t vlstr_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

/* Write v to (write) or read it from the opened or created attribute a (< 0: that failed), then close a.
 * A failure says "PATH: <doing> attribute 'NAME': <HDF5 error>". */
static adx_status attr_io(hid_t a, int write, hid_t mtype, void *v, const char *doing, const char *name,
                          const char *path, adx_error *err) {
  adx_status s = ADX_OK;
  if (a < 0 || (write ? H5Awrite(a, mtype, v) : H5Aread(a, mtype, v)) < 0) {
    char what[96];
    snprintf(what, sizeof what, "%s attribute '%s'", doing, name);
    s = adx_results_h5fail(err, path, what);
  }
  if (a >= 0) H5Aclose(a);
  return s;
}

/* Write attribute `name` (created with file type ftype, dims ndims/dims or scalar) from memory type mtype. */
static adx_status attr_put(hid_t obj, const char *name, hid_t ftype, hid_t mtype, int ndims,
                           const hsize_t *dims, const void *v, const char *path, adx_error *err) {
  hid_t sp = ndims ? H5Screate_simple(ndims, dims, NULL) : H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
  adx_status s = attr_io(a, 1, mtype, (void *)v, "writing", name, path, err);
  H5Sclose(sp);
  return s;
}

static adx_status attr_str(hid_t obj, const char *name, const char *v, const char *path, adx_error *err) {
  hid_t t = vlstr_type();
  const char *p = v ? v : "";
  adx_status s = attr_put(obj, name, t, t, 0, NULL, &p, path, err);
  H5Tclose(t);
  return s;
}

adx_status adx_results_attr_write(hid_t obj, const char *name, hid_t memtype, const void *v, const char *path,
                                  adx_error *err) {
  return attr_io(H5Aopen(obj, name, H5P_DEFAULT), 1, memtype, (void *)v, "updating", name, path, err);
}

static adx_status not_ours(const char *path, const char *what, adx_error *err) {
  return adx_fail(err, ADX_ERR_FORMAT, "%s is not an adx results file (%s)", path, what);
}

adx_status adx_results_attr_read(hid_t obj, const char *name, hid_t memtype, void *v, const char *path,
                                 adx_error *err) {
  if (H5Aexists(obj, name) <= 0) {
    char what[96];
    snprintf(what, sizeof what, "no attribute '%s'", name);
    return not_ours(path, what, err);
  }
  return attr_io(H5Aopen(obj, name, H5P_DEFAULT), 0, memtype, v, "reading", name, path, err);
}

/* Read string attribute(s): variable- or fixed-length; *out gets count malloc'ed strings. */
static adx_status attr_read_strs(hid_t obj, const char *name, int want_array, char ***out, int *count,
                                 const char *path, adx_error *err) {
  *out = NULL;
  *count = 0;
  char what[96];
  snprintf(what, sizeof what, "no attribute '%s'", name);
  if (H5Aexists(obj, name) <= 0) return not_ours(path, what, err);
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  hid_t ft = a >= 0 ? H5Aget_type(a) : H5I_INVALID_HID;
  hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
  adx_status s = ADX_OK;
  snprintf(what, sizeof what, "reading attribute '%s'", name);
  if (a < 0 || ft < 0 || sp < 0) {
    s = adx_results_h5fail(err, path, what);
    goto done;
  }
  if (H5Tget_class(ft) != H5T_STRING) {
    snprintf(what, sizeof what, "attribute '%s' is not a string", name);
    s = not_ours(path, what, err);
    goto done;
  }
  hssize_t n = H5Sget_simple_extent_npoints(sp);
  if (n < 0 || (!want_array && n != 1) || n > 1 << 20) {
    snprintf(what, sizeof what, "attribute '%s' has %lld values", name, (long long)n);
    s = not_ours(path, what, err);
    goto done;
  }
  char **strs = calloc((size_t)n + 1, sizeof *strs);
  if (!strs) {
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  if (H5Tis_variable_str(ft) > 0) {
    hid_t mt = vlstr_type();
    char **raw = calloc((size_t)n + 1, sizeof *raw);
    if (!raw)
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
    else if (H5Aread(a, mt, raw) < 0)
      s = adx_results_h5fail(err, path, what);
    for (hssize_t i = 0; raw && s == ADX_OK && i < n; i++) {
      strs[i] = strdup(raw[i] ? raw[i] : "");
      if (!strs[i]) s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
    }
    if (raw) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw); /* NULL entries (failed read) are skipped */
    free(raw);
    H5Tclose(mt);
  } else {
    size_t len = H5Tget_size(ft);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, len);
    char *buf = calloc((size_t)n, len + 1);
    if (!buf)
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
    else if (H5Aread(a, mt, buf) < 0)
      s = adx_results_h5fail(err, path, what);
    for (hssize_t i = 0; buf && s == ADX_OK && i < n; i++) {
      strs[i] = strndup(buf + (size_t)i * len, len);
      if (!strs[i]) s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
    }
    free(buf);
    H5Tclose(mt);
  }
  if (s != ADX_OK) {
    for (hssize_t i = 0; i < n; i++) free(strs[i]);
    free(strs);
    goto done;
  }
  *out = strs;
  *count = (int)n;
done:
  if (sp >= 0) H5Sclose(sp);
  if (ft >= 0) H5Tclose(ft);
  if (a >= 0) H5Aclose(a);
  return s;
}

static adx_status attr_read_str(hid_t obj, const char *name, char **out, const char *path, adx_error *err) {
  char **v;
  int n;
  *out = NULL;
  adx_status s = attr_read_strs(obj, name, 0, &v, &n, path, err);
  if (s != ADX_OK) return s;
  *out = v[0];
  free(v);
  return ADX_OK;
}

/* ------------------------------------------------------------------ run checks */

adx_status adx_results_check_run(const char *path, const adx_run_info *run, adx_error *err) {
  if (!path || !path[0]) return adx_fail(err, ADX_ERR_ARG, "results: no output file name");
  if (!run) return adx_fail(err, ADX_ERR_ARG, "%s: no run description", path);
  if (run->n < 1)
    return adx_fail(err, ADX_ERR_ARG, "%s: a run needs at least one image (n = %lld)", path,
                    (long long)run->n);
  if (run->h < 1 || run->w < 1 || (int64_t)run->h * run->w > (1 << 28))
    return adx_fail(err, ADX_ERR_ARG, "%s: bad image size %dx%d", path, run->h, run->w);
  if (run->nclasses < 1) return adx_fail(err, ADX_ERR_ARG, "%s: bad class count %d", path, run->nclasses);
  if (run->nmodes < 1 || !run->modes)
    return adx_fail(err, ADX_ERR_ARG, "%s: a run needs at least one mode", path);
  for (int i = 0; i < run->nmodes; i++) {
    const char *m = run->modes[i];
    if (!m || !m[0] || strlen(m) > 200)
      return adx_fail(err, ADX_ERR_ARG, "%s: mode %d has an empty or overlong name", path, i);
    if (!strncmp(m, "ad_vs_", 6))
      return adx_fail(err, ADX_ERR_ARG, "%s: mode name '%s' is reserved (ad_vs_ prefix)", path, m);
    if (!strcmp(m, ADX_RESULTS_CENTRE_GROUP))
      return adx_fail(err, ADX_ERR_ARG, "%s: mode name '%s' is reserved (the ground truth's centre control)",
                      path, m);
    for (int j = 0; j < i; j++)
      if (!strcmp(m, run->modes[j])) return adx_fail(err, ADX_ERR_ARG, "%s: mode '%s' given twice", path, m);
  }
  if (run->no_metrics && (run->judges || run->has_masks))
    return adx_fail(
        err, ADX_ERR_ARG,
        "%s: a run without metrics (no_metrics) has no judge matrix and no ground truth (judges and "
        "has_masks must be 0)",
        path);
  if (run->rob_k)
    for (int j = 0; j < ADX_ROB_K; j++)
      if (!(run->rob_k[j] > 0) || run->rob_k[j] > 100)
        return adx_fail(err, ADX_ERR_ARG, "%s: robustness@k value %g is not a percentage", path,
                        (double)run->rob_k[j]);
  return ADX_OK;
}

static const char *nz(const char *s) { return s ? s : ""; }

static void join_modes(int n, const char *const *modes, char *out, size_t len) {
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < n && o < len; i++)
    o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "", modes[i]);
}

/* Where two differing lines first differ, shown from the start of that setting: the differing word, and
 * the option before it when the word is its value ("--iters 4" rather than "...--dat..."). */
static size_t diff_start(const char *a, size_t na, const char *b, size_t nb) {
  size_t k = 0;
  while (k < na && k < nb && a[k] == b[k]) k++;
  while (k > 0 && a[k - 1] != ' ') k--; /* start of the differing word */
  if (k > 1 && a[k] != '-') {           /* a value: include its option, if the word before is one */
    size_t j = k - 1;
    while (j > 0 && a[j - 1] == ' ') j--;
    size_t w = j;
    while (w > 0 && a[w - 1] != ' ') w--;
    if (a[w] == '-') k = w;
  }
  return k;
}

/* First differing line of two texts: line number and both lines; a long line is shown from the setting
 * where it first differs (the command line, where the first 60 characters are always the same). */
static void first_line_diff(const char *a, const char *b, int *line, char *la, char *lb, size_t len) {
  int ln = 1;
  const char *pa = a, *pb = b;
  while (*pa && *pb) {
    const char *ea = strchr(pa, '\n'), *eb = strchr(pb, '\n');
    size_t na = ea ? (size_t)(ea - pa) : strlen(pa), nb = eb ? (size_t)(eb - pb) : strlen(pb);
    if (na != nb || memcmp(pa, pb, na)) break;
    if (!ea || !eb) break;
    pa = ea + 1, pb = eb + 1, ln++;
  }
  size_t na = strcspn(pa, "\n"), nb = strcspn(pb, "\n");
  size_t k = na > 60 || nb > 60 ? diff_start(pa, na, pb, nb) : 0; /* short lines are shown whole */
  const char *dots = k > 0 ? "..." : "";
  pa += k, pb += k, na -= k, nb -= k;
  snprintf(la, len, "%s%.*s%s", dots, (int)(na > 60 ? 60 : na), pa, na > 60 ? "..." : "");
  snprintf(lb, len, "%s%.*s%s", dots, (int)(nb > 60 ? 60 : nb), pb, nb > 60 ? "..." : "");
  *line = ln;
}

adx_status adx_results_compare_run(const adx_results *r, const adx_run_info *run, adx_error *err) {
  const adx_results_meta *m = &r->meta;
  const char *p = r->path;
  if (strcmp(m->model_sha256, nz(run->model_sha256)))
    return adx_fail(err, ADX_ERR_ARG, "%s was made with model sha256 %s but this run uses %s", p,
                    m->model_sha256[0] ? m->model_sha256 : "(none)",
                    nz(run->model_sha256)[0] ? run->model_sha256 : "(none)");
  int same_modes = m->nmodes == run->nmodes;
  for (int i = 0; same_modes && i < m->nmodes; i++) same_modes = !strcmp(m->modes[i], run->modes[i]);
  if (!same_modes) {
    char a[512], b[512];
    join_modes(m->nmodes, (const char *const *)m->modes, a, sizeof a);
    join_modes(run->nmodes, run->modes, b, sizeof b);
    return adx_fail(err, ADX_ERR_ARG, "%s was made with modes %s but this run uses %s", p, a, b);
  }
  for (int i = 0; run->variants && i < m->nmodes; i++)
    if (strcmp(m->variants[i], run->variants[i]))
      return adx_fail(err, ADX_ERR_ARG, "%s was made with mode %s = %s but this run computes %s", p,
                      m->modes[i], m->variants[i], run->variants[i]);
  if (strcmp(m->explainer, nz(run->explainer)))
    return adx_fail(err, ADX_ERR_ARG, "%s was made with explainer '%s' but this run uses '%s'", p,
                    m->explainer, nz(run->explainer));
  if (m->seed != run->seed)
    return adx_fail(err, ADX_ERR_ARG, "%s was made with seed %llu but this run uses %llu", p,
                    (unsigned long long)m->seed, (unsigned long long)run->seed);
  if (!m->no_metrics != !run->no_metrics)
    return adx_fail(err, ADX_ERR_ARG,
                    m->no_metrics
                        ? "%s was made with --no-metrics (explanations only) but this run computes the "
                          "metrics; resume it with --no-metrics, or write a new file"
                        : "%s was made with the metrics but this run uses --no-metrics; resume it "
                          "without --no-metrics, or write a new file",
                    p);
  if (strcmp(m->config_text, nz(run->config_text))) {
    int line;
    char la[80], lb[80];
    first_line_diff(m->config_text, nz(run->config_text), &line, la, lb, sizeof la);
    return adx_fail(err, ADX_ERR_ARG,
                    "%s was made with a different configuration (line %d: '%s' there, '%s' in this run)", p,
                    line, la, lb);
  }
  if (m->n != run->n)
    return adx_fail(err, ADX_ERR_ARG, "%s holds %lld images but this run has %lld", p, (long long)m->n,
                    (long long)run->n);
  if (m->h != run->h || m->w != run->w)
    return adx_fail(err, ADX_ERR_ARG, "%s was made for %dx%d inputs but this run's are %dx%d", p, m->h, m->w,
                    run->h, run->w);
  if (m->nclasses != run->nclasses)
    return adx_fail(err, ADX_ERR_ARG, "%s was made for %d classes but this run has %d", p, m->nclasses,
                    run->nclasses);
  if (!m->has_masks != !run->has_masks)
    return adx_fail(err, ADX_ERR_ARG, "%s was made %s object masks but this run's dataset has %s", p,
                    m->has_masks ? "with" : "without", run->has_masks ? "them" : "none");
  /* a file without the judge matrix (--judges none, or made before cross-judging) is resumed without it;
   * one with it needs a run that computes it */
  if (m->judges && !run->judges)
    return adx_fail(err, ADX_ERR_ARG, "%s was made with --judges all but this run uses --judges none", p);
  const float *k = run->rob_k ? run->rob_k : default_rob_k;
  for (int j = 0; j < ADX_ROB_K && !m->no_metrics; j++) /* no k values without the metrics */
    if (m->rob_k[j] != k[j])
      return adx_fail(err, ADX_ERR_ARG, "%s was made with robustness@k value %g but this run uses %g", p,
                      (double)m->rob_k[j], (double)k[j]);
  return ADX_OK;
}

/* ------------------------------------------------------------------ building a new file */

typedef struct build_ctx {
  const char *shown; /* name in messages */
  hid_t gcpl;        /* groups: no time stamps, so files of identical runs are identical */
} build_ctx;

static hid_t mkgroup(build_ctx *b, hid_t loc, const char *name, adx_error *err, adx_status *s) {
  hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, b->gcpl, H5P_DEFAULT);
  if (g < 0) {
    char what[800];
    snprintf(what, sizeof what, "creating group '%s'", name);
    *s = adx_results_h5fail(err, b->shown, what);
  }
  return g;
}

/* A dataset with its whole space allocated now (so the run never changes metadata). fill_alloc: write the
 * fill value at allocation (small datasets); else never (big ones: unwritten space reads as 0 because
 * the file is new and its unwritten regions are holes). */
static adx_status mkds(build_ctx *b, hid_t loc, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                       int chunked, hid_t filltype, const void *fill, int fill_alloc, hid_t *out,
                       adx_error *err) {
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  adx_status s = ADX_OK;
  H5Pset_obj_track_times(dcpl, 0);
  H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
  H5Pset_fill_value(dcpl, filltype, fill);
  H5Pset_fill_time(dcpl, fill_alloc ? H5D_FILL_TIME_ALLOC : H5D_FILL_TIME_NEVER);
  if (chunked) {
    hsize_t chunk[3] = {1, dims[1], dims[2]};
    H5Pset_chunk(dcpl, rank, chunk);
  }
  hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d < 0) {
    char what[300];
    snprintf(what, sizeof what, "creating dataset '%s'", name);
    s = adx_results_h5fail(err, b->shown, what);
  }
  H5Sclose(sp);
  H5Pclose(dcpl);
  if (out)
    *out = d;
  else if (d >= 0)
    H5Dclose(d);
  return s;
}

static adx_status root_attrs(build_ctx *b, hid_t f, const adx_run_info *run, adx_error *err) {
  char created[40];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const char *sp = b->shown;
  adx_status s;
  if ((s = attr_str(f, "adx_version", ADX_VERSION, sp, err)) ||
      (s = attr_str(f, "created", created, sp, err)) ||
      (s = attr_str(f, "model_path", run->model_path, sp, err)) ||
      (s = attr_str(f, "model_sha256", run->model_sha256, sp, err)) ||
      (s = attr_str(f, "data_path", run->data_path, sp, err)) ||
      (s = attr_str(f, "config", run->config_text, sp, err)) ||
      (s = attr_str(f, "explainer", run->explainer, sp, err)))
    return s;
  hid_t t = vlstr_type();
  hsize_t nm = (hsize_t)run->nmodes;
  s = attr_put(f, "modes", t, t, 1, &nm, run->modes, sp, err);
  if (!s && run->variants) s = attr_put(f, "mode_variants", t, t, 1, &nm, run->variants, sp, err);
  H5Tclose(t);
  if (s) return s;
  int32_t ranks = run->ranks, threads = run->threads_per_rank, fin = 0, h = run->h, w = run->w,
          c = run->nclasses;
  int64_t n = run->n;
  if ((s = attr_put(f, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, NULL, &run->seed, sp, err)) ||
      (s = attr_put(f, "ranks", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &ranks, sp, err)) ||
      (s = attr_put(f, "threads_per_rank", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &threads, sp, err)) ||
      (s = attr_put(f, "finished", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &fin, sp, err)) ||
      (s = attr_put(f, "n", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &n, sp, err)) ||
      (s = attr_put(f, "height", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &h, sp, err)) ||
      (s = attr_put(f, "width", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &w, sp, err)) ||
      (s = attr_put(f, "nclasses", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &c, sp, err)))
    return s;
  int32_t hm = run->has_masks ? 1 : 0; /* ground truth (docs/output-format.md) */
  if ((s = attr_put(f, "has_masks", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &hm, sp, err))) return s;
  int32_t nomet = run->no_metrics ? 1 : 0; /* explanations only (adx explain --no-metrics) */
  if ((s = attr_put(f, "no_metrics", H5T_STD_I32LE, H5T_NATIVE_INT32, 0, NULL, &nomet, sp, err))) return s;
  /* written by finish: exist now at their final size, so that finish only overwrites values in place */
  double wall = NAN;
  char at[ADX_RESULTS_TIME_LEN] = {0};
  hid_t ft = H5Tcopy(H5T_C_S1);
  H5Tset_size(ft, ADX_RESULTS_TIME_LEN);
  H5Tset_strpad(ft, H5T_STR_NULLPAD);
  if (!(s = attr_put(f, "wall_seconds", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &wall, sp, err)))
    s = attr_put(f, "finished_at", ft, ft, 0, NULL, at, sp, err);
  H5Tclose(ft);
  /* provenance (results_prov.c): fixed sizes, so that finish overwrites them in place */
  char cpu[ADX_RESULTS_BUILD_LEN] = {0};
  char *hosts = calloc(1, ADX_RESULTS_HOSTS_LEN); /* empty until a finish */
  if (!hosts) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", sp);
  adx_build_cpu_features(cpu, sizeof cpu);
  hid_t ct = H5Tcopy(H5T_C_S1), ht = H5Tcopy(H5T_C_S1);
  H5Tset_size(ct, ADX_RESULTS_BUILD_LEN);
  H5Tset_strpad(ct, H5T_STR_NULLTERM);
  H5Tset_size(ht, ADX_RESULTS_HOSTS_LEN);
  H5Tset_strpad(ht, H5T_STR_NULLTERM);
  if (!s) s = attr_put(f, "build_cpu", ct, ct, 0, NULL, cpu, sp, err);
  if (!s) s = attr_put(f, "hosts", ht, ht, 0, NULL, hosts, sp, err);
  H5Tclose(ct);
  H5Tclose(ht);
  free(hosts);
  return s;
}

/* The ground-truth datasets PREFIXpointing_game, PREFIXenergy_in_object [N] and PREFIXprecision_at_k [N,K]
 * (attribute k), NaN until written. */
static adx_status gt_datasets(build_ctx *b, hid_t g, const char *prefix, const adx_run_info *run,
                              const float *k, adx_error *err) {
  hsize_t n = (hsize_t)run->n, nk[2] = {n, ADX_ROB_K}, kk = ADX_ROB_K;
  float nan = NAN;
  char name[64];
  hid_t pk = H5I_INVALID_HID;
  adx_status s = ADX_OK;
  for (int j = 0; j < 2 && !s; j++) {
    snprintf(name, sizeof name, "%s%s", prefix, adx_results_gt_ds_names[j]);
    s = mkds(b, g, name, H5T_IEEE_F32LE, 1, &n, 0, H5T_NATIVE_FLOAT, &nan, 1, NULL, err);
  }
  snprintf(name, sizeof name, "%s%s", prefix, adx_results_gt_ds_names[2]);
  if (!s) s = mkds(b, g, name, H5T_IEEE_F32LE, 2, nk, 0, H5T_NATIVE_FLOAT, &nan, 1, &pk, err);
  if (!s) s = attr_put(pk, "k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &kk, k, b->shown, err);
  if (pk >= 0) H5Dclose(pk);
  return s;
}

static adx_status images_group(build_ctx *b, hid_t f, const adx_run_info *run, adx_error *err) {
  adx_status s = ADX_OK;
  hid_t g = mkgroup(b, f, "images", err, &s);
  if (g < 0) return s;
  hsize_t n = (hsize_t)run->n;
  int64_t z64 = 0;
  int32_t zl = -1, z32 = 0;
  float zf = 0;
  uint8_t z8 = 0;
  if (!(s = mkds(b, g, "index", H5T_STD_I64LE, 1, &n, 0, H5T_NATIVE_INT64, &z64, 1, NULL, err)) &&
      !(s = mkds(b, g, "label", H5T_STD_I32LE, 1, &n, 0, H5T_NATIVE_INT32, &zl, 1, NULL, err)) &&
      !(s = mkds(b, g, "pred", H5T_STD_I32LE, 1, &n, 0, H5T_NATIVE_INT32, &z32, 1, NULL, err)) &&
      !(s = mkds(b, g, "conf", H5T_IEEE_F32LE, 1, &n, 0, H5T_NATIVE_FLOAT, &zf, 1, NULL, err)) &&
      !(s = mkds(b, g, "flags", H5T_STD_U8LE, 1, &n, 0, H5T_NATIVE_UINT8, &z8, 1, NULL, err)))
    s = mkds(b, g, "done", H5T_STD_U8LE, 1, &n, 0, H5T_NATIVE_UINT8, &z8, 1, NULL, err);
  if (!s && run->has_masks) { /* ground truth: the object masks and the centre control */
    hsize_t img[3] = {n, (hsize_t)run->h, (hsize_t)run->w};
    s = mkds(b, g, "object_mask", H5T_STD_U8LE, 3, img, 1, H5T_NATIVE_UINT8, &z8, 0, NULL, err);
    if (!s) s = gt_datasets(b, g, "centre_", run, run->rob_k ? run->rob_k : default_rob_k, err);
  }
  H5Gclose(g);
  return s;
}

/* The judge names and the measure names as string-array attributes of obj. */
static adx_status judge_attrs(build_ctx *b, hid_t obj, const float *k, adx_error *err) {
  static const char *const measures[2] = {"sufficiency", "comprehensiveness"};
  hsize_t nj = ADX_NJUDGES, two = 2, kk = ADX_ROB_K;
  hid_t t = vlstr_type();
  adx_status s = attr_put(obj, "judges", t, t, 1, &nj, adx_judge_names, b->shown, err);
  if (!s) s = attr_put(obj, "measures", t, t, 1, &two, measures, b->shown, err);
  H5Tclose(t);
  if (!s) s = attr_put(obj, "k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &kk, k, b->shown, err);
  return s;
}

/* /modes/<mode>/judges [N, ADX_ROB_K, ADX_NJUDGES, 2] float32 (NaN until written), with its axis names. */
static adx_status judges_ds(build_ctx *b, hid_t g, hsize_t n, const float *k, adx_error *err) {
  hsize_t dims[4] = {n, ADX_ROB_K, ADX_NJUDGES, 2};
  float nan = NAN;
  hid_t d = H5I_INVALID_HID;
  adx_status s = mkds(b, g, "judges", H5T_IEEE_F32LE, 4, dims, 0, H5T_NATIVE_FLOAT, &nan, 1, &d, err);
  if (!s) s = judge_attrs(b, d, k, err);
  if (d >= 0) H5Dclose(d);
  return s;
}

/* /summary/<mode>/judges_mean, judges_ci95_low, judges_ci95_high float64 and judges_n int64, each
 * [ADX_ROB_K, ADX_NJUDGES, 2] (NaN and 0 until finish). */
static adx_status judges_summary(build_ctx *b, hid_t g, const float *k, adx_error *err) {
  static const char *const names[3] = {"judges_mean", "judges_ci95_low", "judges_ci95_high"};
  hsize_t dims[3] = {ADX_ROB_K, ADX_NJUDGES, 2};
  double nan = NAN;
  int64_t zero = 0;
  adx_status s = ADX_OK;
  for (int i = 0; i < 4 && !s; i++) {
    hid_t d = H5I_INVALID_HID;
    s = i < 3 ? mkds(b, g, names[i], H5T_IEEE_F64LE, 3, dims, 0, H5T_NATIVE_DOUBLE, &nan, 1, &d, err)
              : mkds(b, g, "judges_n", H5T_STD_I64LE, 3, dims, 0, H5T_NATIVE_INT64, &zero, 1, &d, err);
    if (!s) s = judge_attrs(b, d, k, err);
    if (d >= 0) H5Dclose(d);
  }
  return s;
}

static adx_status mode_group(build_ctx *b, hid_t modes, const char *mode, const adx_run_info *run,
                             const float *k, adx_error *err) {
  char gname[640];
  adx_results_escape(mode, gname, sizeof gname);
  adx_status s = ADX_OK;
  hid_t g = mkgroup(b, modes, gname, err, &s);
  if (g < 0) return s;
  hsize_t n = (hsize_t)run->n, img[3] = {n, (hsize_t)run->h, (hsize_t)run->w}, nk[2] = {n, ADX_ROB_K};
  float zf = 0;
  uint8_t z8 = 0;
  int64_t z64 = 0;
  hid_t rk = H5I_INVALID_HID;
  if ((s = attr_str(g, "mode", mode, b->shown, err)) ||
      (s = mkds(b, g, "responsibility", H5T_IEEE_F32LE, 3, img, 1, H5T_NATIVE_FLOAT, &zf, 0, NULL, err)) ||
      (s = mkds(b, g, "explanation", H5T_STD_U8LE, 3, img, 1, H5T_NATIVE_UINT8, &z8, 0, NULL, err)))
    goto out;
  for (int j = 0; j < ADX_RESULTS_NFLOAT; j++)
    if (adx_results_metric_in_run(run->no_metrics, j) &&
        (s = mkds(b, g, adx_results_scalar_names[j], H5T_IEEE_F32LE, 1, &n, 0, H5T_NATIVE_FLOAT, &zf, 1, NULL,
                  err)))
      goto out;
  if ((s = mkds(b, g, "queries", H5T_STD_I64LE, 1, &n, 0, H5T_NATIVE_INT64, &z64, 1, NULL, err))) goto out;
  if (run->no_metrics) goto out; /* explanations only: no robustness@k, judges or ground truth */
  if ((s = mkds(b, g, "robustness_at_k", H5T_IEEE_F32LE, 2, nk, 0, H5T_NATIVE_FLOAT, &zf, 1, &rk, err)))
    goto out;
  hsize_t kk = ADX_ROB_K;
  s = attr_put(rk, "k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &kk, k, b->shown, err);
  if (!s && run->judges) s = judges_ds(b, g, n, k, err);
  if (!s && run->has_masks) s = gt_datasets(b, g, "", run, k, err);
out:
  if (rk >= 0) H5Dclose(rk);
  H5Gclose(g);
  return s;
}

/* One /summary/<mode>/<metric> group: statistics as attributes (NaN and n = 0 until finish) and
 * per_class [C] (NaN until finish). */
static adx_status summary_metric(build_ctx *b, hid_t parent, const char *name, int nclasses, adx_error *err) {
  adx_status s = ADX_OK;
  hid_t g = mkgroup(b, parent, name, err, &s);
  if (g < 0) return s;
  double nan = NAN;
  int64_t zero = 0;
  hsize_t c = (hsize_t)nclasses;
  static const char *const stats[] = {"mean", "std", "ci95_low", "ci95_high"};
  for (int i = 0; i < 4 && !s; i++)
    s = attr_put(g, stats[i], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &nan, b->shown, err);
  if (!s) s = attr_put(g, "n", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &zero, b->shown, err);
  if (!s) s = mkds(b, g, "per_class", H5T_IEEE_F64LE, 1, &c, 0, H5T_NATIVE_DOUBLE, &nan, 1, NULL, err);
  H5Gclose(g);
  return s;
}

/* The ground-truth summary groups under g: pointing_game, energy_in_object, precision_at_k/k=... */
static adx_status summary_gt(build_ctx *b, hid_t g, const adx_run_info *run, const float *k, adx_error *err) {
  adx_status s = ADX_OK;
  for (int j = 0; j < 2 && !s; j++) s = summary_metric(b, g, adx_results_gt_ds_names[j], run->nclasses, err);
  hid_t pk = s ? H5I_INVALID_HID : mkgroup(b, g, adx_results_gt_ds_names[2], err, &s);
  if (pk >= 0) {
    hsize_t kk = ADX_ROB_K;
    char kname[32];
    s = attr_put(pk, "k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &kk, k, b->shown, err);
    for (int j = 0; j < ADX_ROB_K && !s; j++) {
      snprintf(kname, sizeof kname, "k=%g", (double)k[j]);
      s = summary_metric(b, pk, kname, run->nclasses, err);
    }
    H5Gclose(pk);
  }
  return s;
}

static adx_status summary_group(build_ctx *b, hid_t f, const adx_run_info *run, const float *k,
                                adx_error *err) {
  adx_status s = ADX_OK;
  hid_t sum = mkgroup(b, f, "summary", err, &s);
  if (sum < 0) return s;
  char gname[640], kname[32];
  for (int i = 0; i < run->nmodes && !s; i++) {
    adx_results_escape(run->modes[i], gname, sizeof gname);
    hid_t g = mkgroup(b, sum, gname, err, &s);
    if (g < 0) break;
    s = attr_str(g, "mode", run->modes[i], b->shown, err);
    for (int j = 0; j < ADX_RESULTS_NSCALAR && !s; j++)
      if (adx_results_metric_in_run(run->no_metrics, j))
        s = summary_metric(b, g, adx_results_scalar_names[j], run->nclasses, err);
    hid_t rk = s || run->no_metrics ? H5I_INVALID_HID : mkgroup(b, g, "robustness_at_k", err, &s);
    if (rk >= 0) {
      hsize_t kk = ADX_ROB_K;
      s = attr_put(rk, "k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &kk, k, b->shown, err);
      for (int j = 0; j < ADX_ROB_K && !s; j++) {
        snprintf(kname, sizeof kname, "k=%g", (double)k[j]);
        s = summary_metric(b, rk, kname, run->nclasses, err);
      }
      H5Gclose(rk);
    }
    if (!s && run->judges) s = judges_summary(b, g, k, err);
    if (!s && run->has_masks) s = summary_gt(b, g, run, k, err);
    H5Gclose(g);
  }
  if (!s && run->has_masks) { /* the centre control (docs/metrics.md) */
    hid_t g = mkgroup(b, sum, ADX_RESULTS_CENTRE_GROUP, err, &s);
    if (g >= 0) {
      s = attr_str(g, "method",
                   "ground truth of the ranking by distance to the image centre, nearest first (ties by "
                   "pixel index); map dmax - d",
                   b->shown, err);
      if (!s) s = summary_gt(b, g, run, k, err);
      H5Gclose(g);
    }
  }
  int ad = run->no_metrics ? -1 : find_ad_mode(run->nmodes, run->modes); /* no robustness to compare */
  for (int i = 0; ad >= 0 && i < run->nmodes && !s; i++) {
    if (adx_mode_name_is_ad(run->modes[i])) continue;
    char name[700];
    adx_results_escape(run->modes[i], gname, sizeof gname);
    snprintf(name, sizeof name, "ad_vs_%s", gname);
    hid_t g = mkgroup(b, sum, name, err, &s);
    if (g < 0) break;
    if (!(s = attr_str(g, "ad_mode", run->modes[ad], b->shown, err)) &&
        !(s = attr_str(g, "mode", run->modes[i], b->shown, err)))
      s = attr_str(
          g, "method",
          "(mean_ad - mean_fill) / mean_fill over images done in both; 95% CI by the delta method "
          "with the t quantile at n-1 degrees of freedom; diff = mean_ad - mean_fill with its paired "
          "95% t interval; p_value: paired t-test of no difference; p_holm: Holm's correction over "
          "every ad_vs comparison of the file",
          b->shown, err);
    static const char *const rob[] = {"robustness_colour", "robustness_context"};
    static const char *const st[] = {"improvement", "ci95_low",      "ci95_high",      "mean_ad", "mean_fill",
                                     "diff",        "diff_ci95_low", "diff_ci95_high", "p_value", "p_holm"};
    for (int j = 0; j < 2 && !s; j++) {
      hid_t m = mkgroup(b, g, rob[j], err, &s);
      if (m < 0) break;
      double nan = NAN;
      int64_t zero = 0;
      for (int q = 0; q < 10 && !s; q++)
        s = attr_put(m, st[q], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, NULL, &nan, b->shown, err);
      if (!s) s = attr_put(m, "n", H5T_STD_I64LE, H5T_NATIVE_INT64, 0, NULL, &zero, b->shown, err);
      H5Gclose(m);
    }
    H5Gclose(g);
  }
  H5Gclose(sum);
  return s;
}

adx_status adx_results_build_file(const char *path, const char *shown, const adx_run_info *run,
                                  adx_error *err) {
  build_ctx b = {shown, H5Pcreate(H5P_GROUP_CREATE)};
  H5Pset_obj_track_times(b.gcpl, 0);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, 1, 1);
  const float *k = run->rob_k ? run->rob_k : default_rob_k;
  adx_status s = ADX_OK;
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (f < 0) {
    s = adx_results_h5fail(err, shown, "cannot create");
    goto out;
  }
  if ((s = root_attrs(&b, f, run, err)) || (s = images_group(&b, f, run, err))) goto out;
  hid_t modes = mkgroup(&b, f, "modes", err, &s);
  if (modes < 0) goto out;
  for (int i = 0; i < run->nmodes && !s; i++) s = mode_group(&b, modes, run->modes[i], run, k, err);
  H5Gclose(modes);
  if (!s) s = summary_group(&b, f, run, k, err);
out:
  if (f >= 0 && H5Fclose(f) < 0 && !s) s = adx_results_h5fail(err, shown, "closing the new file");
  H5Pclose(fapl);
  H5Pclose(b.gcpl);
  return s;
}

/* ------------------------------------------------------------------ opening */

/* Each mode's full variant: the mode_variants attribute, or, in a file written before AD isolated
 * (format 1, no such attribute), what the mode's name meant then (a bare "ad" was ratio:0.5:all, and
 * every AD variant read hidden pixels as they are: leak). */
static adx_status load_variants(hid_t f, adx_results_meta *m, const char *p, adx_error *err) {
  adx_status s;
  if (H5Aexists(f, "mode_variants") > 0) {
    int nv = 0;
    if ((s = attr_read_strs(f, "mode_variants", 1, &m->variants, &nv, p, err))) return s;
    if (nv != m->nmodes) return not_ours(p, "mode_variants does not match modes", err);
    return ADX_OK;
  }
  m->variants = calloc((size_t)m->nmodes, sizeof *m->variants);
  if (!m->variants) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", p);
  for (int i = 0; i < m->nmodes; i++) {
    adx_mode md;
    char buf[ADX_AD_VARIANT_MAX];
    const char *v =
        adx_mode_parse_legacy(m->modes[i], &md, NULL) ? m->modes[i] : adx_mode_str(&md, buf, sizeof buf);
    if (!(m->variants[i] = strdup(v))) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", p);
  }
  return ADX_OK;
}

adx_status adx_results_load_meta(adx_results *r, adx_error *err) {
  adx_results_meta *m = &r->meta;
  const char *p = r->path;
  hid_t f = r->file;
  adx_status s;
  int32_t ranks = 0, threads = 0, fin = 0, h = 0, w = 0, c = 0;
  if ((s = attr_read_str(f, "adx_version", &m->adx_version, p, err)) ||
      (s = attr_read_str(f, "created", &m->created, p, err)) ||
      (s = attr_read_str(f, "model_path", &m->model_path, p, err)) ||
      (s = attr_read_str(f, "model_sha256", &m->model_sha256, p, err)) ||
      (s = attr_read_str(f, "data_path", &m->data_path, p, err)) ||
      (s = attr_read_str(f, "config", &m->config_text, p, err)) ||
      (s = attr_read_str(f, "explainer", &m->explainer, p, err)) ||
      (s = attr_read_strs(f, "modes", 1, &m->modes, &m->nmodes, p, err)) ||
      (s = adx_results_attr_read(f, "seed", H5T_NATIVE_UINT64, &m->seed, p, err)) ||
      (s = adx_results_attr_read(f, "ranks", H5T_NATIVE_INT32, &ranks, p, err)) ||
      (s = adx_results_attr_read(f, "threads_per_rank", H5T_NATIVE_INT32, &threads, p, err)) ||
      (s = adx_results_attr_read(f, "finished", H5T_NATIVE_INT32, &fin, p, err)) ||
      (s = adx_results_attr_read(f, "n", H5T_NATIVE_INT64, &m->n, p, err)) ||
      (s = adx_results_attr_read(f, "height", H5T_NATIVE_INT32, &h, p, err)) ||
      (s = adx_results_attr_read(f, "width", H5T_NATIVE_INT32, &w, p, err)) ||
      (s = adx_results_attr_read(f, "nclasses", H5T_NATIVE_INT32, &c, p, err)))
    return s;
  m->ranks = ranks, m->threads_per_rank = threads, m->finished = fin, m->h = h, m->w = w, m->nclasses = c;
  /* optional (files made before adx 0.1.0 recorded the wall time lack them): NaN and "" when absent */
  m->wall_seconds = NAN;
  if (H5Aexists(f, "wall_seconds") > 0 &&
      (s = adx_results_attr_read(f, "wall_seconds", H5T_NATIVE_DOUBLE, &m->wall_seconds, p, err)))
    return s;
  if (H5Aexists(f, "finished_at") > 0) {
    char at[ADX_RESULTS_TIME_LEN + 1] = {0};
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, ADX_RESULTS_TIME_LEN + 1);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    hid_t a = H5Aopen(f, "finished_at", H5P_DEFAULT);
    if (a < 0 || H5Aread(a, mt, at) < 0) s = adx_results_h5fail(err, p, "reading attribute 'finished_at'");
    if (a >= 0) H5Aclose(a);
    H5Tclose(mt);
    if (s) return s;
    memcpy(m->finished_at, at, sizeof m->finished_at);
  }
  if (m->nmodes < 1 || m->n < 1 || h < 1 || w < 1 || c < 1) return not_ours(p, "empty run attributes", err);
  int32_t hm = 0; /* optional: absent in files written before ground truth (no masks) */
  if (H5Aexists(f, "has_masks") > 0 &&
      (s = adx_results_attr_read(f, "has_masks", H5T_NATIVE_INT32, &hm, p, err)))
    return s;
  m->has_masks = hm != 0;
  int32_t nomet = 0; /* optional: absent in files written before --no-metrics (metrics computed) */
  if (H5Aexists(f, "no_metrics") > 0 &&
      (s = adx_results_attr_read(f, "no_metrics", H5T_NATIVE_INT32, &nomet, p, err)))
    return s;
  m->no_metrics = nomet != 0;
  if ((s = load_variants(f, m, p, err))) return s;
  m->ad_mode = find_ad_mode(m->nmodes, (const char *const *)m->modes);
  r->group = calloc((size_t)m->nmodes, sizeof *r->group);
  if (!r->group) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", p);
  for (int i = 0; i < m->nmodes; i++) {
    char g[640];
    adx_results_escape(m->modes[i], g, sizeof g);
    if (!(r->group[i] = strdup(g))) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", p);
  }
  char dpath[700];
  if (m->no_metrics) { /* no metric uses k: the defaults, for the metric names only */
    memcpy(m->rob_k, default_rob_k, sizeof m->rob_k);
    m->judges = 0;
    set_metric_names(r);
    return ADX_OK;
  }
  /* the k values live on /modes/<first mode>/robustness_at_k */
  snprintf(dpath, sizeof dpath, "/modes/%s/robustness_at_k", r->group[0]);
  hid_t d = H5Dopen2(f, dpath, H5P_DEFAULT);
  if (d < 0) return not_ours(p, "no /modes/<mode>/robustness_at_k", err);
  hid_t a = H5Aexists(d, "k") > 0 ? H5Aopen(d, "k", H5P_DEFAULT) : H5I_INVALID_HID;
  hid_t sp = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
  if (a < 0 || sp < 0 || H5Sget_simple_extent_npoints(sp) != ADX_ROB_K ||
      H5Aread(a, H5T_NATIVE_FLOAT, m->rob_k) < 0)
    s = adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: %s has no attribute 'k' with %d values", p, dpath, ADX_ROB_K);
  if (sp >= 0) H5Sclose(sp);
  if (a >= 0) H5Aclose(a);
  H5Dclose(d);
  /* the judge matrix: present in every mode or in none (a file made before cross-judging has none) */
  if (!s) {
    snprintf(dpath, sizeof dpath, "/modes/%s/judges", r->group[0]);
    m->judges = H5Lexists(f, dpath, H5P_DEFAULT) > 0;
  }
  if (!s) set_metric_names(r);
  return s;
}

/* Open dataset `name` under loc and check its shape is [n] + tail. */
static adx_status open_ds(adx_results *r, hid_t dapl, const char *dir, const char *name, int rank,
                          const hsize_t *tail, hid_t *out, adx_error *err) {
  char full[800];
  snprintf(full, sizeof full, "%s/%s", dir, name);
  hid_t d = H5Dopen2(r->file, full, dapl);
  if (d < 0) {
    char what[840];
    snprintf(what, sizeof what, "no dataset %s", full);
    return not_ours(r->path, what, err);
  }
  hid_t sp = H5Dget_space(d);
  hsize_t dims[4] = {0};
  int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
  if (nd == rank && nd <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
  int ok = nd == rank && dims[0] == (hsize_t)r->meta.n;
  for (int i = 1; ok && i < rank; i++) ok = dims[i] == tail[i - 1];
  if (sp >= 0) H5Sclose(sp);
  if (!ok) {
    H5Dclose(d);
    return adx_fail(err, ADX_ERR_FORMAT, "%s: dataset %s does not have the run's shape", r->path, full);
  }
  *out = d;
  return ADX_OK;
}

adx_status adx_results_open_datasets(adx_results *r, hid_t dapl, adx_error *err) {
  adx_status s;
  if ((s = open_ds(r, dapl, "/images", "index", 1, NULL, &r->d_index, err)) ||
      (s = open_ds(r, dapl, "/images", "label", 1, NULL, &r->d_label, err)) ||
      (s = open_ds(r, dapl, "/images", "pred", 1, NULL, &r->d_pred, err)) ||
      (s = open_ds(r, dapl, "/images", "conf", 1, NULL, &r->d_conf, err)) ||
      (s = open_ds(r, dapl, "/images", "flags", 1, NULL, &r->d_flags, err)) ||
      (s = open_ds(r, dapl, "/images", "done", 1, NULL, &r->d_done, err)))
    return s;
  r->m = calloc((size_t)r->meta.nmodes, sizeof *r->m);
  if (!r->m) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", r->path);
  for (int i = 0; i < r->meta.nmodes; i++) {
    adx_results_mode_ds *m = &r->m[i];
    m->resp = m->expl = m->queries = m->rob_k = m->judges = H5I_INVALID_HID;
    for (int j = 0; j < ADX_RESULTS_NFLOAT; j++) m->scal[j] = H5I_INVALID_HID;
  }
  adx_results_gt_init(r);
  hsize_t hw[2] = {(hsize_t)r->meta.h, (hsize_t)r->meta.w}, k = ADX_ROB_K;
  for (int i = 0; i < r->meta.nmodes; i++) {
    adx_results_mode_ds *m = &r->m[i];
    char dir[700];
    snprintf(dir, sizeof dir, "/modes/%s", r->group[i]);
    if ((s = open_ds(r, dapl, dir, "responsibility", 3, hw, &m->resp, err)) ||
        (s = open_ds(r, dapl, dir, "explanation", 3, hw, &m->expl, err)) ||
        (s = open_ds(r, dapl, dir, "queries", 1, NULL, &m->queries, err)))
      return s;
    /* a --no-metrics file has only size, seconds and queries: the other hids stay invalid */
    if (!r->meta.no_metrics && (s = open_ds(r, dapl, dir, "robustness_at_k", 2, &k, &m->rob_k, err)))
      return s;
    for (int j = 0; j < ADX_RESULTS_NFLOAT; j++)
      if (adx_results_metric_in_run(r->meta.no_metrics, j) &&
          (s = open_ds(r, dapl, dir, adx_results_scalar_names[j], 1, NULL, &m->scal[j], err)))
        return s;
    hsize_t jd[3] = {ADX_ROB_K, ADX_NJUDGES, 2};
    if (r->meta.judges && (s = open_ds(r, dapl, dir, "judges", 4, jd, &m->judges, err))) return s;
  }
  return adx_results_gt_open(r, dapl, err);
}

adx_status adx_results_open_dataset(adx_results *r, hid_t dapl, const char *dir, const char *name, int rank,
                                    const hsize_t *tail, hid_t *out, adx_error *err) {
  return open_ds(r, dapl, dir, name, rank, tail, out, err);
}

adx_status adx_results_rows(adx_results *r, hid_t ds, int write, hid_t memtype, int64_t first, int64_t count,
                            int64_t row_elems, void *buf, const char *what, adx_error *err) {
  hid_t fs = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(fs);
  hsize_t start[4] = {(hsize_t)first, 0, 0, 0}, cnt[4] = {(hsize_t)count, 0, 0, 0};
  if (nd > 1 && nd <= 4) {
    hsize_t dims[4];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    for (int i = 1; i < nd; i++) cnt[i] = dims[i];
  }
  hsize_t melems = (hsize_t)(count * row_elems);
  hid_t ms = H5Screate_simple(1, &melems, NULL);
  herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL);
  errno = 0;
  if (e >= 0)
    e = write ? H5Dwrite(ds, memtype, ms, fs, H5P_DEFAULT, buf)
              : H5Dread(ds, memtype, ms, fs, H5P_DEFAULT, buf);
  adx_status s = ADX_OK;
  if (e < 0) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s %s of image %lld%s", write ? "writing" : "reading", what, (long long)first,
             count > 1 ? " and following" : "");
    s = adx_results_h5fail(err, r->path, msg);
  }
  H5Sclose(ms);
  H5Sclose(fs);
  return s;
}
