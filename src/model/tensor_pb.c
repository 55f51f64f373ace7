/* ONNX TensorProto decoding: initializers, tensor attributes, external data files and the
 * standalone input_N.pb / output_N.pb files of ONNX's test data all go through adx_model_tensor_decode. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx_internal.h"

/* raw_data and external data are little-endian; adx copies them as is. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "adx assumes a little-endian host"
#endif

/* Bytes per element of the ONNX data types adx reads; 0 for the rest. */
static size_t onnx_elem_size(int32_t dt) {
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 8;
  default: return 0;
  }
}

static const char *onnx_dtype_name(int32_t dt) {
  static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
                                      "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                      "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  return (dt >= 0 && dt < (int32_t)(sizeof names / sizeof names[0])) ? names[dt] : "unknown";
}

/* Convert n little-endian elements of ONNX type dt at src into t (already allocated). */
static void convert_raw(int32_t dt, const uint8_t *src, size_t n, adx_tensor *t) {
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: /* same layout as adx's F32 / I64 */
    if (n) memcpy(t->data, src, n * adx_dtype_size(t->dtype));
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    for (size_t i = 0; i < n; i++) {
      int32_t v;
      memcpy(&v, src + 4 * i, 4);
      adx_i64(t)[i] = v;
    }
    break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    for (size_t i = 0; i < n; i++) {
      double v;
      memcpy(&v, src + 8 * i, 8);
      adx_f32(t)[i] = (float)v;
    }
    break;
  default: break;
  }
}

/* Parse a non-negative decimal integer; -1 if malformed. */
static int64_t parse_nonneg(const char *s) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || v < 0) return -1;
  return (int64_t)v;
}

/* Refuse locations that could leave the model's directory: absolute paths and '..' components. */
static int location_is_safe(const char *loc) {
  if (!loc[0] || loc[0] == '/' || loc[0] == '\\') return 0;
  const char *p = loc;
  while (*p) {
    const char *q = p;
    while (*q && *q != '/' && *q != '\\') q++;
    if (q - p == 2 && p[0] == '.' && p[1] == '.') return 0;
    p = *q ? q + 1 : q;
  }
  return 1;
}

/* Read the external data of tp (exactly `want` bytes) into a malloc'd buffer. */
static adx_status read_external(const Onnx__TensorProto *tp, const char *tname, const char *base_dir,
                                size_t want, uint8_t **out, adx_error *err) {
  const char *loc = NULL;
  int64_t offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *kv = tp->external_data[i];
    if (!kv->key) continue;
    if (!strcmp(kv->key, "location"))
      loc = kv->value;
    else if (!strcmp(kv->key, "offset") || !strcmp(kv->key, "length")) {
      int64_t v = parse_nonneg(kv->value);
      if (v < 0)
        return adx_fail(err, ADX_ERR_FORMAT, "tensor '%s': external data %s '%s' is not a valid size", tname,
                        kv->key, kv->value ? kv->value : "");
      if (kv->key[0] == 'o')
        offset = v;
      else
        length = v;
    }
  }
  if (!loc) return adx_fail(err, ADX_ERR_FORMAT, "tensor '%s': external data has no location", tname);
  if (!location_is_safe(loc))
    return adx_fail(err, ADX_ERR_FORMAT,
                    "tensor '%s': external data location '%s' is absolute or leaves the model's directory",
                    tname, loc);
  if (!base_dir)
    return adx_fail(err, ADX_ERR_FORMAT, "tensor '%s': external data '%s' needs the model's file path", tname,
                    loc);
  size_t plen = strlen(base_dir) + strlen(loc) + 2;
  char *path = malloc(plen);
  if (!path) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  snprintf(path, plen, "%s/%s", base_dir, loc);
  adx_status s = ADX_OK;
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f) {
    s = adx_fail(err, ADX_ERR_IO, "tensor '%s': external data file %s: cannot open: %s", tname, path,
                 strerror(errno));
    goto done;
  }
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    s = adx_fail(err, ADX_ERR_IO, "tensor '%s': external data %s is not a regular file", tname, path);
    goto done;
  }
  int64_t size = (int64_t)st.st_size;
  if (length < 0) length = offset <= size ? size - offset : 0;
  if ((uint64_t)length != (uint64_t)want) {
    s = adx_fail(err, ADX_ERR_FORMAT,
                 "tensor '%s': external data length %lld does not match its shape (%zu bytes)", tname,
                 (long long)length, want);
    goto done;
  }
  if (offset > size || length > size - offset) {
    s = adx_fail(err, ADX_ERR_FORMAT,
                 "tensor '%s': external data file %s is too short (%lld bytes, need %lld at offset %lld)",
                 tname, path, (long long)size, (long long)length, (long long)offset);
    goto done;
  }
  uint8_t *b = malloc(want ? want : 1);
  if (!b) {
    s = adx_fail(err, ADX_ERR_NOMEM, "tensor '%s': out of memory (%zu bytes)", tname, want);
    goto done;
  }
  if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || (want && fread(b, 1, want, f) != want)) {
    free(b);
    s = adx_fail(err, ADX_ERR_IO, "tensor '%s': read error in external data file %s", tname, path);
    goto done;
  }
  *out = b;
done:
  if (f) fclose(f);
  free(path);
  return s;
}

adx_status adx_model_tensor_decode(const Onnx__TensorProto *tp, const char *base_dir, int64_t max_elems,
                                   adx_tensor *t, adx_error *err) {
  memset(t, 0, sizeof *t);
  const char *tname = (tp->name && tp->name[0]) ? tp->name : "(unnamed)";
  int32_t dt = tp->has_data_type ? tp->data_type : ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED;
  size_t esize = onnx_elem_size(dt);
  if (!esize)
    return adx_fail(err, ADX_ERR_UNSUPPORTED,
                    "tensor '%s': data type %s is not supported (adx reads FLOAT, DOUBLE, INT64, INT32)",
                    tname, onnx_dtype_name(dt));
  if (tp->n_dims > ADX_MAX_DIMS)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "tensor '%s': rank %zu exceeds %d", tname, tp->n_dims,
                    ADX_MAX_DIMS);
  if (tp->segment)
    return adx_fail(err, ADX_ERR_UNSUPPORTED, "tensor '%s': segmented tensors are not supported", tname);
  int64_t numel = 1;
  for (size_t i = 0; i < tp->n_dims; i++) {
    int64_t d = tp->dims[i];
    if (d < 0)
      return adx_fail(err, ADX_ERR_FORMAT, "tensor '%s': dimension %zu is negative (%lld)", tname, i,
                      (long long)d);
    if (d > 0 && numel > max_elems / d)
      return adx_fail(err, ADX_ERR_LIMIT, "tensor '%s': more than %lld elements", tname,
                      (long long)max_elems);
    numel *= d;
  }
  if (numel > max_elems)
    return adx_fail(err, ADX_ERR_LIMIT, "tensor '%s': more than %lld elements", tname, (long long)max_elems);
  size_t n = (size_t)numel, want;
  if (adx_mul_size(n, esize, &want)) return adx_fail(err, ADX_ERR_LIMIT, "tensor '%s': too large", tname);

  int external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  uint8_t *ext = NULL;
  const uint8_t *raw = NULL;
  if (external) {
    adx_status s = read_external(tp, tname, base_dir, want, &ext, err);
    if (s) return s;
    raw = ext;
  } else if (tp->has_raw_data) {
    if (tp->raw_data.len != want)
      return adx_fail(err, ADX_ERR_FORMAT, "tensor '%s': raw_data has %zu bytes, its shape needs %zu", tname,
                      tp->raw_data.len, want);
    raw = tp->raw_data.data;
  } else {
    size_t have = 0;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = tp->n_float_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = tp->n_int64_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: have = tp->n_int32_data; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = tp->n_double_data; break;
    }
    if (have != n)
      return adx_fail(err, ADX_ERR_FORMAT, "tensor '%s': has %zu values, its shape needs %zu", tname, have,
                      n);
  }

  adx_dtype adt = (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
                      ? ADX_F32
                      : ADX_I64;
  int64_t dims[ADX_MAX_DIMS];
  for (size_t i = 0; i < tp->n_dims; i++) dims[i] = tp->dims[i];
  adx_status s = adx_tensor_alloc(t, adt, (int)tp->n_dims, dims, err);
  if (s) {
    free(ext);
    return adx_error_prefix(err, "tensor '%s': ", tname);
  }
  if (raw) {
    convert_raw(dt, raw, n, t);
  } else {
    for (size_t i = 0; i < n; i++) {
      switch (dt) {
      case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: adx_f32(t)[i] = tp->float_data[i]; break;
      case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: adx_f32(t)[i] = (float)tp->double_data[i]; break;
      case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: adx_i64(t)[i] = tp->int64_data[i]; break;
      case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: adx_i64(t)[i] = tp->int32_data[i]; break;
      }
    }
  }
  free(ext);
  return ADX_OK;
}

adx_status adx_tensor_load_pb(const char *path, adx_tensor *t, adx_error *err) {
  adx_error local;
  if (!err) err = &local;
  memset(t, 0, sizeof *t);
  adx_model_limits lim;
  adx_model_limits_default(&lim);
  uint8_t *buf;
  size_t len;
  adx_status s = adx_file_read(path, lim.max_file_bytes, &buf, &len, err);
  if (s) return s;
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
  free(buf);
  if (!tp)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: not a valid ONNX TensorProto (protobuf decode failed)", path);
  char *dir = adx_path_dir(path);
  if (!dir)
    s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  else if ((s = adx_model_tensor_decode(tp, dir, lim.max_tensor_elems, t, err)))
    adx_error_prefix(err, "%s: ", path);
  free(dir);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return s;
}
