/* A bounded per-rank write buffer in front of adx_results_write_images (docs/scaling.md, "The store").
 * Each image's result is copied in; the buffer is written in one adx_results_write_images call (data
 * first, done flags last) when it holds max_images, when its oldest image has waited max_seconds, and
 * whenever the caller flushes (at the end of its work, and after a SIGTERM). Memory is bounded:
 * max_images x modes x H x W x 5 bytes, allocated once. A SIGKILL loses only the images held, whose done
 * flags are still 0, so --resume redoes them and the file stays consistent image by image. */
#include <stdlib.h>
#include <string.h>

#include "results_internal.h"

struct adx_results_buffer {
  adx_results *r;
  int cap, held, nmodes;
  int64_t hw;
  double max_seconds, oldest; /* adx_now() when the oldest held image came in */
  adx_image_result *img;      /* [cap] */
  float *resp;                /* [cap][nmodes][hw] */
  uint8_t *expl;              /* [cap][nmodes][hw] */
  adx_metrics *met;           /* [cap][nmodes] */
  const float **resp_ptr;     /* [cap][nmodes] */
  const uint8_t **expl_ptr;   /* [cap][nmodes] */
  uint8_t *mask;              /* [cap][hw] object masks (runs with masks), or NULL */
  int64_t flushes, images;    /* counters, for the benchmark */
};

adx_status adx_results_buffer_create(adx_results *r, int max_images, double max_seconds,
                                     adx_results_buffer **out, adx_error *err) {
  *out = NULL;
  if (!r || !r->writable) return adx_fail(err, ADX_ERR_ARG, "results: file not open for writing");
  if (max_images < 1) return adx_fail(err, ADX_ERR_ARG, "--flush-images: %d is not at least 1", max_images);
  if (!(max_seconds >= 0))
    return adx_fail(err, ADX_ERR_ARG, "--flush-seconds: %g is not a number of seconds >= 0", max_seconds);
  adx_results_buffer *b = calloc(1, sizeof *b);
  if (!b) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  b->r = r;
  b->cap = max_images;
  b->nmodes = r->meta.nmodes;
  b->hw = (int64_t)r->meta.h * r->meta.w;
  b->max_seconds = max_seconds;
  size_t maps = (size_t)b->cap * (size_t)b->nmodes * (size_t)b->hw;
  b->img = calloc((size_t)b->cap, sizeof *b->img);
  b->resp = malloc(maps * sizeof(float));
  b->expl = malloc(maps);
  b->met = calloc((size_t)b->cap * (size_t)b->nmodes, sizeof *b->met);
  b->resp_ptr = calloc((size_t)b->cap * (size_t)b->nmodes, sizeof *b->resp_ptr);
  b->expl_ptr = calloc((size_t)b->cap * (size_t)b->nmodes, sizeof *b->expl_ptr);
  if (r->meta.has_masks) b->mask = malloc((size_t)b->cap * (size_t)b->hw);
  if (!b->img || !b->resp || !b->expl || !b->met || !b->resp_ptr || !b->expl_ptr ||
      (r->meta.has_masks && !b->mask)) {
    adx_results_buffer_free(b);
    return adx_fail(err, ADX_ERR_NOMEM,
                    "%s: out of memory for a write buffer of %d images (%zu bytes of maps)", r->path,
                    max_images, maps * 5);
  }
  *out = b;
  return ADX_OK;
}

adx_status adx_results_buffer_flush(adx_results_buffer *b, adx_error *err) {
  if (!b || b->held == 0) return ADX_OK;
  adx_status s = adx_results_write_images(b->r, b->img, b->held, err);
  if (!s) {
    b->flushes++;
    b->images += b->held;
    b->held = 0;
  }
  return s;
}

adx_status adx_results_buffer_add(adx_results_buffer *b, const adx_image_result *im, adx_error *err) {
  if (!b) return adx_fail(err, ADX_ERR_ARG, "results: no write buffer");
  adx_status s;
  if (b->held == b->cap && (s = adx_results_buffer_flush(b, err))) return s;
  if (!im->responsibility || !im->explanation || !im->metrics)
    return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld lacks responsibility, explanation or metrics",
                    b->r->path, (long long)im->slot);
  int i = b->held, nm = b->nmodes;
  size_t hw = (size_t)b->hw;
  for (int m = 0; m < nm; m++) {
    if (!im->responsibility[m] || !im->explanation[m])
      return adx_fail(err, ADX_ERR_ARG, "%s: image slot %lld lacks the maps of mode '%s'", b->r->path,
                      (long long)im->slot, b->r->meta.modes[m]);
    size_t at = ((size_t)i * nm + m) * hw;
    memcpy(b->resp + at, im->responsibility[m], hw * sizeof(float));
    memcpy(b->expl + at, im->explanation[m], hw);
    b->resp_ptr[i * nm + m] = b->resp + at;
    b->expl_ptr[i * nm + m] = b->expl + at;
    b->met[i * nm + m] = im->metrics[m];
  }
  b->img[i] = *im;
  b->img[i].responsibility = b->resp_ptr + (size_t)i * nm;
  b->img[i].explanation = b->expl_ptr + (size_t)i * nm;
  b->img[i].metrics = b->met + (size_t)i * nm;
  b->img[i].object_mask = NULL;
  if (b->mask && im->object_mask) {
    memcpy(b->mask + (size_t)i * hw, im->object_mask, hw);
    b->img[i].object_mask = b->mask + (size_t)i * hw;
  }
  if (b->held++ == 0) b->oldest = adx_now();
  if (b->held == b->cap || adx_now() - b->oldest >= b->max_seconds) return adx_results_buffer_flush(b, err);
  return ADX_OK;
}

int adx_results_buffer_held(const adx_results_buffer *b) { return b ? b->held : 0; }

void adx_results_buffer_stats(const adx_results_buffer *b, int64_t *flushes, int64_t *images) {
  if (flushes) *flushes = b ? b->flushes : 0;
  if (images) *images = b ? b->images : 0;
}

void adx_results_buffer_free(adx_results_buffer *b) {
  if (!b) return;
  free(b->img), free(b->resp), free(b->expl), free(b->met), free(b->resp_ptr), free(b->expl_ptr);
  free(b->mask);
  free(b);
}
