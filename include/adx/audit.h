/* adx audit: a dataset audit. Every selected image of a dataset is explained in every mode (AD and fill
 * values), judged by the metrics and written to one results file. One process or many MPI ranks: ranks
 * draw images from a shared counter (adx/dist.h), threads work inside each rank. The layer between
 * explain/metrics/io/dist and the command line: `adx explain` parses its options into adx_audit_options
 * and calls adx_audit_run. */
#ifndef ADX_AUDIT_H
#define ADX_AUDIT_H

#include <signal.h>
#include <stdio.h>

#include "adx/ad.h"
#include "adx/dataset.h"
#include "adx/dist.h"
#include "adx/explain.h"
#include "adx/io.h"
#include "adx/metrics.h"
#include "adx/model.h"

typedef struct adx_audit_options {
  const char *model;       /* ONNX model file */
  const char *data;        /* dataset (adx_dataset_open: IDX, class folders, HDF5, list file) */
  const char *out;         /* results file */
  const char *config_text; /* the effective settings, recorded in the file (a resume compares them) */
  adx_preproc pp;          /* scale, mean and std not given fall back to the model's metadata_props */
  adx_explainer x;
  adx_metrics_params mp;
  int nmodes;
  const adx_mode *modes;            /* [nmodes], none of them plain */
  const char *const *mode_names;    /* [nmodes], the names written to the file */
  const char *const *mode_variants; /* [nmodes], what each mode computes (adx_mode_str), or NULL */
  int64_t limit, offset, sample;    /* image selection, as adx_dataset_select */
  int64_t backgrounds;              /* dataset images kept as context backgrounds (default 100) */
  uint64_t seed;                    /* run seed; per-image seeds derive from it and the image index */
  int threads;                      /* OpenMP threads per rank as recorded (0: adx_threads_get) */
  int batch;                        /* mutants per engine call (default 64) */
  int judges;                       /* 1: the judge matrix per image and mode (--judges all, default) */
  int no_metrics;                   /* 1: explanations only (--no-metrics): no metric, judge or ground-truth
                                       query or value; size, seconds and queries are still recorded */
  int resume, force;                /* as adx_results_open_resume / adx_results_create */
  adx_model_limits model_limits;    /* default adx_model_limits_default */
  adx_dataset_limits data_limits;   /* default: the dataset defaults */
  MPI_Comm comm;                    /* default MPI_COMM_WORLD; MPI must be initialised */
  adx_schedule sched;               /* image distribution (default dynamic) */
  int64_t chunk;                    /* images per draw from the counter (default 1) */
  int flush_images;                 /* write buffer: flush every N images (ADX_FLUSH_IMAGES_DEFAULT) */
  double flush_seconds;             /* ... or when the oldest waited S s (ADX_FLUSH_SECONDS_DEFAULT) */
  adx_progress_style progress;      /* rank 0's progress on log */
  FILE *log;                        /* the run line, progress, a failing rank's last words (default stderr) */
  const char *name;                 /* prefix of the log lines (default "adx audit") */
  const volatile sig_atomic_t
      *stop; /* non-zero (a signal arrived): stop after the current image; may be NULL */
} adx_audit_options;

/* The defaults above; the caller sets model, data, out, config_text and the modes. */
void adx_audit_options_default(adx_audit_options *o);

/* Collective over o->comm. Load the model and dataset, explain every selected image not yet done in every
 * mode, write each image as it completes, then finish the file (its /summary). Every rank returns the
 * same outcome for setup failures. A rank that fails mid-run prints why on o->log and aborts the job
 * (MPI_Abort): the file keeps every image marked done, and a rerun with resume = 1 completes it. A stop
 * request finishes the file unfinished and returns ADX_ERR_RUNTIME. */
adx_status adx_audit_run(const adx_audit_options *o, adx_error *err);

#endif
