/* adx show: one image's panel as a PNG. A row per mode of image | responsibility | explanation overlay,
 * and a vertical colour bar (viridis, high at the top) beside the first row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adx/io.h"
#include "report_internal.h"

adx_status adx_report_show(const char *path, int64_t image, const char *mode, const char *png, char *legend,
                           size_t legend_len, adx_error *err) {
  adx_results *r;
  adx_status s = adx_results_open_read(path, &r, err);
  if (s) return s;
  const adx_results_meta *m = adx_results_get_meta(r);
  int only = -1;
  if (mode) {
    only = adx_results_mode_index(r, mode);
    if (only < 0) {
      char modes[512];
      size_t o = 0;
      modes[0] = 0;
      for (int k = 0; k < m->nmodes && o < sizeof modes; k++)
        o += (size_t)snprintf(modes + o, sizeof modes - o, "%s%s", k ? ", " : "", m->modes[k]);
      s = adx_fail(err, ADX_ERR_ARG, "--mode '%s': not a mode of %s (its modes: %s)", mode, path, modes);
    }
  }
  if (!s && (image < 0 || image >= m->n))
    s = adx_fail(err, ADX_ERR_ARG, "--image %lld: outside 0..%lld (%s holds %lld images)", (long long)image,
                 (long long)m->n - 1, path, (long long)m->n);
  adx_image_record rec;
  memset(&rec, 0, sizeof rec);
  if (!s) s = adx_results_read_image(r, image, &rec, err);
  if (!s && !rec.done)
    s = adx_fail(err, ADX_ERR_ARG, "--image %lld: not done in %s (the run has not computed it yet)",
                 (long long)image, path);
  int h = m->h, w = m->w, sc = adx_report_scale(h, w), th = h * sc, tw = w * sc, gap = 6, barw = 14;
  int rows = only >= 0 ? 1 : m->nmodes;
  int W = 3 * tw + 3 * gap + barw, H = rows * th + (rows - 1) * gap;
  uint8_t *rgb = NULL, *tile = NULL, *out = NULL;
  adx_report_source src;
  memset(&src, 0, sizeof src);
  if (!s) {
    rgb = malloc((size_t)h * w * 3);
    tile = malloc((size_t)th * tw * 3);
    out = malloc((size_t)H * W * 3);
    if (!rgb || !tile || !out) s = adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  }
  int have = 0;
  if (!s) {
    memset(out, 255, (size_t)H * W * 3);
    adx_report_source_open(&src, m, path);
    have = adx_report_source_rgb(&src, rec.index, rgb) == 0;
    size_t hw = (size_t)h * w;
    for (int row = 0; row < rows; row++) {
      int k = only >= 0 ? only : row, y0 = row * (th + gap);
      for (int col = 0; col < 3; col++) {
        if (col == 0 && have)
          adx_report_render_image(rgb, h, w, sc, tile);
        else if (col == 0) /* no original: a grey tile */
          memset(tile, 200, (size_t)th * tw * 3);
        else if (col == 1)
          adx_report_render_heatmap(rec.responsibility + k * hw, h, w, sc, tile);
        else
          adx_report_render_overlay(have ? rgb : NULL, rec.explanation + k * hw, h, w, sc, tile);
        for (int y = 0; y < th; y++)
          memcpy(out + ((size_t)(y0 + y) * W + col * (tw + gap)) * 3, tile + (size_t)y * tw * 3,
                 (size_t)tw * 3);
      }
    }
    for (int y = 0; y < th; y++) /* colour bar: high at the top */
      for (int x = 0; x < barw; x++)
        adx_viridis(1.0 - (double)y / (th > 1 ? th - 1 : 1), out + ((size_t)y * W + 3 * (tw + gap) + x) * 3);
    s = adx_image_save_png(png, out, W, H, 3, err);
  }
  if (!s && legend) {
    size_t o = (size_t)snprintf(legend, legend_len, "%s: image row %lld (data #%lld); rows ", png,
                                (long long)image, (long long)rec.index);
    for (int row = 0; row < rows && o < legend_len; row++)
      o += (size_t)snprintf(legend + o, legend_len - o, "%s%s", row ? ", " : "",
                            m->modes[only >= 0 ? only : row]);
    if (o < legend_len)
      snprintf(legend + o, legend_len - o,
               "; columns image%s | responsibility (viridis, scaled per map; bar: high at top) | explanation "
               "(outlined yellow, rest dimmed)",
               have ? "" : " (unavailable: grey)");
  }
  adx_report_source_close(&src);
  free(rgb), free(tile), free(out);
  adx_image_record_free(&rec);
  adx_results_close(r);
  return s;
}
