/* HDF5 dataset source: /images (N,H,W) or (N,H,W,C) of uint8/float32/float64, optional /labels (N).
 * Serial HDF5 (default file access: the sec2 driver), so no MPI call is made even though the library is
 * the MPI build. HDF5's automatic error printing is switched off during each call. */
#include <hdf5.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset_internal.h"

struct adx_dataset_h5 {
  hid_t file, images, fspace, mspace;
  int ndim;
  hid_t masks, mask_fspace, mask_mspace; /* /masks, when the file has it */
  int64_t *mask_buf;                     /* one mask as read (H*W) */
};

typedef struct quiet {
  H5E_auto2_t func;
  void *data;
} quiet;

static void quiet_begin(quiet *q) {
  q->func = NULL;
  q->data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_end(const quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0 && e->desc) snprintf((char *)data, 200, "%s", e->desc);
  return 0;
}

/* "PATH: WHAT (innermost HDF5 message)" */
static adx_status h5fail(adx_error *err, adx_status code, const char *path, const char *what) {
  char msg[200] = "";
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, msg);
  H5Eclear2(H5E_DEFAULT);
  if (msg[0]) return adx_fail(err, code, "%s: %s (%s)", path, what, msg);
  return adx_fail(err, code, "%s: %s", path, what);
}

static void close_id(hid_t *id, herr_t (*fn)(hid_t)) {
  if (*id >= 0) fn(*id);
  *id = H5I_INVALID_HID;
}

static void h5_release(adx_dataset_h5 *h) {
  if (!h) return;
  close_id(&h->mask_mspace, H5Sclose);
  close_id(&h->mask_fspace, H5Sclose);
  close_id(&h->masks, H5Dclose);
  free(h->mask_buf);
  close_id(&h->mspace, H5Sclose);
  close_id(&h->fspace, H5Sclose);
  close_id(&h->images, H5Dclose);
  close_id(&h->file, H5Fclose);
  free(h);
}

static const char *dims_text(const hsize_t *dims, int nd, char *buf, size_t len) {
  int64_t d[H5S_MAX_RANK];
  for (int i = 0; i < nd && i < H5S_MAX_RANK; i++) d[i] = (int64_t)dims[i];
  return adx_dims_str(d, nd > ADX_MAX_DIMS ? ADX_MAX_DIMS : nd, buf, len);
}

static adx_status read_labels(adx_dataset *d, adx_dataset_h5 *h, adx_error *err) {
  const char *path = d->path;
  htri_t ex = H5Lexists(h->file, "labels", H5P_DEFAULT);
  if (ex < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot look up /labels");
  if (ex == 0) return ADX_OK;
  adx_status s = ADX_OK;
  hid_t ds = H5Dopen2(h->file, "labels", H5P_DEFAULT), sp = H5I_INVALID_HID, ty = H5I_INVALID_HID;
  int64_t *buf = NULL;
  if (ds < 0) return h5fail(err, ADX_ERR_FORMAT, path, "/labels is not a dataset");
  sp = H5Dget_space(ds);
  ty = H5Dget_type(ds);
  if (sp < 0 || ty < 0) {
    s = h5fail(err, ADX_ERR_FORMAT, path, "cannot read the type and shape of /labels");
    goto done;
  }
  if (H5Tget_class(ty) != H5T_INTEGER) {
    s = adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: /labels must hold integers", path);
    goto done;
  }
  hsize_t dims[H5S_MAX_RANK];
  int nd = H5Sget_simple_extent_ndims(sp);
  if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
    s = h5fail(err, ADX_ERR_FORMAT, path, "cannot read the shape of /labels");
    goto done;
  }
  if (nd != 1 || (int64_t)dims[0] != d->n) {
    char b[128];
    s = adx_fail(err, ADX_ERR_FORMAT,
                 "%s: /labels is shaped %s but /images holds %lld images: expected [%lld]", path,
                 dims_text(dims, nd, b, sizeof b), (long long)d->n, (long long)d->n);
    goto done;
  }
  if (d->n > d->lim.max_bytes / 8) {
    s = adx_fail(err, ADX_ERR_LIMIT, "%s: /labels (%lld values) exceeds the %lld-byte limit", path,
                 (long long)d->n, (long long)d->lim.max_bytes);
    goto done;
  }
  buf = malloc(sizeof(int64_t) * (size_t)d->n);
  d->labels = malloc(sizeof(int32_t) * (size_t)d->n);
  if (!buf || !d->labels) {
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for %lld labels", path, (long long)d->n);
    goto done;
  }
  if (H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
    s = h5fail(err, ADX_ERR_FORMAT, path, "cannot read /labels");
    goto done;
  }
  for (int64_t i = 0; i < d->n; i++) {
    if (buf[i] < -1 || buf[i] > INT32_MAX) {
      s = adx_fail(err, ADX_ERR_FORMAT, "%s: /labels[%lld] = %lld is not a class index (or -1)", path,
                   (long long)i, (long long)buf[i]);
      goto done;
    }
    d->labels[i] = (int32_t)buf[i];
  }
done:
  free(buf);
  if (ty >= 0) H5Tclose(ty);
  if (sp >= 0) H5Sclose(sp);
  H5Dclose(ds);
  return s;
}

static adx_status h5_open(adx_dataset *d, adx_dataset_h5 *h, adx_error *err) {
  const char *path = d->path;
  h->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (h->file < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot open as an HDF5 file");
  htri_t ex = H5Lexists(h->file, "images", H5P_DEFAULT);
  if (ex < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot look up /images");
  if (ex == 0)
    return adx_fail(err, ADX_ERR_FORMAT,
                    "%s: no dataset /images (expected /images shaped (N,H,W) or (N,H,W,C))", path);
  h->images = H5Dopen2(h->file, "images", H5P_DEFAULT);
  if (h->images < 0) return h5fail(err, ADX_ERR_FORMAT, path, "/images is not a dataset");

  hid_t ty = H5Dget_type(h->images);
  if (ty < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot read the type of /images");
  H5T_class_t cls = H5Tget_class(ty);
  size_t sz = H5Tget_size(ty);
  H5T_sign_t sign = cls == H5T_INTEGER ? H5Tget_sign(ty) : H5T_SGN_ERROR;
  H5Tclose(ty);
  if (!((cls == H5T_INTEGER && sz == 1 && sign == H5T_SGN_NONE) ||
        (cls == H5T_FLOAT && (sz == 4 || sz == 8))))
    return adx_fail(err, ADX_ERR_UNSUPPORTED,
                    "%s: /images has an unsupported element type (%s, %zu bytes): expected uint8, float32 or "
                    "float64",
                    path,
                    cls == H5T_INTEGER ? (sign == H5T_SGN_NONE ? "unsigned integer" : "signed integer")
                    : cls == H5T_FLOAT ? "float"
                                       : "not a number",
                    sz);

  h->fspace = H5Dget_space(h->images);
  if (h->fspace < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot read the shape of /images");
  hsize_t dims[H5S_MAX_RANK];
  int nd = H5Sget_simple_extent_ndims(h->fspace);
  if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(h->fspace, dims, NULL) < 0)
    return h5fail(err, ADX_ERR_FORMAT, path, "cannot read the shape of /images");
  char b[128];
  if (nd != 3 && nd != 4)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: /images is shaped %s: expected (N,H,W) or (N,H,W,C)", path,
                    dims_text(dims, nd, b, sizeof b));
  if (nd == 4 && dims[3] != 1 && dims[3] != 3)
    return adx_fail(err, ADX_ERR_UNSUPPORTED,
                    "%s: /images is shaped %s: expected (N,H,W) or channels last (N,H,W,C) with C 1 or 3",
                    path, dims_text(dims, nd, b, sizeof b));
  if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: /images is shaped %s: no images", path,
                    dims_text(dims, nd, b, sizeof b));
  int c = nd == 4 ? (int)dims[3] : 1;
  if (dims[0] > (hsize_t)INT64_MAX || dims[1] > INT_MAX || dims[2] > INT_MAX ||
      dims[1] * dims[2] > (hsize_t)d->lim.max_image_elems / (hsize_t)c)
    return adx_fail(err, ADX_ERR_LIMIT, "%s: /images is shaped %s: one image exceeds the %lld-element limit",
                    path, dims_text(dims, nd, b, sizeof b), (long long)d->lim.max_image_elems);
  h->ndim = nd;
  d->n = (int64_t)dims[0];
  d->src_h = (int)dims[1];
  d->src_w = (int)dims[2];
  d->src_c = c;
  hsize_t elems = dims[1] * dims[2] * (hsize_t)c;
  h->mspace = H5Screate_simple(1, &elems, NULL);
  if (h->mspace < 0) return h5fail(err, ADX_ERR_INTERNAL, path, "cannot create a memory dataspace");
  return read_labels(d, h, err);
}

adx_status adx_dataset_h5_open(adx_dataset *d, adx_error *err) {
  adx_dataset_h5 *h = calloc(1, sizeof *h);
  if (!h) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", d->path);
  h->file = h->images = h->fspace = h->mspace = H5I_INVALID_HID;
  h->masks = h->mask_fspace = h->mask_mspace = H5I_INVALID_HID;
  quiet q;
  quiet_begin(&q);
  adx_status s = h5_open(d, h, err);
  if (s)
    h5_release(h);
  else
    d->h5 = h;
  H5Eclear2(H5E_DEFAULT);
  quiet_end(&q);
  return s;
}

adx_status adx_dataset_h5_read(adx_dataset *d, int64_t i, adx_error *err) {
  adx_dataset_h5 *h = d->h5;
  hsize_t start[4] = {(hsize_t)i, 0, 0, 0};
  hsize_t count[4] = {1, (hsize_t)d->src_h, (hsize_t)d->src_w, (hsize_t)d->src_c};
  quiet q;
  quiet_begin(&q);
  adx_status s = ADX_OK;
  if (H5Sselect_hyperslab(h->fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      H5Dread(h->images, H5T_NATIVE_FLOAT, h->mspace, h->fspace, H5P_DEFAULT, d->hwc) < 0) {
    char what[64];
    snprintf(what, sizeof what, "cannot read /images[%lld]", (long long)i);
    s = h5fail(err, ADX_ERR_FORMAT, d->path, what);
  }
  quiet_end(&q);
  return s;
}

static adx_status open_masks(adx_dataset *d, adx_dataset_h5 *h, adx_error *err) {
  const char *path = d->path;
  htri_t ex = H5Lexists(h->file, "masks", H5P_DEFAULT);
  if (ex < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot look up /masks");
  if (ex == 0) return ADX_OK;
  h->masks = H5Dopen2(h->file, "masks", H5P_DEFAULT);
  if (h->masks < 0) return h5fail(err, ADX_ERR_FORMAT, path, "/masks is not a dataset");
  hid_t ty = H5Dget_type(h->masks);
  if (ty < 0) return h5fail(err, ADX_ERR_FORMAT, path, "cannot read the type of /masks");
  H5T_class_t cls = H5Tget_class(ty);
  H5Tclose(ty);
  if (cls != H5T_INTEGER)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: /masks must hold integers (nonzero = object pixel)", path);
  h->mask_fspace = H5Dget_space(h->masks);
  hsize_t dims[H5S_MAX_RANK];
  int nd = h->mask_fspace < 0 ? -1 : H5Sget_simple_extent_ndims(h->mask_fspace);
  if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(h->mask_fspace, dims, NULL) < 0)
    return h5fail(err, ADX_ERR_FORMAT, path, "cannot read the shape of /masks");
  if (nd != 3 || (int64_t)dims[0] != d->n || dims[1] != (hsize_t)d->src_h || dims[2] != (hsize_t)d->src_w) {
    char b[128];
    return adx_fail(err, ADX_ERR_FORMAT,
                    "%s: /masks is shaped %s but /images holds %lld images of %dx%d: expected [%lld,%d,%d]",
                    path, dims_text(dims, nd, b, sizeof b), (long long)d->n, d->src_h, d->src_w,
                    (long long)d->n, d->src_h, d->src_w);
  }
  hsize_t elems = dims[1] * dims[2];
  h->mask_mspace = H5Screate_simple(1, &elems, NULL);
  h->mask_buf = malloc(sizeof(int64_t) * (size_t)elems);
  if (h->mask_mspace < 0 || !h->mask_buf)
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for one mask", path);
  size_t len = strlen(path) + 8;
  d->mask_source = malloc(len);
  if (!d->mask_source) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  snprintf(d->mask_source, len, "%s:/masks", path);
  d->has_masks = 1;
  return ADX_OK;
}

adx_status adx_dataset_h5_open_masks(adx_dataset *d, adx_error *err) {
  quiet q;
  quiet_begin(&q);
  adx_status s = open_masks(d, d->h5, err);
  H5Eclear2(H5E_DEFAULT);
  quiet_end(&q);
  return s;
}

adx_status adx_dataset_h5_read_mask(adx_dataset *d, int64_t i, adx_error *err) {
  adx_dataset_h5 *h = d->h5;
  hsize_t start[3] = {(hsize_t)i, 0, 0};
  hsize_t count[3] = {1, (hsize_t)d->src_h, (hsize_t)d->src_w};
  quiet q;
  quiet_begin(&q);
  adx_status s = ADX_OK;
  if (H5Sselect_hyperslab(h->mask_fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      H5Dread(h->masks, H5T_NATIVE_INT64, h->mask_mspace, h->mask_fspace, H5P_DEFAULT, h->mask_buf) < 0) {
    char what[64];
    snprintf(what, sizeof what, "cannot read /masks[%lld]", (long long)i);
    s = h5fail(err, ADX_ERR_FORMAT, d->path, what);
  }
  quiet_end(&q);
  size_t plane = (size_t)d->src_h * d->src_w;
  for (size_t p = 0; !s && p < plane; p++) d->mask_src[p] = h->mask_buf[p] != 0;
  return s;
}

void adx_dataset_h5_close(adx_dataset *d) {
  if (!d->h5) return;
  quiet q;
  quiet_begin(&q);
  h5_release(d->h5);
  quiet_end(&q);
  d->h5 = NULL;
}
