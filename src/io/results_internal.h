/* Shared between results.c (life cycle, MPI), results_h5.c (layout, attributes, HDF5 helpers),
 * results_read.c (reader) and results_summary.c (statistics, /summary). Not a public header. */
#ifndef ADX_RESULTS_INTERNAL_H
#define ADX_RESULTS_INTERNAL_H

#include <hdf5.h>

#include "adx/results_mpi.h"

#define ADX_RESULTS_TIME_LEN 20     /* "YYYY-MM-DDTHH:MM:SSZ": the fixed-length root attribute finished_at */
#define ADX_RESULTS_BUILD_LEN 256   /* root attribute build_cpu (fixed length) */
#define ADX_RESULTS_HOSTS_LEN 16384 /* root attribute hosts (fixed length; longer lists end in "...") */
#define ADX_RESULTS_NFLOAT                                                                                   \
  8 /* float32 per-image metrics: size .. seconds; queries is metric ADX_RESULTS_NFLOAT */

typedef struct adx_results_mode_ds {
  hid_t resp, expl, scal[ADX_RESULTS_NFLOAT], queries, rob_k;
  hid_t judges;                  /* [N, ADX_ROB_K, ADX_NJUDGES, 2], H5I_INVALID_HID when the file has none */
  hid_t gt_pg, gt_energy, gt_pk; /* ground truth (results_gt.c), when the run has masks */
} adx_results_mode_ds;

struct adx_results {
  char *path;
  hid_t file;   /* H5I_INVALID_HID when closed */
  int parallel; /* opened with the MPI-IO driver over comm (collective close) */
  int writable;
  MPI_Comm comm; /* our duplicate of the caller's communicator, or MPI_COMM_NULL */
  int rank, size;
  adx_results_meta meta;
  char **group; /* escaped group name of each mode */
  hid_t d_index, d_label, d_pred, d_conf, d_flags, d_done;
  adx_results_mode_ds *m; /* [nmodes] */
  int durable_fd;         /* -1 unless durable */
  double t_start;         /* adx_now() when create/open_resume began (wall_seconds is measured from it) */
  char metric_names[ADX_RESULTS_NMETRICS][32];
  char *hosts;                     /* "RANK HOST" lines (adx_results_record_hosts, rank 0), or NULL */
  struct adx_results_lock_s *lock; /* rank 0 of a writer: PATH.lock, held until adx_results_close */
  /* ground truth (results_gt.c), when meta.has_masks: /images/object_mask and the centre control */
  hid_t d_mask, d_centre_pg, d_centre_energy, d_centre_pk;
  char gt_names[ADX_RESULTS_NGT][32];
};

extern const char *const adx_results_scalar_names[ADX_RESULTS_NSCALAR];
/* 1 for the metrics a --no-metrics run still has: size (0), seconds and queries (the last two scalars); the
 * metric index of adx_results_metric_name. */
static inline int adx_results_kept_without_metrics(int i) {
  return i == 0 || i == ADX_RESULTS_NSCALAR - 2 || i == ADX_RESULTS_NSCALAR - 1;
}
/* Whether metric i is in a run of that setting (adx_results_has_metric of a file). */
static inline int adx_results_metric_in_run(int no_metrics, int i) {
  return i >= 0 && i < ADX_RESULTS_NMETRICS && (!no_metrics || adx_results_kept_without_metrics(i));
}
extern const size_t
    adx_results_float_offset[ADX_RESULTS_NFLOAT]; /* offsetof(adx_metrics, ...) of the float metrics */

/* HDF5's automatic error printing is switched off for the duration of each public call. */
typedef struct adx_results_quiet {
  H5E_auto2_t func;
  void *data;
} adx_results_quiet;
void adx_results_quiet_begin(adx_results_quiet *q);
void adx_results_quiet_end(const adx_results_quiet *q);

/* Fail with "PATH: WHAT: <innermost HDF5 error>" (call right after the failing HDF5 call). */
adx_status adx_results_h5fail(adx_error *err, const char *path, const char *what);

/* Group name of a mode: '%' -> "%25", '/' -> "%2F", and "." / ".." -> "%2E" / "%2E%2E". */
void adx_results_escape(const char *mode, char *out, size_t len);

/* Allocate a handle with every hid invalid. */
adx_results *adx_results_handle_new(const char *path);
/* Close every dataset and the file (collective for a parallel file); the handle stays allocated. */
void adx_results_close_file(adx_results *r);
void adx_results_handle_free(adx_results *r);

/* Read the run attributes of an open file into r->meta and set up mode groups and metric names.
 * ADX_ERR_FORMAT "PATH is not an adx results file (...)" when attributes are missing. */
adx_status adx_results_load_meta(adx_results *r, adx_error *err);
/* Open every per-image dataset of r->file with access list dapl. */
adx_status adx_results_open_datasets(adx_results *r, hid_t dapl, adx_error *err);

/* Build a complete new file at path (serial HDF5, one process): attributes, every dataset at full size
 * with its space allocated, and the /summary skeleton. */
adx_status adx_results_build_file(const char *path, const char *shown, const adx_run_info *run,
                                  adx_error *err);

/* Check a run's description (before creating or comparing). */
adx_status adx_results_check_run(const char *path, const adx_run_info *run, adx_error *err);
/* First difference between the file's attributes and run -> ADX_ERR_ARG naming it. */
adx_status adx_results_compare_run(const adx_results *r, const adx_run_info *run, adx_error *err);

/* Attributes by name on an object (scalar unless said). */
adx_status adx_results_attr_write(hid_t obj, const char *name, hid_t memtype, const void *v, const char *path,
                                  adx_error *err);
adx_status adx_results_attr_read(hid_t obj, const char *name, hid_t memtype, void *v, const char *path,
                                 adx_error *err);

/* The writer's lock of PATH (results_lock.c): rank 0 takes it before PATH is created, resumed or
 * overwritten, and the handle holds it until adx_results_close. ADX_ERR_ARG "PATH is in use by another adx
 * job (host H, pid P, since T; lock file PATH.lock); ..." when another process holds it. *out stays NULL
 * when ADX_NO_LOCK=1. */
typedef struct adx_results_lock_s adx_results_writer_lock;
adx_status adx_results_lock(const char *path, adx_results_writer_lock **out, adx_error *err);
/* Remove PATH.lock (if it is still ours) and let go; NULL is a no-op. */
void adx_results_unlock(adx_results_writer_lock *lk);
/* ADX_ERR_ARG "PATH: cannot create: the folder D does not exist (create it first)" / "is not a folder". */
adx_status adx_results_check_folder(const char *path, adx_error *err);

/* Root attributes build_cpu and hosts (results_prov.c): rank 0, file open serially for writing. */
adx_status adx_results_write_provenance(adx_results *r, adx_error *err);

/* Compute the summary from the per-image datasets of r (opened serially, writable) and write /summary. */
adx_status adx_results_write_summary(adx_results *r, adx_error *err);

/* Read/write rows [first, first+count) of a dataset whose first dimension is the image. row_elems:
 * elements per row (1 for [N], K for [N,K], H*W for [N,H,W]). */
adx_status adx_results_rows(adx_results *r, hid_t ds, int write, hid_t memtype, int64_t first, int64_t count,
                            int64_t row_elems, void *buf, const char *what, adx_error *err);

/* ---- ground truth (results_gt.c) ---- */
/* Dataset names: /images/object_mask, /images/centre_<metric>, /modes/<mode>/<metric> with metric
 * pointing_game, energy_in_object (float32 [N]), precision_at_k (float32 [N,K], attribute k); the summary
 * groups /summary/<mode>/<name> and /summary/centre_control/<name> (adx_results_gt_name). */
#define ADX_RESULTS_CENTRE_GROUP "centre_control"
extern const char *const adx_results_gt_ds_names[3];
/* Open dataset DIR/NAME with access list dapl and check its shape is [n] + tail (rank dims). */
adx_status adx_results_open_dataset(adx_results *r, hid_t dapl, const char *dir, const char *name, int rank,
                                    const hsize_t *tail, hid_t *out, adx_error *err);
/* Set gt_names (after rob_k is known). */
void adx_results_gt_set_names(adx_results *r);
/* Mark the ground-truth hids of r and of its modes invalid (r->m allocated). */
void adx_results_gt_init(adx_results *r);
/* Open the ground-truth datasets when meta.has_masks (their shapes checked). */
adx_status adx_results_gt_open(adx_results *r, hid_t dapl, adx_error *err);
void adx_results_gt_close(adx_results *r);
/* Write the ground-truth rows of images p[0..cnt) (sorted by slot); no-op without masks. */
typedef adx_status (*adx_results_rows_fn)(adx_results *r, hid_t ds, hid_t memtype,
                                          const adx_image_result *const *p, int64_t cnt, int64_t row_elems,
                                          const void *buf, const char *what, adx_error *err);
adx_status adx_results_gt_write(adx_results *r, const adx_image_result *const *p, int64_t cnt,
                                adx_results_rows_fn rows_set, adx_error *err);
/* Read image slot's ground truth into rec (object_mask allocated) when the run has masks, else NaN. */
adx_status adx_results_gt_read_image(adx_results *r, int64_t slot, adx_image_record *rec, adx_error *err);
/* Write /summary's ground-truth groups from the columns (done: [n]; label, pred: [n]; col, x: 2n doubles;
 * pc, cnt: [nclasses]); no-op without masks. put_stats: the writer of one group's statistics. */
typedef adx_status (*adx_results_put_stats_fn)(adx_results *r, const char *gpath, const adx_summary *sm,
                                               const double *per_class, adx_error *err);
adx_status adx_results_gt_write_summary(adx_results *r, const uint8_t *done, const int32_t *label,
                                        const int32_t *pred, double *col, double *x, double *pc, int64_t *cnt,
                                        adx_results_put_stats_fn put_stats, adx_error *err);

#endif
