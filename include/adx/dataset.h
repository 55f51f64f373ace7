/* adx datasets: where the images of an audit come from. */
#ifndef ADX_DATASET_H
#define ADX_DATASET_H

#include "adx/core.h"

/* An IDX file (the MNIST / Fashion-MNIST format), gzipped or not, unsigned bytes only. */
typedef struct adx_idx {
  int ndim;
  int64_t dims[4];
  uint8_t *data; /* dims[0] x ... row-major */
} adx_idx;

/* Refuses files whose declared size exceeds max_bytes (0: 4 GiB) or disagrees with the data. */
adx_status adx_idx_load(const char *path, int64_t max_bytes, adx_idx *out, adx_error *err);
void adx_idx_free(adx_idx *x);
/* The labels file beside an images file: "...-images-idx3-ubyte[.gz]" -> "...-labels-idx1-ubyte[.gz]".
 * Returns 0 and fills buf if such a file exists, else -1. */
int adx_idx_labels_path(const char *images_path, char *buf, size_t len);

#endif
