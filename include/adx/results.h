/* adx results store: one HDF5 file per audit run, written through parallel HDF5 (MPI-IO) by any number
 * of ranks, readable by any HDF5 tool. The schema, the crash-safety design and the resume rules are in
 * docs/output-format.md (authoritative).
 *
 * Life of a run:
 *   adx_results_create (or adx_results_open_resume)   collective over comm
 *   adx_results_write_images ...                      independent: each rank writes the images it computed
 *   adx_results_finish                                collective: summary, finished=1, file closed
 *   adx_results_close                                 collective while the file is open
 * The file survives SIGKILL of any rank at any moment: every object is created up front, the run then only
 * writes raw data, and an image's done flag is written after all of its data.
 *
 * HDF5 here is not thread-safe: call these functions from one thread per rank.
 *
 * This header is what a reader or a writer of an open file needs, with no MPI in it. The two calls that
 * take a communicator and give a writable handle (create, open_resume) are in adx/results_mpi.h. */
#ifndef ADX_RESULTS_H
#define ADX_RESULTS_H

#include "adx/core.h"
#include "adx/record.h"

/* /images/flags bits */
#define ADX_RESULTS_FLAG_MISCLASSIFIED 0x01u /* the explained class is the prediction, not the label */

/* Per-image scalar metrics, in /modes/<mode>/ and /summary/<mode>/ (robustness_at_k columns follow). */
#define ADX_RESULTS_NSCALAR 9 /* size .. seconds (float32) and queries (int64) */
#define ADX_RESULTS_NMETRICS (ADX_RESULTS_NSCALAR + ADX_ROB_K)

typedef struct adx_results adx_results;

/* What a run is. Strings may be NULL (stored as ""). */
typedef struct adx_run_info {
  const char *model_path, *model_sha256, *data_path, *config_text, *explainer;
  int nmodes;
  const char *const *modes;    /* e.g. "ad", "fill:zero"; unique, not starting with "ad_vs_" */
  const char *const *variants; /* [nmodes] what each mode computed, e.g. "ad:ratio:0.5:all:none:every"
                                  (attribute mode_variants; checked on resume); NULL: the modes as given */
  uint64_t seed;
  int ranks, threads_per_rank; /* recorded only (not checked on resume) */
  int64_t n;                   /* images in the run */
  int h, w, nclasses;          /* model input size; number of classes */
  const float *rob_k;          /* ADX_ROB_K robustness@k values in percent; NULL = 5, 10, 20, 40 */
  int judges;                  /* 1: /modes/<mode>/judges and /summary/<mode>/judges_* exist; 0: left
                                  out. A resume keeps the file's choice: a file without them is resumed
                                  without them, one with them refuses a run with 0 */
  int has_masks;  /* 1: the dataset has object masks: /images/object_mask and the ground-truth datasets are
                     made (root attribute has_masks; checked on resume) */
  int no_metrics; /* 1: explanations only (adx explain --no-metrics): of the per-image metrics only size,
                     seconds and queries exist, and no robustness@k, judge matrix, ground truth or ad_vs
                     comparison (root attribute no_metrics; judges and has_masks must then be 0; checked
                     on resume and by adx merge) */
} adx_run_info;

/* Everything about one image. The per-mode arrays are indexed like run->modes. */
typedef struct adx_image_result {
  int64_t slot;                       /* row in the file, 0..N-1 */
  int64_t index;                      /* position in the dataset */
  int32_t label;                      /* -1 where unknown */
  int32_t pred;                       /* plain top-1 */
  float conf;                         /* plain top-1 probability */
  uint8_t flags;                      /* ADX_RESULTS_FLAG_* */
  const float *const *responsibility; /* [nmodes] -> [H*W] */
  const uint8_t *const *explanation;  /* [nmodes] -> [H*W], 1 = pixel in the explanation */
  const adx_metrics *metrics;         /* [nmodes] (metrics[m].gt: ground truth, when the run has masks) */
  const uint8_t *object_mask;         /* [H*W] 0/1, required when the run has masks, else ignored */
  adx_gt centre;                      /* the centre control's ground truth (when the run has masks) */
} adx_image_result;

/* The run attributes of an open file (strings owned by the handle). */
typedef struct adx_results_meta {
  char *adx_version, *created, *model_path, *model_sha256, *data_path, *config_text, *explainer;
  int nmodes;
  char **modes;
  char **variants; /* [nmodes] the full variant of each mode: attribute mode_variants, or for a file
                      written before isolating AD (no such attribute) the variant its name meant then */
  uint64_t seed;
  int ranks, threads_per_rank, finished;
  int64_t n;
  int h, w, nclasses;
  float rob_k[ADX_ROB_K];
  int ad_mode;          /* index of the AD reference mode ("ad" or "ad:..."; the first one), -1 if none */
  double wall_seconds;  /* wall time of the session that last ran finish; NaN if none did (or older file) */
  char finished_at[21]; /* UTC time of that finish, "YYYY-MM-DDTHH:MM:SSZ"; "" if none */
  int judges;           /* 1: the file has the judge matrix (/modes/<mode>/judges); 0: not (--judges none,
                           or a file made before cross-judging), its values then read as NaN */
  int has_masks;        /* root attribute has_masks (0 when absent: files written before ground truth) */
  int no_metrics;       /* root attribute no_metrics: 1 when the run skipped the metrics (--no-metrics);
                           0 when absent (files written before the option) */
} adx_results_meta;

/* Write images (independent: no other rank takes part). Every dataset row of each image is written, then
 * the done flags. Slots must be distinct and in range; they need not be sorted or contiguous. */
adx_status adx_results_write_images(adx_results *r, const adx_image_result *imgs, int64_t count,
                                    adx_error *err);
adx_status adx_results_write_image(adx_results *r, const adx_image_result *img, adx_error *err);

/* A bounded per-rank write buffer (results_buffer.c; docs/scaling.md): images are copied in and written
 * together by adx_results_write_images when max_images are held, when the oldest has waited max_seconds
 * (checked at each add), and at flush. Flush before adx_results_finish (at the end of the work and after
 * a SIGTERM); free does not flush. A SIGKILL loses only the images held: their done flags are still 0,
 * so --resume redoes them. Memory: max_images x modes x H x W x 5 bytes. */
#define ADX_FLUSH_IMAGES_DEFAULT 16
#define ADX_FLUSH_SECONDS_DEFAULT 60.0
typedef struct adx_results_buffer adx_results_buffer;
adx_status adx_results_buffer_create(adx_results *r, int max_images, double max_seconds,
                                     adx_results_buffer **out, adx_error *err);
adx_status adx_results_buffer_add(adx_results_buffer *b, const adx_image_result *img, adx_error *err);
adx_status adx_results_buffer_flush(adx_results_buffer *b, adx_error *err);
int adx_results_buffer_held(const adx_results_buffer *b);
/* Flushes done so far and the images they wrote. */
void adx_results_buffer_stats(const adx_results_buffer *b, int64_t *flushes, int64_t *images);
void adx_results_buffer_free(adx_results_buffer *b);

/* Durable mode: fsync the file after the data of each write call and before its done flags, so that the
 * order also holds across a machine crash (not only a process kill). Off by default. Library API for
 * programs that write results files themselves (docs/output-format.md); the adx command does not use it. */
adx_status adx_results_set_durable(adx_results *r, int on, adx_error *err);

/* Collective: compute the summary over the images whose done flag is set, write /summary, record
 * wall_seconds (rank 0's time since this handle's create/open_resume began) and finished_at, set
 * finished = 1 if every image is done (else leave it 0), and close the file. Only adx_results_close may
 * follow. */
adx_status adx_results_finish(adx_results *r, adx_error *err);

/* Collective: note every rank's host name (MPI_Get_processor_name). finish then writes them as the root
 * attribute `hosts` ("RANK HOST" lines), next to `build_cpu` (the CPU features adx was compiled for), which
 * finish always writes. Both describe the session that last finished, like wall_seconds. */
adx_status adx_results_record_hosts(adx_results *r, adx_error *err);

/* Close and free (collective while a parallel file is open). NULL is fine. */
void adx_results_close(adx_results *r);

/* Merge finished results files of one audit split by --offset/--limit (a job array) into OUT, images
 * sorted by dataset index (results_merge.c). ADX_ERR_ARG with the reason for an unfinished or foreign
 * input, inputs from different models or settings, overlapping inputs, an existing OUT without force, or
 * an OUT that another adx job is writing (the lock of adx_results_create). */
adx_status adx_results_merge(const char *out, const char *const *in, int nin, int force, adx_error *err);

/* ---- reading (serial: no MPI needed; works on the file of a killed run) ---- */

adx_status adx_results_open_read(const char *path, adx_results **out, adx_error *err);
const adx_results_meta *adx_results_get_meta(const adx_results *r);
/* Mode index by name, or -1. */
int adx_results_mode_index(const adx_results *r, const char *mode);
/* Name of metric i (0 <= i < ADX_RESULTS_NMETRICS): "size", ..., "queries", "robustness_at_k/k=5", ... */
const char *adx_results_metric_name(const adx_results *r, int i);
/* 1 when metric i exists in the file: every metric, except in a file made with --no-metrics
 * (meta.no_metrics), which has only size, seconds and queries; 0 otherwise (also for i out of range). A
 * metric that does not exist reads as NaN (adx_results_read_column, adx_results_read_image). */
int adx_results_has_metric(const adx_results *r, int i);

/* done[N] */
adx_status adx_results_read_done(adx_results *r, uint8_t *done, adx_error *err);

typedef struct adx_image_record {
  int64_t slot, index;
  int32_t label, pred;
  float conf;
  uint8_t flags, done;
  int nmodes, h, w;
  float *responsibility; /* [nmodes][H][W] */
  uint8_t *explanation;  /* [nmodes][H][W] */
  adx_metrics *metrics;  /* [nmodes] (gt NaN when the run has no masks) */
  uint8_t *object_mask;  /* [H][W], or NULL when the run has no masks */
  adx_gt centre;         /* NaN when the run has no masks */
} adx_image_record;
/* Every dataset row of one image (rows of an image not done read as whatever was written, 0 if nothing). */
adx_status adx_results_read_image(adx_results *r, int64_t slot, adx_image_record *rec, adx_error *err);
void adx_image_record_free(adx_image_record *rec);

/* The /images columns for all N images; any pointer may be NULL (that column is not read). */
adx_status adx_results_read_images_columns(adx_results *r, int64_t *index, int32_t *label, int32_t *pred,
                                           double *conf, adx_error *err);
/* Responsibility maps of a mode, rows first .. first+count-1 ([count][H][W]). */
adx_status adx_results_read_responsibilities(adx_results *r, int mode, int64_t first, int64_t count,
                                             float *out, adx_error *err);

/* Metric column of a mode for all N images (as double). metric: a name of adx_results_metric_name; a metric
 * the file does not have (adx_results_has_metric 0: --no-metrics) gives NaN everywhere. */
adx_status adx_results_read_column(adx_results *r, int mode, const char *metric, double *out, adx_error *err);

/* The judge matrix of a mode for all N images: out[N][ADX_ROB_K][ADX_NJUDGES][2] (adx/record.h), as float.
 * A file without judges (meta.judges 0) gives NaN everywhere. */
adx_status adx_results_read_judges(adx_results *r, int mode, float *out, adx_error *err);
/* ---- ground truth (docs/metrics.md; present when meta.has_masks) ---- */
#define ADX_RESULTS_CENTRE (-1)         /* the "mode" of the centre control */
#define ADX_RESULTS_NGT (2 + ADX_ROB_K) /* pointing_game, energy_in_object, precision_at_k/k=... */
/* Name of ground-truth metric i (0 <= i < ADX_RESULTS_NGT): "pointing_game", "energy_in_object",
 * "precision_at_k/k=5", ...; NULL otherwise. */
const char *adx_results_gt_name(const adx_results *r, int i);
/* Ground-truth column of a mode (or ADX_RESULTS_CENTRE) for all N images (as double); all NaN when the run
 * has no masks (files written before ground truth too). */
adx_status adx_results_read_gt_column(adx_results *r, int mode, const char *metric, double *out,
                                      adx_error *err);
/* /images/object_mask rows first .. first+count-1 ([count][H][W]); ADX_ERR_ARG when the run has no masks. */
adx_status adx_results_read_object_masks(adx_results *r, int64_t first, int64_t count, uint8_t *out,
                                         adx_error *err);

/* Library API for programs that read a finished file's /summary (docs/output-format.md); adx's own summary
 * and report recompute from the columns so that they also cover files still in progress. */
/* /summary/<mode>/<metric>: statistics and, if per_class is not NULL, the per-class means [nclasses].
 * ADX_ERR_ARG "... not measured (--no-metrics)" for a metric the file does not have. */
adx_status adx_results_read_summary(adx_results *r, int mode, const char *metric, adx_summary *s,
                                    double *per_class, adx_error *err);

/* /summary/ad_vs_<mode>/<metric> (metric robustness_colour or robustness_context). */
adx_status adx_results_read_ad_vs(adx_results *r, int mode, const char *metric, adx_ad_vs *out,
                                  adx_error *err);

/* ---- /sanity: cascading model randomisation (adx sanity; results_sanity.c; docs/output-format.md) ---- */

typedef struct adx_results_sanity {
  int64_t n;                          /* images tested */
  int levels;                         /* L */
  const int64_t *slots;               /* [n] rows of the file */
  const char *const *level_names;     /* [L] the layer added at each level, top first */
  const float *const *responsibility; /* [nmodes] -> [n][L][H][W] maps of the randomised models */
  const double *const *spearman;      /* [nmodes] -> [n][L] rank correlation with the original map */
  uint64_t seed;                      /* the randomisation seed */
  const char *init;                   /* how the layers were re-initialised (a sentence) */
  int reproduced; /* 1: the unrandomised model gave the file's maps back bit for bit (first image) */
} adx_results_sanity;

/* Open a finished results file to add /sanity: take the writer's lock of adx_results_create (ADX_ERR_ARG
 * "PATH is in use by another adx job ..." while a job writes it), open it for reading, and refuse an
 * unfinished run (ADX_ERR_ARG). Read it with the calls above; adx_results_close releases the lock. */
adx_status adx_results_open_sanity(const char *path, adx_results **out, adx_error *err);
/* Write /sanity into a file opened by adx_results_open_sanity (serial HDF5; a /sanity group already there is
 * replaced). SIGINT, SIGTERM and SIGHUP wait until it is written. Only adx_results_close may follow. */
adx_status adx_results_write_sanity(adx_results *r, const adx_results_sanity *s, adx_error *err);
/* The sanity test's rank correlations of one mode, /sanity/<mode>/spearman: *out = [n][levels] (malloc'ed,
 * free()), level l = the top l+1 layers re-initialised. No /sanity in the file (or none for the mode): n = 0,
 * *out = NULL and ADX_OK. */
adx_status adx_results_read_sanity_spearman(adx_results *r, int mode, int64_t *n, int *levels, double **out,
                                            adx_error *err);

#endif
