/* Shared between dataset.c (opening, idx/folder/list sources, selection) and dataset_h5.c (HDF5 source).
 * Not a public header. */
#ifndef ADX_DATASET_INTERNAL_H
#define ADX_DATASET_INTERNAL_H

#include "adx/dataset.h"

typedef struct adx_dataset_h5 adx_dataset_h5;

struct adx_dataset {
  const char *kind; /* "idx", "folder", "hdf5", "list" */
  char *path;
  adx_preproc pp;
  int C, H, W;
  adx_dataset_limits lim;
  int64_t n;
  int32_t *labels; /* [n], or NULL: every label -1 */
  int nclasses;
  char **classes;          /* folder: [nclasses] */
  char **files;            /* folder, list: [n] */
  adx_idx idx;             /* idx: the images */
  int src_c, src_h, src_w; /* idx, hdf5: size of every stored image */
  float *hwc;              /* idx, hdf5: one stored image as read (H*W*C floats, channels last) */
  adx_image src;           /* idx, hdf5: the same planar (CHW), input of the geometry stage */
  adx_dataset_h5 *h5;
  /* object masks (idx, hdf5), or has_masks 0 */
  int has_masks;
  char *mask_source; /* "FILE" or "FILE:/masks" */
  adx_idx mask_idx;  /* idx: the masks */
  uint8_t *mask_src; /* one stored mask (src_h * src_w) */
};

/* HDF5 source: check the file and fill n, src_*, labels, h5 (d->path is set). */
adx_status adx_dataset_h5_open(adx_dataset *d, adx_error *err);
/* Read stored image i as float, channels last, into d->hwc. */
adx_status adx_dataset_h5_read(adx_dataset *d, int64_t i, adx_error *err);
void adx_dataset_h5_close(adx_dataset *d);
/* HDF5 source: look for /masks (after adx_dataset_h5_open); sets has_masks and checks its shape. */
adx_status adx_dataset_h5_open_masks(adx_dataset *d, adx_error *err);
/* Read stored mask i (nonzero -> 1) into d->mask_src. */
adx_status adx_dataset_h5_read_mask(adx_dataset *d, int64_t i, adx_error *err);

#endif
