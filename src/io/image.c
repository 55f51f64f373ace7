/* PNG (libpng) and JPEG (libjpeg-turbo, libjpeg API) decoding into planar float images, bilinear resizing
 * (adx_image_resize) and PNG writing.
 * Both libraries report errors by longjmp: their handlers copy the message into our state and jump
 * back; nothing is printed. Every setjmp lives in a small function whose own locals are not touched
 * after it, so all state that must survive the jump is in a struct owned by the caller. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>

#include "adx/io.h"

void adx_image_limits_default(adx_image_limits *l) {
  l->max_pixels = ADX_IMAGE_MAX_PIXELS_DEFAULT;
  l->max_file_bytes = ADX_IMAGE_MAX_FILE_BYTES_DEFAULT;
}

adx_status adx_image_alloc(adx_image *img, int channels, int height, int width, adx_error *err) {
  memset(img, 0, sizeof *img);
  size_t n;
  if (channels <= 0 || height <= 0 || width <= 0 || adx_mul_size((size_t)channels, (size_t)height, &n) ||
      adx_mul_size(n, (size_t)width, &n) || adx_mul_size(n, sizeof(float), &n))
    return adx_fail(err, ADX_ERR_LIMIT, "bad image size %dx%dx%d", channels, height, width);
  img->data = adx_calloc(n);
  if (!img->data)
    return adx_fail(err, ADX_ERR_NOMEM, "out of memory allocating a %dx%dx%d image", channels, height, width);
  img->channels = channels;
  img->height = height;
  img->width = width;
  return ADX_OK;
}

void adx_image_free(adx_image *img) {
  if (!img) return;
  adx_free(img->data);
  memset(img, 0, sizeof *img);
}

/* Shared by both decoders: dimension checks from the header, before any pixel allocation. */
static adx_status check_dims(const char *name, const char *fmt, uint64_t w, uint64_t h,
                             const adx_image_limits *lim, adx_error *err) {
  if (w == 0 || h == 0)
    return adx_fail(err, ADX_ERR_FORMAT, "%s: %s image has zero size (%llux%llu)", name, fmt,
                    (unsigned long long)w, (unsigned long long)h);
  if (w > INT32_MAX || h > INT32_MAX || (lim->max_pixels > 0 && w * h > (uint64_t)lim->max_pixels))
    return adx_fail(err, ADX_ERR_LIMIT,
                    "%s: %s image is %llux%llu (%llu pixels), over the limit of %lld pixels", name, fmt,
                    (unsigned long long)w, (unsigned long long)h, (unsigned long long)(w * h),
                    (long long)lim->max_pixels);
  return ADX_OK;
}

/* ------------------------------------------------------------------ PNG */

typedef struct png_state {
  const char *name;
  const adx_image_limits *lim;
  const unsigned char *buf;
  size_t len, pos;
  png_structp png;
  png_infop info;
  unsigned char *pixels; /* decoded rows */
  png_bytep *rows;
  adx_image *out;
  adx_error *err;
  adx_status status; /* set before jumping when the failure is ours, not libpng's */
  char msg[256];     /* libpng's error message */
} png_state;

static void png_on_error(png_structp png, png_const_charp msg) {
  png_state *st = png_get_error_ptr(png);
  snprintf(st->msg, sizeof st->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_read_mem(png_structp png, png_bytep dst, png_size_t n) {
  png_state *st = png_get_io_ptr(png);
  if (n > st->len - st->pos) png_error(png, "file is truncated");
  memcpy(dst, st->buf + st->pos, n);
  st->pos += n;
}

static int png_decode_jmp(png_state *st) {
  if (setjmp(png_jmpbuf(st->png))) return -1;
  png_set_read_fn(st->png, st, png_read_mem);
  /* our own pixel limit decides; libpng's default 1e6 x 1e6 cap would report a size as corruption */
  png_set_user_limits(st->png, 0x7fffffffU, 0x7fffffffU);
  png_read_info(st->png, st->info);
  png_uint_32 w = png_get_image_width(st->png, st->info), h = png_get_image_height(st->png, st->info);
  int depth = png_get_bit_depth(st->png, st->info), ctype = png_get_color_type(st->png, st->info);
  if ((st->status = check_dims(st->name, "PNG", w, h, st->lim, st->err)) != ADX_OK) return -1;
  if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(st->png);
  if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(st->png);
  /* alpha (an alpha channel, or a tRNS chunk that palette expansion turns into one) is ignored, by design */
  if ((ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(st->png, st->info, PNG_INFO_tRNS))
    png_set_strip_alpha(st->png);
  png_set_interlace_handling(st->png);
  png_read_update_info(st->png, st->info);
  int ch = png_get_channels(st->png, st->info);
  int odepth = png_get_bit_depth(st->png, st->info);
  size_t rowbytes = png_get_rowbytes(st->png, st->info), total;
  if ((ch != 1 && ch != 3) || (odepth != 8 && odepth != 16) || rowbytes < (size_t)w * ch * (odepth / 8)) {
    st->status = adx_fail(st->err, ADX_ERR_UNSUPPORTED,
                          "%s: unsupported PNG layout (colour type %d, depth %d)", st->name, ctype, depth);
    return -1;
  }
  if (adx_mul_size(rowbytes, h, &total)) {
    st->status = adx_fail(st->err, ADX_ERR_LIMIT, "%s: PNG too large", st->name);
    return -1;
  }
  st->pixels = malloc(total);
  st->rows = malloc(sizeof(png_bytep) * h);
  if ((st->status = adx_image_alloc(st->out, ch, (int)h, (int)w, st->err)) != ADX_OK) return -1;
  if (!st->pixels || !st->rows) {
    st->status = adx_fail(st->err, ADX_ERR_NOMEM, "%s: out of memory decoding a %ux%u PNG", st->name, w, h);
    return -1;
  }
  for (png_uint_32 y = 0; y < h; y++) st->rows[y] = st->pixels + (size_t)y * rowbytes;
  png_read_image(st->png, st->rows);
  png_read_end(st->png, NULL);
  /* interleaved rows -> planar floats */
  size_t plane = (size_t)w * h;
  float *d = st->out->data;
  for (png_uint_32 y = 0; y < h; y++) {
    const unsigned char *r = st->rows[y];
    for (png_uint_32 x = 0; x < w; x++)
      for (int c = 0; c < ch; c++) {
        size_t i = (size_t)x * ch + c;
        float v = odepth == 8 ? (float)r[i] : (float)((r[2 * i] << 8) | r[2 * i + 1]) / 257.0f;
        d[c * plane + (size_t)y * w + x] = v;
      }
  }
  return 0;
}

/* Walk the chunk list (length, type, data, CRC) before libpng sees the file. libpng 1.6.39 reads some
 * ancillary chunks (sPLT at least) into one buffer of the declared length before reading their data, and
 * its chunk-size cap does not stop it: a 123-byte file declaring a 1.9 GB sPLT chunk made it allocate
 * 1.9 GB before finding the file truncated (the png fuzz target; tests/fuzz/regress/png/). A chunk that
 * declares more bytes than the file has left is refused here; what remains is libpng's to judge. */
static adx_status png_check_chunks(const unsigned char *b, size_t len, const char *name, adx_error *err) {
  size_t pos = 8; /* past the signature */
  while (len - pos >= 8) {
    uint32_t n = (uint32_t)b[pos] << 24 | (uint32_t)b[pos + 1] << 16 | (uint32_t)b[pos + 2] << 8 | b[pos + 3];
    char type[5] = {0};
    for (int i = 0; i < 4; i++) {
      unsigned char c = b[pos + 4 + i];
      type[i] = (char)((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? c : '?');
    }
    size_t left = len - pos - 8; /* data + CRC available */
    if (n > left || left - n < 4)
      return adx_fail(
          err, ADX_ERR_FORMAT,
          "%s: corrupt or truncated PNG: chunk '%s' at byte %zu declares %lu bytes, the file has %zu "
          "left",
          name, type, pos, (unsigned long)n, left);
    pos += 12 + (size_t)n;
    if (!memcmp(type, "IEND", 4)) break;
  }
  return ADX_OK;
}

static adx_status png_decode(const unsigned char *buf, size_t len, const char *name,
                             const adx_image_limits *lim, adx_image *out, adx_error *err) {
  adx_status s = png_check_chunks(buf, len, name, err);
  if (s) return s;
  png_state st = {.name = name, .lim = lim, .buf = buf, .len = len, .out = out, .err = err};
  st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_on_error, png_on_warning);
  if (st.png) st.info = png_create_info_struct(st.png);
  if (!st.png || !st.info) {
    png_destroy_read_struct(st.png ? &st.png : NULL, NULL, NULL);
    return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory starting the PNG decoder", name);
  }
  int rc = png_decode_jmp(&st);
  png_destroy_read_struct(&st.png, &st.info, NULL);
  free(st.rows);
  free(st.pixels);
  if (rc == 0) return ADX_OK;
  adx_image_free(out);
  if (st.status != ADX_OK) return st.status;
  return adx_fail(err, ADX_ERR_FORMAT, "%s: corrupt or truncated PNG: %s", name,
                  st.msg[0] ? st.msg : "decode error");
}

/* ------------------------------------------------------------------ JPEG */

typedef struct jpeg_state {
  struct jpeg_error_mgr pub; /* first: libjpeg hands us a pointer to it */
  jmp_buf jmp;
  struct jpeg_progress_mgr progress;
  const char *name;
  const adx_image_limits *lim;
  struct jpeg_decompress_struct cinfo;
  unsigned char *row;
  adx_image *out;
  adx_error *err;
  adx_status status;
  char msg[JMSG_LENGTH_MAX];
} jpeg_state;

static void jpeg_on_error(j_common_ptr cinfo) {
  jpeg_state *st = (jpeg_state *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, st->msg);
  longjmp(st->jmp, 1);
}

/* Warnings (msg_level -1) are corrupt-data reports, e.g. a truncated file that libjpeg would pad with
 * grey: treat them as errors. Trace messages (level >= 0) are dropped. */
static void jpeg_on_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0) jpeg_on_error(cinfo);
}

static void jpeg_on_output(j_common_ptr cinfo) { (void)cinfo; }

/* A progressive JPEG with thousands of scans can take minutes to decode (libjpeg-turbo's advice: cap it). */
#define JPEG_MAX_SCANS 1000
static void jpeg_on_progress(j_common_ptr cinfo) {
  j_decompress_ptr d = (j_decompress_ptr)cinfo;
  jpeg_state *st = (jpeg_state *)cinfo->err;
  if (d->is_decompressor && d->input_scan_number > JPEG_MAX_SCANS) {
    snprintf(st->msg, sizeof st->msg, "more than %d progressive scans", JPEG_MAX_SCANS);
    longjmp(st->jmp, 1);
  }
}

static int jpeg_decode_jmp(jpeg_state *st, const unsigned char *buf, size_t len) {
  j_decompress_ptr ci = &st->cinfo;
  if (setjmp(st->jmp)) return -1;
  jpeg_create_decompress(ci);
  st->progress.progress_monitor = jpeg_on_progress;
  ci->progress = &st->progress;
  jpeg_mem_src(ci, buf, (unsigned long)len);
  jpeg_read_header(ci, TRUE);
  if ((st->status = check_dims(st->name, "JPEG", ci->image_width, ci->image_height, st->lim, st->err)) !=
      ADX_OK)
    return -1;
  switch (ci->jpeg_color_space) {
  case JCS_GRAYSCALE: ci->out_color_space = JCS_GRAYSCALE; break;
  case JCS_YCbCr:
  case JCS_RGB: ci->out_color_space = JCS_RGB; break;
  default:
    st->status = adx_fail(
        st->err, ADX_ERR_UNSUPPORTED, "%s: JPEG colour space %s is not supported (grey or RGB only)",
        st->name, ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK ? "CMYK" : "unknown");
    return -1;
  }
  jpeg_start_decompress(ci);
  int w = (int)ci->output_width, h = (int)ci->output_height, ch = ci->output_components;
  if (ch != 1 && ch != 3) {
    st->status =
        adx_fail(st->err, ADX_ERR_UNSUPPORTED, "%s: JPEG with %d components is not supported", st->name, ch);
    return -1;
  }
  if ((st->status = adx_image_alloc(st->out, ch, h, w, st->err)) != ADX_OK) return -1;
  st->row = malloc((size_t)w * ch);
  if (!st->row) {
    st->status = adx_fail(st->err, ADX_ERR_NOMEM, "%s: out of memory decoding a JPEG", st->name);
    return -1;
  }
  size_t plane = (size_t)w * h;
  float *d = st->out->data;
  while (ci->output_scanline < ci->output_height) {
    int y = (int)ci->output_scanline;
    JSAMPROW r = st->row;
    if (jpeg_read_scanlines(ci, &r, 1) != 1) {
      snprintf(st->msg, sizeof st->msg, "no data for row %d", y);
      return -1;
    }
    for (int x = 0; x < w; x++)
      for (int c = 0; c < ch; c++) d[c * plane + (size_t)y * w + x] = (float)st->row[x * ch + c];
  }
  jpeg_finish_decompress(ci);
  return 0;
}

static adx_status jpeg_decode(const unsigned char *buf, size_t len, const char *name,
                              const adx_image_limits *lim, adx_image *out, adx_error *err) {
  jpeg_state *st = calloc(1, sizeof *st); /* jmp_buf and libjpeg structs: keep them off the stack */
  if (!st) return adx_fail(err, ADX_ERR_NOMEM, "%s: out of memory starting the JPEG decoder", name);
  st->name = name;
  st->lim = lim;
  st->out = out;
  st->err = err;
  st->cinfo.err = jpeg_std_error(&st->pub);
  st->pub.error_exit = jpeg_on_error;
  st->pub.emit_message = jpeg_on_message;
  st->pub.output_message = jpeg_on_output;
  int rc = jpeg_decode_jmp(st, buf, len);
  jpeg_destroy_decompress(&st->cinfo); /* safe on a zeroed or half-created struct */
  free(st->row);
  adx_status s = ADX_OK;
  if (rc != 0) {
    adx_image_free(out);
    s = st->status != ADX_OK ? st->status
                             : adx_fail(err, ADX_ERR_FORMAT, "%s: corrupt or truncated JPEG: %s", name,
                                        st->msg[0] ? st->msg : "decode error");
  }
  free(st);
  return s;
}

/* ------------------------------------------------------------------ entry points */

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

adx_status adx_image_decode(const void *buf, size_t len, const char *name, const adx_image_limits *lim,
                            adx_image *out, adx_error *err) {
  adx_image_limits def;
  if (!lim) {
    adx_image_limits_default(&def);
    lim = &def;
  }
  memset(out, 0, sizeof *out);
  if (!name) name = "<memory>";
  const unsigned char *b = buf;
  if (len == 0) return adx_fail(err, ADX_ERR_FORMAT, "%s: empty file, not an image", name);
  if (len >= 8 && !memcmp(b, png_magic, 8)) return png_decode(b, len, name, lim, out, err);
  if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
    return jpeg_decode(b, len, name, lim, out, err);
  return adx_fail(err, ADX_ERR_FORMAT, "%s: not a PNG or JPEG image (unrecognised file header)", name);
}

adx_status adx_image_load(const char *path, const adx_image_limits *lim, adx_image *out, adx_error *err) {
  adx_image_limits def;
  if (!lim) {
    adx_image_limits_default(&def);
    lim = &def;
  }
  memset(out, 0, sizeof *out);
  uint8_t *buf;
  size_t len;
  adx_status s = adx_file_read(path, lim->max_file_bytes > 0 ? lim->max_file_bytes : -1, &buf, &len, err);
  if (s) return s;
  s = adx_image_decode(buf, len, path, lim, out, err);
  free(buf);
  return s;
}

/* ------------------------------------------------------------------ resizing (bilinear, as PyTorch) */

void adx_image_resize(const float *in, int c, int in_h, int in_w, int oh, int ow, int top, int left,
                      float *out, int out_h, int out_w) {
  int *x0 = malloc(sizeof(int) * 2 * (size_t)out_w);
  float *lx = malloc(sizeof(float) * (size_t)out_w);
  if (!x0 || !lx) { /* tiny tables; fall back to computing per pixel */
    free(x0);
    free(lx);
    x0 = NULL;
    lx = NULL;
  }
  const float rx = (float)in_w / (float)ow, ry = (float)in_h / (float)oh;
  /* PyTorch's area_pixel_compute_source_index + compute_source_index_and_lambda, in float */
#define SRC_INDEX(ratio, d, n, i0, i1, lam)                                                                  \
  do {                                                                                                       \
    float s_ = (ratio) * ((float)(d) + 0.5f) - 0.5f;                                                         \
    if (s_ < 0) s_ = 0;                                                                                      \
    i0 = (int)s_;                                                                                            \
    if (i0 > (n)-1) i0 = (n)-1;                                                                              \
    i1 = i0 + (i0 < (n)-1 ? 1 : 0);                                                                          \
    lam = s_ - (float)i0;                                                                                    \
    if (lam < 0) lam = 0;                                                                                    \
    if (lam > 1) lam = 1;                                                                                    \
  } while (0)
  if (x0)
    for (int x = 0; x < out_w; x++) SRC_INDEX(rx, x + left, in_w, x0[2 * x], x0[2 * x + 1], lx[x]);
  size_t iplane = (size_t)in_h * in_w, oplane = (size_t)out_h * out_w;
  for (int ch = 0; ch < c; ch++) {
    const float *src = in + ch * iplane;
    float *dst = out + ch * oplane;
    for (int y = 0; y < out_h; y++) {
      int y0, y1;
      float ly;
      SRC_INDEX(ry, y + top, in_h, y0, y1, ly);
      const float *r0 = src + (size_t)y0 * in_w, *r1 = src + (size_t)y1 * in_w;
      float h1 = ly, h0 = 1.0f - ly;
      for (int x = 0; x < out_w; x++) {
        int a, b;
        float w1;
        if (x0)
          a = x0[2 * x], b = x0[2 * x + 1], w1 = lx[x];
        else
          SRC_INDEX(rx, x + left, in_w, a, b, w1);
        float w0 = 1.0f - w1;
        dst[(size_t)y * out_w + x] = h0 * (w0 * r0[a] + w1 * r0[b]) + h1 * (w0 * r1[a] + w1 * r1[b]);
      }
    }
  }
#undef SRC_INDEX
  free(x0);
  free(lx);
}

/* ------------------------------------------------------------------ PNG writing */

typedef struct png_wstate {
  png_structp png;
  png_infop info;
  FILE *f;
  const uint8_t *pixels;
  int w, h, ch;
  char msg[256];
} png_wstate;

static void png_on_werror(png_structp png, png_const_charp msg) {
  png_wstate *st = png_get_error_ptr(png);
  snprintf(st->msg, sizeof st->msg, "%s", msg);
  png_longjmp(png, 1);
}

static int png_write_jmp(png_wstate *st) {
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                               PNG_COLOR_TYPE_RGBA};
  if (setjmp(png_jmpbuf(st->png))) return -1;
  png_init_io(st->png, st->f);
  png_set_IHDR(st->png, st->info, (png_uint_32)st->w, (png_uint_32)st->h, 8, types[st->ch],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(st->png, st->info);
  for (int y = 0; y < st->h; y++) png_write_row(st->png, st->pixels + (size_t)y * st->w * st->ch);
  png_write_end(st->png, NULL);
  return 0;
}

adx_status adx_image_save_png(const char *path, const uint8_t *pixels, int width, int height, int channels,
                              adx_error *err) {
  if (width <= 0 || height <= 0 || channels < 1 || channels > 4 || !pixels)
    return adx_fail(err, ADX_ERR_ARG, "%s: cannot write a %dx%d PNG with %d channels", path, width, height,
                    channels);
  png_wstate st = {.pixels = pixels, .w = width, .h = height, .ch = channels};
  st.f = fopen(path, "wb");
  if (!st.f) return adx_fail(err, ADX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  st.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, png_on_werror, png_on_warning);
  if (st.png) st.info = png_create_info_struct(st.png);
  int rc = -1;
  if (st.png && st.info)
    rc = png_write_jmp(&st);
  else
    snprintf(st.msg, sizeof st.msg, "out of memory");
  png_destroy_write_struct(st.png ? &st.png : NULL, st.info ? &st.info : NULL);
  int cerr = fclose(st.f);
  if (rc != 0) return adx_fail(err, ADX_ERR_IO, "%s: cannot write PNG: %s", path, st.msg);
  if (cerr != 0) return adx_fail(err, ADX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
  return ADX_OK;
}
