/* adx datasets: where the images of an audit come from.
 *
 * Four sources, detected from content (not from the name):
 *   idx     an IDX image file (MNIST / Fashion-MNIST format), gzipped or not, unsigned bytes, shaped
 *           (N,H,W) grey or (N,H,W,C) with C 1 or 3. Labels are read from the file beside it when there
 *           is one ("...-images-idx3-ubyte[.gz]" -> "...-labels-idx1-ubyte[.gz]"); their count must
 *           equal N. The whole file is loaded once.
 *   folder  a directory of class subfolders holding PNG/JPEG files (torchvision's ImageFolder layout):
 *           classes are the subfolder names sorted bytewise (strcmp), the files of each class are sorted
 *           the same way, and the label is the class index. Only files named *.png, *.jpg, *.jpeg
 *           (any case) directly inside a class folder are taken; entries whose name starts with '.'
 *           are skipped; a class folder must be a real directory (a symlink to a directory is not
 *           followed), an image may be a symlink to a regular file. Deeper subfolders are ignored.
 *           Class folders without images still count as classes (indices stay aligned with the
 *           sorted folder names, as in torchvision).
 *   hdf5    an HDF5 file with a dataset /images shaped (N,H,W) or (N,H,W,C), C 1 or 3, of uint8,
 *           float32 or float64 (channels last; (N,C,H,W) is not accepted), and an optional /labels
 *           of N integers (-1 = unknown). One image is read per adx_dataset_get (hyperslab), float data
 *           is taken as is. Read with HDF5's serial API: no MPI initialisation is needed.
 *   list    a text file with one image path per line, optionally "path<TAB>label" (label an integer
 *           >= -1); blank lines and lines starting with '#' are skipped, surrounding blanks and '\r' (and
 *           a UTF-8 byte order mark) are trimmed, relative paths are resolved against the list file's
 *           folder, and every file must exist (as a regular file) when the list is opened.
 *
 * Object masks (ground truth, docs/metrics.md): an idx dataset has them when the file named by
 * adx_idx_masks_path exists beside the images, an hdf5 dataset when it holds a dataset /masks; folder and
 * list datasets have none. Masks are shaped (N,H,W) like the images (unsigned bytes for IDX, any integer
 * type for HDF5), nonzero = object pixel. A mask file whose count or H,W differs from the images' ->
 * ADX_ERR_FORMAT at open naming both files. Masks go through the images' geometry (resize by nearest
 * neighbour, centre crop: adx_preproc_geometry_mask).
 *
 * Every image is converted with the preprocessing geometry (adx_preproc_geometry: channel conversion,
 * resize, centre crop; never normalisation) to the model's C x H x W in raw pixel units: 0..255 for
 * 8-bit sources. An image that cannot be made the model size gives ADX_ERR_SHAPE naming the item (at
 * open for idx/hdf5, whose images all share one size; at adx_dataset_get for folder/list files).
 */
#ifndef ADX_DATASET_H
#define ADX_DATASET_H

#include "adx/core.h"
#include "adx/io.h"

/* ------------------------------------------------------------------ IDX files */

/* An IDX file (the MNIST / Fashion-MNIST format), gzipped or not, unsigned bytes only. */
typedef struct adx_idx {
  int ndim;
  int64_t dims[4];
  uint8_t *data; /* dims[0] x ... row-major */
} adx_idx;

/* Refuses files whose declared size exceeds max_bytes (0: 4 GiB) -> ADX_ERR_LIMIT (checked from the
 * header, before allocating) or disagrees with the data (truncated or trailing bytes) -> ADX_ERR_FORMAT.
 * A zero dimension -> ADX_ERR_FORMAT; element types other than unsigned byte -> ADX_ERR_UNSUPPORTED. */
adx_status adx_idx_load(const char *path, int64_t max_bytes, adx_idx *out, adx_error *err);
/* The header only (ndim, dims; data stays NULL), with the same checks. */
adx_status adx_idx_header(const char *path, int64_t max_bytes, adx_idx *out, adx_error *err);
void adx_idx_free(adx_idx *x);
/* The labels file beside an images file: "...-images-idx3-ubyte[.gz]" -> "...-labels-idx1-ubyte[.gz]"
 * ("images-idx4" and the "images.idx3" spelling too). Returns 0 and fills buf if such a file exists,
 * else -1. */
int adx_idx_labels_path(const char *images_path, char *buf, size_t len);
/* The object-mask file beside an images file: "...-images-idx3-ubyte[.gz]" -> "...-masks-idx3-ubyte[.gz]"
 * (and the "images.idx3" spelling); the same compression as the images first, then the other one (".gz"
 * added or removed). Returns 0 and fills buf if such a file exists, else -1. */
int adx_idx_masks_path(const char *images_path, char *buf, size_t len);

/* ------------------------------------------------------------------ datasets */

typedef struct adx_dataset adx_dataset;

typedef struct adx_dataset_limits {
  int64_t max_bytes;       /* whole-file reads (IDX images and labels, list files, HDF5 labels); 0: 4 GiB */
  int64_t max_image_elems; /* H*W*C of one stored image (idx, hdf5); 0: 2^31 */
  adx_image_limits image;  /* PNG/JPEG files (folder, list); zeroed fields: adx_image_limits_default */
} adx_dataset_limits;

/* Open PATH (see above) for a model taking C x H x W inputs. pp: preprocessing (NULL: no resize, no
 * crop); only its geometry is used. Errors: nonexistent path -> ADX_ERR_IO; unrecognised or malformed
 * content, labels that disagree with the images, a folder without images, an HDF5 file without /images
 * -> ADX_ERR_FORMAT; unsupported element types or layouts -> ADX_ERR_UNSUPPORTED; declared sizes over
 * the limits -> ADX_ERR_LIMIT (before allocating); bad C/H/W -> ADX_ERR_ARG. */
adx_status adx_dataset_open(const char *path, const adx_preproc *pp, int C, int H, int W, adx_dataset **out,
                            adx_error *err);
/* The same with explicit limits (NULL: defaults). */
adx_status adx_dataset_open_ex(const char *path, const adx_preproc *pp, int C, int H, int W,
                               const adx_dataset_limits *lim, adx_dataset **out, adx_error *err);
int64_t adx_dataset_size(const adx_dataset *d);
/* Number of classes: folder -> number of class folders; idx/hdf5/list -> 1 + the largest label (a lower
 * bound: classes that never occur are not seen); 0 if there are no labels. */
int adx_dataset_nclasses(const adx_dataset *d);
/* Class folder name k (folder datasets only; data, not a path), else NULL. */
const char *adx_dataset_class_name(const adx_dataset *d, int k);
/* "idx", "folder", "hdf5" or "list". */
const char *adx_dataset_kind(const adx_dataset *d);
/* Raw pixels [C,H,W] of item i (0 <= i < size, else ADX_ERR_ARG) and its label (-1 if unknown; label may
 * be NULL). Errors name the item. Not thread-safe: one caller per dataset; HDF5 datasets must be used
 * from the thread that makes the process's other HDF5 calls. */
adx_status adx_dataset_get(adx_dataset *d, int64_t i, float *raw, int32_t *label, adx_error *err);
/* 1 if the dataset has object masks, else 0. */
int adx_dataset_has_masks(const adx_dataset *d);
/* Where the masks come from ("FILE" for IDX, "FILE:/masks" for HDF5), or NULL without masks. */
const char *adx_dataset_mask_source(const adx_dataset *d);
/* Object mask of item i at the model's H x W (0/1 bytes, mask[H*W]). ADX_ERR_ARG when the dataset has no
 * masks or i is out of range. Same threading rule as adx_dataset_get. */
adx_status adx_dataset_get_mask(adx_dataset *d, int64_t i, uint8_t *mask, adx_error *err);
/* Label of item i without decoding it (-1 if unknown or out of range). */
int32_t adx_dataset_label(const adx_dataset *d, int64_t i);
/* Display name of item i (file path for folder/list; "path[i]" otherwise) into buf; returns buf. */
const char *adx_dataset_item_name(const adx_dataset *d, int64_t i, char *buf, size_t len);
void adx_dataset_close(adx_dataset *d);

/* Selection over n items: items offset .. offset+limit-1 (limit 0 = all; a limit past the end is cut
 * to the end), then if sample > 0 a seeded random subset of exactly that many, returned in increasing
 * index order (the same for the same seed and arguments). *indices is malloc'ed (free()).
 * ADX_ERR_ARG: n <= 0, offset < 0 or offset >= n, limit < 0, sample < 0, or sample larger than the
 * number of items in the range. */
adx_status adx_dataset_select(int64_t n, int64_t offset, int64_t limit, int64_t sample, uint64_t seed,
                              int64_t **indices, int64_t *count, adx_error *err);

#endif
