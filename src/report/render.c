/* Pictures of the report: heatmaps (viridis), explanation overlays, upscaled images, folders, and the
 * original images re-read from the run's data. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adx/io.h"
#include "report_internal.h"

void adx_viridis(double t, uint8_t rgb[3]) {
  if (!(t > 0)) t = 0; /* NaN too */
  if (t > 1) t = 1;
  int i = (int)lround(t * 255.0);
  memcpy(rgb, adx_viridis_table[i], 3);
}

int adx_report_scale(int h, int w) {
  int big = h > w ? h : w;
  if (big <= 0 || big >= 112) return 1;
  return (112 + big - 1) / big;
}

void adx_report_render_heatmap(const float *map, int h, int w, int s, uint8_t *out) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < h * w; i++)
    if (!isnan(map[i])) {
      if (map[i] < lo) lo = map[i];
      if (map[i] > hi) hi = map[i];
    }
  double span = hi > lo ? hi - lo : 0;
  int W = w * s;
  for (int y = 0; y < h * s; y++)
    for (int x = 0; x < W; x++) {
      float v = map[(y / s) * w + x / s];
      double t = span > 0 && !isnan(v) ? (v - lo) / span : 0;
      adx_viridis(t, out + ((size_t)y * W + x) * 3);
    }
}

void adx_report_render_image(const uint8_t *rgb, int h, int w, int s, uint8_t *out) {
  int W = w * s;
  for (int y = 0; y < h * s; y++)
    for (int x = 0; x < W; x++)
      memcpy(out + ((size_t)y * W + x) * 3, rgb + ((size_t)(y / s) * w + x / s) * 3, 3);
}

void adx_report_render_overlay(const uint8_t *rgb, const uint8_t *expl, int h, int w, int s, uint8_t *out) {
  static const uint8_t grey[3] = {128, 128, 128}, dim[3] = {30, 40, 110}, edge[3] = {255, 214, 0};
  int W = w * s, H = h * s;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int py = y / s, px = x / s;
      const uint8_t *src = rgb ? rgb + ((size_t)py * w + px) * 3 : grey;
      uint8_t *o = out + ((size_t)y * W + x) * 3;
      if (!expl[py * w + px]) { /* hidden: 35% of the image over dark blue */
        for (int c = 0; c < 3; c++) o[c] = (uint8_t)lround(0.35 * src[c] + 0.65 * dim[c]);
        continue;
      }
      /* inside: the image, and a one-pixel outline where a neighbour (of the upscaled grid) is outside */
      int outline = 0;
      static const int dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
      for (int k = 0; k < 4 && !outline; k++) {
        int ny = y + dy[k], nx = x + dx[k];
        if (ny < 0 || ny >= H || nx < 0 || nx >= W) continue;
        outline = !expl[(ny / s) * w + nx / s];
      }
      memcpy(o, outline ? edge : src, 3);
    }
}

adx_status adx_report_mkdirs(const char *dir, adx_error *err) {
  if (!dir || !dir[0]) return adx_fail(err, ADX_ERR_ARG, "no output folder given");
  size_t n = strlen(dir);
  char *p = malloc(n + 1);
  if (!p) return adx_fail(err, ADX_ERR_NOMEM, "out of memory");
  memcpy(p, dir, n + 1);
  adx_status s = ADX_OK;
  for (size_t i = 1; i <= n && !s; i++) {
    if (p[i] != '/' && p[i] != 0) continue;
    char c = p[i];
    p[i] = 0;
    struct stat st;
    if (stat(p, &st) != 0) {
      if (mkdir(p, 0777) != 0 && errno != EEXIST)
        s = adx_fail(err, ADX_ERR_IO, "%s: cannot create folder %s: %s", dir, p, strerror(errno));
    } else if (!S_ISDIR(st.st_mode)) {
      s = adx_fail(err, ADX_ERR_IO, "%s: %s exists and is not a folder", dir, p);
    }
    p[i] = c;
  }
  free(p);
  if (!s && access(dir, W_OK | X_OK) != 0)
    s = adx_fail(err, ADX_ERR_IO, "%s: folder not writable: %s", dir, strerror(errno));
  return s;
}

/* ------------------------------------------------------------------ original images */

/* The geometry (resize, crop) the run used: the [preprocess] section of the config file part of the
 * config attribute, then its "# command line:" flags (which override the file). */
static void run_preproc(const char *text, adx_preproc *pp) {
  adx_preproc_default(pp);
  if (!text) return;
  adx_config cfg;
  adx_error e = {0};
  /* the file part only: the command-line comment can be longer than the INI reader's line buffer */
  const char *cl = strstr(text, "# command line:");
  size_t flen = cl ? (size_t)(cl - text) : strlen(text);
  char *file = strndup(text, flen);
  if (!file) return;
  int parsed = adx_config_parse(file, "config attribute", &cfg, &e) == ADX_OK;
  free(file);
  if (parsed) {
    const char *v;
    if ((v = adx_config_get(&cfg, "preprocess", "resize"))) adx_preproc_set(pp, "resize", v, &e);
    if ((v = adx_config_get(&cfg, "preprocess", "crop"))) adx_preproc_set(pp, "crop", v, &e);
    adx_config_free(&cfg);
  }
  if (!cl) return;
  cl += strlen("# command line:");
  const char *end = strchr(cl, '\n');
  size_t len = end ? (size_t)(end - cl) : strlen(cl);
  char *line = strndup(cl, len);
  if (!line) return;
  char *save = NULL, *prev = NULL;
  for (char *tok = strtok_r(line, " ", &save); tok; prev = tok, tok = strtok_r(NULL, " ", &save)) {
    static const char *const keys[] = {"resize", "crop"};
    for (int k = 0; k < 2; k++) {
      size_t kl = strlen(keys[k]);
      if (!strncmp(tok, "--", 2) && !strncmp(tok + 2, keys[k], kl) && tok[2 + kl] == '=')
        adx_preproc_set(pp, keys[k], tok + 3 + kl, &e);
      else if (prev && !strncmp(prev, "--", 2) && !strcmp(prev + 2, keys[k]))
        adx_preproc_set(pp, keys[k], tok, &e);
    }
  }
  free(line);
}

void adx_report_source_open(adx_report_source *s, const adx_results_meta *m, const char *results_path) {
  memset(s, 0, sizeof *s);
  s->h = m->h, s->w = m->w;
  s->raw = malloc((size_t)3 * m->h * m->w * sizeof(float));
  if (!s->raw) {
    snprintf(s->why, sizeof s->why, "out of memory");
    return;
  }
  if (!m->data_path || !m->data_path[0]) {
    snprintf(s->why, sizeof s->why, "the results file names no data");
    return;
  }
  adx_preproc pp;
  run_preproc(m->config_text, &pp);
  adx_error e = {0};
  /* three channels: a grey source gives three copies, an RGB one its colours */
  if (adx_dataset_open(m->data_path, &pp, 3, m->h, m->w, &s->ds, &e) == ADX_OK) return;
  snprintf(s->why, sizeof s->why, "%s", e.msg);
  /* a relative data path was relative to where the run started: also try beside the results file */
  const char *slash = strrchr(results_path, '/');
  if (m->data_path[0] != '/' && slash) {
    size_t len = (size_t)(slash - results_path) + 2 + strlen(m->data_path);
    char *alt = malloc(len);
    if (alt) {
      snprintf(alt, len, "%.*s/%s", (int)(slash - results_path), results_path, m->data_path);
      adx_error e2 = {0};
      if (adx_dataset_open(alt, &pp, 3, m->h, m->w, &s->ds, &e2) == ADX_OK) s->why[0] = 0;
      free(alt);
    }
  }
}

int adx_report_source_rgb(adx_report_source *s, int64_t index, uint8_t *rgb) {
  if (!s->ds) return -1;
  adx_error e = {0};
  if (index < 0 || index >= adx_dataset_size(s->ds)) {
    snprintf(s->why, sizeof s->why, "image %lld is not in the data (%lld images)", (long long)index,
             (long long)adx_dataset_size(s->ds));
    return -1;
  }
  if (adx_dataset_get(s->ds, index, s->raw, NULL, &e) != ADX_OK) {
    snprintf(s->why, sizeof s->why, "%s", e.msg);
    return -1;
  }
  size_t hw = (size_t)s->h * s->w;
  float mx = 0;
  for (size_t i = 0; i < 3 * hw; i++)
    if (s->raw[i] > mx) mx = s->raw[i];
  /* raw pixels are 0..255; float data in 0..1 (an HDF5 source) is stretched to it for display */
  double k = mx > 0 && mx <= 1.0f ? 255.0 : 1.0;
  for (size_t i = 0; i < hw; i++)
    for (int c = 0; c < 3; c++) {
      double v = s->raw[c * hw + i] * k;
      rgb[i * 3 + c] = (uint8_t)(v <= 0 || isnan(v) ? 0 : v >= 255 ? 255 : lround(v));
    }
  return 0;
}

void adx_report_source_close(adx_report_source *s) {
  if (s->ds) adx_dataset_close(s->ds);
  free(s->raw);
  memset(s, 0, sizeof *s);
}

const char *adx_report_class_name(const adx_report_source *s, int k, char *buf, size_t len) {
  const char *name = s && s->ds ? adx_dataset_class_name(s->ds, k) : NULL;
  if (name)
    snprintf(buf, len, "%s", name);
  else
    snprintf(buf, len, "%d", k);
  return buf;
}

const char *adx_report_mode_colour(int i) {
  /* Okabe-Ito's 8 colour-blind-safe colours, then 8 of Paul Tol's muted and dark sets: 16 modes apart */
  static const char *const pal[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
                                    "#999999", "#000000", "#882255", "#44AA99", "#DDCC77", "#332288",
                                    "#117733", "#AA4499", "#661100", "#88CCEE"};
  return pal[i % 16];
}

void adx_report_html_escape(FILE *f, const char *s) {
  for (; s && *s; s++) switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
}
