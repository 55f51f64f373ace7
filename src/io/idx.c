/* IDX reader (zlib reads gzipped and plain files alike). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "adx/dataset.h"

static int read_exact(gzFile f, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
    int r = gzread(f, (char *)buf + got, (unsigned)chunk);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Magic and dimensions; *total = product of the dimensions (checked against max_bytes). */
static adx_status read_header(gzFile f, const char *path, int64_t max_bytes, adx_idx *out, int64_t *total,
                              adx_error *err) {
  unsigned char hdr[4];
  if (read_exact(f, hdr, 4)) return adx_fail(err, ADX_ERR_FORMAT, "%s: not an IDX file (too short)", path);
  if (hdr[0] || hdr[1] || hdr[3] < 1 || hdr[3] > 4)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: not an IDX file (bad magic %02x%02x%02x%02x)", path, hdr[0],
                    hdr[1], hdr[2], hdr[3]);
  if (hdr[2] != 0x08)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: IDX element type 0x%02x is not unsigned byte (0x08)", path,
                    hdr[2]);
  out->ndim = hdr[3];
  *total = 1;
  for (int i = 0; i < out->ndim; i++) {
    unsigned char d[4];
    if (read_exact(f, d, 4)) return adx_fail(err, ADX_ERR_FORMAT, "%s: truncated IDX header", path);
    out->dims[i] = ((int64_t)d[0] << 24) | ((int64_t)d[1] << 16) | ((int64_t)d[2] << 8) | d[3];
    if (out->dims[i] == 0) return adx_fail(err, ADX_ERR_FORMAT, "%s: IDX dimension %d is zero", path, i);
    if (out->dims[i] > max_bytes || *total > max_bytes / out->dims[i])
      return adx_fail(err, ADX_ERR_LIMIT, "%s: IDX dimension %d (%lld) exceeds the %lld-byte limit", path, i,
                      (long long)out->dims[i], (long long)max_bytes);
    *total *= out->dims[i];
  }
  return ADX_OK;
}

static gzFile open_gz(const char *path, adx_error *err) {
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (!f) adx_fail(err, ADX_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
  return f;
}

adx_status adx_idx_header(const char *path, int64_t max_bytes, adx_idx *out, adx_error *err) {
  memset(out, 0, sizeof *out);
  if (max_bytes <= 0) max_bytes = (int64_t)4 << 30;
  gzFile f = open_gz(path, err);
  if (!f) return ADX_ERR_IO;
  int64_t total;
  adx_status s = read_header(f, path, max_bytes, out, &total, err);
  gzclose(f);
  if (s) memset(out, 0, sizeof *out);
  return s;
}

adx_status adx_idx_load(const char *path, int64_t max_bytes, adx_idx *out, adx_error *err) {
  memset(out, 0, sizeof *out);
  if (max_bytes <= 0) max_bytes = (int64_t)4 << 30;
  gzFile f = open_gz(path, err);
  if (!f) return ADX_ERR_IO;
  int64_t total = 0;
  adx_status s = read_header(f, path, max_bytes, out, &total, err);
  if (s) goto done;
  out->data = malloc((size_t)total);
  if (!out->data) {
    s = adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory for %lld bytes", path, (long long)total);
    goto done;
  }
  if (read_exact(f, out->data, (size_t)total)) {
    s = adx_fail(err, ADX_ERR_FORMAT, "%s: truncated IDX data (header declares %lld bytes)", path,
                 (long long)total);
    goto done;
  }
  unsigned char extra;
  if (gzread(f, &extra, 1) > 0) {
    s = adx_fail(err, ADX_ERR_FORMAT,
                 "%s: trailing bytes after the %lld bytes of IDX data the header declares", path,
                 (long long)total);
    goto done;
  }
done:
  gzclose(f);
  if (s) adx_idx_free(out);
  return s;
}

void adx_idx_free(adx_idx *x) {
  free(x->data);
  memset(x, 0, sizeof *x);
}

int adx_idx_masks_path(const char *images_path, char *buf, size_t len) {
  /* "images-idx3" / "images.idx3" -> "masks-idx3" / "masks.idx3": the last match, as for labels */
  const char *p = NULL;
  for (const char *q = strstr(images_path, "images"); q; q = strstr(q + 1, "images"))
    if ((q[6] == '-' || q[6] == '.') && q[7] == 'i' && q[8] == 'd' && q[9] == 'x' && q[10] == '3') p = q;
  if (!p || strlen(images_path) + 1 > len) return -1;
  size_t pre = (size_t)(p - images_path);
  snprintf(buf, len, "%.*smasks%s", (int)pre, images_path, p + 6);
  if (access(buf, F_OK) == 0) return 0;
  /* the other compression: "...-masks-idx3-ubyte.gz" beside "...-images-idx3-ubyte", and the reverse */
  size_t n = strlen(buf);
  if (n > 3 && !strcmp(buf + n - 3, ".gz"))
    buf[n - 3] = '\0';
  else if (n + 4 <= len)
    memcpy(buf + n, ".gz", 4);
  else
    return -1;
  return access(buf, F_OK) == 0 ? 0 : -1;
}

int adx_idx_labels_path(const char *images_path, char *buf, size_t len) {
  /* "images-idx3" / "images-idx4" / "images.idx3" ... -> "labels-idx1" / "labels.idx1": the last match */
  const char *p = NULL;
  for (const char *q = strstr(images_path, "images"); q; q = strstr(q + 1, "images"))
    if ((q[6] == '-' || q[6] == '.') && q[7] == 'i' && q[8] == 'd' && q[9] == 'x' && q[10] >= '2' &&
        q[10] <= '4')
      p = q;
  if (!p || strlen(images_path) + 1 > len) return -1;
  size_t pre = (size_t)(p - images_path);
  snprintf(buf, len, "%.*slabels%cidx1%s", (int)pre, images_path, p[6], p + 11);
  return access(buf, R_OK) == 0 ? 0 : -1;
}
