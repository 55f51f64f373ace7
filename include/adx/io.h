/* adx io: images (PNG/JPEG), .npy arrays, preprocessing and INI configuration.
 * Every function that can fail returns adx_status and fills adx_error with a one-line message
 * that names the file (and the line or key) at fault. */
#ifndef ADX_IO_H
#define ADX_IO_H

#include "adx/ad.h" /* adx_norm */
#include "adx/core.h"

/* ------------------------------------------------------------------ images */

/* Decoded image: planar CHW float32 in raw pixel units 0..255 (16-bit PNGs are scaled by 255/65535).
 * channels is 1 (grey) or 3 (RGB): alpha channels are ignored (dropped, not composited) and
 * palettes are expanded to RGB. */
typedef struct adx_image {
  int width, height, channels;
  float *data; /* channels*height*width floats, adx_alloc'ed; plane c starts at data + c*height*width */
} adx_image;

typedef struct adx_image_limits {
  int64_t max_pixels;     /* refuse width*height above this (checked from the header, before allocating) */
  int64_t max_file_bytes; /* refuse larger files */
} adx_image_limits;

#define ADX_IMAGE_MAX_PIXELS_DEFAULT 100000000LL     /* 100 megapixels */
#define ADX_IMAGE_MAX_FILE_BYTES_DEFAULT (1LL << 30) /* 1 GiB */

void adx_image_limits_default(adx_image_limits *l);

/* Load a PNG or JPEG, detected by its magic bytes (not its extension). lim may be NULL (defaults).
 * PNG: 1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA, palette; interlaced or not.
 * JPEG: greyscale and YCbCr/RGB; CMYK/YCCK -> ADX_ERR_UNSUPPORTED.
 * Missing/unreadable -> ADX_ERR_IO; corrupt, truncated (any libjpeg corrupt-data warning
 * included), zero-sized or not an image -> ADX_ERR_FORMAT; over the limits -> ADX_ERR_LIMIT.
 * On failure *out is zeroed. */
adx_status adx_image_load(const char *path, const adx_image_limits *lim, adx_image *out, adx_error *err);
/* The same from bytes in memory; name is used in messages. */
adx_status adx_image_decode(const void *buf, size_t len, const char *name, const adx_image_limits *lim,
                            adx_image *out, adx_error *err);
/* Allocate a zeroed image. */
adx_status adx_image_alloc(adx_image *img, int channels, int height, int width, adx_error *err);
/* Release the pixels and zero the struct (safe on a zeroed or freed image). */
void adx_image_free(adx_image *img);

/* Write an 8-bit PNG from interleaved (HWC) pixels; channels 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
adx_status adx_image_save_png(const char *path, const uint8_t *pixels, int width, int height, int channels,
                              adx_error *err);

/* Bilinear resize of planar CHW data, half-pixel centres, no antialiasing: the same as PyTorch's
 * F.interpolate(mode='bilinear', align_corners=False, antialias=False). Output pixel (y, x) of the
 * out_h x out_w result is taken from the full oh x ow resized image at (y + top, x + left), so a resize
 * followed by a crop computes only the kept pixels. */
void adx_image_resize(const float *in, int c, int in_h, int in_w, int oh, int ow, int top, int left,
                      float *out, int out_h, int out_w);

/* ------------------------------------------------------------------ .npy arrays */

/* Load a NumPy .npy file (format versions 1-3), C order, little-endian:
 *   '<f4' -> ADX_F32, '|u1' -> ADX_F32 (values 0..255), '<i8' -> ADX_I64.
 * fortran_order True, big-endian and other dtypes -> ADX_ERR_UNSUPPORTED; a malformed header or a
 * data size that disagrees with the file size -> ADX_ERR_FORMAT; rank > ADX_MAX_DIMS -> ADX_ERR_LIMIT. */
adx_status adx_npy_load(const char *path, adx_tensor *out, adx_error *err);
/* Save an ADX_F32 ('<f4') or ADX_I64 ('<i8') tensor as a version 1.0 .npy file. */
adx_status adx_npy_save(const char *path, const adx_tensor *t, adx_error *err);

/* ------------------------------------------------------------------ preprocessing */

/* Geometry then normalisation, in the order torchvision's Resize(int) -> CenterCrop -> ToTensor ->
 * Normalize applies them (resize is bilinear without antialiasing, see adx_image_resize). These are the
 * settings as given (flags, config, model metadata); their normalisation part is the adx_norm (adx/ad.h)
 * that the engine, the oracle and the modes take as it is. */
typedef struct adx_preproc {
  int resize; /* resize so the shorter side is this (the longer one keeps the aspect, truncated); 0 = none */
  int crop_h, crop_w; /* centre crop to this size; 0 = none */
  adx_norm norm;      /* scale (raw 0..255 pixels are multiplied by it; default 1/255), mean and std */
  unsigned given;     /* bit ADX_PREPROC_<KEY> for each key set by adx_preproc_set (a flag or a config key) */
} adx_preproc;
enum {
  ADX_PREPROC_RESIZE = 1,
  ADX_PREPROC_CROP = 2,
  ADX_PREPROC_SCALE = 4,
  ADX_PREPROC_MEAN = 8,
  ADX_PREPROC_STD = 16
};

/* scale 1/255, no resize, no crop, mean 0, std 1. */
void adx_preproc_default(adx_preproc *p);
/* Set one setting from text, as written in a config file's [preprocess] section or a command-line flag:
 *   resize N | crop N or HxW | scale F (a number or a fraction like 1/255) | mean a[,b,c,d] | std a[,b,c,d]
 * Unknown keys and bad values -> ADX_ERR_ARG with the key named. */
adx_status adx_preproc_set(adx_preproc *p, const char *key, const char *value, adx_error *err);
struct adx_graph;
/* Take scale, mean and std from the model's metadata_props (keys preprocess.scale, preprocess.mean,
 * preprocess.std, values as for adx_preproc_set) where no flag or config key gave them. A bad value ->
 * ADX_ERR_FORMAT naming the model and the key. */
adx_status adx_preproc_from_model(adx_preproc *p, const struct adx_graph *g, adx_error *err);

/* Raw geometry stage: convert channels and resize/crop `in` to the model's C x H x W, giving raw
 * pixels (0..255 units) in *out_raw (allocated here; free with adx_image_free). This raw stage is where
 * fill-value occlusion applies.
 *  - channels: grey -> C copies; RGB -> 1 channel by ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B;
 *    other combinations -> ADX_ERR_SHAPE.
 *  - geometry: with resize, the shorter side becomes `resize`; with crop, a centre crop (offsets
 *    round((size - crop) / 2) with ties to even, as torchvision's CenterCrop). The result must be
 *    model_h x model_w. Without resize and crop the image must already be model_h x model_w: there is
 *    no implicit stretching. A mismatch -> ADX_ERR_SHAPE naming both sizes.
 *  - the mean/std counts are checked against model_c (1 or model_c values). */
adx_status adx_preproc_geometry(const adx_preproc *p, const adx_image *in, int model_c, int model_h,
                                int model_w, adx_image *out_raw, adx_error *err);
/* The same geometry for an object mask (h x w bytes, nonzero = object) into out [mh*mw] of 0/1: resize
 * by nearest neighbour (output pixel y takes source row floor((y + 0.5) h / rh), likewise for columns),
 * then the same centre crop. Errors as adx_preproc_geometry. */
adx_status adx_preproc_geometry_mask(const adx_preproc *p, const uint8_t *in, int h, int w, int mh, int mw,
                                     uint8_t *out, adx_error *err);
/* out[c][i] = (raw[c][i] * scale - mean[c]) / std[c] with p->norm (adx_norm_apply); raw and out are CHW
 * (may be the same buffer). */
void adx_preproc_normalize(const adx_preproc *p, const float *raw_chw, int c, int h, int w, float *out);

/* ------------------------------------------------------------------ configuration (INI) */

typedef struct adx_config_entry {
  char *section; /* "" for keys before any [section] */
  char *key;
  char *value;
  int line;
} adx_config_entry;

typedef struct adx_config {
  char *path;
  int n, cap;
  adx_config_entry *entries; /* in file order */
} adx_config;

/* A config file over this many bytes is refused (ADX_ERR_LIMIT). */
#define ADX_CONFIG_MAX_BYTES (1 << 20)
/* Parse an INI file ([section], key = value, ';' and '#' comments) with libinih and keep every
 * (section, key, value) triple. Syntax errors -> ADX_ERR_FORMAT "FILE:LINE: syntax error";
 * a key repeated within a section (also a multi-line value) -> ADX_ERR_FORMAT "FILE:LINE: duplicate key";
 * a line longer than libinih's line buffer (about 200 bytes)
 * -> ADX_ERR_FORMAT. Unknown sections and keys are for the consumer to detect (see the helpers). */
adx_status adx_config_load(const char *path, adx_config *cfg, adx_error *err);
/* The same from text in memory; name is used in messages. */
adx_status adx_config_parse(const char *text, const char *name, adx_config *cfg, adx_error *err);
void adx_config_free(adx_config *cfg);
/* Value of section.key, or NULL. */
const char *adx_config_get(const adx_config *cfg, const char *section, const char *key);
const adx_config_entry *adx_config_find(const adx_config *cfg, const char *section, const char *key);
/* ADX_ERR_ARG "FILE:LINE: unknown key 'k' in [section] (known: ...)" for the first key of `section`
 * not in the NULL-terminated list `known`. */
adx_status adx_config_check_keys(const adx_config *cfg, const char *section, const char *const *known,
                                 adx_error *err);
/* ADX_ERR_ARG "FILE:LINE: unknown section [s] (known: ...)" for the first key in a section not in the
 * NULL-terminated list `known` (a misspelt [explian] would otherwise be skipped unread). */
adx_status adx_config_check_sections(const adx_config *cfg, const char *const *known, adx_error *err);
/* Apply every key of the [preprocess] section (resize, crop, scale, mean, std) with adx_preproc_set;
 * errors are prefixed with "FILE:LINE: ". */
adx_status adx_config_apply_preprocess(const adx_config *cfg, adx_preproc *p, adx_error *err);

#endif
