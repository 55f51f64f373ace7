/* Datasets for audits: format detection, the idx / folder / list sources, item access and selection.
 * The HDF5 source lives in dataset_h5.c. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset_internal.h"

#define DS_MAX_BYTES_DEFAULT ((int64_t)4 << 30)
#define DS_MAX_IMAGE_ELEMS_DEFAULT ((int64_t)1 << 31)

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* dir + "/" + name (no '/' added when dir is empty or already ends in one). */
static char *join_path(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name), slash = a > 0 && dir[a - 1] != '/';
  char *p = malloc(a + slash + b + 1);
  if (!p) return NULL;
  memcpy(p, dir, a);
  if (slash) p[a] = '/';
  memcpy(p + a + slash, name, b + 1);
  return p;
}

/* ------------------------------------------------------------------ growable item lists */

typedef struct strvec {
  char **v;
  int32_t *label; /* parallel to v when used for items */
  size_t n, cap;
} strvec;

/* Takes ownership of s (freed on failure). */
static int sv_push(strvec *sv, char *s, int32_t label) {
  if (!s) return -1;
  if (sv->n == sv->cap) {
    size_t cap = sv->cap ? sv->cap * 2 : 16;
    char **v = realloc(sv->v, cap * sizeof *v);
    if (!v) {
      free(s);
      return -1;
    }
    sv->v = v;
    int32_t *l = realloc(sv->label, cap * sizeof *l);
    if (!l) {
      free(s);
      return -1;
    }
    sv->label = l;
    sv->cap = cap;
  }
  sv->v[sv->n] = s;
  sv->label[sv->n] = label;
  sv->n++;
  return 0;
}

static void sv_free(strvec *sv) {
  for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
  free(sv->v);
  free(sv->label);
  memset(sv, 0, sizeof *sv);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Names in dir that do not start with '.', sorted bytewise. */
static adx_status list_dir(const char *dir, strvec *out, adx_error *err) {
  DIR *dp = opendir(dir);
  if (!dp) return adx_fail(err, ADX_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(dp);
    if (!e) {
      if (errno) {
        int e2 = errno;
        closedir(dp);
        return adx_fail(err, ADX_ERR_IO, "%s: cannot read folder: %s", dir, strerror(e2));
      }
      break;
    }
    if (e->d_name[0] == '.') continue;
    if (sv_push(out, dup_str(e->d_name), -1)) {
      closedir(dp);
      return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory listing the folder", dir);
    }
  }
  closedir(dp);
  if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_str);
  return ADX_OK;
}

/* ------------------------------------------------------------------ detection */

static const unsigned char hdf5_sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* HDF5's superblock is at 0, or after a user block at 512, 1024, 2048, ... */
static int is_hdf5(const char *path, int64_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  int yes = 0;
  for (int64_t off = 0; off + 8 <= size && off <= ((int64_t)1 << 30); off = off ? off * 2 : 512) {
    unsigned char b[8];
    if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(b, 1, 8, f) != 8) break;
    if (memcmp(b, hdf5_sig, 8) == 0) {
      yes = 1;
      break;
    }
  }
  fclose(f);
  return yes;
}

/* IDX magic (possibly inside gzip): 0, 0, element type, number of dimensions 1..4. */
static int is_idx(const char *path) {
  gzFile f = gzopen(path, "rb");
  if (!f) return 0;
  unsigned char h[4];
  int r = gzread(f, h, 4);
  gzclose(f);
  if (r != 4 || h[0] || h[1] || h[3] < 1 || h[3] > 4) return 0;
  return h[2] == 0x08 || h[2] == 0x09 || (h[2] >= 0x0B && h[2] <= 0x0E);
}

/* ------------------------------------------------------------------ uniform sources (idx, hdf5) */

static void set_nclasses_from_labels(adx_dataset *d) {
  int32_t mx = -1;
  if (d->labels)
    for (int64_t i = 0; i < d->n; i++)
      if (d->labels[i] > mx) mx = d->labels[i];
  d->nclasses = mx >= 0 && mx < INT_MAX ? mx + 1 : 0;
}

/* Buffers for one stored image, and the geometry checked once (every image has the same size). */
static adx_status uniform_setup(adx_dataset *d, adx_error *err) {
  adx_status s = adx_image_alloc(&d->src, d->src_c, d->src_h, d->src_w, err);
  if (s) {
    adx_error_prefix(err, "%s: ", d->path);
    return s;
  }
  size_t elems = (size_t)d->src_c * d->src_h * d->src_w;
  d->hwc = malloc(sizeof(float) * elems);
  if (!d->hwc) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for one image", d->path);
  if (d->has_masks && !(d->mask_src = malloc((size_t)d->src_h * d->src_w)))
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for one mask", d->path);
  adx_image out;
  s = adx_preproc_geometry(&d->pp, &d->src, d->C, d->H, d->W, &out, err);
  adx_image_free(&out);
  if (s) adx_error_prefix(err, "%s: ", d->path);
  return s;
}

static adx_status open_idx(adx_dataset *d, adx_error *err) {
  const char *path = d->path;
  adx_idx hx; /* the header first: the checks below come before allocating */
  adx_status s = adx_idx_header(path, d->lim.max_bytes, &hx, err);
  if (s) return s;
  const adx_idx *x = &hx;
  if (x->ndim != 3 && x->ndim != 4)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: IDX images must be 3-D (N,H,W) or 4-D (N,H,W,C), not %d-D",
                    path, x->ndim);
  int64_t c = x->ndim == 4 ? x->dims[3] : 1;
  if (c != 1 && c != 3)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: IDX images have %lld channels: expected 1 or 3", path,
                    (long long)c);
  if (x->dims[1] > INT_MAX || x->dims[2] > INT_MAX || x->dims[1] * x->dims[2] * c > d->lim.max_image_elems)
    return adx_fail(err, ADX_ERR_LIMIT, "%s: IDX images of %lldx%lldx%lld exceed the %lld-element limit",
                    path, (long long)x->dims[1], (long long)x->dims[2], (long long)c,
                    (long long)d->lim.max_image_elems);
  d->n = x->dims[0];
  d->src_c = (int)c;
  d->src_h = (int)x->dims[1];
  d->src_w = (int)x->dims[2];
  s = adx_idx_load(path, d->lim.max_bytes, &d->idx, err);
  if (s) return s;
  if (d->idx.ndim != hx.ndim || memcmp(d->idx.dims, hx.dims, sizeof hx.dims))
    return adx_fail(err, ADX_ERR_IO, "%s: the file changed while it was read", path);

  char lpath[4096];
  if (adx_idx_labels_path(path, lpath, sizeof lpath) == 0) {
    adx_idx l;
    s = adx_idx_load(lpath, d->lim.max_bytes, &l, err);
    if (s) return s;
    if (l.ndim != 1 || l.dims[0] != d->n) {
      char b[96];
      adx_fail(err, ADX_ERR_FORMAT, "%s: labels shaped %s do not match the %lld images of %s", lpath,
               adx_dims_str(l.dims, l.ndim, b, sizeof b), (long long)d->n, path);
      adx_idx_free(&l);
      return ADX_ERR_FORMAT;
    }
    d->labels = malloc(sizeof(int32_t) * (size_t)d->n);
    if (!d->labels) {
      adx_idx_free(&l);
      return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for labels", lpath);
    }
    for (int64_t i = 0; i < d->n; i++) d->labels[i] = l.data[i];
    adx_idx_free(&l);
  }
  set_nclasses_from_labels(d);
  char mpath[4096];
  if (adx_idx_masks_path(path, mpath, sizeof mpath) == 0) {
    adx_idx mh;
    if ((s = adx_idx_header(mpath, d->lim.max_bytes, &mh, err))) return s;
    if (mh.ndim != 3 || mh.dims[0] != d->n || mh.dims[1] != d->src_h || mh.dims[2] != d->src_w) {
      char b[96];
      return adx_fail(err, ADX_ERR_FORMAT,
                      "%s: object masks shaped %s do not match the images of %s (%lld images of %dx%d): "
                      "expected [%lld,%d,%d]",
                      mpath, adx_dims_str(mh.dims, mh.ndim, b, sizeof b), path, (long long)d->n, d->src_h,
                      d->src_w, (long long)d->n, d->src_h, d->src_w);
    }
    if ((s = adx_idx_load(mpath, d->lim.max_bytes, &d->mask_idx, err))) return s;
    if (d->mask_idx.ndim != mh.ndim || memcmp(d->mask_idx.dims, mh.dims, sizeof mh.dims))
      return adx_fail(err, ADX_ERR_IO, "%s: the file changed while it was read", mpath);
    d->has_masks = 1;
    if (!(d->mask_source = dup_str(mpath))) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", mpath);
  }
  return uniform_setup(d, err);
}

static adx_status open_hdf5(adx_dataset *d, adx_error *err) {
  adx_status s = adx_dataset_h5_open(d, err);
  if (!s) s = adx_dataset_h5_open_masks(d, err);
  if (s) return s;
  set_nclasses_from_labels(d);
  return uniform_setup(d, err);
}

/* ------------------------------------------------------------------ folder of class folders */

static int has_image_ext(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot || dot == name) return 0;
  return !strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg");
}

static adx_status items_take(adx_dataset *d, strvec *items) {
  d->n = (int64_t)items->n;
  d->files = items->v;
  d->labels = items->label;
  memset(items, 0, sizeof *items);
  return ADX_OK;
}

static adx_status open_folder(adx_dataset *d, adx_error *err) {
  const char *root = d->path;
  strvec names = {0}, classes = {0}, items = {0};
  adx_status s = list_dir(root, &names, err);
  for (size_t i = 0; !s && i < names.n; i++) {
    char *full = join_path(root, names.v[i]);
    struct stat st;
    if (!full) {
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", root);
    } else if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) { /* a symlinked folder is not followed */
      if (classes.n >= INT_MAX - 1)
        s = adx_fail(err, ADX_ERR_LIMIT, "%s: too many class folders", root);
      else if (sv_push(&classes, dup_str(names.v[i]), -1))
        s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", root);
    }
    free(full);
  }
  if (!s && classes.n == 0)
    s = adx_fail(err, ADX_ERR_FORMAT,
                 "%s: no class subfolders (an image folder holds CLASS/IMAGE.png or CLASS/IMAGE.jpg)", root);
  for (size_t k = 0; !s && k < classes.n; k++) {
    char *cdir = join_path(root, classes.v[k]);
    strvec files = {0};
    if (!cdir) {
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", root);
      break;
    }
    s = list_dir(cdir, &files, err);
    for (size_t j = 0; !s && j < files.n; j++) {
      if (!has_image_ext(files.v[j])) continue;
      char *full = join_path(cdir, files.v[j]);
      struct stat st;
      if (!full) {
        s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", cdir);
      } else if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) { /* a symlink to a regular file is fine */
        if (sv_push(&items, full, (int32_t)k)) s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", cdir);
        full = NULL;
      }
      free(full);
    }
    sv_free(&files);
    free(cdir);
  }
  if (!s && items.n == 0)
    s = adx_fail(err, ADX_ERR_FORMAT, "%s: no .png/.jpg/.jpeg images in its %zu class folder%s", root,
                 classes.n, classes.n == 1 ? "" : "s");
  if (!s) {
    d->nclasses = (int)classes.n;
    d->classes = classes.v;
    free(classes.label);
    memset(&classes, 0, sizeof classes);
    items_take(d, &items);
  }
  sv_free(&names);
  sv_free(&classes);
  sv_free(&items);
  return s;
}

/* ------------------------------------------------------------------ list of image files */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static char *trim(char *s) {
  while (is_blank(*s)) s++;
  size_t n = strlen(s);
  while (n > 0 && is_blank(s[n - 1])) s[--n] = '\0';
  return s;
}

static adx_status open_list(adx_dataset *d, adx_error *err) {
  const char *path = d->path;
  char *text = NULL;
  size_t len = 0;
  uint8_t *bytes = NULL;
  adx_status s = adx_file_read(path, d->lim.max_bytes, &bytes, &len, err);
  text = (char *)bytes;
  if (s) return s;
  if (memchr(text, '\0', len)) {
    free(text);
    return adx_fail(err, ADX_ERR_FORMAT,
                    "%s: not a dataset (not an IDX or HDF5 file, and binary content for an image list)",
                    path);
  }
  const char *slash = strrchr(path, '/');
  char *line = text;
  if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB &&
      (unsigned char)text[2] == 0xBF)
    line += 3;                                            /* a UTF-8 byte order mark */
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0; /* the list's folder, with its trailing '/' */
  strvec items = {0};
  for (long lineno = 1; !s && line; lineno++) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *t = trim(line);
    line = nl ? nl + 1 : NULL;
    if (!*t || *t == '#') continue;
    int32_t label = -1;
    char *tab = strrchr(t, '\t');
    if (tab) {
      *tab = '\0';
      char *ls = trim(tab + 1), *end;
      errno = 0;
      long long v = strtoll(ls, &end, 10);
      if (!*ls || *end || errno || v < -1 || v > INT32_MAX) {
        s = adx_fail(err, ADX_ERR_FORMAT, "%s:%ld: bad label '%.64s' (expected an integer >= -1)", path,
                     lineno, ls);
        break;
      }
      label = (int32_t)v;
      t = trim(t);
      if (!*t) {
        s = adx_fail(err, ADX_ERR_FORMAT, "%s:%ld: empty image path", path, lineno);
        break;
      }
    }
    char *full;
    if (t[0] == '/' || dirlen == 0) {
      full = dup_str(t);
    } else {
      size_t tl = strlen(t);
      full = malloc(dirlen + tl + 1);
      if (full) {
        memcpy(full, path, dirlen);
        memcpy(full + dirlen, t, tl + 1);
      }
    }
    if (!full) {
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
      break;
    }
    struct stat st;
    if (stat(full, &st) != 0) {
      s = adx_fail(err, ADX_ERR_IO, "%s:%ld: %s: %s", path, lineno, full, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      s = adx_fail(err, ADX_ERR_IO, "%s:%ld: %s: not a regular file", path, lineno, full);
    } else if (sv_push(&items, full, label)) {
      full = NULL;
      s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
    } else {
      full = NULL;
    }
    free(full);
  }
  free(text);
  if (!s && items.n == 0) s = adx_fail(err, ADX_ERR_FORMAT, "%s: the image list names no images", path);
  if (!s) {
    items_take(d, &items);
    set_nclasses_from_labels(d);
  }
  sv_free(&items);
  return s;
}

/* ------------------------------------------------------------------ public API */

adx_status adx_dataset_open(const char *path, const adx_preproc *pp, int C, int H, int W, adx_dataset **out,
                            adx_error *err) {
  return adx_dataset_open_ex(path, pp, C, H, W, NULL, out, err);
}

adx_status adx_dataset_open_ex(const char *path, const adx_preproc *pp, int C, int H, int W,
                               const adx_dataset_limits *lim, adx_dataset **out, adx_error *err) {
  *out = NULL;
  if (!path || !*path) return adx_fail(err, ADX_ERR_ARG, "dataset: no path given");
  if (C <= 0 || H <= 0 || W <= 0 || (int64_t)C * H * W > ((int64_t)1 << 31))
    return adx_fail(err, ADX_ERR_ARG, "%s: bad model input size %dx%dx%d", path, C, H, W);
  struct stat st;
  if (stat(path, &st) != 0) return adx_fail(err, ADX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    return adx_fail(err, ADX_ERR_IO, "%s: not a regular file or a folder", path);

  adx_dataset *d = calloc(1, sizeof *d);
  if (!d || !(d->path = dup_str(path))) {
    free(d);
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  }
  if (pp)
    d->pp = *pp;
  else
    adx_preproc_default(&d->pp);
  d->C = C, d->H = H, d->W = W;
  if (lim) d->lim = *lim;
  if (d->lim.max_bytes <= 0) d->lim.max_bytes = DS_MAX_BYTES_DEFAULT;
  if (d->lim.max_image_elems <= 0) d->lim.max_image_elems = DS_MAX_IMAGE_ELEMS_DEFAULT;
  adx_image_limits il;
  adx_image_limits_default(&il);
  if (d->lim.image.max_pixels <= 0) d->lim.image.max_pixels = il.max_pixels;
  if (d->lim.image.max_file_bytes <= 0) d->lim.image.max_file_bytes = il.max_file_bytes;

  adx_status s;
  if (S_ISDIR(st.st_mode)) {
    d->kind = "folder";
    s = open_folder(d, err);
  } else if (is_hdf5(path, (int64_t)st.st_size)) {
    d->kind = "hdf5";
    s = open_hdf5(d, err);
  } else if (is_idx(path)) {
    d->kind = "idx";
    s = open_idx(d, err);
  } else {
    d->kind = "list";
    s = open_list(d, err);
  }
  if (s) {
    adx_dataset_close(d);
    return s;
  }
  *out = d;
  return ADX_OK;
}

int64_t adx_dataset_size(const adx_dataset *d) { return d ? d->n : 0; }
int adx_dataset_nclasses(const adx_dataset *d) { return d ? d->nclasses : 0; }
const char *adx_dataset_kind(const adx_dataset *d) { return d ? d->kind : NULL; }

const char *adx_dataset_class_name(const adx_dataset *d, int k) {
  if (!d || !d->classes || k < 0 || k >= d->nclasses) return NULL;
  return d->classes[k];
}

int32_t adx_dataset_label(const adx_dataset *d, int64_t i) {
  if (!d || !d->labels || i < 0 || i >= d->n) return -1;
  return d->labels[i];
}

const char *adx_dataset_item_name(const adx_dataset *d, int64_t i, char *buf, size_t len) {
  if (!buf || len == 0) return buf;
  if (d->files && i >= 0 && i < d->n)
    snprintf(buf, len, "%s", d->files[i]);
  else
    snprintf(buf, len, "%s[%lld]", d->path, (long long)i);
  return buf;
}

/* Geometry of one decoded image into raw; errors are prefixed with the item's name. */
static adx_status finish(adx_dataset *d, int64_t i, const adx_image *img, float *raw, adx_error *err) {
  adx_image out;
  adx_status s = adx_preproc_geometry(&d->pp, img, d->C, d->H, d->W, &out, err);
  if (s) {
    char name[4200];
    adx_dataset_item_name(d, i, name, sizeof name);
    adx_error_prefix(err, "%s: ", name);
    return s;
  }
  memcpy(raw, out.data, sizeof(float) * (size_t)d->C * d->H * d->W);
  adx_image_free(&out);
  return ADX_OK;
}

adx_status adx_dataset_get(adx_dataset *d, int64_t i, float *raw, int32_t *label, adx_error *err) {
  if (i < 0 || i >= d->n)
    return adx_fail(err, ADX_ERR_ARG, "%s: item %lld is out of range (the dataset has %lld)", d->path,
                    (long long)i, (long long)d->n);
  if (label) *label = adx_dataset_label(d, i);
  adx_status s;
  if (d->files) {
    adx_image img;
    s = adx_image_load(d->files[i], &d->lim.image, &img, err);
    if (!s) s = finish(d, i, &img, raw, err);
    adx_image_free(&img);
    return s;
  }
  const int c = d->src_c;
  const size_t plane = (size_t)d->src_h * d->src_w;
  float *dst = d->src.data;
  if (d->h5) {
    s = adx_dataset_h5_read(d, i, err);
    if (s) return s;
    for (size_t p = 0; p < plane; p++)
      for (int k = 0; k < c; k++) dst[(size_t)k * plane + p] = d->hwc[p * c + k];
  } else {
    const uint8_t *b = d->idx.data + (size_t)i * plane * c;
    for (size_t p = 0; p < plane; p++)
      for (int k = 0; k < c; k++) dst[(size_t)k * plane + p] = b[p * c + k];
  }
  return finish(d, i, &d->src, raw, err);
}

int adx_dataset_has_masks(const adx_dataset *d) { return d ? d->has_masks : 0; }

const char *adx_dataset_mask_source(const adx_dataset *d) {
  return d && d->has_masks ? d->mask_source : NULL;
}

adx_status adx_dataset_get_mask(adx_dataset *d, int64_t i, uint8_t *mask, adx_error *err) {
  if (!d->has_masks) return adx_fail(err, ADX_ERR_ARG, "%s: the dataset has no object masks", d->path);
  if (i < 0 || i >= d->n)
    return adx_fail(err, ADX_ERR_ARG, "%s: item %lld is out of range (the dataset has %lld)", d->path,
                    (long long)i, (long long)d->n);
  size_t plane = (size_t)d->src_h * d->src_w;
  if (d->h5) {
    adx_status s = adx_dataset_h5_read_mask(d, i, err);
    if (s) return s;
  } else {
    memcpy(d->mask_src, d->mask_idx.data + (size_t)i * plane, plane);
  }
  adx_status s = adx_preproc_geometry_mask(&d->pp, d->mask_src, d->src_h, d->src_w, d->H, d->W, mask, err);
  if (s) adx_error_prefix(err, "%s: mask %lld: ", d->mask_source, (long long)i);
  return s;
}

void adx_dataset_close(adx_dataset *d) {
  if (!d) return;
  adx_idx_free(&d->mask_idx);
  free(d->mask_src);
  free(d->mask_source);
  adx_dataset_h5_close(d);
  adx_idx_free(&d->idx);
  if (d->files)
    for (int64_t i = 0; i < d->n; i++) free(d->files[i]);
  free(d->files);
  if (d->classes)
    for (int k = 0; k < d->nclasses; k++) free(d->classes[k]);
  free(d->classes);
  free(d->labels);
  free(d->hwc);
  adx_image_free(&d->src);
  free(d->path);
  free(d);
}

/* ------------------------------------------------------------------ selection */

adx_status adx_dataset_select(int64_t n, int64_t offset, int64_t limit, int64_t sample, uint64_t seed,
                              int64_t **indices, int64_t *count, adx_error *err) {
  *indices = NULL;
  *count = 0;
  if (n <= 0) return adx_fail(err, ADX_ERR_ARG, "the dataset has no items to select from");
  if (offset < 0 || offset >= n)
    return adx_fail(err, ADX_ERR_ARG, "offset %lld is out of range (the dataset has %lld items)",
                    (long long)offset, (long long)n);
  if (limit < 0) return adx_fail(err, ADX_ERR_ARG, "limit %lld is negative", (long long)limit);
  if (sample < 0) return adx_fail(err, ADX_ERR_ARG, "sample %lld is negative", (long long)sample);
  int64_t range = n - offset;
  if (limit > 0 && limit < range) range = limit;
  if (sample > range)
    return adx_fail(err, ADX_ERR_ARG, "sample %lld is larger than the %lld selected items", (long long)sample,
                    (long long)range);
  int64_t k = sample > 0 ? sample : range;
  if ((uint64_t)k > SIZE_MAX / sizeof(int64_t))
    return adx_fail(err, ADX_ERR_LIMIT, "selection of %lld items is too large", (long long)k);
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)k);
  if (!idx) return adx_fail(err, ADX_ERR_NOMEM, "out of memory selecting %lld items", (long long)k);
  if (k == range) {
    for (int64_t t = 0; t < k; t++) idx[t] = offset + t;
  } else {
    /* Selection sampling (Knuth's Algorithm S): one pass, every k-subset equally likely, already sorted. */
    adx_rng r;
    adx_rng_seed(&r, adx_seed_mix(seed, 0x73656c656374ULL /* "select" */));
    int64_t need = k, got = 0;
    for (int64_t t = 0; t < range && need > 0; t++)
      if ((int64_t)adx_rng_below(&r, (uint64_t)(range - t)) < need) {
        idx[got++] = offset + t;
        need--;
      }
  }
  *indices = idx;
  *count = k;
  return ADX_OK;
}
