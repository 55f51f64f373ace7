/* Results store life cycle: create / resume (collective), per-image writes (independent), finish and close.
 *
 * Why the file survives SIGKILL of any rank at any moment (docs/output-format.md has the long version):
 *  - rank 0 builds the complete file (all metadata, all datasets at full size with their space allocated
 *    early) under PATH.creating and renames it into place, so PATH is never half-created;
 *  - during the run only raw data is written (independent H5Dwrite of hyperslabs, which the MPI-IO driver
 *    turns into MPI_File_write_at straight to the file: no chunk cache in read/write mode, no sieve buffer),
 *    so no metadata can be left half-written;
 *  - an image's done flag is written after every other row of that image, by a later write call;
 *  - finish only overwrites fixed-size attributes and raw data that exist since creation, and sets
 *    finished = 1 after a flush of the summary. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "results_internal.h"

/* ------------------------------------------------------------------ agreement between ranks */

/* Every rank learns whether any rank failed; the first failing rank's error is given to all. */
static adx_status agree(MPI_Comm comm, adx_status s, adx_error *err) {
  if (comm == MPI_COMM_NULL) return s;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine = s != ADX_OK ? rank : size, first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return ADX_OK;
  adx_error local = {0};
  adx_error *e = err ? err : &local;
  int code = (int)s;
  MPI_Bcast(&code, 1, MPI_INT, first, comm);
  MPI_Bcast(e->msg, (int)sizeof e->msg, MPI_CHAR, first, comm);
  e->code = (adx_status)code;
  return (adx_status)code;
}

static adx_status bcast_bytes(MPI_Comm comm, void *buf, int64_t n) {
  if (comm == MPI_COMM_NULL) return ADX_OK;
  for (int64_t off = 0; off < n; off += 1 << 30) {
    int64_t c = n - off < (1 << 30) ? n - off : (1 << 30);
    MPI_Bcast((char *)buf + off, (int)c, MPI_BYTE, 0, comm);
  }
  return ADX_OK;
}

static int comm_rank(MPI_Comm comm) {
  int rank = 0;
  if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
  return rank;
}

/* ------------------------------------------------------------------ opening for writing */

/* Open an existing complete file for writing: MPI-IO over comm, or the serial driver if comm is NULL. */
static adx_status open_write(const char *path, MPI_Comm comm, adx_results **out, adx_error *err) {
  *out = NULL;
  adx_results *r = adx_results_handle_new(path);
  adx_status s = agree(comm, r ? ADX_OK : adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path), err);
  if (s) {
    adx_results_handle_free(r);
    return s;
  }
  if (comm != MPI_COMM_NULL) {
    MPI_Comm_dup(comm, &r->comm);
    MPI_Comm_rank(r->comm, &r->rank);
    MPI_Comm_size(r->comm, &r->size);
    r->parallel = 1;
  }
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (r->parallel) {
    MPI_Info info;
    MPI_Info_create(&info);
    /* no read-modify-write data sieving of independent writes: ranks write neighbouring bytes */
    MPI_Info_set(info, "romio_ds_write", "disable");
    H5Pset_fapl_mpio(fapl, r->comm, info);
    MPI_Info_free(&info);
  } else {
    H5Pset_sieve_buf_size(fapl, 0);  /* small raw writes go straight to the file */
    H5Pset_file_locking(fapl, 0, 1); /* as the reader: same-process opens must agree */
  }
  r->file = H5Fopen(path, H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (r->file < 0) s = adx_results_h5fail(err, path, "cannot open for writing");
  s = agree(r->comm, s, err);
  if (!s) s = agree(r->comm, adx_results_load_meta(r, err), err);
  if (!s) {
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    H5Pset_chunk_cache(dapl, 0, 0, 1.0); /* no raw-data chunk cache: a written image is in the file */
    s = agree(r->comm, adx_results_open_datasets(r, dapl, err), err);
    H5Pclose(dapl);
  }
  if (s) {
    adx_results_close(r);
    return s;
  }
  r->writable = 1;
  *out = r;
  return ADX_OK;
}

/* Rank 0: classify an existing file for the refusal message. */
static adx_status refuse_existing(const char *path, adx_error *err) {
  adx_results *old = NULL;
  adx_error e2 = {0};
  if (adx_results_open_read(path, &old, &e2) != ADX_OK)
    return adx_fail(err, ADX_ERR_ARG, "%s exists and is not an adx results file; use --force to overwrite",
                    path);
  int fin = old->meta.finished;
  adx_results_close(old);
  if (fin) return adx_fail(err, ADX_ERR_ARG, "%s exists (finished run); use --force to overwrite", path);
  return adx_fail(err, ADX_ERR_ARG,
                  "%s exists (unfinished run); use --resume to complete it or --force to overwrite", path);
}

/* Rank 0: build the file as PATH.creating and rename it into place. */
static adx_status build_and_rename(const char *path, const adx_run_info *run, adx_error *err) {
  /* adx creates the file, never its folder: say so plainly rather than through HDF5's message */
  adx_status s = adx_results_check_folder(path, err);
  if (s) return s;
  size_t len = strlen(path) + 16;
  char *tmp = malloc(len);
  if (!tmp) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  snprintf(tmp, len, "%s.creating", path);
  s = adx_results_build_file(tmp, path, run, err);
  if (!s && rename(tmp, path) != 0)
    s = adx_fail(err, ADX_ERR_IO, "%s: cannot move %s into place: %s", path, tmp, strerror(errno));
  if (s) unlink(tmp);
  free(tmp);
  return s;
}

adx_status adx_results_create(const char *path, const adx_run_info *run, MPI_Comm comm, int force,
                              adx_results **out, adx_error *err) {
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  *out = NULL;
  double t0 = adx_now();
  adx_status s = adx_results_check_run(path, run, err);
  adx_results_writer_lock *lock = NULL;
  if (!s && comm_rank(comm) == 0) {
    /* the writer's lock first: a job refused here has not touched PATH */
    s = adx_results_check_folder(path, err);
    if (!s) s = adx_results_lock(path, &lock, err);
    struct stat st;
    if (!s && !force && stat(path, &st) == 0) s = refuse_existing(path, err);
    if (!s) s = build_and_rename(path, run, err);
  }
  s = agree(comm, s, err);
  if (!s) s = open_write(path, comm, out, err);
  if (!s) {
    (*out)->t_start = t0;
    (*out)->lock = lock;
  } else {
    adx_results_unlock(lock);
  }
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_open_resume(const char *path, const adx_run_info *run, MPI_Comm comm, int force,
                                   adx_results **out, int64_t **todo, int64_t *ntodo, adx_error *err) {
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  *out = NULL;
  *todo = NULL;
  *ntodo = 0;
  double t0 = adx_now();
  adx_status s = adx_results_check_run(path, run, err);
  uint8_t *done = s ? NULL : adx_calloc((size_t)run->n);
  if (!s && !done) s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  adx_results_writer_lock *lock = NULL;
  if (!s && comm_rank(comm) == 0) {
    /* the writer's lock first: a job refused here has not touched PATH */
    s = adx_results_check_folder(path, err);
    if (!s) s = adx_results_lock(path, &lock, err);
    struct stat st;
    if (!s && stat(path, &st) != 0) {
      s = build_and_rename(path, run, err); /* nothing to resume: start the run */
    } else if (!s) {
      adx_results *old = NULL;
      s = adx_results_open_read(path, &old, err);
      if (!s) s = adx_results_compare_run(old, run, err);
      if (!s && old->meta.finished && !force)
        s = adx_fail(err, ADX_ERR_ARG,
                     "%s is a finished run; nothing to resume (use --force to reopen it, or --force without "
                     "--resume to overwrite it)",
                     path);
      if (!s) s = adx_results_read_done(old, done, err);
      adx_results_close(old);
    }
  }
  s = agree(comm, s, err);
  if (!s) bcast_bytes(comm, done, run->n);
  if (!s) s = open_write(path, comm, out, err);
  if (s)
    adx_results_unlock(lock);
  else
    (*out)->lock = lock; /* released by adx_results_close, also on the failure below */
  if (!s) {
    int64_t n = 0;
    for (int64_t i = 0; i < run->n; i++) n += !done[i];
    int64_t *t = n ? adx_alloc((size_t)n * sizeof *t) : NULL;
    if (n && !t) s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for the resume list", path);
    s = agree((*out)->comm, s, err);
    if (s) {
      adx_free(t);
      adx_results_close(*out);
      *out = NULL;
    } else {
      for (int64_t i = 0, j = 0; i < run->n; i++)
        if (!done[i]) t[j++] = i;
      *todo = t;
      *ntodo = n;
      (*out)->t_start = t0;
    }
  }
  adx_free(done);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_set_durable(adx_results *r, int on, adx_error *err) {
  if (!r || !r->writable) return adx_fail(err, ADX_ERR_ARG, "results: file not open for writing");
  if (!on) {
    if (r->durable_fd >= 0) close(r->durable_fd);
    r->durable_fd = -1;
    return ADX_OK;
  }
  if (r->durable_fd >= 0) return ADX_OK;
  r->durable_fd = open(r->path, O_RDONLY | O_CLOEXEC);
  if (r->durable_fd < 0)
    return adx_fail(err, ADX_ERR_IO, "%s: cannot open for fsync: %s", r->path, strerror(errno));
  return ADX_OK;
}

/* ------------------------------------------------------------------ writing images */

typedef struct write_bufs {
  int64_t *i64;
  int32_t *i32;
  float *f32; /* count * ADX_ROB_K */
  uint8_t *u8;
} write_bufs;

static const adx_image_result **sorted_images(const adx_image_result *imgs, int64_t count) {
  const adx_image_result **p = malloc((size_t)count * sizeof *p);
  if (!p) return NULL;
  for (int64_t i = 0; i < count; i++) p[i] = &imgs[i];
  /* insertion sort: batches are small and usually nearly sorted */
  for (int64_t i = 1; i < count; i++) {
    const adx_image_result *x = p[i];
    int64_t j = i;
    for (; j > 0 && p[j - 1]->slot > x->slot; j--) p[j] = p[j - 1];
    p[j] = x;
  }
  return p;
}

static adx_status check_image(const adx_results *r, const adx_image_result *im, adx_error *err) {
  if (im->slot < 0 || im->slot >= r->meta.n)
    return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld outside 0..%lld", r->path, (long long)im->slot,
                    (long long)r->meta.n - 1);
  if (!im->responsibility || !im->explanation || !im->metrics)
    return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld lacks responsibility, explanation or metrics",
                    r->path, (long long)im->slot);
  for (int m = 0; m < r->meta.nmodes; m++)
    if (!im->responsibility[m] || !im->explanation[m])
      return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld lacks the maps of mode '%s'", r->path,
                      (long long)im->slot, r->meta.modes[m]);
  if (r->meta.has_masks && !im->object_mask)
    return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld lacks its object mask (the run has masks)",
                    r->path, (long long)im->slot);
  return ADX_OK;
}

/* Write rows of the images p[0..cnt) (sorted by slot) in ONE H5Dwrite: the file selection is the union of
 * the runs of consecutive slots, the memory buffer holds the rows in slot order. One write call per
 * dataset and flush, however scattered the slots: that is what makes the buffer pay on a parallel file
 * system (docs/scaling.md). */
static adx_status rows_set(adx_results *r, hid_t ds, hid_t memtype, const adx_image_result *const *p,
                           int64_t cnt, int64_t row_elems, const void *buf, const char *what,
                           adx_error *err) {
  hid_t fs = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(fs);
  hsize_t dims[4] = {0, 0, 0, 0};
  if (nd >= 1 && nd <= 4) H5Sget_simple_extent_dims(fs, dims, NULL);
  herr_t e = H5Sselect_none(fs);
  for (int64_t i = 0, j; i < cnt && e >= 0; i = j) {
    for (j = i + 1; j < cnt && p[j]->slot == p[j - 1]->slot + 1; j++) continue;
    hsize_t start[4] = {(hsize_t)p[i]->slot, 0, 0, 0}, c[4] = {(hsize_t)(j - i), dims[1], dims[2], dims[3]};
    (void)nd;
    e = H5Sselect_hyperslab(fs, H5S_SELECT_OR, start, NULL, c, NULL);
  }
  hsize_t melems = (hsize_t)(cnt * row_elems);
  hid_t ms = H5Screate_simple(1, &melems, NULL);
  errno = 0;
  if (e >= 0) e = H5Dwrite(ds, memtype, ms, fs, H5P_DEFAULT, buf);
  adx_status s = ADX_OK;
  if (e < 0) {
    char msg[200];
    snprintf(msg, sizeof msg, "writing %s of images %lld..%lld (%lld images)", what, (long long)p[0]->slot,
             (long long)p[cnt - 1]->slot, (long long)cnt);
    s = adx_results_h5fail(err, r->path, msg);
  }
  H5Sclose(ms);
  H5Sclose(fs);
  return s;
}

/* The one-dimensional rows (and robustness_at_k) of images p[0..cnt). */
static adx_status write_rows(adx_results *r, const adx_image_result *const *p, int64_t cnt, write_bufs *b,
                             adx_error *err) {
  adx_status s;
  for (int64_t i = 0; i < cnt; i++) b->i64[i] = p[i]->index;
  if ((s = rows_set(r, r->d_index, H5T_NATIVE_INT64, p, cnt, 1, b->i64, "/images/index", err))) return s;
  for (int64_t i = 0; i < cnt; i++) b->i32[i] = p[i]->label;
  if ((s = rows_set(r, r->d_label, H5T_NATIVE_INT32, p, cnt, 1, b->i32, "/images/label", err))) return s;
  for (int64_t i = 0; i < cnt; i++) b->i32[i] = p[i]->pred;
  if ((s = rows_set(r, r->d_pred, H5T_NATIVE_INT32, p, cnt, 1, b->i32, "/images/pred", err))) return s;
  for (int64_t i = 0; i < cnt; i++) b->f32[i] = p[i]->conf;
  if ((s = rows_set(r, r->d_conf, H5T_NATIVE_FLOAT, p, cnt, 1, b->f32, "/images/conf", err))) return s;
  for (int64_t i = 0; i < cnt; i++) b->u8[i] = p[i]->flags;
  if ((s = rows_set(r, r->d_flags, H5T_NATIVE_UINT8, p, cnt, 1, b->u8, "/images/flags", err))) return s;
  for (int m = 0; m < r->meta.nmodes; m++) {
    adx_results_mode_ds *d = &r->m[m];
    for (int j = 0; j < ADX_RESULTS_NFLOAT; j++) {
      if (d->scal[j] < 0) continue; /* not in the file (--no-metrics) */
      for (int64_t i = 0; i < cnt; i++)
        b->f32[i] = *(const float *)((const char *)&p[i]->metrics[m] + adx_results_float_offset[j]);
      if ((s = rows_set(r, d->scal[j], H5T_NATIVE_FLOAT, p, cnt, 1, b->f32, adx_results_scalar_names[j],
                        err)))
        return s;
    }
    for (int64_t i = 0; i < cnt; i++) b->i64[i] = p[i]->metrics[m].queries;
    if ((s = rows_set(r, d->queries, H5T_NATIVE_INT64, p, cnt, 1, b->i64, "queries", err))) return s;
    for (int64_t i = 0; i < cnt; i++)
      memcpy(b->f32 + i * ADX_ROB_K, p[i]->metrics[m].robustness_at_k, sizeof(float) * ADX_ROB_K);
    if (d->rob_k >= 0 &&
        (s = rows_set(r, d->rob_k, H5T_NATIVE_FLOAT, p, cnt, ADX_ROB_K, b->f32, "robustness_at_k", err)))
      return s;
    if (d->judges >= 0) { /* the judge matrix (a file made with --judges all) */
      const int64_t jn = ADX_ROB_K * ADX_NJUDGES * 2;
      float *jb = malloc((size_t)(cnt * jn) * sizeof(float));
      if (!jb) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for the judges", r->path);
      for (int64_t i = 0; i < cnt; i++)
        memcpy(jb + i * jn, p[i]->metrics[m].judges, sizeof(float) * (size_t)jn);
      s = rows_set(r, d->judges, H5T_NATIVE_FLOAT, p, cnt, jn, jb, "judges", err);
      free(jb);
      if (s) return s;
    }
  }
  return ADX_OK;
}

adx_status adx_results_write_images(adx_results *r, const adx_image_result *imgs, int64_t count,
                                    adx_error *err) {
  if (!r || !r->writable || r->file < 0)
    return adx_fail(err, ADX_ERR_ARG, "results: file not open for writing");
  if (count <= 0) return ADX_OK;
  if (!imgs) return adx_fail(err, ADX_ERR_ARG, "%s: no images to write", r->path);
  for (int64_t i = 0; i < count; i++) {
    adx_status s = check_image(r, &imgs[i], err);
    if (s) return s;
  }
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  const adx_image_result **p = sorted_images(imgs, count);
  int64_t hw = (int64_t)r->meta.h * r->meta.w;
  write_bufs b = {malloc((size_t)count * sizeof(int64_t)), malloc((size_t)count * sizeof(int32_t)),
                  malloc((size_t)count * ADX_ROB_K * sizeof(float)), malloc((size_t)count)};
  /* the maps of one mode for all images, contiguous (one write per mode and map) */
  float *maps = count > 1 ? malloc((size_t)count * (size_t)hw * sizeof(float)) : NULL;
  uint8_t *masks = count > 1 ? malloc((size_t)count * (size_t)hw) : NULL;
  adx_status s = ADX_OK;
  if (!p || !b.i64 || !b.i32 || !b.f32 || !b.u8 || (count > 1 && (!maps || !masks))) {
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for %lld images", r->path, (long long)count);
    goto out;
  }
  for (int64_t i = 1; i < count; i++)
    if (p[i]->slot == p[i - 1]->slot) {
      s = adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld given twice in one write", r->path,
                   (long long)p[i]->slot);
      goto out;
    }
  /* 1. one-dimensional rows */
  s = write_rows(r, p, count, &b, err);
  /* 2. the maps: one chunk per image and mode, one write call per mode and map */
  for (int m = 0; m < r->meta.nmodes && !s; m++) {
    const void *rb = p[0]->responsibility[m], *eb = p[0]->explanation[m];
    if (count > 1) {
      for (int64_t i = 0; i < count; i++) {
        memcpy(maps + i * hw, p[i]->responsibility[m], (size_t)hw * sizeof(float));
        memcpy(masks + i * hw, p[i]->explanation[m], (size_t)hw);
      }
      rb = maps, eb = masks;
    }
    s = rows_set(r, r->m[m].resp, H5T_NATIVE_FLOAT, p, count, hw, rb, "responsibility", err);
    if (!s) s = rows_set(r, r->m[m].expl, H5T_NATIVE_UINT8, p, count, hw, eb, "explanation", err);
  }
  /* ground truth: object masks and the ground-truth rows (runs with masks), before the fsync */
  if (!s) s = adx_results_gt_write(r, p, count, rows_set, err);
  if (!s && r->durable_fd >= 0 && fsync(r->durable_fd) != 0)
    s = adx_fail(err, ADX_ERR_IO, "%s: fsync: %s", r->path, strerror(errno));
  /* 3. only now the done flags */
  memset(b.u8, 1, (size_t)count);
  if (!s) s = rows_set(r, r->d_done, H5T_NATIVE_UINT8, p, count, 1, b.u8, "/images/done", err);
out:
  free(p);
  free(b.i64), free(b.i32), free(b.f32), free(b.u8);
  free(maps), free(masks);
  adx_results_quiet_end(&q);
  return s;
}

adx_status adx_results_write_image(adx_results *r, const adx_image_result *img, adx_error *err) {
  return adx_results_write_images(r, img, 1, err);
}

/* ------------------------------------------------------------------ finish and close */

adx_status adx_results_finish(adx_results *r, adx_error *err) {
  if (!r) return adx_fail(err, ADX_ERR_ARG, "results: no file to finish");
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  adx_status s =
      r->writable && r->file >= 0 ? ADX_OK : adx_fail(err, ADX_ERR_ARG, "%s: not open for writing", r->path);
  s = agree(r->comm, s, err);
  if (s) goto out;
  if (r->durable_fd >= 0) close(r->durable_fd);
  r->durable_fd = -1;
  /* every rank's raw data is in the file once the collective close returns */
  adx_results_close_file(r);
  free(r->m);
  r->m = NULL;
  r->writable = 0;
  if (r->comm != MPI_COMM_NULL) MPI_Barrier(r->comm);
  if (r->rank == 0) {
    /* the summary is written by one process with the serial driver: no collective metadata to coordinate */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    errno = 0;
    r->file = H5Fopen(r->path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    if (r->file < 0) s = adx_results_h5fail(err, r->path, "reopening to write the summary");
    if (!s) s = adx_results_open_datasets(r, H5P_DEFAULT, err);
    if (!s) s = adx_results_write_summary(r, err);
    adx_results_close_file(r);
    free(r->m);
    r->m = NULL;
  }
  s = agree(r->comm, s, err);
out:
  adx_results_quiet_end(&q);
  return s;
}

void adx_results_close(adx_results *r) {
  if (!r) return;
  adx_results_quiet q;
  adx_results_quiet_begin(&q);
  if (r->durable_fd >= 0) close(r->durable_fd);
  r->durable_fd = -1;
  adx_results_close_file(r);
  if (r->comm != MPI_COMM_NULL) MPI_Comm_free(&r->comm);
  adx_results_unlock(r->lock); /* after the file is closed on every rank */
  adx_results_handle_free(r);
  adx_results_quiet_end(&q);
}
