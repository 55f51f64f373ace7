/* NumPy .npy reading and writing (format 1.0-3.0, C order, little-endian f4 / u1 / i8).
 * The header is a Python dict literal; it is parsed strictly: exactly the keys descr, fortran_order
 * and shape, each once, and nothing but padding after the closing brace. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adx/io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "adx's .npy reader assumes a little-endian host"
#endif

#define NPY_MAX_HEADER (1 << 20) /* numpy itself refuses headers over 10 kB by default */

typedef struct npy_header {
  char descr[16];
  int fortran;
  int ndim;
  int64_t dims[ADX_MAX_DIMS];
  int have_descr, have_fortran, have_shape;
} npy_header;

typedef struct cursor {
  const char *s, *end;
} cursor;

static void skip_ws(cursor *c) {
  while (c->s < c->end && (*c->s == ' ' || *c->s == '\t')) c->s++;
}

static int accept(cursor *c, char ch) {
  skip_ws(c);
  if (c->s < c->end && *c->s == ch) {
    c->s++;
    return 1;
  }
  return 0;
}

/* A quoted Python string (single or double quotes, no escapes) into buf. */
static int parse_str(cursor *c, char *buf, size_t len) {
  skip_ws(c);
  if (c->s >= c->end || (*c->s != '\'' && *c->s != '"')) return -1;
  char q = *c->s++;
  size_t n = 0;
  while (c->s < c->end && *c->s != q) {
    if (*c->s == '\\' || n + 1 >= len) return -1;
    buf[n++] = *c->s++;
  }
  if (c->s >= c->end) return -1;
  c->s++;
  buf[n] = '\0';
  return 0;
}

static int parse_word(cursor *c, const char *w) {
  skip_ws(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->s) < n || memcmp(c->s, w, n)) return 0;
  c->s += n;
  return 1;
}

/* Returns NULL on success, else what was wrong. */
static const char *parse_header(const char *text, size_t len, npy_header *h) {
  cursor c = {text, text + len};
  memset(h, 0, sizeof *h);
  if (!accept(&c, '{')) return "header does not start with '{'";
  for (;;) {
    if (accept(&c, '}')) break;
    char key[32];
    if (parse_str(&c, key, sizeof key)) return "bad key in header dict";
    if (!accept(&c, ':')) return "missing ':' in header dict";
    if (!strcmp(key, "descr")) {
      if (h->have_descr++) return "duplicate key 'descr'";
      if (parse_str(&c, h->descr, sizeof h->descr)) return "bad 'descr' value";
    } else if (!strcmp(key, "fortran_order")) {
      if (h->have_fortran++) return "duplicate key 'fortran_order'";
      if (parse_word(&c, "True"))
        h->fortran = 1;
      else if (parse_word(&c, "False"))
        h->fortran = 0;
      else
        return "bad 'fortran_order' value";
    } else if (!strcmp(key, "shape")) {
      if (h->have_shape++) return "duplicate key 'shape'";
      if (!accept(&c, '(')) return "bad 'shape' value";
      while (!accept(&c, ')')) {
        skip_ws(&c);
        if (c.s >= c.end || !isdigit((unsigned char)*c.s)) return "bad 'shape' value";
        int64_t v = 0;
        while (c.s < c.end && isdigit((unsigned char)*c.s)) {
          if (v > (INT64_MAX - 9) / 10) return "shape dimension too large";
          v = v * 10 + (*c.s++ - '0');
        }
        if (c.s < c.end && *c.s == 'L') c.s++; /* Python 2 long suffix */
        if (h->ndim >= ADX_MAX_DIMS) return "rank over the limit";
        h->dims[h->ndim++] = v;
        if (!accept(&c, ',')) {
          if (!accept(&c, ')')) return "bad 'shape' value";
          break;
        }
      }
    } else {
      return "unknown key in header dict";
    }
    if (!accept(&c, ',')) {
      if (!accept(&c, '}')) return "missing ',' or '}' in header dict";
      break;
    }
  }
  if (!h->have_descr || !h->have_fortran || !h->have_shape)
    return "header misses descr, fortran_order or shape";
  /* only padding after the dict: spaces, then one final newline */
  while (c.s < c.end && *c.s == ' ') c.s++;
  if (c.s != c.end - 1 || *c.s != '\n') return "junk after the header dict";
  return NULL;
}

static uint32_t rd_le(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* Magic, version and header length; then the header text into *hdr (*hdr_len bytes and a NUL, malloc'd)
 * and the data offset into *data_off. */
static adx_status read_header(FILE *f, const char *path, uint64_t fsize, char **hdr, uint64_t *hdr_len,
                              uint64_t *data_off, adx_error *err) {
  unsigned char pre[12];
  if (fsize < 10 || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6))
    return adx_fail(err, ADX_ERR_FORMAT, "%s: not a .npy file (bad magic)", path);
  int major = pre[6];
  uint64_t hlen, off;
  if (major == 1) {
    hlen = rd_le(pre + 8, 2);
    off = 10;
  } else if (major == 2 || major == 3) {
    if (fsize < 12 || fread(pre + 10, 1, 2, f) != 2)
      return adx_fail(err, ADX_ERR_FORMAT, "%s: truncated .npy header", path);
    hlen = rd_le(pre + 8, 4);
    off = 12;
  } else {
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported", path, major,
                    pre[7]);
  }
  if (hlen == 0 || hlen > NPY_MAX_HEADER || off + hlen > fsize)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: bad .npy header length %llu", path, (unsigned long long)hlen);
  *hdr = malloc(hlen + 1);
  if (!*hdr) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory", path);
  if (fread(*hdr, 1, hlen, f) != hlen) return adx_fail(err, ADX_ERR_IO, "%s: read error", path);
  (*hdr)[hlen] = '\0';
  *hdr_len = hlen;
  *data_off = off + hlen;
  return ADX_OK;
}

/* The parsed header's dtype and element count, checked against the data bytes of the file. */
static adx_status check_header(const npy_header *h, const char *path, uint64_t data_bytes, adx_dtype *dt,
                               int *u8, uint64_t *count, adx_error *err) {
  *u8 = 0;
  if (!strcmp(h->descr, "<f4"))
    *dt = ADX_F32;
  else if (!strcmp(h->descr, "|u1") || !strcmp(h->descr, "<u1") || !strcmp(h->descr, "u1"))
    *dt = ADX_F32, *u8 = 1;
  else if (!strcmp(h->descr, "<i8"))
    *dt = ADX_I64;
  else
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: .npy dtype '%s' is not supported (%s)", path, h->descr,
                    h->descr[0] == '>' ? "big-endian" : "use '<f4', '|u1' or '<i8'");
  if (h->fortran)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: .npy array is in Fortran order; save it in C order", path);
  uint64_t n = 1, esize = *u8 ? 1 : adx_dtype_size(*dt);
  for (int i = 0; i < h->ndim; i++) {
    if (h->dims[i] && n > UINT64_MAX / 8 / (uint64_t)h->dims[i])
      return adx_fail(err, ADX_ERR_FORMAT, "%s: .npy shape is too large", path);
    n *= (uint64_t)h->dims[i];
  }
  char dims[256];
  adx_dims_str(h->dims, h->ndim, dims, sizeof dims);
  if (data_bytes != n * esize)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: .npy data is %llu bytes but shape %s of '%s' needs %llu", path,
                    (unsigned long long)data_bytes, dims, h->descr, (unsigned long long)(n * esize));
  *count = n;
  return ADX_OK;
}

/* n elements into out's data; uint8 data is widened to float. */
static adx_status read_data(FILE *f, const char *path, int u8, uint64_t n, adx_tensor *out, adx_error *err) {
  if (u8) {
    float *d = adx_f32(out);
    unsigned char buf[4096];
    for (uint64_t i = 0; i < n;) {
      size_t k = n - i < sizeof buf ? (size_t)(n - i) : sizeof buf;
      if (fread(buf, 1, k, f) != k) return adx_fail(err, ADX_ERR_IO, "%s: read error", path);
      for (size_t j = 0; j < k; j++) d[i + j] = (float)buf[j];
      i += k;
    }
  } else if (n && fread(out->data, adx_dtype_size(out->dtype), n, f) != n) {
    return adx_fail(err, ADX_ERR_IO, "%s: read error", path);
  }
  if (ferror(f)) return adx_fail(err, ADX_ERR_IO, "%s: read error", path);
  return ADX_OK;
}

adx_status adx_npy_load(const char *path, adx_tensor *out, adx_error *err) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return adx_fail(err, ADX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  char *hdr = NULL;
  struct stat sb;
  uint64_t hlen = 0, off = 0, n = 0;
  adx_status s = ADX_OK;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode))
    s = adx_fail(err, ADX_ERR_IO, "%s: not a regular file", path);
  uint64_t fsize = s ? 0 : (uint64_t)sb.st_size;
  if (!s) s = read_header(f, path, fsize, &hdr, &hlen, &off, err);
  npy_header h;
  const char *why = s ? NULL : parse_header(hdr, hlen, &h);
  if (why)
    s = adx_fail(err, strstr(why, "rank") ? ADX_ERR_LIMIT : ADX_ERR_FORMAT, "%s: malformed .npy header: %s",
                 path, why);
  adx_dtype dt = ADX_F32;
  int u8 = 0;
  if (!s) s = check_header(&h, path, fsize - off, &dt, &u8, &n, err);
  if (!s && (s = adx_tensor_alloc(out, dt, h.ndim, h.dims, err))) adx_error_prefix(err, "%s: ", path);
  if (!s && (s = read_data(f, path, u8, n, out, err))) adx_tensor_free(out);
  free(hdr);
  fclose(f);
  return s;
}

adx_status adx_npy_save(const char *path, const adx_tensor *t, adx_error *err) {
  const char *descr = t->dtype == ADX_F32 ? "<f4" : t->dtype == ADX_I64 ? "<i8" : NULL;
  if (!descr)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "%s: cannot save dtype %d as .npy", path, (int)t->dtype);
  if (t->ndim < 0 || t->ndim > ADX_MAX_DIMS)
    return adx_fail(err, ADX_ERR_ARG, "%s: bad tensor rank %d", path, t->ndim);
  char dict[512];
  int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < t->ndim; i++)
    k += snprintf(dict + k, sizeof dict - k, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  if (t->ndim == 1) dict[k++] = ',';
  k += snprintf(dict + k, sizeof dict - k, "), }");
  /* pad with spaces so that magic + length + header is a multiple of 64, ending with '\n' */
  size_t total = 10 + (size_t)k + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t hlen = (size_t)k + pad + 1;
  unsigned char pre[10] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
  FILE *f = fopen(path, "wb");
  if (!f) return adx_fail(err, ADX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  size_t n = (size_t)adx_tensor_numel(t);
  int bad = fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)k, f) != (size_t)k;
  for (size_t i = 0; i < pad && !bad; i++) bad = fputc(' ', f) == EOF;
  if (!bad) bad = fputc('\n', f) == EOF;
  if (!bad && n) bad = fwrite(t->data, adx_dtype_size(t->dtype), n, f) != n;
  if (fclose(f) != 0) bad = 1;
  if (bad) return adx_fail(err, ADX_ERR_IO, "%s: write error: %s", path, strerror(errno));
  return ADX_OK;
}
